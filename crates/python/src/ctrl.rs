//! The native half of the controller API: thin handles over `vantage-client`
//! (`_Hub`, `_Mux`, `_Chan`) that `vantage._ctrl` builds `ScamperCtrl`,
//! `ScamperInst`, `ScamperVp` and `ScamperTask` on.
//!
//! The client library's reader threads do the I/O. Every channel's event
//! stream is polled with a waker that belongs to one [`Hub`] per ctrl: the
//! waker sets a flag, signals a condition variable (for blocking waits, which
//! release the GIL and check for signals every 100 ms) and writes one byte to
//! a socketpair (for asyncio's `add_reader`). Results are turned into Python
//! objects only on the caller's thread, inside `_Chan.events`.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use futures_core::Stream;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use vantage_client::{
    Channel, ChannelEnd, ControlClient, Event, EventStream, MuxClient, Outcome, TaskError, TaskId,
    VpId, VpInfo,
};

use crate::record::{Rec, to_py};

/// How long one slice of a blocking wait lasts before signals are checked.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// The shared wakeup point of one ctrl.
struct HubInner {
    flag: Mutex<bool>,
    cond: Condvar,
    /// Write end of the wakeup socketpair (non-blocking).
    tx: UnixStream,
    /// Read end of the wakeup socketpair (non-blocking), for asyncio.
    rx: UnixStream,
    /// Whether a byte is already waiting in the socketpair.
    pipe_full: AtomicBool,
}

impl Wake for HubInner {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        *self.flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.cond.notify_all();
        if !self.pipe_full.swap(true, Ordering::AcqRel) {
            // A full socket buffer already means "wake up".
            let _ = (&self.tx).write(&[1]);
        }
    }
}

impl HubInner {
    /// Waits until woken (`true`, and the flag is cleared) or `until` passes
    /// (`false`).
    fn wait_until(&self, until: Instant) -> bool {
        let mut g = self.flag.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if *g {
                *g = false;
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            g = self
                .cond
                .wait_timeout(g, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Empties the wakeup socket and clears the flag. Reads first, then
    /// clears `pipe_full`: a wake in between writes no byte, but the caller's
    /// pump that follows sees its event, and every later wake writes.
    fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.rx).read(&mut buf), Ok(n) if n > 0) {}
        self.pipe_full.store(false, Ordering::Release);
        *self.flag.lock().unwrap_or_else(PoisonError::into_inner) = false;
    }
}

/// The wakeup point of one ctrl: every channel's waker points here.
#[pyclass(name = "_Hub", module = "vantage._native", frozen)]
pub struct Hub {
    inner: Arc<HubInner>,
    waker: Waker,
}

fn runtime_err(e: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

#[pymethods]
impl Hub {
    /// A new hub.
    #[new]
    fn new() -> PyResult<Self> {
        let (tx, rx) = UnixStream::pair().map_err(runtime_err)?;
        tx.set_nonblocking(true).map_err(runtime_err)?;
        rx.set_nonblocking(true).map_err(runtime_err)?;
        let inner = Arc::new(HubInner {
            flag: Mutex::new(false),
            cond: Condvar::new(),
            tx,
            rx,
            pipe_full: AtomicBool::new(false),
        });
        let waker = Waker::from(Arc::clone(&inner));
        Ok(Self { inner, waker })
    }

    /// Waits until something happened on a channel (`True`) or `timeout`
    /// seconds passed (`False`; `None` waits without limit). Releases the GIL
    /// and checks for signals every 100 ms, so Ctrl-C interrupts it.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let deadline = match timeout {
            Some(t) if t.is_finite() && t > 0.0 => {
                Some(Instant::now() + Duration::from_secs_f64(t.min(1e9)))
            }
            Some(_) => Some(Instant::now()),
            None => None,
        };
        loop {
            let slice_end = {
                let now = Instant::now();
                let s = now + WAIT_SLICE;
                deadline.map_or(s, |d| d.min(s))
            };
            let woken = py.detach(|| self.inner.wait_until(slice_end));
            if woken {
                return Ok(true);
            }
            py.check_signals()?;
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
        }
    }

    /// Wakes the hub by hand (a waiting `wait` returns `True`).
    fn notify(&self) {
        self.inner.wake_by_ref();
    }

    /// The file descriptor that becomes readable when the hub is woken (for
    /// `asyncio`'s `add_reader`); call `drain()` when it is.
    fn fileno(&self) -> i32 {
        self.inner.rx.as_raw_fd()
    }

    /// Empties the wakeup socket and clears the flag.
    fn drain(&self) {
        self.inner.drain();
    }
}

