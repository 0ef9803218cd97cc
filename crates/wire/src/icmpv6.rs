//! ICMP for IPv6 (RFC 4443): echo, and the error messages that quote a packet
//! (destination unreachable, packet too big, time exceeded, parameter problem),
//! with the RFC 4884 length field and extensions. The checksum covers the IPv6
//! pseudo-header, so computing or verifying it needs the addresses.

use crate::icmp_ext::{self, Extensions};
use crate::icmpv4::{emit_error_body, quote_field_len};
use crate::{IpProtocol, Result, be16, be32, checksum, need, put16, put32, room};
use std::net::Ipv6Addr;

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const ECHO_IDENT: usize = 4;
    pub const ECHO_SEQNO: usize = 6;
    pub const EXT_LENGTH: usize = 4;
    pub const MTU: usize = 4;
    pub const POINTER: usize = 4;
}

/// Length of the ICMPv6 header (type, code, checksum, four header-specific bytes).
pub const HEADER_LEN: usize = 8;

/// ICMPv6 message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    /// Destination unreachable (1).
    DstUnreachable,
    /// Packet too big (2).
    PacketTooBig,
    /// Time exceeded (3).
    TimeExceeded,
    /// Parameter problem (4).
    ParamProblem,
    /// Echo request (128).
    EchoRequest,
    /// Echo reply (129).
    EchoReply,
    /// Neighbour solicitation (135).
    NeighborSolicit,
    /// Neighbour advertisement (136).
    NeighborAdvert,
    /// Any other type.
    Unknown(u8),
}

impl From<u8> for Message {
    fn from(v: u8) -> Self {
        match v {
            1 => Self::DstUnreachable,
            2 => Self::PacketTooBig,
            3 => Self::TimeExceeded,
            4 => Self::ParamProblem,
            128 => Self::EchoRequest,
            129 => Self::EchoReply,
            135 => Self::NeighborSolicit,
            136 => Self::NeighborAdvert,
            o => Self::Unknown(o),
        }
    }
}

impl From<Message> for u8 {
    fn from(v: Message) -> Self {
        match v {
            Message::DstUnreachable => 1,
            Message::PacketTooBig => 2,
            Message::TimeExceeded => 3,
            Message::ParamProblem => 4,
            Message::EchoRequest => 128,
            Message::EchoReply => 129,
            Message::NeighborSolicit => 135,
            Message::NeighborAdvert => 136,
            Message::Unknown(o) => o,
        }
    }
}

impl Message {
    /// True for error messages (types below 128), which quote a packet.
    pub fn is_error(self) -> bool {
        u8::from(self) < 128
    }

    /// True for the errors that may carry RFC 4884 extensions (destination
    /// unreachable and time exceeded).
    pub fn is_error_with_extensions(self) -> bool {
        matches!(self, Self::DstUnreachable | Self::TimeExceeded)
    }
}

