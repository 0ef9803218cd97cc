//! Ping against the simulated network: every method, IPv4 and IPv6, stop
//! rules, timing, payloads, duplicates, cancellation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use vantage_model::{PingMethod, PingStop};

fn net_to(dst: std::net::IpAddr, mode: DstMode) -> Sim {
    let mut sim = Sim::new(1000);
    let hops = if dst.is_ipv4() {
        routers4(3)
    } else {
        routers6(3)
    };
    let mut p = Path::new(hops);
    p.dst_mode = mode;
    sim.net.add_path(dst, p);
    sim
}

const DST4: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));

#[test]
fn icmp_echo_v4_basic() {
    let mut sim = net_to(DST4, DstMode::Answer);
    sim.start_cmd(1, "ping -c 3 -i 0.5 198.51.100.1");
    sim.run();
    let p = sim.ping(1);
    assert_eq!(p.stop_reason, PingStop::Done);
    assert_eq!(p.probes_sent, 3);
    assert_eq!(p.replies.len(), 3);
    for (i, r) in p.replies.iter().enumerate() {
        assert_eq!(usize::from(r.probe_id), i);
        assert_eq!(r.from.to_string(), "198.51.100.1");
        assert!(r.is_icmp_echo_reply());
        assert_eq!(r.reply_ttl, 60);
        assert_eq!(r.rtt, Duration::from_millis(8));
        assert!(r.tx.is_some());
        assert_eq!(r.reply_size, 84);
    }
    assert_eq!(p.probe_size, 84);
    assert_eq!(p.src.unwrap().to_string(), "192.0.2.10");
    // probes 500 ms apart, then the 1 s wait after the last one
    assert_eq!(
        sim.tx_times,
        vec![
            Duration::ZERO,
            Duration::from_millis(500),
            Duration::from_secs(1)
        ]
    );
    assert_eq!(sim.elapsed(), Duration::from_secs(2));
    let st = p.stats();
    assert_eq!((st.nreplies, st.nloss, st.ndups), (3, 0, 0));
}

/// (method, dst mode, expected (proto, icmp type, icmp code, tcp flags))
/// (proto, icmp type, icmp code, tcp flags) of the expected replies.
type Want = Option<(u8, u8, u8, u8)>;

fn method_table(v6: bool) -> Vec<(&'static str, DstMode, Want)> {
    let icmp = if v6 { 58 } else { 1 };
    let (unreach, port) = if v6 { (1, 4) } else { (3, 3) };
    let mut t = vec![
        (
            "icmp-echo",
            DstMode::Answer,
            Some((icmp, if v6 { 129 } else { 0 }, 0, 0)),
        ),
        ("udp", DstMode::Answer, Some((icmp, unreach, port, 0))),
        ("udp-dport", DstMode::Answer, Some((icmp, unreach, port, 0))),
        ("udp-sport", DstMode::Answer, Some((icmp, unreach, port, 0))),
        ("udp", DstMode::AnswerAlt, Some((17, 0, 0, 0))),
        ("udp-dport", DstMode::AnswerAlt, Some((17, 0, 0, 0))),
        ("udp-sport", DstMode::AnswerAlt, Some((17, 0, 0, 0))),
        ("tcp-syn", DstMode::Answer, Some((6, 0, 0, 0x12))),
        ("tcp-syn", DstMode::AnswerAlt, Some((6, 0, 0, 0x14))),
        ("tcp-syn-sport", DstMode::Answer, Some((6, 0, 0, 0x12))),
        ("tcp-ack", DstMode::Answer, Some((6, 0, 0, 0x04))),
        ("tcp-ack-sport", DstMode::Answer, Some((6, 0, 0, 0x04))),
        ("tcp-synack", DstMode::Answer, Some((6, 0, 0, 0x04))),
        ("tcp-rst", DstMode::Answer, None),
    ];
    if !v6 {
        t.push(("icmp-time", DstMode::Answer, Some((1, 14, 0, 0))));
    }
    t
}

fn check_methods(dst: std::net::IpAddr) {
    for (method, mode, want) in method_table(dst.is_ipv6()) {
        let mut sim = net_to(dst, mode);
        sim.start_cmd(1, &format!("ping -c 4 -i 0.1 -W 1 -P {method} {dst}"));
        sim.run();
        let p = sim.ping(1);
        let ctx = format!("{method} {mode:?} {dst}");
        assert_eq!(p.stop_reason, PingStop::Done, "{ctx}");
        assert_eq!(p.probes_sent, 4, "{ctx}");
        assert_eq!(p.method.to_string(), method, "{ctx}");
        let Some((proto, ty, code, flags)) = want else {
            assert!(p.replies.is_empty(), "{ctx}");
            continue;
        };
        assert_eq!(p.replies.len(), 4, "{ctx}: {:?}", p.replies);
        for (i, r) in p.replies.iter().enumerate() {
            assert_eq!(usize::from(r.probe_id), i, "{ctx}");
            assert_eq!(r.from.to_string(), dst.to_string(), "{ctx}");
            assert_eq!(r.reply_proto, proto, "{ctx}");
            if r.is_icmp() {
                assert_eq!((r.icmp_type, r.icmp_code), (ty, code), "{ctx}");
            }
            assert_eq!(r.tcp_flags, flags, "{ctx}");
            assert!(p.is_from_target(r), "{ctx}");
            if p.method.varies_sport() {
                assert_eq!(r.probe_sport, p.sport + r.probe_id, "{ctx}");
            }
            assert_eq!(r.rtt, Duration::from_millis(8), "{ctx}");
        }
        assert_eq!(p.stats().nreplies, 4, "{ctx}");
        if p.method != PingMethod::IcmpEcho && p.method != PingMethod::IcmpTime {
            assert_eq!(p.dport, 33435, "{ctx}");
        }
    }
}

