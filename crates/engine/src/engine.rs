//! The engine: every task of one vantage point, one pacer, one demultiplexer.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Instant, SystemTime};

use vantage_command::{Command, PingSpec, TraceSpec, TracelbSpec};

use crate::demux::{FlowKey, FlowTable, IdPool};
use crate::error::{ConfigError, SendError, StartError};
use crate::pacer::Pacer;
use crate::packet::{QuotedL4, Rx, RxKind, proto};
use crate::ping::PingTask;
use crate::rng::Rng;
use crate::task::{Ctx, Machine};
use crate::timer::{SlotRef, TimerQueue, TimerState};
use crate::trace::TraceTask;
use crate::tracelb::TracelbTask;

/// The caller's name for a task. Unique among running tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A measurement the engine can run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MeasurementSpec {
    /// A ping.
    Ping(PingSpec),
    /// A traceroute.
    Trace(TraceSpec),
    /// An MDA traceroute (every load-balanced path).
    Tracelb(TracelbSpec),
}

impl MeasurementSpec {
    /// The destination of the measurement.
    pub fn dst(&self) -> IpAddr {
        match self {
            Self::Ping(p) => p.dst,
            Self::Trace(t) => t.dst,
            Self::Tracelb(t) => t.dst,
        }
    }
}

impl From<PingSpec> for MeasurementSpec {
    fn from(s: PingSpec) -> Self {
        Self::Ping(s)
    }
}

impl From<TraceSpec> for MeasurementSpec {
    fn from(s: TraceSpec) -> Self {
        Self::Trace(s)
    }
}

impl From<TracelbSpec> for MeasurementSpec {
    fn from(s: TracelbSpec) -> Self {
        Self::Tracelb(s)
    }
}

impl TryFrom<Command> for MeasurementSpec {
    type Error = StartError;

    /// Ping, trace and tracelb commands; others are not measured by this engine.
    fn try_from(c: Command) -> Result<Self, StartError> {
        match c {
            Command::Ping(p) => Ok(Self::Ping(p)),
            Command::Trace(t) => Ok(Self::Trace(t)),
            Command::Tracelb(t) => Ok(Self::Tracelb(t)),
            _ => Err(StartError::Unsupported("this kind of measurement")),
        }
    }
}

/// A finished measurement's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Measurement {
    /// A ping result.
    Ping(vantage_model::Ping),
    /// A traceroute result.
    Trace(vantage_model::Trace),
    /// An MDA traceroute result.
    Tracelb(vantage_model::Tracelb),
}

/// Something the engine reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A task ended (completed, failed, or halted) with its result.
    Finished {
        /// Which task.
        task: TaskId,
        /// What it measured.
        result: Measurement,
    },
    /// A running task's result so far (stop reason "inprogress"), emitted
    /// after every N replies when the measurement asked for it (`-y N`).
    Progress {
        /// Which task.
        task: TaskId,
        /// What it has measured so far.
        result: Measurement,
    },
}

/// Engine settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Packets per second for all tasks together (default 100).
    pub rate: u32,
    /// Largest burst after an idle period; 0 picks 10 ms worth of packets.
    pub burst: u32,
    /// Seed for identifier pools and TCP sequence numbers. Give each engine
    /// instance a different one (e.g. from the OS) in production; tests fix it.
    pub seed: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            rate: 100,
            burst: 0,
            seed: 0x5eed_0f7a_1700,
        }
    }
}

/// Identifies one probe sent: the task's slot and the probe within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProbeRef {
    slot: SlotRef,
    probe: u32,
}

/// A packet to send. Its bytes (a complete IPv4 or IPv6 packet, header
/// included) are in the buffer passed to [`Engine::poll_transmit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The destination address (also inside the packet).
    pub dst: IpAddr,
    /// Which probe this is; report the send's outcome with [`Engine::on_sent`].
    pub probe: ProbeRef,
}

/// What became of a received packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    /// It answered a probe of a running task.
    Matched,
    /// It was well-formed but answers none of our probes.
    Unmatched,
    /// It could not be parsed.
    Malformed(vantage_wire::Error),
}

/// Counters, for monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Tasks running now.
    pub tasks: usize,
    /// Flow keys owned by running tasks.
    pub flows: usize,
    /// Probes handed out by [`Engine::poll_transmit`].
    pub probes_sent: u64,
    /// Received packets matched to a probe.
    pub matched: u64,
    /// Received packets that matched nothing.
    pub unmatched: u64,
    /// Received packets that could not be parsed.
    pub malformed: u64,
}

