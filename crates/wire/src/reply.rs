//! The prober's receive path: a borrowed summary of a received packet.
//!
//! Entry points, by what the socket delivers:
//! - [`parse_ipv4`]: an IPv4 packet with its header (raw ICMP, TCP or UDP
//!   sockets, packet sockets after the link header);
//! - [`parse_ipv6`]: an IPv6 packet with its header (packet sockets);
//! - [`parse_icmpv6`]: an ICMPv6 message as a Linux raw ICMPv6 socket delivers it,
//!   without the IPv6 header, plus the addresses and hop limit from `recvmsg`.
//!
//! The result, [`Reply`], holds the outer header fields, what kind of message it
//! is, and for ICMP errors the [`Quote`]: the quoted IP header and whatever part
//! of the quoted transport header is present (routers often quote only 8 bytes),
//! plus the RFC 4884 extensions. Parsing never allocates and never panics; bytes
//! that cannot be a reply give an [`Error`] saying why.

use crate::icmp_ext::{self, Extensions};
use crate::ipv6::walk_extension_headers;
use crate::tcp::TcpFlags;
use crate::{Error, IpProtocol, Result, be16, be32, checksum, icmpv4, icmpv6, ipv4, ipv6};
use std::net::{IpAddr, Ipv6Addr};

/// What a received packet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// ICMP (v4 type 0, v6 type 129) echo reply.
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
    },
    /// ICMP echo request (a raw socket also sees our own probes on loopback).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
    },
    /// ICMPv4 timestamp reply.
    TimestampReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Originate timestamp.
        originate: u32,
        /// Receive timestamp.
        receive: u32,
        /// Transmit timestamp.
        transmit: u32,
    },
    /// ICMP time exceeded (v4 type 11, v6 type 3).
    TimeExceeded {
        /// Code (0 in transit, 1 reassembly).
        code: u8,
    },
    /// ICMP destination unreachable (v4 type 3, v6 type 1). Codes differ between
    /// the families.
    DestUnreachable {
        /// Code.
        code: u8,
        /// ICMPv4 bytes 6–7: the next-hop MTU when the code is 4
        /// (fragmentation needed); zero for ICMPv6.
        next_hop_mtu: u16,
    },
    /// ICMPv6 packet too big (type 2).
    PacketTooBig {
        /// The MTU of the next hop.
        mtu: u32,
    },
    /// ICMP parameter problem (v4 type 12, v6 type 4).
    ParamProblem {
        /// Code.
        code: u8,
        /// Pointer to the offending byte.
        pointer: u32,
    },
    /// Any other ICMP message.
    OtherIcmp {
        /// Type.
        msg_type: u8,
        /// Code.
        code: u8,
    },
    /// A TCP segment.
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Sequence number.
        seq_number: u32,
        /// Acknowledgment number.
        ack_number: u32,
        /// Flags.
        flags: TcpFlags,
        /// Window.
        window_len: u16,
    },
    /// A UDP datagram.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Length field.
        len: u16,
    },
}

/// Fields of the quoted IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotedIp {
    /// Source address (our probe's source).
    pub src: IpAddr,
    /// Destination address (our probe's destination).
    pub dst: IpAddr,
    /// TTL or hop limit as the quoting router saw it.
    pub ttl: u8,
    /// IPv4 identification; for IPv6, the fragment header's identification if
    /// one was quoted, else 0.
    pub ip_id: u32,
    /// TOS byte or traffic class.
    pub tos: u8,
    /// The transport protocol (for IPv6, after walking extension headers; the
    /// first unwalkable header if the walk stopped).
    pub protocol: IpProtocol,
    /// IPv4 total length; for IPv6 the payload length plus 40.
    pub total_len: u32,
    /// IPv6 flow label (0 for IPv4).
    pub flow_label: u32,
    /// Header length including options or walked extension headers.
    pub header_len: usize,
    /// IPv4 don't-fragment flag (false for IPv6).
    pub dont_frag: bool,
    /// Fragment offset in eight-byte units (IPv4 header, or IPv6 fragment header).
    pub frag_offset: u16,
}

/// Quoted ICMP header fields that are present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotedIcmp {
    /// Type.
    pub msg_type: u8,
    /// Code (with 2 bytes or more).
    pub code: Option<u8>,
    /// Checksum (with 4 bytes or more).
    pub checksum: Option<u16>,
    /// Identifier (with 6 bytes or more).
    pub ident: Option<u16>,
    /// Sequence number (with 8 bytes or more).
    pub seq_no: Option<u16>,
}

/// Quoted UDP header fields that are present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotedUdp {
    /// Source port.
    pub src_port: u16,
    /// Destination port (with 4 bytes or more).
    pub dst_port: Option<u16>,
    /// Length (with 6 bytes or more).
    pub len: Option<u16>,
    /// Checksum (with 8 bytes or more).
    pub checksum: Option<u16>,
}

/// Quoted TCP header fields that are present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotedTcp {
    /// Source port.
    pub src_port: u16,
    /// Destination port (with 4 bytes or more).
    pub dst_port: Option<u16>,
    /// Sequence number (with 8 bytes or more).
    pub seq_number: Option<u32>,
    /// Acknowledgment number (with 12 bytes or more).
    pub ack_number: Option<u32>,
    /// Flags (with 14 bytes or more).
    pub flags: Option<TcpFlags>,
    /// Window (with 16 bytes or more).
    pub window_len: Option<u16>,
}

/// The quoted transport header, as far as it is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotedTransport {
    /// ICMP or ICMPv6 (at least the type byte).
    Icmp(QuotedIcmp),
    /// UDP (at least the source port).
    Udp(QuotedUdp),
    /// TCP (at least the source port).
    Tcp(QuotedTcp),
}

