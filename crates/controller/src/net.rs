//! Connection tasks: they accept, do TLS, cut bytes into frames for the hub and
//! write what the hub queues. They decide nothing.

use crate::hub::{ConnId, HubEvent, MuxId, Outbox, OutboxEnds};
use crate::tls::CertNames;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::mpsc::UnboundedSender;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};
use vantage_proto::mux::MuxDecoder;
use vantage_proto::remote::{FrameDecoder, HELLO_TIMEOUT, Hello, MAX_CONTROL_PAYLOAD};

/// A write that makes no progress for this long ends the connection.
const WRITE_STALL: Duration = Duration::from_secs(60);

/// The current TLS acceptor (replaced on reload), or none for plaintext.
pub(crate) type Tls = Option<Arc<RwLock<TlsAcceptor>>>;

/// Writes what the hub queues, then closes the write side.
/// An abort drops what is queued and closes without writing it.
async fn writer<W: AsyncWrite + Unpin>(mut w: W, mut ends: OutboxEnds) {
    let abort = Arc::clone(&ends.abort);
    let aborted = abort.notified();
    tokio::pin!(aborted);
    loop {
        let b = tokio::select! {
            () = &mut aborted => {
                debug!("connection aborted; dropping what is queued");
                return;
            }
            b = ends.rx.recv() => match b {
                Some(b) => b,
                None => break,
            },
        };
        let n = b.len();
        tokio::select! {
            () = &mut aborted => {
                debug!("connection aborted; dropping what is queued");
                return;
            }
            res = tokio::time::timeout(WRITE_STALL, w.write_all(&b)) => match res {
                Ok(Ok(())) => {
                    ends.queued.fetch_sub(n, Ordering::Relaxed);
                }
                Ok(Err(e)) => {
                    debug!("write failed: {e}");
                    break;
                }
                Err(_) => {
                    debug!("write stalled for {WRITE_STALL:?}; closing");
                    break;
                }
            }
        }
    }
    let _ = w.shutdown().await;
}

/// Accepts VP connections until aborted.
pub(crate) async fn accept_vps(
    listener: TcpListener,
    tls: Tls,
    hub: UnboundedSender<HubEvent>,
    ids: Arc<AtomicU64>,
    tracker: TaskTracker,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let conn = ids.fetch_add(1, Ordering::Relaxed);
                let acceptor = tls.as_ref().map(|t| {
                    t.read()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .clone()
                });
                tracker.spawn(vp_conn(
                    stream,
                    peer,
                    acceptor,
                    hub.clone(),
                    conn,
                    tracker.clone(),
                ));
            }
            Err(e) => {
                warn!("accepting a VP connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn vp_conn(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    hub: UnboundedSender<HubEvent>,
    conn: ConnId,
    tracker: TaskTracker,
) {
    if let Err(e) = stream.set_nodelay(true) {
        debug!(%peer, "cannot set TCP_NODELAY: {e}");
    }
    let deadline = tokio::time::Instant::now() + HELLO_TIMEOUT;
    match tls {
        None => {
            let (r, w) = stream.into_split();
            link_io(r, w, peer, None, hub, conn, deadline, &tracker).await;
        }
        Some(acceptor) => match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
            Err(_) => {
                warn!(%peer, "refused VP: it did not finish the TLS handshake within {HELLO_TIMEOUT:?}");
            }
            Ok(Err(e)) => warn!(%peer, error = %e,
                "refused VP: TLS handshake failed (a client certificate not signed by the configured CA, no client certificate, or a VP not speaking TLS)"),
            Ok(Ok(tls)) => {
                let cert = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| CertNames::from_der(c));
                let (r, w) = tokio::io::split(tls);
                link_io(r, w, peer, cert, hub, conn, deadline, &tracker).await;
            }
        },
    }
}

