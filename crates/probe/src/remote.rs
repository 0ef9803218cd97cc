//! The probe's link to a controller (remote-protocol.md): it dials out, over TLS by
//! default, drives [`VpLink`] (framed channels, sequence numbers and acks,
//! keepalives, session resume), runs one attached control-protocol session per
//! channel the controller opens, and reconnects by itself.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use vantage_proto::remote::{
    self, ChannelId, FrameDecoder, Magic, Timers, VpEvent, VpLink, VpMeta, VpState,
};

use crate::TaskOutput;
use crate::serve_control::ControlServer;
use crate::session::Session;

/// Longest wait between two connection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// TLS settings of the link: whom to trust, and the probe's own certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTls {
    /// CA certificates (PEM) that must have signed the controller's certificate.
    pub ca: PathBuf,
    /// The probe's client certificate chain and key (PEM), if the controller asks
    /// for one; the certificate must name the probe's monitor name.
    pub client: Option<(PathBuf, PathBuf)>,
}

/// Where and how to reach the controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteConfig {
    /// `HOST:PORT` of the controller; HOST is also the name its certificate must bear.
    pub server: String,
    /// The monitor name the probe announces (`vp1.nz`).
    pub name: Option<String>,
    /// TLS settings, or `None` for plaintext (only for loopback, tunnels and tests).
    pub tls: Option<RemoteTls>,
}

/// Settings of the remote link beyond where to dial ([`run_remote_with`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteOptions {
    /// Liveness timers: KEEPALIVE after this much write silence, reconnect at
    /// once after this much read silence (default 30 s and 60 s, as scamper).
    pub timers: Timers,
    /// The policy file's text as loaded, published to the controller with the
    /// policy's hash. When `None` and the server has a policy, its normalised
    /// TOML is published instead.
    pub policy_text: Option<String>,
    /// Publish nothing. Needed when dialling scamper's sc_remoted, which drops
    /// a link that carries data on a channel it did not open (the publication
    /// rides on such a channel; a Vantage controller reads it, an older
    /// Vantage controller acknowledges and ignores it).
    pub keep_policy_private: bool,
}

/// What the probe publishes to a Vantage controller about itself: the policy's
/// text and its hash ([`vantage_policy::Policy::canonical_hash`]: SHA-256 of
/// the policy's canonical form, so equal policies hash equally however their
/// files are written). Nothing when the probe runs without a policy.
fn publication(server: &ControlServer, opts: &RemoteOptions) -> Option<VpMeta> {
    if opts.keep_policy_private {
        return None;
    }
    let state = server.policy_state();
    let policy = state.policy?;
    // After a reload the reloaded file's text; before, the text given at start.
    let text = state
        .text
        .or_else(|| opts.policy_text.clone())
        .unwrap_or_else(|| policy.config().to_toml());
    Some(VpMeta {
        policy: Some(text),
        policy_hash: Some(policy.canonical_hash().to_owned()),
    })
}

/// Publishes the policy in force unless the controller already has it (`published`
/// holds what it was last sent in this session). Only once the session is established.
fn publish(
    link: &mut VpLink,
    server: &ControlServer,
    opts: &RemoteOptions,
    published: &mut Option<VpMeta>,
) {
    if link.state() != VpState::Go {
        return;
    }
    let Some(meta) = publication(server, opts) else {
        return;
    };
    if published.as_ref() == Some(&meta) {
        return;
    }
    match link.publish_meta(&meta) {
        Ok(()) => *published = Some(meta),
        Err(e) => eprintln!("vantage probe: remote link: cannot publish the policy: {e}"),
    }
}

