//! MDA traceroute (tracelb): every load-balanced path towards one destination.

use std::sync::Arc;
use std::time::Duration;

use crate::macros::{code_enum, flag_set};
use crate::{Addr, Cycle, IcmpExt, List, Timestamp};

code_enum! {
    /// How an MDA traceroute probes (`tracelb -P`).
    pub enum TracelbMethod: u8 {
        /// Not recorded.
        Unset = 0 => "unset",
        /// UDP, flow varied by destination port.
        UdpDport = 1 => "udp-dport",
        /// ICMP echo, flow varied by checksum.
        IcmpEcho = 2 => "icmp-echo",
        /// UDP, flow varied by source port.
        UdpSport = 3 => "udp-sport",
        /// TCP SYN, flow varied by source port.
        TcpSport = 4 => "tcp-sport",
        /// TCP ACK, flow varied by source port.
        TcpAckSport = 5 => "tcp-ack-sport",
    }
}

impl TracelbMethod {
    /// Whether probes are UDP.
    #[must_use]
    pub const fn is_udp(self) -> bool {
        matches!(self, Self::UdpDport | Self::UdpSport)
    }

    /// Whether probes are TCP.
    #[must_use]
    pub const fn is_tcp(self) -> bool {
        matches!(self, Self::TcpSport | Self::TcpAckSport)
    }

    /// Whether probes are ICMP.
    #[must_use]
    pub const fn is_icmp(self) -> bool {
        matches!(self, Self::IcmpEcho)
    }
}

flag_set! {
    /// Options of an MDA traceroute.
    pub struct TracelbFlags(u8) {
        /// Reverse-DNS node addresses.
        const PTR = 0x01 => "ptr";
    }
}

flag_set! {
    /// Flags of one MDA traceroute reply.
    pub struct TracelbReplyFlags(u8) {
        /// `ttl` is valid.
        const REPLY_TTL = 0x01 => "replyttl";
        /// The reply is TCP.
        const TCP = 0x02 => "tcp";
    }
}

/// One reply to an MDA probe.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TracelbReply {
    /// Who replied.
    pub from: Addr,
    /// When the reply arrived.
    pub rx: Timestamp,
    /// The reply's IP-ID.
    pub ipid: u16,
    /// The reply's TTL (valid with [`TracelbReplyFlags::REPLY_TTL`]).
    pub ttl: u8,
    /// Flags.
    pub flags: TracelbReplyFlags,
    /// ICMP type (ICMP replies).
    pub icmp_type: u8,
    /// ICMP code (ICMP replies).
    pub icmp_code: u8,
    /// TTL of the quoted probe (ICMP replies).
    pub icmp_q_ttl: u8,
    /// TOS of the quoted probe (ICMP replies).
    pub icmp_q_tos: u8,
    /// TCP flags (TCP replies).
    pub tcp_flags: u8,
    /// ICMP extension objects.
    pub icmp_exts: Vec<IcmpExt>,
}

impl TracelbReply {
    /// Whether the reply is TCP.
    #[must_use]
    pub const fn is_tcp(&self) -> bool {
        self.flags.contains(TracelbReplyFlags::TCP)
    }
}

/// One MDA probe and its replies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TracelbProbe {
    /// When it was sent.
    pub tx: Timestamp,
    /// The flow identifier.
    pub flowid: u16,
    /// The probe's TTL.
    pub ttl: u8,
    /// Which attempt for this flow and TTL, 0-based.
    pub attempt: u8,
    /// Replies.
    pub replies: Vec<TracelbReply>,
}

/// An interface found by the MDA traceroute (or an unresponsive `*` hop).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TracelbNode {
    /// The address, `None` for an unresponsive hop.
    pub addr: Option<Addr>,
    /// The reverse-DNS name.
    pub name: Option<String>,
    /// The quoted TTL seen in replies from this node, if consistent.
    pub q_ttl: Option<u8>,
}

/// A link between two nodes: the probe sets that crossed it. A link spanning
/// several hops (through unresponsive nodes) has one probe set per hop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TracelbLink {
    /// Index of the near node in [`Tracelb::nodes`].
    pub from: u16,
    /// Index of the far node, `None` for a link to nowhere.
    pub to: Option<u16>,
    /// The probe sets, one per hop of the link.
    pub probesets: Vec<Vec<TracelbProbe>>,
}

/// An MDA traceroute measurement.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Tracelb {
    /// The list this measurement belongs to.
    pub list: Option<Arc<List>>,
    /// The cycle this measurement belongs to.
    pub cycle: Option<Arc<Cycle>>,
    /// A user-chosen id, 0 if none.
    pub user_id: u32,
    /// The source address.
    pub src: Option<Addr>,
    /// The destination.
    pub dst: Addr,
    /// The first-hop router, if chosen.
    pub rtr: Option<Addr>,
    /// When it started.
    pub start: Timestamp,
    /// How probes were sent.
    pub method: TracelbMethod,
    /// Source port (or ICMP id).
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Probe size in bytes.
    pub probe_size: u16,
    /// First TTL probed.
    pub firsthop: u8,
    /// Reply timeout, whole seconds.
    pub wait_timeout: Duration,
    /// Time between probes, centiseconds.
    pub wait_probe: Duration,
    /// Attempts per probe.
    pub attempts: u8,
    /// Confidence level (95 or 99).
    pub confidence: u8,
    /// Probe IP TOS.
    pub tos: u8,
    /// Consecutive unresponsive hops before giving up.
    pub gaplimit: u8,
    /// Probes sent.
    pub probes_sent: u32,
    /// The probe budget.
    pub max_probes: u32,
    /// Options.
    pub flags: TracelbFlags,
    /// The prober's error text, if it failed.
    pub errmsg: Option<String>,
    /// Nodes (interfaces).
    pub nodes: Vec<TracelbNode>,
    /// Links, grouped by near node in node order.
    pub links: Vec<TracelbLink>,
}

impl Tracelb {
    /// The links leaving node `i`, in order.
    pub fn node_links(&self, i: u16) -> impl Iterator<Item = &TracelbLink> {
        self.links.iter().filter(move |l| l.from == i)
    }
}
