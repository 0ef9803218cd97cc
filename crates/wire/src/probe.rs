//! Builders for the probes the measurement engines send: an IPv4 or IPv6 packet
//! carrying an ICMP echo, an ICMP timestamp request, a UDP datagram or a TCP
//! segment (SYN, ACK, SYN-ACK, RST, with options), written into a caller's buffer
//! with no allocation.
//!
//! Every field that a measurement method varies is chosen by the caller: TTL or
//! hop limit, TOS or traffic class, IP-ID, DF, flow label, ports, ICMP id and
//! sequence, TCP numbers and flags. [`ChosenChecksum`] implements the Paris
//! traceroute trick: the transport checksum is fixed in advance and two payload
//! bytes are chosen to make it verify, so the flow identifiers stay constant while
//! another field (the ICMP sequence number, say) varies.
//!
//! Sending notes for the socket layer:
//! - [`Probe::emit`] writes the whole packet, for `IP_HDRINCL` (IPv4) or
//!   `IPV6_HDRINCL` sockets; [`Probe::emit_transport`] writes only the transport
//!   part, for sockets that add the IP header themselves.
//! - Transport checksums of UDP, TCP and ICMPv6 cover a pseudo-header, so the
//!   source address in the header must be the one the kernel will use.
//! - A Linux raw ICMPv6 socket recomputes the ICMPv6 checksum itself. Since the
//!   bytes are the same, it gets the same value (a chosen 0 may come out as
//!   0xffff, the same ones'-complement number), so Paris probes keep their flow.

use crate::ipv6::FragmentRepr;
use crate::{
    Error, IpProtocol, OptionBytes, Result, checksum, icmpv4, icmpv6, ipv4, ipv6, put16, put32,
    room, tcp, udp,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 header fields of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Time to live.
    pub ttl: u8,
    /// Type-of-service byte.
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Don't-fragment flag.
    pub dont_frag: bool,
    /// Options (record route, timestamp), padded when written.
    pub options: OptionBytes,
}

/// An IPv6 fragment header to insert (trace `-o offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Fragment {
    /// Fragment offset in eight-byte units.
    pub offset: u16,
    /// More-fragments flag.
    pub more_frags: bool,
    /// Identification.
    pub ident: u32,
}

/// IPv6 header fields of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Header {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// A fragment header between the IPv6 header and the transport, if wanted.
    pub fragment: Option<Ipv6Fragment>,
}

/// The network header of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpHeader {
    /// IPv4.
    V4(Ipv4Header),
    /// IPv6.
    V6(Ipv6Header),
}

impl IpHeader {
    /// Source address.
    pub fn src(&self) -> IpAddr {
        match self {
            IpHeader::V4(h) => IpAddr::V4(h.src),
            IpHeader::V6(h) => IpAddr::V6(h.src),
        }
    }

    /// Destination address.
    pub fn dst(&self) -> IpAddr {
        match self {
            IpHeader::V4(h) => IpAddr::V4(h.dst),
            IpHeader::V6(h) => IpAddr::V6(h.dst),
        }
    }

    /// Length of the network headers (IPv4 with options; IPv6 with any fragment
    /// header).
    pub fn header_len(&self) -> usize {
        match self {
            IpHeader::V4(h) => ipv4::HEADER_LEN + h.options.padded_len(),
            IpHeader::V6(h) => {
                ipv6::HEADER_LEN + h.fragment.map_or(0, |_| ipv6::FRAGMENT_HEADER_LEN)
            }
        }
    }
}

