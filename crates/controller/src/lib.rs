//! The Vantage controller: the central server that vantage points (VPs) dial
//! into, and that researchers' scripts reach through one unix socket, the mux.
//!
//! # What this crate is
//! - VP links: a TCP listener (TLS by default, rustls with the ring provider;
//!   plaintext only when asked), TCP_NODELAY on every link, optional client
//!   certificates whose name must be the VP's monitor name. Each link speaks the
//!   remote protocol through [`vantage_proto::remote::ControllerLink`]: sequence
//!   numbers, acknowledgements, keepalives and silence detection
//!   ([`Config::timers`]: a silent link is lost and its grace period starts),
//!   and resumption of a session when a VP reconnects within the grace period
//!   ([`Config::grace`]); after it the VP departs.
//! - VP policies: a Vantage probe publishes its policy (text and hash) on a
//!   reserved remote channel; the controller announces it to mux clients
//!   (VP_UPDATE attribute 100, mux message VP_POLICY), and waits up to
//!   250 ms after a VP's hello for it, so that clients hear of a VP once.
//! - VP metadata from the metadata file ([`Config::vp_meta`]), reloaded on
//!   SIGHUP (and [`Controller::reload`]); VPs whose announced metadata changed
//!   are announced again.
//! - The mux server on a unix socket ([`Config::mux_path`], mode 0660 by
//!   default: the socket's owner and group are the access control): the VP
//!   list, arrivals and departures, and channels relayed between mux clients
//!   and VPs. A client that stops reading is disconnected once
//!   [`Config::mux_backlog`] bytes are queued for it; nobody else waits for it.
//! - Logs (tracing) of every VP arrival, link loss, resumption and departure,
//!   and of every refused connection with the reason.
//! - Bad input ends only the connection that sent it: a VP whose first frame
//!   is not a hello, or whose control frame announces more than any control
//!   message can hold, is refused at the frame header; a mux client that
//!   breaks the mux protocol is disconnected (data for a channel it has not
//!   opened is dropped, as the protocol says, and logged once).
//!
//! [`run`] is the whole program for the CLI's `vantage controller`;
//! [`Controller::start`] runs it in the background (tests, embedding).
//!
//! # What this crate is not
//! It parses no protocol bytes itself (`vantage-proto` does), runs no
//! measurements and reads no results: channel bytes are relayed untouched.
//! It has no per-VP unix sockets (sc_remoted's `-U`) and no TCP mux listener.
//!
//! # Differences from sc_remoted
//! - Zombie VPs stay listed to new mux clients, and a channel opened to one is
//!   queued until it resumes; the grace period defaults to 60 s (sc_remoted: 15
//!   minutes).
//! - On departure, each channel to the VP gets CHANNEL_CLOSE after VP_DEPART,
//!   so every client sees its tasks end.
//! - A CHANNEL_OPEN to an unknown VP is answered with CHANNEL_CLOSE instead of
//!   dropping the whole mux connection.
//! - VP_DEPART is only sent for VPs that were announced (never `VP_DEPART(0)`).
//! - A VP_UPDATE above 1024 bytes loses tags from the end instead of not being sent.
//! - New VPs are announced up to 250 ms after their hello (with their policy).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod config;
mod error;
mod hub;
mod muxsock;
mod net;
mod tls;

pub use config::{
    Config, DEFAULT_GRACE, DEFAULT_MUX_BACKLOG, DEFAULT_MUX_MODE, LinkSecurity, TlsFiles,
};
pub use error::Error;
/// The liveness timers of VP links ([`Config::timers`]).
pub use vantage_proto::remote::Timers;

use hub::{Hub, HubConfig, HubEvent};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};
use vantage_proto::meta::Metadata;

/// Reads and parses the metadata file, logging its warnings.
pub(crate) fn load_metadata(path: &Path) -> Result<Metadata, Error> {
    let text = std::fs::read(path).map_err(|source| Error::Read {
        what: "VP metadata file",
        path: path.to_path_buf(),
        source,
    })?;
    let meta = Metadata::parse(&text).map_err(|source| Error::Metadata {
        path: path.to_path_buf(),
        source,
    })?;
    for w in meta.warnings() {
        warn!(path = %path.display(), "{w}");
    }
    Ok(meta)
}

/// A running controller.
pub struct Controller {
    vp_addrs: Vec<SocketAddr>,
    mux_path: PathBuf,
    hub_tx: mpsc::UnboundedSender<HubEvent>,
    stop: Option<oneshot::Sender<()>>,
    hub: JoinHandle<()>,
    accepts: Vec<JoinHandle<()>>,
    tracker: TaskTracker,
    tls: net::Tls,
    tls_files: Option<TlsFiles>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("vp_addrs", &self.vp_addrs)
            .field("mux_path", &self.mux_path)
            .finish_non_exhaustive()
    }
}

