//! TCP headers (RFC 9293) with options: MSS, window scale, SACK-permitted, SACK
//! and timestamps typed; every option also kept as raw bytes.

use crate::{
    Error, IpProtocol, OptionBytes, Result, be16, be32, checksum, need, put16, put32, room,
};
use core::ops::BitOr;
use std::net::IpAddr;

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const SEQ_NUM: usize = 4;
    pub const ACK_NUM: usize = 8;
    pub const OFF_NS: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WIN_SIZE: usize = 14;
    pub const CHECKSUM: usize = 16;
    pub const URGENT: usize = 18;
}

/// Length of a TCP header without options.
pub const HEADER_LEN: usize = 20;

/// Option kind: end of option list.
pub const OPT_END: u8 = 0;
/// Option kind: no operation.
pub const OPT_NOP: u8 = 1;
/// Option kind: maximum segment size.
pub const OPT_MSS: u8 = 2;
/// Option kind: window scale.
pub const OPT_WS: u8 = 3;
/// Option kind: SACK permitted.
pub const OPT_SACK_PERM: u8 = 4;
/// Option kind: SACK.
pub const OPT_SACK: u8 = 5;
/// Option kind: timestamps.
pub const OPT_TSTAMP: u8 = 8;

/// The eight TCP flag bits of byte 13 (CWR, ECE, URG, ACK, PSH, RST, SYN, FIN),
/// the form warts stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: Self = Self(0x01);
    /// SYN.
    pub const SYN: Self = Self(0x02);
    /// RST.
    pub const RST: Self = Self(0x04);
    /// PSH.
    pub const PSH: Self = Self(0x08);
    /// ACK.
    pub const ACK: Self = Self(0x10);
    /// URG.
    pub const URG: Self = Self(0x20);
    /// ECE.
    pub const ECE: Self = Self(0x40);
    /// CWR.
    pub const CWR: Self = Self(0x80);

    /// True when every bit of `other` is set here.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for TcpFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// A read/write view of a TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors panic if it is shorter than
    /// the header they read.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the fixed header and the options the data-offset field
    /// announces are present.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        need("TCP header", HEADER_LEN, len)?;
        let hl = self.header_len();
        if hl < HEADER_LEN {
            return Err(Error::BadHeaderLength {
                what: "TCP header",
                len: hl,
            });
        }
        need("TCP header with options", hl, len)
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

    /// The sequence number.
    pub fn seq_number(&self) -> u32 {
        be32(self.buffer.as_ref(), field::SEQ_NUM)
    }

    /// The acknowledgment number.
    pub fn ack_number(&self) -> u32 {
        be32(self.buffer.as_ref(), field::ACK_NUM)
    }

    /// Header length in bytes (data offset times four).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::OFF_NS] >> 4) * 4
    }

    /// The low four bits of byte 12 (reserved bits and the old NS flag).
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[field::OFF_NS] & 0x0f
    }

    /// The flags byte.
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.buffer.as_ref()[field::FLAGS])
    }

    /// The window.
    pub fn window_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::WIN_SIZE)
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The urgent pointer.
    pub fn urgent_at(&self) -> u16 {
        be16(self.buffer.as_ref(), field::URGENT)
    }

    /// The option bytes.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// The typed options.
    pub fn option_iter(&self) -> OptionIter<'_> {
        OptionIter::new(self.options())
    }

    /// The payload (everything after the header).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// True when the checksum verifies over the whole buffer.
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        let d = self.buffer.as_ref();
        let s = checksum::combine(
            checksum::pseudo_header(src, dst, IpProtocol::Tcp.into(), d.len() as u32),
            checksum::sum(d),
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

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, v: u32) {
        put32(self.buffer.as_mut(), field::SEQ_NUM, v);
    }

    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, v: u32) {
        put32(self.buffer.as_mut(), field::ACK_NUM, v);
    }

    /// Sets the header length in bytes (a multiple of four, at most 60); clears
    /// the reserved bits.
    pub fn set_header_len(&mut self, len: usize) {
        self.buffer.as_mut()[field::OFF_NS] = ((len / 4) as u8) << 4;
    }

    /// Sets the flags byte.
    pub fn set_flags(&mut self, v: TcpFlags) {
        self.buffer.as_mut()[field::FLAGS] = v.0;
    }

    /// Sets the window.
    pub fn set_window_len(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::WIN_SIZE, v);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::CHECKSUM, v);
    }

    /// Sets the urgent pointer.
    pub fn set_urgent_at(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::URGENT, v);
    }

    /// The option bytes, writable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buffer.as_mut()[HEADER_LEN..hl]
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buffer.as_mut()[hl..]
    }

    /// Computes and stores the checksum over the whole buffer.
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr) {
        self.set_checksum(0);
        let d = self.buffer.as_ref();
        let s = checksum::combine(
            checksum::pseudo_header(src, dst, IpProtocol::Tcp.into(), d.len() as u32),
            checksum::sum(d),
        );
        self.set_checksum(checksum::finish(s));
    }
}

