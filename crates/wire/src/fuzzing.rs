//! Fuzz bodies for the parsers of untrusted bytes, shared by the fuzz targets in
//! `fuzz/fuzz_targets/` and by the corpus-replay unit tests. Not a public API.

use crate::reply::{self, Reply};
use crate::{icmpv4, icmpv6, ipv4, ipv6, tcp, udp};
use std::net::Ipv6Addr;

/// Touches every part of a parsed reply so that lazy paths run too.
fn exercise(r: &Reply<'_>) {
    let _ = r.verify_checksum();
    let _ = r.icmp_type_code();
    let _ = r.next_hop_mtu();
    if let Some(q) = r.quote {
        assert!(q.transport_bytes.len() <= q.bytes.len());
    }
    if let Some(e) = r.extensions {
        for o in e.objects().flatten() {
            if let Some(m) = o.mpls_entries() {
                for entry in m {
                    assert_eq!(
                        crate::icmp_ext::MplsEntry::from_bytes(entry.to_bytes()),
                        entry
                    );
                }
            }
        }
    }
}

/// Fuzz body: an IPv4 packet through the reply parser, then the header Reprs.
pub fn wire_reply_v4(data: &[u8]) {
    if let Ok(r) = reply::parse_ipv4(data) {
        exercise(&r);
    }
    if let Ok(p) = ipv4::Packet::new_checked(data) {
        for o in p.option_iter().flatten() {
            let _ = o.recorded_route().count();
            let _ = o.recorded_timestamps().count();
        }
        if let Ok(repr) = ipv4::Repr::parse(&p) {
            // Round trip: emitting the parsed header gives a header that parses
            // to the same meaning.
            let mut out = vec![0u8; repr.buffer_len() + repr.payload_len];
            let emitted = repr.emit(&mut ipv4::Packet::new_unchecked(&mut out[..]));
            assert!(emitted.is_ok(), "a parsed header can be written back");
            let back = ipv4::Repr::parse(&ipv4::Packet::new_unchecked(&out[..]));
            assert_eq!(back, Ok(repr));
        }
    }
    if data.len() > ipv4::HEADER_LEN {
        icmp4_repr(&data[ipv4::HEADER_LEN..]);
    }
    icmp4_repr(data);
    transport_reprs(data);
}

fn icmp4_repr(data: &[u8]) {
    if let Ok(r) = icmpv4::Repr::parse_bytes(data) {
        let mut out = vec![0u8; r.buffer_len()];
        if r.emit(&mut icmpv4::Packet::new_unchecked(&mut out[..]))
            .is_ok()
        {
            assert!(icmpv4::Packet::new_unchecked(&out[..]).verify_checksum());
        }
    }
}

fn transport_reprs(data: &[u8]) {
    let src = "2001:db8::1".parse::<Ipv6Addr>().map(Into::into);
    let dst = "2001:db8::2".parse::<Ipv6Addr>().map(Into::into);
    let (Ok(src), Ok(dst)) = (src, dst) else {
        return;
    };
    if let Ok(r) = udp::Repr::parse_bytes(data) {
        let mut out = vec![0u8; r.buffer_len()];
        let emitted = r.emit(&mut udp::Packet::new_unchecked(&mut out[..]), src, dst);
        assert!(emitted.is_ok(), "a parsed datagram can be written back");
        assert_eq!(udp::Repr::parse_bytes(&out).ok(), Some(r));
    }
    if let Ok(r) = tcp::Repr::parse_bytes(data) {
        for o in tcp::OptionIter::new(r.options.as_bytes()) {
            let _ = o;
        }
        let mut out = vec![0u8; r.buffer_len()];
        let emitted = r.emit(&mut tcp::Packet::new_unchecked(&mut out[..]), src, dst);
        assert!(emitted.is_ok(), "a parsed segment can be written back");
        assert_eq!(tcp::Repr::parse_bytes(&out).ok(), Some(r));
    }
}

/// Fuzz body: an IPv6 packet through the reply parser; the same bytes as an
/// ICMPv6 message from a raw socket; the header Reprs.
pub fn wire_reply_v6(data: &[u8]) {
    if let Ok(r) = reply::parse_ipv6(data) {
        exercise(&r);
    }
    let a = Ipv6Addr::LOCALHOST;
    if let Ok(r) = reply::parse_icmpv6(a, a, 64, data) {
        exercise(&r);
    }
    if let Ok(p) = ipv6::Packet::new_checked(data)
        && let Ok(repr) = ipv6::Repr::parse(&p)
    {
        let mut out = vec![0u8; repr.buffer_len() + repr.payload_len];
        let emitted = repr.emit(&mut ipv6::Packet::new_unchecked(&mut out[..]));
        assert!(emitted.is_ok(), "a parsed header can be written back");
        assert_eq!(
            ipv6::Repr::parse(&ipv6::Packet::new_unchecked(&out[..])).ok(),
            Some(repr)
        );
    }
    if let Ok(r) = icmpv6::Repr::parse_bytes(data) {
        let mut out = vec![0u8; r.buffer_len()];
        if r.emit(&mut icmpv6::Packet::new_unchecked(&mut out[..]), a, a)
            .is_ok()
        {
            assert!(icmpv6::Packet::new_unchecked(&out[..]).verify_checksum(a, a));
        }
    }
    transport_reprs(data);
}
