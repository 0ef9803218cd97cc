//! Ping: repeated probes to one destination and the replies they got.

use std::sync::Arc;
use std::time::Duration;

use crate::macros::{code_enum, flag_set};
use crate::{Addr, Cycle, List, Timestamp};

code_enum! {
    /// How a ping probes (`ping -P`).
    pub enum PingMethod: u8 {
        /// ICMP echo request.
        IcmpEcho = 0 => "icmp-echo",
        /// TCP ACK to a fixed port.
        TcpAck = 1 => "tcp-ack",
        /// TCP ACK, source port varying per probe.
        TcpAckSport = 2 => "tcp-ack-sport",
        /// UDP to a fixed port.
        Udp = 3 => "udp",
        /// UDP, destination port varying per probe.
        UdpDport = 4 => "udp-dport",
        /// ICMP timestamp request.
        IcmpTime = 5 => "icmp-time",
        /// TCP SYN.
        TcpSyn = 6 => "tcp-syn",
        /// TCP SYN/ACK.
        TcpSynack = 7 => "tcp-synack",
        /// TCP RST.
        TcpRst = 8 => "tcp-rst",
        /// TCP SYN, source port varying per probe.
        TcpSynSport = 9 => "tcp-syn-sport",
        /// UDP, source port varying per probe.
        UdpSport = 10 => "udp-sport",
    }
}

impl PingMethod {
    /// Whether probes are ICMP (echo or timestamp requests).
    #[must_use]
    pub const fn is_icmp(self) -> bool {
        matches!(self, Self::IcmpEcho | Self::IcmpTime)
    }

    /// Whether probes are TCP.
    #[must_use]
    pub const fn is_tcp(self) -> bool {
        matches!(
            self,
            Self::TcpAck
                | Self::TcpAckSport
                | Self::TcpSyn
                | Self::TcpSynack
                | Self::TcpRst
                | Self::TcpSynSport
        )
    }

    /// Whether probes are UDP.
    #[must_use]
    pub const fn is_udp(self) -> bool {
        matches!(self, Self::Udp | Self::UdpDport | Self::UdpSport)
    }

    /// Whether the source port changes with every probe.
    #[must_use]
    pub const fn varies_sport(self) -> bool {
        matches!(self, Self::TcpAckSport | Self::TcpSynSport | Self::UdpSport)
    }

    /// Whether the destination port changes with every probe.
    #[must_use]
    pub const fn varies_dport(self) -> bool {
        matches!(self, Self::UdpDport)
    }
}

code_enum! {
    /// Why a ping stopped.
    pub enum PingStop: u8 {
        /// No reason recorded.
        None = 0 => "none",
        /// All probes were sent and waited for, or the stop count was reached.
        Done = 1 => "done",
        /// An error stopped it (see `errmsg`).
        Error = 2 => "error",
        /// It was halted by the user.
        Halted = 3 => "halted",
        /// A streamed partial result; more records follow.
        InProgress = 4 => "inprogress",
    }
}

flag_set! {
    /// Options of a ping (`ping -O ...` and friends).
    pub struct PingFlags(u32) {
        /// IPv4 record-route option (`-R`).
        const V4RR = 0x01 => "v4rr";
        /// The source address was spoofed (`-S` with spoof).
        const SPOOF = 0x02 => "spoof";
        /// `data` is the whole payload (`-B`), not a repeating pattern.
        const PAYLOAD = 0x04 => "payload";
        /// IPv4 timestamp option, timestamps only.
        const TSONLY = 0x08 => "tsonly";
        /// IPv4 timestamp option, address and timestamp.
        const TSANDADDR = 0x10 => "tsandaddr";
        /// The ICMP checksum was chosen (`-C`).
        const ICMPSUM = 0x20 => "icmpsum";
        /// Datalink timestamps were used (`-O dl`).
        const DL = 0x40 => "dl";
        /// Too-big trick for IPv6 fragment ids (`-O tbt`).
        const TBT = 0x80 => "tbt";
        /// No source address in the probe (`-O nosrc`).
        const NOSRC = 0x100 => "nosrc";
        /// Raw sockets (`-O raw`).
        const RAW = 0x200 => "raw";
        /// Socket receive timestamps (`-O sockrx`).
        const SOCKRX = 0x400 => "sockrx";
        /// Datalink transmit timestamps (`-O dltx`).
        const DLTX = 0x800 => "dltx";
    }
}

