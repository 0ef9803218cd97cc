//! IPv4 headers (RFC 791) with their options: record route and timestamp typed,
//! every option kept as raw bytes too.

use crate::{Error, IpProtocol, OptionBytes, Result, be16, checksum, need, put16};
use std::net::Ipv4Addr;

mod field {
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLG_OFF: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;

/// Option kind: end of option list.
pub const OPT_END: u8 = 0;
/// Option kind: no operation.
pub const OPT_NOP: u8 = 1;
/// Option kind: record route (RFC 791).
pub const OPT_RECORD_ROUTE: u8 = 7;
/// Option kind: Internet timestamp (RFC 791).
pub const OPT_TIMESTAMP: u8 = 68;

/// A read/write view of an IPv4 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it. Accessors panic if the buffer is shorter
    /// than the header they read; use [`new_checked`](Self::new_checked) on bytes
    /// from the network.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the fixed header and the options announced by the header-length
    /// field are present, so that no accessor panics. The total-length field is
    /// *not* checked against the buffer (ICMP quotes are often shorter than the
    /// packet they quote); [`payload`](Self::payload) stops at whichever ends first.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        need("IPv4 header", HEADER_LEN, len)?;
        let hl = self.header_len();
        if hl < HEADER_LEN {
            return Err(Error::BadHeaderLength {
                what: "IPv4 header",
                len: hl,
            });
        }
        need("IPv4 header with options", hl, len)
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version field (4 for IPv4).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (the IHL field times four).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The type-of-service byte (DSCP and ECN).
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    /// The total-length field.
    pub fn total_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH)
    }

    /// The identification field.
    pub fn ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::IDENT)
    }

    /// The don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.buffer.as_ref()[field::FLG_OFF] & 0x40 != 0
    }

    /// The more-fragments flag.
    pub fn more_frags(&self) -> bool {
        self.buffer.as_ref()[field::FLG_OFF] & 0x20 != 0
    }

    /// The reserved (evil) flag bit.
    pub fn reserved_flag(&self) -> bool {
        self.buffer.as_ref()[field::FLG_OFF] & 0x80 != 0
    }

    /// The fragment-offset field, in units of eight bytes.
    pub fn frag_offset(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FLG_OFF) & 0x1fff
    }

    /// The time-to-live field.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol field.
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// The header-checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        let d = self.buffer.as_ref();
        Ipv4Addr::new(
            d[field::SRC],
            d[field::SRC + 1],
            d[field::SRC + 2],
            d[field::SRC + 3],
        )
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        let d = self.buffer.as_ref();
        Ipv4Addr::new(
            d[field::DST],
            d[field::DST + 1],
            d[field::DST + 2],
            d[field::DST + 3],
        )
    }

    /// True when the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(&self.buffer.as_ref()[..self.header_len()]) == 0
    }

    /// The option bytes (between the fixed header and the payload).
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// The typed options.
    pub fn option_iter(&self) -> OptionIter<'_> {
        OptionIter::new(self.options())
    }

    /// The payload: from the end of the header to the end of the total length or
    /// of the buffer, whichever comes first.
    pub fn payload(&self) -> &[u8] {
        let d = self.buffer.as_ref();
        let hl = self.header_len();
        let end = usize::from(self.total_len()).clamp(hl, d.len());
        &d[hl..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the version field.
    pub fn set_version(&mut self, v: u8) {
        let d = self.buffer.as_mut();
        d[field::VER_IHL] = (d[field::VER_IHL] & 0x0f) | (v << 4);
    }

    /// Sets the header length in bytes (a multiple of four, at most 60).
    pub fn set_header_len(&mut self, len: usize) {
        let d = self.buffer.as_mut();
        d[field::VER_IHL] = (d[field::VER_IHL] & 0xf0) | ((len / 4) as u8 & 0x0f);
    }

    /// Sets the type-of-service byte.
    pub fn set_tos(&mut self, v: u8) {
        self.buffer.as_mut()[field::TOS] = v;
    }

    /// Sets the total-length field.
    pub fn set_total_len(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::LENGTH, v);
    }

    /// Sets the identification field.
    pub fn set_ident(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::IDENT, v);
    }

    /// Sets the flags (reserved, DF, MF) and the fragment offset (in eight-byte
    /// units) at once.
    pub fn set_flags_and_offset(&mut self, reserved: bool, df: bool, mf: bool, offset: u16) {
        let v = (u16::from(reserved) << 15)
            | (u16::from(df) << 14)
            | (u16::from(mf) << 13)
            | (offset & 0x1fff);
        put16(self.buffer.as_mut(), field::FLG_OFF, v);
    }

    /// Sets the don't-fragment flag.
    pub fn set_dont_frag(&mut self, v: bool) {
        let d = self.buffer.as_mut();
        d[field::FLG_OFF] = (d[field::FLG_OFF] & !0x40) | (u8::from(v) << 6);
    }

    /// Sets the time-to-live field.
    pub fn set_ttl(&mut self, v: u8) {
        self.buffer.as_mut()[field::TTL] = v;
    }

    /// Sets the protocol field.
    pub fn set_protocol(&mut self, v: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = v.into();
    }

    /// Sets the header-checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::CHECKSUM, v);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC..field::SRC + 4].copy_from_slice(&a.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::DST..field::DST + 4].copy_from_slice(&a.octets());
    }

    /// Computes and stores the header checksum.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let hl = self.header_len();
        let c = checksum::checksum(&self.buffer.as_ref()[..hl]);
        self.set_checksum(c);
    }

    /// The option bytes, writable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buffer.as_mut()[HEADER_LEN..hl]
    }

    /// The payload, writable (same extent as [`payload`](Packet::payload)).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        let total = usize::from(self.total_len());
        let d = self.buffer.as_mut();
        let end = total.clamp(hl, d.len());
        &mut d[hl..end]
    }
}

