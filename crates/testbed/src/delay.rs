//! The user-space delay engine: holds the packets of one NFQUEUE queue for a fixed time,
//! then lets them go, in arrival order.
//!
//! The kernel here has no `netem` qdisc, so a delayed link direction is an `iptables`
//! rule `-t mangle -A POSTROUTING -o IFACE -j NFQUEUE --queue-num N --queue-bypass` in the
//! sending node's namespace plus one [`DelayQueue`] bound to queue `N` in that namespace.
//! The engine asks the kernel for metadata only (no packet bytes are copied), remembers
//! each packet's id and arrival time, and when a packet's time has come sends one batch
//! verdict that accepts it and every earlier packet. Because the delay is constant and
//! the kernel queue is FIFO, nothing is ever reordered (within a flow or across flows),
//! and a notification lost to a full socket buffer cannot strand its packet: the next
//! batch verdict releases it.
//!
//! Two ways to run it: [`DelayEngine::start`] runs a queue on its own thread and stops it
//! on drop (what [`crate::Topology`] does); [`run`] blocks the calling thread until a
//! [`StopSignal`] fires (what a long-running `vantage testbed` process can call).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send,
    setsockopt, socket, sockopt,
};
use nix::sys::time::TimeSpec;

use crate::netns;
use crate::nfqueue::{
    self, ConfigCommand, CopyMode, Header, Message, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_GSO,
    NLM_F_ACK, NLM_F_REQUEST, Verdict,
};

/// Default number of packets the kernel holds per queue before dropping new ones.
pub const DEFAULT_MAX_QUEUE_LEN: u32 = 16_384;

/// Socket receive buffer asked for (with `SO_RCVBUFFORCE`, as root).
const RCVBUF_BYTES: usize = 8 << 20;

/// How long to wait for the kernel to acknowledge a configuration request.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the delay engine could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DelayError {
    /// Entering the namespace failed.
    #[error("delay engine: {0}")]
    Netns(#[from] netns::NetnsError),
    /// A netlink socket call failed.
    #[error("delay engine: {call} on the NFQUEUE netlink socket failed: {errno}")]
    Socket {
        /// The failing call.
        call: &'static str,
        /// The error.
        errno: Errno,
    },
    /// The kernel refused a queue configuration request.
    #[error(
        "delay engine: the kernel refused to {what} NFQUEUE queue {queue}: {errno} \
         (EBUSY: another process holds the queue; EPERM: needs CAP_NET_ADMIN)"
    )]
    Refused {
        /// What was asked.
        what: &'static str,
        /// The queue number.
        queue: u16,
        /// The kernel's answer.
        errno: Errno,
    },
    /// No acknowledgement arrived in time.
    #[error("delay engine: the kernel did not acknowledge the NFQUEUE configuration of queue {0}")]
    NoAck(u16),
    /// The kernel sent bytes we could not decode.
    #[error("delay engine: undecodable NFQUEUE message: {0}")]
    Decode(#[from] nfqueue::DecodeError),
    /// The stop channel could not be created or read.
    #[error("delay engine: stop channel: {0}")]
    Stop(#[from] std::io::Error),
    /// The engine thread could not be started.
    #[error("delay engine: cannot start its thread: {0}")]
    Thread(std::io::Error),
    /// The engine thread panicked.
    #[error("delay engine thread for queue {0} panicked")]
    Panicked(u16),
}

/// What to delay and by how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelayConfig {
    /// Name of the namespace (under `/run/netns`) whose queue to serve; `None` for the
    /// namespace of the calling thread.
    pub netns: Option<String>,
    /// NFQUEUE queue number (per namespace).
    pub queue: u16,
    /// How long each packet is held.
    pub delay: Duration,
    /// How many packets the kernel may hold at once; more are dropped, like a full buffer.
    pub max_queue_len: u32,
}

impl DelayConfig {
    /// A configuration for `queue` in namespace `netns` with the default queue length.
    pub fn new(netns: Option<String>, queue: u16, delay: Duration) -> Self {
        Self {
            netns,
            queue,
            delay,
            max_queue_len: DEFAULT_MAX_QUEUE_LEN,
        }
    }
}

/// Counters of one engine run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DelayStats {
    /// Packets announced by the kernel and released.
    pub packets: u64,
    /// Batch verdicts sent.
    pub verdicts: u64,
    /// The most packets held at once.
    pub max_held: usize,
    /// Times the socket buffer overflowed (notifications lost; their packets were
    /// released by the next batch verdict).
    pub overruns: u64,
}

/// The sending half of a stop channel: [`Stopper::stop`] or dropping it ends the run.
#[derive(Debug)]
pub struct Stopper(UnixStream);

/// The receiving half of a stop channel, given to [`run`] or [`DelayQueue::serve`].
#[derive(Debug)]
pub struct StopSignal(UnixStream);

