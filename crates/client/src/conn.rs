//! The connection shared by a client's handles: the socket, a reader thread that
//! turns incoming bytes into channel state, and a writer thread that sends
//! queued bytes, so that sending never blocks the caller.

use crate::chan::ChanState;
use crate::error::ChannelEnd;
use crate::mux::VpEvent;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};
use vantage_proto::mux::{VpId, VpInfo};

/// A connected stream socket.
#[derive(Debug)]
pub(crate) enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        Ok(match self {
            Self::Unix(s) => Self::Unix(s.try_clone()?),
            Self::Tcp(s) => Self::Tcp(s.try_clone()?),
        })
    }

    pub(crate) fn shutdown(&self, how: Shutdown) {
        let _ = match self {
            Self::Unix(s) => s.shutdown(how),
            Self::Tcp(s) => s.shutdown(how),
        };
    }

    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Self::Unix(s) => s.set_read_timeout(t),
            Self::Tcp(s) => s.set_read_timeout(t),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Unix(s) => s.read(buf),
            Self::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Unix(s) => s.write(buf),
            Self::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Unix(s) => s.flush(),
            Self::Tcp(s) => s.flush(),
        }
    }
}

/// Everything the reader thread and the user's handles share.
#[derive(Default)]
pub(crate) struct State {
    /// VPs listed by the controller (mux connections only).
    pub(crate) vps: BTreeMap<VpId, VpInfo>,
    /// Policy texts VPs published (VP_POLICY, a Vantage extension), kept
    /// apart from `vps` because it precedes the VP_UPDATE carrying its hash.
    pub(crate) policies: HashMap<VpId, String>,
    pub(crate) vp_events: VecDeque<VpEvent>,
    pub(crate) vp_waker: Option<Waker>,
    /// Open channels by channel id (0 for a control connection).
    pub(crate) channels: HashMap<u32, ChanState>,
    pub(crate) next_channel: u32,
    /// Set once the connection is over.
    pub(crate) lost: Option<String>,
    pub(crate) writer: Option<mpsc::Sender<Vec<u8>>>,
    /// Wakers to call once the lock is released.
    pub(crate) to_wake: Vec<Waker>,
}

impl State {
    /// Queues bytes for the writer thread.
    pub(crate) fn write(&mut self, bytes: Vec<u8>) -> Result<(), crate::Error> {
        match &self.writer {
            Some(tx) if tx.send(bytes).is_ok() => Ok(()),
            _ => Err(crate::Error::ChannelEnded(ChannelEnd::ConnectionLost(
                self.lost
                    .clone()
                    .unwrap_or_else(|| "the connection is closed".to_owned()),
            ))),
        }
    }

    /// Collects the wakers of a channel that changed.
    pub(crate) fn touch(&mut self, ch: u32) {
        if let Some(w) = self.channels.get_mut(&ch).and_then(ChanState::take_waker) {
            self.to_wake.push(w);
        }
    }

    /// The connection is gone: every channel ends, and (on a mux) every VP departs.
    pub(crate) fn connection_lost(&mut self, why: String) {
        if self.lost.is_some() {
            return;
        }
        self.lost = Some(why.clone());
        self.writer = None;
        let reason = ChannelEnd::ConnectionLost(why);
        let ids: Vec<u32> = self.channels.keys().copied().collect();
        for id in ids {
            if let Some(c) = self.channels.get_mut(&id) {
                c.finish(reason.clone());
            }
            self.touch(id);
        }
        let vps = std::mem::take(&mut self.vps);
        for id in vps.into_keys() {
            self.vp_events.push_back(VpEvent::Departed {
                id,
                controller_gone: true,
            });
        }
        if let Some(w) = self.vp_waker.take() {
            self.to_wake.push(w);
        }
    }
}

/// The shared half of a connection.
pub(crate) struct Shared {
    state: Mutex<State>,
    cond: Condvar,
}

impl Shared {
    pub(crate) fn new(state: State) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(state),
            cond: Condvar::new(),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Releases the lock, wakes async waiters and blocked threads.
    pub(crate) fn release(&self, mut g: MutexGuard<'_, State>) {
        let wakers = std::mem::take(&mut g.to_wake);
        drop(g);
        self.cond.notify_all();
        for w in wakers {
            w.wake();
        }
    }

    /// Waits until `ready` returns `Some`, or until `deadline` passes.
    pub(crate) fn wait_for<T>(
        &self,
        deadline: Option<Instant>,
        mut ready: impl FnMut(&mut State) -> Option<T>,
    ) -> Option<T> {
        let mut g = self.lock();
        loop {
            if let Some(v) = ready(&mut g) {
                self.release(g);
                return Some(v);
            }
            match deadline {
                None => {
                    g = self
                        .cond
                        .wait(g)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return None;
                    }
                    g = self
                        .cond
                        .wait_timeout(g, d - now)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
            }
        }
    }
}

/// The user-facing owner of a connection: when the last handle goes, the
/// socket is shut down and both threads end.
pub(crate) struct Conn {
    pub(crate) shared: Arc<Shared>,
    stream: Stream,
    /// Whether channel bytes are wrapped in mux frames.
    pub(crate) mux: bool,
}

impl Conn {
    /// Starts the writer and reader threads. `on_bytes` runs on the reader
    /// thread with the state locked, with `None` at end of stream.
    pub(crate) fn start(
        stream: Stream,
        state: State,
        mux: bool,
        name: &str,
        mut on_bytes: impl FnMut(&mut State, Option<&[u8]>) + Send + 'static,
    ) -> Result<Arc<Self>, crate::Error> {
        let io_err = |source| crate::Error::Io {
            what: name.to_owned(),
            source,
        };
        let mut reader = stream.try_clone().map_err(io_err)?;
        let mut writer = stream.try_clone().map_err(io_err)?;
        stream.set_read_timeout(None).map_err(io_err)?;
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let shared = Shared::new(State {
            writer: Some(tx),
            ..state
        });
        std::thread::Builder::new()
            .name(format!("vantage-client writer {name}"))
            .spawn(move || {
                for bytes in rx {
                    if writer.write_all(&bytes).is_err() {
                        break;
                    }
                }
            })
            .map_err(io_err)?;
        let sh = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("vantage-client reader {name}"))
            .spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let why = match reader.read(&mut buf) {
                        Ok(0) => {
                            let mut g = sh.lock();
                            on_bytes(&mut g, None);
                            sh.release(g);
                            "the peer closed the connection".to_owned()
                        }
                        Ok(n) => {
                            let mut g = sh.lock();
                            on_bytes(&mut g, Some(&buf[..n]));
                            let stop = g.lost.is_some();
                            sh.release(g);
                            if stop {
                                break;
                            }
                            continue;
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => format!("read failed: {e}"),
                    };
                    let mut g = sh.lock();
                    g.connection_lost(why);
                    sh.release(g);
                    break;
                }
            })
            .map_err(io_err)?;
        Ok(Arc::new(Self {
            shared,
            stream,
            mux,
        }))
    }

    /// Closes the connection now: every channel ends with
    /// [`ChannelEnd::ClosedByClient`].
    pub(crate) fn close(&self) {
        let mut g = self.shared.lock();
        if g.lost.is_none() {
            let ids: Vec<u32> = g.channels.keys().copied().collect();
            for id in ids {
                if let Some(c) = g.channels.get_mut(&id) {
                    c.finish(ChannelEnd::ClosedByClient);
                }
                g.touch(id);
            }
            g.connection_lost("closed by this client".to_owned());
        }
        self.shared.release(g);
        self.stream.shutdown(Shutdown::Both);
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.close();
    }
}
