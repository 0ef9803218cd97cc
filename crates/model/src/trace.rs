//! Traceroute: probes with increasing TTL towards one destination.

use std::sync::Arc;
use std::time::Duration;

use crate::macros::{code_enum, flag_set};
use crate::{Addr, Cycle, IcmpExt, List, Timestamp};

code_enum! {
    /// How a traceroute probes (`trace -P`).
    pub enum TraceMethod: u8 {
        /// ICMP echo, classic (varying checksum).
        IcmpEcho = 1 => "icmp-echo",
        /// UDP, classic (destination port increments).
        Udp = 2 => "udp",
        /// TCP SYN.
        Tcp = 3 => "tcp",
        /// ICMP echo, Paris (constant flow).
        IcmpEchoParis = 4 => "icmp-echo-paris",
        /// UDP, Paris (constant flow).
        UdpParis = 5 => "udp-paris",
        /// TCP ACK.
        TcpAck = 6 => "tcp-ack",
    }
}

impl TraceMethod {
    /// Whether probes are ICMP.
    #[must_use]
    pub const fn is_icmp(self) -> bool {
        matches!(self, Self::IcmpEcho | Self::IcmpEchoParis)
    }

    /// Whether probes are UDP.
    #[must_use]
    pub const fn is_udp(self) -> bool {
        matches!(self, Self::Udp | Self::UdpParis)
    }

    /// Whether probes are TCP.
    #[must_use]
    pub const fn is_tcp(self) -> bool {
        matches!(self, Self::Tcp | Self::TcpAck)
    }
}

code_enum! {
    /// Why a traceroute stopped (scamper prints these upper-case in JSON).
    pub enum TraceStop: u8 {
        /// No reason recorded.
        None = 0 => "none",
        /// The destination answered.
        Completed = 1 => "completed",
        /// An ICMP unreachable stopped it.
        Unreach = 2 => "unreach",
        /// Another ICMP message stopped it.
        Icmp = 3 => "icmp",
        /// A loop was detected.
        Loop = 4 => "loop",
        /// Too many consecutive unresponsive hops.
        Gaplimit = 5 => "gaplimit",
        /// An error stopped it.
        Error = 6 => "error",
        /// The hop limit was reached.
        Hoplimit = 7 => "hoplimit",
        /// A doubletree global stop set address was reached.
        Gss = 8 => "gss",
        /// It was halted by the user.
        Halted = 9 => "halted",
        /// A streamed partial result.
        InProgress = 10 => "inprogress",
    }
}

code_enum! {
    /// What a traceroute does when it reaches the gap limit (`-G`).
    pub enum GapAction: u8 {
        /// Not recorded.
        Unset = 0 => "unset",
        /// Stop.
        Stop = 1 => "stop",
        /// Send last-ditch probes to the destination, then stop.
        LastDitch = 2 => "lastditch",
    }
}

flag_set! {
    /// Options of a traceroute.
    pub struct TraceFlags(u32) {
        /// Send all attempts even after a reply (`-Q`).
        const ALL_ATTEMPTS = 0x01 => "all-attempts";
        /// Path MTU discovery (`-M`).
        const PMTUD = 0x02 => "pmtud";
        /// Datalink timestamps (`-O dl`).
        const DL = 0x04 => "dl";
        /// Ignore replies from the destination at low TTLs.
        const IGNORE_TTL_DST = 0x08 => "ignorettldst";
        /// Doubletree.
        const DOUBLETREE = 0x10 => "doubletree";
        /// The ICMP checksum is stored in `dport`.
        const ICMP_CSUM_DPORT = 0x20 => "icmp-csum-dport";
        /// Constant payload (`-O const-payload`).
        const CONST_PAYLOAD = 0x40 => "const-payload";
        /// Replies came through IP_RECVERR (unprivileged).
        const RXERR = 0x80 => "rxerr";
        /// Reverse-DNS hop addresses.
        const PTR = 0x100 => "ptr";
        /// Raw sockets.
        const RAW = 0x200 => "raw";
        /// Back-off.
        const BACK = 0x400 => "back";
    }
}

