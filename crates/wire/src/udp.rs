//! UDP headers (RFC 768). The checksum covers the IPv4 or IPv6 pseudo-header.

use crate::{Error, IpProtocol, Result, be16, checksum, need, put16, room};
use std::net::IpAddr;

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LENGTH: usize = 4;
    pub const CHECKSUM: usize = 6;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;

/// A read/write view of a UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors panic below 8 bytes.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer of at least 8 bytes.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the header is present. The length field is not checked
    /// against the buffer; [`payload`](Self::payload) stops at whichever ends first.
    pub fn check_len(&self) -> Result<()> {
        need("UDP header", HEADER_LEN, self.buffer.as_ref().len())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SRC_PORT)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// The length field (header plus payload).
    pub fn len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH)
    }

    /// True when the length field is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The payload: after the header, to the end of the length field or of the
    /// buffer, whichever comes first.
    pub fn payload(&self) -> &[u8] {
        let d = self.buffer.as_ref();
        let end = usize::from(self.len()).clamp(HEADER_LEN, d.len());
        &d[HEADER_LEN..end]
    }

    /// True when the checksum verifies over the bytes the length field covers
    /// (or the whole buffer if it is shorter). An IPv4 checksum of zero means
    /// "none sent" and verifies.
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        if self.checksum() == 0 && src.is_ipv4() {
            return true;
        }
        let d = self.buffer.as_ref();
        let end = usize::from(self.len()).min(d.len());
        let bytes = &d[..end];
        let s = checksum::combine(
            checksum::pseudo_header(src, dst, IpProtocol::Udp.into(), bytes.len() as u32),
            checksum::sum(bytes),
        );
        s == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::SRC_PORT, v);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::DST_PORT, v);
    }

    /// Sets the length field.
    pub fn set_len(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::LENGTH, v);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::CHECKSUM, v);
    }

    /// The payload, writable (same extent as [`payload`](Packet::payload)).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.len());
        let d = self.buffer.as_mut();
        let end = len.clamp(HEADER_LEN, d.len());
        &mut d[HEADER_LEN..end]
    }

    /// Computes and stores the checksum over the bytes the length field covers. A
    /// computed zero is sent as 0xffff (RFC 768).
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr) {
        self.set_checksum(0);
        let d = self.buffer.as_ref();
        let end = usize::from(self.len()).min(d.len());
        let bytes = &d[..end];
        let s = checksum::combine(
            checksum::pseudo_header(src, dst, IpProtocol::Udp.into(), bytes.len() as u32),
            checksum::sum(bytes),
        );
        let c = match checksum::finish(s) {
            0 => 0xffff,
            c => c,
        };
        self.set_checksum(c);
    }
}

/// The meaning of a UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload.
    pub payload: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Parses a datagram whose length field must cover the header and fit the
    /// buffer. The checksum is not verified (see [`Packet::verify_checksum`]).
    pub fn parse_bytes(bytes: &'a [u8]) -> Result<Self> {
        let p = Packet::new_checked(bytes)?;
        let len = usize::from(p.len());
        if len < HEADER_LEN || len > bytes.len() {
            return Err(Error::BadLength {
                what: "UDP length",
                field: len,
                have: bytes.len(),
            });
        }
        Ok(Self {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            payload: &bytes[HEADER_LEN..len],
        })
    }

    /// Parses a datagram held by a view.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Self> {
        let buffer: &'a T = packet.buffer;
        Self::parse_bytes(buffer.as_ref())
    }

    /// Bytes needed: header plus payload.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }

    /// Writes the datagram with its checksum for these addresses.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<()> {
        let len = self.buffer_len();
        room("UDP datagram", len, packet.buffer.as_ref().len())?;
        let field = u16::try_from(len).map_err(|_| Error::Unrepresentable {
            what: "UDP length",
            reason: "datagrams are at most 65535 bytes",
        })?;
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(field);
        packet.buffer.as_mut()[HEADER_LEN..len].copy_from_slice(self.payload);
        packet.fill_checksum(src, dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    // 192.0.2.1:33435 -> 198.51.100.2:33435, payload "hi"; checksum checked below.
    const UDP: [u8; 10] = hex!("82 9b 82 9b 00 0a 00 00 68 69");

    fn v4() -> (IpAddr, IpAddr) {
        (
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2)),
        )
    }

    #[test]
    fn vector_both_ways() {
        let (s, d) = v4();
        let r = Repr::parse_bytes(&UDP).unwrap();
        assert_eq!(r.src_port, 33435);
        assert_eq!(r.payload, b"hi");
        let mut b = [0u8; 10];
        r.emit(&mut Packet::new_unchecked(&mut b[..]), s, d)
            .unwrap();
        // Checksum by hand: pseudo (c000 0201 c633 6402 0011 000a) + 829b 829b 000a 6869.
        let words: [u32; 10] = [
            0xc000, 0x0201, 0xc633, 0x6402, 0x0011, 0x000a, 0x829b, 0x829b, 0x000a, 0x6869,
        ];
        let mut acc: u32 = words.iter().sum();
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        let c = !(acc as u16);
        let mut want = UDP;
        want[6..8].copy_from_slice(&c.to_be_bytes());
        assert_eq!(b, want);
        assert!(Packet::new_checked(&b[..]).unwrap().verify_checksum(s, d));
    }

    #[test]
    fn bad_lengths() {
        let mut b = UDP;
        b[5] = 7;
        assert!(matches!(
            Repr::parse_bytes(&b),
            Err(Error::BadLength { .. })
        ));
        b[5] = 11;
        assert!(matches!(
            Repr::parse_bytes(&b),
            Err(Error::BadLength { .. })
        ));
        assert!(matches!(
            Repr::parse_bytes(&b[..7]),
            Err(Error::Truncated { .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trip(sp in any::<u16>(), dp in any::<u16>(), payload in proptest::collection::vec(any::<u8>(), 0..100),
                      s6 in any::<[u8; 16]>(), d6 in any::<[u8; 16]>(), v6 in any::<bool>()) {
            let (s, d) = if v6 { (IpAddr::from(s6), IpAddr::from(d6)) } else { v4() };
            let r = Repr { src_port: sp, dst_port: dp, payload: &payload };
            let mut b = vec![0u8; r.buffer_len()];
            r.emit(&mut Packet::new_unchecked(&mut b[..]), s, d).unwrap();
            let p = Packet::new_checked(&b[..]).unwrap();
            prop_assert!(p.checksum() != 0);
            prop_assert!(p.verify_checksum(s, d));
            prop_assert_eq!(Repr::parse_bytes(&b).unwrap(), r);
        }
    }
}