/// A connection to a mux socket.
#[pyclass(name = "_Mux", module = "vantage._native", frozen)]
pub struct Mux {
    client: MuxClient,
}

fn vp_dict<'py>(py: Python<'py>, v: &VpInfo) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", v.id.0)?;
    d.set_item("name", &v.name)?;
    d.set_item("arrival", &v.arrival)?;
    d.set_item("ipv4", &v.ipv4)?;
    d.set_item("ipv6", &v.ipv6)?;
    d.set_item("asn4", &v.asn4)?;
    d.set_item("asn6", &v.asn6)?;
    d.set_item("latlong", &v.latlong)?;
    d.set_item("cc", &v.cc)?;
    d.set_item("st", &v.st)?;
    d.set_item("place", &v.place)?;
    d.set_item("shortname", &v.shortname)?;
    d.set_item("iata", &v.iata)?;
    d.set_item("tags", PyList::new(py, &v.tags)?)?;
    d.set_item("policy", &v.policy)?;
    d.set_item("policy_hash", &v.policy_hash)?;
    Ok(d)
}

#[pymethods]
impl Mux {
    /// Connects to the mux socket at `path` and reads its VP list, waiting at
    /// most `timeout` seconds for it.
    #[staticmethod]
    #[pyo3(signature = (path, timeout=10.0))]
    fn connect(py: Python<'_>, path: &str, timeout: f64) -> PyResult<Self> {
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(PyValueError::new_err("timeout must be a positive number"));
        }
        let t = Duration::from_secs_f64(timeout.min(1e6));
        let client = py
            .detach(|| MuxClient::connect_timeout(path, t))
            .map_err(runtime_err)?;
        Ok(Self { client })
    }

    /// The VPs connected now, as dicts of their metadata (`id`, `name`,
    /// `ipv4`, `asn4`, `latlong`, `cc`, `tags`, `policy`, `policy_hash`, ...).
    fn vps<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.client.vps().iter().map(|v| vp_dict(py, v)).collect()
    }

    /// Opens a channel to VP `vp_id`; its events wake `hub`.
    fn open(&self, vp_id: u32, hub: &Bound<'_, Hub>) -> PyResult<Chan> {
        let channel = self.client.open(VpId(vp_id)).map_err(runtime_err)?;
        Ok(Chan::new(channel, hub.get()))
    }

    /// Whether the connection to the controller is up.
    fn is_connected(&self) -> bool {
        self.client.is_connected()
    }

    /// Closes the connection: every channel opened through it ends.
    fn close(&self) {
        self.client.close();
    }
}

/// One channel to a probe (through a mux, or a probe's control socket).
#[pyclass(name = "_Chan", module = "vantage._native", frozen)]
pub struct Chan {
    channel: Channel,
    events: Mutex<Option<EventStream>>,
    waker: Waker,
}

impl Chan {
    fn new(channel: Channel, hub: &Hub) -> Self {
        let events = channel.events();
        Self {
            channel,
            events: Mutex::new(Some(events)),
            waker: hub.waker.clone(),
        }
    }
}