/// A read/write view of an ICMPv6 message.
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

    /// Checks that the 8-byte header is present.
    pub fn check_len(&self) -> Result<()> {
        need("ICMPv6 header", HEADER_LEN, self.buffer.as_ref().len())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The type field.
    pub fn msg_type(&self) -> Message {
        self.buffer.as_ref()[field::TYPE].into()
    }

    /// The code field.
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Echo: the identifier.
    pub fn echo_ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    /// Echo: the sequence number.
    pub fn echo_seq_no(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ECHO_SEQNO)
    }

    /// Packet too big: the MTU.
    pub fn mtu(&self) -> u32 {
        be32(self.buffer.as_ref(), field::MTU)
    }

    /// Parameter problem: the pointer.
    pub fn pointer(&self) -> u32 {
        be32(self.buffer.as_ref(), field::POINTER)
    }

    /// Destination unreachable and time exceeded: the RFC 4884 length of the
    /// quoted packet in 64-bit words (0 when the sender does not use RFC 4884).
    pub fn ext_length(&self) -> u8 {
        self.buffer.as_ref()[field::EXT_LENGTH]
    }

    /// The four header-specific bytes after the checksum, as one number.
    pub fn rest_of_header(&self) -> u32 {
        be32(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    /// Everything after the 8-byte header.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }

    /// True when the checksum verifies with the given addresses.
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        let d = self.buffer.as_ref();
        let len = d.len() as u32;
        let s = checksum::combine(
            checksum::pseudo_header_v6(src, dst, IpProtocol::Icmpv6.into(), len),
            checksum::sum(d),
        );
        s == 0xffff
    }

    /// For error messages: the quoted packet and the extension structure, split
    /// per RFC 4884. For other messages, the whole data and no extensions.
    pub fn quote_and_extensions(&self) -> (&[u8], Option<Extensions<'_>>) {
        if self.msg_type().is_error_with_extensions() {
            icmp_ext::split_body(self.data(), self.ext_length(), 8)
        } else {
            (self.data(), None)
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the type field.
    pub fn set_msg_type(&mut self, v: Message) {
        self.buffer.as_mut()[field::TYPE] = v.into();
    }

    /// Sets the code field.
    pub fn set_msg_code(&mut self, v: u8) {
        self.buffer.as_mut()[field::CODE] = v;
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::CHECKSUM, v);
    }

    /// Sets the echo identifier.
    pub fn set_echo_ident(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::ECHO_IDENT, v);
    }

    /// Sets the echo sequence number.
    pub fn set_echo_seq_no(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::ECHO_SEQNO, v);
    }

    /// Sets the four header-specific bytes.
    pub fn set_rest_of_header(&mut self, v: u32) {
        put32(self.buffer.as_mut(), field::ECHO_IDENT, v);
    }

    /// Everything after the header, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }

    /// Computes and stores the checksum (with the pseudo-header for these
    /// addresses) over the whole buffer.
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let d = self.buffer.as_ref();
        let len = d.len() as u32;
        let s = checksum::combine(
            checksum::pseudo_header_v6(src, dst, IpProtocol::Icmpv6.into(), len),
            checksum::sum(d),
        );
        self.set_checksum(checksum::finish(s));
    }
}

/// The meaning of an ICMPv6 message. Payloads and quotes are borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// Echo request.
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Payload.
        data: &'a [u8],
    },
    /// Echo reply.
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Payload.
        data: &'a [u8],
    },
    /// Destination unreachable.
    DstUnreachable {
        /// Code.
        code: u8,
        /// The quoted packet (padded, when extensions follow).
        quote: &'a [u8],
        /// The RFC 4884 extension structure, if any.
        extensions: Option<&'a [u8]>,
    },
    /// Packet too big.
    PacketTooBig {
        /// Code (0).
        code: u8,
        /// The MTU of the next hop.
        mtu: u32,
        /// The quoted packet.
        quote: &'a [u8],
    },
    /// Time exceeded.
    TimeExceeded {
        /// Code (0 hop limit exceeded, 1 reassembly time exceeded).
        code: u8,
        /// The quoted packet (padded, when extensions follow).
        quote: &'a [u8],
        /// The RFC 4884 extension structure, if any.
        extensions: Option<&'a [u8]>,
    },
    /// Parameter problem.
    ParamProblem {
        /// Code.
        code: u8,
        /// Pointer to the offending byte.
        pointer: u32,
        /// The quoted packet.
        quote: &'a [u8],
    },
    /// Any other message, kept whole.
    Other {
        /// Type.
        msg_type: u8,
        /// Code.
        code: u8,
        /// The four header-specific bytes.
        rest_of_header: u32,
        /// Everything after the header.
        data: &'a [u8],
    },
}