#[test]
fn every_method_v4() {
    check_methods(DST4);
}

#[test]
fn every_method_v6() {
    check_methods(v6(0x99));
}

#[test]
fn stop_count_ends_early() {
    let mut sim = net_to(DST4, DstMode::Answer);
    sim.start_cmd(1, "ping -c 10 -o 2 198.51.100.1");
    sim.run();
    let p = sim.ping(1);
    assert_eq!(p.stop_reason, PingStop::Done);
    assert_eq!(p.probes_sent, 2);
    assert_eq!(p.replies.len(), 2);
    assert_eq!(p.stop_count, 2);
    assert_eq!(sim.elapsed(), Duration::from_millis(1008));
}

#[test]
fn silent_target_waits_timeout_after_last_probe() {
    let mut sim = net_to(DST4, DstMode::Silent);
    sim.start_cmd(1, "ping -c 3 -i 0.2 -W 2 198.51.100.1");
    sim.run();
    let p = sim.ping(1);
    assert_eq!(p.stop_reason, PingStop::Done);
    assert_eq!(p.probes_sent, 3);
    assert!(p.replies.is_empty());
    assert_eq!(p.stats().nloss, 3);
    assert_eq!(sim.elapsed(), Duration::from_millis(400 + 2000));
}

#[test]
fn ttl_limited_ping_records_time_exceeded() {
    let mut sim = net_to(DST4, DstMode::Answer);
    sim.start_cmd(1, "ping -c 2 -i 0.1 -m 2 198.51.100.1");
    sim.run();
    let p = sim.ping(1);
    assert_eq!(p.replies.len(), 2);
    for r in &p.replies {
        assert_eq!(r.from.to_string(), "10.0.0.2");
        assert!(r.is_icmp_ttl_exp());
        assert!(!p.is_from_target(r));
    }
    assert_eq!(p.stats().nerrs, 2);
    // not answered by the target: waits for the timeout
    assert_eq!(sim.elapsed(), Duration::from_millis(100 + 1000));
}

#[test]
fn duplicates_stay_with_their_probe() {
    let mut sim = Sim::new(1000);
    let mut path = Path::new(routers4(3));
    path.dups = 1;
    sim.net.add_path(DST4, path);
    sim.start_cmd(1, "ping -c 3 -i 0.1 198.51.100.1");
    sim.run();
    let p = sim.ping(1);
    let ids: Vec<u16> = p.replies.iter().map(|r| r.probe_id).collect();
    assert_eq!(ids, vec![0, 0, 1, 1, 2, 2]);
    assert_eq!(p.stats().ndups, 3);
}

#[test]
fn probe_fields_follow_the_options() {
    let mut sim = net_to(DST4, DstMode::Answer);
    sim.net.keep_probes = true;
    sim.start_cmd(
        1,
        "ping -c 2 -i 0.1 -m 33 -z 0x2e -p 0a0b0c -F 4660 -d 7 198.51.100.1",
    );
    sim.run();
    let p = sim.ping(1);
    assert_eq!(p.sport, 4660);
    assert_eq!(p.dport, 7);
    assert_eq!(p.replies.len(), 2);
    for (i, (_, b)) in sim.net.probes.iter().enumerate() {
        assert_eq!(b[8], 33, "ttl");
        assert_eq!(b[1], 0x2e, "tos");
        let icmp = &b[20..];
        assert_eq!(icmp[0], 8);
        assert_eq!(u16::from_be_bytes([icmp[4], icmp[5]]), 4660);
        assert_eq!(u16::from_be_bytes([icmp[6], icmp[7]]), 7 + i as u16);
        assert_eq!(&icmp[8..14], &[0x0a, 0x0b, 0x0c, 0x0a, 0x0b, 0x0c]);
        assert_eq!(icmp.len(), 8 + 56);
    }
    assert_eq!(p.data, vec![0x0a, 0x0b, 0x0c]);
}

#[test]
fn chosen_icmp_checksum_and_payload() {
    let mut sim = net_to(DST4, DstMode::Answer);
    sim.net.keep_probes = true;
    sim.start_cmd(
        1,
        "ping -c 3 -i 0.1 -C 0x1234 -B 00112233445566778899 198.51.100.1",
    );
    sim.run();
    let p = sim.ping(1);
    assert_eq!(p.replies.len(), 3);
    for (_, b) in &sim.net.probes {
        let icmp = &b[20..];
        assert_eq!(u16::from_be_bytes([icmp[2], icmp[3]]), 0x1234);
        assert_eq!(icmp.len(), 8 + 10);
        assert_eq!(
            &icmp[10..],
            &[0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99]
        );
    }
    assert_eq!(p.icmp_csum, 0x1234);
}