/// The quoted datagram of an ICMP error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote<'a> {
    /// All quoted bytes (without any extension structure): nothing is lost.
    pub bytes: &'a [u8],
    /// The quoted IP header, when its fixed part is present with the right version.
    pub ip: Option<QuotedIp>,
    /// The quoted transport bytes (after the IP header and options/extension
    /// headers), empty if the IP header could not be passed.
    pub transport_bytes: &'a [u8],
    /// The quoted transport header fields that are present.
    pub transport: Option<QuotedTransport>,
}

/// A borrowed summary of a received packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'a> {
    /// Outer source address (the responder).
    pub src: IpAddr,
    /// Outer destination address (us).
    pub dst: IpAddr,
    /// TTL or hop limit of the reply.
    pub ttl: u8,
    /// IPv4 identification; for IPv6 the fragment identification if the packet
    /// had a fragment header, else 0.
    pub ip_id: u32,
    /// Size of the reply: IPv4 total length; IPv6 payload length plus 40 (for
    /// [`parse_icmpv6`], the ICMPv6 length plus 40).
    pub size: u32,
    /// TOS byte or traffic class (0 from [`parse_icmpv6`] unless the caller sets
    /// it from a control message).
    pub tos: u8,
    /// IPv6 flow label (0 for IPv4 and from [`parse_icmpv6`]).
    pub flow_label: u32,
    /// What the packet is.
    pub kind: ReplyKind,
    /// For ICMP errors, the quoted datagram.
    pub quote: Option<Quote<'a>>,
    /// RFC 4884 extensions, if the ICMP error carried any.
    pub extensions: Option<Extensions<'a>>,
    /// The transport bytes: the whole ICMP message, TCP segment or UDP datagram.
    pub transport: &'a [u8],
}

impl Reply<'_> {
    /// True for IPv6 replies.
    pub fn is_ipv6(&self) -> bool {
        self.src.is_ipv6()
    }

    /// For ICMP replies, the (type, code) bytes as received.
    pub fn icmp_type_code(&self) -> Option<(u8, u8)> {
        match self.kind {
            ReplyKind::Tcp { .. } | ReplyKind::Udp { .. } => None,
            _ => Some((*self.transport.first()?, *self.transport.get(1)?)),
        }
    }

    /// The MTU a packet-too-big message reports (ICMPv4 destination unreachable
    /// code 4, ICMPv6 type 2).
    pub fn next_hop_mtu(&self) -> Option<u32> {
        match self.kind {
            ReplyKind::PacketTooBig { mtu } => Some(mtu),
            ReplyKind::DestUnreachable {
                code: icmpv4::CODE_FRAG_NEEDED,
                next_hop_mtu,
            } if !self.is_ipv6() => Some(u32::from(next_hop_mtu)),
            _ => None,
        }
    }

    /// True when the transport checksum verifies (with the pseudo-header where
    /// the protocol has one). Computed on demand, not while parsing.
    pub fn verify_checksum(&self) -> bool {
        let (proto, pseudo) = match self.kind {
            ReplyKind::Tcp { .. } => (IpProtocol::Tcp, true),
            ReplyKind::Udp { .. } => {
                return crate::udp::Packet::new_checked(self.transport)
                    .is_ok_and(|p| p.verify_checksum(self.src, self.dst));
            }
            _ if self.is_ipv6() => (IpProtocol::Icmpv6, true),
            _ => (IpProtocol::Icmp, false),
        };
        let mut s = checksum::sum(self.transport);
        if pseudo {
            s = checksum::combine(
                s,
                checksum::pseudo_header(
                    self.src,
                    self.dst,
                    proto.into(),
                    self.transport.len() as u32,
                ),
            );
        }
        s == 0xffff
    }
}

/// Parses an IPv4 packet as a raw socket delivers it (with its IP header).
pub fn parse_ipv4(bytes: &[u8]) -> Result<Reply<'_>> {
    let p = ipv4::Packet::new_checked(bytes)?;
    if p.version() != 4 {
        return Err(Error::BadVersion {
            what: "IPv4 reply",
            version: p.version(),
            expected: 4,
        });
    }
    let hl = p.header_len();
    let total = usize::from(p.total_len());
    if total < hl {
        return Err(Error::BadLength {
            what: "IPv4 reply total length",
            field: total,
            have: bytes.len(),
        });
    }
    if p.frag_offset() != 0 {
        return Err(Error::Malformed {
            what: "IPv4 reply",
            reason: "it is a non-first fragment, which carries no transport header",
        });
    }
    // A total length past the buffer (a short read) keeps what is there.
    let l4 = &bytes[hl..total.min(bytes.len())];
    let src = IpAddr::V4(p.src_addr());
    let dst = IpAddr::V4(p.dst_addr());
    let mut reply = Reply {
        src,
        dst,
        ttl: p.ttl(),
        ip_id: u32::from(p.ident()),
        size: total as u32,
        tos: p.tos(),
        flow_label: 0,
        kind: ReplyKind::OtherIcmp {
            msg_type: 0,
            code: 0,
        },
        quote: None,
        extensions: None,
        transport: l4,
    };
    match p.protocol() {
        IpProtocol::Icmp => icmp4(&mut reply)?,
        IpProtocol::Tcp => reply.kind = tcp(l4)?,
        IpProtocol::Udp => reply.kind = udp(l4)?,
        other => {
            return Err(Error::UnsupportedProtocol {
                what: "IPv4 reply",
                protocol: other.into(),
            });
        }
    }
    Ok(reply)
}