flag_set! {
    /// Flags of one traceroute reply.
    pub struct TraceReplyFlags(u8) {
        /// The rx time is a socket timestamp.
        const SOCK_RX = 0x01 => "sockrxts";
        /// The tx time came from the datalink.
        const DL_TX = 0x02 => "dltxts";
        /// The rx time came from the datalink.
        const DL_RX = 0x04 => "dlrxts";
        /// `reply_ttl` is valid.
        const REPLY_TTL = 0x10 => "replyttl";
        /// The reply is TCP.
        const TCP = 0x20 => "tcp";
        /// The reply is UDP.
        const UDP = 0x40 => "udp";
        /// The probe was still pending.
        const PENDING = 0x80 => "pending";
    }
}

/// One reply to one traceroute probe ("hop record"), with the probe it answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TraceHop {
    /// Who replied.
    pub addr: Addr,
    /// The reverse-DNS name of `addr`, if looked up.
    pub name: Option<String>,
    /// The probe's TTL (1..=255).
    pub probe_ttl: u8,
    /// Which attempt at this TTL, 0-based (scamper's JSON prints it plus one).
    pub probe_id: u8,
    /// The probe's size in bytes.
    pub probe_size: u16,
    /// When the probe was sent, if recorded.
    pub tx: Option<Timestamp>,
    /// Round-trip time, microsecond precision.
    pub rtt: Duration,
    /// Reply flags.
    pub flags: TraceReplyFlags,
    /// The reply's IP TTL.
    pub reply_ttl: u8,
    /// The reply's IP TOS.
    pub reply_tos: u8,
    /// The reply's IP-ID (0 if not recorded).
    pub reply_ipid: u16,
    /// The reply's IP length.
    pub reply_size: u16,
    /// ICMP type (ICMP replies).
    pub icmp_type: u8,
    /// ICMP code (ICMP replies).
    pub icmp_code: u8,
    /// Length of the quoted IP packet (ICMP errors; defaults to `probe_size`).
    pub icmp_q_ipl: u16,
    /// TTL of the quoted IP packet (ICMP errors; defaults to 1).
    pub icmp_q_ttl: u8,
    /// TOS of the quoted IP packet (ICMP errors).
    pub icmp_q_tos: u8,
    /// Next-hop MTU of a packet-too-big reply (0 = none).
    pub nhmtu: u16,
    /// TCP flags (TCP replies).
    pub tcp_flags: u8,
    /// ICMP extension objects.
    pub icmp_exts: Vec<IcmpExt>,
}

impl TraceHop {
    /// A reply from `addr` to attempt `probe_id` at `probe_ttl`, every other field empty.
    #[must_use]
    pub fn new(addr: Addr, probe_ttl: u8, probe_id: u8, probe_size: u16, rtt: Duration) -> Self {
        Self {
            addr,
            name: None,
            probe_ttl,
            probe_id,
            probe_size,
            tx: None,
            rtt,
            flags: TraceReplyFlags::empty(),
            reply_ttl: 0,
            reply_tos: 0,
            reply_ipid: 0,
            reply_size: 0,
            icmp_type: 0,
            icmp_code: 0,
            icmp_q_ipl: probe_size,
            icmp_q_ttl: 1,
            icmp_q_tos: 0,
            nhmtu: 0,
            tcp_flags: 0,
            icmp_exts: Vec::new(),
        }
    }

    /// Whether the reply is TCP.
    #[must_use]
    pub const fn is_tcp(&self) -> bool {
        self.flags.contains(TraceReplyFlags::TCP)
    }

    /// Whether the reply is UDP.
    #[must_use]
    pub const fn is_udp(&self) -> bool {
        self.flags.contains(TraceReplyFlags::UDP)
    }

    /// Whether the reply is ICMP (neither TCP nor UDP).
    #[must_use]
    pub const fn is_icmp(&self) -> bool {
        !self.flags.intersects(TraceReplyFlags(
            TraceReplyFlags::TCP.0 | TraceReplyFlags::UDP.0,
        ))
    }

