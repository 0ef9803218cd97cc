//! Packets as bytes for Vantage: IPv4, IPv6, ICMPv4, ICMPv6, UDP and TCP headers,
//! ICMP error quotes, ICMP extensions (RFC 4884) with MPLS label stacks (RFC 4950),
//! and Internet checksums including the Paris traceroute trick.
//!
//! # What this crate is
//! - **Views** over bytes, in the smoltcp style: `Packet<T: AsRef<[u8]>>` in each
//!   header module ([`ipv4`], [`ipv6`], [`icmpv4`], [`icmpv6`], [`udp`], [`tcp`]).
//!   `Packet::new_checked` validates lengths once, after which getters (and setters,
//!   when `T: AsMut<[u8]>`) named after the RFC fields never panic.
//! - **Reprs**, the owned (or borrowed, for payloads) meaning of a header:
//!   `Repr::parse(&packet)`, `repr.buffer_len()`, `repr.emit(&mut packet)`.
//!   Unknown protocol numbers and message types survive as `Unknown`/`Other`.
//! - [`checksum`]: RFC 1071 sums, pseudo-headers, RFC 1624 incremental update and
//!   [`checksum::solve_word`] for choosing two payload bytes so a checksum takes a
//!   chosen value.
//! - [`icmp_ext`]: the RFC 4884 extension structure, its objects, and MPLS label
//!   stack entries; unknown classes are kept as raw bytes.
//! - [`reply`]: the receive path of the prober. Given the bytes a raw socket
//!   delivers, it produces a borrowed [`reply::Reply`] summary: outer header
//!   fields, the kind of message, the parsed ICMP quote (whatever part of it is
//!   present) and the extensions, without allocating.
//! - [`probe`]: builders for the probes the measurement engines send (ICMP echo and
//!   timestamp, UDP, TCP with options, over IPv4 or IPv6) written into a caller's
//!   buffer, with chosen TTL, TOS, IP-ID, DF, flow label and a chosen checksum.
//!
//! # Example
//! Build a Paris UDP probe into a buffer, then read a router's reply to it:
//! ```
//! use std::net::Ipv4Addr;
//! use vantage_wire::probe::{ChosenChecksum, IpHeader, Ipv4Header, Probe, Transport};
//! use vantage_wire::reply::{self, QuotedTransport, ReplyKind};
//! use vantage_wire::{OptionBytes, icmpv4};
//!
//! let us = Ipv4Addr::new(192, 0, 2, 1);
//! let probe = Probe {
//!     ip: IpHeader::V4(Ipv4Header {
//!         src: us,
//!         dst: Ipv4Addr::new(198, 51, 100, 2),
//!         ttl: 1,
//!         tos: 0,
//!         ident: 7,
//!         dont_frag: false,
//!         options: OptionBytes::new(),
//!     }),
//!     transport: Transport::Udp { src_port: 40000, dst_port: 33435, payload: &[0; 12] },
//!     // Paris: the UDP checksum carries the probe id; two payload bytes absorb it.
//!     checksum: Some(ChosenChecksum { value: 3, fix_offset: 0 }),
//! };
//! let mut buf = [0u8; 64];
//! let n = probe.emit(&mut buf)?;
//!
//! // A router answers with time exceeded quoting the first 28 bytes.
//! let te = icmpv4::Repr::TimeExceeded { code: 0, quote: &buf[..28], extensions: None };
//! let ip = vantage_wire::ipv4::Repr {
//!     src_addr: Ipv4Addr::new(203, 0, 113, 1),
//!     dst_addr: us,
//!     protocol: vantage_wire::IpProtocol::Icmp,
//!     payload_len: te.buffer_len(),
//!     ttl: 250, tos: 0, ident: 1, dont_frag: false, more_frags: false, frag_offset: 0,
//!     options: OptionBytes::new(),
//! };
//! let mut rx = [0u8; 56];
//! ip.emit(&mut vantage_wire::ipv4::Packet::new_unchecked(&mut rx[..]))?;
//! te.emit(&mut icmpv4::Packet::new_unchecked(&mut rx[20..]))?;
//!
//! let r = reply::parse_ipv4(&rx)?;
//! assert_eq!(r.kind, ReplyKind::TimeExceeded { code: 0 });
//! let quote = r.quote.expect("time exceeded quotes the probe");
//! assert_eq!(quote.ip.map(|q| q.ip_id), Some(7));
//! match quote.transport {
//!     Some(QuotedTransport::Udp(u)) => assert_eq!(u.checksum, Some(3)),
//!     other => panic!("{other:?}"),
//! }
//! # assert_eq!(n, 40);
//! # Ok::<(), vantage_wire::Error>(())
//! ```
//!
//! # What this crate is not
//! It does no I/O, keeps no state, and knows nothing of measurements: sockets live in
//! `vantage-sys`, the logic that decides what to send lives in `vantage-engine`. It is
//! not an IP stack: it never normalises odd packets away, because measurement needs to
//! send and see them exactly. There is no `unsafe` code.
//!
//! # Panics
//! Nothing in this crate panics on any input bytes, except the documented
//! `Packet::new_unchecked` accessors when used on a buffer that was never checked.
//! Bad input yields an [`Error`] saying what was wrong.
#![forbid(unsafe_code)]
// Tests may unwrap and use short names; the library itself is checked without this.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::many_single_char_names))]