/// The meaning of an IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: IpProtocol,
    /// Payload length in bytes (total length minus header length).
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// Type-of-service byte.
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Don't-fragment flag.
    pub dont_frag: bool,
    /// More-fragments flag.
    pub more_frags: bool,
    /// Fragment offset in eight-byte units.
    pub frag_offset: u16,
    /// Options, padded to a multiple of four bytes when parsed.
    pub options: OptionBytes,
}

impl Repr {
    /// Parses a header whose total length must fit the buffer and cover the
    /// header. The checksum is not verified (see [`Packet::verify_checksum`]).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        packet.check_len()?;
        if packet.version() != 4 {
            return Err(Error::BadVersion {
                what: "IPv4 header",
                version: packet.version(),
                expected: 4,
            });
        }
        let hl = packet.header_len();
        let total = usize::from(packet.total_len());
        let have = packet.buffer.as_ref().len();
        if total < hl || total > have {
            return Err(Error::BadLength {
                what: "IPv4 total length",
                field: total,
                have,
            });
        }
        Ok(Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: total - hl,
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset(),
            options: OptionBytes::from_bytes(packet.options())?,
        })
    }

    /// Header length in bytes, options padded.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.padded_len()
    }

    /// Bytes needed to emit the header (not the payload).
    pub fn buffer_len(&self) -> usize {
        self.header_len()
    }

    /// Writes the header, options and checksum into the start of `packet`'s buffer.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        let hl = self.header_len();
        let have = packet.buffer.as_ref().len();
        crate::room("IPv4 header", hl, have)?;
        let total = hl + self.payload_len;
        let total = u16::try_from(total).map_err(|_| Error::Unrepresentable {
            what: "IPv4 total length",
            reason: "header plus payload exceed 65535 bytes",
        })?;
        if self.frag_offset > 0x1fff {
            return Err(Error::Unrepresentable {
                what: "IPv4 fragment offset",
                reason: "the field has 13 bits",
            });
        }
        packet.set_version(4);
        packet.set_header_len(hl);
        packet.set_tos(self.tos);
        packet.set_total_len(total);
        packet.set_ident(self.ident);
        packet.set_flags_and_offset(false, self.dont_frag, self.more_frags, self.frag_offset);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        self.options.write_padded(packet.options_mut());
        packet.fill_checksum();
        Ok(())
    }
}

