//! [`MuxClient`]: one connection to the controller's mux socket, through which
//! every VP is reached.

use crate::chan::ChanState;
use crate::channel::Channel;
use crate::conn::{Conn, State, Stream};
use crate::error::{ChannelEnd, Error, unix_connect_error};
use futures_core::Stream as AsyncStream;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use vantage_proto::mux::{MuxChannelId, MuxControl, MuxDecoder, MuxEvent, VpId, VpInfo};

/// How long [`MuxClient::connect`] waits for the controller's VP list.
pub const DEFAULT_GREETING_TIMEOUT: Duration = Duration::from_secs(10);

/// A change in the set of VPs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VpEvent {
    /// A VP connected to the controller.
    Arrived(VpInfo),
    /// A known VP's metadata changed (the controller reloaded its metadata file).
    Updated(VpInfo),
    /// A VP is gone: it left and did not come back within the controller's
    /// grace period, or (`controller_gone`) the connection to the controller
    /// was lost. Every task pending on it has failed.
    Departed {
        /// The VP.
        id: VpId,
        /// Whether the departure is because the controller went away.
        controller_gone: bool,
    },
}

/// A connection to the controller's mux socket.
///
/// Cheap to clone; the connection closes when the last clone and the last
/// [`Channel`] opened through it are dropped (or at [`MuxClient::close`]).
/// All methods may be called from any thread.
#[derive(Clone)]
pub struct MuxClient {
    conn: Arc<Conn>,
    path: PathBuf,
}

impl std::fmt::Debug for MuxClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MuxClient")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

pub(crate) fn on_mux_bytes(dec: &mut MuxDecoder, st: &mut State, bytes: Option<&[u8]>) {
    let Some(bytes) = bytes else {
        if !dec.at_boundary() {
            st.connection_lost("the controller closed the mux inside a frame".to_owned());
        }
        return;
    };
    dec.feed(bytes);
    while let Some(ev) = dec.poll() {
        match ev {
            Ok(ev) => on_mux_event(st, ev),
            Err(e) => {
                st.connection_lost(format!("the controller broke the mux protocol: {e}"));
                return;
            }
        }
    }
}

/// The typed view of a VP_UPDATE, with the policy text the VP published (if
/// the update names a policy hash).
fn vp_info(st: &State, u: &vantage_proto::mux::VpUpdate) -> VpInfo {
    let mut info = VpInfo::from_update(u);
    if info.policy_hash.is_some() {
        info.policy = st.policies.get(&info.id).cloned();
    }
    info
}

fn on_mux_event(st: &mut State, ev: MuxEvent) {
    match ev {
        MuxEvent::Data { channel, bytes } => {
            if let Some(c) = st.channels.get_mut(&channel.0) {
                c.feed(&bytes);
                st.touch(channel.0);
            }
        }
        MuxEvent::Control(MuxControl::ChannelClose(channel)) => {
            if let Some(c) = st.channels.get_mut(&channel.0) {
                c.feed_eof();
                st.touch(channel.0);
            }
        }
        MuxEvent::Control(MuxControl::VpUpdate(u)) => {
            let info = vp_info(st, &u);
            let ev = if st.vps.insert(info.id, info.clone()).is_some() {
                VpEvent::Updated(info)
            } else {
                VpEvent::Arrived(info)
            };
            st.vp_events.push_back(ev);
            if let Some(w) = st.vp_waker.take() {
                st.to_wake.push(w);
            }
        }
        MuxEvent::Control(MuxControl::VpPolicy { vp_id, text }) => {
            // It precedes the VP_UPDATE with the policy's hash; a VP already
            // listed gets its text at once.
            if let Some(info) = st.vps.get_mut(&vp_id)
                && info.policy.as_ref() != Some(&text)
            {
                info.policy = Some(text.clone());
                st.vp_events.push_back(VpEvent::Updated(info.clone()));
                if let Some(w) = st.vp_waker.take() {
                    st.to_wake.push(w);
                }
            }
            st.policies.insert(vp_id, text);
        }
        MuxEvent::Control(MuxControl::VpDepart(id)) => {
            st.policies.remove(&id);
            // Departures of ids never announced (VP_DEPART(0)) are ignored.
            if st.vps.remove(&id).is_none() {
                return;
            }
            let chans: Vec<u32> = st
                .channels
                .iter()
                .filter(|(_, c)| c.vp == Some(id))
                .map(|(k, _)| *k)
                .collect();
            for ch in chans {
                if let Some(c) = st.channels.get_mut(&ch) {
                    c.finish(ChannelEnd::VpDeparted);
                }
                st.touch(ch);
            }
            st.vp_events.push_back(VpEvent::Departed {
                id,
                controller_gone: false,
            });
            if let Some(w) = st.vp_waker.take() {
                st.to_wake.push(w);
            }
        }
        MuxEvent::Control(_) => {}
    }
}

impl MuxClient {
    /// Connects to the mux socket at `path` and reads the controller's list of
    /// VPs (waiting at most [`DEFAULT_GREETING_TIMEOUT`]).
    pub fn connect(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::connect_timeout(path, DEFAULT_GREETING_TIMEOUT)
    }