/// Why the remote link cannot run at all (connection failures are retried, not
/// reported).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The server address has no `:PORT`.
    #[error("controller address {0:?} must be HOST:PORT")]
    BadServer(String),
    /// The monitor name is not one the remote protocol allows.
    #[error("monitor name: {0}")]
    BadName(#[from] remote::Error),
    /// A TLS file could not be loaded.
    #[error("{what} {path}: {why}")]
    TlsFile {
        /// Which file.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Stream = Pin<Box<dyn Io>>;

fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

fn fresh_magic() -> Magic {
    Magic::new(random_u64().to_be_bytes())
}

/// The wait before connection attempt number `failures` (0 = the first retry):
/// jittered exponential backoff, under a second at first, capped at [`MAX_BACKOFF`].
pub fn backoff(failures: u32, random: u64) -> Duration {
    let cap_ms = MAX_BACKOFF.as_millis() as u64;
    let base_ms = 1000u64.saturating_mul(1 << failures.min(16)).min(cap_ms);
    // Between half and all of the base.
    let jitter = random % (base_ms / 2 + 1);
    Duration::from_millis(base_ms / 2 + jitter).min(MAX_BACKOFF)
}

struct Dialer {
    host: String,
    server: String,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Dialer {
    fn new(cfg: &RemoteConfig) -> Result<Self, RemoteError> {
        let host = cfg
            .server
            .rsplit_once(':')
            .map(|(h, _)| h.trim_start_matches('[').trim_end_matches(']').to_owned())
            .ok_or_else(|| RemoteError::BadServer(cfg.server.clone()))?;
        let tls = cfg.tls.as_ref().map(client_config).transpose()?;
        Ok(Self {
            host,
            server: cfg.server.clone(),
            tls,
        })
    }

    async fn dial(&self) -> io::Result<Stream> {
        let tcp = TcpStream::connect(&self.server).await?;
        tcp.set_nodelay(true)?;
        match &self.tls {
            None => Ok(Box::pin(tcp)),
            Some(c) => {
                let name = ServerName::try_from(self.host.clone())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                Ok(Box::pin(c.connect(name, tcp).await?))
            }
        }
    }
}

fn tls_err(what: &'static str, path: &std::path::Path, why: &dyn std::fmt::Display) -> RemoteError {
    RemoteError::TlsFile {
        what,
        path: path.to_owned(),
        why: why.to_string(),
    }
}

fn client_config(t: &RemoteTls) -> Result<tokio_rustls::TlsConnector, RemoteError> {
    let mut roots = rustls::RootCertStore::empty();
    let cas = CertificateDer::pem_file_iter(&t.ca)
        .map_err(|e| tls_err("CA file", &t.ca, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err("CA file", &t.ca, &e))?;
    if cas.is_empty() {
        return Err(tls_err("CA file", &t.ca, &"holds no certificate"));
    }
    for c in cas {
        roots
            .add(c)
            .map_err(|e| tls_err("CA certificate in", &t.ca, &e))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err("TLS setup for", &t.ca, &e))?
        .with_root_certificates(roots);
    let cfg = match &t.client {
        None => b.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .map_err(|e| tls_err("client certificate", cert, &e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| tls_err("client certificate", cert, &e))?;
            let k =
                PrivateKeyDer::from_pem_file(key).map_err(|e| tls_err("client key", key, &e))?;
            b.with_client_auth_cert(chain, k)
                .map_err(|e| tls_err("client certificate", cert, &e))?
        }
    };
    Ok(tokio_rustls::TlsConnector::from(Arc::new(cfg)))
}

/// Runs the remote link until the future is dropped: connects, serves the
/// controller's channels on top of `server`'s prober, and reconnects (resuming the
/// session when the controller allows it) whenever the connection is lost.
pub async fn run_remote(server: ControlServer, cfg: RemoteConfig) -> Result<(), RemoteError> {
    run_remote_with(server, cfg, RemoteOptions::default()).await
}

/// [`run_remote`] with [`RemoteOptions`]. When the server has a policy, it is
/// published to the controller at the start of every new session, and again
/// whenever a reload ([`ControlServer::reload_policy`]) changed it (also one made
/// while the link was down, once the session resumes): a Vantage extension of the
/// remote protocol that only a Vantage controller reads; see docs/controller.md. A link silent for `timers.silence` is dropped and
/// dialled again at once, resuming the session.
pub async fn run_remote_with(
    server: ControlServer,
    cfg: RemoteConfig,
    opts: RemoteOptions,
) -> Result<(), RemoteError> {
    let dialer = Dialer::new(&cfg)?;
    let mut link = VpLink::new(fresh_magic(), cfg.name.clone())?;
    link.set_timers(opts.timers);
    // What the controller was last sent in this session (a new session starts empty).
    let mut published: Option<VpMeta> = None;
    let mut changes = server.policy_changes();
    let mut chans: HashMap<ChannelId, Session> = HashMap::new();
    let (res_tx, mut res_rx) = mpsc::unbounded_channel::<(ChannelId, TaskOutput)>();
    let mut failures = 0u32;
    let mut names = Names {
        next: 0,
        monitor: cfg.name.clone(),
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let mut stream = match dialer.dial().await {
            Ok(s) => s,
            Err(e) => {
                let wait = backoff(failures, random_u64());
                eprintln!(
                    "vantage probe: cannot reach controller {}: {e}; retrying in {} ms",
                    cfg.server,
                    wait.as_millis()
                );
                failures = failures.saturating_add(1);
                // Results keep arriving meanwhile; hand them to their sessions so
                // their output is queued in the link for the resumed session.
                let sleep = tokio::time::sleep(wait);
                tokio::pin!(sleep);
                loop {
                    tokio::select! {
                        () = &mut sleep => break,
                        Some((c, out)) = res_rx.recv() => on_result(&mut link, &mut chans, c, out),
                    }
                }
                continue;
            }
        };
        let mut dec = FrameDecoder::new();
        if let Err(e) = link.connect(Instant::now()) {
            eprintln!("vantage probe: remote link: {e}");
        }
        let mut silent = false;
        let mut rejected = false;
        let why = loop {
            // Act on the link's events.
            while let Some(ev) = link.poll_event() {
                match ev {
                    VpEvent::Established { .. } => {
                        published = None;
                        publish(&mut link, &server, &opts, &mut published);
                    }
                    // A policy reloaded while the link was down.
                    VpEvent::Resumed => publish(&mut link, &server, &opts, &mut published),
                    _ => {}
                }
                rejected |= handle_event(
                    &server,
                    &mut names,
                    &mut link,
                    &mut chans,
                    &res_tx,
                    ev,
                    &mut failures,
                );
            }
            if rejected {
                break "the controller refused to resume the session".to_owned();
            }
            let mut out = Vec::new();
            while let Some(f) = link.poll_transmit(Instant::now()) {
                if let Err(e) = f.encode_into(&mut out) {
                    eprintln!("vantage probe: remote link: {e}");
                }
            }
            if !out.is_empty()
                && let Err(e) = stream.write_all(&out).await
            {
                break format!("write failed: {e}");
            }
            let deadline = link.poll_timeout();
            let timer = async {
                match deadline {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                n = stream.read(&mut buf) => match n {
                    Ok(0) => break "closed by the controller".to_owned(),
                    Err(e) => break format!("read failed: {e}"),
                    Ok(n) => {
                        dec.feed(&buf[..n]);
                        let mut bad = None;
                        while let Some(f) = dec.poll() {
                            match f.and_then(|f| link.handle_frame(Instant::now(), &f)) {
                                Ok(()) => {}
                                Err(e) => {
                                    bad = Some(e.to_string());
                                    break;
                                }
                            }
                        }
                        if let Some(e) = bad {
                            break e;
                        }
                    }
                },
                () = timer => {
                    if let Err(e) = link.handle_timeout(Instant::now()) {
                        silent = matches!(e, remote::Error::Silent(_));
                        break e.to_string();
                    }
                }
                Some((c, out)) = res_rx.recv() => on_result(&mut link, &mut chans, c, out),
                // A reloaded policy: published again if it changed.
                Ok(()) = changes.changed() => publish(&mut link, &server, &opts, &mut published),
            }
        };
        let _ = stream.shutdown().await;
        link.link_down();
        // Drop channels the session no longer has (a link that cannot resume).
        chans.retain(|c, _| link.channels().any(|l| l == *c));
        // After a silent link, dial again at once (remote-protocol.md §4.3):
        // the controller may be fine and only the path broken. After a refused
        // resume too: the controller answered, so it is there for a new session.
        let wait = if silent || rejected {
            Duration::ZERO
        } else {
            backoff(failures, random_u64())
        };
        eprintln!(
            "vantage probe: link to {} lost ({why}); reconnecting in {} ms",
            cfg.server,
            wait.as_millis()
        );
        failures = failures.saturating_add(1);
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                Some((c, out)) = res_rx.recv() => on_result(&mut link, &mut chans, c, out),
            }
        }
    }
}

fn flush_session(link: &mut VpLink, chans: &mut HashMap<ChannelId, Session>, c: ChannelId) {
    let Some(s) = chans.get_mut(&c) else {
        return;
    };
    let out = s.take_output();
    if !out.is_empty()
        && let Err(e) = link.send_data(c, &out)
    {
        eprintln!("vantage probe: channel {c}: {e}");
    }
    if s.should_close() {
        chans.remove(&c);
        if let Err(e) = link.close_channel(c) {
            eprintln!("vantage probe: channel {c}: {e}");
        }
    }
}

fn on_result(
    link: &mut VpLink,
    chans: &mut HashMap<ChannelId, Session>,
    c: ChannelId,
    out: TaskOutput,
) {
    if let Some(s) = chans.get_mut(&c) {
        s.on_result(out);
        flush_session(link, chans, c);
    }
}

/// What names the sources of remote channels.
struct Names {
    next: u64,
    monitor: Option<String>,
}

/// Acts on one event of the link; `true` means: drop this connection and dial again.
fn handle_event(
    server: &ControlServer,
    names: &mut Names,
    link: &mut VpLink,
    chans: &mut HashMap<ChannelId, Session>,
    res_tx: &mpsc::UnboundedSender<(ChannelId, TaskOutput)>,
    ev: VpEvent,
    failures: &mut u32,
) -> bool {
    let mut reconnect = false;
    match ev {
        VpEvent::Established { alias } => {
            *failures = 0;
            eprintln!("vantage probe: connected to the controller as {alias}");
            // A new session: channels of an old one are gone.
            chans.clear();
        }
        VpEvent::Resumed => {
            *failures = 0;
            eprintln!("vantage probe: session resumed");
        }
        VpEvent::Rejected => {
            eprintln!("vantage probe: the controller refused to resume; starting a new session");
            chans.clear();
            if let Err(e) = link.replace_magic(fresh_magic()) {
                eprintln!("vantage probe: remote link: {e}");
            }
            reconnect = true;
        }
        VpEvent::ChannelOpened(c) => {
            // Sources are named `<alias>_<k>`, k counting channels over the life of
            // the link (not reset by reconnects), as scamper names them.
            let name = format!("{}_{}", link.alias().unwrap_or("remote"), names.next);
            names.next += 1;
            let (session, mut rx) = server.attached_session(name, names.monitor.clone());
            let tx = res_tx.clone();
            tokio::spawn(async move {
                while let Some(out) = rx.recv().await {
                    if tx.send((c, out)).is_err() {
                        break;
                    }
                }
            });
            chans.insert(c, session);
            flush_session(link, chans, c);
        }
        VpEvent::ChannelFinished(c) => {
            if let Some(s) = chans.get_mut(&c) {
                s.finish_abandon();
                flush_session(link, chans, c);
            }
        }
        VpEvent::Data { channel, bytes } => {
            if let Some(s) = chans.get_mut(&channel) {
                s.feed(&bytes);
                flush_session(link, chans, channel);
            }
        }
        VpEvent::ChannelsDropped(cs) => {
            for c in cs {
                if let Some(mut s) = chans.remove(&c) {
                    s.feed_eof();
                }
            }
        }
    }
    reconnect
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_under_a_second_and_is_capped() {
        for r in [0, 1, 499, 500, 12345, u64::MAX] {
            assert!(backoff(0, r) <= Duration::from_secs(1));
            assert!(backoff(0, r) >= Duration::from_millis(500));
            for n in 0..40 {
                assert!(backoff(n, r) <= MAX_BACKOFF);
            }
            assert!(backoff(10, r) >= Duration::from_secs(15));
        }
    }

    #[test]
    fn bad_server_address_is_refused() {
        let cfg = RemoteConfig {
            server: "controller".into(),
            name: None,
            tls: None,
        };
        assert!(matches!(Dialer::new(&cfg), Err(RemoteError::BadServer(_))));
    }
}
