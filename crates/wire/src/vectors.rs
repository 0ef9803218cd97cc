//! Test vectors captured from the Linux kernel (`testdata/capture.sh`, in
//! namespaces of its own) and hand-made from them with an independent Python
//! encoder (`testdata/handmade.py`), checked field by field; and the replay of
//! the fuzz corpus.

use crate::icmp_ext::MplsEntry;
use crate::reply::{QuotedTransport, ReplyKind, parse_icmpv6, parse_ipv4, parse_ipv6};
use crate::tcp::TcpFlags;
use crate::{IpProtocol, checksum, icmpv4, icmpv6, ipv4, ipv6};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

macro_rules! vector {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/",
            $name,
            ".bin"
        ))
    };
}

const HOST4: Ipv4Addr = Ipv4Addr::new(10, 9, 1, 1);
const ROUTER4: Ipv4Addr = Ipv4Addr::new(10, 9, 1, 254);
const TARGET4: Ipv4Addr = Ipv4Addr::new(10, 9, 2, 1);

fn host6() -> Ipv6Addr {
    "fd09:1::1".parse().unwrap()
}
fn router6() -> Ipv6Addr {
    "fd09:1::fe".parse().unwrap()
}
fn target6() -> Ipv6Addr {
    "fd09:2::1".parse().unwrap()
}

fn udp_quote(q: Option<QuotedTransport>) -> (u16, Option<u16>, Option<u16>) {
    match q {
        Some(QuotedTransport::Udp(u)) => (u.src_port, u.dst_port, u.len),
        other => panic!("expected a quoted UDP header, got {other:?}"),
    }
}

#[test]
fn kernel_v4_udp_time_exceeded() {
    let b = vector!("kernel/v4_udp_time_exceeded");
    assert!(ipv4::Packet::new_checked(&b[..]).unwrap().verify_checksum());
    let r = parse_ipv4(b).unwrap();
    assert!(r.verify_checksum(), "kernel ICMP checksum verifies");
    assert_eq!(r.src, IpAddr::V4(ROUTER4));
    assert_eq!(r.dst, IpAddr::V4(HOST4));
    assert_eq!((r.ttl, r.tos, r.ip_id, r.size), (64, 0xc0, 0x7720, 68));
    assert_eq!(r.kind, ReplyKind::TimeExceeded { code: 0 });
    let q = r.quote.unwrap();
    let ip = q.ip.unwrap();
    assert_eq!(ip.src, IpAddr::V4(HOST4));
    assert_eq!(ip.dst, IpAddr::V4(TARGET4));
    assert_eq!((ip.ttl, ip.ip_id, ip.tos, ip.total_len), (1, 0x0310, 0, 40));
    assert!(ip.dont_frag);
    assert_eq!(ip.protocol, IpProtocol::Udp);
    // Linux quotes the whole 40-byte probe, not just the 28 bytes RFC 792 asks for.
    assert_eq!(q.bytes.len(), 40);
    assert_eq!(udp_quote(q.transport), (40000, Some(33435), Some(20)));
    assert!(r.extensions.is_none());
}

#[test]
fn kernel_v4_port_unreachable_and_frag_needed() {
    let r = parse_ipv4(vector!("kernel/v4_udp_port_unreachable")).unwrap();
    assert!(r.verify_checksum());
    assert_eq!(r.src, IpAddr::V4(TARGET4));
    assert_eq!(
        r.kind,
        ReplyKind::DestUnreachable {
            code: 3,
            next_hop_mtu: 0
        }
    );
    assert_eq!(r.next_hop_mtu(), None);
    let q = r.quote.unwrap();
    assert_eq!(q.ip.unwrap().ttl, 63);
    assert_eq!(udp_quote(q.transport), (40000, Some(33436), Some(20)));

    let b = vector!("kernel/v4_frag_needed");
    let r = parse_ipv4(b).unwrap();
    assert!(r.verify_checksum());
    assert_eq!(r.src, IpAddr::V4(ROUTER4));
    assert_eq!(r.next_hop_mtu(), Some(1280));
    let q = r.quote.unwrap();
    // Linux caps an ICMPv4 error at 576 bytes: the quote is cut, the quoted
    // total length still says 1428.
    assert_eq!(b.len(), 576);
    assert_eq!(q.bytes.len(), 576 - 28);
    assert_eq!(q.ip.unwrap().total_len, 1428);
    // The router quotes the TTL it received, before decrementing it.
    assert_eq!(q.ip.unwrap().ttl, 64);
    assert_eq!(udp_quote(q.transport), (40000, Some(33437), Some(1408)));
    assert!(r.extensions.is_none());
}

