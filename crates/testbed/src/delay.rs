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
use std::time::{Duration, Instant};

use crate::nfqueue::{
    CopyMode, Message, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_GSO, NLM_F_REQUEST, Verdict,
};
pub use crate::queue::{EngineError, StopSignal, Stopper, stop_channel};
use crate::queue::{EngineThread, QueueSocket, Recv};

/// Why the delay engine could not start or stopped with an error (the error of every
/// NFQUEUE engine).
pub type DelayError = EngineError;

/// Default number of packets the kernel holds per queue before dropping new ones.
pub const DEFAULT_MAX_QUEUE_LEN: u32 = 16_384;

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

/// An NFQUEUE queue bound in its namespace and configured, ready to [`DelayQueue::serve`].
#[derive(Debug)]
pub struct DelayQueue {
    sock: QueueSocket,
    config: DelayConfig,
}

impl DelayQueue {
    /// Enters `config.netns` (on the calling thread, which stays there), opens the netlink
    /// socket and binds and configures the queue. Packets that hit the queue's rule from
    /// now on wait for [`DelayQueue::serve`].
    pub fn open(config: DelayConfig) -> Result<Self, DelayError> {
        let sock = QueueSocket::open(
            config.netns.as_deref(),
            config.queue,
            (CopyMode::Meta, 0),
            config.max_queue_len,
            (NFQA_CFG_F_GSO, NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN),
        )?;
        Ok(Self { sock, config })
    }

    /// The configuration this queue was opened with.
    pub fn config(&self) -> &DelayConfig {
        &self.config
    }

    /// Holds and releases packets until `stop` fires; then releases everything still held
    /// and returns the run's counters.
    pub fn serve(&mut self, stop: &StopSignal) -> Result<DelayStats, DelayError> {
        let mut held: VecDeque<(u32, Instant)> = VecDeque::new();
        let mut stats = DelayStats::default();
        let mut last_seen: Option<u32> = None;
        let delay = self.config.delay;
        loop {
            let timeout = held
                .front()
                .map(|&(_, due)| due.saturating_duration_since(Instant::now()));
            let ready = self.sock.wait(stop, timeout)?;
            if ready.stop && stop.fired() {
                break;
            }
            if ready.net {
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
                self.verdict_upto(id)?;
                stats.verdicts += 1;
            }
        }
        if let Some(id) = last_seen {
            self.verdict_upto(id)?;
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
            let n = match self.sock.recv()? {
                Recv::Data(n) => n,
                Recv::Empty => return Ok(()),
                Recv::Overrun => {
                    stats.overruns += 1;
                    continue;
                }
            };
            let now = Instant::now();
            for item in crate::nfqueue::parse(&self.sock.buf[..n]) {
                if let (_, Message::Packet(p)) = item? {
                    held.push_back((p.id, now + delay));
                    *last_seen = Some(p.id);
                    stats.packets += 1;
                }
            }
            stats.max_held = stats.max_held.max(held.len());
        }
    }

    fn verdict_upto(&mut self, id: u32) -> Result<(), DelayError> {
        let queue = self.sock.queue();
        self.sock
            .send(
                &Message::Verdict {
                    queue,
                    id,
                    verdict: Verdict::Accept,
                    batch: true,
                    payload: None,
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
pub struct DelayEngine(EngineThread<DelayStats>);

impl DelayEngine {
    /// Starts a thread that opens the queue (see [`DelayQueue::open`]) and serves it.
    /// Returns once the queue is bound, or with the reason it could not be.
    pub fn start(config: DelayConfig) -> Result<Self, DelayError> {
        let queue = config.queue;
        EngineThread::start(
            format!("delay-q{queue}"),
            queue,
            move || DelayQueue::open(config),
            |q: &mut DelayQueue, stop| q.serve(stop),
        )
        .map(Self)
    }

    /// Stops the engine, releasing held packets, and returns its counters.
    pub fn stop(self) -> Result<DelayStats, DelayError> {
        self.0.stop()
    }
}
