//! Measurements, not tests: they print rates and per-packet costs and assert nothing about
//! speed. Run by hand as root:
//! `cargo test -p vantage-sys --test throughput -- --ignored --nocapture`
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::Ipv4Addr;
use std::time::Instant;

use common::*;
use vantage_sys::netns::{in_new_netns, run_ip};
use vantage_sys::send::MAX_BATCH;
use vantage_sys::{Family, Protocol, RecvBatch, RecvSocket, SendSocket};

fn rate(what: &str, n: usize, t: Instant) {
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "{what}: {n} packets in {:.3} s = {:.0} packets/s ({:.2} us/packet)",
        secs,
        n as f64 / secs,
        secs * 1e6 / n as f64
    );
}

#[test]
#[ignore = "measurement; run by hand as root with --nocapture"]
fn send_and_receive_rates() {
    if !root_or_skip("send_and_receive_rates") {
        return;
    }
    in_new_netns(|| {
        // A veth whose peer is down drops whatever is routed to it (after the whole send
        // path: route lookup, neighbour entry, device transmit).
        for args in [
            &["link", "add", "v0", "type", "veth", "peer", "name", "v1"][..],
            &["addr", "add", "198.51.100.1/24", "dev", "v0"],
            &["link", "set", "v0", "up"],
            &[
                "neigh",
                "add",
                "198.51.100.2",
                "lladdr",
                "02:00:00:00:00:02",
                "dev",
                "v0",
                "nud",
                "permanent",
            ],
        ] {
            run_ip(None, args).unwrap();
        }
        let (src, dst) = (
            Ipv4Addr::new(198, 51, 100, 1),
            Ipv4Addr::new(198, 51, 100, 2),
        );
        let tx = SendSocket::open(Family::V4).unwrap();
        let probe = |i: u16| {
            V4::new(src, dst, 17).build(&udp(40000, 33435 + i % 64, b"probe", |u| {
                v4_l4_checksum(src, dst, 17, u)
            }))
        };
        let packets: Vec<Vec<u8>> = (0..64).map(probe).collect();

        const N: usize = 200_000;
        let t = Instant::now();
        for i in 0..N {
            tx.send(&packets[i % 64]).unwrap();
        }
        rate("sendto, 1 packet per call (veth, peer down)", N, t);
        for batch in [16, 64] {
            let t = Instant::now();
            let mut sent = 0;
            while sent < N {
                sent += tx.send_batch(&packets[..batch]).unwrap().sent;
            }
            rate(
                &format!("sendmmsg, {batch} per call (veth, peer down)"),
                sent,
                t,
            );
        }

        // Fill a receive buffer with echo replies over loopback, then drain it.
        let lo = Ipv4Addr::LOCALHOST;
        let tx = SendSocket::open(Family::V4).unwrap();
        const M: u16 = 20_000;
        let echoes: Vec<Vec<u8>> = (1..=M).map(|s| echo_v4(lo, lo, 0x3333, s)).collect();
        for mode in ["recvmsg", "recvmmsg 64"] {
            let rx = RecvSocket::open(Family::V4, Protocol::Icmp).unwrap();
            let size = rx.set_recv_buffer(64 << 20).unwrap();
            for chunk in echoes.chunks(MAX_BATCH) {
                let mut off = 0;
                while off < chunk.len() {
                    off += tx.send_batch(&chunk[off..]).unwrap().sent;
                }
            }
            let stats = rx.queue_stats().unwrap();
            assert_eq!(stats.drops, 0, "buffer of {size} too small");
            let queued = stats.queued_bytes;
            let t = Instant::now();
            let mut got = 0usize;
            if mode == "recvmsg" {
                let mut buf = [0u8; 1500];
                while rx.recv(&mut buf).is_ok() {
                    got += 1;
                }
            } else {
                let mut batch = RecvBatch::new(64, 1500);
                while let Ok(n) = rx.recv_batch(&mut batch) {
                    got += n;
                }
            }
            rate(&format!("{mode}, draining queued echo replies"), got, t);
            if mode == "recvmsg" {
                eprintln!(
                    "{got} queued replies of 84 bytes were charged {queued} bytes: {} bytes each; \
                     {size}",
                    queued as usize / got.max(1)
                );
            }
            assert_eq!(got, usize::from(M));
        }
    })
    .unwrap();
}