flag_set! {
    /// Per-reply flags of a ping reply.
    pub struct PingReplyFlags(u8) {
        /// `reply_ttl` is valid.
        const REPLY_TTL = 0x01 => "replyttl";
        /// `reply_ipid` is valid.
        const REPLY_IPID = 0x02 => "replyipid";
        /// `probe_ipid` is valid.
        const PROBE_IPID = 0x04 => "probeipid";
        /// The probe's transmit time came from the datalink.
        const DL_TX = 0x08 => "dltxts";
        /// The receive time came from the datalink.
        const DL_RX = 0x10 => "dlrxts";
        /// `reply_tos` is valid.
        const REPLY_TOS = 0x20 => "replytos";
        /// The probe was still pending when the record was written.
        const PENDING = 0x40 => "pending";
    }
}

/// The IPv4 timestamp option carried by a reply (`ping -T`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PingIpTimestamps {
    /// The timestamps, milliseconds since midnight UTC as routers wrote them.
    pub timestamps: Vec<u32>,
    /// The address of each timestamp; empty for `tsonly`, else as long as `timestamps`.
    pub addrs: Vec<Addr>,
}

/// The three values of an ICMP timestamp reply (milliseconds since midnight UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct IcmpTimestamps {
    /// Originate timestamp (copied from our request).
    pub originate: u32,
    /// Receive timestamp.
    pub receive: u32,
    /// Transmit timestamp.
    pub transmit: u32,
}

/// One reply to one ping probe. A probe may get several replies (duplicates)
/// or none (then it has no entry at all).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PingReply {
    /// Which probe this answers: 0-based, in sending order.
    pub probe_id: u16,
    /// Who replied.
    pub from: Addr,
    /// Validity and timestamp flags.
    pub flags: PingReplyFlags,
    /// The reply's IP TTL (valid with [`PingReplyFlags::REPLY_TTL`]).
    pub reply_ttl: u8,
    /// The reply's IP TOS/traffic class (valid with [`PingReplyFlags::REPLY_TOS`]).
    pub reply_tos: u8,
    /// The reply's IP length.
    pub reply_size: u16,
    /// The reply's IP-ID: 16 bits for IPv4, the 32-bit fragment id for IPv6
    /// (valid with [`PingReplyFlags::REPLY_IPID`]).
    pub reply_ipid: u32,
    /// The reply's IP protocol (1 ICMP, 58 ICMPv6, 6 TCP, 17 UDP).
    pub reply_proto: u8,
    /// ICMP type (ICMP replies only).
    pub icmp_type: u8,
    /// ICMP code (ICMP replies only).
    pub icmp_code: u8,
    /// TCP flags (TCP replies only).
    pub tcp_flags: u8,
    /// Round-trip time, microsecond precision.
    pub rtt: Duration,
    /// When the probe was sent, if recorded.
    pub tx: Option<Timestamp>,
    /// The probe's IP-ID (valid with [`PingReplyFlags::PROBE_IPID`]).
    pub probe_ipid: u16,
    /// The probe's source port, when it differs per probe (0 = not recorded).
    pub probe_sport: u16,
    /// Next-hop MTU of an ICMP packet-too-big reply (0 = none).
    pub nhmtu: u16,
    /// Addresses of the IPv4 record-route option, if the reply carried one.
    pub rr: Option<Vec<Addr>>,
    /// The IPv4 timestamp option, if the reply carried one.
    pub ip_ts: Option<PingIpTimestamps>,
    /// ICMP timestamp reply values (icmp-time pings).
    pub icmp_ts: Option<IcmpTimestamps>,
    /// The interface the reply arrived on.
    pub ifname: Option<String>,
}

