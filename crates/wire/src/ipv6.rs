//! IPv6 headers (RFC 8200), the fragment header, and walking past extension
//! headers to the upper-layer protocol.

use crate::{Error, IpProtocol, Result, be16, be32, need, put16, put32};
use std::net::Ipv6Addr;

mod field {
    pub const VER_TC_FLOW: usize = 0;
    pub const LENGTH: usize = 4;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
}

/// Length of the IPv6 fixed header.
pub const HEADER_LEN: usize = 40;
/// Length of the IPv6 fragment header.
pub const FRAGMENT_HEADER_LEN: usize = 8;

/// A read/write view of an IPv6 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors panic if it is shorter than
    /// 40 bytes.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the fixed header is present. The payload-length field is not
    /// checked against the buffer; [`payload`](Self::payload) stops at whichever
    /// ends first.
    pub fn check_len(&self) -> Result<()> {
        need("IPv6 header", HEADER_LEN, self.buffer.as_ref().len())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version field (6).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TC_FLOW] >> 4
    }

    /// The traffic-class byte.
    pub fn traffic_class(&self) -> u8 {
        (be16(self.buffer.as_ref(), field::VER_TC_FLOW) >> 4) as u8
    }

    /// The 20-bit flow label.
    pub fn flow_label(&self) -> u32 {
        be32(self.buffer.as_ref(), field::VER_TC_FLOW) & 0x000f_ffff
    }

    /// The payload-length field.
    pub fn payload_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH)
    }

    /// The next-header field.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The hop-limit field.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        addr_at(self.buffer.as_ref(), field::SRC)
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        addr_at(self.buffer.as_ref(), field::DST)
    }

    /// The payload: after the fixed header, to the end of the payload length or
    /// of the buffer, whichever comes first.
    pub fn payload(&self) -> &[u8] {
        let d = self.buffer.as_ref();
        let end = (HEADER_LEN + usize::from(self.payload_len())).min(d.len());
        &d[HEADER_LEN..end]
    }
}

fn addr_at(d: &[u8], at: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&d[at..at + 16]);
    Ipv6Addr::from(a)
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version, traffic class and flow label at once.
    pub fn set_version_tc_flow(&mut self, version: u8, traffic_class: u8, flow_label: u32) {
        let v = (u32::from(version) << 28)
            | (u32::from(traffic_class) << 20)
            | (flow_label & 0x000f_ffff);
        put32(self.buffer.as_mut(), field::VER_TC_FLOW, v);
    }

    /// Sets the payload-length field.
    pub fn set_payload_len(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::LENGTH, v);
    }

    /// Sets the next-header field.
    pub fn set_next_header(&mut self, v: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = v.into();
    }

    /// Sets the hop-limit field.
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = v;
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC..field::SRC + 16].copy_from_slice(&a.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::DST..field::DST + 16].copy_from_slice(&a.octets());
    }

    /// The payload, writable (same extent as [`payload`](Packet::payload)).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.payload_len());
        let d = self.buffer.as_mut();
        let end = (HEADER_LEN + len).min(d.len());
        &mut d[HEADER_LEN..end]
    }
}

/// The meaning of an IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// Next header.
    pub next_header: IpProtocol,
    /// Payload length (everything after the fixed header).
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
}

impl Repr {
    /// Parses a fixed header whose payload length must fit the buffer.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        packet.check_len()?;
        if packet.version() != 6 {
            return Err(Error::BadVersion {
                what: "IPv6 header",
                version: packet.version(),
                expected: 6,
            });
        }
        let have = packet.buffer.as_ref().len() - HEADER_LEN;
        let plen = usize::from(packet.payload_len());
        if plen > have {
            return Err(Error::BadLength {
                what: "IPv6 payload length",
                field: plen,
                have,
            });
        }
        Ok(Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: plen,
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// Bytes needed for the fixed header.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the fixed header into the start of `packet`'s buffer.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        crate::room("IPv6 header", HEADER_LEN, packet.buffer.as_ref().len())?;
        let plen = u16::try_from(self.payload_len).map_err(|_| Error::Unrepresentable {
            what: "IPv6 payload length",
            reason: "payloads over 65535 bytes need a jumbogram option, which Vantage does not send",
        })?;
        if self.flow_label > 0x000f_ffff {
            return Err(Error::Unrepresentable {
                what: "IPv6 flow label",
                reason: "the field has 20 bits",
            });
        }
        packet.set_version_tc_flow(6, self.traffic_class, self.flow_label);
        packet.set_payload_len(plen);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        Ok(())
    }
}