/// One IPv4 option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv4Option<'a> {
    /// End of option list (kind 0).
    EndOfList,
    /// No operation (kind 1).
    NoOperation,
    /// Record route (kind 7): the pointer and the route-data area.
    RecordRoute {
        /// The pointer field (1-based offset within the option of the next free slot).
        pointer: u8,
        /// The route data, after the kind, length and pointer bytes.
        data: &'a [u8],
    },
    /// Internet timestamp (kind 68).
    Timestamp {
        /// The pointer field.
        pointer: u8,
        /// The overflow counter (high nibble of the fourth byte).
        overflow: u8,
        /// The flag (low nibble): 0 timestamps only, 1 address and timestamp,
        /// 3 prespecified addresses.
        flag: u8,
        /// The timestamp data, after the fourth byte.
        data: &'a [u8],
    },
    /// Any other option, with its kind and the bytes after the length byte.
    Unknown {
        /// The option kind.
        kind: u8,
        /// The option data.
        data: &'a [u8],
    },
}

impl<'a> Ipv4Option<'a> {
    /// For record route: the addresses recorded so far (those before the pointer).
    pub fn recorded_route(&self) -> impl Iterator<Item = Ipv4Addr> + 'a {
        let (pointer, data): (usize, &'a [u8]) = match *self {
            Ipv4Option::RecordRoute { pointer, data } => (usize::from(pointer), data),
            _ => (0, &[]),
        };
        // The pointer counts from the option's first byte, and data starts at 4.
        let used = pointer.saturating_sub(4).min(data.len()) / 4 * 4;
        data[..used]
            .chunks_exact(4)
            .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
    }

    /// For timestamp: the entries recorded so far, as (address, timestamp);
    /// the address is `None` for the timestamps-only flag.
    pub fn recorded_timestamps(&self) -> impl Iterator<Item = (Option<Ipv4Addr>, u32)> + 'a {
        let (pointer, flag, data): (usize, u8, &'a [u8]) = match *self {
            Ipv4Option::Timestamp {
                pointer,
                flag,
                data,
                ..
            } => (usize::from(pointer), flag, data),
            _ => (0, 0, &[]),
        };
        let step = if flag == 0 { 4 } else { 8 };
        let used = pointer.saturating_sub(5).min(data.len()) / step * step;
        data[..used].chunks_exact(step).map(move |c| {
            if step == 4 {
                (None, crate::be32(c, 0))
            } else {
                (
                    Some(Ipv4Addr::new(c[0], c[1], c[2], c[3])),
                    crate::be32(c, 4),
                )
            }
        })
    }
}

/// Iterator over the options of an IPv4 header. Yields an error once and stops
/// at a malformed option; stops after an end-of-list option.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    rest: &'a [u8],
    done: bool,
}

impl<'a> OptionIter<'a> {
    /// Iterates over raw option bytes.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            rest: bytes,
            done: false,
        }
    }
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = Result<Ipv4Option<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (&kind, after) = self.rest.split_first()?;
        match kind {
            OPT_END => {
                self.done = true;
                return Some(Ok(Ipv4Option::EndOfList));
            }
            OPT_NOP => {
                self.rest = after;
                return Some(Ok(Ipv4Option::NoOperation));
            }
            _ => {}
        }
        let bad = |reason| {
            Some(Err(Error::Malformed {
                what: "IPv4 option",
                reason,
            }))
        };
        let Some(&len) = after.first() else {
            self.done = true;
            return bad("the length byte is missing");
        };
        let len = usize::from(len);
        if len < 2 || len > self.rest.len() {
            self.done = true;
            return bad("the length byte is shorter than 2 or runs past the header");
        }
        let opt = &self.rest[..len];
        self.rest = &self.rest[len..];
        let item = match kind {
            OPT_RECORD_ROUTE if len >= 3 => Ipv4Option::RecordRoute {
                pointer: opt[2],
                data: &opt[3..],
            },
            OPT_TIMESTAMP if len >= 4 => Ipv4Option::Timestamp {
                pointer: opt[2],
                overflow: opt[3] >> 4,
                flag: opt[3] & 0x0f,
                data: &opt[4..],
            },
            _ => Ipv4Option::Unknown {
                kind,
                data: &opt[2..],
            },
        };
        Some(Ok(item))
    }
}

/// Builders for the options probes carry (ping `-R`, `-T`).
impl OptionBytes {
    /// A record-route option with room for nine addresses (39 bytes, 40 once
    /// padded), as `ping -R` sends.
    pub fn record_route() -> Self {
        let mut o = Self::new();
        let mut b = [0u8; 39];
        b[0] = OPT_RECORD_ROUTE;
        b[1] = 39;
        b[2] = 4;
        // Cannot fail: 39 bytes fit in 40.
        let _ = o.push_raw(&b);
        o
    }