impl<'a> Repr<'a> {
    /// Parses a message held by a view.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Self> {
        let buffer: &'a T = packet.buffer;
        Self::parse_bytes(buffer.as_ref())
    }

    /// Parses a message. The checksum is not verified (see
    /// [`Packet::verify_checksum`]; a Linux raw ICMPv6 socket verifies it).
    pub fn parse_bytes(bytes: &'a [u8]) -> Result<Self> {
        let p = Packet::new_checked(bytes)?;
        let data: &'a [u8] = &bytes[HEADER_LEN..];
        let split = || -> (&'a [u8], Option<&'a [u8]>) {
            let (q, e) = icmp_ext::split_body(data, p.ext_length(), 8);
            (q, e.map(|e| e.as_bytes()))
        };
        let code = p.msg_code();
        Ok(match p.msg_type() {
            Message::EchoRequest => Repr::EchoRequest {
                ident: p.echo_ident(),
                seq_no: p.echo_seq_no(),
                data,
            },
            Message::EchoReply => Repr::EchoReply {
                ident: p.echo_ident(),
                seq_no: p.echo_seq_no(),
                data,
            },
            Message::DstUnreachable => {
                let (quote, extensions) = split();
                Repr::DstUnreachable {
                    code,
                    quote,
                    extensions,
                }
            }
            Message::TimeExceeded => {
                let (quote, extensions) = split();
                Repr::TimeExceeded {
                    code,
                    quote,
                    extensions,
                }
            }
            Message::PacketTooBig => Repr::PacketTooBig {
                code,
                mtu: p.mtu(),
                quote: data,
            },
            Message::ParamProblem => Repr::ParamProblem {
                code,
                pointer: p.pointer(),
                quote: data,
            },
            m => Repr::Other {
                msg_type: m.into(),
                code,
                rest_of_header: p.rest_of_header(),
                data,
            },
        })
    }

    /// Bytes needed to emit the message.
    pub fn buffer_len(&self) -> usize {
        match *self {
            Repr::EchoRequest { data, .. }
            | Repr::EchoReply { data, .. }
            | Repr::Other { data, .. } => HEADER_LEN + data.len(),
            Repr::PacketTooBig { quote, .. } | Repr::ParamProblem { quote, .. } => {
                HEADER_LEN + quote.len()
            }
            Repr::DstUnreachable {
                quote, extensions, ..
            }
            | Repr::TimeExceeded {
                quote, extensions, ..
            } => {
                HEADER_LEN
                    + quote_field_len(quote.len(), extensions.is_some(), 8)
                    + extensions.map_or(0, <[u8]>::len)
            }
        }
    }

    /// Writes the message at the start of `packet`'s buffer, with the checksum for
    /// these addresses. With extensions the quote is zero-padded to a multiple of
    /// eight bytes and at least 128 bytes, and the length field set.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: Ipv6Addr,
        dst: Ipv6Addr,
    ) -> Result<()> {
        let len = self.buffer_len();
        room("ICMPv6 message", len, packet.buffer.as_ref().len())?;
        let b = &mut packet.buffer.as_mut()[..len];
        b[..HEADER_LEN].fill(0);
        let (ty, code) = match *self {
            Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => {
                put16(b, field::ECHO_IDENT, ident);
                put16(b, field::ECHO_SEQNO, seq_no);
                b[HEADER_LEN..].copy_from_slice(data);
                (Message::EchoRequest, 0)
            }
            Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => {
                put16(b, field::ECHO_IDENT, ident);
                put16(b, field::ECHO_SEQNO, seq_no);
                b[HEADER_LEN..].copy_from_slice(data);
                (Message::EchoReply, 0)
            }
            Repr::Other {
                msg_type,
                code,
                rest_of_header,
                data,
            } => {
                put32(b, field::ECHO_IDENT, rest_of_header);
                b[HEADER_LEN..].copy_from_slice(data);
                (Message::from(msg_type), code)
            }
            Repr::PacketTooBig { code, mtu, quote } => {
                put32(b, field::MTU, mtu);
                b[HEADER_LEN..].copy_from_slice(quote);
                (Message::PacketTooBig, code)
            }
            Repr::ParamProblem {
                code,
                pointer,
                quote,
            } => {
                put32(b, field::POINTER, pointer);
                b[HEADER_LEN..].copy_from_slice(quote);
                (Message::ParamProblem, code)
            }
            Repr::DstUnreachable {
                code,
                quote,
                extensions,
            } => {
                emit_error_body(b, quote, extensions, 8)?;
                (Message::DstUnreachable, code)
            }
            Repr::TimeExceeded {
                code,
                quote,
                extensions,
            } => {
                emit_error_body(b, quote, extensions, 8)?;
                (Message::TimeExceeded, code)
            }
        };
        b[field::TYPE] = ty.into();
        b[field::CODE] = code;
        Packet::new_unchecked(b).fill_checksum(src, dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;

    fn addrs() -> (Ipv6Addr, Ipv6Addr) {
        (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        )
    }

    #[test]
    fn echo_vector() {
        let (s, d) = addrs();
        // Echo request id 0x1234 seq 1 payload "ab".
        let mut b = hex!("80 00 00 00 12 34 00 01 61 62");
        let r = Repr::parse_bytes(&b).unwrap();
        assert_eq!(
            r,
            Repr::EchoRequest {
                ident: 0x1234,
                seq_no: 1,
                data: b"ab"
            }
        );
        let mut out = [0u8; 10];
        r.emit(&mut Packet::new_unchecked(&mut out[..]), s, d)
            .unwrap();
        // Reference checksum from the RFC 8200 pseudo-header, summed by hand
        // (src+dst words, length 10, next header 58, then the message).
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&s.octets());
        pseudo.extend_from_slice(&d.octets());
        pseudo.extend_from_slice(&[0, 0, 0, 10, 0, 0, 0, 58]);
        pseudo.extend_from_slice(&b);
        let c = checksum::checksum(&pseudo);
        b[2..4].copy_from_slice(&c.to_be_bytes());
        assert_eq!(out, b);
        assert!(Packet::new_checked(&out[..]).unwrap().verify_checksum(s, d));
        assert!(!Packet::new_checked(&out[..]).unwrap().verify_checksum(d, d));
    }

    #[test]
    fn packet_too_big_vector() {
        let b = hex!("02 00 00 00 00 00 05 00 60 00 00 00");
        match Repr::parse_bytes(&b).unwrap() {
            Repr::PacketTooBig {
                code: 0,
                mtu,
                quote,
            } => {
                assert_eq!(mtu, 1280);
                assert_eq!(quote, &b[8..]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    fn arb_ext() -> impl Strategy<Value = Option<Vec<u8>>> {
        proptest::option::of(
            proptest::collection::vec(any::<u8>(), 0..24).prop_map(|mut v| {
                let mut e = vec![0x20, 0, 0, 0];
                e.append(&mut v);
                e
            }),
        )
    }

    proptest! {
        #[test]
        fn round_trip(kind in 0u8..7, ident in any::<u16>(), seq_no in any::<u16>(), code in any::<u8>(),
                      word in any::<u32>(), data in proptest::collection::vec(any::<u8>(), 0..200),
                      ext in arb_ext(), ty in any::<u8>()) {
            let (s, d) = addrs();
            let mut quote = data.clone();
            if ext.is_some() {
                quote.resize(quote_field_len(quote.len(), true, 8), 0);
            } else if quote.len() > 132 && quote[128] >> 4 == 2 {
                quote[128] = 0;
            }
            let extensions = ext.as_deref();
            let r = match kind {
                0 => Repr::EchoRequest { ident, seq_no, data: &data },
                1 => Repr::EchoReply { ident, seq_no, data: &data },
                2 => Repr::DstUnreachable { code, quote: &quote, extensions },
                3 => Repr::TimeExceeded { code, quote: &quote, extensions },
                4 => Repr::PacketTooBig { code, mtu: word, quote: &data },
                5 => Repr::ParamProblem { code, pointer: word, quote: &data },
                _ => {
                    let ty = if matches!(Message::from(ty), Message::Unknown(_) | Message::NeighborAdvert | Message::NeighborSolicit) { ty } else { 200 };
                    Repr::Other { msg_type: ty, code, rest_of_header: word, data: &data }
                }
            };
            let mut b = vec![0u8; r.buffer_len()];
            r.emit(&mut Packet::new_unchecked(&mut b[..]), s, d).unwrap();
            prop_assert!(Packet::new_checked(&b[..]).unwrap().verify_checksum(s, d));
            prop_assert_eq!(Repr::parse_bytes(&b).unwrap(), r);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let (s, d) = addrs();
            if let Ok(r) = Repr::parse_bytes(&data) {
                let mut b = vec![0u8; r.buffer_len()];
                let _ = r.emit(&mut Packet::new_unchecked(&mut b[..]), s, d);
            }
        }
    }
}
