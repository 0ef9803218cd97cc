//! The engine's view of packets: what a probe is made of ([`ProbeDesc`]) and
//! what a received reply says ([`Rx`]). The translation to and from bytes is
//! `vantage-wire`'s job; this module only adapts its API to the engine.

use std::net::IpAddr;
use std::time::SystemTime;

use vantage_model::IcmpExt;

/// ICMP types the engine cares about.
pub(crate) mod icmp {
    /// ICMPv4 echo reply.
    pub const V4_ECHO_REPLY: u8 = 0;
    /// ICMPv4 destination unreachable.
    pub const V4_UNREACH: u8 = 3;
    /// ICMPv4 echo request.
    pub const V4_ECHO_REQUEST: u8 = 8;
    /// ICMPv4 time exceeded.
    pub const V4_TIME_EXCEEDED: u8 = 11;
    /// ICMPv4 timestamp request.
    pub const V4_TIMESTAMP: u8 = 13;
    /// ICMPv4 timestamp reply.
    pub const V4_TIMESTAMP_REPLY: u8 = 14;
    /// ICMPv4 port unreachable code.
    pub const V4_PORT_UNREACH: u8 = 3;
    /// ICMPv4 fragmentation needed code (the v4 "packet too big").
    pub const V4_FRAG_NEEDED: u8 = 4;
    /// ICMPv6 destination unreachable.
    pub const V6_UNREACH: u8 = 1;
    /// ICMPv6 packet too big.
    pub const V6_PACKET_TOO_BIG: u8 = 2;
    /// ICMPv6 time exceeded.
    pub const V6_TIME_EXCEEDED: u8 = 3;
    /// ICMPv6 echo request.
    pub const V6_ECHO_REQUEST: u8 = 128;
    /// ICMPv6 echo reply.
    pub const V6_ECHO_REPLY: u8 = 129;
    /// ICMPv6 port unreachable code.
    pub const V6_PORT_UNREACH: u8 = 4;
}

/// IP protocol numbers.
pub(crate) mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
}

/// TCP flag bits.
pub(crate) mod tcpflags {
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// Everything about a probe packet the engine decides.
#[derive(Clone, Debug)]
pub(crate) struct ProbeDesc<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub tos: u8,
    /// IPv4 identification (ignored for IPv6).
    pub ipid: u16,
    /// IPv6 flow label (ignored for IPv4).
    pub flow_label: u32,
    /// IPv4 options bytes (record route, timestamps), already padded.
    pub ip_options: &'a [u8],
    pub l4: L4Desc<'a>,
}

/// The transport part of a probe.
#[derive(Clone, Debug)]
pub(crate) enum L4Desc<'a> {
    /// ICMP(v6) echo request; `csum` forces the ICMP checksum through the
    /// first two payload bytes.
    Echo {
        id: u16,
        seq: u16,
        payload: &'a [u8],
        csum: Option<u16>,
    },
    /// ICMPv4 timestamp request with an originate timestamp; `csum` as for
    /// echo requests.
    Timestamp {
        id: u16,
        seq: u16,
        originate: u32,
        payload: &'a [u8],
        csum: Option<u16>,
    },
    /// UDP; `csum` forces the UDP checksum through the first two payload bytes.
    Udp {
        sport: u16,
        dport: u16,
        payload: &'a [u8],
        csum: Option<u16>,
    },
    /// TCP segment without payload beyond `payload`.
    Tcp {
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        mss: Option<u16>,
        payload: &'a [u8],
    },
}

/// The transport header fields found in an ICMP error's quote (as much as
/// the quote holds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QuotedL4 {
    /// Quoted ICMP: type, code, checksum, identifier and sequence.
    Icmp {
        icmp_type: u8,
        code: u8,
        csum: u16,
        id: u16,
        seq: u16,
    },
    /// Quoted UDP header.
    Udp { sport: u16, dport: u16, csum: u16 },
    /// Quoted TCP header; the sequence number is there when the quote holds
    /// at least 8 bytes of it.
    Tcp {
        sport: u16,
        dport: u16,
        seq: Option<u32>,
    },
    /// Too little of the transport header to identify anything.
    Short,
}

/// The quoted (inner) IP header of an ICMP error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quote {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub tos: u8,
    pub ipid: u16,
    pub total_len: u16,
    pub proto: u8,
    pub flow_label: u32,
    pub l4: QuotedL4,
}

/// What kind of reply arrived.
#[derive(Clone, Debug)]
pub(crate) enum RxKind<'a> {
    /// ICMP(v6) echo reply.
    EchoReply { id: u16, seq: u16 },
    /// ICMPv4 timestamp reply.
    TimestampReply {
        id: u16,
        seq: u16,
        originate: u32,
        receive: u32,
        transmit: u32,
    },
    /// An ICMP error with the quote of the packet that caused it.
    Error {
        icmp_type: u8,
        code: u8,
        nhmtu: u16,
        quote: Quote,
        ext: Option<&'a [u8]>,
    },
    /// A TCP segment.
    Tcp {
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
    },
    /// A UDP datagram.
    Udp { sport: u16, dport: u16 },
}

/// A received packet, summarised.
#[derive(Clone, Debug)]
pub(crate) struct Rx<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IP TTL / hop limit, if the receive path knows it.
    pub ttl: Option<u8>,
    pub tos: u8,
    /// IPv4 identification, or the IPv6 fragment identification if present.
    pub ipid: Option<u32>,
    /// IP length of the reply.
    pub size: u16,
    /// Wall-clock receive time.
    pub time: SystemTime,
    pub kind: RxKind<'a>,
    /// The reply's own IPv4 options (record route, timestamps), raw.
    pub ip_options: &'a [u8],
}

impl Rx<'_> {
    /// The protocol number of the reply itself.
    pub fn proto(&self) -> u8 {
        match self.kind {
            RxKind::Tcp { .. } => proto::TCP,
            RxKind::Udp { .. } => proto::UDP,
            _ if self.src.is_ipv6() => proto::ICMPV6,
            _ => proto::ICMP,
        }
    }

    /// ICMP type and code, for ICMP replies.
    pub fn icmp_type_code(&self) -> Option<(u8, u8)> {
        let v6 = self.src.is_ipv6();
        match self.kind {
            RxKind::EchoReply { .. } => Some((
                if v6 {
                    icmp::V6_ECHO_REPLY
                } else {
                    icmp::V4_ECHO_REPLY
                },
                0,
            )),
            RxKind::TimestampReply { .. } => Some((icmp::V4_TIMESTAMP_REPLY, 0)),
            RxKind::Error {
                icmp_type, code, ..
            } => Some((icmp_type, code)),
            RxKind::Tcp { .. } | RxKind::Udp { .. } => None,
        }
    }

    /// The ICMP extension objects of an ICMP error, decoded (malformed
    /// objects end the list).
    pub fn extensions(&self) -> Vec<IcmpExt> {
        let RxKind::Error {
            ext: Some(bytes), ..
        } = self.kind
        else {
            return Vec::new();
        };
        let Ok(ext) = vantage_wire::icmp_ext::Extensions::new_checked(bytes) else {
            return Vec::new();
        };
        ext.objects()
            .map_while(Result::ok)
            .map(|o| IcmpExt {
                class: o.class_num,
                ctype: o.c_type,
                data: o.payload.to_vec(),
            })
            .collect()
    }
}
