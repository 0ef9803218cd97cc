//! A criterion-free micro benchmark of the hot paths: parsing an ICMP
//! time-exceeded reply (a real one captured from Linux) and writing a UDP probe
//! into a caller's buffer. Prints nanoseconds per operation and rates; asserts
//! nothing about time.
//!
//! Run with `cargo run --release -p vantage-wire --example wire_bench`.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Instant;
use vantage_wire::OptionBytes;
use vantage_wire::probe::{ChosenChecksum, IpHeader, Ipv4Header, Probe, Transport};
use vantage_wire::reply;

const TE_V4: &[u8] = include_bytes!("../testdata/kernel/v4_udp_time_exceeded.bin");
const TE_V4_MPLS: &[u8] = include_bytes!("../testdata/handmade/v4_te_mpls.bin");
const TE_V6: &[u8] = include_bytes!("../testdata/kernel/v6_udp_time_exceeded.bin");

fn time(label: &str, iters: u32, mut f: impl FnMut(u32)) {
    // Warm up, then measure.
    for i in 0..iters / 10 {
        f(i);
    }
    let start = Instant::now();
    for i in 0..iters {
        f(i);
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(iters);
    println!("{label:<44} {ns:>8.1} ns/op {:>12.0} ops/s", 1e9 / ns);
}

fn main() {
    let iters = 5_000_000;
    time("parse IPv4 ICMP time exceeded (UDP quote)", iters, |_| {
        let r = reply::parse_ipv4(black_box(TE_V4));
        black_box(r.is_ok());
    });
    time("parse IPv4 time exceeded + MPLS extension", iters, |_| {
        let r = reply::parse_ipv4(black_box(TE_V4_MPLS));
        if let Ok(r) = r
            && let Some(e) = r.extensions
        {
            for o in e.objects().flatten() {
                black_box(o.mpls_entries().map(Iterator::count));
            }
        }
    });
    time("parse IPv6 ICMPv6 time exceeded", iters, |_| {
        let r = reply::parse_ipv6(black_box(TE_V6));
        black_box(r.is_ok());
    });
    time("parse + verify checksum (IPv4 TE)", iters, |_| {
        let r = reply::parse_ipv4(black_box(TE_V4));
        black_box(r.map(|r| r.verify_checksum()).is_ok());
    });

    time("checksum::sum over 48 bytes", iters, |_| {
        black_box(vantage_wire::checksum::sum(black_box(&TE_V4[20..])));
    });

    let mut buf = [0u8; 128];
    let payload = [0u8; 12];
    let base = Probe {
        ip: IpHeader::V4(Ipv4Header {
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::new(198, 51, 100, 2),
            ttl: 1,
            tos: 0,
            ident: 0,
            dont_frag: false,
            options: OptionBytes::new(),
        }),
        transport: Transport::Udp {
            src_port: 40000,
            dst_port: 33435,
            payload: &payload,
        },
        checksum: None,
    };
    time("emit IPv4 UDP probe (40 bytes)", iters, |i| {
        let mut p = base;
        if let IpHeader::V4(h) = &mut p.ip {
            h.ttl = (i & 0x1f) as u8 + 1;
            h.ident = i as u16;
        }
        black_box(p.emit(black_box(&mut buf)).is_ok());
    });
    time("emit IPv4 UDP probe, Paris checksum", iters, |i| {
        let mut p = base;
        p.checksum = Some(ChosenChecksum {
            value: 0x1234,
            fix_offset: 0,
        });
        if let IpHeader::V4(h) = &mut p.ip {
            h.ttl = (i & 0x1f) as u8 + 1;
        }
        black_box(p.emit(black_box(&mut buf)).is_ok());
    });
}
