//! Entry points for the fuzz targets (`fuzz/fuzz_targets/engine_*.rs`),
//! also replayed over the committed corpus by this crate's tests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant, SystemTime};

use vantage_command::{Command, Context};

use crate::{Engine, EngineConfig, MeasurementSpec, TaskId};

/// Source addresses of the fuzzing world.
pub const SRC4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// IPv6 source of the fuzzing world.
pub const SRC6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);

/// The measurements running in the fuzzing world.
pub const COMMANDS: [&str; 12] = [
    "ping -c 3 -i 0.01 192.0.2.1",
    "ping -c 3 -i 0.01 -P udp 192.0.2.1",
    "ping -c 3 -i 0.01 -P tcp-syn-sport 192.0.2.1",
    "ping -c 3 -i 0.01 -P icmp-time 192.0.2.1",
    "trace -w 1 192.0.2.1",
    "trace -w 1 -P tcp 192.0.2.1",
    "trace -w 1 -P icmp-paris -N 3 192.0.2.1",
    "trace -w 1 -P udp -Q 192.0.2.1",
    "ping -c 3 -i 0.01 2001:db8::1",
    "trace -w 1 -P icmp 2001:db8::1",
    "tracelb -w 1 -W 15 192.0.2.1",
    "tracelb -w 1 -W 15 -P icmp-echo 2001:db8::1",
];

/// A deterministic engine running [`COMMANDS`], with the probes it sent at
/// time zero. `None` only if the world cannot be built (a bug the replay
/// test would report).
pub fn world() -> Option<(Engine, Instant, SystemTime, Vec<Vec<u8>>)> {
    let mut e = Engine::new(EngineConfig {
        rate: 1_000_000,
        burst: 10_000,
        seed: 7,
    })
    .ok()?;
    let t0 = Instant::now();
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ctx = Context::new(4242);
    for (i, cmd) in COMMANDS.iter().enumerate() {
        let spec = MeasurementSpec::try_from(Command::parse(cmd, &ctx).ok()?).ok()?;
        let src = if spec.dst().is_ipv4() {
            IpAddr::V4(SRC4)
        } else {
            IpAddr::V6(SRC6)
        };
        e.start(TaskId(i as u64), spec, src, t0, wall).ok()?;
    }
    let mut probes = Vec::new();
    let mut buf = Vec::new();
    while let Some(tx) = e.poll_transmit(t0, &mut buf) {
        e.on_sent(tx.probe, Ok(wall));
        probes.push(buf.clone());
    }
    Some((e, t0, wall, probes))
}

/// Feeds framed packets to a running engine. Framing, repeated: `u16`
/// big-endian length (taken modulo 2048), one control byte (bit 0: deliver
/// as a bare ICMPv6 message from 2001:db8::1 instead of an IP packet; bits
/// 1-7: milliseconds to advance the clock first), then the packet.
pub fn engine_packets(data: &[u8]) {
    let Some((mut e, t0, wall, _)) = world() else {
        return;
    };
    let mut now = t0;
    let mut rest = data;
    let mut buf = Vec::new();
    while rest.len() >= 3 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]) % 2048);
        let ctl = rest[2];
        rest = &rest[3..];
        let pkt = &rest[..len.min(rest.len())];
        rest = &rest[pkt.len()..];
        now += Duration::from_millis(u64::from(ctl >> 1));
        let rx = wall + now.duration_since(t0);
        e.handle_timeout(now);
        if ctl & 1 == 0 {
            e.handle_packet(now, rx, pkt);
        } else {
            let from = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
            e.handle_icmpv6(now, rx, from, SRC6, Some(57), pkt);
        }
        while let Some(tx) = e.poll_transmit(now, &mut buf) {
            e.on_sent(tx.probe, Ok(rx));
        }
        while e.poll_event().is_some() {}
        let _ = e.poll_timeout();
    }
    // let every task finish: results are built and must not panic either
    for _ in 0..10_000 {
        let Some(next) = e.poll_timeout() else { break };
        now = next.max(now);
        e.handle_timeout(now);
        while let Some(tx) = e.poll_transmit(now, &mut buf) {
            e.on_sent(tx.probe, Ok(wall + now.duration_since(t0)));
        }
        while e.poll_event().is_some() {}
    }
}
