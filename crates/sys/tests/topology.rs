//! Root-only tests across veth links between network namespaces that each test makes (and
//! removes) itself: port unreachable from a peer, time exceeded from a router, source address
//! selection. Addresses are documentation prefixes that exist only inside these namespaces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::*;
use vantage_sys::netns::{NamedNetns, in_new_netns, run_ip};
use vantage_sys::{AsyncSocket, Family, Protocol, RecvMeta, RecvSocket, SendSocket, route};

const A4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const R4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 254);
const C4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const A6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
const R6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0xfe);
const C6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1);

fn ip(args: &[&str]) {
    run_ip(None, args).unwrap();
}

/// The calling thread's namespace is A; `peer` gets the other end of `a0`, with the
/// addresses the router R has in the three-namespace case.
fn link_to(peer: &NamedNetns) {
    ip(&["link", "add", "a0", "type", "veth", "peer", "name", "r0"]);
    ip(&["link", "set", "r0", "netns", peer.name()]);
    ip(&["addr", "add", "192.0.2.1/24", "dev", "a0"]);
    ip(&["addr", "add", "2001:db8:1::1/64", "dev", "a0", "nodad"]);
    ip(&["link", "set", "a0", "up"]);
    peer.ip(&["addr", "add", "192.0.2.254/24", "dev", "r0"])
        .unwrap();
    peer.ip(&["addr", "add", "2001:db8:1::fe/64", "dev", "r0", "nodad"])
        .unwrap();
    peer.ip(&["link", "set", "r0", "up"]).unwrap();
}

/// A UDP probe from A to `dst` with the given TTL / hop limit.
fn udp_probe(dst: IpAddr, ttl: u8, sport: u16) -> Vec<u8> {
    match dst {
        IpAddr::V4(d) => {
            let u = udp(sport, 33435, b"probe", |u| v4_l4_checksum(A4, d, 17, u));
            let mut h = V4::new(A4, d, 17);
            h.ttl = ttl;
            h.build(&u)
        }
        IpAddr::V6(d) => {
            let mut h = V6::new(A6, d, 17);
            h.hops = ttl;
            let u = udp(sport, 33435, b"probe", |u| h.l4_checksum(u));
            h.build(&u)
        }
    }
}

/// Type, code and the quoted UDP source port of an ICMP error as a receive socket returns it.
fn icmp_error(pkt: &[u8], v4: bool) -> Option<(u8, u8, u16)> {
    let icmp = l4(pkt, v4);
    let quoted = icmp.get(8..)?;
    let quoted_l4 = if v4 {
        quoted.get(usize::from(quoted.first()? & 0x0f) * 4..)?
    } else {
        quoted.get(40..)?
    };
    Some((
        icmp[0],
        icmp[1],
        u16::from_be_bytes([*quoted_l4.first()?, *quoted_l4.get(1)?]),
    ))
}

async fn recv_error(
    rx: &AsyncSocket<RecvSocket>,
    v4: bool,
    sport: u16,
) -> (RecvMeta, (u8, u8, u16)) {
    let mut buf = [0u8; 1500];
    loop {
        let meta = rx.recv(&mut buf).await.unwrap();
        if let Some(e) = icmp_error(&buf[..meta.len], v4)
            && e.2 == sport
        {
            return (meta, e);
        }
    }
}

#[test]
fn udp_to_closed_port_on_peer_gets_port_unreachable() {
    if !root_or_skip("udp_to_closed_port_on_peer_gets_port_unreachable") {
        return;
    }
    in_new_netns(|| {
        // Removed when dropped, also if an assertion below fails.
        let peer = NamedNetns::create(&unique_name("peer")).unwrap();
        link_to(&peer);
        block_on(async {
            let tx4 = AsyncSocket::new(SendSocket::open(Family::V4).unwrap()).unwrap();
            let tx6 = AsyncSocket::new(SendSocket::open(Family::V6).unwrap()).unwrap();
            let rx4 =
                AsyncSocket::new(RecvSocket::open(Family::V4, Protocol::Icmp).unwrap()).unwrap();
            let rx6 =
                AsyncSocket::new(RecvSocket::open(Family::V6, Protocol::Icmp).unwrap()).unwrap();

            tx4.send(&udp_probe(R4.into(), 64, 40010)).await.unwrap();
            let (meta, (t, c, _)) = recv_error(&rx4, true, 40010).await;
            assert_eq!((t, c), (3, 3), "ICMP port unreachable");
            assert_eq!(meta.src, IpAddr::V4(R4));
            assert_eq!(meta.dst, Some(IpAddr::V4(A4)));
            assert_eq!(meta.hop_limit, Some(64));
            assert!(meta.kernel_timestamp);

            tx6.send(&udp_probe(R6.into(), 64, 40011)).await.unwrap();
            let (meta, (t, c, _)) = recv_error(&rx6, false, 40011).await;
            assert_eq!((t, c), (1, 4), "ICMPv6 port unreachable");
            assert_eq!(meta.src, IpAddr::V6(R6));
            assert_eq!(meta.dst, Some(IpAddr::V6(A6)));
            assert_eq!(meta.hop_limit, Some(64));
            assert!(meta.ifindex.is_some());
            assert!(meta.kernel_timestamp);
        });
    })
    .unwrap();
}

