//! Namespace integration tests: they build real testbeds, so they need root. Without root
//! each test prints why it skips and passes.
//!
//! Every packet stays inside namespaces these tests create; each test uses its own prefix
//! (so they run in parallel) and the topology handle removes everything on drop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use vantage_testbed::standard::{self, StandardOptions, addr};
use vantage_testbed::{
    CommandOutput, Error, IcmpRateLimit, Topology, is_root, netns, unique_prefix,
};

fn root(test: &str) -> bool {
    if is_root() {
        // Leftovers of earlier runs that were killed before they could clean up.
        vantage_testbed::down_stale("vt").unwrap();
        true
    } else {
        eprintln!("skipping {test}: building network namespaces needs root");
        false
    }
}

fn ping(topo: &Topology, node: &str, dst: IpAddr, extra: &[&str]) -> CommandOutput {
    let mut args = vec!["ping".to_owned(), "-n".into()];
    if dst.is_ipv6() {
        args.push("-6".into());
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.push(dst.to_string());
    let out = topo.exec(node, &args).unwrap();
    assert!(
        !out.stderr.contains("exec of"),
        "cannot run ping (install the Debian package iputils-ping): {}",
        out.stderr
    );
    out
}

/// The address in ping's "From ADDR icmp_seq=..." lines (ICMP errors), in order.
fn error_sources(out: &CommandOutput) -> Vec<IpAddr> {
    out.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("From "))
        .filter_map(|l| l.split_whitespace().next())
        .map(|a| a.trim_end_matches(':').parse().unwrap())
        .collect()
}

/// The round-trip times of ping's echo replies, in ms.
fn rtts_ms(out: &CommandOutput) -> Vec<f64> {
    out.stdout
        .lines()
        .filter(|l| l.contains("bytes from"))
        .filter_map(|l| l.split("time=").nth(1))
        .filter_map(|t| t.split_whitespace().next())
        .map(|t| t.parse().unwrap())
        .collect()
}

#[test]
fn standard_topology_pings_target_over_v4_and_v6() {
    if !root("standard_topology_pings_target_over_v4_and_v6") {
        return;
    }
    let topo = standard::standard_topology(&unique_prefix("vt")).unwrap();
    for dst in [IpAddr::V4(addr::TARGET_V4), IpAddr::V6(addr::TARGET_V6)] {
        let out = ping(&topo, "vp", dst, &["-c", "2", "-i", "0.2", "-W", "2"]);
        assert!(
            out.success(),
            "ping {dst} failed:\n{}{}",
            out.stdout,
            out.stderr
        );
        assert_eq!(rtts_ms(&out).len(), 2, "{}", out.stdout);
    }
    // Address lookup agrees with the documented plan.
    assert_eq!(topo.node("target").unwrap().v4(), Some(addr::TARGET_V4));
    assert_eq!(topo.addr6("r2", "r1-r2").unwrap(), addr::R2_V6);
    assert_eq!(
        topo.link_between("vp", "r1").unwrap().end("r1").unwrap().v4,
        addr::R1_V4
    );
    assert!(matches!(topo.node("nope"), Err(Error::UnknownNode { .. })));
}

#[test]
fn time_exceeded_comes_from_each_hop_in_turn() {
    if !root("time_exceeded_comes_from_each_hop_in_turn") {
        return;
    }
    let topo = standard::standard_topology(&unique_prefix("vt")).unwrap();
    let hops4: Vec<Vec<IpAddr>> = addr::HOPS_V4_TO_TARGET
        .iter()
        .map(|h| h.iter().map(|a| IpAddr::V4(*a)).collect())
        .collect();
    let hops6: Vec<Vec<IpAddr>> = addr::HOPS_V6_TO_TARGET
        .iter()
        .map(|h| h.iter().map(|a| IpAddr::V6(*a)).collect())
        .collect();
    for (dst, hops) in [
        (IpAddr::V4(addr::TARGET_V4), hops4),
        (IpAddr::V6(addr::TARGET_V6), hops6),
    ] {
        for (i, expected) in hops.iter().enumerate() {
            let ttl = (i + 1).to_string();
            let out = ping(&topo, "vp", dst, &["-c", "1", "-W", "2", "-t", &ttl]);
            if i + 1 < hops.len() {
                let from = error_sources(&out);
                assert_eq!(from.len(), 1, "ttl {ttl} to {dst}:\n{}", out.stdout);
                assert!(
                    expected.contains(&from[0]),
                    "ttl {ttl} to {dst}: time exceeded from {}, expected one of {expected:?}",
                    from[0]
                );
            } else {
                assert!(
                    out.success(),
                    "ttl {ttl} should reach {dst}:\n{}",
                    out.stdout
                );
            }
        }
    }
}