    /// A timestamp option with the timestamps-only flag and room for nine
    /// timestamps (40 bytes).
    pub fn timestamp_only() -> Self {
        let mut b = [0u8; 40];
        b[0] = OPT_TIMESTAMP;
        b[1] = 40;
        b[2] = 5;
        b[3] = 0;
        let mut o = Self::new();
        let _ = o.push_raw(&b);
        o
    }

    /// A timestamp option with the address-and-timestamp flag and room for four
    /// entries (36 bytes).
    pub fn timestamp_and_addr() -> Self {
        let mut b = [0u8; 36];
        b[0] = OPT_TIMESTAMP;
        b[1] = 36;
        b[2] = 5;
        b[3] = 1;
        let mut o = Self::new();
        let _ = o.push_raw(&b);
        o
    }

    /// A timestamp option with prespecified addresses (1 to 4 of them):
    /// 4 + 8·n bytes.
    pub fn timestamp_prespec(addrs: &[Ipv4Addr]) -> Result<Self> {
        if addrs.is_empty() || addrs.len() > 4 {
            return Err(Error::Unrepresentable {
                what: "IPv4 prespecified timestamp option",
                reason: "it takes between 1 and 4 addresses",
            });
        }
        let len = 4 + 8 * addrs.len();
        let mut b = [0u8; 36];
        b[0] = OPT_TIMESTAMP;
        b[1] = len as u8;
        b[2] = 5;
        b[3] = 3;
        for (i, a) in addrs.iter().enumerate() {
            b[4 + 8 * i..8 + 8 * i].copy_from_slice(&a.octets());
        }
        let mut o = Self::new();
        o.push_raw(&b[..len])?;
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;

    // 192.0.2.1 -> 198.51.100.2, UDP, TTL 5, ID 0x1234, DF, 8 bytes payload.
    const UDP_V4: [u8; 28] = hex!(
        "45 00 00 1c 12 34 40 00 05 11 00 00 c0 00 02 01 c6 33 64 02"
        "82 9b 82 9b 00 08 00 00"
    );

    fn fixed(mut b: [u8; 28]) -> [u8; 28] {
        let c = checksum::checksum(&b[..20]);
        b[10..12].copy_from_slice(&c.to_be_bytes());
        b
    }

    #[test]
    fn parse_vector() {
        let bytes = fixed(UDP_V4);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert!(p.verify_checksum());
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r.src_addr, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(r.dst_addr, Ipv4Addr::new(198, 51, 100, 2));
        assert_eq!(r.protocol, IpProtocol::Udp);
        assert_eq!(r.ttl, 5);
        assert_eq!(r.ident, 0x1234);
        assert!(r.dont_frag);
        assert_eq!(r.payload_len, 8);
        assert_eq!(p.payload(), &bytes[20..]);
    }

    #[test]
    fn emit_vector() {
        let r = Repr {
            src_addr: Ipv4Addr::new(192, 0, 2, 1),
            dst_addr: Ipv4Addr::new(198, 51, 100, 2),
            protocol: IpProtocol::Udp,
            payload_len: 8,
            ttl: 5,
            tos: 0,
            ident: 0x1234,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
            options: OptionBytes::new(),
        };
        let mut buf = [0u8; 28];
        buf[20..].copy_from_slice(&UDP_V4[20..]);
        r.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        assert_eq!(buf, fixed(UDP_V4));
    }

    #[test]
    fn record_route_option() {
        let mut o = OptionBytes::record_route();
        assert_eq!(o.len(), 39);
        assert_eq!(o.padded_len(), 40);
        o = o.padded();
        // Pretend two routers recorded themselves.
        let mut b = [0u8; 40];
        b.copy_from_slice(o.as_bytes());
        b[2] = 12;
        b[3..7].copy_from_slice(&[10, 0, 0, 1]);
        b[7..11].copy_from_slice(&[10, 0, 0, 2]);
        let mut it = OptionIter::new(&b);
        let rr = it.next().unwrap().unwrap();
        let got: Vec<_> = rr.recorded_route().collect();
        assert_eq!(
            got,
            vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)]
        );
        assert_eq!(it.next().unwrap().unwrap(), Ipv4Option::EndOfList);
        assert!(it.next().is_none());
    }

    #[test]
    fn timestamp_options() {
        assert_eq!(OptionBytes::timestamp_only().len(), 40);
        assert_eq!(OptionBytes::timestamp_and_addr().len(), 36);
        let a = Ipv4Addr::new(192, 0, 2, 9);
        let o = OptionBytes::timestamp_prespec(&[a, a]).unwrap();
        assert_eq!(o.len(), 20);
        assert!(OptionBytes::timestamp_prespec(&[]).is_err());
        assert!(OptionBytes::timestamp_prespec(&[a; 5]).is_err());
        let mut b = [0u8; 20];
        b.copy_from_slice(o.as_bytes());
        b[2] = 13; // first entry filled
        b[8..12].copy_from_slice(&1234u32.to_be_bytes());
        let opt = OptionIter::new(&b).next().unwrap().unwrap();
        let ts: Vec<_> = opt.recorded_timestamps().collect();
        assert_eq!(ts, vec![(Some(a), 1234)]);
    }

    #[test]
    fn malformed_options() {
        let mut it = OptionIter::new(&[7]);
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
        let mut it = OptionIter::new(&[7, 9, 4]);
        assert!(it.next().unwrap().is_err());
        let mut it = OptionIter::new(&[1, 1, 0x99, 2]);
        assert_eq!(it.next().unwrap().unwrap(), Ipv4Option::NoOperation);
        assert_eq!(it.next().unwrap().unwrap(), Ipv4Option::NoOperation);
        assert_eq!(
            it.next().unwrap().unwrap(),
            Ipv4Option::Unknown {
                kind: 0x99,
                data: &[]
            }
        );
        assert!(it.next().is_none());
    }

    #[test]
    fn bad_headers() {
        assert!(matches!(
            Packet::new_checked(&[0x45u8; 10][..]),
            Err(Error::Truncated { .. })
        ));
        let mut b = fixed(UDP_V4);
        b[0] = 0x44;
        assert!(matches!(
            Packet::new_checked(&b[..]),
            Err(Error::BadHeaderLength { .. })
        ));
        b[0] = 0x46;
        b[2..4].copy_from_slice(&20u16.to_be_bytes());
        assert!(matches!(
            Repr::parse(&Packet::new_unchecked(&b[..])),
            Err(Error::BadLength { .. })
        ));
        let mut b = fixed(UDP_V4);
        b[0] = 0x65;
        assert!(matches!(
            Repr::parse(&Packet::new_unchecked(&b[..])),
            Err(Error::BadVersion { .. })
        ));
        let mut b = fixed(UDP_V4);
        b[3] = 200;
        assert!(matches!(
            Repr::parse(&Packet::new_unchecked(&b[..])),
            Err(Error::BadLength { .. })
        ));
    }

    pub(crate) fn arb_options() -> impl Strategy<Value = OptionBytes> {
        (0usize..=10)
            .prop_flat_map(|words| proptest::collection::vec(any::<u8>(), words * 4))
            .prop_map(|v| OptionBytes::from_bytes(&v).unwrap())
    }

    prop_compose! {
        pub(crate) fn arb_repr()(src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(), protocol in any::<u8>(),
            payload_len in 0usize..1000, ttl in any::<u8>(), tos in any::<u8>(), ident in any::<u16>(),
            dont_frag in any::<bool>(), more_frags in any::<bool>(), frag_offset in 0u16..0x2000,
            options in arb_options()) -> Repr {
            Repr { src_addr: src.into(), dst_addr: dst.into(), protocol: protocol.into(), payload_len,
                ttl, tos, ident, dont_frag, more_frags, frag_offset, options }
        }
    }

    proptest! {
        #[test]
        fn round_trip(r in arb_repr()) {
            let mut buf = vec![0u8; r.buffer_len() + r.payload_len];
            r.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
            let p = Packet::new_checked(&buf[..]).unwrap();
            prop_assert!(p.verify_checksum());
            prop_assert_eq!(Repr::parse(&p).unwrap(), r);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let _ = Repr::parse(&p);
                let _ = p.payload();
                for o in p.option_iter().flatten() {
                    let _ = o.recorded_route().count();
                    let _ = o.recorded_timestamps().count();
                }
            }
        }
    }
}