/// The meaning of a TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq_number: u32,
    /// Acknowledgment number.
    pub ack_number: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Window.
    pub window_len: u16,
    /// Urgent pointer.
    pub urgent_at: u16,
    /// Options, padded to a multiple of four bytes when parsed.
    pub options: OptionBytes,
    /// Payload.
    pub payload: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Parses a segment (all of `bytes`). The checksum is not verified.
    pub fn parse_bytes(bytes: &'a [u8]) -> Result<Self> {
        let p = Packet::new_checked(bytes)?;
        Ok(Self {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            seq_number: p.seq_number(),
            ack_number: p.ack_number(),
            flags: p.flags(),
            window_len: p.window_len(),
            urgent_at: p.urgent_at(),
            options: OptionBytes::from_bytes(p.options())?,
            payload: &bytes[p.header_len()..],
        })
    }

    /// Parses a segment held by a view.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Self> {
        let buffer: &'a T = packet.buffer;
        Self::parse_bytes(buffer.as_ref())
    }

    /// Header length with options padded.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.padded_len()
    }

    /// Bytes needed: header, options and payload.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// Writes the segment with its checksum for these addresses at the start of
    /// `packet`'s buffer, which must be exactly [`buffer_len`](Self::buffer_len)
    /// long (the checksum covers the whole buffer).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<()> {
        let len = self.buffer_len();
        let have = packet.buffer.as_ref().len();
        room("TCP segment", len, have)?;
        if have != len {
            return Err(Error::BadLength {
                what: "TCP output buffer",
                field: len,
                have,
            });
        }
        let hl = self.header_len();
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        packet.set_header_len(hl);
        packet.set_flags(self.flags);
        packet.set_window_len(self.window_len);
        packet.set_urgent_at(self.urgent_at);
        self.options.write_padded(packet.options_mut());
        packet.payload_mut().copy_from_slice(self.payload);
        packet.fill_checksum(src, dst);
        Ok(())
    }
}

/// One TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// End of option list.
    EndOfList,
    /// No operation.
    NoOperation,
    /// Maximum segment size.
    Mss(u16),
    /// Window scale shift.
    WindowScale(u8),
    /// SACK permitted.
    SackPermitted,
    /// SACK blocks, raw (pairs of 32-bit left and right edges).
    Sack(&'a [u8]),
    /// Timestamps.
    Timestamps {
        /// TSval.
        tsval: u32,
        /// TSecr.
        tsecr: u32,
    },
    /// Any other option (or a known kind with an unexpected length), with the
    /// bytes after its length byte.
    Unknown {
        /// Kind.
        kind: u8,
        /// Data.
        data: &'a [u8],
    },
}