/// The meaning of an IPv6 fragment header (RFC 8200 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentRepr {
    /// Next header after this one.
    pub next_header: IpProtocol,
    /// Fragment offset in eight-byte units (13 bits).
    pub offset: u16,
    /// More-fragments flag.
    pub more_frags: bool,
    /// Identification.
    pub ident: u32,
}

impl FragmentRepr {
    /// Parses a fragment header from the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        need("IPv6 fragment header", FRAGMENT_HEADER_LEN, bytes.len())?;
        let off = be16(bytes, 2);
        Ok(Self {
            next_header: bytes[0].into(),
            offset: off >> 3,
            more_frags: off & 1 != 0,
            ident: be32(bytes, 4),
        })
    }

    /// Bytes needed: 8.
    pub fn buffer_len(&self) -> usize {
        FRAGMENT_HEADER_LEN
    }

    /// Writes the header into the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        crate::room("IPv6 fragment header", FRAGMENT_HEADER_LEN, buf.len())?;
        if self.offset > 0x1fff {
            return Err(Error::Unrepresentable {
                what: "IPv6 fragment offset",
                reason: "the field has 13 bits",
            });
        }
        buf[0] = self.next_header.into();
        buf[1] = 0;
        put16(buf, 2, (self.offset << 3) | u16::from(self.more_frags));
        put32(buf, 4, self.ident);
        Ok(())
    }
}

/// Where the upper-layer header starts after any extension headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer {
    /// The upper-layer protocol (or the first header that could not be walked).
    pub protocol: IpProtocol,
    /// Offset of the upper-layer header from the start of the bytes walked.
    pub offset: usize,
    /// The fragment header met on the way, if any.
    pub fragment: Option<FragmentRepr>,
}