pub mod checksum;
pub mod icmp_ext;
pub mod icmpv4;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod probe;
pub mod reply;
pub mod tcp;
pub mod udp;

mod opts;

#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod vectors;

pub use opts::OptionBytes;

/// Everything that can be wrong with bytes handed to this crate, or with a request
/// to write a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes end before a header or field does.
    #[error("{what} is truncated: it needs {need} bytes but only {have} are present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// How many bytes it needs.
        need: usize,
        /// How many bytes there were.
        have: usize,
    },
    /// The IP version nibble is not the one expected.
    #[error("{what}: IP version field is {version}, expected {expected}")]
    BadVersion {
        /// What was being read.
        what: &'static str,
        /// The version found.
        version: u8,
        /// The version expected.
        expected: u8,
    },
    /// A header-length field is impossible (shorter than the fixed header, or
    /// longer than the bytes present).
    #[error("{what}: header length field gives {len} bytes, which is impossible here")]
    BadHeaderLength {
        /// What was being read.
        what: &'static str,
        /// The header length in bytes that the field gives.
        len: usize,
    },
    /// A length field disagrees with the bytes present.
    #[error("{what}: length field gives {field} bytes but {have} bytes are present")]
    BadLength {
        /// What was being read.
        what: &'static str,
        /// The length the field gives, in bytes.
        field: usize,
        /// How many bytes there were.
        have: usize,
    },
    /// An option, extension object or similar element is malformed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The caller's output buffer is too small for the packet to write.
    #[error("buffer too small to write {what}: {need} bytes needed, {have} given")]
    BufferTooSmall {
        /// What was being written.
        what: &'static str,
        /// How many bytes it needs.
        need: usize,
        /// How many bytes the buffer has.
        have: usize,
    },
    /// A value cannot be written into the field meant for it.
    #[error("cannot write {what}: {reason}")]
    Unrepresentable {
        /// What was being written.
        what: &'static str,
        /// Why it cannot be written.
        reason: &'static str,
    },
    /// The packet carries a protocol this crate does not summarise.
    #[error("{what}: protocol {protocol} is not one this parser handles")]
    UnsupportedProtocol {
        /// What was being read.
        what: &'static str,
        /// The protocol number found.
        protocol: u8,
    },
}

/// A shorthand for results of this crate.
pub type Result<T> = core::result::Result<T, Error>;

/// IP protocol numbers (the IPv4 protocol field, the IPv6 next-header field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpProtocol {
    /// IPv6 hop-by-hop options (0).
    HopByHop,
    /// ICMP for IPv4 (1).
    Icmp,
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// IPv6 routing header (43).
    Ipv6Route,
    /// IPv6 fragment header (44).
    Ipv6Frag,
    /// ICMP for IPv6 (58).
    Icmpv6,
    /// IPv6 "no next header" (59).
    Ipv6NoNxt,
    /// IPv6 destination options (60).
    Ipv6Opts,
    /// Any other protocol number.
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::HopByHop,
            1 => Self::Icmp,
            6 => Self::Tcp,
            17 => Self::Udp,
            43 => Self::Ipv6Route,
            44 => Self::Ipv6Frag,
            58 => Self::Icmpv6,
            59 => Self::Ipv6NoNxt,
            60 => Self::Ipv6Opts,
            other => Self::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(v: IpProtocol) -> Self {
        match v {
            IpProtocol::HopByHop => 0,
            IpProtocol::Icmp => 1,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Ipv6Route => 43,
            IpProtocol::Ipv6Frag => 44,
            IpProtocol::Icmpv6 => 58,
            IpProtocol::Ipv6NoNxt => 59,
            IpProtocol::Ipv6Opts => 60,
            IpProtocol::Unknown(v) => v,
        }
    }
}

/// Reads a big-endian u16 at `at`; the caller has checked the length.
#[inline]
pub(crate) fn be16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([d[at], d[at + 1]])
}

/// Reads a big-endian u32 at `at`; the caller has checked the length.
#[inline]
pub(crate) fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

/// Writes a big-endian u16 at `at`; the caller has checked the length.
#[inline]
pub(crate) fn put16(d: &mut [u8], at: usize, v: u16) {
    d[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Writes a big-endian u32 at `at`; the caller has checked the length.
#[inline]
pub(crate) fn put32(d: &mut [u8], at: usize, v: u32) {
    d[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// Returns `Err(Truncated)` unless `have >= need`.
#[inline]
pub(crate) fn need(what: &'static str, need: usize, have: usize) -> Result<()> {
    if have < need {
        Err(Error::Truncated { what, need, have })
    } else {
        Ok(())
    }
}

/// Returns `Err(BufferTooSmall)` unless `have >= need`.
#[inline]
pub(crate) fn room(what: &'static str, need: usize, have: usize) -> Result<()> {
    if have < need {
        Err(Error::BufferTooSmall { what, need, have })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_protocol_round_trip() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(IpProtocol::from(v)), v);
        }
    }
}