/// Parses an IPv6 packet with its header (as a packet socket delivers it),
/// walking extension headers to ICMPv6, TCP or UDP.
pub fn parse_ipv6(bytes: &[u8]) -> Result<Reply<'_>> {
    let p = ipv6::Packet::new_checked(bytes)?;
    if p.version() != 6 {
        return Err(Error::BadVersion {
            what: "IPv6 reply",
            version: p.version(),
            expected: 6,
        });
    }
    let end = (ipv6::HEADER_LEN + usize::from(p.payload_len())).min(bytes.len());
    let payload = &bytes[ipv6::HEADER_LEN..end];
    let up = walk_extension_headers(p.next_header(), payload)?;
    if up.fragment.is_some_and(|f| f.offset != 0) {
        return Err(Error::Malformed {
            what: "IPv6 reply",
            reason: "it is a non-first fragment, which carries no transport header",
        });
    }
    let l4 = &payload[up.offset..];
    let mut reply = Reply {
        src: IpAddr::V6(p.src_addr()),
        dst: IpAddr::V6(p.dst_addr()),
        ttl: p.hop_limit(),
        ip_id: up.fragment.map_or(0, |f| f.ident),
        size: u32::from(p.payload_len()) + ipv6::HEADER_LEN as u32,
        tos: p.traffic_class(),
        flow_label: p.flow_label(),
        kind: ReplyKind::OtherIcmp {
            msg_type: 0,
            code: 0,
        },
        quote: None,
        extensions: None,
        transport: l4,
    };
    match up.protocol {
        IpProtocol::Icmpv6 => icmp6(&mut reply)?,
        IpProtocol::Tcp => reply.kind = tcp(l4)?,
        IpProtocol::Udp => reply.kind = udp(l4)?,
        other => {
            return Err(Error::UnsupportedProtocol {
                what: "IPv6 reply",
                protocol: other.into(),
            });
        }
    }
    Ok(reply)
}

/// Parses an ICMPv6 message as a Linux raw ICMPv6 socket delivers it (no IPv6
/// header); the addresses and hop limit come from `recvmsg`.
pub fn parse_icmpv6(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, icmp: &[u8]) -> Result<Reply<'_>> {
    let mut reply = Reply {
        src: IpAddr::V6(src),
        dst: IpAddr::V6(dst),
        ttl: hop_limit,
        ip_id: 0,
        size: (icmp.len() + ipv6::HEADER_LEN) as u32,
        tos: 0,
        flow_label: 0,
        kind: ReplyKind::OtherIcmp {
            msg_type: 0,
            code: 0,
        },
        quote: None,
        extensions: None,
        transport: icmp,
    };
    icmp6(&mut reply)?;
    Ok(reply)
}

fn tcp(l4: &[u8]) -> Result<ReplyKind> {
    let p = crate::tcp::Packet::new_checked(l4)?;
    Ok(ReplyKind::Tcp {
        src_port: p.src_port(),
        dst_port: p.dst_port(),
        seq_number: p.seq_number(),
        ack_number: p.ack_number(),
        flags: p.flags(),
        window_len: p.window_len(),
    })
}

fn udp(l4: &[u8]) -> Result<ReplyKind> {
    let p = crate::udp::Packet::new_checked(l4)?;
    Ok(ReplyKind::Udp {
        src_port: p.src_port(),
        dst_port: p.dst_port(),
        len: p.len(),
    })
}

fn icmp4(reply: &mut Reply<'_>) -> Result<()> {
    use icmpv4::Message as M;
    let b = reply.transport;
    let p = icmpv4::Packet::new_checked(b)?;
    let code = p.msg_code();
    let ty = p.msg_type();
    reply.kind = match ty {
        M::EchoReply => ReplyKind::EchoReply {
            ident: p.echo_ident(),
            seq_no: p.echo_seq_no(),
        },
        M::EchoRequest => ReplyKind::EchoRequest {
            ident: p.echo_ident(),
            seq_no: p.echo_seq_no(),
        },
        M::TimestampReply => {
            let (originate, receive, transmit) = p.timestamps().ok_or(Error::Truncated {
                what: "ICMPv4 timestamp reply",
                need: icmpv4::TIMESTAMP_LEN,
                have: b.len(),
            })?;
            ReplyKind::TimestampReply {
                ident: p.echo_ident(),
                seq_no: p.echo_seq_no(),
                originate,
                receive,
                transmit,
            }
        }
        M::TimeExceeded => ReplyKind::TimeExceeded { code },
        M::DstUnreachable => ReplyKind::DestUnreachable {
            code,
            next_hop_mtu: p.next_hop_mtu(),
        },
        M::ParamProblem => ReplyKind::ParamProblem {
            code,
            pointer: u32::from(p.pointer()),
        },
        other => ReplyKind::OtherIcmp {
            msg_type: other.into(),
            code,
        },
    };
    let body = &b[icmpv4::HEADER_LEN..];
    let (quote, ext) = match ty {
        M::TimeExceeded | M::DstUnreachable | M::ParamProblem => {
            icmp_ext::split_body(body, p.ext_length(), 4)
        }
        M::SourceQuench | M::Redirect => (body, None),
        _ => return Ok(()),
    };
    reply.quote = Some(parse_quote(quote, false));
    reply.extensions = ext;
    Ok(())
}

fn icmp6(reply: &mut Reply<'_>) -> Result<()> {
    use icmpv6::Message as M;
    let b = reply.transport;
    let p = icmpv6::Packet::new_checked(b)?;
    let code = p.msg_code();
    let ty = p.msg_type();
    reply.kind = match ty {
        M::EchoReply => ReplyKind::EchoReply {
            ident: p.echo_ident(),
            seq_no: p.echo_seq_no(),
        },
        M::EchoRequest => ReplyKind::EchoRequest {
            ident: p.echo_ident(),
            seq_no: p.echo_seq_no(),
        },
        M::TimeExceeded => ReplyKind::TimeExceeded { code },
        M::DstUnreachable => ReplyKind::DestUnreachable {
            code,
            next_hop_mtu: 0,
        },
        M::PacketTooBig => ReplyKind::PacketTooBig { mtu: p.mtu() },
        M::ParamProblem => ReplyKind::ParamProblem {
            code,
            pointer: p.pointer(),
        },
        other => ReplyKind::OtherIcmp {
            msg_type: other.into(),
            code,
        },
    };
    let body = &b[icmpv6::HEADER_LEN..];
    let (quote, ext) = match ty {
        M::TimeExceeded | M::DstUnreachable => icmp_ext::split_body(body, p.ext_length(), 8),
        M::PacketTooBig | M::ParamProblem => (body, None),
        _ => return Ok(()),
    };
    reply.quote = Some(parse_quote(quote, true));
    reply.extensions = ext;
    Ok(())
}