    /// Whether the reply is an ICMP error that quotes the probe (v4
    /// unreachable/time exceeded, v6 unreachable/too big/time exceeded).
    #[must_use]
    pub const fn is_icmp_quoting(&self) -> bool {
        if !self.is_icmp() {
            return false;
        }
        match self.addr {
            Addr::V6(_) => self.icmp_type >= 1 && self.icmp_type <= 3,
            _ => self.icmp_type == 3 || self.icmp_type == 11,
        }
    }

    /// Whether the reply is an ICMP packet too big.
    #[must_use]
    pub const fn is_icmp_ptb(&self) -> bool {
        if !self.is_icmp() {
            return false;
        }
        match self.addr {
            Addr::V6(_) => self.icmp_type == 2,
            _ => self.icmp_type == 3 && self.icmp_code == 4,
        }
    }

    /// Whether the reply is an ICMP time exceeded.
    #[must_use]
    pub const fn is_icmp_ttl_exp(&self) -> bool {
        self.is_icmp()
            && match self.addr {
                Addr::V6(_) => self.icmp_type == 3,
                _ => self.icmp_type == 11,
            }
    }
}

code_enum! {
    /// What a PMTUD note records.
    pub enum PmtudNoteKind: u8 {
        /// Not recorded.
        Unset = 0 => "unset",
        /// A packet-too-big message.
        Ptb = 1 => "ptb",
        /// A packet-too-big message with an unusable MTU.
        PtbBad = 2 => "ptb-bad",
        /// Silence: a hop dropped big packets without a message.
        Silence = 3 => "silence",
    }
}

/// One note of the PMTUD phase: where and why the path MTU dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PmtudNote {
    /// The kind of note.
    pub kind: PmtudNoteKind,
    /// The next-hop MTU inferred.
    pub nhmtu: u16,
    /// Index into [`TracePmtud::hops`] of the related reply, if any.
    pub hop: Option<u16>,
}

/// Path MTU discovery results of a traceroute (`trace -M`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TracePmtud {
    /// Version of the structure (2 for current scamper, 1 in old files).
    pub version: u8,
    /// MTU of the outgoing interface.
    pub if_mtu: u16,
    /// The path MTU found.
    pub path_mtu: u16,
    /// MTU to the first hop, when it differs from `if_mtu` (0 = same).
    pub out_mtu: u16,
    /// Replies to the PMTUD probes.
    pub hops: Vec<TraceHop>,
    /// Notes about MTU changes.
    pub notes: Vec<PmtudNote>,
}

flag_set! {
    /// Doubletree options.
    pub struct DoubletreeFlags(u8) {
        /// Do not probe backwards.
        const NO_BACK = 0x01 => "noback";
    }
}

/// Doubletree state of a traceroute.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TraceDoubletree {
    /// The first hop probed.
    pub firsthop: u8,
    /// The local stop set address that stopped the trace.
    pub lss_stop: Option<Addr>,
    /// The global stop set address that stopped the trace.
    pub gss_stop: Option<Addr>,
    /// The name of the local stop set.
    pub lss_name: Option<String>,
    /// Options.
    pub flags: DoubletreeFlags,
}

