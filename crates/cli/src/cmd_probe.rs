//! `vantage probe`: the daemon of a vantage point. It serves the control protocol on a
//! local socket (`--unix PATH`, `--port N` on loopback) and, with `--remote`, dials a
//! controller and serves the channels it opens. `vantage probe status FILE` prints the
//! status file a running probe keeps (`--status-file`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use vantage_probe::audit::{AuditReport, write_status_file};
use vantage_probe::{ControlServer, Prober, ProberConfig, RemoteConfig, RemoteTls};

/// How often the do-not-probe list file is looked at for changes.
const DNP_POLL: Duration = Duration::from_secs(5);

/// What `vantage probe` does besides running the daemon.
#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Print the status file of a probe (`--status-file`) readably: measurements by type,
    /// packets by protocol, refusals by policy rule, the policy and its do-not-probe list.
    Status {
        /// The status file.
        path: PathBuf,
        /// Print the JSON as it is.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `vantage probe`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
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
    /// prober, and its `rate.pps` caps --pps. A bad file stops the probe at start; SIGHUP
    /// reads it again (a bad file then keeps the old policy).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Do not publish the policy to the controller (needed with scamper's
    /// sc_remoted, which drops a link carrying the publication).
    #[arg(long)]
    no_publish_policy: bool,
    /// Most measurements running at once (0: no limit); later commands wait for a free
    /// slot. The policy's `rate.max_tasks` caps it; `set window N` changes it.
    #[arg(long, default_value_t = 0)]
    window: u32,
    /// Keep the audit counters in this JSON file, rewritten atomically every
    /// --status-interval seconds and at exit (read it with `vantage probe status FILE`).
    #[arg(long, value_name = "FILE")]
    status_file: Option<PathBuf>,
    /// Seconds between rewrites of --status-file.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    status_interval: u64,
    /// After opening the raw sockets and listeners, become this user keeping only
    /// CAP_NET_RAW (as root: switch user; otherwise: drop every other capability).
    /// Files read later (TLS certificates and keys) and the status file's folder must be
    /// accessible to that user.
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
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
    if let Some(Action::Status { path, json }) = &args.action {
        let report = AuditReport::read(path)?;
        if *json {
            println!("{}", report.to_json());
        } else {
            print!("{report}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Until the runtime's SIGHUP handler exists, a SIGHUP must not end the probe.
    vantage_probe::signals::ignore_hangup().context("ignoring SIGHUP during start-up")?;
    let policy = match &args.policy {
        Some(path) => match vantage_policy::Policy::load(path) {
            Ok(p) => Some(Arc::new(p)),
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
    let config = ProberConfig {
        window: args.window,
        ..ProberConfig::with_pps(args.pps)
    };
    let (mut prober, handle, results) = Prober::new(config).context("starting the prober")?;
    // Listeners and raw sockets are opened while the process may still do so, then the
    // privileges go: before any thread exists, so that every later thread inherits the
    // reduced sets.
    let unix = match &args.unix {
        Some(path) => Some(bind_unix(path)?),
        None => None,
    };
    let tcp = match args.port {
        Some(port) => {
            let l = std::net::TcpListener::bind(("127.0.0.1", port))
                .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
            l.set_nonblocking(true)?;
            Some(l)
        }
        None => None,
    };
    if let Some(user) = &args.user {
        let (open, errors) = prober.open_sockets();
        for e in errors {
            eprintln!("vantage probe: not opened up front (will be tried when needed): {e}");
        }
        let privs =
            vantage_probe::privilege::drop_privileges(&vantage_probe::privilege::DropOptions {
                user: user.clone(),
                keep_net_admin: false,
            })
            .with_context(|| format!("dropping privileges to user {user}"))?;
        eprintln!("vantage probe: opened {open} raw sockets; now running as {privs}");
    } else if vantage_probe::privilege::current().is_ok_and(|p| p.uid == 0) {
        eprintln!(
            "vantage probe: running as root; give --user nobody to keep only CAP_NET_RAW \
             once the sockets are open"
        );
    }
    let _thread = prober.start().context("starting the prober")?;
    let mut server =
        ControlServer::new(handle, results, args.pps).context("starting the prober")?;
    if let Some(policy) = &policy {
        server = server
            .with_policy(Arc::clone(policy))
            .context("applying the policy's rate")?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        // SIGHUP reloads the whole policy file (and so its do-not-probe list); a change of
        // the list's file reloads the list alone. Without a policy a SIGHUP is only logged,
        // never the default "terminate". The handler is installed here, before anything is
        // served, so a SIGHUP sent once the probe answers is never lost.
        let watch =
            vantage_probe::watch_policy(server.clone(), args.policy.clone(), DNP_POLL, true);
        tokio::spawn(async move {
            if let Err(e) = watch.await {
                eprintln!("vantage probe: SIGHUP handler: {e}");
            }
        });
        let mut tasks = tokio::task::JoinSet::new();
        if let (Some(path), Some(listener)) = (args.unix.clone(), unix) {
            let s = server.clone();
            let listener = tokio::net::UnixListener::from_std(listener)?;
            tasks.spawn(async move {
                s.serve_unix(listener, &path.display().to_string())
                    .await
                    .with_context(|| format!("control socket {}", path.display()))
            });
        }
        if let Some(listener) = tcp {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let s = server.clone();
            tasks.spawn(async move { s.serve_tcp(listener).await.context("control port") });
        }
        if let Some(cfg) = remote {
            let s = server.clone();
            // The policy file's text is published to the controller with the
            // policy's hash (read again here: the policy crate keeps no text).
            let opts = vantage_probe::RemoteOptions {
                policy_text: args
                    .policy
                    .as_ref()
                    .and_then(|p| std::fs::read_to_string(p).ok()),
                keep_policy_private: args.no_publish_policy,
                ..vantage_probe::RemoteOptions::default()
            };
            tasks.spawn(async move {
                vantage_probe::run_remote_with(s, cfg, opts)
                    .await
                    .context("remote link")
            });
        }
        if let Some(path) = args.status_file.clone() {
            let s = server.clone();
            let every = Duration::from_secs(args.status_interval.max(1));
            tasks.spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    if let Err(e) = write_status_file(&path, &s.audit()) {
                        eprintln!("vantage probe: {e}");
                    }
                }
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
        if let Some(path) = &args.status_file
            && let Err(e) = write_status_file(path, &server.audit())
        {
            eprintln!("vantage probe: {e}");
        }
        result
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Binds the control socket at `path`, replacing a stale socket file.
fn bind_unix(path: &std::path::Path) -> anyhow::Result<std::os::unix::net::UnixListener> {
    if path.exists() {
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove the old socket {}", path.display()))?;
    }
    let l = std::os::unix::net::UnixListener::bind(path)
        .with_context(|| format!("cannot listen on unix socket {}", path.display()))?;
    l.set_nonblocking(true)?;
    Ok(l)
}