impl PingReply {
    /// A reply from `from` to probe `probe_id` after `rtt`, every other field empty.
    #[must_use]
    pub fn new(probe_id: u16, from: Addr, rtt: Duration) -> Self {
        Self {
            probe_id,
            from,
            flags: PingReplyFlags::empty(),
            reply_ttl: 0,
            reply_tos: 0,
            reply_size: 0,
            reply_ipid: 0,
            reply_proto: if from.is_ipv6() { 58 } else { 1 },
            icmp_type: 0,
            icmp_code: 0,
            tcp_flags: 0,
            rtt,
            tx: None,
            probe_ipid: 0,
            probe_sport: 0,
            nhmtu: 0,
            rr: None,
            ip_ts: None,
            icmp_ts: None,
            ifname: None,
        }
    }

    /// Whether the reply is ICMP or ICMPv6.
    #[must_use]
    pub const fn is_icmp(&self) -> bool {
        self.reply_proto == 1 || self.reply_proto == 58
    }

    /// Whether the reply is TCP.
    #[must_use]
    pub const fn is_tcp(&self) -> bool {
        self.reply_proto == 6
    }

    /// Whether the reply is UDP.
    #[must_use]
    pub const fn is_udp(&self) -> bool {
        self.reply_proto == 17
    }

    /// Whether this is an ICMP echo reply.
    #[must_use]
    pub const fn is_icmp_echo_reply(&self) -> bool {
        (self.reply_proto == 1 && self.icmp_type == 0)
            || (self.reply_proto == 58 && self.icmp_type == 129)
    }

    /// Whether this is an ICMP destination/port unreachable.
    #[must_use]
    pub const fn is_icmp_unreach_port(&self) -> bool {
        (self.reply_proto == 1 && self.icmp_type == 3 && self.icmp_code == 3)
            || (self.reply_proto == 58 && self.icmp_type == 1 && self.icmp_code == 4)
    }

    /// Whether this is an ICMP timestamp reply.
    #[must_use]
    pub const fn is_icmp_tsreply(&self) -> bool {
        self.reply_proto == 1 && self.icmp_type == 14
    }

    /// Whether this is an ICMP time exceeded.
    #[must_use]
    pub const fn is_icmp_ttl_exp(&self) -> bool {
        (self.reply_proto == 1 && self.icmp_type == 11)
            || (self.reply_proto == 58 && self.icmp_type == 3)
    }

    /// Whether this is an ICMP packet too big (v4 unreachable/fragmentation needed).
    #[must_use]
    pub const fn is_icmp_ptb(&self) -> bool {
        (self.reply_proto == 1 && self.icmp_type == 3 && self.icmp_code == 4)
            || (self.reply_proto == 58 && self.icmp_type == 2)
    }

    /// When the reply arrived (`tx + rtt`), if the probe's transmit time is known.
    #[must_use]
    pub fn rx(&self) -> Option<Timestamp> {
        self.tx.map(|t| t.plus(self.rtt))
    }
}