fn end_kind(e: &ChannelEnd) -> &'static str {
    match e {
        ChannelEnd::Finished => "finished",
        ChannelEnd::ClosedByPeer => "closed_by_peer",
        ChannelEnd::VpDeparted => "vp_departed",
        ChannelEnd::ConnectionLost(_) => "connection_lost",
        ChannelEnd::Protocol(_) => "protocol",
        ChannelEnd::ClosedByClient => "closed_by_client",
    }
}

fn task_num(t: Option<TaskId>) -> Option<u32> {
    t.map(|t| t.0.get())
}

#[pymethods]
impl Chan {
    /// Connects to a probe's unix control socket and attaches.
    #[staticmethod]
    fn unix(py: Python<'_>, path: &str, hub: &Bound<'_, Hub>) -> PyResult<Self> {
        let c = py
            .detach(|| ControlClient::connect_unix(path))
            .map_err(runtime_err)?;
        Ok(Self::new(c.into_channel(), hub.get()))
    }

    /// Connects to a per-VP socket of `sc_remoted -U dir`, whose peer is
    /// already attached (no `attach` line).
    #[staticmethod]
    fn remote(py: Python<'_>, path: &str, hub: &Bound<'_, Hub>) -> PyResult<Self> {
        let c = py
            .detach(|| ControlClient::connect_unix_attached(path))
            .map_err(runtime_err)?;
        Ok(Self::new(c.into_channel(), hub.get()))
    }

    /// Connects to a probe's TCP control port and attaches.
    #[staticmethod]
    fn tcp(py: Python<'_>, addr: &str, port: u16, hub: &Bound<'_, Hub>) -> PyResult<Self> {
        let ip: std::net::IpAddr = addr
            .parse()
            .map_err(|_| PyValueError::new_err(format!("invalid address {addr:?}")))?;
        let sa = std::net::SocketAddr::new(ip, port);
        let c = py
            .detach(|| ControlClient::connect_tcp(sa))
            .map_err(runtime_err)?;
        Ok(Self::new(c.into_channel(), hub.get()))
    }

    /// Sends a measurement command without waiting; returns its ticket.
    fn submit(&self, command: &str) -> PyResult<u64> {
        self.channel
            .submit(command)
            .map(|t| t.0)
            .map_err(runtime_err)
    }

    /// Asks the probe to halt task `task` (in the background: its answer is
    /// not awaited; the task's result still arrives as usual).
    fn halt(&self, task: u32) -> PyResult<()> {
        let Some(id) = std::num::NonZeroU32::new(task).map(TaskId) else {
            return Err(PyValueError::new_err("task id 0"));
        };
        let channel = self.channel.clone();
        std::thread::Builder::new()
            .name("vantage-python halt".to_owned())
            .spawn(move || {
                let _ = channel.halt(id);
            })
            .map(|_| ())
            .map_err(runtime_err)
    }

    /// Sends `done`: no more commands on this channel.
    fn done(&self) -> PyResult<()> {
        self.channel.done().map_err(runtime_err)
    }

    /// Commands sent whose task has not ended.
    fn pending(&self) -> usize {
        self.channel.pending()
    }