#[allow(clippy::too_many_arguments)]
async fn link_io<R, W>(
    mut r: R,
    w: W,
    peer: SocketAddr,
    cert: Option<CertNames>,
    hub: UnboundedSender<HubEvent>,
    conn: ConnId,
    deadline: tokio::time::Instant,
    tracker: &TaskTracker,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let mut dec = FrameDecoder::new().with_max_control(MAX_CONTROL_PAYLOAD);
    let mut buf = vec![0u8; 16 * 1024];
    let first = loop {
        // A hello is a control frame: refuse anything else at its header,
        // without waiting for the payload it announces.
        if let Some((_, channel, _)) = dec.peek_header()
            && !channel.is_control()
        {
            warn!(%peer, "refused VP: its first message is not a valid hello (a frame on channel {channel}, not the control channel; not a Vantage or scamper VP?)");
            return;
        }
        if let Some(f) = dec.poll() {
            break f;
        }
        match tokio::time::timeout_at(deadline, r.read(&mut buf)).await {
            Err(_) => {
                warn!(%peer, "refused VP: no hello within {HELLO_TIMEOUT:?}");
                return;
            }
            Ok(Ok(0)) => {
                debug!(%peer, "VP connection closed before its hello");
                return;
            }
            Ok(Ok(n)) => dec.feed(&buf[..n]),
            Ok(Err(e)) => {
                debug!(%peer, "VP connection failed before its hello: {e}");
                return;
            }
        }
    };
    let hello = match first.and_then(|f| Hello::parse(&f)) {
        Ok(h) => h,
        Err(e) => {
            warn!(%peer, "refused VP: its first message is not a valid hello ({e})");
            return;
        }
    };
    let (out, ends) = Outbox::new();
    let kill = Arc::clone(&ends.kill);
    tracker.spawn(writer(w, ends));
    if hub
        .send(HubEvent::VpHello {
            conn,
            peer,
            hello,
            cert,
            out,
        })
        .is_err()
    {
        return;
    }
    loop {
        while let Some(f) = dec.poll() {
            let ev = match f {
                Ok(frame) => HubEvent::VpFrame { conn, frame },
                Err(e) => {
                    let _ = hub.send(HubEvent::VpClosed {
                        conn,
                        why: format!("undecodable frame: {e}"),
                    });
                    return;
                }
            };
            if hub.send(ev).is_err() {
                return;
            }
        }
        tokio::select! {
            () = kill.notified() => return,
            res = r.read(&mut buf) => {
                let why = match res {
                    Ok(0) => "connection closed by the VP".to_owned(),
                    Ok(n) => {
                        dec.feed(&buf[..n]);
                        continue;
                    }
                    Err(e) => format!("read failed: {e}"),
                };
                let _ = hub.send(HubEvent::VpClosed { conn, why });
                return;
            }
        }
    }
}

/// Accepts mux clients until aborted.
pub(crate) async fn accept_mux(
    listener: Arc<crate::muxsock::MuxSocket>,
    hub: UnboundedSender<HubEvent>,
    tracker: TaskTracker,
) {
    let mut next: MuxId = 1;
    loop {
        match listener.listener.accept().await {
            Ok((stream, _)) => {
                let uid = stream.peer_cred().ok().map(|c| c.uid());
                tracker.spawn(mux_conn(stream, next, uid, hub.clone(), tracker.clone()));
                next += 1;
            }
            Err(e) => {
                warn!("accepting a mux client failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn mux_conn(
    stream: UnixStream,
    mux: MuxId,
    uid: Option<u32>,
    hub: UnboundedSender<HubEvent>,
    tracker: TaskTracker,
) {
    let (mut r, w) = stream.into_split();
    let (out, ends) = Outbox::new();
    let kill = Arc::clone(&ends.kill);
    tracker.spawn(writer(w, ends));
    if hub.send(HubEvent::MuxOpen { mux, out, uid }).is_err() {
        return;
    }
    let mut dec = MuxDecoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            () = kill.notified() => return,
            res = r.read(&mut buf) => {
                let why = match res {
                    Ok(0) => None,
                    Ok(n) => {
                        dec.feed(&buf[..n]);
                        let mut failed = None;
                        while let Some(ev) = dec.poll() {
                            match ev {
                                Ok(ev) => {
                                    if hub.send(HubEvent::Mux { mux, ev }).is_err() {
                                        return;
                                    }
                                }
                                Err(e) => {
                                    failed = Some(format!("mux protocol error: {e}"));
                                    break;
                                }
                            }
                        }
                        match failed {
                            None => continue,
                            Some(why) => Some(why),
                        }
                    }
                    Err(e) => Some(format!("read failed: {e}")),
                };
                let _ = hub.send(HubEvent::MuxClosed { mux, why });
                return;
            }
        }
    }
}