struct Slot {
    generation: u32,
    task: Option<(TaskId, Box<dyn Machine>)>,
    timer: TimerState,
    queued: bool,
}

/// All measurements of one vantage point, as a sans-IO state machine.
///
/// Drive it like a quinn-proto connection: after any input
/// ([`start`](Self::start), [`handle_packet`](Self::handle_packet),
/// [`handle_timeout`](Self::handle_timeout), [`on_sent`](Self::on_sent),
/// [`cancel`](Self::cancel)) drain [`poll_transmit`](Self::poll_transmit)
/// and [`poll_event`](Self::poll_event), then sleep until
/// [`poll_timeout`](Self::poll_timeout) or the next packet.
pub struct Engine {
    pacer: Pacer,
    slots: Vec<Slot>,
    free: Vec<u32>,
    ids: HashMap<TaskId, u32>,
    timers: TimerQueue,
    ready: VecDeque<SlotRef>,
    flows: FlowTable,
    pool: IdPool,
    rng: Rng,
    ipid: u16,
    events: VecDeque<Event>,
    stats: EngineStats,
    last_now: Option<Instant>,
    due_scratch: Vec<SlotRef>,
    scratch: Vec<u8>,
    socket_rx_timestamps: bool,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("pacer", &self.pacer)
            .field("tasks", &self.ids.len())
            .field("ready", &self.ready.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with no tasks.
    ///
    /// # Errors
    /// When the rate or burst is out of range.
    pub fn new(config: EngineConfig) -> Result<Self, ConfigError> {
        let burst = if config.burst == 0 {
            Pacer::default_burst(config.rate)
        } else {
            config.burst
        };
        let pacer = Pacer::new(config.rate, burst)?;
        let mut rng = Rng::new(config.seed);
        let pool = IdPool::new(rng.next_u64());
        let ipid = (rng.next_u32() & 0xffff) as u16;
        Ok(Self {
            pacer,
            slots: Vec::new(),
            free: Vec::new(),
            ids: HashMap::new(),
            timers: TimerQueue::default(),
            ready: VecDeque::new(),
            flows: FlowTable::default(),
            pool,
            rng,
            ipid,
            events: VecDeque::new(),
            stats: EngineStats::default(),
            last_now: None,
            due_scratch: Vec::new(),
            scratch: Vec::new(),
            socket_rx_timestamps: false,
        })
    }

    /// Changes the shared packet rate (burst 0 = 10 ms worth).
    ///
    /// # Errors
    /// When the rate or burst is out of range.
    pub fn set_rate(&mut self, rate: u32, burst: u32) -> Result<(), ConfigError> {
        let burst = if burst == 0 {
            Pacer::default_burst(rate)
        } else {
            burst
        };
        self.pacer.set_rate(rate, burst)
    }

    /// Says whether the receive times passed to
    /// [`handle_packet`](Self::handle_packet) are kernel socket timestamps
    /// (`SO_TIMESTAMP`); traceroute replies then carry scamper's `sockrxts`
    /// flag.
    pub fn set_socket_rx_timestamps(&mut self, on: bool) {
        self.socket_rx_timestamps = on;
    }

    /// The pacer's rate in packets per second.
    pub fn rate(&self) -> u32 {
        self.pacer.rate()
    }

    /// Takes one packet's worth of the pacer's budget for a packet the caller sends
    /// outside the engine (an application-layer datagram or connection attempt), so that
    /// those and the engine's probes share one budget. `false` when the pacer has no
    /// token at `now` (see [`token_ready_at`](Self::token_ready_at)).
    pub fn take_token(&mut self, now: Instant) -> bool {
        self.last_now = Some(now);
        self.pacer.try_acquire(now)
    }

    /// The earliest instant at which [`take_token`](Self::take_token) (or a probe) gets a
    /// token: `now` itself when one is available.
    pub fn token_ready_at(&mut self, now: Instant) -> Instant {
        self.pacer.next_ready(now)
    }

    /// Counters.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            tasks: self.ids.len(),
            flows: self.flows.len(),
            ..self.stats
        }
    }

    /// Whether no task is running and no event waits to be polled.
    pub fn is_idle(&self) -> bool {
        self.ids.is_empty() && self.events.is_empty()
    }

    /// Whether task `task` is running.
    pub fn is_running(&self, task: TaskId) -> bool {
        self.ids.contains_key(&task)
    }

    /// Starts a measurement. `src` is the source address the probes carry
    /// (the I/O shell picks it: the spec's `-S` if given, else the route's);
    /// `now`/`wall` are the monotonic and wall-clock times of the start.
    ///
    /// # Errors
    /// A duplicate task id, a source of the wrong family, or options this
    /// engine cannot honour.
    pub fn start(
        &mut self,
        task: TaskId,
        spec: impl Into<MeasurementSpec>,
        src: IpAddr,
        now: Instant,
        wall: SystemTime,
    ) -> Result<(), StartError> {
        self.last_now = Some(now);
        if self.ids.contains_key(&task) {
            return Err(StartError::DuplicateTask(task));
        }
        let spec = spec.into();
        let dst = spec.dst();
        if src.is_ipv4() != dst.is_ipv4() {
            return Err(StartError::FamilyMismatch { src, dst });
        }
        let machine: Box<dyn Machine> = match spec {
            MeasurementSpec::Ping(p) => Box::new(PingTask::new(
                p,
                src,
                now,
                wall,
                &mut self.pool,
                &self.flows,
                &mut self.rng,
            )?),
            MeasurementSpec::Trace(t) => Box::new(TraceTask::new(
                t,
                src,
                now,
                wall,
                &mut self.pool,
                &self.flows,
                &mut self.rng,
            )?),
            MeasurementSpec::Tracelb(t) => Box::new(TracelbTask::new(
                t,
                src,
                now,
                wall,
                &mut self.pool,
                &self.flows,
                &mut self.rng,
            )?),
        };
        let index = if let Some(i) = self.free.pop() {
            i
        } else {
            let i = u32::try_from(self.slots.len())
                .map_err(|_| StartError::Unsupported("more than 4 billion tasks"))?;
            self.slots.push(Slot {
                generation: 0,
                task: None,
                timer: TimerState::default(),
                queued: false,
            });
            i
        };
        let slot = &mut self.slots[index as usize];
        slot.task = Some((task, machine));
        slot.queued = false;
        self.ids.insert(task, index);
        let r = SlotRef {
            index,
            generation: slot.generation,
        };
        self.refresh(r, now);
        Ok(())
    }

    /// Halts a running task: it ends now with what it has (stop reason
    /// "halted") and its result is queued as an event. Returns whether the
    /// task was running.
    pub fn cancel(&mut self, task: TaskId) -> bool {
        let Some(&index) = self.ids.get(&task) else {
            return false;
        };
        let slot = &mut self.slots[index as usize];
        if let Some((_, m)) = slot.task.as_mut() {
            m.halt();
        }
        let r = SlotRef {
            index,
            generation: slot.generation,
        };
        self.finish(r);
        true
    }

    fn live(&self, r: SlotRef) -> bool {
        self.slots
            .get(r.index as usize)
            .is_some_and(|s| s.generation == r.generation && s.task.is_some())
    }

    /// Re-examines a task after something happened to it: ends it if it is
    /// done, re-arms its timer, queues it if a probe is due.
    fn refresh(&mut self, r: SlotRef, now: Instant) {
        if !self.live(r) {
            return;
        }
        let slot = &mut self.slots[r.index as usize];
        let Some((_, m)) = slot.task.as_ref() else {
            return;
        };
        if m.is_done() {
            self.finish(r);
            return;
        }
        let deadline = m.next_deadline(now);
        let due = m.wants_send(now);
        self.timers.set(r, &mut slot.timer, deadline);
        if due && !slot.queued {
            slot.queued = true;
            self.ready.push_back(r);
        }
    }

    fn finish(&mut self, r: SlotRef) {
        if !self.live(r) {
            return;
        }
        let slot = &mut self.slots[r.index as usize];
        let Some((id, m)) = slot.task.take() else {
            return;
        };
        self.timers.set(r, &mut slot.timer, None);
        slot.generation = slot.generation.wrapping_add(1);
        slot.queued = false;
        self.free.push(r.index);
        self.ids.remove(&id);
        if let Some(k) = m.claims().blocked() {
            self.flows.forget_waiter(&k, r);
        }
        let mut woken = Vec::new();
        for k in m.claims().owned() {
            if let Some(w) = self.flows.release(k, r) {
                woken.push((w, *k));
            }
        }
        let mut result = m.result();
        if self.socket_rx_timestamps
            && let Measurement::Trace(t) = &mut result
        {
            let ld = t.lastditch.iter_mut().flatten();
            for h in t.hops.iter_mut().chain(ld) {
                h.flags.set(vantage_model::TraceReplyFlags::SOCK_RX, true);
            }
        }
        self.events.push_back(Event::Finished { task: id, result });
        let now = self.last_now;
        for (w, k) in woken {
            if let Some((_, wm)) = self
                .slots
                .get_mut(w.index as usize)
                .and_then(|s| s.task.as_mut())
            {
                wm.claims_mut().grant(k);
            }
            if let Some(now) = now {
                self.refresh(w, now);
            }
        }
    }

    /// The next packet to send, written into `buf` (cleared first), if the
    /// pacer allows one at `now` and a task has a probe due.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        self.last_now = Some(now);
        let mut budget = self.ready.len();
        while budget > 0 {
            budget -= 1;
            if !self.pacer.ready(now) {
                return None;
            }
            let r = self.ready.pop_front()?;
            if !self.live(r) {
                continue;
            }
            let slot = &mut self.slots[r.index as usize];
            slot.queued = false;
            let Some((_, m)) = slot.task.as_mut() else {
                continue;
            };
            buf.clear();
            let mut ctx = Ctx {
                slot: r,
                flows: &mut self.flows,
                ipid: &mut self.ipid,
                scratch: &mut self.scratch,
            };
            let sent = m.poll_send(now, &mut ctx, buf);
            if let Some(meta) = sent {
                self.pacer.try_acquire(now);
                self.stats.probes_sent += 1;
                self.refresh(r, now);
                return Some(Transmit {
                    dst: meta.dst,
                    probe: ProbeRef {
                        slot: r,
                        probe: meta.probe,
                    },
                });
            }
            self.refresh(r, now);
        }
        None
    }

    /// Reports what became of a probe: the wall-clock transmit time, or the
    /// error the send failed with (the task then ends with an error).
    pub fn on_sent(&mut self, probe: ProbeRef, result: Result<SystemTime, SendError>) {
        if !self.live(probe.slot) {
            return;
        }
        if let Some((_, m)) = self.slots[probe.slot.index as usize].task.as_mut() {
            m.on_sent(probe.probe, result);
        }
        if let Some(now) = self.last_now {
            self.refresh(probe.slot, now);
        }
    }

    /// Lets time advance to `now`: handles every deadline that passed.
    ///
    /// Each task is handled at most once per call (its due timers are
    /// collected first), so a task can never keep this call busy.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = Some(now);
        let mut due = std::mem::take(&mut self.due_scratch);
        loop {
            let slots = &self.slots;
            let look = |s: SlotRef| {
                slots
                    .get(s.index as usize)
                    .filter(|sl| sl.generation == s.generation && sl.task.is_some())
                    .map(|sl| sl.timer)
            };
            let Some(r) = self.timers.pop_due(now, &look) else {
                break;
            };
            self.slots[r.index as usize].timer.fired();
            due.push(r);
        }
        for &r in &due {
            if !self.live(r) {
                continue;
            }
            if let Some((_, m)) = self.slots[r.index as usize].task.as_mut() {
                m.handle_timeout(now);
            }
            self.refresh(r, now);
        }
        due.clear();
        self.due_scratch = due;
    }

    /// When [`handle_timeout`](Self::handle_timeout) (or, when probes wait
    /// for the pacer, [`poll_transmit`](Self::poll_transmit)) should next be
    /// called.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let slots = &self.slots;
        let look = |s: SlotRef| {
            slots
                .get(s.index as usize)
                .filter(|sl| sl.generation == s.generation && sl.task.is_some())
                .map(|sl| sl.timer)
        };
        let t = self.timers.next(&look);
        if self.ready.is_empty() {
            return t;
        }
        let p = self.last_now.map(|n| self.pacer.next_ready(n));
        match (t, p) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next event (a finished task's result).
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// A received IPv4 or IPv6 packet, IP header included (what a raw IPv4
    /// socket or a packet socket delivers), received at wall-clock `rx_time`.
    pub fn handle_packet(&mut self, now: Instant, rx_time: SystemTime, bytes: &[u8]) -> Handled {
        self.last_now = Some(now);
        match crate::convert::parse_ip(bytes, rx_time) {
            Ok(Some(rx)) => self.dispatch(now, &rx),
            Ok(None) => {
                self.stats.unmatched += 1;
                Handled::Unmatched
            }
            Err(e) => {
                self.stats.malformed += 1;
                Handled::Malformed(e)
            }
        }
    }

    /// A received ICMPv6 message without its IPv6 header (what a Linux raw
    /// ICMPv6 socket delivers), with the header fields the socket reports.
    pub fn handle_icmpv6(
        &mut self,
        now: Instant,
        rx_time: SystemTime,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: Option<u8>,
        bytes: &[u8],
    ) -> Handled {
        self.last_now = Some(now);
        match crate::convert::parse_icmpv6(src, dst, hop_limit, bytes, rx_time) {
            Ok(Some(rx)) => self.dispatch(now, &rx),
            Ok(None) => {
                self.stats.unmatched += 1;
                Handled::Unmatched
            }
            Err(e) => {
                self.stats.malformed += 1;
                Handled::Malformed(e)
            }
        }
    }

    fn dispatch(&mut self, now: Instant, rx: &Rx<'_>) -> Handled {
        let Some(key) = flow_key(rx) else {
            self.stats.unmatched += 1;
            return Handled::Unmatched;
        };
        let Some(r) = self.flows.owner(&key) else {
            self.stats.unmatched += 1;
            return Handled::Unmatched;
        };
        if !self.live(r) {
            self.stats.unmatched += 1;
            return Handled::Unmatched;
        }
        let mut progress = None;
        let matched = self.slots[r.index as usize]
            .task
            .as_mut()
            .is_some_and(|(id, m)| {
                let matched = m.handle_reply(now, rx);
                if matched && m.progress_due() {
                    progress = Some(Event::Progress {
                        task: *id,
                        result: m.result(),
                    });
                }
                matched
            });
        if let Some(ev) = progress {
            self.events.push_back(ev);
        }
        self.refresh(r, now);
        if matched {
            self.stats.matched += 1;
            Handled::Matched
        } else {
            self.stats.unmatched += 1;
            Handled::Unmatched
        }
    }
}

