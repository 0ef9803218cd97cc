//! Traceroute against the simulated network: every method, IPv4 and IPv6,
//! every stop reason, silent hops, quotes, MPLS, ECMP, options.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use common::*;
use vantage_model::{TraceMethod, TraceStop};
use vantage_wire::icmp_ext::MplsEntry;

const DST4: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));

fn sim_with(dst: IpAddr, path: Path) -> Sim {
    let mut sim = Sim::new(10_000);
    sim.net.add_path(dst, path);
    sim
}

fn expected_route(n: u8, dst: &str) -> Vec<Option<String>> {
    let mut v: Vec<Option<String>> = (1..=n).map(|i| Some(format!("10.0.0.{i}"))).collect();
    v.push(Some(dst.to_owned()));
    v
}

#[test]
fn udp_paris_default_v4() {
    let mut sim = sim_with(DST4, Path::new(routers4(5)));
    sim.start_cmd(1, "trace 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.method, TraceMethod::UdpParis);
    assert_eq!(t.stop_reason, TraceStop::Completed);
    assert_eq!(t.hop_count, 6);
    assert_eq!(t.probes_sent, 6);
    assert_eq!(hop_addrs(t), expected_route(5, "198.51.100.1"));
    for (i, h) in t.hops.iter().enumerate() {
        assert_eq!(usize::from(h.probe_ttl), i + 1);
        assert_eq!(h.probe_id, 0);
        assert_eq!(h.probe_size, 44);
        assert_eq!(h.rtt, Duration::from_millis(2 * (i as u64 + 1)));
        assert_eq!(h.icmp_q_ttl, 1);
        assert_eq!(h.icmp_q_ipl, 44);
    }
    let last = t.hops.last().unwrap();
    assert_eq!((last.icmp_type, last.icmp_code), (3, 3));
    assert!(t.hops[0].is_icmp_ttl_exp());
    assert_eq!(t.stop_hop, 0);
}

fn check_method(dst: IpAddr, method: &str) {
    let hops = if dst.is_ipv4() {
        routers4(4)
    } else {
        routers6(4)
    };
    let mut sim = sim_with(dst, Path::new(hops));
    sim.net.keep_probes = true;
    sim.start_cmd(1, &format!("trace -P {method} {dst}"));
    sim.run();
    let t = sim.trace(1);
    let ctx = format!("{method} {dst}");
    assert_eq!(t.stop_reason, TraceStop::Completed, "{ctx}");
    assert_eq!(t.hop_count, 5, "{ctx}");
    assert_eq!(t.hops.len(), 5, "{ctx}");
    let v6 = dst.is_ipv6();
    for (i, h) in t.hops[..4].iter().enumerate() {
        let want = if v6 {
            v6_hop(i)
        } else {
            format!("10.0.0.{}", i + 1)
        };
        assert_eq!(h.addr.to_string(), want, "{ctx}");
        assert!(h.is_icmp_ttl_exp(), "{ctx}");
    }
    let last = &t.hops[4];
    assert_eq!(last.addr.to_string(), dst.to_string(), "{ctx}");
    let lower = method.to_ascii_lowercase();
    match lower.as_str() {
        "udp" | "udp-paris" => {
            assert_eq!(
                (last.icmp_type, last.icmp_code),
                if v6 { (1, 4) } else { (3, 3) },
                "{ctx}"
            );
        }
        "icmp" | "icmp-paris" => {
            assert_eq!(last.icmp_type, if v6 { 129 } else { 0 }, "{ctx}");
        }
        "tcp" => {
            assert!(last.is_tcp(), "{ctx}");
            assert_eq!(last.tcp_flags, 0x12, "{ctx}");
        }
        "tcp-ack" => {
            assert!(last.is_tcp(), "{ctx}");
            assert_eq!(last.tcp_flags, 0x04, "{ctx}");
        }
        _ => unreachable!(),
    }
    // flow fields stay constant for Paris and TCP, vary for classic methods
    let flows: BTreeSet<Vec<u8>> = sim
        .net
        .probes
        .iter()
        .map(|(_, b)| {
            let p = parse_probe(b);
            p.transport[..4].to_vec()
        })
        .collect();
    let constant = !matches!(lower.as_str(), "udp" | "icmp");
    assert_eq!(flows.len() == 1, constant, "{ctx}: {flows:?}");
}

fn v6_hop(i: usize) -> String {
    format!("2001:db8:ffff::{:x}", i + 1)
}

#[test]
fn every_method_v4() {
    for m in ["udp-paris", "UDP", "icmp", "icmp-paris", "tcp", "tcp-ack"] {
        check_method(DST4, m);
    }
}

#[test]
fn every_method_v6() {
    for m in ["udp-paris", "udp", "icmp", "icmp-paris", "tcp", "tcp-ack"] {
        check_method(v6(0x99), m);
    }
}

#[test]
fn icmp_paris_keeps_the_checksum() {
    let mut sim = sim_with(DST4, Path::new(routers4(3)));
    sim.net.keep_probes = true;
    sim.start_cmd(1, "trace -P icmp-paris -d 4660 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Completed);
    assert_eq!(t.dport, 4660);
    for (_, b) in &sim.net.probes {
        let p = parse_probe(b);
        assert_eq!(u16::from_be_bytes([p.transport[2], p.transport[3]]), 4660);
    }
}

#[test]
fn silent_hops_get_every_attempt() {
    let hops = vec![
        Hop::Router(v4(10, 0, 0, 1)),
        Hop::Silent,
        Hop::Router(v4(10, 0, 0, 3)),
    ];
    let mut sim = sim_with(DST4, Path::new(hops));
    sim.start_cmd(1, "trace -q 3 -w 2 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Completed);
    assert_eq!(
        hop_addrs(t),
        vec![
            Some("10.0.0.1".into()),
            None,
            Some("10.0.0.3".into()),
            Some("198.51.100.1".into())
        ]
    );
    assert_eq!(t.probes_sent, 1 + 3 + 1 + 1);
    // three 2-second timeouts at the silent hop
    assert!(sim.elapsed() >= Duration::from_secs(6));
    assert!(sim.elapsed() < Duration::from_millis(6100));
}

#[test]
fn gap_limit_stops() {
    let mut hops = routers4(2);
    hops.extend(std::iter::repeat_n(Hop::Silent, 10));
    let mut path = Path::new(hops);
    path.dst_mode = DstMode::Silent;
    let mut sim = sim_with(DST4, path);
    sim.start_cmd(1, "trace -g 3 -w 1 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Gaplimit);
    assert_eq!(t.hop_count, 5);
    assert_eq!(t.probes_sent, 2 + 3 * 2);
    assert!(t.lastditch.is_none());
}

#[test]
fn gap_action_lastditch_probes_the_destination() {
    let mut hops = routers4(2);
    hops.extend(std::iter::repeat_n(Hop::Silent, 10));
    let mut sim = sim_with(DST4, Path::new(hops));
    sim.start_cmd(1, "trace -P icmp -g 2 -G 2 -w 1 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Gaplimit);
    assert_eq!(t.hop_count, 4);
    let ld = t.lastditch.as_ref().unwrap();
    assert_eq!(ld.len(), 1);
    assert_eq!(ld[0].addr.to_string(), "198.51.100.1");
    assert_eq!(ld[0].probe_ttl, 255);
    assert_eq!(ld[0].icmp_type, 0);
    assert_eq!(t.hops.len(), 2);
}

fn looping_path() -> Path {
    // 1, 2, then 3 4 5 3 4 5 ...
    let mut hops = routers4(2);
    for _ in 0..10 {
        hops.push(Hop::Router(v4(10, 9, 0, 3)));
        hops.push(Hop::Router(v4(10, 9, 0, 4)));
        hops.push(Hop::Router(v4(10, 9, 0, 5)));
    }
    Path::new(hops)
}

#[test]
fn loop_detection() {
    let mut sim = sim_with(DST4, looping_path());
    sim.start_cmd(1, "trace 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Loop);
    assert_eq!(t.hop_count, 6);

    let mut sim = sim_with(DST4, looping_path());
    sim.start_cmd(1, "trace -l 3 198.51.100.1");
    sim.run();
    assert_eq!(sim.trace(1).stop_reason, TraceStop::Loop);
    assert_eq!(sim.trace(1).hop_count, 8);

    // adjacent repeats are not loops; with -l 0 nothing is
    let mut sim = sim_with(DST4, looping_path());
    sim.start_cmd(1, "trace -l 0 -m 12 198.51.100.1");
    sim.run();
    assert_eq!(sim.trace(1).stop_reason, TraceStop::Hoplimit);
    assert_eq!(sim.trace(1).hop_count, 12);
}

#[test]
fn adjacent_repeat_is_not_a_loop() {
    let hops = vec![
        Hop::Router(v4(10, 0, 0, 1)),
        Hop::Router(v4(10, 0, 0, 2)),
        Hop::Router(v4(10, 0, 0, 2)),
        Hop::Router(v4(10, 0, 0, 3)),
    ];
    let mut sim = sim_with(DST4, Path::new(hops));
    sim.start_cmd(1, "trace 198.51.100.1");
    sim.run();
    assert_eq!(sim.trace(1).stop_reason, TraceStop::Completed);
    assert_eq!(sim.trace(1).hop_count, 5);
}

#[test]
fn hop_limit() {
    let mut sim = sim_with(DST4, Path::new(routers4(8)));
    sim.start_cmd(1, "trace -m 3 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Hoplimit);
    assert_eq!(t.hop_count, 3);
    assert_eq!(t.hoplimit, 3);
}

#[test]
fn unreachable_stops_with_code() {
    let hops = vec![
        Hop::Router(v4(10, 0, 0, 1)),
        Hop::Router(v4(10, 0, 0, 2)),
        Hop::Unreach(v4(10, 0, 0, 3), 1),
    ];
    let mut sim = sim_with(DST4, Path::new(hops));
    sim.start_cmd(1, "trace 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Unreach);
    assert_eq!(t.stop_data, 1);
    assert_eq!(t.hop_count, 3);
    assert_eq!(t.hops[2].addr.to_string(), "10.0.0.3");
    assert_eq!((t.hops[2].icmp_type, t.hops[2].icmp_code), (3, 1));
}

#[test]
fn ttl_expired_from_destination() {
    let mk = || {
        let mut p = Path::new(routers4(2));
        p.dst_ttl_exceeded_at = Some(3);
        p
    };
    let mut sim = sim_with(DST4, mk());
    sim.start_cmd(1, "trace 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Completed);
    assert_eq!(t.hop_count, 3);
    assert!(t.hops[2].is_icmp_ttl_exp());

    let mut sim = sim_with(DST4, mk());
    sim.start_cmd(1, "trace -T 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Completed);
    assert_eq!(t.hop_count, 4);
    assert_eq!((t.hops[3].icmp_type, t.hops[3].icmp_code), (3, 3));
}

#[test]
fn mpls_extensions_are_recorded() {
    let labels = vec![
        MplsEntry {
            label: 16_004,
            exp: 0,
            bottom_of_stack: false,
            ttl: 1,
        },
        MplsEntry {
            label: 299_792,
            exp: 5,
            bottom_of_stack: true,
            ttl: 1,
        },
    ];
    let hops = vec![
        Hop::Router(v4(10, 0, 0, 1)),
        Hop::Mpls(v4(10, 0, 0, 2), labels),
        Hop::Router(v4(10, 0, 0, 3)),
    ];
    let mut sim = sim_with(DST4, Path::new(hops));
    sim.start_cmd(1, "trace 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Completed);
    let h = &t.hops[1];
    assert_eq!(h.icmp_exts.len(), 1);
    let got: Vec<(u32, u8, bool, u8)> = h.icmp_exts[0]
        .mpls_labels()
        .map(|l| (l.label, l.exp, l.s, l.ttl))
        .collect();
    assert_eq!(got, vec![(16_004, 0, false, 1), (299_792, 5, true, 1)]);
    assert!(t.hops[0].icmp_exts.is_empty());
}

#[test]
fn eight_byte_quotes_are_enough_for_every_method() {
    for m in ["udp-paris", "udp", "icmp", "icmp-paris", "tcp", "tcp-ack"] {
        for dst in [DST4, v6(0x99)] {
            let hops = if dst.is_ipv4() {
                routers4(3)
            } else {
                routers6(3)
            };
            let mut path = Path::new(hops);
            path.quote = QuoteLen::Transport(8);
            let mut sim = sim_with(dst, path);
            sim.start_cmd(1, &format!("trace -P {m} {dst}"));
            sim.run();
            let t = sim.trace(1);
            assert_eq!(t.stop_reason, TraceStop::Completed, "{m} {dst}");
            assert_eq!(t.hops.len(), 4, "{m} {dst}");
        }
    }
}

#[test]
fn quotes_too_short_to_identify_are_ignored() {
    let mut path = Path::new(routers4(3));
    path.quote = QuoteLen::Transport(4);
    let mut sim = sim_with(DST4, path);
    sim.start_cmd(1, "trace -w 1 -g 2 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    // UDP-paris needs the checksum (quote bytes 6-7): routers look silent
    assert_eq!(t.stop_reason, TraceStop::Gaplimit);
    assert!(t.hops.is_empty());
}

#[test]
fn ecmp_paris_keeps_one_path_classic_varies() {
    let alts = vec![
        v4(10, 1, 0, 1),
        v4(10, 1, 0, 2),
        v4(10, 1, 0, 3),
        v4(10, 1, 0, 4),
    ];
    let hops = vec![
        Hop::Router(v4(10, 0, 0, 1)),
        Hop::Ecmp(alts),
        Hop::Router(v4(10, 0, 0, 3)),
    ];
    for (method, one_path) in [
        ("udp-paris", true),
        ("icmp-paris", true),
        ("tcp", true),
        ("udp", false),
        ("icmp", false),
    ] {
        let mut sim = sim_with(DST4, Path::new(hops.clone()));
        sim.start_cmd(1, &format!("trace -P {method} -q 12 -Q 198.51.100.1"));
        sim.run();
        let t = sim.trace(1);
        assert_eq!(t.stop_reason, TraceStop::Completed, "{method}");
        let at2: BTreeSet<String> = t
            .hops
            .iter()
            .filter(|h| h.probe_ttl == 2)
            .map(|h| h.addr.to_string())
            .collect();
        assert_eq!(
            t.hops.iter().filter(|h| h.probe_ttl == 2).count(),
            12,
            "{method}"
        );
        assert_eq!(at2.len() == 1, one_path, "{method}: {at2:?}");
    }
}

#[test]
fn all_attempts_records_every_reply() {
    let mut sim = sim_with(DST4, Path::new(routers4(2)));
    sim.start_cmd(1, "trace -q 3 -Q 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Completed);
    assert_eq!(t.hops.len(), 9);
    let ids: Vec<(u8, u8)> = t.hops.iter().map(|h| (h.probe_ttl, h.probe_id)).collect();
    assert_eq!(
        ids,
        vec![
            (1, 0),
            (1, 1),
            (1, 2),
            (2, 0),
            (2, 1),
            (2, 2),
            (3, 0),
            (3, 1),
            (3, 2)
        ]
    );
    assert_eq!(t.probes_sent, 9);
}

#[test]
fn first_hop_and_wait_probe() {
    let mut sim = sim_with(DST4, Path::new(routers4(5)));
    sim.start_cmd(1, "trace -f 3 -W 50 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Completed);
    assert_eq!(t.firsthop, 3);
    assert_eq!(t.hops[0].probe_ttl, 3);
    assert_eq!(t.hops.len(), 4);
    for w in sim.tx_times.windows(2) {
        assert!(
            w[1].saturating_sub(w[0]) >= Duration::from_millis(500),
            "{:?}",
            sim.tx_times
        );
    }
}

#[test]
fn parallel_squeries_same_route_faster() {
    let mut hops = routers4(3);
    hops.push(Hop::Silent);
    hops.extend((5..=8).map(|i| Hop::Router(v4(10, 0, 0, i))));
    let mut seq = sim_with(DST4, Path::new(hops.clone()));
    seq.start_cmd(1, "trace -w 1 198.51.100.1");
    seq.run();
    let mut par = sim_with(DST4, Path::new(hops));
    par.start_cmd(1, "trace -w 1 -N 4 198.51.100.1");
    par.run();
    let (a, b) = (seq.trace(1), par.trace(1));
    assert_eq!(a.stop_reason, TraceStop::Completed);
    assert_eq!(b.stop_reason, TraceStop::Completed);
    // the parallel trace probed past the destination: those TTLs are "extra"
    assert_eq!(b.stop_hop, 9);
    assert_eq!(b.hop_count, 12);
    assert_eq!(b.effective_hop_count(), 9);
    assert_eq!(hop_addrs(a), hop_addrs(b)[..9].to_vec());
    assert_eq!(b.squeries, 4);
    assert!(
        par.elapsed() < seq.elapsed(),
        "{:?} vs {:?}",
        par.elapsed(),
        seq.elapsed()
    );
}

#[test]
fn ipv6_udp_paris_route() {
    let dst = v6(0x99);
    let mut sim = sim_with(dst, Path::new(routers6(3)));
    sim.start_cmd(1, &format!("trace {dst}"));
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Completed);
    assert_eq!(t.probe_size, 60);
    let addrs: Vec<String> = t.hops.iter().map(|h| h.addr.to_string()).collect();
    assert_eq!(
        addrs,
        vec![v6_hop(0), v6_hop(1), v6_hop(2), dst.to_string()]
    );
    assert_eq!((t.hops[3].icmp_type, t.hops[3].icmp_code), (1, 4));
    assert_eq!(t.hops[0].icmp_type, 3);
}

#[test]
fn halted_trace() {
    let mut hops = routers4(3);
    hops.extend(std::iter::repeat_n(Hop::Silent, 5));
    let mut sim = sim_with(DST4, Path::new(hops));
    sim.start_cmd(1, "trace 198.51.100.1");
    sim.run_for(Duration::from_secs(3));
    sim.engine.cancel(vantage_engine::TaskId(1));
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Halted);
    assert_eq!(t.hops.len(), 3);
}

#[test]
fn unsupported_options_are_refused() {
    let mut sim = Sim::new(100);
    for cmd in [
        "trace -M 198.51.100.1",
        "trace -c 95 198.51.100.1",
        "trace -z 192.0.2.1 198.51.100.1",
    ] {
        let c = vantage_command::Command::parse(cmd, &vantage_command::Context::new(1)).unwrap();
        let spec = vantage_engine::MeasurementSpec::try_from(c).unwrap();
        let e = sim
            .engine
            .start(
                vantage_engine::TaskId(9),
                spec,
                SRC4,
                sim.now,
                sim.base_wall,
            )
            .unwrap_err();
        assert!(
            matches!(e, vantage_engine::StartError::Unsupported(_)),
            "{cmd}: {e}"
        );
    }
    sim.run();
    assert!(sim.results.is_empty());
}

#[test]
fn ipv6_replies_without_their_header() {
    let dst = v6(0x99);
    for method in ["udp-paris", "icmp", "tcp"] {
        let mut sim = sim_with(dst, Path::new(routers6(3)));
        sim.icmpv6_bare = true;
        sim.start_cmd(1, &format!("trace -P {method} {dst}"));
        sim.run();
        let t = sim.trace(1);
        assert_eq!(t.stop_reason, TraceStop::Completed, "{method}");
        assert_eq!(t.hops.len(), 4, "{method}");
        // the hop limit comes from recvmsg; the size from the ICMPv6 length
        assert_eq!(t.hops[0].reply_ttl, 250, "{method}");
        assert_eq!(t.hops[0].reply_size, 40 + 8 + 60, "{method}");
    }
}

#[test]
fn hold_time_spaces_attempts_at_one_hop() {
    let hops = vec![Hop::Router(v4(10, 0, 0, 1)), Hop::Silent];
    let mut path = Path::new(hops);
    path.dst_mode = DstMode::Silent;
    let mut sim = sim_with(DST4, path);
    sim.start_cmd(1, "trace -q 3 -w 1 -H 1.5 -g 1 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, TraceStop::Gaplimit);
    // hop 2: attempts at 2 ms, then each 1.5 s after the previous (not 1 s)
    let at2: Vec<Duration> = sim.tx_times[1..].to_vec();
    assert_eq!(
        at2,
        vec![
            Duration::from_millis(2),
            Duration::from_millis(1502),
            Duration::from_millis(3002)
        ]
    );
}

#[test]
fn explicit_ports_collide_only_with_each_other() {
    let mut sim = sim_with(DST4, Path::new(routers4(3)));
    sim.start_cmd(1, "trace -s 40000 198.51.100.1");
    sim.start_cmd(2, "trace -s 40000 198.51.100.1");
    sim.start_cmd(3, "trace 198.51.100.1");
    sim.run();
    for id in 1..=3 {
        assert_eq!(sim.trace(id).stop_reason, TraceStop::Completed, "task {id}");
        assert_eq!(sim.trace(id).hops.len(), 4, "task {id}");
    }
    assert_eq!(sim.trace(1).sport, 40000);
    assert_eq!(sim.trace(2).sport, 40000);
    assert_ne!(sim.trace(3).sport, 40000);
    // task 2 started probing only after task 1 released the flow
    let t1_end = sim.trace(1).hops[3].tx.unwrap();
    let t2_first = sim.trace(2).hops[0].tx.unwrap();
    assert!(t2_first > t1_end);
    let t3_first = sim.trace(3).hops[0].tx.unwrap();
    assert_eq!(t3_first, sim.trace(1).hops[0].tx.unwrap());
}
