//! Root-only tests on loopback, each in a fresh network namespace made by the test itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::*;
use vantage_sys::netns::in_new_netns;
use vantage_sys::recv::{SUGGESTED_RECV_BUFFER, SockFilter};
use vantage_sys::{
    AsyncSocket, Error, Family, IcmpFilter, Protocol, RecvBatch, RecvMeta, RecvSocket, SendSocket,
};

const LO4: Ipv4Addr = Ipv4Addr::LOCALHOST;
const LO6: Ipv6Addr = Ipv6Addr::LOCALHOST;

/// Receives until `want` accepts a packet; returns it with its metadata.
async fn recv_until(
    sock: &AsyncSocket<RecvSocket>,
    want: impl Fn(&RecvMeta, &[u8]) -> bool,
) -> (RecvMeta, Vec<u8>) {
    let mut buf = [0u8; 2048];
    loop {
        let meta = sock.recv(&mut buf).await.expect("recv");
        if want(&meta, &buf[..meta.len]) {
            return (meta, buf[..meta.len].to_vec());
        }
    }
}

fn is_echo_reply(pkt: &[u8], with_header: bool, reply_type: u8, id: u16) -> bool {
    let icmp = l4(pkt, with_header);
    icmp.len() >= 8 && icmp[0] == reply_type && icmp[4..6] == id.to_be_bytes()
}

#[test]
fn echo_v4_on_loopback_with_kernel_timestamp() {
    if !root_or_skip("echo_v4_on_loopback_with_kernel_timestamp") {
        return;
    }
    in_new_netns(|| {
        block_on(async {
            let tx = AsyncSocket::new(SendSocket::open(Family::V4).unwrap()).unwrap();
            let rx =
                AsyncSocket::new(RecvSocket::open(Family::V4, Protocol::Icmp).unwrap()).unwrap();
            assert!(rx.get_ref().header_included());
            let sent_at = tx.send(&echo_v4(LO4, LO4, 0x1234, 1)).await.unwrap();
            let (meta, pkt) = recv_until(&rx, |_, p| is_echo_reply(p, true, 0, 0x1234)).await;
            assert!(meta.kernel_timestamp, "no SO_TIMESTAMPNS timestamp");
            assert!(meta.timestamp >= sent_at, "received before sent");
            assert_eq!(meta.src, IpAddr::V4(LO4));
            assert_eq!(meta.dst, Some(IpAddr::V4(LO4)));
            assert_eq!(
                meta.hop_limit,
                Some(pkt[8]),
                "TTL cmsg disagrees with header"
            );
            assert_eq!(meta.len, pkt.len());
            assert!(!meta.truncated);
            assert_eq!(pkt[0] >> 4, 4, "IPv4 receive sockets deliver the IP header");
            assert_eq!(&l4(&pkt, true)[6..8], &1u16.to_be_bytes());
        });
    })
    .unwrap();
}

#[test]
fn echo_v6_on_loopback_with_kernel_timestamp() {
    if !root_or_skip("echo_v6_on_loopback_with_kernel_timestamp") {
        return;
    }
    in_new_netns(|| {
        block_on(async {
            let tx = AsyncSocket::new(SendSocket::open(Family::V6).unwrap()).unwrap();
            let rx =
                AsyncSocket::new(RecvSocket::open(Family::V6, Protocol::Icmp).unwrap()).unwrap();
            assert!(!rx.get_ref().header_included());
            let sent_at = tx.send(&echo_v6(LO6, LO6, 0x5678, 2)).await.unwrap();
            let (meta, pkt) = recv_until(&rx, |_, p| is_echo_reply(p, false, 129, 0x5678)).await;
            assert!(meta.kernel_timestamp);
            assert!(meta.timestamp >= sent_at);
            assert_eq!(meta.src, IpAddr::V6(LO6));
            assert_eq!(meta.dst, Some(IpAddr::V6(LO6)));
            assert_eq!(meta.hop_limit, Some(64));
            assert!(meta.ifindex.is_some());
            assert_eq!(&pkt[6..8], &2u16.to_be_bytes());
        });
    })
    .unwrap();
}