/// The transport part of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    /// ICMP (v4 or v6, by the IP header) echo request.
    IcmpEcho {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Payload.
        payload: &'a [u8],
    },
    /// ICMPv4 timestamp request (IPv4 only).
    IcmpTimestamp {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Originate timestamp (milliseconds since midnight UT).
        originate: u32,
        /// Receive timestamp (normally 0 in a request).
        receive: u32,
        /// Transmit timestamp (normally 0 in a request).
        transmit: u32,
        /// Payload after the 20-byte timestamp message (ping `-b`).
        payload: &'a [u8],
    },
    /// UDP datagram.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Payload.
        payload: &'a [u8],
    },
    /// TCP segment.
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Sequence number.
        seq_number: u32,
        /// Acknowledgment number.
        ack_number: u32,
        /// Flags (SYN, ACK, SYN|ACK, RST, …).
        flags: tcp::TcpFlags,
        /// Window.
        window_len: u16,
        /// Options (MSS, …), padded when written.
        options: OptionBytes,
        /// Payload.
        payload: &'a [u8],
    },
}

/// A transport checksum chosen in advance (the Paris traceroute trick): the
/// 16-bit word at `fix_offset` in the payload (an even offset, with two payload
/// bytes there) is overwritten so that the packet verifies with `value` in its
/// checksum field. For UDP, a chosen 0 is written as 0xffff (0 means "no
/// checksum"; the two are the same ones'-complement value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChosenChecksum {
    /// The checksum field value wanted.
    pub value: u16,
    /// Offset within the payload of the two bytes to overwrite (even).
    pub fix_offset: usize,
}

/// A probe: network header, transport, and optionally a chosen checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe<'a> {
    /// Network header.
    pub ip: IpHeader,
    /// Transport.
    pub transport: Transport<'a>,
    /// Chosen transport checksum (Paris), or `None` to compute it normally.
    pub checksum: Option<ChosenChecksum>,
}