/// Sends one UDP datagram from each of `ports` (source ports) to `dst` from `node`.
fn send_udp_from_ports(topo: &Topology, node: &str, dst: SocketAddr, ports: std::ops::Range<u16>) {
    topo.run_in(node, move || {
        let any: IpAddr = if dst.is_ipv4() {
            "0.0.0.0".parse().unwrap()
        } else {
            "::".parse().unwrap()
        };
        for port in ports {
            let sock = UdpSocket::bind(SocketAddr::new(any, port)).unwrap();
            sock.send_to(b"vantage ecmp probe", dst).unwrap();
        }
    })
    .unwrap();
}

#[test]
fn ecmp_spreads_flows_by_udp_source_port() {
    if !root("ecmp_spreads_flows_by_udp_source_port") {
        return;
    }
    let topo = standard::standard_topology(&unique_prefix("vt")).unwrap();
    const FLOWS: u64 = 64;
    for dst in [IpAddr::V4(addr::TARGET_V4), IpAddr::V6(addr::TARGET_V6)] {
        let rx = |node: &str| topo.if_stats(node, "to-r2").unwrap().rx_packets;
        let (a0, b0) = (rx("r3a"), rx("r3b"));
        send_udp_from_ports(&topo, "vp", SocketAddr::new(dst, 33434), 40_000..40_064);
        // Wait until every datagram has crossed the ECMP section (forwarding is
        // asynchronous), then look at how they were spread.
        let deadline = Instant::now() + Duration::from_secs(10);
        let (mut da, mut db);
        loop {
            da = rx("r3a") - a0;
            db = rx("r3b") - b0;
            if da + db >= FLOWS || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            da + db >= FLOWS,
            "{dst}: only {} of {FLOWS} crossed",
            da + db
        );
        // With hashing on L4 ports both paths carry a good share; with hashing on
        // addresses only, one path would carry all 64 (the other only stray ND packets).
        assert!(da >= 8 && db >= 8, "{dst}: r3a got {da}, r3b got {db}");
    }
}

#[test]
fn silent_router_forwards_but_sends_no_time_exceeded() {
    if !root("silent_router_forwards_but_sends_no_time_exceeded") {
        return;
    }
    let topo = standard::standard_topology(&unique_prefix("vt")).unwrap();
    for (dst, r2) in [
        (IpAddr::V4(addr::BEHIND_V4), IpAddr::V4(addr::R2_V4)),
        (IpAddr::V6(addr::BEHIND_V6), IpAddr::V6(addr::R2_V6)),
    ] {
        // Hop 2 (r2) answers, so a missing answer at hop 3 means something.
        let out = ping(&topo, "vp", dst, &["-c", "1", "-W", "2", "-t", "2"]);
        assert_eq!(error_sources(&out), vec![r2], "{}", out.stdout);
        // Hop 3 is the silent router: three probes, no time exceeded, no reply.
        let out = ping(
            &topo,
            "vp",
            dst,
            &["-c", "3", "-i", "0.2", "-W", "1", "-t", "3"],
        );
        assert!(error_sources(&out).is_empty(), "{}", out.stdout);
        assert!(rtts_ms(&out).is_empty(), "{}", out.stdout);
        assert!(!out.success());
        // And it forwards: the host behind it answers with enough TTL.
        let out = ping(&topo, "vp", dst, &["-c", "1", "-W", "2", "-t", "4"]);
        assert!(out.success(), "{}", out.stdout);
    }
}

/// From `node`, sends a UDP datagram to `dst` on a connected socket and reports whether
/// an ICMP port unreachable came back (as ECONNREFUSED) within `wait`.
fn udp_refused(topo: &Topology, node: &str, dst: SocketAddr, wait: Duration) -> bool {
    topo.run_in(node, move || {
        let any: SocketAddr = if dst.is_ipv4() {
            "0.0.0.0:0".parse().unwrap()
        } else {
            "[::]:0".parse().unwrap()
        };
        let sock = UdpSocket::bind(any).unwrap();
        sock.connect(dst).unwrap();
        sock.set_read_timeout(Some(wait)).unwrap();
        sock.send(b"anyone there?").unwrap();
        let mut buf = [0u8; 64];
        match sock.recv(&mut buf) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => true,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
            other => panic!("unexpected answer from {dst}: {other:?}"),
        }
    })
    .unwrap()
}