/// The IPv6 header goes out exactly as built: hop limit, traffic class and flow label.
#[test]
fn v6_header_fields_go_out_as_built() {
    if !root_or_skip("v6_header_fields_go_out_as_built") {
        return;
    }
    in_new_netns(|| {
        block_on(async {
            let tx = AsyncSocket::new(SendSocket::open(Family::V6).unwrap()).unwrap();
            let raw = RecvSocket::open(Family::V6, Protocol::Icmp).unwrap();
            raw.set_icmp_filter(&IcmpFilter::block_all().pass(128))
                .unwrap();
            let rx = AsyncSocket::new(raw).unwrap();
            let mut hdr = V6::new(LO6, LO6, 58);
            hdr.hops = 7;
            hdr.tclass = 0x28;
            hdr.flow = 0x1_2345;
            tx.send(&echo_v6_with(&hdr, 0x9abc, 3)).await.unwrap();
            let (meta, _) = recv_until(&rx, |_, p| p[0] == 128 && p[4..6] == [0x9a, 0xbc]).await;
            assert_eq!(meta.hop_limit, Some(7));
            assert_eq!(meta.traffic_class, Some(0x28));
            assert_eq!(meta.flow_label, Some(0x1_2345));
        });
    })
    .unwrap();
}

/// The kernel fills in nothing in a header-included IPv6 packet, not even the source, and
/// refuses packets beyond the MTU with a clear error.
#[test]
fn v6_kernel_fills_nothing_and_refuses_oversize() {
    if !root_or_skip("v6_kernel_fills_nothing_and_refuses_oversize") {
        return;
    }
    in_new_netns(|| {
        block_on(async {
            let tx = AsyncSocket::new(SendSocket::open(Family::V6).unwrap()).unwrap();
            let raw = RecvSocket::open(Family::V6, Protocol::Icmp).unwrap();
            raw.set_icmp_filter(&IcmpFilter::block_all().pass(128))
                .unwrap();
            let rx = AsyncSocket::new(raw).unwrap();
            tx.send(&echo_v6(Ipv6Addr::UNSPECIFIED, LO6, 0x2222, 1))
                .await
                .unwrap();
            let (meta, _) = recv_until(&rx, |_, p| p[0] == 128 && p[4..6] == [0x22, 0x22]).await;
            assert_eq!(meta.src, IpAddr::V6(Ipv6Addr::UNSPECIFIED));

            let big = V6::new(LO6, LO6, 58).build(&vec![0u8; 70_000]);
            let err = tx.send(&big).await.unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EMSGSIZE), "{err}");
            assert!(
                err.to_string()
                    .starts_with("sendto ::1 on raw IPv6 send socket: ")
            );
            assert!(err.to_string().contains("MTU"), "{err}");
        });
    })
    .unwrap();
}

/// What the kernel fills in for a header-included IPv4 packet, and what it keeps.
#[test]
fn v4_kernel_fills_length_checksum_source_and_keeps_the_rest() {
    if !root_or_skip("v4_kernel_fills_length_checksum_source_and_keeps_the_rest") {
        return;
    }
    in_new_netns(|| {
        block_on(async {
            let tx = AsyncSocket::new(SendSocket::open(Family::V4).unwrap()).unwrap();
            let raw = RecvSocket::open(Family::V4, Protocol::Icmp).unwrap();
            raw.set_icmp_filter(&IcmpFilter::block_all().pass(8))
                .unwrap();
            let rx = AsyncSocket::new(raw).unwrap();
            let mut icmp = echo(8, 0x4321, 4, b"fill");
            let c = checksum(0, &icmp);
            icmp[2..4].copy_from_slice(&c.to_be_bytes());
            let mut hdr = V4::new(Ipv4Addr::UNSPECIFIED, LO4, 1);
            hdr.fill = false;
            hdr.ttl = 9;
            hdr.tos = 0x10;
            hdr.id = 0x7777;
            tx.send(&hdr.build(&icmp)).await.unwrap();
            let (meta, pkt) = recv_until(&rx, |_, p| is_echo_reply(p, true, 8, 0x4321)).await;
            assert_eq!(usize::from(u16::from_be_bytes([pkt[2], pkt[3]])), pkt.len());
            assert_eq!(checksum(0, &pkt[..20]), 0, "header checksum filled in");
            assert_eq!(&pkt[12..16], &LO4.octets(), "source filled in");
            assert_eq!(&pkt[4..6], &0x7777u16.to_be_bytes(), "id kept");
            assert_eq!(pkt[8], 9, "TTL kept");
            assert_eq!(pkt[1], 0x10, "TOS kept");
            assert_eq!(meta.traffic_class, Some(0x10));
        });
    })
    .unwrap();
}