impl Stopper {
    /// Asks the engine to stop (it releases what it holds first).
    pub fn stop(&mut self) {
        // An error means the engine is gone already; nothing to do.
        let _ = self.0.write_all(&[1]);
    }
}

impl StopSignal {
    fn fired(&self) -> bool {
        let mut byte = [0u8; 1];
        // Non-blocking: data or EOF both mean stop; WouldBlock means keep going.
        match (&self.0).read_exact(&mut byte) {
            Ok(()) => true,
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
        }
    }
}

/// A new stop channel.
pub fn stop_channel() -> Result<(Stopper, StopSignal), DelayError> {
    let (a, b) = UnixStream::pair()?;
    b.set_nonblocking(true)?;
    Ok((Stopper(a), StopSignal(b)))
}

/// An NFQUEUE queue bound in its namespace and configured, ready to [`DelayQueue::serve`].
#[derive(Debug)]
pub struct DelayQueue {
    fd: OwnedFd,
    config: DelayConfig,
    seq: u32,
    buf: Vec<u8>,
}

impl DelayQueue {
    /// Enters `config.netns` (on the calling thread, which stays there), opens the netlink
    /// socket and binds and configures the queue. Packets that hit the queue's rule from
    /// now on wait for [`DelayQueue::serve`].
    pub fn open(config: DelayConfig) -> Result<Self, DelayError> {
        if let Some(name) = &config.netns {
            netns::enter(name)?;
        }
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkNetFilter,
        )
        .map_err(|errno| DelayError::Socket {
            call: "socket",
            errno,
        })?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(|errno| DelayError::Socket {
            call: "bind",
            errno,
        })?;
        // Best effort: a bigger buffer only makes overruns rarer.
        if setsockopt(&fd, sockopt::RcvBufForce, &RCVBUF_BYTES).is_err() {
            let _ = setsockopt(&fd, sockopt::RcvBuf, &RCVBUF_BYTES);
        }
        let mut queue = Self {
            fd,
            config,
            seq: 0,
            buf: vec![0; 1 << 16],
        };
        let q = queue.config.queue;
        queue.request(
            "bind",
            &Message::Config {
                queue: q,
                command: Some(ConfigCommand::Bind),
                params: None,
                max_len: None,
                flags: None,
            },
        )?;
        queue.request(
            "configure",
            &Message::Config {
                queue: q,
                command: None,
                params: Some((CopyMode::Meta, 0)),
                max_len: Some(queue.config.max_queue_len),
                flags: Some((NFQA_CFG_F_GSO, NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN)),
            },
        )?;
        Ok(queue)
    }

    /// The configuration this queue was opened with.
    pub fn config(&self) -> &DelayConfig {
        &self.config
    }

    fn send_msg(&mut self, msg: &Message, flags: u16) -> Result<u32, DelayError> {
        self.seq = self.seq.wrapping_add(1);
        let mut out = Vec::with_capacity(64);
        nfqueue::emit(
            msg,
            Header {
                flags,
                seq: self.seq,
                pid: 0,
            },
            &mut out,
        );
        loop {
            match send(self.fd.as_raw_fd(), &out, MsgFlags::empty()) {
                Ok(_) => return Ok(self.seq),
                Err(Errno::EINTR) => {}
                Err(errno) => {
                    return Err(DelayError::Socket {
                        call: "send",
                        errno,
                    });
                }
            }
        }
    }

    /// Sends a request and waits for its acknowledgement, holding any packet
    /// notifications that arrive meanwhile (none should: the rule is installed later).
    fn request(&mut self, what: &'static str, msg: &Message) -> Result<(), DelayError> {
        let seq = self.send_msg(msg, NLM_F_REQUEST | NLM_F_ACK)?;
        let deadline = Instant::now() + ACK_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(DelayError::NoAck(self.config.queue));
            }
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            match ppoll(&mut fds, Some(TimeSpec::from(left)), None) {
                Ok(0) | Err(Errno::EINTR) => continue,
                Ok(_) => {}
                Err(errno) => {
                    return Err(DelayError::Socket {
                        call: "poll",
                        errno,
                    });
                }
            }
            let n = match recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::MSG_DONTWAIT) {
                Ok(n) => n,
                Err(Errno::EAGAIN | Errno::EINTR) => continue,
                Err(errno) => {
                    return Err(DelayError::Socket {
                        call: "recv",
                        errno,
                    });
                }
            };
            for item in nfqueue::parse(&self.buf[..n]) {
                if let (_, Message::Error { errno, request_seq }) = item? {
                    if request_seq != seq {
                        continue;
                    }
                    if errno == 0 {
                        return Ok(());
                    }
                    return Err(DelayError::Refused {
                        what,
                        queue: self.config.queue,
                        errno: Errno::from_raw(-errno),
                    });
                }
            }
        }
    }

    /// Holds and releases packets until `stop` fires; then releases everything still held
    /// and returns the run's counters.
    pub fn serve(&mut self, stop: &StopSignal) -> Result<DelayStats, DelayError> {
        let mut held: VecDeque<(u32, Instant)> = VecDeque::new();
        let mut stats = DelayStats::default();
        let mut last_seen: Option<u32> = None;
        let delay = self.config.delay;
        let queue = self.config.queue;
        loop {
            let timeout = held
                .front()
                .map(|&(_, due)| TimeSpec::from(due.saturating_duration_since(Instant::now())));
            let (net_ready, stop_ready) = {
                let mut fds = [
                    PollFd::new(self.fd.as_fd(), PollFlags::POLLIN),
                    PollFd::new(stop.0.as_fd(), PollFlags::POLLIN),
                ];
                match ppoll(&mut fds, timeout, None) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(errno) => {
                        return Err(DelayError::Socket {
                            call: "poll",
                            errno,
                        });
                    }
                }
                let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
                (ready(&fds[0]), ready(&fds[1]))
            };
            if stop_ready && stop.fired() {
                break;
            }
            if net_ready {
                self.drain(&mut held, &mut stats, &mut last_seen, delay)?;
            }
            let now = Instant::now();
            let mut release = None;
            while let Some(&(id, due)) = held.front() {
                if due > now {
                    break;
                }
                release = Some(id);
                held.pop_front();
            }
            if let Some(id) = release {
                self.verdict_upto(queue, id)?;
                stats.verdicts += 1;
            }
        }
        if let Some(id) = last_seen {
            self.verdict_upto(queue, id)?;
            stats.verdicts += 1;
        }
        Ok(stats)
    }

    /// Reads every pending notification without blocking.
    fn drain(
        &mut self,
        held: &mut VecDeque<(u32, Instant)>,
        stats: &mut DelayStats,
        last_seen: &mut Option<u32>,
        delay: Duration,
    ) -> Result<(), DelayError> {
        loop {
            let n = match recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::MSG_DONTWAIT) {
                Ok(n) => n,
                Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::EINTR) => continue,
                Err(Errno::ENOBUFS) => {
                    stats.overruns += 1;
                    continue;
                }
                Err(errno) => {
                    return Err(DelayError::Socket {
                        call: "recv",
                        errno,
                    });
                }
            };
            let now = Instant::now();
            for item in nfqueue::parse(&self.buf[..n]) {
                if let (_, Message::Packet(p)) = item? {
                    held.push_back((p.id, now + delay));
                    *last_seen = Some(p.id);
                    stats.packets += 1;
                }
            }
            stats.max_held = stats.max_held.max(held.len());
        }
    }

    fn verdict_upto(&mut self, queue: u16, id: u32) -> Result<(), DelayError> {
        self.send_msg(
            &Message::Verdict {
                queue,
                id,
                verdict: Verdict::Accept,
                batch: true,
            },
            NLM_F_REQUEST,
        )
        .map(|_| ())
    }
}