/// A ping measurement: settings, outcome and every reply.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Ping {
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
    /// The first-hop router the probes were sent through, if chosen (`-r`).
    pub rtr: Option<Addr>,
    /// When the measurement started.
    pub start: Timestamp,
    /// Why it stopped.
    pub stop_reason: PingStop,
    /// Extra detail for the stop reason (an errno for [`PingStop::Error`]).
    pub stop_data: u8,
    /// How probes were sent.
    pub method: PingMethod,
    /// Options.
    pub flags: PingFlags,
    /// Probe payload: the whole payload with [`PingFlags::PAYLOAD`], else a
    /// repeating pattern (`-p`); empty if none.
    pub data: Vec<u8>,
    /// Probes requested (`-c`).
    pub attempts: u16,
    /// Probe size in bytes, IP header included.
    pub probe_size: u16,
    /// Time between probes (`-i`), whole seconds at most 255 plus microseconds.
    pub wait_probe: Duration,
    /// How long to wait for a reply after the last probe (`-W`), same range.
    pub wait_timeout: Duration,
    /// Probe IP TTL.
    pub ttl: u8,
    /// Probe IP TOS.
    pub tos: u8,
    /// Stop after this many replies (`-o`), 0 = no limit.
    pub stop_count: u16,
    /// Probes actually sent.
    pub probes_sent: u16,
    /// Source port, or the ICMP id for ICMP methods.
    pub sport: u16,
    /// Destination port, or the first ICMP sequence number for ICMP methods.
    pub dport: u16,
    /// The chosen ICMP checksum (with [`PingFlags::ICMPSUM`]).
    pub icmp_csum: u16,
    /// Pseudo path MTU (`-M`), 0 if none.
    pub pmtu: u16,
    /// TCP sequence number used by TCP methods (0 if none).
    pub tcp_seq: u32,
    /// TCP acknowledgment number used by TCP methods (0 if none).
    pub tcp_ack: u32,
    /// Prespecified IPv4 timestamp addresses (`-T tsprespec=...`).
    pub tsps: Vec<Addr>,
    /// The prober's error text, if it failed.
    pub errmsg: Option<String>,
    /// Every reply of every probe, probes in id order.
    pub replies: Vec<PingReply>,
}

impl Ping {
    /// A ping to `dst` started at `start`, with scamper's default settings
    /// (ICMP echo, 4 probes of 84 bytes, 1 s apart, TTL 64) and no results.
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
            stop_reason: PingStop::None,
            stop_data: 0,
            method: PingMethod::IcmpEcho,
            flags: PingFlags::empty(),
            data: Vec::new(),
            attempts: 4,
            probe_size: if dst.is_ipv6() { 56 } else { 84 },
            wait_probe: Duration::from_secs(1),
            wait_timeout: Duration::from_secs(1),
            ttl: 64,
            tos: 0,
            stop_count: 0,
            probes_sent: 0,
            sport: 0,
            dport: 0,
            icmp_csum: 0,
            pmtu: 0,
            tcp_seq: 0,
            tcp_ack: 0,
            tsps: Vec::new(),
            errmsg: None,
            replies: Vec::new(),
        }
    }

    /// Whether `reply` is an answer from the target itself (echo reply for
    /// icmp-echo, timestamp reply for icmp-time, any TCP reply for TCP methods,
    /// a UDP reply or ICMP port unreachable for UDP methods) and not an error.
    #[must_use]
    pub fn is_from_target(&self, reply: &PingReply) -> bool {
        match self.method {
            PingMethod::IcmpEcho => reply.is_icmp_echo_reply(),
            PingMethod::IcmpTime => reply.is_icmp_tsreply(),
            m if m.is_tcp() => reply.is_tcp(),
            m if m.is_udp() => reply.is_udp() || reply.is_icmp_unreach_port(),
            _ => false,
        }
    }

    /// The first reply to probe `probe_id`, if it got one.
    #[must_use]
    pub fn reply(&self, probe_id: u16) -> Option<&PingReply> {
        self.replies.iter().find(|r| r.probe_id == probe_id)
    }

    /// Summary statistics over the replies, as scamper computes them.
    #[must_use]
    pub fn stats(&self) -> PingStats {
        let mut st = PingStats::default();
        let mut seen = vec![false; usize::from(self.probes_sent)];
        let mut sum: u128 = 0;
        let mut rtts: Vec<u128> = Vec::new();
        let mut pending = std::collections::BTreeSet::new();
        for r in &self.replies {
            if r.flags.contains(PingReplyFlags::PENDING) {
                pending.insert(r.probe_id);
            }
            if !self.is_from_target(r) {
                st.nerrs += 1;
                continue;
            }
            let us = r.rtt.as_micros();
            sum += us;
            rtts.push(us);
            st.min_rtt = Some(st.min_rtt.map_or(r.rtt, |m: Duration| m.min(r.rtt)));
            st.max_rtt = Some(st.max_rtt.map_or(r.rtt, |m: Duration| m.max(r.rtt)));
            match seen.get_mut(usize::from(r.probe_id)) {
                Some(s) if *s => st.ndups += 1,
                Some(s) => {
                    *s = true;
                    st.nreplies += 1;
                }
                None => st.nreplies += 1,
            }
        }
        st.npending = pending.len() as u32;
        if !rtts.is_empty() {
            let n = rtts.len() as u128;
            let avg = sum / n;
            let var = rtts.iter().map(|&x| x.abs_diff(avg).pow(2)).sum::<u128>() / n;
            st.avg_rtt = Some(Duration::from_micros(avg as u64));
            st.stddev_rtt = Some(Duration::from_micros(isqrt(var) as u64));
        }
        st.nloss = u32::from(self.probes_sent)
            .saturating_sub(st.nreplies)
            .saturating_sub(st.npending);
        st
    }
}