/// Parses a quoted datagram: as much of it as is there. Never fails.
pub fn parse_quote(bytes: &[u8], ipv6: bool) -> Quote<'_> {
    let mut q = Quote {
        bytes,
        ip: None,
        transport_bytes: &[],
        transport: None,
    };
    let parsed = if ipv6 {
        quoted_ipv6(bytes)
    } else {
        quoted_ipv4(bytes)
    };
    let Some((ip, l4)) = parsed else {
        return q;
    };
    q.ip = Some(ip);
    if let Some(l4) = l4 {
        q.transport_bytes = l4;
        q.transport = quoted_transport(ip.protocol, l4);
    }
    q
}

/// The quoted IPv4 header and, when the whole header (options too) is present
/// and this is a first fragment, the transport bytes.
fn quoted_ipv4(b: &[u8]) -> Option<(QuotedIp, Option<&[u8]>)> {
    if b.len() < ipv4::HEADER_LEN || b[0] >> 4 != 4 {
        return None;
    }
    let p = ipv4::Packet::new_unchecked(b);
    let hl = p.header_len();
    let ip = QuotedIp {
        src: IpAddr::V4(p.src_addr()),
        dst: IpAddr::V4(p.dst_addr()),
        ttl: p.ttl(),
        ip_id: u32::from(p.ident()),
        tos: p.tos(),
        protocol: p.protocol(),
        total_len: u32::from(p.total_len()),
        flow_label: 0,
        header_len: hl,
        dont_frag: p.dont_frag(),
        frag_offset: p.frag_offset(),
    };
    let l4 = (hl >= ipv4::HEADER_LEN && hl <= b.len() && ip.frag_offset == 0).then(|| &b[hl..]);
    Some((ip, l4))
}

fn quoted_ipv6(b: &[u8]) -> Option<(QuotedIp, Option<&[u8]>)> {
    if b.len() < ipv6::HEADER_LEN || b[0] >> 4 != 6 {
        return None;
    }
    let p = ipv6::Packet::new_unchecked(b);
    let rest = &b[ipv6::HEADER_LEN..];
    let mut ip = QuotedIp {
        src: IpAddr::V6(p.src_addr()),
        dst: IpAddr::V6(p.dst_addr()),
        ttl: p.hop_limit(),
        ip_id: 0,
        tos: p.traffic_class(),
        protocol: p.next_header(),
        total_len: u32::from(p.payload_len()) + ipv6::HEADER_LEN as u32,
        flow_label: p.flow_label(),
        header_len: ipv6::HEADER_LEN,
        dont_frag: false,
        frag_offset: 0,
    };
    let Ok(up) = walk_extension_headers(p.next_header(), rest) else {
        return Some((ip, None));
    };
    ip.protocol = up.protocol;
    ip.header_len += up.offset;
    if let Some(f) = up.fragment {
        ip.ip_id = f.ident;
        ip.frag_offset = f.offset;
        if f.offset != 0 {
            return Some((ip, None));
        }
    }
    Some((ip, Some(&rest[up.offset..])))
}