/// Opens the queue of `config` and serves it on the calling thread until `stop` fires.
/// The calling thread joins `config.netns` (if set) and stays there.
pub fn run(config: DelayConfig, stop: &StopSignal) -> Result<DelayStats, DelayError> {
    DelayQueue::open(config)?.serve(stop)
}

/// A delay queue served on its own thread; stopped and joined on drop.
#[derive(Debug)]
pub struct DelayEngine {
    queue: u16,
    stopper: Option<Stopper>,
    thread: Option<JoinHandle<Result<DelayStats, DelayError>>>,
}

impl DelayEngine {
    /// Starts a thread that opens the queue (see [`DelayQueue::open`]) and serves it.
    /// Returns once the queue is bound, or with the reason it could not be.
    pub fn start(config: DelayConfig) -> Result<Self, DelayError> {
        let queue = config.queue;
        let (stopper, signal) = stop_channel()?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let name = format!("delay-q{queue}");
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let mut dq = match DelayQueue::open(config) {
                    Ok(dq) => {
                        let _ = ready_tx.send(Ok(()));
                        dq
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return Ok(DelayStats::default());
                    }
                };
                dq.serve(&signal)
            })
            .map_err(DelayError::Thread)?;
        let mut engine = Self {
            queue,
            stopper: Some(stopper),
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(engine),
            Ok(Err(e)) => {
                let _ = engine.finish();
                Err(e)
            }
            Err(_) => Err(engine.finish().err().unwrap_or(DelayError::Panicked(queue))),
        }
    }

    /// Stops the engine, releasing held packets, and returns its counters.
    pub fn stop(mut self) -> Result<DelayStats, DelayError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<DelayStats, DelayError> {
        if let Some(mut stopper) = self.stopper.take() {
            stopper.stop();
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| DelayError::Panicked(self.queue))?,
            None => Ok(DelayStats::default()),
        }
    }
}

impl Drop for DelayEngine {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            eprintln!("vantage-testbed: {e}");
        }
    }
}
