//! Neighbour discovery (ARP / IPv6 neighbour solicitation).

use std::sync::Arc;
use std::time::Duration;

use crate::macros::{code_enum, flag_set};
use crate::{Addr, Cycle, List, Timestamp};

code_enum! {
    /// How neighbours are asked.
    pub enum NeighbourdiscMethod: u8 {
        /// Not recorded.
        Unset = 0 => "unset",
        /// ARP request (IPv4).
        Arp = 1 => "arp",
        /// Neighbour solicitation (IPv6).
        Nsol = 2 => "nsol",
    }
}

flag_set! {
    /// Options of a neighbour discovery.
    pub struct NeighbourdiscFlags(u8) {
        /// Send every attempt even after a reply.
        const ALL_ATTEMPTS = 0x01 => "allattempts";
        /// Stop at the first response.
        const FIRST_RESPONSE = 0x02 => "firstresponse";
    }
}

/// One reply: the MAC address announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NeighbourdiscReply {
    /// When it arrived.
    pub rx: Timestamp,
    /// The link-layer address in the reply.
    pub mac: Addr,
}

/// One request and its replies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NeighbourdiscProbe {
    /// When it was sent.
    pub tx: Timestamp,
    /// Replies.
    pub replies: Vec<NeighbourdiscReply>,
}

/// A neighbour discovery measurement.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Neighbourdisc {
    /// The list this measurement belongs to.
    pub list: Option<Arc<List>>,
    /// The cycle this measurement belongs to.
    pub cycle: Option<Arc<Cycle>>,
    /// A user-chosen id, 0 if none.
    pub user_id: u32,
    /// The interface used.
    pub ifname: Option<String>,
    /// When it started.
    pub start: Timestamp,
    /// ARP or neighbour solicitation.
    pub method: NeighbourdiscMethod,
    /// Time between attempts, milliseconds (up to 65535).
    pub wait_timeout: Duration,
    /// Options.
    pub flags: NeighbourdiscFlags,
    /// Attempts.
    pub attempts: u16,
    /// Replies wanted before stopping (0 = no limit).
    pub replyc: u16,
    /// Our IP address.
    pub src_ip: Option<Addr>,
    /// Our MAC address.
    pub src_mac: Option<Addr>,
    /// The IP address asked about.
    pub dst_ip: Option<Addr>,
    /// The MAC address found.
    pub dst_mac: Option<Addr>,
    /// The prober's error text.
    pub errmsg: Option<String>,
    /// Requests sent, in order.
    pub probes: Vec<NeighbourdiscProbe>,
}