fn quoted_transport(protocol: IpProtocol, b: &[u8]) -> Option<QuotedTransport> {
    let u8_at = |at: usize| b.get(at).copied();
    let u16_at = |at: usize| (b.len() >= at + 2).then(|| be16(b, at));
    let u32_at = |at: usize| (b.len() >= at + 4).then(|| be32(b, at));
    match protocol {
        IpProtocol::Icmp | IpProtocol::Icmpv6 => Some(QuotedTransport::Icmp(QuotedIcmp {
            msg_type: u8_at(0)?,
            code: u8_at(1),
            checksum: u16_at(2),
            ident: u16_at(4),
            seq_no: u16_at(6),
        })),
        IpProtocol::Udp => Some(QuotedTransport::Udp(QuotedUdp {
            src_port: u16_at(0)?,
            dst_port: u16_at(2),
            len: u16_at(4),
            checksum: u16_at(6),
        })),
        IpProtocol::Tcp => Some(QuotedTransport::Tcp(QuotedTcp {
            src_port: u16_at(0)?,
            dst_port: u16_at(2),
            seq_number: u32_at(4),
            ack_number: u32_at(8),
            flags: u8_at(13).map(TcpFlags),
            window_len: u16_at(14),
        })),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::icmp_ext::MplsEntry;
    use crate::probe::{ChosenChecksum, IpHeader, Ipv4Header, Ipv6Header, Probe, Transport};
    use crate::{OptionBytes, icmpv4, icmpv6, ipv4, ipv6, tcp::TcpFlags};
    use hex_literal::hex;
    use std::net::Ipv4Addr;

    const ROUTER4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 9);
    const US4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const DST4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

    fn router6() -> Ipv6Addr {
        "2001:db8:ffff::9".parse().unwrap()
    }
    fn us6() -> Ipv6Addr {
        "2001:db8::1".parse().unwrap()
    }
    fn dst6() -> Ipv6Addr {
        "2001:db8::2".parse().unwrap()
    }

    fn probe4(transport: Transport<'_>) -> Vec<u8> {
        let p = Probe {
            ip: IpHeader::V4(Ipv4Header {
                src: US4,
                dst: DST4,
                ttl: 1,
                tos: 0x10,
                ident: 0xabcd,
                dont_frag: false,
                options: OptionBytes::new(),
            }),
            transport,
            checksum: None,
        };
        let mut b = vec![0u8; p.buffer_len()];
        p.emit(&mut b).unwrap();
        b
    }

    fn probe6(transport: Transport<'_>) -> Vec<u8> {
        let p = Probe {
            ip: IpHeader::V6(Ipv6Header {
                src: us6(),
                dst: dst6(),
                hop_limit: 1,
                traffic_class: 0x20,
                flow_label: 0xfeed,
                fragment: None,
            }),
            transport,
            checksum: None,
        };
        let mut b = vec![0u8; p.buffer_len()];
        p.emit(&mut b).unwrap();
        b
    }

    /// Wraps an ICMPv4 message in an IPv4 header from the router to us.
    fn wrap4(icmp: &icmpv4::Repr<'_>, ttl: u8) -> Vec<u8> {
        let ip = ipv4::Repr {
            src_addr: ROUTER4,
            dst_addr: US4,
            protocol: IpProtocol::Icmp,
            payload_len: icmp.buffer_len(),
            ttl,
            tos: 0xc0,
            ident: 777,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
            options: OptionBytes::new(),
        };
        let mut b = vec![0u8; ip.buffer_len() + icmp.buffer_len()];
        ip.emit(&mut ipv4::Packet::new_unchecked(&mut b[..]))
            .unwrap();
        icmp.emit(&mut icmpv4::Packet::new_unchecked(&mut b[20..]))
            .unwrap();
        b
    }

    fn icmp6_bytes(icmp: &icmpv6::Repr<'_>) -> Vec<u8> {
        let mut b = vec![0u8; icmp.buffer_len()];
        icmp.emit(
            &mut icmpv6::Packet::new_unchecked(&mut b[..]),
            router6(),
            us6(),
        )
        .unwrap();
        b
    }

    fn wrap6(icmp: &[u8]) -> Vec<u8> {
        let ip = ipv6::Repr {
            src_addr: router6(),
            dst_addr: us6(),
            next_header: IpProtocol::Icmpv6,
            payload_len: icmp.len(),
            hop_limit: 60,
            traffic_class: 0,
            flow_label: 0,
        };
        let mut b = vec![0u8; 40];
        ip.emit(&mut ipv6::Packet::new_unchecked(&mut b[..]))
            .unwrap();
        b.extend_from_slice(icmp);
        b
    }

    fn mpls_ext() -> Vec<u8> {
        let mut payload = Vec::new();
        payload.extend_from_slice(
            &MplsEntry {
                label: 24000,
                exp: 0,
                bottom_of_stack: true,
                ttl: 1,
            }
            .to_bytes(),
        );
        let objs = [icmp_ext::Object {
            class_num: 1,
            c_type: 1,
            payload: &payload,
        }];
        let mut b = vec![0u8; icmp_ext::buffer_len(&objs)];
        icmp_ext::emit(&objs, &mut b).unwrap();
        b
    }

    #[test]
    fn time_exceeded_udp_v4() {
        let probe = probe4(Transport::Udp {
            src_port: 40000,
            dst_port: 33435,
            payload: &[0; 12],
        });
        let icmp = icmpv4::Repr::TimeExceeded {
            code: 0,
            quote: &probe,
            extensions: None,
        };
        let bytes = wrap4(&icmp, 250);
        let r = parse_ipv4(&bytes).unwrap();
        assert!(r.verify_checksum());
        assert_eq!(r.src, IpAddr::V4(ROUTER4));
        assert_eq!(r.dst, IpAddr::V4(US4));
        assert_eq!((r.ttl, r.ip_id, r.tos), (250, 777, 0xc0));
        assert_eq!(r.size as usize, bytes.len());
        assert_eq!(r.kind, ReplyKind::TimeExceeded { code: 0 });
        assert_eq!(r.icmp_type_code(), Some((11, 0)));
        assert!(r.extensions.is_none());
        let q = r.quote.unwrap();
        assert_eq!(q.bytes, &probe[..]);
        let ip = q.ip.unwrap();
        assert_eq!(ip.src, IpAddr::V4(US4));
        assert_eq!(ip.dst, IpAddr::V4(DST4));
        assert_eq!((ip.ttl, ip.ip_id, ip.tos), (1, 0xabcd, 0x10));
        assert_eq!(ip.protocol, IpProtocol::Udp);
        assert_eq!(ip.total_len, 40);
        match q.transport.unwrap() {
            QuotedTransport::Udp(u) => {
                assert_eq!(u.src_port, 40000);
                assert_eq!(u.dst_port, Some(33435));
                assert_eq!(u.len, Some(20));
                assert_eq!(u.checksum, Some(be16(&probe, 26)));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    /// A quote truncated at every length keeps exactly the fields present.
    #[test]
    fn truncated_quotes_v4_every_length() {
        let mut opts = OptionBytes::new();
        opts.push_tcp(&crate::tcp::TcpOption::Mss(1460)).unwrap();
        let probes = [
            probe4(Transport::Udp {
                src_port: 1,
                dst_port: 2,
                payload: &[9; 4],
            }),
            probe4(Transport::IcmpEcho {
                ident: 3,
                seq_no: 4,
                payload: &[9; 4],
            }),
            probe4(Transport::Tcp {
                src_port: 5,
                dst_port: 6,
                seq_number: 7,
                ack_number: 8,
                flags: TcpFlags::SYN,
                window_len: 9,
                options: opts,
                payload: &[],
            }),
        ];
        for probe in &probes {
            for n in 0..=probe.len() {
                let icmp = icmpv4::Repr::TimeExceeded {
                    code: 0,
                    quote: &probe[..n],
                    extensions: None,
                };
                let bytes = wrap4(&icmp, 9);
                let r = parse_ipv4(&bytes).unwrap();
                let q = r.quote.unwrap();
                assert_eq!(q.bytes, &probe[..n], "quote bytes kept at {n}");
                assert_eq!(q.ip.is_some(), n >= 20, "ip at {n}");
                let l4 = n.saturating_sub(20);
                assert_eq!(q.transport_bytes.len(), l4);
                check_transport(q.transport, l4);
            }
        }
    }

    fn check_transport(t: Option<QuotedTransport>, l4: usize) {
        match t {
            None => assert!(l4 < 2, "a transport header with {l4} bytes was not parsed"),
            Some(QuotedTransport::Icmp(i)) => {
                assert!(l4 >= 1);
                assert!(i.msg_type == 8 || i.msg_type == 128);
                assert_eq!(i.code.is_some(), l4 >= 2);
                assert_eq!(i.checksum.is_some(), l4 >= 4);
                assert_eq!(i.ident, (l4 >= 6).then_some(3));
                assert_eq!(i.seq_no, (l4 >= 8).then_some(4));
            }
            Some(QuotedTransport::Udp(u)) => {
                assert_eq!(u.src_port, 1);
                assert_eq!(u.dst_port, (l4 >= 4).then_some(2));
                assert_eq!(u.len.is_some(), l4 >= 6);
                assert_eq!(u.checksum.is_some(), l4 >= 8);
            }
            Some(QuotedTransport::Tcp(t)) => {
                assert_eq!(t.src_port, 5);
                assert_eq!(t.dst_port, (l4 >= 4).then_some(6));
                assert_eq!(t.seq_number, (l4 >= 8).then_some(7));
                assert_eq!(t.ack_number, (l4 >= 12).then_some(8));
                assert_eq!(t.flags, (l4 >= 14).then_some(TcpFlags::SYN));
                assert_eq!(t.window_len, (l4 >= 16).then_some(9));
            }
        }
    }

    #[test]
    fn truncated_quotes_v6_every_length() {
        let probes = [
            probe6(Transport::Udp {
                src_port: 1,
                dst_port: 2,
                payload: &[9; 4],
            }),
            probe6(Transport::IcmpEcho {
                ident: 3,
                seq_no: 4,
                payload: &[9; 4],
            }),
        ];
        for probe in &probes {
            for n in 0..=probe.len() {
                let icmp = icmp6_bytes(&icmpv6::Repr::TimeExceeded {
                    code: 0,
                    quote: &probe[..n],
                    extensions: None,
                });
                for r in [
                    parse_icmpv6(router6(), us6(), 61, &icmp).unwrap(),
                    parse_ipv6(&wrap6(&icmp)).unwrap(),
                ] {
                    assert!(r.verify_checksum());
                    assert_eq!(r.kind, ReplyKind::TimeExceeded { code: 0 });
                    let q = r.quote.unwrap();
                    assert_eq!(q.bytes, &probe[..n]);
                    assert_eq!(q.ip.is_some(), n >= 40);
                    if let Some(ip) = q.ip {
                        assert_eq!(ip.src, IpAddr::V6(us6()));
                        assert_eq!(ip.dst, IpAddr::V6(dst6()));
                        assert_eq!(ip.flow_label, 0xfeed);
                        assert_eq!(ip.tos, 0x20);
                        assert_eq!(ip.ttl, 1);
                        assert_eq!(ip.total_len as usize, probe.len());
                    }
                    check_transport(q.transport, n.saturating_sub(40));
                }
            }
        }
    }

    #[test]
    fn mpls_extension_in_reply_v4() {
        let probe = probe4(Transport::IcmpEcho {
            ident: 3,
            seq_no: 4,
            payload: &[0; 8],
        });
        let ext = mpls_ext();
        let icmp = icmpv4::Repr::TimeExceeded {
            code: 0,
            quote: &probe,
            extensions: Some(&ext),
        };
        let bytes = wrap4(&icmp, 9);
        let r = parse_ipv4(&bytes).unwrap();
        let q = r.quote.unwrap();
        assert_eq!(q.bytes.len(), 128);
        assert_eq!(&q.bytes[..probe.len()], &probe[..]);
        let e = r.extensions.unwrap();
        assert!(e.verify_checksum());
        let o = e.objects().next().unwrap().unwrap();
        let m: Vec<_> = o.mpls_entries().unwrap().collect();
        assert_eq!(m[0].label, 24000);
        assert!(m[0].bottom_of_stack);
    }

    #[test]
    fn mpls_extension_in_reply_v6() {
        let probe = probe6(Transport::Udp {
            src_port: 1,
            dst_port: 2,
            payload: &[0; 4],
        });
        let ext = mpls_ext();
        let icmp = icmp6_bytes(&icmpv6::Repr::DstUnreachable {
            code: 4,
            quote: &probe,
            extensions: Some(&ext),
        });
        assert_eq!(icmp[4], 16);
        let r = parse_icmpv6(router6(), us6(), 64, &icmp).unwrap();
        assert_eq!(
            r.kind,
            ReplyKind::DestUnreachable {
                code: 4,
                next_hop_mtu: 0
            }
        );
        assert_eq!(r.extensions.unwrap().as_bytes(), &ext[..]);
        assert_eq!(r.next_hop_mtu(), None);
    }

    #[test]
    fn legacy_extension_without_length_field() {
        // A pre-RFC 4884 router: 128-byte quote, no length field, extension after.
        let probe = probe4(Transport::Udp {
            src_port: 1,
            dst_port: 2,
            payload: &[0; 4],
        });
        let mut quote = probe.clone();
        quote.resize(128, 0);
        quote.extend_from_slice(&mpls_ext());
        let icmp = icmpv4::Repr::TimeExceeded {
            code: 0,
            quote: &quote,
            extensions: None,
        };
        let bytes = wrap4(&icmp, 9);
        assert_eq!(bytes[25], 0);
        let r = parse_ipv4(&bytes).unwrap();
        assert_eq!(r.quote.unwrap().bytes.len(), 128);
        assert!(r.extensions.is_some());
    }

    #[test]
    fn echo_timestamp_and_ptb() {
        let e = icmpv4::Repr::EchoReply {
            ident: 0x1234,
            seq_no: 9,
            data: b"hello",
        };
        let b = wrap4(&e, 55);
        let r = parse_ipv4(&b).unwrap();
        assert_eq!(
            r.kind,
            ReplyKind::EchoReply {
                ident: 0x1234,
                seq_no: 9
            }
        );
        assert!(r.quote.is_none());
        let t = icmpv4::Repr::TimestampReply {
            ident: 1,
            seq_no: 2,
            originate: 3,
            receive: 4,
            transmit: 5,
            data: &[],
        };
        let b = wrap4(&t, 55);
        let r = parse_ipv4(&b).unwrap();
        assert_eq!(
            r.kind,
            ReplyKind::TimestampReply {
                ident: 1,
                seq_no: 2,
                originate: 3,
                receive: 4,
                transmit: 5
            }
        );
        let probe = probe4(Transport::IcmpEcho {
            ident: 3,
            seq_no: 4,
            payload: &[0; 1400],
        });
        let ptb = icmpv4::Repr::DstUnreachable {
            code: 4,
            next_hop_mtu: 1280,
            quote: &probe[..28],
            extensions: None,
        };
        let b = wrap4(&ptb, 55);
        let r = parse_ipv4(&b).unwrap();
        assert_eq!(r.next_hop_mtu(), Some(1280));
        assert_eq!(r.quote.unwrap().ip.unwrap().total_len, 1428);
        let ptb6 = icmp6_bytes(&icmpv6::Repr::PacketTooBig {
            code: 0,
            mtu: 1280,
            quote: &probe6(Transport::IcmpEcho {
                ident: 3,
                seq_no: 4,
                payload: &[0; 8],
            }),
        });
        let r = parse_icmpv6(router6(), us6(), 64, &ptb6).unwrap();
        assert_eq!(r.next_hop_mtu(), Some(1280));
        assert!(r.quote.unwrap().ip.is_some());
        let echo6 = icmp6_bytes(&icmpv6::Repr::EchoReply {
            ident: 5,
            seq_no: 6,
            data: &[],
        });
        let r = parse_icmpv6(router6(), us6(), 64, &echo6).unwrap();
        assert_eq!(
            r.kind,
            ReplyKind::EchoReply {
                ident: 5,
                seq_no: 6
            }
        );
        assert!(r.verify_checksum());
    }

    #[test]
    fn tcp_rst_and_udp_replies() {
        let rst = Probe {
            ip: IpHeader::V4(Ipv4Header {
                src: DST4,
                dst: US4,
                ttl: 60,
                tos: 0,
                ident: 0,
                dont_frag: true,
                options: OptionBytes::new(),
            }),
            transport: Transport::Tcp {
                src_port: 80,
                dst_port: 40000,
                seq_number: 0,
                ack_number: 1001,
                flags: TcpFlags::RST | TcpFlags::ACK,
                window_len: 0,
                options: OptionBytes::new(),
                payload: &[],
            },
            checksum: None,
        };
        let mut b = [0u8; 40];
        rst.emit(&mut b).unwrap();
        let r = parse_ipv4(&b).unwrap();
        assert!(r.verify_checksum());
        assert_eq!(
            r.kind,
            ReplyKind::Tcp {
                src_port: 80,
                dst_port: 40000,
                seq_number: 0,
                ack_number: 1001,
                flags: TcpFlags(0x14),
                window_len: 0
            }
        );
        assert_eq!(r.icmp_type_code(), None);
        let u = Probe {
            transport: Transport::Udp {
                src_port: 53,
                dst_port: 40000,
                payload: b"x",
            },
            ..rst
        };
        let mut b = [0u8; 29];
        u.emit(&mut b).unwrap();
        let r = parse_ipv4(&b).unwrap();
        assert_eq!(
            r.kind,
            ReplyKind::Udp {
                src_port: 53,
                dst_port: 40000,
                len: 9
            }
        );
        assert!(r.verify_checksum());
    }

    #[test]
    fn paris_icmp_quote_checksum_is_constant() {
        // ICMP-paris: the quoted checksum identifies the flow whatever the sequence.
        for seq in 0..5u16 {
            let p = Probe {
                ip: IpHeader::V4(Ipv4Header {
                    src: US4,
                    dst: DST4,
                    ttl: 3,
                    tos: 0,
                    ident: seq,
                    dont_frag: false,
                    options: OptionBytes::new(),
                }),
                transport: Transport::IcmpEcho {
                    ident: 100,
                    seq_no: seq,
                    payload: &[0; 4],
                },
                checksum: Some(ChosenChecksum {
                    value: 0x4242,
                    fix_offset: 2,
                }),
            };
            let mut probe = [0u8; 32];
            p.emit(&mut probe).unwrap();
            let icmp = icmpv4::Repr::TimeExceeded {
                code: 0,
                quote: &probe[..28],
                extensions: None,
            };
            let b = wrap4(&icmp, 9);
            let r = parse_ipv4(&b).unwrap();
            match r.quote.unwrap().transport {
                Some(QuotedTransport::Icmp(i)) => {
                    assert_eq!(i.checksum, Some(0x4242));
                    assert_eq!(i.seq_no, Some(seq));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(matches!(parse_ipv4(&[]), Err(Error::Truncated { .. })));
        assert!(matches!(
            parse_ipv4(&[0x65; 20]),
            Err(Error::BadVersion { .. })
        ));
        // Total length smaller than the header.
        let mut b = hex!("45 00 00 10 00 00 00 00 40 01 00 00 0a 00 00 01 0a 00 00 02");
        assert!(matches!(parse_ipv4(&b), Err(Error::BadLength { .. })));
        // ICMP header cut short.
        b[3] = 24;
        let mut v = b.to_vec();
        v.extend_from_slice(&[11, 0, 0, 0]);
        assert!(matches!(parse_ipv4(&v), Err(Error::Truncated { .. })));
        // Unsupported protocol.
        b[3] = 20;
        b[9] = 47;
        assert!(matches!(
            parse_ipv4(&b),
            Err(Error::UnsupportedProtocol { protocol: 47, .. })
        ));
        // Non-first fragment.
        b[9] = 1;
        b[7] = 1;
        assert!(matches!(parse_ipv4(&b), Err(Error::Malformed { .. })));
        assert!(parse_ipv6(&[0x60; 39]).is_err());
        assert!(parse_icmpv6(us6(), us6(), 1, &[1, 0, 0]).is_err());
    }

    #[test]
    fn ipv6_with_extension_headers_and_quoted_fragment() {
        // A quoted probe carrying a fragment header (trace -o) is walked.
        let p = Probe {
            ip: IpHeader::V6(Ipv6Header {
                src: us6(),
                dst: dst6(),
                hop_limit: 2,
                traffic_class: 0,
                flow_label: 0,
                fragment: Some(crate::probe::Ipv6Fragment {
                    offset: 0,
                    more_frags: true,
                    ident: 0x0102_0304,
                }),
            }),
            transport: Transport::Udp {
                src_port: 7,
                dst_port: 8,
                payload: &[0; 8],
            },
            checksum: None,
        };
        let mut probe = vec![0u8; p.buffer_len()];
        p.emit(&mut probe).unwrap();
        let icmp = icmp6_bytes(&icmpv6::Repr::TimeExceeded {
            code: 0,
            quote: &probe,
            extensions: None,
        });
        let r = parse_icmpv6(router6(), us6(), 64, &icmp).unwrap();
        let ip = r.quote.unwrap().ip.unwrap();
        assert_eq!(ip.protocol, IpProtocol::Udp);
        assert_eq!(ip.ip_id, 0x0102_0304);
        assert_eq!(ip.header_len, 48);
        assert!(matches!(
            r.quote.unwrap().transport,
            Some(QuotedTransport::Udp(QuotedUdp { src_port: 7, .. }))
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            for r in [parse_ipv4(&data), parse_ipv6(&data), parse_icmpv6(us6(), dst6(), 1, &data)].into_iter().flatten() {
                let _ = (r.verify_checksum(), r.icmp_type_code(), r.next_hop_mtu());
                if let Some(q) = r.quote {
                    proptest::prop_assert!(q.transport_bytes.len() <= q.bytes.len());
                }
            }
        }

        /// Random probe fields survive a quote cut at a random length.
        #[test]
        fn quoted_fields_match_probe(sport in 0u16.., dport in 0u16.., ident in 0u16.., ttl in 1u8.., tos in 0u8..,
                                     seq in 0u32.., kind in 0u8..3, v6 in proptest::prelude::any::<bool>(),
                                     cut in proptest::prelude::any::<proptest::sample::Index>()) {
            let transport = match kind {
                0 => Transport::Udp { src_port: sport, dst_port: dport, payload: &[1, 2, 3, 4] },
                1 => Transport::IcmpEcho { ident: sport, seq_no: dport, payload: &[1, 2, 3, 4] },
                _ => Transport::Tcp { src_port: sport, dst_port: dport, seq_number: seq, ack_number: 0,
                    flags: TcpFlags::SYN, window_len: 1024, options: OptionBytes::new(), payload: &[] },
            };
            let ip = if v6 {
                IpHeader::V6(Ipv6Header { src: us6(), dst: dst6(), hop_limit: ttl, traffic_class: tos,
                    flow_label: u32::from(ident), fragment: None })
            } else {
                IpHeader::V4(Ipv4Header { src: US4, dst: DST4, ttl, tos, ident, dont_frag: true,
                    options: OptionBytes::new() })
            };
            let p = Probe { ip, transport, checksum: None };
            let mut probe = vec![0u8; p.buffer_len()];
            p.emit(&mut probe).unwrap();
            let hl = if v6 { 40 } else { 20 };
            let n = hl + cut.index(probe.len() - hl + 1);
            let bytes;
            let r = if v6 {
                bytes = icmp6_bytes(&icmpv6::Repr::TimeExceeded { code: 0, quote: &probe[..n], extensions: None });
                parse_icmpv6(router6(), us6(), 64, &bytes).unwrap()
            } else {
                bytes = wrap4(&icmpv4::Repr::TimeExceeded { code: 0, quote: &probe[..n], extensions: None }, 9);
                parse_ipv4(&bytes).unwrap()
            };
            let q = r.quote.unwrap();
            let qip = q.ip.unwrap();
            proptest::prop_assert_eq!(qip.ttl, ttl);
            proptest::prop_assert_eq!(qip.tos, tos);
            proptest::prop_assert_eq!(qip.total_len as usize, probe.len());
            if v6 {
                proptest::prop_assert_eq!(qip.flow_label, u32::from(ident));
            } else {
                proptest::prop_assert_eq!(qip.ip_id, u32::from(ident));
            }
            let l4 = n - hl;
            match q.transport {
                None => proptest::prop_assert!(l4 < 2 && kind != 1 || l4 == 0),
                Some(QuotedTransport::Udp(u)) => {
                    proptest::prop_assert_eq!(u.src_port, sport);
                    proptest::prop_assert_eq!(u.dst_port, (l4 >= 4).then_some(dport));
                }
                Some(QuotedTransport::Icmp(i)) => {
                    proptest::prop_assert_eq!(i.ident, (l4 >= 6).then_some(sport));
                    proptest::prop_assert_eq!(i.seq_no, (l4 >= 8).then_some(dport));
                }
                Some(QuotedTransport::Tcp(t)) => {
                    proptest::prop_assert_eq!(t.src_port, sport);
                    proptest::prop_assert_eq!(t.seq_number, (l4 >= 8).then_some(seq));
                    proptest::prop_assert_eq!(t.flags, (l4 >= 14).then_some(TcpFlags::SYN));
                }
            }
        }
    }
}