fn is_rst_to(seg: &[u8], from_port: u16, to_port: u16) -> bool {
    seg.len() >= 20
        && seg[0..2] == from_port.to_be_bytes()
        && seg[2..4] == to_port.to_be_bytes()
        && seg[13] & 0x04 != 0
}

#[test]
fn tcp_syn_to_closed_port_gets_rst_v4() {
    if !root_or_skip("tcp_syn_to_closed_port_gets_rst_v4") {
        return;
    }
    in_new_netns(|| {
        block_on(async {
            let tx = AsyncSocket::new(SendSocket::open(Family::V4).unwrap()).unwrap();
            let rx =
                AsyncSocket::new(RecvSocket::open(Family::V4, Protocol::Tcp).unwrap()).unwrap();
            let syn = tcp_syn(40001, 9, 1000, |t| v4_l4_checksum(LO4, LO4, 6, t));
            tx.send(&V4::new(LO4, LO4, 6).build(&syn)).await.unwrap();
            let (meta, pkt) = recv_until(&rx, |_, p| is_rst_to(l4(p, true), 9, 40001)).await;
            let seg = l4(&pkt, true);
            assert_eq!(
                &seg[8..12],
                &1001u32.to_be_bytes(),
                "RST acknowledges SYN+1"
            );
            assert_eq!(meta.src, IpAddr::V4(LO4));
            assert!(meta.kernel_timestamp);
        });
    })
    .unwrap();
}

#[test]
fn tcp_syn_to_closed_port_gets_rst_v6() {
    if !root_or_skip("tcp_syn_to_closed_port_gets_rst_v6") {
        return;
    }
    in_new_netns(|| {
        block_on(async {
            let tx = AsyncSocket::new(SendSocket::open(Family::V6).unwrap()).unwrap();
            let rx =
                AsyncSocket::new(RecvSocket::open(Family::V6, Protocol::Tcp).unwrap()).unwrap();
            let hdr = V6::new(LO6, LO6, 6);
            let syn = tcp_syn(40002, 9, 2000, |t| hdr.l4_checksum(t));
            tx.send(&hdr.build(&syn)).await.unwrap();
            let (meta, seg) = recv_until(&rx, |_, p| is_rst_to(p, 9, 40002)).await;
            assert_eq!(&seg[8..12], &2001u32.to_be_bytes());
            assert_eq!(meta.src, IpAddr::V6(LO6));
            assert_eq!(
                meta.dst,
                Some(IpAddr::V6(LO6)),
                "destination from IPV6_PKTINFO"
            );
            assert_eq!(meta.hop_limit, Some(64), "hop limit from IPV6_HOPLIMIT");
            assert!(meta.kernel_timestamp);
        });
    })
    .unwrap();
}

/// A classic BPF program on the IPv6 TCP socket keeps only segments to our port: the first
/// packet read is the RST, not our own SYN that was queued before it on loopback.
#[test]
fn bpf_filter_keeps_only_our_port() {
    if !root_or_skip("bpf_filter_keeps_only_our_port") {
        return;
    }
    in_new_netns(|| {
        block_on(async {
            let tx = AsyncSocket::new(SendSocket::open(Family::V6).unwrap()).unwrap();
            let raw = RecvSocket::open(Family::V6, Protocol::Tcp).unwrap();
            // IPv6 raw sockets see the packet from the TCP header on: dst port at offset 2.
            raw.attach_filter(&[
                SockFilter::new(0x28, 0, 0, 2),      // ldh [2]
                SockFilter::new(0x15, 0, 1, 40003),  // jeq #40003, accept, drop
                SockFilter::new(0x06, 0, 0, 0xffff), // ret #65535
                SockFilter::new(0x06, 0, 0, 0),      // ret #0
            ])
            .unwrap();
            raw.bind_device(Some("lo")).unwrap();
            let rx = AsyncSocket::new(raw).unwrap();
            let hdr = V6::new(LO6, LO6, 6);
            tx.get_ref().bind_device(Some("lo")).unwrap();
            tx.send(&hdr.build(&tcp_syn(40003, 9, 7, |t| hdr.l4_checksum(t))))
                .await
                .unwrap();
            let mut buf = [0u8; 256];
            let meta = rx.recv(&mut buf).await.unwrap();
            assert!(
                is_rst_to(&buf[..meta.len], 9, 40003),
                "{:?}",
                &buf[..meta.len]
            );
            let err = rx.get_ref().recv(&mut buf).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
            let err = tx.get_ref().bind_device(Some("no-such-if0")).unwrap_err();
            assert!(err.to_string().contains("SO_BINDTODEVICE"), "{err}");
        });
    })
    .unwrap();
}