#[test]
fn kernel_v4_icmp_replies() {
    let r = parse_ipv4(vector!("kernel/v4_echo_time_exceeded")).unwrap();
    assert!(r.verify_checksum());
    match r.quote.unwrap().transport {
        Some(QuotedTransport::Icmp(i)) => {
            assert_eq!(i.msg_type, 8);
            assert_eq!((i.ident, i.seq_no), (Some(0x1234), Some(1)));
            assert_eq!(i.checksum, Some(0x3a6c));
        }
        other => panic!("unexpected {other:?}"),
    }
    let r = parse_ipv4(vector!("kernel/v4_echo_reply")).unwrap();
    assert!(r.verify_checksum());
    assert_eq!(
        r.kind,
        ReplyKind::EchoReply {
            ident: 0x1234,
            seq_no: 2
        }
    );
    assert_eq!(r.ttl, 63);
    assert_eq!(&r.transport[8..], b"vantage!");
    let r = parse_ipv4(vector!("kernel/v4_timestamp_reply")).unwrap();
    assert!(r.verify_checksum());
    match r.kind {
        ReplyKind::TimestampReply {
            ident: 0x1234,
            seq_no: 3,
            originate: 1000,
            receive,
            transmit,
        } => assert_eq!(receive, transmit),
        other => panic!("unexpected {other:?}"),
    }
    // The same bytes through the ICMPv4 Repr, and back.
    let b = vector!("kernel/v4_echo_reply");
    let repr = icmpv4::Repr::parse_bytes(&b[20..]).unwrap();
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut icmpv4::Packet::new_unchecked(&mut out[..]))
        .unwrap();
    assert_eq!(&out[..], &b[20..]);
}

#[test]
fn kernel_v4_tcp_rst() {
    let b = vector!("kernel/v4_tcp_rst");
    let r = parse_ipv4(b).unwrap();
    assert!(r.verify_checksum(), "kernel TCP checksum verifies");
    match r.kind {
        ReplyKind::Tcp {
            src_port: 81,
            flags,
            window_len: 0,
            ..
        } => assert_eq!(flags, TcpFlags::RST | TcpFlags::ACK),
        other => panic!("unexpected {other:?}"),
    }
    // Repr round trip reproduces the kernel's bytes, checksum included.
    let seg = crate::tcp::Repr::parse_bytes(&b[20..]).unwrap();
    let mut out = vec![0u8; seg.buffer_len()];
    seg.emit(
        &mut crate::tcp::Packet::new_unchecked(&mut out[..]),
        IpAddr::V4(TARGET4),
        IpAddr::V4(HOST4),
    )
    .unwrap();
    assert_eq!(&out[..], &b[20..]);
    let ip = ipv4::Repr::parse(&ipv4::Packet::new_checked(&b[..]).unwrap()).unwrap();
    let mut out = vec![0u8; b.len()];
    out[20..].copy_from_slice(&b[20..]);
    ip.emit(&mut ipv4::Packet::new_unchecked(&mut out[..]))
        .unwrap();
    assert_eq!(&out[..], &b[..]);
}