/// The flow key a reply refers to (see [`crate::demux`]).
fn flow_key(rx: &Rx<'_>) -> Option<FlowKey> {
    match &rx.kind {
        RxKind::EchoReply { id, .. } | RxKind::TimestampReply { id, .. } => {
            Some(FlowKey::icmp(rx.dst, rx.src, *id))
        }
        RxKind::Tcp { sport, dport, .. } => Some(FlowKey::tcp(rx.dst, rx.src, *dport, *sport)),
        RxKind::Udp { sport, dport } => Some(FlowKey::udp(rx.dst, rx.src, *dport, *sport)),
        RxKind::Error { quote: q, .. } => match (q.proto, q.l4) {
            (proto::ICMP | proto::ICMPV6, QuotedL4::Icmp { id, .. }) => {
                Some(FlowKey::icmp(q.src, q.dst, id))
            }
            (proto::UDP, QuotedL4::Udp { sport, dport, .. }) => {
                Some(FlowKey::udp(q.src, q.dst, sport, dport))
            }
            (proto::TCP, QuotedL4::Tcp { sport, dport, .. }) => {
                Some(FlowKey::tcp(q.src, q.dst, sport, dport))
            }
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Tokens taken for outside packets come from the engine's one budget, whose rate
    /// `set_rate` changes.
    #[test]
    fn outside_packets_share_the_budget() {
        let t0 = Instant::now();
        let mut e = Engine::new(EngineConfig {
            rate: 10,
            burst: 1,
            seed: 1,
        })
        .unwrap();
        assert!(e.take_token(t0));
        assert!(!e.take_token(t0));
        assert_eq!(e.token_ready_at(t0), t0 + Duration::from_millis(100));
        assert!(e.take_token(t0 + Duration::from_millis(100)));
        e.set_rate(1, 1).unwrap();
        let t1 = t0 + Duration::from_millis(200);
        assert!(e.take_token(t1));
        assert!(!e.take_token(t1));
        assert_eq!(e.token_ready_at(t1), t0 + Duration::from_millis(1200));
    }
}