/// A traceroute measurement.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Trace {
    /// The list this measurement belongs to.
    pub list: Option<Arc<List>>,
    /// The cycle this measurement belongs to.
    pub cycle: Option<Arc<Cycle>>,
    /// A user-chosen id (`-U`), 0 if none.
    pub user_id: u32,
    /// The source address used.
    pub src: Option<Addr>,
    /// The destination.
    pub dst: Addr,
    /// The first-hop router, if chosen (`-r`).
    pub rtr: Option<Addr>,
    /// When the measurement started.
    pub start: Timestamp,
    /// Why it stopped.
    pub stop_reason: TraceStop,
    /// Extra detail for the stop reason (ICMP type/code or errno).
    pub stop_data: u8,
    /// How probes were sent.
    pub method: TraceMethod,
    /// Options.
    pub flags: TraceFlags,
    /// Attempts per hop (`-q`).
    pub attempts: u8,
    /// Largest TTL to probe (`-m`), 0 = default.
    pub hoplimit: u8,
    /// First TTL probed (`-f`).
    pub firsthop: u8,
    /// Probe size in bytes.
    pub probe_size: u16,
    /// Source port (or ICMP id).
    pub sport: u16,
    /// Destination port (ICMP-paris: the ICMP checksum).
    pub dport: u16,
    /// Probe IP TOS.
    pub tos: u8,
    /// How long to wait for a reply (`-w`), whole seconds.
    pub wait_timeout: Duration,
    /// Minimum time between probes (`-W`), centiseconds.
    pub wait_probe: Duration,
    /// Loops allowed before stopping (`-L`).
    pub loops: u8,
    /// Loop action (`-l`).
    pub loopaction: u8,
    /// Consecutive unresponsive hops before stopping (`-g`).
    pub gaplimit: u8,
    /// What to do at the gap limit (`-G`).
    pub gapaction: GapAction,
    /// Confidence level for `-Q`-style probing (`-c`).
    pub confidence: u8,
    /// Number of TTLs probed.
    pub hop_count: u16,
    /// The TTL where the trace stopped, when it differs from `hop_count` (0 = not recorded).
    pub stop_hop: u8,
    /// Probes sent.
    pub probes_sent: u16,
    /// Fragment offset of probes (`-o`), 0 if none.
    pub offset: u16,
    /// Probes in flight at once (`-N`).
    pub squeries: u8,
    /// The prober's error text, if it failed.
    pub errmsg: Option<String>,
    /// Every reply, by probe TTL, then attempt, then arrival.
    pub hops: Vec<TraceHop>,
    /// Path MTU discovery results.
    pub pmtud: Option<TracePmtud>,
    /// Replies to last-ditch probes (gap action `lastditch`).
    pub lastditch: Option<Vec<TraceHop>>,
    /// Doubletree state.
    pub doubletree: Option<TraceDoubletree>,
}

impl Trace {
    /// A traceroute to `dst` started at `start` with scamper's default settings
    /// (UDP-paris, 2 attempts, wait 5 s, gap limit 5) and no results.
    #[must_use]
    pub fn new(dst: Addr, start: Timestamp) -> Self {
        Self {
            list: None,
            cycle: None,
            user_id: 0,
            src: None,
            dst,
            rtr: None,
            start,
            stop_reason: TraceStop::None,
            stop_data: 0,
            method: TraceMethod::UdpParis,
            flags: TraceFlags::empty(),
            attempts: 2,
            hoplimit: 0,
            firsthop: 1,
            probe_size: if dst.is_ipv6() { 60 } else { 44 },
            sport: 0,
            dport: 0,
            tos: 0,
            wait_timeout: Duration::from_secs(5),
            wait_probe: Duration::ZERO,
            loops: 1,
            loopaction: 0,
            gaplimit: 5,
            gapaction: GapAction::Stop,
            confidence: 95,
            hop_count: 0,
            stop_hop: 0,
            probes_sent: 0,
            offset: 0,
            squeries: 1,
            errmsg: None,
            hops: Vec::new(),
            pmtud: None,
            lastditch: None,
            doubletree: None,
        }
    }

    /// The first reply at TTL `ttl`, if any.
    #[must_use]
    pub fn first_hop_at(&self, ttl: u8) -> Option<&TraceHop> {
        self.hops.iter().find(|h| h.probe_ttl == ttl)
    }

    /// The number of hops up to where the trace stopped: `stop_hop` when it is
    /// set and below `hop_count`, else `hop_count`.
    #[must_use]
    pub fn effective_hop_count(&self) -> u16 {
        if self.stop_hop != 0 && u16::from(self.stop_hop) < self.hop_count {
            u16::from(self.stop_hop)
        } else {
            self.hop_count
        }
    }
}
