//! The interface between the engine's scheduler and one measurement's state
//! machine.

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use crate::Measurement;
use crate::demux::{Claim, FlowKey, FlowTable};
use crate::error::SendError;
use crate::packet::Rx;
use crate::timer::SlotRef;

/// What a task may touch of the engine while it runs.
pub(crate) struct Ctx<'a> {
    /// The task's own slot.
    pub slot: SlotRef,
    /// The flow table, to claim keys before sending.
    pub flows: &'a mut FlowTable,
    /// The engine-wide IPv4 identification counter.
    pub ipid: &'a mut u16,
    /// A scratch buffer (probe payloads), reused across probes.
    pub scratch: &'a mut Vec<u8>,
}

impl Ctx<'_> {
    /// The next IPv4 identification value (never 0, so a zeroing middlebox is
    /// recognisable).
    pub fn next_ipid(&mut self) -> u16 {
        *self.ipid = if *self.ipid == u16::MAX {
            1
        } else {
            *self.ipid + 1
        };
        *self.ipid
    }

    /// Claims `key` for the task whose keys are `claims`. On success the key is
    /// added to them (once); when another task owns it, the task is blocked on
    /// it and `false` is returned: the engine wakes the task when the key is
    /// handed over ([`FlowClaims::grant`]).
    pub fn claim(&mut self, key: FlowKey, claims: &mut FlowClaims) -> bool {
        match self.flows.claim(key, self.slot) {
            Claim::Owned => {
                claims.own(key);
                claims.blocked = None;
                true
            }
            Claim::Busy => {
                claims.blocked = Some(key);
                false
            }
        }
    }
}

/// The flow keys one task owns, and the one it waits for while another task
/// owns it.
#[derive(Debug, Default)]
pub(crate) struct FlowClaims {
    owned: Vec<FlowKey>,
    blocked: Option<FlowKey>,
}

impl FlowClaims {
    /// The keys owned.
    pub fn owned(&self) -> &[FlowKey] {
        &self.owned
    }

    /// The key the task waits for, if blocked.
    pub fn blocked(&self) -> Option<FlowKey> {
        self.blocked
    }

    /// Whether the task waits for a key.
    pub fn is_blocked(&self) -> bool {
        self.blocked.is_some()
    }

    fn own(&mut self, key: FlowKey) {
        if !self.owned.contains(&key) {
            if self.owned.capacity() == 0 {
                self.owned.reserve_exact(1);
            }
            self.owned.push(key);
        }
    }

    /// The engine handed over `key`: owned now, and no longer waited for.
    pub fn grant(&mut self, key: FlowKey) {
        if self.blocked == Some(key) {
            self.blocked = None;
            self.own(key);
        }
    }
}

/// A duration in whole microseconds (saturating).
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A transmit time reported by the I/O shell, as microseconds since the Unix
/// epoch (never 0: 0 means "not reported").
pub(crate) fn wall_micros(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, micros)
        .max(1)
}

/// A probe's wall-clock transmit time: as reported (`tx_wall_us`, see
/// [`wall_micros`]), else estimated from the monotonic offset `tx_us` since
/// the task started at `start_wall`.
pub(crate) fn tx_wall(start_wall: SystemTime, tx_us: u64, tx_wall_us: u64) -> SystemTime {
    if tx_wall_us == 0 {
        start_wall + Duration::from_micros(tx_us)
    } else {
        SystemTime::UNIX_EPOCH + Duration::from_micros(tx_wall_us)
    }
}

/// A probe the task just wrote into the transmit buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SendMeta {
    /// The task-local probe index (what `on_sent` and replies refer to).
    pub probe: u32,
    /// Where the packet goes.
    pub dst: IpAddr,
}

/// One measurement's state machine. Implementations never read the clock:
/// every method gets the time it needs.
pub(crate) trait Machine {
    /// Writes the next due probe into `buf`, if one is due at `now` and its
    /// flow key can be claimed.
    fn poll_send(&mut self, now: Instant, ctx: &mut Ctx<'_>, buf: &mut Vec<u8>)
    -> Option<SendMeta>;
    /// Whether a probe is due at `now` (and the task is not blocked on a key).
    fn wants_send(&self, now: Instant) -> bool;
    /// The next instant the task needs [`Machine::handle_timeout`]: a reply
    /// deadline, the end of the measurement, or a probe that falls due
    /// *after* `now` (a probe already due waits in the ready queue, so it
    /// must not keep a timer armed at or before `now`).
    fn next_deadline(&self, now: Instant) -> Option<Instant>;
    /// Time has advanced to `now`.
    fn handle_timeout(&mut self, now: Instant);
    /// A reply whose flow key this task owns. Returns whether it was
    /// accepted as the answer to one of the task's probes.
    fn handle_reply(&mut self, now: Instant, rx: &Rx<'_>) -> bool;
    /// The I/O shell's report about probe `probe`.
    fn on_sent(&mut self, probe: u32, result: Result<SystemTime, SendError>);
    /// Stops the measurement now (stop reason "halted").
    fn halt(&mut self);
    /// Whether the measurement is over.
    fn is_done(&self) -> bool;
    /// The flow keys this task owns and the one it waits for.
    fn claims(&self) -> &FlowClaims;
    /// The same, for the engine to hand over a key ([`FlowClaims::grant`]).
    fn claims_mut(&mut self) -> &mut FlowClaims;
    /// The result so far (with stop reason "inprogress" while running).
    fn result(&self) -> Measurement;
    /// Whether an in-progress result is due (`-y N`: after every N
    /// replies); asking resets the count.
    fn progress_due(&mut self) -> bool;
}