impl Controller {
    /// Binds the VP listeners and the mux socket and starts serving, in the
    /// current tokio runtime (a multi-thread runtime is best).
    pub async fn start(config: Config) -> Result<Self, Error> {
        if config.listen.is_empty() {
            return Err(Error::NoListenAddress);
        }
        let meta = match &config.vp_meta {
            Some(p) => load_metadata(p)?,
            None => Metadata::default(),
        };
        let (tls, tls_files, require_cert_names) = match &config.security {
            LinkSecurity::Plaintext => (None, None, false),
            LinkSecurity::Tls(files) => {
                let cfg = tls::server_config(files)?;
                (
                    Some(Arc::new(RwLock::new(TlsAcceptor::from(cfg)))),
                    Some(files.clone()),
                    files.client_ca.is_some(),
                )
            }
        };
        let mut listeners = Vec::new();
        for addr in &config.listen {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| Error::Listen {
                    addr: *addr,
                    source,
                })?;
            let local = l.local_addr().map_err(|source| Error::Listen {
                addr: *addr,
                source,
            })?;
            listeners.push((l, local));
        }
        let mux = Arc::new(muxsock::MuxSocket::bind(&config.mux_path, config.mux_mode)?);
        let (hub_tx, hub_rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let hub = Hub::new(HubConfig {
            grace: config.grace,
            require_cert_names,
            meta_path: config.vp_meta.clone(),
            meta,
            mux_backlog: config.mux_backlog,
            timers: config.timers,
        });
        let hub = tokio::spawn(hub.run(hub_rx, stop_rx));
        let tracker = TaskTracker::new();
        let ids = Arc::new(AtomicU64::new(1));
        let mut accepts = Vec::new();
        let mut vp_addrs = Vec::new();
        for (l, local) in listeners {
            info!(
                addr = %local,
                tls = tls.is_some(),
                client_certificates = require_cert_names,
                "listening for VPs"
            );
            vp_addrs.push(local);
            accepts.push(tokio::spawn(net::accept_vps(
                l,
                tls.clone(),
                hub_tx.clone(),
                Arc::clone(&ids),
                tracker.clone(),
            )));
        }
        info!(path = %config.mux_path.display(), mode = format!("{:o}", config.mux_mode), "mux socket ready");
        accepts.push(tokio::spawn(net::accept_mux(
            mux,
            hub_tx.clone(),
            tracker.clone(),
        )));
        let me = Self {
            vp_addrs,
            mux_path: config.mux_path.clone(),
            hub_tx,
            stop: Some(stop_tx),
            hub,
            accepts,
            tracker,
            tls,
            tls_files,
        };
        if config.reload_on_sighup {
            let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .map_err(|source| Error::Signal {
                    signal: "SIGHUP",
                    source,
                })?;
            let reloader = me.reloader();
            let task = tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    info!("SIGHUP: reloading");
                    reloader.reload();
                }
            });
            let mut me = me;
            me.accepts.push(task);
            return Ok(me);
        }
        Ok(me)
    }

    fn reloader(&self) -> Reloader {
        Reloader {
            hub: self.hub_tx.clone(),
            tls: self.tls.clone(),
            files: self.tls_files.clone(),
        }
    }

    /// The addresses VP links are accepted on (with the ports actually bound).
    pub fn vp_addrs(&self) -> &[SocketAddr] {
        &self.vp_addrs
    }

    /// The mux socket's path.
    pub fn mux_path(&self) -> &Path {
        &self.mux_path
    }

    /// Reloads the metadata file and the TLS certificate and key, as SIGHUP does.
    pub fn reload(&self) {
        self.reloader().reload();
    }

    /// Stops: every mux client is told that every VP departed and is
    /// disconnected, VP links are closed, the mux socket is removed.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.hub).await;
        for a in &self.accepts {
            a.abort();
        }
        for a in self.accepts.drain(..) {
            let _ = a.await;
        }
        self.tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.tracker.wait()).await;
    }
}

/// What a reload needs: the hub's address and the TLS state.
struct Reloader {
    hub: mpsc::UnboundedSender<HubEvent>,
    tls: net::Tls,
    files: Option<TlsFiles>,
}

impl Reloader {
    fn reload(&self) {
        if let (Some(tls), Some(files)) = (&self.tls, &self.files) {
            match tls::server_config(files) {
                Ok(cfg) => {
                    *tls.write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) =
                        TlsAcceptor::from(cfg);
                    info!("TLS certificate and key reloaded");
                }
                Err(e) => warn!("TLS reload failed, keeping the previous certificate: {e}"),
            }
        }
        let _ = self.hub.send(HubEvent::Reload);
    }
}

/// Runs the controller until `shutdown` completes, then stops it cleanly.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let c = Controller::start(config).await?;
    shutdown.await;
    info!("shutting down");
    c.shutdown().await;
    Ok(())
}

/// Runs the controller on a new multi-thread runtime until SIGINT or SIGTERM:
/// the whole `vantage controller` program, minus argument parsing and logging
/// setup.
pub fn run_blocking(config: Config) -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|source| Error::Signal {
                signal: "SIGTERM",
                source,
            })?;
        run(config, async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        })
        .await
    })
}
