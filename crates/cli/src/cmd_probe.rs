//! `vantage probe`: the daemon of a vantage point. It serves the control protocol on a
//! local socket (`--unix PATH`, `--port N` on loopback) and, with `--remote`, dials a
//! controller and serves the channels it opens.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use vantage_probe::{ControlServer, Prober, ProberConfig, RemoteConfig, RemoteTls};

/// Arguments of `vantage probe`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Serve the control protocol on this unix socket.
    #[arg(long, value_name = "PATH")]
    unix: Option<PathBuf>,
    /// Serve the control protocol on this TCP port of 127.0.0.1 (no authentication:
    /// loopback only).
    #[arg(long, value_name = "PORT")]
    port: Option<u16>,
    /// Packets per second shared by all measurements.
    #[arg(long, default_value_t = vantage_probe::DEFAULT_PPS)]
    pps: u32,
    /// Dial the controller at HOST:PORT and serve the measurements it sends.
    #[arg(long, value_name = "HOST:PORT")]
    remote: Option<String>,
    /// The monitor name to announce to the controller (e.g. `vp1.nz`).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// CA certificates (PEM) that signed the controller's certificate.
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
    /// This probe's client certificate chain (PEM), naming its monitor name.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// No TLS on the remote link: only for loopback, tunnels and tests.
    #[arg(long, conflicts_with_all = ["tls_ca", "tls_cert", "tls_key"])]
    plaintext: bool,
    /// The VP policy (TOML, see docs/policy.md): commands it refuses never reach the
    /// prober, and its `rate.pps` caps --pps. A bad file stops the probe at start.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

impl Args {
    fn remote_config(&self) -> anyhow::Result<Option<RemoteConfig>> {
        let Some(server) = self.remote.clone() else {
            return Ok(None);
        };
        let tls = if self.plaintext {
            None
        } else {
            let ca = self.tls_ca.clone().context(
                "TLS is the default: give --tls-ca FILE (the CA of the controller's \
                 certificate), or --plaintext for loopback and tunnels",
            )?;
            let client = self.tls_cert.clone().zip(self.tls_key.clone());
            Some(RemoteTls { ca, client })
        };
        Ok(Some(RemoteConfig {
            server,
            name: self.name.clone(),
            tls,
        }))
    }
}

/// Runs the subcommand until SIGINT or SIGTERM.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let policy = match &args.policy {
        Some(path) => match vantage_policy::Policy::load(path) {
            Ok(p) => Some(std::sync::Arc::new(p)),
            Err(e) => {
                eprintln!("vantage probe: {e}");
                return Ok(ExitCode::from(2));
            }
        },
        None => None,
    };
    let remote = args.remote_config()?;
    if args.unix.is_none() && args.port.is_none() && remote.is_none() {
        anyhow::bail!("nothing to serve: give --unix PATH, --port N or --remote HOST:PORT");
    }
    let (handle, results, _thread) =
        Prober::spawn(ProberConfig::with_pps(args.pps)).context("starting the prober")?;
    let mut server =
        ControlServer::new(handle, results, args.pps).context("starting the prober")?;
    if let Some(policy) = policy {
        server = server
            .with_policy(policy)
            .context("applying the policy's rate")?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        let mut tasks = tokio::task::JoinSet::new();
        if let Some(path) = args.unix.clone() {
            let s = server.clone();
            tasks.spawn(async move {
                s.serve_unix_path(&path)
                    .await
                    .with_context(|| format!("control socket {}", path.display()))
            });
        }
        if let Some(port) = args.port {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
            let s = server.clone();
            tasks.spawn(async move { s.serve_tcp(listener).await.context("control port") });
        }
        if let Some(cfg) = remote {
            let s = server.clone();
            tasks.spawn(async move {
                vantage_probe::run_remote(s, cfg)
                    .await
                    .context("remote link")
            });
        }
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("installing the SIGTERM handler")?;
        let result = tokio::select! {
            _ = tokio::signal::ctrl_c() => Ok(()),
            _ = term.recv() => Ok(()),
            () = server.shutdown_requested() => Ok(()),
            Some(r) = tasks.join_next() => r.context("a server task failed")?,
        };
        if let Some(path) = &args.unix {
            let _ = std::fs::remove_file(path);
        }
        server.handle().shutdown();
        result
    })?;
    Ok(ExitCode::SUCCESS)
}
