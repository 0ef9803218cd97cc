//! Helpers shared by the root-only integration tests: packet builders (by hand, so these tests
//! do not depend on another crate's API) and a skip check.
#![allow(dead_code)]

use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// True when the tests can open raw sockets and make namespaces; otherwise prints why the
/// test is skipped.
pub fn root_or_skip(test: &str) -> bool {
    if nix::unistd::Uid::effective().is_root() {
        true
    } else {
        eprintln!("SKIPPED {test}: needs root (raw sockets and network namespaces)");
        false
    }
}

/// A name for a named namespace that no other test (or test run) uses.
pub fn unique_name(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "vsys-{}-{}-{tag}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs a future on a fresh current-thread runtime, failing (not hanging) after 20 s.
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(20), f)
                .await
                .expect("the test did not finish within 20 s")
        })
}

/// RFC 1071 checksum over `data` with `init` as starting sum.
pub fn checksum(init: u32, data: &[u8]) -> u16 {
    let mut sum = init;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        sum += u32::from(*b) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn pseudo_sum(parts: &[&[u8]]) -> u32 {
    let mut sum = 0u32;
    for p in parts {
        for c in p.chunks(2) {
            sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
    }
    sum
}

/// An IPv4 packet around `payload`. Length, checksum and id are left for the caller or kernel
/// unless `fill` is set.
pub struct V4 {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub tos: u8,
    pub id: u16,
    pub proto: u8,
    pub fill: bool,
}

impl V4 {
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, proto: u8) -> Self {
        Self {
            src,
            dst,
            ttl: 64,
            tos: 0,
            id: 0x4242,
            proto,
            fill: true,
        }
    }

    pub fn build(&self, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 20];
        p[0] = 0x45;
        p[1] = self.tos;
        if self.fill {
            p[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
        }
        p[4..6].copy_from_slice(&self.id.to_be_bytes());
        p[6] = 0x40; // DF
        p[8] = self.ttl;
        p[9] = self.proto;
        p[12..16].copy_from_slice(&self.src.octets());
        p[16..20].copy_from_slice(&self.dst.octets());
        if self.fill {
            let c = checksum(0, &p);
            p[10..12].copy_from_slice(&c.to_be_bytes());
        }
        p.extend_from_slice(payload);
        p
    }
}

/// An IPv6 packet around `payload`.
pub struct V6 {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hops: u8,
    pub tclass: u8,
    pub flow: u32,
    pub next: u8,
}

impl V6 {
    pub fn new(src: Ipv6Addr, dst: Ipv6Addr, next: u8) -> Self {
        Self {
            src,
            dst,
            hops: 64,
            tclass: 0,
            flow: 0,
            next,
        }
    }

    pub fn build(&self, payload: &[u8]) -> Vec<u8> {
        let first = (6u32 << 28) | (u32::from(self.tclass) << 20) | (self.flow & 0xf_ffff);
        let mut p = first.to_be_bytes().to_vec();
        p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        p.push(self.next);
        p.push(self.hops);
        p.extend_from_slice(&self.src.octets());
        p.extend_from_slice(&self.dst.octets());
        p.extend_from_slice(payload);
        p
    }

    /// The transport checksum of `l4` (checksum field zero) under this header.
    pub fn l4_checksum(&self, l4: &[u8]) -> u16 {
        let len = (l4.len() as u32).to_be_bytes();
        let init = pseudo_sum(&[
            &self.src.octets(),
            &self.dst.octets(),
            &len,
            &[0, 0, 0, self.next],
        ]);
        checksum(init, l4)
    }
}

/// The transport checksum of `l4` under an IPv4 header.
pub fn v4_l4_checksum(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4: &[u8]) -> u16 {
    let len = (l4.len() as u16).to_be_bytes();
    let init = pseudo_sum(&[&src.octets(), &dst.octets(), &[0, proto], &len]);
    checksum(init, l4)
}

/// ICMP or ICMPv6 echo request body (checksum zero).
pub fn echo(icmp_type: u8, id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![icmp_type, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// A complete ICMP echo request from `src` to `dst`.
pub fn echo_v4(src: Ipv4Addr, dst: Ipv4Addr, id: u16, seq: u16) -> Vec<u8> {
    let mut icmp = echo(8, id, seq, b"vantage-sys test");
    let c = checksum(0, &icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    V4::new(src, dst, 1).build(&icmp)
}

/// A complete ICMPv6 echo request under `hdr`.
pub fn echo_v6_with(hdr: &V6, id: u16, seq: u16) -> Vec<u8> {
    let mut icmp = echo(128, id, seq, b"vantage-sys test");
    let c = hdr.l4_checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    hdr.build(&icmp)
}

/// A complete ICMPv6 echo request from `src` to `dst`.
pub fn echo_v6(src: Ipv6Addr, dst: Ipv6Addr, id: u16, seq: u16) -> Vec<u8> {
    echo_v6_with(&V6::new(src, dst, 58), id, seq)
}

/// A UDP header and payload with a correct checksum.
pub fn udp(sport: u16, dport: u16, payload: &[u8], csum: impl Fn(&[u8]) -> u16) -> Vec<u8> {
    let mut u = sport.to_be_bytes().to_vec();
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let c = csum(&u);
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

/// A TCP SYN header with a correct checksum.
pub fn tcp_syn(sport: u16, dport: u16, seq: u32, csum: impl Fn(&[u8]) -> u16) -> Vec<u8> {
    let mut t = sport.to_be_bytes().to_vec();
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    t.push(5 << 4); // data offset
    t.push(0x02); // SYN
    t.extend_from_slice(&64240u16.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    let c = csum(&t);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    t
}

/// The transport part of a received packet: after the IPv4 header if `with_header`.
pub fn l4(packet: &[u8], with_header: bool) -> &[u8] {
    if with_header {
        let ihl = usize::from(packet[0] & 0x0f) * 4;
        &packet[ihl..]
    } else {
        packet
    }
}