#[test]
fn tcp_syn_uses_the_given_sequence_number() {
    let mut sim = net_to(DST4, DstMode::Answer);
    sim.net.keep_probes = true;
    sim.start_cmd(1, "ping -c 2 -i 0.1 -P tcp-syn -A 1000 -d 80 198.51.100.1");
    sim.run();
    let p = sim.ping(1);
    assert_eq!(p.tcp_seq, 1000);
    assert_eq!(p.replies.len(), 2);
    for (_, b) in &sim.net.probes {
        let t = &b[20..];
        assert_eq!(u16::from_be_bytes([t[2], t[3]]), 80);
        assert_eq!(u32::from_be_bytes([t[4], t[5], t[6], t[7]]), 1000);
        assert_eq!(t[13], 0x02);
    }
}

#[test]
fn cancel_halts_with_what_it_has() {
    let mut sim = net_to(DST4, DstMode::Answer);
    sim.start_cmd(1, "ping -c 10 198.51.100.1");
    sim.run_for(Duration::from_millis(2500));
    assert!(sim.engine.cancel(vantage_engine::TaskId(1)));
    sim.run();
    let p = sim.ping(1);
    assert_eq!(p.stop_reason, PingStop::Halted);
    assert_eq!(p.probes_sent, 3);
    assert_eq!(p.replies.len(), 3);
    assert!(!sim.engine.cancel(vantage_engine::TaskId(1)));
}

#[test]
fn late_replies_after_the_end_are_unmatched() {
    let mut sim = Sim::new(1000);
    let mut path = Path::new(routers4(3));
    path.per_hop = Duration::from_millis(300); // rtt 2.4 s
    sim.net.add_path(DST4, path);
    sim.start_cmd(1, "ping -c 1 -W 1 198.51.100.1");
    sim.run();
    let p = sim.ping(1);
    assert!(p.replies.is_empty());
    assert_eq!(sim.handled, vec![vantage_engine::Handled::Unmatched]);
}

#[test]
fn send_failure_ends_with_error() {
    let mut sim = net_to(DST4, DstMode::Answer);
    sim.start_cmd(1, "ping -c 3 198.51.100.1");
    let mut buf = Vec::new();
    let tx = sim.engine.poll_transmit(sim.now, &mut buf).unwrap();
    sim.engine.on_sent(
        tx.probe,
        Err(vantage_engine::SendError::new(
            101,
            "Network is unreachable",
        )),
    );
    sim.run();
    let p = sim.ping(1);
    assert_eq!(p.stop_reason, PingStop::Error);
    assert_eq!(p.stop_data, 101);
    assert_eq!(p.errmsg.as_deref(), Some("Network is unreachable"));
    assert_eq!(p.probes_sent, 0);
}

#[test]
fn record_route_and_timestamps_are_recorded() {
    let mut sim = net_to(DST4, DstMode::Answer);
    sim.net.keep_probes = true;
    sim.start_cmd(1, "ping -c 2 -i 0.1 -R 198.51.100.1");
    sim.run();
    let p = sim.ping(1);
    assert_eq!(p.probe_size, 124);
    assert_eq!(p.replies.len(), 2);
    let rr: Vec<String> = p.replies[0]
        .rr
        .as_ref()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(rr, vec!["10.0.0.1", "10.0.0.2", "10.0.0.3", "198.51.100.1"]);
    assert!(p.flags.contains(vantage_model::PingFlags::V4RR));
    let (_, probe) = &sim.net.probes[0];
    assert_eq!(probe[0], 0x4f, "IPv4 header with 40 bytes of options");
    assert_eq!(probe.len(), 124);

    let mut sim = net_to(DST4, DstMode::Answer);
    sim.start_cmd(1, "ping -c 1 -T tsonly 198.51.100.1");
    sim.run();
    let p = sim.ping(1);
    let ts = p.replies[0].ip_ts.as_ref().unwrap();
    assert_eq!(ts.timestamps, vec![1000, 1001, 1002, 1003]);
    assert!(ts.addrs.is_empty());
}

#[test]
fn icmp_time_reply_values() {
    let mut sim = net_to(DST4, DstMode::Answer);
    sim.net.keep_probes = true;
    sim.start_cmd(1, "ping -c 1 -P icmp-time 198.51.100.1");
    sim.run();
    let p = sim.ping(1);
    assert_eq!(p.probe_size, 84);
    assert_eq!(sim.net.probes[0].1.len(), 84);
    let ts = p.replies[0].icmp_ts.unwrap();
    assert_eq!((ts.receive, ts.transmit), (1234, 1235));
    // originate: milliseconds since midnight UTC of the start (1700000000 s)
    assert_eq!(ts.originate, (1_700_000_000 % 86_400) * 1000);
}