    /// Every event waiting on the channel, without blocking, as tuples:
    /// `("more",)`, `("accepted", ticket, task)`, `("meta", obj)`,
    /// `("result", ticket, task, obj, inprog)` (`obj` an exception when the
    /// record cannot be converted), `("failed", ticket, task, kind, end,
    /// message)` (`kind` `rejected|ended|undecodable`, `end` the channel end
    /// kind or `None`), `("ended", end, message)`. Result objects get `inst`.
    /// After the last event the hub is woken by the next one.
    #[pyo3(signature = (inst, limit=4096))]
    fn events<'py>(
        &self,
        py: Python<'py>,
        inst: &Bound<'py, PyAny>,
        limit: usize,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let mut out = Vec::new();
        let mut raw = Vec::new();
        {
            let mut g = self.events.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(stream) = g.as_mut() else {
                return Ok(out);
            };
            let mut cx = Context::from_waker(&self.waker);
            while raw.len() < limit {
                match Pin::new(&mut *stream).poll_next(&mut cx) {
                    Poll::Ready(Some(ev)) => raw.push(ev),
                    Poll::Ready(None) => {
                        *g = None;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
            if raw.len() >= limit {
                // More may be waiting: make sure the caller comes back.
                self.waker.wake_by_ref();
            }
        }
        for ev in raw {
            let t = match ev {
                Event::More => ("more",).into_pyobject(py)?,
                Event::Accepted { ticket, task } => {
                    ("accepted", ticket.0, task.0.get()).into_pyobject(py)?
                }
                Event::Meta(rec) => {
                    let obj = to_py(py, Rec::from(rec), None)?;
                    ("meta", obj).into_pyobject(py)?
                }
                Event::Outcome(Outcome::Result(r)) => {
                    let obj = match to_py(py, Rec::from(r.record), Some(inst.clone().unbind())) {
                        Ok(o) => o,
                        Err(e) => e.into_value(py).into_any(),
                    };
                    (
                        "result",
                        r.ticket.map(|t| t.0),
                        task_num(r.task),
                        obj,
                        r.inprog,
                    )
                        .into_pyobject(py)?
                }
                Event::Outcome(Outcome::Failed(f)) => {
                    let (kind, end) = match &f.error {
                        TaskError::Rejected(_) => ("rejected", None),
                        TaskError::Ended(e) => ("ended", Some(end_kind(e))),
                        TaskError::Undecodable(_) => ("undecodable", None),
                    };
                    let msg = match &f.error {
                        TaskError::Rejected(t) => t.clone(),
                        other => other.to_string(),
                    };
                    ("failed", f.ticket.0, task_num(f.task), kind, end, msg).into_pyobject(py)?
                }
                Event::Ended(e) => ("ended", end_kind(&e), e.to_string()).into_pyobject(py)?,
            };
            out.push(t);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> Arc<HubInner> {
        let (tx, rx) = UnixStream::pair().unwrap();
        tx.set_nonblocking(true).unwrap();
        rx.set_nonblocking(true).unwrap();
        Arc::new(HubInner {
            flag: Mutex::new(false),
            cond: Condvar::new(),
            tx,
            rx,
            pipe_full: AtomicBool::new(false),
        })
    }

    fn pending_bytes(h: &HubInner) -> usize {
        let mut buf = [0u8; 16];
        let mut n = 0;
        while let Ok(k) = (&h.rx).read(&mut buf) {
            if k == 0 {
                break;
            }
            n += k;
        }
        n
    }

    #[test]
    fn a_wake_is_seen_once_by_the_waiter() {
        let h = hub();
        Waker::from(Arc::clone(&h)).wake_by_ref();
        assert!(h.wait_until(Instant::now() + Duration::from_secs(10)));
        // The flag was consumed: the next wait runs out.
        assert!(!h.wait_until(Instant::now()));
    }

    #[test]
    fn a_wake_from_another_thread_ends_a_wait() {
        let h = hub();
        let w = Waker::from(Arc::clone(&h));
        let t = std::thread::spawn(move || w.wake());
        assert!(h.wait_until(Instant::now() + Duration::from_secs(60)));
        t.join().unwrap();
    }

    #[test]
    fn the_socket_gets_one_byte_per_drain() {
        let h = hub();
        let w = Waker::from(Arc::clone(&h));
        w.wake_by_ref();
        w.wake_by_ref();
        w.wake_by_ref();
        h.drain();
        assert_eq!(pending_bytes(&h), 0);
        // After a drain the next wake writes again, once.
        w.wake_by_ref();
        w.wake_by_ref();
        assert_eq!(pending_bytes(&h), 1);
        // Nothing was drained (only read by the test): no more bytes until drain.
        w.wake_by_ref();
        assert_eq!(pending_bytes(&h), 0);
        h.drain();
        w.wake_by_ref();
        assert_eq!(pending_bytes(&h), 1);
    }
}
