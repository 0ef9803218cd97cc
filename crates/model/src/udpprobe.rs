//! UDP probes with a chosen payload (udpprobe).

use std::sync::Arc;
use std::time::Duration;

use crate::macros::{code_enum, flag_set};
use crate::{Addr, Cycle, List, Timestamp};

code_enum! {
    /// Why a udpprobe stopped.
    pub enum UdpprobeStop: u8 {
        /// No reason recorded.
        None = 0 => "none",
        /// Done.
        Done = 1 => "done",
        /// Halted by the user.
        Halted = 2 => "halted",
        /// An error.
        Error = 3 => "error",
    }
}

flag_set! {
    /// Options of a udpprobe.
    pub struct UdpprobeFlags(u8) {
        /// Stop at the first reply.
        const EXITFIRST = 0x01 => "exitfirst";
    }
}

/// One UDP reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UdpprobeReply {
    /// When it arrived (zero if not recorded).
    pub rx: Timestamp,
    /// The UDP payload (at most 65535 bytes).
    pub data: Vec<u8>,
    /// The interface it arrived on.
    pub ifname: Option<String>,
    /// Who sent it (Vantage extension, not in warts: it reads back as `None`).
    pub src: Option<Addr>,
    /// The port it came from (Vantage extension, not in warts: it reads back as 0).
    pub sport: u16,
}

/// One probe and its replies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UdpprobeProbe {
    /// When it was sent. Warts does not store probe 0's time: it reads back as
    /// the measurement's start time.
    pub tx: Timestamp,
    /// Its source port.
    pub sport: u16,
    /// Replies (at most 255).
    pub replies: Vec<UdpprobeReply>,
}

/// A udpprobe measurement.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Udpprobe {
    /// The list this measurement belongs to.
    pub list: Option<Arc<List>>,
    /// The cycle this measurement belongs to.
    pub cycle: Option<Arc<Cycle>>,
    /// A user-chosen id, 0 if none.
    pub user_id: u32,
    /// The source address.
    pub src: Option<Addr>,
    /// The destination.
    pub dst: Option<Addr>,
    /// Source port requested (0 when each probe chose its own).
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// When it started (zero if not recorded).
    pub start: Timestamp,
    /// Reply timeout, microseconds.
    pub wait_timeout: Duration,
    /// Time between probes, microseconds.
    pub wait_probe: Duration,
    /// Options.
    pub flags: UdpprobeFlags,
    /// Why it stopped.
    pub stop_reason: UdpprobeStop,
    /// The payload sent.
    pub payload: Vec<u8>,
    /// Probes requested.
    pub probe_count: u8,
    /// Stop after this many replies (0 = no limit).
    pub stop_count: u8,
    /// The prober's error text.
    pub errmsg: Option<String>,
    /// The probes sent, in order (their number is probes-sent, at most 255).
    pub probes: Vec<UdpprobeProbe>,
}

impl Udpprobe {
    /// Clears what warts cannot store (each reply's sender): the record as it reads back
    /// from a warts file.
    pub fn clear_extensions(&mut self) {
        for r in self.probes.iter_mut().flat_map(|p| &mut p.replies) {
            r.src = None;
            r.sport = 0;
        }
    }
}