#[test]
fn blackhole_answers_nothing() {
    if !root("blackhole_answers_nothing") {
        return;
    }
    let topo = standard::standard_topology(&unique_prefix("vt")).unwrap();
    for (hole, target) in [
        (IpAddr::V4(addr::BLACKHOLE_V4), IpAddr::V4(addr::TARGET_V4)),
        (IpAddr::V6(addr::BLACKHOLE_V6), IpAddr::V6(addr::TARGET_V6)),
    ] {
        let out = ping(&topo, "vp", hole, &["-c", "3", "-i", "0.2", "-W", "1"]);
        assert!(!out.success());
        assert!(rtts_ms(&out).is_empty(), "{}", out.stdout);
        // Not even "host unreachable" from r4: the hole answers ARP / ND.
        assert!(error_sources(&out).is_empty(), "{}", out.stdout);
        // A closed UDP port on the target answers with port unreachable; the hole doesn't.
        let wait = Duration::from_secs(1);
        assert!(udp_refused(
            &topo,
            "vp",
            SocketAddr::new(target, 33434),
            Duration::from_secs(5)
        ));
        assert!(!udp_refused(
            &topo,
            "vp",
            SocketAddr::new(hole, 33434),
            wait
        ));
    }
}

#[test]
fn delayed_access_link_adds_its_delay_to_the_rtt() {
    if !root("delayed_access_link_adds_its_delay_to_the_rtt") {
        return;
    }
    let delay = Duration::from_millis(40);
    let topo = standard::standard_topology_with(
        &unique_prefix("vt"),
        &StandardOptions {
            access_delay: Some(delay),
        },
    )
    .unwrap();
    let min_rtt = 2.0 * delay.as_secs_f64() * 1000.0;
    for dst in [IpAddr::V4(addr::TARGET_V4), IpAddr::V6(addr::TARGET_V6)] {
        let out = ping(&topo, "vp", dst, &["-c", "3", "-i", "0.2", "-W", "3"]);
        let rtts = rtts_ms(&out);
        assert_eq!(rtts.len(), 3, "{}", out.stdout);
        for rtt in rtts {
            assert!(rtt >= min_rtt, "{dst}: rtt {rtt} ms < {min_rtt} ms");
        }
    }
    let stats = topo.down().unwrap();
    assert_eq!(stats.len(), 2);
    assert!(stats.iter().all(|s| s.packets >= 6), "{stats:?}");
}

#[test]
fn delay_keeps_packet_order_at_thousands_per_second() {
    if !root("delay_keeps_packet_order_at_thousands_per_second") {
        return;
    }
    const N: u32 = 5000;
    let mut b = Topology::builder(&unique_prefix("vt"));
    b.host("a");
    b.host("b");
    b.link("a", "b").delay(Duration::from_millis(10));
    let topo = b.build().unwrap();
    let dst = SocketAddr::new(topo.node("b").unwrap().v4().unwrap().into(), 5000);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let receiver = topo
        .spawn_thread_in("b", move || {
            let sock = UdpSocket::bind(dst).unwrap();
            nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::RcvBuf, &(8 << 20))
                .unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            ready_tx.send(()).unwrap();
            let mut seqs = Vec::with_capacity(N as usize);
            let mut buf = [0u8; 64];
            while seqs.len() < N as usize {
                match sock.recv(&mut buf) {
                    Ok(4) => seqs.push(u32::from_be_bytes(buf[..4].try_into().unwrap())),
                    Ok(n) => panic!("unexpected {n}-byte datagram"),
                    Err(_) => break, // quiet for 3 s: nothing more is coming
                }
            }
            seqs
        })
        .unwrap();
    ready_rx.recv().unwrap();
    let started = Instant::now();
    topo.run_in("a", move || {
        let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
        // About 5000 packets/s: bursts of 50 every 10 ms.
        for burst in 0..N / 50 {
            for i in 0..50 {
                sock.send_to(&(burst * 50 + i).to_be_bytes(), dst).unwrap();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    })
    .unwrap();
    let sent_in = started.elapsed();
    let seqs = receiver.join().unwrap().unwrap();
    let stats = topo.down().unwrap();
    eprintln!(
        "delay engine: {N} packets sent in {sent_in:?} ({:.0}/s), {} received, engine stats {stats:?}",
        f64::from(N) / sent_in.as_secs_f64(),
        seqs.len()
    );
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "packets were reordered"
    );
    assert_eq!(seqs.len(), N as usize, "packets were lost");
}

#[test]
fn icmp_rate_limit_thins_out_time_exceeded() {
    if !root("icmp_rate_limit_thins_out_time_exceeded") {
        return;
    }
    let mut b = Topology::builder(&unique_prefix("vt"));
    b.host("vp");
    b.router("free");
    b.router("limited")
        .icmp_rate_limit(IcmpRateLimit::per_destination(10_000));
    b.host("dst");
    b.link("vp", "free");
    b.link("free", "limited");
    b.link("limited", "dst");
    let topo = b.build().unwrap();
    let node = topo.node("dst").unwrap();
    for dst in [
        IpAddr::V4(node.v4().unwrap()),
        IpAddr::V6(node.v6().unwrap()),
    ] {
        let probes = ["-c", "20", "-i", "0.01", "-W", "1"];
        // Hop 1 is unlimited: every probe gets its time exceeded.
        let mut args = probes.to_vec();
        args.extend(["-t", "1"]);
        let out = ping(&topo, "vp", dst, &args);
        assert_eq!(error_sources(&out).len(), 20, "{dst}:\n{}", out.stdout);
        // Hop 2 allows a burst of a few, then one per 10 s (IPv6: per 2.5 s, the route
        // back being a /64).
        let mut args = probes.to_vec();
        args.extend(["-t", "2"]);
        let out = ping(&topo, "vp", dst, &args);
        let answered = error_sources(&out).len();
        assert!(
            (1..=7).contains(&answered),
            "{dst}: {answered} answers:\n{}",
            out.stdout
        );
    }
}