    /// Like [`MuxClient::connect`], waiting at most `timeout` for the VP list.
    pub fn connect_timeout(path: impl AsRef<Path>, timeout: Duration) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let what = path.display().to_string();
        let mut sock =
            UnixStream::connect(&path).map_err(|e| unix_connect_error(path.clone(), e, true))?;
        let io_err = |source| Error::Io {
            what: what.clone(),
            source,
        };
        let mut dec = MuxDecoder::new();
        let mut state = State {
            next_channel: 1,
            ..State::default()
        };
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 16 * 1024];
        // The VP list, then GO; anything after GO stays in the decoder.
        'greeting: loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::GreetingTimeout { what, timeout });
            }
            sock.set_read_timeout(Some(left)).map_err(io_err)?;
            let n = match sock.read(&mut buf) {
                Ok(0) => {
                    return Err(Error::Io {
                        what,
                        source: std::io::ErrorKind::UnexpectedEof.into(),
                    });
                }
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(Error::GreetingTimeout { what, timeout });
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(e)),
            };
            dec.feed(&buf[..n]);
            while let Some(ev) = dec.poll() {
                match ev? {
                    MuxEvent::Control(MuxControl::Go) => break 'greeting,
                    MuxEvent::Control(MuxControl::VpUpdate(u)) => {
                        let info = vp_info(&state, &u);
                        state.vps.insert(info.id, info);
                    }
                    MuxEvent::Control(MuxControl::VpPolicy { vp_id, text }) => {
                        state.policies.insert(vp_id, text);
                    }
                    _ => {}
                }
            }
        }
        // Events that followed GO in the same read.
        let mut early = Vec::new();
        while let Some(ev) = dec.poll() {
            early.push(ev?);
        }
        for ev in early {
            on_mux_event(&mut state, ev);
        }
        let conn = Conn::start(Stream::Unix(sock), state, true, &what, move |st, bytes| {
            on_mux_bytes(&mut dec, st, bytes);
        })?;
        Ok(Self { conn, path })
    }

    /// The mux socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every VP currently connected, by id.
    pub fn vps(&self) -> Vec<VpInfo> {
        self.conn.shared.lock().vps.values().cloned().collect()
    }

    /// One VP, if connected.
    pub fn vp(&self, id: VpId) -> Option<VpInfo> {
        self.conn.shared.lock().vps.get(&id).cloned()
    }

    /// The first VP (lowest id) whose monitor name or short name is `name`.
    pub fn find_vp(&self, name: &str) -> Option<VpInfo> {
        self.conn
            .shared
            .lock()
            .vps
            .values()
            .find(|v| v.matches_name(name))
            .cloned()
    }

    /// Whether the connection to the controller is still up.
    pub fn is_connected(&self) -> bool {
        self.conn.shared.lock().lost.is_none()
    }

    /// The next VP arrival, update or departure, without waiting.
    pub fn poll_vp_event(&self) -> Option<VpEvent> {
        let mut g = self.conn.shared.lock();
        let ev = g.vp_events.pop_front();
        self.conn.shared.release(g);
        ev
    }

    /// The next VP arrival, update or departure, waiting at most `timeout`
    /// (forever with `None`). `None` when the time ran out, or when the
    /// connection is lost and every event was delivered.
    pub fn next_vp_event(&self, timeout: Option<Duration>) -> Option<VpEvent> {
        let deadline = timeout.map(|t| Instant::now() + t);
        self.conn
            .shared
            .wait_for(deadline, |st| match st.vp_events.pop_front() {
                Some(ev) => Some(Some(ev)),
                None if st.lost.is_some() => Some(None),
                None => None,
            })
            .flatten()
    }

    /// VP arrivals, updates and departures as an async stream (one consumer at
    /// a time); it ends when the connection is lost.
    pub fn vp_events(&self) -> VpEventStream {
        VpEventStream {
            conn: Arc::clone(&self.conn),
        }
    }

    /// Opens a channel to VP `vp`. Returns at once; commands sent before the VP
    /// answers are queued by the controller.
    pub fn open(&self, vp: VpId) -> Result<Channel, Error> {
        let mut g = self.conn.shared.lock();
        if let Some(why) = &g.lost {
            return Err(Error::ChannelEnded(ChannelEnd::ConnectionLost(why.clone())));
        }
        if !g.vps.contains_key(&vp) {
            return Err(Error::UnknownVp(vp));
        }
        let id = g.next_channel;
        g.next_channel = g.next_channel.wrapping_add(1).max(1);
        let msg = MuxControl::ChannelOpen {
            vp_id: vp,
            channel: MuxChannelId(id),
        }
        .encode()?;
        g.write(msg)?;
        g.channels.insert(id, ChanState::attached(Some(vp)));
        self.conn.shared.release(g);
        Ok(Channel::new(Arc::clone(&self.conn), id, Some(vp)))
    }

    /// Closes the connection now. Every channel ends with
    /// [`ChannelEnd::ClosedByClient`]; the controller abandons their tasks.
    pub fn close(&self) {
        self.conn.close();
    }
}

/// VP events as an async stream; see [`MuxClient::vp_events`].
pub struct VpEventStream {
    conn: Arc<Conn>,
}

impl AsyncStream for VpEventStream {
    type Item = VpEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<VpEvent>> {
        let mut g = self.conn.shared.lock();
        if let Some(ev) = g.vp_events.pop_front() {
            return Poll::Ready(Some(ev));
        }
        if g.lost.is_some() {
            return Poll::Ready(None);
        }
        g.vp_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}