fn isqrt(v: u128) -> u128 {
    if v < 2 {
        return v;
    }
    let mut x = (v as f64).sqrt() as u128;
    while x * x > v {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= v {
        x += 1;
    }
    x
}

/// Ping statistics over the replies from the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PingStats {
    /// Probes with at least one reply from the target.
    pub nreplies: u32,
    /// Replies from the target beyond the first for a probe.
    pub ndups: u32,
    /// Probes sent, not pending, without a reply from the target.
    pub nloss: u32,
    /// Replies not from the target (errors).
    pub nerrs: u32,
    /// Probes flagged pending.
    pub npending: u32,
    /// Smallest RTT.
    pub min_rtt: Option<Duration>,
    /// Largest RTT.
    pub max_rtt: Option<Duration>,
    /// Mean RTT, truncated to microseconds.
    pub avg_rtt: Option<Duration>,
    /// Population standard deviation, truncated to microseconds.
    pub stddev_rtt: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(id: u16, from: &str, icmp_type: u8, rtt_us: u64) -> PingReply {
        let mut r = PingReply::new(id, from.parse().unwrap(), Duration::from_micros(rtt_us));
        r.icmp_type = icmp_type;
        r
    }

    #[test]
    fn stats_count_duplicates_errors_and_loss() {
        let mut p = Ping::new("192.0.2.1".parse().unwrap(), Timestamp::new(1, 0));
        p.probes_sent = 4;
        p.replies = vec![
            reply(0, "192.0.2.1", 0, 10_000),
            reply(0, "192.0.2.1", 0, 30_000),
            reply(1, "192.0.2.254", 11, 5_000),
            reply(2, "192.0.2.1", 0, 20_000),
        ];
        let st = p.stats();
        assert_eq!(
            (st.nreplies, st.ndups, st.nerrs, st.nloss, st.npending),
            (2, 1, 1, 2, 0)
        );
        assert_eq!(st.min_rtt, Some(Duration::from_millis(10)));
        assert_eq!(st.max_rtt, Some(Duration::from_millis(30)));
        assert_eq!(st.avg_rtt, Some(Duration::from_millis(20)));
        // Population standard deviation of 10, 30, 20 ms: sqrt(200/3) ms = 8.164 ms.
        assert_eq!(st.stddev_rtt, Some(Duration::from_micros(8164)));
        assert_eq!(p.reply(1).map(|r| r.icmp_type), Some(11));
        assert!(!p.is_from_target(&p.replies[2]));
    }

    #[test]
    fn no_replies_means_no_rtts() {
        let mut p = Ping::new("2001:db8::1".parse().unwrap(), Timestamp::new(1, 0));
        p.probes_sent = 3;
        let st = p.stats();
        assert_eq!((st.nreplies, st.nloss), (0, 3));
        assert_eq!(st.min_rtt, None);
        assert_eq!(p.probe_size, 56);
    }
}