#[test]
fn sysctls_are_set_inside_each_namespace() {
    if !root("sysctls_are_set_inside_each_namespace") {
        return;
    }
    let mut b = Topology::builder(&unique_prefix("vt"));
    b.host("h").sysctl("net.ipv4.ip_no_pmtu_disc", "1");
    b.router("r");
    b.link("h", "r");
    let topo = b.build().unwrap();
    let read = |node: &str, key: &str| {
        let out = topo
            .exec(node, &["cat", &format!("/proc/sys/{key}")])
            .unwrap();
        out.stdout.trim().to_owned()
    };
    assert_eq!(read("r", "net/ipv4/ip_forward"), "1");
    assert_eq!(read("r", "net/ipv6/conf/all/forwarding"), "1");
    assert_eq!(read("h", "net/ipv4/ip_forward"), "0");
    assert_eq!(read("h", "net/ipv4/ip_no_pmtu_disc"), "1");
    assert_eq!(read("r", "net/ipv6/fib_multipath_hash_policy"), "1");
    assert_eq!(read("r", "net/ipv4/icmp_ratelimit"), "0");
}

#[test]
fn dropping_the_handle_removes_namespaces_and_processes() {
    if !root("dropping_the_handle_removes_namespaces_and_processes") {
        return;
    }
    let prefix = unique_prefix("vt");
    let mut b = Topology::builder(&prefix);
    b.host("a");
    b.host("b");
    b.link("a", "b").delay(Duration::from_millis(1));
    let topo = b.build().unwrap();
    assert_eq!(netns::with_prefix(&prefix).unwrap().len(), 2);
    let mut sleeper = topo.spawn_quiet("a", &["sleep", "1000"]).unwrap();
    let pid = sleeper.id();
    assert!(sleeper.try_wait().unwrap().is_none());
    drop(topo);
    assert!(netns::with_prefix(&prefix).unwrap().is_empty());
    // The process was killed by the teardown, not by its guard.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sleeper.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "process {pid} survived the teardown"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_panicking_test_still_tears_down() {
    if !root("a_panicking_test_still_tears_down") {
        return;
    }
    let prefix = unique_prefix("vt");
    let p = prefix.clone();
    let result = std::panic::catch_unwind(move || {
        let _topo = standard::standard_topology(&p).unwrap();
        assert!(!netns::with_prefix(&p).unwrap().is_empty());
        panic!("a failing test");
    });
    assert!(result.is_err());
    assert!(netns::with_prefix(&prefix).unwrap().is_empty());
}

#[test]
fn a_failed_build_leaves_nothing_behind() {
    if !root("a_failed_build_leaves_nothing_behind") {
        return;
    }
    let prefix = unique_prefix("vt");
    let mut b = Topology::builder(&prefix);
    b.host("a");
    b.router("r").sysctl("net.ipv4.no_such_setting", "1");
    b.link("a", "r");
    let err = b.build().unwrap_err();
    assert!(err.to_string().contains("no_such_setting"), "{err}");
    assert!(netns::with_prefix(&prefix).unwrap().is_empty());
}

#[test]
fn down_removes_leftovers_of_a_crashed_run() {
    if !root("down_removes_leftovers_of_a_crashed_run") {
        return;
    }
    let prefix = unique_prefix("vt");
    let mut b = Topology::builder(&prefix);
    b.host("a");
    b.router("r");
    b.link("a", "r");
    let topo = b.build().unwrap();
    let sleeper = topo.spawn_quiet("r", &["sleep", "1000"]).unwrap();
    // A crash: the handle never runs its teardown.
    std::mem::forget(topo);
    assert_eq!(netns::with_prefix(&prefix).unwrap().len(), 2);
    // A new testbed with the same prefix refuses to start on top of the leftovers...
    assert!(matches!(b.build(), Err(Error::Leftovers { .. })));
    // ...until they are cleaned up.
    assert_eq!(vantage_testbed::down(&prefix).unwrap(), 2);
    assert!(netns::with_prefix(&prefix).unwrap().is_empty());
    drop(sleeper);
    let topo = b.build().unwrap();
    assert_eq!(topo.nodes().len(), 2);
}