/// Walks hop-by-hop, routing, fragment and destination-options headers, starting
/// with `next_header` at the start of `bytes` (the bytes after the fixed header).
/// A non-first fragment ends the walk there (its payload is not an upper-layer
/// header). Truncated extension headers are errors; a missing upper layer is not.
pub fn walk_extension_headers(mut next_header: IpProtocol, bytes: &[u8]) -> Result<UpperLayer> {
    let mut offset = 0;
    let mut fragment = None;
    // Bounded: each step consumes at least 8 bytes.
    loop {
        let rest = &bytes[offset.min(bytes.len())..];
        match next_header {
            IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Opts => {
                need("IPv6 extension header", 2, rest.len())?;
                let len = (usize::from(rest[1]) + 1) * 8;
                need("IPv6 extension header", len, rest.len())?;
                next_header = rest[0].into();
                offset += len;
            }
            IpProtocol::Ipv6Frag => {
                let f = FragmentRepr::parse(rest)?;
                fragment = Some(f);
                offset += FRAGMENT_HEADER_LEN;
                next_header = f.next_header;
                if f.offset != 0 {
                    return Ok(UpperLayer {
                        protocol: next_header,
                        offset,
                        fragment,
                    });
                }
            }
            protocol => {
                return Ok(UpperLayer {
                    protocol,
                    offset,
                    fragment,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;

    // 2001:db8::1 -> 2001:db8::2, tc 0x12, flow 0x34567, ICMPv6, hop limit 3, 8-byte payload.
    const V6: [u8; 48] = hex!(
        "61 23 45 67 00 08 3a 03"
        "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"
        "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02"
        "80 00 00 00 00 01 00 02"
    );

    fn repr() -> Repr {
        Repr {
            src_addr: "2001:db8::1".parse().unwrap(),
            dst_addr: "2001:db8::2".parse().unwrap(),
            next_header: IpProtocol::Icmpv6,
            payload_len: 8,
            hop_limit: 3,
            traffic_class: 0x12,
            flow_label: 0x34567,
        }
    }

    #[test]
    fn parse_vector() {
        let p = Packet::new_checked(&V6[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), repr());
        assert_eq!(p.payload(), &V6[40..]);
    }

    #[test]
    fn emit_vector() {
        let mut b = [0u8; 48];
        b[40..].copy_from_slice(&V6[40..]);
        repr().emit(&mut Packet::new_unchecked(&mut b[..])).unwrap();
        assert_eq!(b, V6);
    }

    #[test]
    fn bad_input() {
        assert!(Packet::new_checked(&V6[..39]).is_err());
        let mut b = V6;
        b[0] = 0x41;
        assert!(matches!(
            Repr::parse(&Packet::new_unchecked(&b[..])),
            Err(Error::BadVersion { .. })
        ));
        assert!(matches!(
            Repr::parse(&Packet::new_unchecked(&V6[..44])),
            Err(Error::BadLength { .. })
        ));
        let mut r = repr();
        r.flow_label = 0x10_0000;
        assert!(
            r.emit(&mut Packet::new_unchecked(&mut [0u8; 40][..]))
                .is_err()
        );
    }

    #[test]
    fn extension_walk() {
        // hop-by-hop (8 bytes) -> fragment (offset 0, M) -> UDP
        let b = hex!("2c 00 01 04 00 00 00 00" "11 00 00 01 de ad be ef" "00 35 00 35");
        let u = walk_extension_headers(IpProtocol::HopByHop, &b).unwrap();
        assert_eq!(u.protocol, IpProtocol::Udp);
        assert_eq!(u.offset, 16);
        assert_eq!(
            u.fragment,
            Some(FragmentRepr {
                next_header: IpProtocol::Udp,
                offset: 0,
                more_frags: true,
                ident: 0xdead_beef
            })
        );
        assert!(walk_extension_headers(IpProtocol::HopByHop, &b[..5]).is_err());
        assert!(walk_extension_headers(IpProtocol::Ipv6Frag, &b[8..12]).is_err());
        let u = walk_extension_headers(IpProtocol::Tcp, &[]).unwrap();
        assert_eq!(u.offset, 0);
    }

    prop_compose! {
        pub(crate) fn arb_repr()(src in any::<[u8; 16]>(), dst in any::<[u8; 16]>(), nh in any::<u8>(),
            payload_len in 0usize..2000, hop_limit in any::<u8>(), traffic_class in any::<u8>(),
            flow_label in 0u32..0x10_0000) -> Repr {
            Repr { src_addr: src.into(), dst_addr: dst.into(), next_header: nh.into(), payload_len,
                hop_limit, traffic_class, flow_label }
        }
    }

    proptest! {
        #[test]
        fn round_trip(r in arb_repr()) {
            let mut buf = vec![0u8; r.buffer_len() + r.payload_len];
            r.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
            prop_assert_eq!(Repr::parse(&Packet::new_checked(&buf[..]).unwrap()).unwrap(), r);
        }

        #[test]
        fn fragment_round_trip(nh in any::<u8>(), offset in 0u16..0x2000, more_frags in any::<bool>(), ident in any::<u32>()) {
            let f = FragmentRepr { next_header: nh.into(), offset, more_frags, ident };
            let mut b = [0u8; 8];
            f.emit(&mut b).unwrap();
            prop_assert_eq!(FragmentRepr::parse(&b).unwrap(), f);
        }

        #[test]
        fn walk_never_panics(nh in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(u) = walk_extension_headers(nh.into(), &data) {
                prop_assert!(u.offset <= data.len());
            }
        }
    }
}