impl Probe<'_> {
    /// The transport protocol number.
    pub fn protocol(&self) -> IpProtocol {
        match (self.transport, self.ip) {
            (Transport::IcmpEcho { .. } | Transport::IcmpTimestamp { .. }, IpHeader::V4(_)) => {
                IpProtocol::Icmp
            }
            (Transport::IcmpEcho { .. } | Transport::IcmpTimestamp { .. }, IpHeader::V6(_)) => {
                IpProtocol::Icmpv6
            }
            (Transport::Udp { .. }, _) => IpProtocol::Udp,
            (Transport::Tcp { .. }, _) => IpProtocol::Tcp,
        }
    }

    /// Length of the transport header (without payload).
    fn transport_header_len(&self) -> usize {
        match self.transport {
            Transport::IcmpEcho { .. } => icmpv4::HEADER_LEN,
            Transport::IcmpTimestamp { .. } => icmpv4::TIMESTAMP_LEN,
            Transport::Udp { .. } => udp::HEADER_LEN,
            Transport::Tcp { options, .. } => tcp::HEADER_LEN + options.padded_len(),
        }
    }

    fn payload(&self) -> &[u8] {
        match self.transport {
            Transport::IcmpEcho { payload, .. }
            | Transport::IcmpTimestamp { payload, .. }
            | Transport::Udp { payload, .. }
            | Transport::Tcp { payload, .. } => payload,
        }
    }

    /// Bytes of the transport part (header and payload).
    pub fn transport_len(&self) -> usize {
        self.transport_header_len() + self.payload().len()
    }

    /// Bytes of the whole packet.
    pub fn buffer_len(&self) -> usize {
        self.ip.header_len() + self.transport_len()
    }

    /// Writes the whole packet (network header and transport) at the start of
    /// `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let total = self.buffer_len();
        room("probe packet", total, buf.len())?;
        let hl = self.ip.header_len();
        let tl = self.transport_len();
        let proto = self.protocol();
        match self.ip {
            IpHeader::V4(h) => {
                let r = ipv4::Repr {
                    src_addr: h.src,
                    dst_addr: h.dst,
                    protocol: proto,
                    payload_len: tl,
                    ttl: h.ttl,
                    tos: h.tos,
                    ident: h.ident,
                    dont_frag: h.dont_frag,
                    more_frags: false,
                    frag_offset: 0,
                    options: h.options,
                };
                r.emit(&mut ipv4::Packet::new_unchecked(&mut buf[..hl]))?;
            }
            IpHeader::V6(h) => {
                let r = ipv6::Repr {
                    src_addr: h.src,
                    dst_addr: h.dst,
                    next_header: if h.fragment.is_some() {
                        IpProtocol::Ipv6Frag
                    } else {
                        proto
                    },
                    payload_len: hl - ipv6::HEADER_LEN + tl,
                    hop_limit: h.hop_limit,
                    traffic_class: h.traffic_class,
                    flow_label: h.flow_label,
                };
                r.emit(&mut ipv6::Packet::new_unchecked(
                    &mut buf[..ipv6::HEADER_LEN],
                ))?;
                if let Some(f) = h.fragment {
                    FragmentRepr {
                        next_header: proto,
                        offset: f.offset,
                        more_frags: f.more_frags,
                        ident: f.ident,
                    }
                    .emit(&mut buf[ipv6::HEADER_LEN..hl])?;
                }
            }
        }
        self.emit_transport(&mut buf[hl..total])?;
        Ok(total)
    }

    /// Writes only the transport part at the start of `buf` (for sockets that
    /// add the IP header themselves), with its checksum computed for the
    /// addresses of [`ip`](Self::ip); returns its length.
    pub fn emit_transport(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.transport_len();
        room("probe transport", len, buf.len())?;
        let b = &mut buf[..len];
        let thl = self.transport_header_len();
        let proto = self.protocol();
        // Header with a zero checksum, then payload.
        let ck_at = match self.transport {
            Transport::IcmpEcho {
                ident,
                seq_no,
                payload,
            } => {
                b[0] = if proto == IpProtocol::Icmp {
                    u8::from(icmpv4::Message::EchoRequest)
                } else {
                    u8::from(icmpv6::Message::EchoRequest)
                };
                b[1] = 0;
                put16(b, 2, 0);
                put16(b, 4, ident);
                put16(b, 6, seq_no);
                b[thl..].copy_from_slice(payload);
                2
            }
            Transport::IcmpTimestamp {
                ident,
                seq_no,
                originate,
                receive,
                transmit,
                payload,
            } => {
                if proto != IpProtocol::Icmp {
                    return Err(Error::Unrepresentable {
                        what: "ICMP timestamp probe",
                        reason: "ICMP timestamp requests exist only for IPv4",
                    });
                }
                b[0] = icmpv4::Message::Timestamp.into();
                b[1] = 0;
                put16(b, 2, 0);
                put16(b, 4, ident);
                put16(b, 6, seq_no);
                put32(b, 8, originate);
                put32(b, 12, receive);
                put32(b, 16, transmit);
                b[thl..].copy_from_slice(payload);
                2
            }
            Transport::Udp {
                src_port,
                dst_port,
                payload,
            } => {
                let field = u16::try_from(len).map_err(|_| Error::Unrepresentable {
                    what: "UDP length",
                    reason: "datagrams are at most 65535 bytes",
                })?;
                put16(b, 0, src_port);
                put16(b, 2, dst_port);
                put16(b, 4, field);
                put16(b, 6, 0);
                b[thl..].copy_from_slice(payload);
                6
            }
            Transport::Tcp {
                src_port,
                dst_port,
                seq_number,
                ack_number,
                flags,
                window_len,
                options,
                payload,
            } => {
                let mut p = tcp::Packet::new_unchecked(&mut *b);
                p.set_src_port(src_port);
                p.set_dst_port(dst_port);
                p.set_seq_number(seq_number);
                p.set_ack_number(ack_number);
                p.set_header_len(thl);
                p.set_flags(flags);
                p.set_window_len(window_len);
                p.set_checksum(0);
                p.set_urgent_at(0);
                options.write_padded(p.options_mut());
                p.payload_mut().copy_from_slice(payload);
                16
            }
        };
        let pseudo = if proto == IpProtocol::Icmp {
            0
        } else {
            checksum::pseudo_header(self.ip.src(), self.ip.dst(), proto.into(), len as u32)
        };
        let is_udp = proto == IpProtocol::Udp;
        match self.checksum {
            None => {
                let c = checksum::finish(checksum::combine(pseudo, checksum::sum(b)));
                put16(b, ck_at, if is_udp && c == 0 { 0xffff } else { c });
            }
            Some(chosen) => {
                let at = thl + chosen.fix_offset;
                if chosen.fix_offset % 2 != 0 || chosen.fix_offset + 2 > self.payload().len() {
                    return Err(Error::Unrepresentable {
                        what: "chosen checksum",
                        reason: "the fix offset must be even and leave two payload bytes to overwrite",
                    });
                }
                let value = if is_udp && chosen.value == 0 {
                    0xffff
                } else {
                    chosen.value
                };
                put16(b, ck_at, value);
                put16(b, at, 0);
                let s = checksum::combine(pseudo, checksum::sum(b));
                put16(b, at, checksum::solve_word(s));
            }
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::{self, ReplyKind};
    use hex_literal::hex;
    use proptest::prelude::*;

    fn v4(ttl: u8) -> IpHeader {
        IpHeader::V4(Ipv4Header {
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::new(198, 51, 100, 2),
            ttl,
            tos: 0,
            ident: 0x1234,
            dont_frag: true,
            options: OptionBytes::new(),
        })
    }

    fn v6(hop_limit: u8) -> IpHeader {
        IpHeader::V6(Ipv6Header {
            src: "2001:db8::1".parse().unwrap(),
            dst: "2001:db8::2".parse().unwrap(),
            hop_limit,
            traffic_class: 0,
            flow_label: 0x12345,
            fragment: None,
        })
    }

    #[test]
    fn udp_v4_exact_bytes() {
        let p = Probe {
            ip: v4(5),
            transport: Transport::Udp {
                src_port: 33435,
                dst_port: 33435,
                payload: &[],
            },
            checksum: None,
        };
        let mut b = [0u8; 64];
        let n = p.emit(&mut b).unwrap();
        assert_eq!(n, 28);
        let mut want = hex!(
            "45 00 00 1c 12 34 40 00 05 11 00 00 c0 00 02 01 c6 33 64 02"
            "82 9b 82 9b 00 08 00 00"
        );
        let c = checksum::checksum(&want[..20]);
        want[10..12].copy_from_slice(&c.to_be_bytes());
        let mut pseudo = vec![192, 0, 2, 1, 198, 51, 100, 2, 0, 17, 0, 8];
        pseudo.extend_from_slice(&want[20..]);
        let c = checksum::checksum(&pseudo);
        want[26..28].copy_from_slice(&c.to_be_bytes());
        assert_eq!(&b[..n], &want);
    }

    #[test]
    fn paris_udp_keeps_checksum() {
        let mut b = [0u8; 64];
        for ttl in 1..10u8 {
            let p = Probe {
                ip: v4(ttl),
                transport: Transport::Udp {
                    src_port: 40000,
                    dst_port: 33435 + u16::from(ttl),
                    payload: &[0, 0, 7, 7],
                },
                checksum: Some(ChosenChecksum {
                    value: 0xbeef,
                    fix_offset: 0,
                }),
            };
            let n = p.emit(&mut b).unwrap();
            let r = reply::parse_ipv4(&b[..n]).unwrap();
            assert!(r.verify_checksum());
            assert_eq!(&b[26..28], &[0xbe, 0xef]);
            assert_eq!(&b[30..32], &[7, 7]);
        }
    }

    #[test]
    fn bad_requests() {
        let mut b = [0u8; 64];
        let p = Probe {
            ip: v6(1),
            transport: Transport::IcmpTimestamp {
                ident: 1,
                seq_no: 1,
                originate: 0,
                receive: 0,
                transmit: 0,
                payload: &[],
            },
            checksum: None,
        };
        assert!(p.emit(&mut b).is_err());
        let p = Probe {
            ip: v4(1),
            transport: Transport::IcmpEcho {
                ident: 1,
                seq_no: 1,
                payload: &[1],
            },
            checksum: Some(ChosenChecksum {
                value: 1,
                fix_offset: 0,
            }),
        };
        assert!(p.emit(&mut b).is_err());
        let p = Probe {
            checksum: None,
            ..p
        };
        assert!(p.emit(&mut b[..28]).is_err());
        assert_eq!(p.emit(&mut b[..29]).unwrap(), 29);
    }

    #[test]
    fn timestamp_probe_with_payload_and_chosen_checksum() {
        let payload = [0xaa; 44];
        let p = Probe {
            ip: v4(64),
            transport: Transport::IcmpTimestamp {
                ident: 9,
                seq_no: 1,
                originate: 5000,
                receive: 0,
                transmit: 0,
                payload: &payload,
            },
            checksum: Some(ChosenChecksum {
                value: 0x0bad,
                fix_offset: 42,
            }),
        };
        assert_eq!(p.buffer_len(), 84);
        let mut b = [0u8; 84];
        p.emit(&mut b).unwrap();
        let r = reply::parse_ipv4(&b).unwrap();
        assert!(r.verify_checksum());
        assert_eq!(&b[22..24], &[0x0b, 0xad]);
        assert_eq!(&b[40..82], &payload[..42]);
        match icmpv4::Repr::parse_bytes(&b[20..]).unwrap() {
            icmpv4::Repr::TimestampRequest {
                ident: 9,
                seq_no: 1,
                originate: 5000,
                data,
                ..
            } => assert_eq!(data.len(), 44),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn arb_ip() -> impl Strategy<Value = IpHeader> {
        prop_oneof![
            (
                any::<[u8; 4]>(),
                any::<[u8; 4]>(),
                any::<u8>(),
                any::<u8>(),
                any::<u16>(),
                any::<bool>(),
                0usize..3
            )
                .prop_map(|(s, d, ttl, tos, ident, dont_frag, opt)| IpHeader::V4(
                    Ipv4Header {
                        src: s.into(),
                        dst: d.into(),
                        ttl,
                        tos,
                        ident,
                        dont_frag,
                        options: match opt {
                            0 => OptionBytes::new(),
                            1 => OptionBytes::record_route(),
                            _ => OptionBytes::timestamp_only(),
                        },
                    }
                )),
            (
                any::<[u8; 16]>(),
                any::<[u8; 16]>(),
                any::<u8>(),
                any::<u8>(),
                0u32..0x10_0000,
                proptest::option::of((any::<bool>(), any::<u32>()))
            )
                .prop_map(|(s, d, hop_limit, traffic_class, flow_label, frag)| {
                    IpHeader::V6(Ipv6Header {
                        src: s.into(),
                        dst: d.into(),
                        hop_limit,
                        traffic_class,
                        flow_label,
                        // First fragments only: later ones carry no transport header to parse back.
                        fragment: frag.map(|(more_frags, ident)| Ipv6Fragment {
                            offset: 0,
                            more_frags,
                            ident,
                        }),
                    })
                }),
        ]
    }

    proptest! {
        /// Any payload and chosen checksum: the packet verifies and carries the
        /// chosen value (0xffff for a chosen UDP 0).
        #[test]
        fn paris_property(ip in arb_ip(), payload in proptest::collection::vec(any::<u8>(), 2..64),
                          value in any::<u16>(), udp in any::<bool>(), fix in any::<prop::sample::Index>(),
                          ports in any::<(u16, u16)>()) {
            let fix_offset = fix.index(payload.len() / 2) * 2;
            let transport = if udp {
                Transport::Udp { src_port: ports.0, dst_port: ports.1, payload: &payload }
            } else {
                Transport::IcmpEcho { ident: ports.0, seq_no: ports.1, payload: &payload }
            };
            let p = Probe { ip, transport, checksum: Some(ChosenChecksum { value, fix_offset }) };
            let mut b = vec![0u8; p.buffer_len()];
            let n = p.emit(&mut b).unwrap();
            prop_assert_eq!(n, b.len());
            let r = match ip { IpHeader::V4(_) => reply::parse_ipv4(&b), IpHeader::V6(_) => reply::parse_ipv6(&b) }.unwrap();
            prop_assert!(r.verify_checksum());
            let field = u16::from_be_bytes([r.transport[if udp { 6 } else { 2 }], r.transport[if udp { 7 } else { 3 }]]);
            let want = if udp && value == 0 { 0xffff } else { value };
            prop_assert_eq!(field, want);
            // Other payload bytes are untouched.
            let hl = 8;
            for (i, &x) in payload.iter().enumerate() {
                if i != fix_offset && i != fix_offset + 1 {
                    prop_assert_eq!(r.transport[hl + i], x);
                }
            }
        }

        /// Probes parse back through the reply path with the fields they were given.
        #[test]
        fn probe_fields_round_trip(ip in arb_ip(), kind in 0u8..3, a in any::<u16>(), bb in any::<u16>(),
                                   seq in any::<u32>(), payload in proptest::collection::vec(any::<u8>(), 0..32)) {
            let transport = match kind {
                0 => Transport::IcmpEcho { ident: a, seq_no: bb, payload: &payload },
                1 => Transport::Udp { src_port: a, dst_port: bb, payload: &payload },
                _ => {
                    let mut options = OptionBytes::new();
                    options.push_tcp(&tcp::TcpOption::Mss(1460)).unwrap();
                    Transport::Tcp { src_port: a, dst_port: bb, seq_number: seq, ack_number: 0,
                        flags: tcp::TcpFlags::SYN, window_len: 5840, options, payload: &[] }
                }
            };
            let p = Probe { ip, transport, checksum: None };
            let mut b = vec![0u8; p.buffer_len()];
            p.emit(&mut b).unwrap();
            let r = match ip { IpHeader::V4(_) => reply::parse_ipv4(&b), IpHeader::V6(_) => reply::parse_ipv6(&b) }.unwrap();
            prop_assert!(r.verify_checksum());
            prop_assert_eq!(r.src, ip.src());
            prop_assert_eq!(r.dst, ip.dst());
            prop_assert_eq!(r.size as usize, b.len());
            match (ip, r.kind) {
                (_, ReplyKind::EchoRequest { ident, seq_no }) => { prop_assert_eq!(kind, 0); prop_assert_eq!((ident, seq_no), (a, bb)); }
                (_, ReplyKind::Udp { src_port, dst_port, .. }) => { prop_assert_eq!(kind, 1); prop_assert_eq!((src_port, dst_port), (a, bb)); }
                (_, ReplyKind::Tcp { src_port, dst_port, seq_number, flags, .. }) => {
                    prop_assert_eq!(kind, 2);
                    prop_assert_eq!((src_port, dst_port, seq_number, flags), (a, bb, seq, tcp::TcpFlags::SYN));
                }
                (_, other) => prop_assert!(false, "unexpected {:?}", other),
            }
            if let IpHeader::V4(h) = ip {
                prop_assert_eq!(r.ttl, h.ttl);
                prop_assert_eq!(r.ip_id, u32::from(h.ident));
                prop_assert_eq!(r.tos, h.tos);
                prop_assert!(ipv4::Packet::new_checked(&b[..]).unwrap().verify_checksum());
            }
            if let IpHeader::V6(h) = ip {
                prop_assert_eq!(r.ttl, h.hop_limit);
                prop_assert_eq!(r.flow_label, h.flow_label);
                prop_assert_eq!(r.ip_id, h.fragment.map_or(0, |f| f.ident));
            }
        }
    }
}
