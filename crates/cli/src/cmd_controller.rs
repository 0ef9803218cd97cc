//! `vantage controller`: the central server VPs dial into, with the mux socket for
//! clients. A thin layer over `vantage_controller` (see docs/controller.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use vantage_controller::{Config, LinkSecurity, TlsFiles};

/// Arguments of `vantage controller`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where VPs connect (repeat for several addresses).
    #[arg(long, value_name = "ADDR:PORT", required = true)]
    listen: Vec<SocketAddr>,
    /// The mux unix socket for clients.
    #[arg(long, value_name = "PATH")]
    mux: PathBuf,
    /// The VP metadata file (`monitor attribute value` lines).
    #[arg(long, value_name = "FILE")]
    vp_meta: Option<PathBuf>,
    /// The controller's TLS certificate chain, leaf first (PEM).
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key of --cert (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Require VP client certificates signed by these CAs (PEM), naming the VP.
    #[arg(long, value_name = "FILE", requires = "cert")]
    client_ca: Option<PathBuf>,
    /// No TLS at all: only for loopback, SSH/WireGuard tunnels and tests.
    #[arg(long, conflicts_with_all = ["cert", "key", "client_ca"])]
    plaintext: bool,
    /// How long a VP whose link dropped may take to come back (`60s`, `5m`, `500ms`).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    grace: Duration,
    /// Send KEEPALIVE on a VP link after this much write silence.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    keepalive: Duration,
    /// Declare a VP link dead (and start its grace period) after this much read
    /// silence; keep it above the VPs' keepalive interval (30 s for scamper).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    silence: Duration,
    /// Disconnect a mux client once this many MiB are queued for it unread.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    mux_backlog_mib: usize,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 60s, 5m or 500ms"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("{s:?}: unit must be ms, s, m or h")),
    }
}

/// Runs the controller until SIGINT or SIGTERM.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let security = match (&args.cert, &args.key, args.plaintext) {
        (Some(cert), Some(key), false) => LinkSecurity::Tls(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: args.client_ca.clone(),
        }),
        (None, None, true) => LinkSecurity::Plaintext,
        _ => anyhow::bail!(
            "TLS is the default: give --cert FILE --key FILE, or --plaintext for loopback and tunnels"
        ),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let mut config = Config::new(args.listen.clone(), args.mux.clone(), security);
    config.vp_meta.clone_from(&args.vp_meta);
    config.grace = args.grace;
    if args.silence <= args.keepalive {
        anyhow::bail!("--silence must be longer than --keepalive, or idle links are dropped");
    }
    config.timers = vantage_controller::Timers {
        keepalive: args.keepalive,
        silence: args.silence,
    };
    config.mux_backlog = args
        .mux_backlog_mib
        .saturating_mul(1024 * 1024)
        .max(64 * 1024);
    vantage_controller::run_blocking(config).context("controller")?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("x").is_err());
        assert!(parse_duration("5y").is_err());
    }
}