impl TcpOption<'_> {
    /// Bytes this option takes.
    pub fn buffer_len(&self) -> usize {
        match *self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::Mss(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::Sack(d) | TcpOption::Unknown { data: d, .. } => 2 + d.len(),
            TcpOption::Timestamps { .. } => 10,
        }
    }

    /// Writes the option at the start of `buf`; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        room("TCP option", len, buf.len())?;
        if len > 255 {
            return Err(Error::Unrepresentable {
                what: "TCP option",
                reason: "options are at most 255 bytes",
            });
        }
        match *self {
            TcpOption::EndOfList => buf[0] = OPT_END,
            TcpOption::NoOperation => buf[0] = OPT_NOP,
            TcpOption::Mss(v) => {
                buf[..2].copy_from_slice(&[OPT_MSS, 4]);
                put16(buf, 2, v);
            }
            TcpOption::WindowScale(v) => buf[..3].copy_from_slice(&[OPT_WS, 3, v]),
            TcpOption::SackPermitted => buf[..2].copy_from_slice(&[OPT_SACK_PERM, 2]),
            TcpOption::Sack(d) => {
                buf[..2].copy_from_slice(&[OPT_SACK, len as u8]);
                buf[2..len].copy_from_slice(d);
            }
            TcpOption::Timestamps { tsval, tsecr } => {
                buf[..2].copy_from_slice(&[OPT_TSTAMP, 10]);
                put32(buf, 2, tsval);
                put32(buf, 6, tsecr);
            }
            TcpOption::Unknown { kind, data } => {
                buf[..2].copy_from_slice(&[kind, len as u8]);
                buf[2..len].copy_from_slice(data);
            }
        }
        Ok(len)
    }
}

impl OptionBytes {
    /// Appends a TCP option.
    pub fn push_tcp(&mut self, opt: &TcpOption<'_>) -> Result<()> {
        let mut b = [0u8; 40];
        let n = opt.emit(&mut b).map_err(|_| Error::Unrepresentable {
            what: "TCP options",
            reason: "options longer than 40 bytes do not fit in a header",
        })?;
        self.push_raw(&b[..n])
    }
}