#[test]
fn kernel_v6_replies_both_entry_points() {
    for (name, bytes) in [
        ("te", &vector!("kernel/v6_udp_time_exceeded")[..]),
        ("unreach", &vector!("kernel/v6_udp_port_unreachable")[..]),
        ("ptb", &vector!("kernel/v6_packet_too_big")[..]),
        ("echo", &vector!("kernel/v6_echo_reply")[..]),
    ] {
        let full = parse_ipv6(bytes).unwrap();
        assert!(full.verify_checksum(), "{name}: kernel ICMPv6 checksum");
        let p = ipv6::Packet::new_checked(bytes).unwrap();
        assert!(
            icmpv6::Packet::new_checked(p.payload())
                .unwrap()
                .verify_checksum(p.src_addr(), p.dst_addr())
        );
        let raw = parse_icmpv6(p.src_addr(), p.dst_addr(), p.hop_limit(), p.payload()).unwrap();
        assert_eq!(raw.kind, full.kind, "{name}");
        assert_eq!(raw.quote, full.quote, "{name}");
        assert_eq!(raw.size, full.size, "{name}");
        assert_eq!(raw.ttl, full.ttl, "{name}");
        assert_eq!(full.dst, IpAddr::V6(host6()));
        match name {
            "te" => {
                assert_eq!(full.src, IpAddr::V6(router6()));
                assert_eq!(full.kind, ReplyKind::TimeExceeded { code: 0 });
                let ip = full.quote.unwrap().ip.unwrap();
                assert_eq!((ip.ttl, ip.tos, ip.flow_label), (1, 0x20, 0x5_1bc1));
                assert_eq!(ip.dst, IpAddr::V6(target6()));
                let t = udp_quote(full.quote.unwrap().transport);
                assert_eq!(t, (40000, Some(33435), Some(20)));
            }
            "unreach" => {
                assert_eq!(full.src, IpAddr::V6(target6()));
                assert_eq!(
                    full.kind,
                    ReplyKind::DestUnreachable {
                        code: 4,
                        next_hop_mtu: 0
                    }
                );
            }
            "ptb" => {
                assert_eq!(full.next_hop_mtu(), Some(1280));
                assert_eq!(bytes.len(), 1280);
                let q = full.quote.unwrap();
                assert_eq!(q.ip.unwrap().total_len, 1448);
                assert_eq!(q.bytes.len(), 1280 - 48);
            }
            _ => {
                assert_eq!(
                    full.kind,
                    ReplyKind::EchoReply {
                        ident: 0x4321,
                        seq_no: 7
                    }
                );
                assert!(full.quote.is_none());
            }
        }
    }
}

fn check_mpls(e: crate::icmp_ext::Extensions<'_>) {
    assert!(e.verify_checksum());
    let objs: Vec<_> = e.objects().collect::<crate::Result<_>>().unwrap();
    assert_eq!(objs.len(), 1);
    let entries: Vec<_> = objs[0].mpls_entries().unwrap().collect();
    assert_eq!(
        entries,
        vec![
            MplsEntry {
                label: 24000,
                exp: 0,
                bottom_of_stack: false,
                ttl: 1
            },
            MplsEntry {
                label: 16,
                exp: 7,
                bottom_of_stack: true,
                ttl: 255
            }
        ]
    );
}

#[test]
fn handmade_mpls_vectors() {
    for name in ["v4", "v4 legacy"] {
        let b: &[u8] = if name == "v4" {
            vector!("handmade/v4_te_mpls")
        } else {
            vector!("handmade/v4_te_mpls_legacy")
        };
        let r = parse_ipv4(b).unwrap();
        assert!(r.verify_checksum(), "{name}");
        let q = r.quote.unwrap();
        assert_eq!(q.bytes.len(), 128, "{name}");
        assert_eq!(udp_quote(q.transport).0, 40000);
        check_mpls(r.extensions.unwrap());
        // The Repr reproduces the same bytes.
        let repr = icmpv4::Repr::parse_bytes(&b[20..]).unwrap();
        if name == "v4" {
            let mut out = vec![0u8; repr.buffer_len()];
            repr.emit(&mut icmpv4::Packet::new_unchecked(&mut out[..]))
                .unwrap();
            assert_eq!(&out[..], &b[20..]);
        }
    }
    let b = vector!("handmade/v6_te_mpls");
    let r = parse_ipv6(b).unwrap();
    assert!(r.verify_checksum());
    assert_eq!(r.quote.unwrap().bytes.len(), 128);
    check_mpls(r.extensions.unwrap());
    let p = ipv6::Packet::new_checked(&b[..]).unwrap();
    let repr = icmpv6::Repr::parse_bytes(p.payload()).unwrap();
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut icmpv6::Packet::new_unchecked(&mut out[..]),
        p.src_addr(),
        p.dst_addr(),
    )
    .unwrap();
    assert_eq!(&out[..], p.payload());
}

#[test]
fn checksum_agrees_with_kernel_on_every_vector() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/kernel");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let b = std::fs::read(e.unwrap().path()).unwrap();
        if b[0] >> 4 == 4 {
            assert_eq!(checksum::checksum(&b[..20]), 0);
        }
        let r = if b[0] >> 4 == 4 {
            parse_ipv4(&b)
        } else {
            parse_ipv6(&b)
        };
        assert!(r.unwrap().verify_checksum());
        n += 1;
    }
    assert!(n >= 10);
}

fn replay(target: &str, f: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        f(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n > 0, "empty corpus at {}", dir.display());
}

#[test]
fn replay_fuzz_corpus_v4() {
    replay("wire_reply_v4", crate::fuzzing::wire_reply_v4);
}

#[test]
fn replay_fuzz_corpus_v6() {
    replay("wire_reply_v6", crate::fuzzing::wire_reply_v6);
}
