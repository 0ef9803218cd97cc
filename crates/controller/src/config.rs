//! The controller's configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default grace period: how long a VP whose link dropped may take to resume
/// before it departs and its pending tasks fail.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);
/// Default mode of the mux socket: owner and group may connect.
pub const DEFAULT_MUX_MODE: u32 = 0o660;
/// Default cap on bytes queued for one mux client that does not read; above it
/// the client is disconnected.
pub const DEFAULT_MUX_BACKLOG: usize = 256 * 1024 * 1024;

/// How VP links are secured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkSecurity {
    /// TLS (1.2 or 1.3) with this server certificate and key.
    Tls(TlsFiles),
    /// No TLS. Anyone who can reach the port can join as a VP and read
    /// commands; only for loopback, tunnels and tests.
    Plaintext,
}

/// The PEM files of the controller's TLS server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// Private key of the leaf certificate (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// When set, every VP must present a client certificate signed by one of
    /// these CAs (PEM), and the certificate must name the VP's monitor name.
    pub client_ca: Option<PathBuf>,
}

/// Everything [`crate::run`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Addresses to accept VP links on (port 0 picks a free port; see
    /// [`crate::Controller::vp_addrs`]).
    pub listen: Vec<SocketAddr>,
    /// Path of the mux unix socket.
    pub mux_path: PathBuf,
    /// Permission bits of the mux socket (default 0660: owner and group).
    pub mux_mode: u32,
    /// The VP metadata file (`monitor attribute value` lines), if any.
    pub vp_meta: Option<PathBuf>,
    /// TLS (the default in the CLI) or plaintext.
    pub security: LinkSecurity,
    /// How long a VP whose link dropped may take to resume before it departs.
    pub grace: Duration,
    /// Reload the metadata file (and TLS files) on SIGHUP.
    pub reload_on_sighup: bool,
    /// Cap on bytes queued for one mux client.
    pub mux_backlog: usize,
    /// Liveness timers of every VP link: KEEPALIVE after this much write
    /// silence, link declared dead (and the grace period started) after this
    /// much read silence. Default 30 s and 60 s, as scamper.
    pub timers: vantage_proto::remote::Timers,
}

impl Config {
    /// A configuration with the defaults: no metadata file, mode 0660, grace
    /// [`DEFAULT_GRACE`], SIGHUP reload on.
    pub fn new(listen: Vec<SocketAddr>, mux_path: PathBuf, security: LinkSecurity) -> Self {
        Self {
            listen,
            mux_path,
            mux_mode: DEFAULT_MUX_MODE,
            vp_meta: None,
            security,
            grace: DEFAULT_GRACE,
            reload_on_sighup: true,
            mux_backlog: DEFAULT_MUX_BACKLOG,
            timers: vantage_proto::remote::Timers::default(),
        }
    }
}