/// 1,000 echo requests in one `sendmmsg` batch; all 1,000 replies come back via `recvmmsg`.
fn thousand_echoes(family: Family) {
    const N: u16 = 1000;
    let id = 0x0bad;
    let (packets, reply_type, with_header): (Vec<Vec<u8>>, u8, bool) = match family {
        Family::V4 => ((1..=N).map(|s| echo_v4(LO4, LO4, id, s)).collect(), 0, true),
        Family::V6 => (
            (1..=N).map(|s| echo_v6(LO6, LO6, id, s)).collect(),
            129,
            false,
        ),
    };
    let (seen, drops, batches) = in_new_netns(move || {
        block_on(async move {
            let tx = AsyncSocket::new(SendSocket::open(family).unwrap()).unwrap();
            let raw = RecvSocket::open(family, Protocol::Icmp).unwrap();
            let size = raw.set_recv_buffer(SUGGESTED_RECV_BUFFER).unwrap();
            assert!(size.forced && !size.is_capped(), "{size}");
            let rx = AsyncSocket::new(raw).unwrap();
            let mut off = 0;
            while off < packets.len() {
                let sent = tx.send_batch(&packets[off..]).await.unwrap();
                assert!(sent.started <= sent.finished);
                off += sent.sent;
            }
            let mut batch = RecvBatch::new(64, 1500);
            let mut seen = BTreeSet::new();
            let mut batches = 0;
            while seen.len() < usize::from(N) {
                let n = rx.recv_batch(&mut batch).await.unwrap();
                assert_eq!(n, batch.len());
                batches += 1;
                for (meta, pkt) in batch.iter() {
                    assert!(meta.kernel_timestamp);
                    assert_eq!(meta.drops, None, "the socket dropped replies");
                    if is_echo_reply(pkt, with_header, reply_type, id) {
                        let icmp = l4(pkt, with_header);
                        seen.insert(u16::from_be_bytes([icmp[6], icmp[7]]));
                    }
                }
            }
            let stats = rx.get_ref().queue_stats().unwrap();
            (seen, stats.drops, batches)
        })
    })
    .unwrap();
    assert_eq!(seen, (1..=N).collect::<BTreeSet<_>>());
    assert_eq!(drops, 0);
    eprintln!("{family:?}: 1000 replies in {batches} recvmmsg batches");
}

#[test]
fn thousand_echoes_via_sendmmsg_and_recvmmsg_v4() {
    if root_or_skip("thousand_echoes_via_sendmmsg_and_recvmmsg_v4") {
        thousand_echoes(Family::V4);
    }
}

#[test]
fn thousand_echoes_via_sendmmsg_and_recvmmsg_v6() {
    if root_or_skip("thousand_echoes_via_sendmmsg_and_recvmmsg_v6") {
        thousand_echoes(Family::V6);
    }
}