/// A -- R -- C: a probe with TTL 1 expires at R, one with TTL 2 reaches C's closed port.
#[test]
fn ttl_exceeded_from_router_then_port_unreachable_from_target() {
    if !root_or_skip("ttl_exceeded_from_router_then_port_unreachable_from_target") {
        return;
    }
    in_new_netns(|| {
        let r = NamedNetns::create(&unique_name("router")).unwrap();
        let c = NamedNetns::create(&unique_name("target")).unwrap();
        link_to(&r);
        r.ip(&["link", "add", "r1", "type", "veth", "peer", "name", "c0"])
            .unwrap();
        r.ip(&["link", "set", "c0", "netns", c.name()]).unwrap();
        r.ip(&["addr", "add", "198.51.100.254/24", "dev", "r1"])
            .unwrap();
        r.ip(&["addr", "add", "2001:db8:2::fe/64", "dev", "r1", "nodad"])
            .unwrap();
        r.ip(&["link", "set", "r1", "up"]).unwrap();
        r.sysctl("net.ipv4.ip_forward", "1").unwrap();
        r.sysctl("net.ipv6.conf.all.forwarding", "1").unwrap();
        c.ip(&["addr", "add", "198.51.100.1/24", "dev", "c0"])
            .unwrap();
        c.ip(&["addr", "add", "2001:db8:2::1/64", "dev", "c0", "nodad"])
            .unwrap();
        c.ip(&["link", "set", "c0", "up"]).unwrap();
        c.ip(&["route", "add", "default", "via", "198.51.100.254"])
            .unwrap();
        c.ip(&["-6", "route", "add", "default", "via", "2001:db8:2::fe"])
            .unwrap();
        ip(&["route", "add", "default", "via", "192.0.2.254"]);
        ip(&["-6", "route", "add", "default", "via", "2001:db8:1::fe"]);

        // The kernel picks A's address towards C; inside C, C's own address towards A.
        assert_eq!(route::source_address(C4.into()).unwrap(), IpAddr::V4(A4));
        assert_eq!(route::source_address(C6.into()).unwrap(), IpAddr::V6(A6));
        let from_c = c.run(|| route::source_address(A4.into())).unwrap().unwrap();
        assert_eq!(from_c, IpAddr::V4(C4));

        block_on(async {
            let tx4 = AsyncSocket::new(SendSocket::open(Family::V4).unwrap()).unwrap();
            let tx6 = AsyncSocket::new(SendSocket::open(Family::V6).unwrap()).unwrap();
            let rx4 =
                AsyncSocket::new(RecvSocket::open(Family::V4, Protocol::Icmp).unwrap()).unwrap();
            let rx6 =
                AsyncSocket::new(RecvSocket::open(Family::V6, Protocol::Icmp).unwrap()).unwrap();

            tx4.send(&udp_probe(C4.into(), 1, 40020)).await.unwrap();
            let (meta, (t, code, _)) = recv_error(&rx4, true, 40020).await;
            assert_eq!((t, code), (11, 0), "ICMP time exceeded in transit");
            assert_eq!(meta.src, IpAddr::V4(R4));

            tx4.send(&udp_probe(C4.into(), 2, 40021)).await.unwrap();
            let (meta, (t, code, _)) = recv_error(&rx4, true, 40021).await;
            assert_eq!((t, code), (3, 3));
            assert_eq!(meta.src, IpAddr::V4(C4));
            assert_eq!(meta.hop_limit, Some(63), "one hop back through R");

            tx6.send(&udp_probe(C6.into(), 1, 40022)).await.unwrap();
            let (meta, (t, code, _)) = recv_error(&rx6, false, 40022).await;
            assert_eq!((t, code), (3, 0), "ICMPv6 hop limit exceeded in transit");
            assert_eq!(meta.src, IpAddr::V6(R6));

            tx6.send(&udp_probe(C6.into(), 2, 40023)).await.unwrap();
            let (meta, (t, code, _)) = recv_error(&rx6, false, 40023).await;
            assert_eq!((t, code), (1, 4));
            assert_eq!(meta.src, IpAddr::V6(C6));
            assert_eq!(meta.hop_limit, Some(63));
        });
    })
    .unwrap();
}

#[test]
fn route_lookup_without_route_names_the_destination() {
    if !root_or_skip("route_lookup_without_route_names_the_destination") {
        return;
    }
    in_new_netns(|| {
        let err = route::source_address(C4.into()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("connect 198.51.100.1 on IPv4 route-lookup socket: "),
            "{text}"
        );
        assert_eq!(err.raw_os_error(), Some(libc::ENETUNREACH));
        assert_eq!(
            route::source_address(Ipv6Addr::LOCALHOST.into()).unwrap(),
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        );
    })
    .unwrap();
}

#[test]
fn entering_a_missing_namespace_says_so() {
    if !root_or_skip("entering_a_missing_namespace_says_so") {
        return;
    }
    let err = vantage_sys::netns::in_named_netns("vsys-no-such-namespace", || ()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("/var/run/netns/vsys-no-such-namespace"),
        "{text}"
    );
    assert!(text.contains("no such namespace"), "{text}");
}