/// Iterator over TCP options. Yields an error once and stops at a malformed
/// option; stops after end-of-list.
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
    type Item = Result<TcpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (&kind, after) = self.rest.split_first()?;
        match kind {
            OPT_END => {
                self.done = true;
                return Some(Ok(TcpOption::EndOfList));
            }
            OPT_NOP => {
                self.rest = after;
                return Some(Ok(TcpOption::NoOperation));
            }
            _ => {}
        }
        let len = after.first().map_or(0, |&l| usize::from(l));
        if len < 2 || len > self.rest.len() {
            self.done = true;
            return Some(Err(Error::Malformed {
                what: "TCP option",
                reason: "the length byte is missing, shorter than 2, or runs past the header",
            }));
        }
        let o = &self.rest[..len];
        self.rest = &self.rest[len..];
        let data = &o[2..];
        Some(Ok(match (kind, len) {
            (OPT_MSS, 4) => TcpOption::Mss(be16(o, 2)),
            (OPT_WS, 3) => TcpOption::WindowScale(o[2]),
            (OPT_SACK_PERM, 2) => TcpOption::SackPermitted,
            (OPT_SACK, _) => TcpOption::Sack(data),
            (OPT_TSTAMP, 10) => TcpOption::Timestamps {
                tsval: be32(o, 2),
                tsecr: be32(o, 6),
            },
            _ => TcpOption::Unknown { kind, data },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn v4() -> (IpAddr, IpAddr) {
        (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        )
    }

    // SYN 40000 -> 80, seq 1, window 65535, MSS 1460, checksum zeroed.
    const SYN: [u8; 24] =
        hex!("9c 40 00 50 00 00 00 01 00 00 00 00 60 02 ff ff 00 00 00 00 02 04 05 b4");

    #[test]
    fn syn_vector_both_ways() {
        let (s, d) = v4();
        let r = Repr::parse_bytes(&SYN).unwrap();
        assert_eq!(r.src_port, 40000);
        assert_eq!(r.dst_port, 80);
        assert_eq!(r.seq_number, 1);
        assert_eq!(r.flags, TcpFlags::SYN);
        let p = Packet::new_checked(&SYN[..]).unwrap();
        let opts: Vec<_> = p.option_iter().collect::<Result<_>>().unwrap();
        assert_eq!(opts, vec![TcpOption::Mss(1460)]);
        let mut b = [0u8; 24];
        r.emit(&mut Packet::new_unchecked(&mut b[..]), s, d)
            .unwrap();
        let mut pseudo = vec![10, 0, 0, 1, 10, 0, 0, 2, 0, 6, 0, 24];
        pseudo.extend_from_slice(&SYN);
        let c = checksum::checksum(&pseudo);
        let mut want = SYN;
        want[16..18].copy_from_slice(&c.to_be_bytes());
        assert_eq!(b, want);
        assert!(Packet::new_checked(&b[..]).unwrap().verify_checksum(s, d));
    }

    #[test]
    fn options_build_and_parse() {
        let mut o = OptionBytes::new();
        o.push_tcp(&TcpOption::Mss(1400)).unwrap();
        o.push_tcp(&TcpOption::SackPermitted).unwrap();
        o.push_tcp(&TcpOption::Timestamps { tsval: 1, tsecr: 0 })
            .unwrap();
        o.push_tcp(&TcpOption::NoOperation).unwrap();
        o.push_tcp(&TcpOption::WindowScale(7)).unwrap();
        assert_eq!(o.len(), 20);
        let got: Vec<_> = OptionIter::new(o.as_bytes())
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(
            got,
            vec![
                TcpOption::Mss(1400),
                TcpOption::SackPermitted,
                TcpOption::Timestamps { tsval: 1, tsecr: 0 },
                TcpOption::NoOperation,
                TcpOption::WindowScale(7)
            ]
        );
        let mut full = OptionBytes::from_bytes(&[1; 38]).unwrap();
        assert!(full.push_tcp(&TcpOption::Mss(1)).is_err());
        let mut it = OptionIter::new(&[2, 9, 0]);
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
        assert_eq!(
            OptionIter::new(&[2, 3, 0]).next().unwrap().unwrap(),
            TcpOption::Unknown {
                kind: 2,
                data: &[0]
            }
        );
    }

    #[test]
    fn bad_header_len() {
        let mut b = SYN;
        b[12] = 0x40;
        assert!(matches!(
            Packet::new_checked(&b[..]),
            Err(Error::BadHeaderLength { .. })
        ));
        b[12] = 0x70;
        assert!(matches!(
            Packet::new_checked(&b[..]),
            Err(Error::Truncated { .. })
        ));
    }

    prop_compose! {
        pub(crate) fn arb_options()(words in 0usize..=10)(v in proptest::collection::vec(any::<u8>(), words * 4)) -> OptionBytes {
            OptionBytes::from_bytes(&v).unwrap()
        }
    }

    proptest! {
        #[test]
        fn round_trip(sp in any::<u16>(), dp in any::<u16>(), seq in any::<u32>(), ack in any::<u32>(),
                      flags in any::<u8>(), win in any::<u16>(), urg in any::<u16>(), options in arb_options(),
                      payload in proptest::collection::vec(any::<u8>(), 0..64),
                      s6 in any::<[u8; 16]>(), d6 in any::<[u8; 16]>(), v6 in any::<bool>()) {
            let (s, d) = if v6 { (IpAddr::from(s6), IpAddr::from(d6)) } else { v4() };
            let r = Repr { src_port: sp, dst_port: dp, seq_number: seq, ack_number: ack, flags: TcpFlags(flags),
                window_len: win, urgent_at: urg, options, payload: &payload };
            let mut b = vec![0u8; r.buffer_len()];
            r.emit(&mut Packet::new_unchecked(&mut b[..]), s, d).unwrap();
            prop_assert!(Packet::new_checked(&b[..]).unwrap().verify_checksum(s, d));
            prop_assert_eq!(Repr::parse_bytes(&b).unwrap(), r);
        }

        #[test]
        fn option_round_trip(mss in any::<u16>(), ws in any::<u8>(), ts in any::<(u32, u32)>(),
                             sack in proptest::collection::vec(any::<u8>(), 0..16),
                             kind in 9u8..=255, data in proptest::collection::vec(any::<u8>(), 0..6)) {
            let opts = [TcpOption::Mss(mss), TcpOption::WindowScale(ws), TcpOption::SackPermitted,
                TcpOption::Timestamps { tsval: ts.0, tsecr: ts.1 }, TcpOption::Sack(&sack),
                TcpOption::Unknown { kind, data: &data }];
            for o in &opts {
                let mut b = [0u8; 40];
                let n = o.emit(&mut b).unwrap();
                prop_assert_eq!(n, o.buffer_len());
                let back = OptionIter::new(&b[..n]).next().unwrap().unwrap();
                prop_assert_eq!(&back, o);
            }
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(r) = Repr::parse_bytes(&data) {
                for o in OptionIter::new(r.options.as_bytes()) { let _ = o; }
            }
        }
    }
}