/// With a tiny receive buffer most replies are dropped, and the drop counter accounts for
/// every one of them. The counter can be higher than the number of lost replies: Linux checks
/// for buffer space before applying the ICMP type filter, so while the buffer is full our own
/// (filtered) echo requests on loopback are counted too. Hence "at least", and the figures are
/// printed.
fn drop_counter(family: Family) {
    const N: u16 = 200;
    let (reply_type, with_header) = match family {
        Family::V4 => (0, true),
        Family::V6 => (129, false),
    };
    let echo = move |id, seq| match family {
        Family::V4 => echo_v4(LO4, LO4, id, seq),
        Family::V6 => echo_v6(LO6, LO6, id, seq),
    };
    let (received, drops, stats_drops, obtained) = in_new_netns(move || {
        block_on(async move {
            let tx = AsyncSocket::new(SendSocket::open(family).unwrap()).unwrap();
            let raw = RecvSocket::open(family, Protocol::Icmp).unwrap();
            let size = raw.set_recv_buffer(4096).unwrap();
            let rx = AsyncSocket::new(raw).unwrap();
            let packets: Vec<_> = (1..=N).map(|s| echo(0xd0d0, s)).collect();
            let mut off = 0;
            while off < packets.len() {
                off += tx.send_batch(&packets[off..]).await.unwrap().sent;
            }
            // Nothing was read while sending; read what the buffer kept.
            let mut batch = RecvBatch::new(64, 1500);
            let mut received = 0;
            while let Ok(n) = rx.get_ref().recv_batch(&mut batch) {
                assert!(n > 0);
                received += batch
                    .iter()
                    .filter(|(_, p)| is_echo_reply(p, with_header, reply_type, 0xd0d0))
                    .count();
            }
            let stats_drops = rx.get_ref().queue_stats().unwrap().drops;
            // One more reply carries the final drop count in its SO_RXQ_OVFL message.
            tx.send(&echo(0xd0d1, 1)).await.unwrap();
            let (meta, _) = recv_until(&rx, |_, p| {
                is_echo_reply(p, with_header, reply_type, 0xd0d1)
            })
            .await;
            (
                received,
                meta.drops.unwrap_or(0),
                stats_drops,
                size.obtained,
            )
        })
    })
    .unwrap();
    eprintln!(
        "{family:?}: a receive buffer of {obtained} bytes (as reported) held {received} of {N} echo replies; drop counter {drops}"
    );
    assert!(
        received < usize::from(N),
        "a 4 KiB buffer cannot hold {N} replies"
    );
    assert_eq!(drops, stats_drops, "SO_RXQ_OVFL and SO_MEMINFO disagree");
    assert!(
        drops as usize >= usize::from(N) - received,
        "{} replies lost but only {drops} drops counted",
        usize::from(N) - received
    );
}

#[test]
fn drop_counter_accounts_for_every_lost_reply_v4() {
    if root_or_skip("drop_counter_accounts_for_every_lost_reply_v4") {
        drop_counter(Family::V4);
    }
}

#[test]
fn drop_counter_accounts_for_every_lost_reply_v6() {
    if root_or_skip("drop_counter_accounts_for_every_lost_reply_v6") {
        drop_counter(Family::V6);
    }
}

#[test]
fn errors_name_call_address_and_socket() {
    if !root_or_skip("errors_name_call_address_and_socket") {
        return;
    }
    in_new_netns(|| {
        let tx = SendSocket::open(Family::V4).unwrap();
        // No route in a namespace that has only lo.
        let err = tx
            .send(&echo_v4(
                Ipv4Addr::new(192, 0, 2, 2),
                Ipv4Addr::new(192, 0, 2, 1),
                1,
                1,
            ))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("sendto 192.0.2.1 on raw IPv4 send socket: "),
            "{text}"
        );
        assert_eq!(err.raw_os_error(), Some(libc::ENETUNREACH), "{text}");
        // Bytes that are not an IPv4 packet never reach the kernel.
        let err = tx.send(&[0x60; 40]).unwrap_err();
        assert!(matches!(err, Error::BadPacket { index: 0, .. }), "{err}");
        let err = tx
            .send_batch(&[echo_v4(LO4, LO4, 1, 1), vec![0x45; 10]])
            .unwrap_err();
        assert!(matches!(err, Error::BadPacket { index: 1, .. }), "{err}");
        // Registration needs a runtime.
        let err = AsyncSocket::new(tx).unwrap_err();
        assert!(matches!(err, Error::NoRuntime { .. }), "{err}");
        // A non-blocking receive with nothing waiting says WouldBlock.
        let rx = RecvSocket::open(Family::V6, Protocol::Udp).unwrap();
        let err = rx.recv(&mut [0; 64]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
        assert!(err.is_transient());
        assert!(rx.set_icmp_filter(&IcmpFilter::pass_all()).is_err());
    })
    .unwrap();
}

/// A batch slot smaller than the packet cuts it and says so.
#[test]
fn truncation_is_reported() {
    if !root_or_skip("truncation_is_reported") {
        return;
    }
    in_new_netns(|| {
        block_on(async {
            let tx = AsyncSocket::new(SendSocket::open(Family::V4).unwrap()).unwrap();
            let rx =
                AsyncSocket::new(RecvSocket::open(Family::V4, Protocol::Icmp).unwrap()).unwrap();
            tx.send(&echo_v4(LO4, LO4, 0x7e7e, 1)).await.unwrap();
            let mut batch = RecvBatch::new(4, 24);
            rx.recv_batch(&mut batch).await.unwrap();
            let (meta, pkt) = batch.get(0).unwrap();
            assert!(meta.truncated);
            assert_eq!(pkt.len(), 24);
            assert_eq!(meta.len, 24);
        });
    })
    .unwrap();
}
