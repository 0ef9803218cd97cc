//! Packet capture (sniff): ICMP packets with a chosen ICMP id.

use std::sync::Arc;
use std::time::Duration;

use crate::macros::code_enum;
use crate::{Addr, Cycle, List, Timestamp};

code_enum! {
    /// Why a capture stopped.
    pub enum SniffStop: u8 {
        /// No reason recorded.
        None = 0 => "none",
        /// An error.
        Error = 1 => "error",
        /// The time limit was reached.
        LimitTime = 2 => "limit-time",
        /// The packet limit was reached.
        LimitPktc = 3 => "limit-pktc",
        /// Halted by the user.
        Halted = 4 => "halted",
    }
}

/// One captured packet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SniffPacket {
    /// When it was captured.
    pub ts: Timestamp,
    /// The packet bytes, from the IP header (never empty).
    pub data: Vec<u8>,
}

/// A packet capture.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Sniff {
    /// The list this measurement belongs to.
    pub list: Option<Arc<List>>,
    /// The cycle this measurement belongs to.
    pub cycle: Option<Arc<Cycle>>,
    /// A user-chosen id, 0 if none.
    pub user_id: u32,
    /// The address whose interface was captured on.
    pub src: Addr,
    /// When it started.
    pub start: Timestamp,
    /// When it finished.
    pub finish: Timestamp,
    /// Why it stopped.
    pub stop_reason: SniffStop,
    /// Packet limit.
    pub limit_pkt_count: u32,
    /// Time limit, whole seconds (up to 65535).
    pub limit_time: Duration,
    /// The ICMP id captured.
    pub icmp_id: u16,
    /// The prober's error text.
    pub errmsg: Option<String>,
    /// Captured packets.
    pub packets: Vec<SniffPacket>,
}
