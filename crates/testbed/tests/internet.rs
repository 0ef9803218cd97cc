//! Integration tests of the emulated Internet: they build real testbeds, so they need
//! root. Without root each test prints why it skips and passes.
//!
//! Every packet stays inside namespaces these tests create; each test uses its own prefix
//! and removes what it made, also when it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use vantage_testbed::internet::{self, InternetOptions, addr};
use vantage_testbed::{CommandOutput, Topology, is_root, unique_prefix};

fn root(test: &str) -> bool {
    if is_root() {
        vantage_testbed::down_stale("vi").unwrap();
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
    topo.exec(node, &args).unwrap()
}

fn rtts_ms(out: &CommandOutput) -> Vec<f64> {
    out.stdout
        .lines()
        .filter(|l| l.contains("bytes from"))
        .filter_map(|l| l.split("time=").nth(1))
        .filter_map(|t| t.split_whitespace().next())
        .map(|t| t.parse().unwrap())
        .collect()
}

/// The in-process topology: every VP reaches the target over IPv4 and IPv6 with an RTT no
/// smaller than its access RTT plus the long-haul link.
#[test]
fn every_vp_reaches_the_target_no_faster_than_its_access_delay() {
    if !root("every_vp_reaches_the_target_no_faster_than_its_access_delay") {
        return;
    }
    let options = InternetOptions::default();
    let topo = internet::internet_topology(&unique_prefix("vi"), &options).unwrap();
    for vp in &options.vps {
        let floor = (vp.access_rtt + options.core_rtt).as_secs_f64() * 1000.0;
        for dst in [IpAddr::V4(addr::TARGET_V4), IpAddr::V6(addr::TARGET_V6)] {
            let out = ping(&topo, &vp.node, dst, &["-c", "2", "-i", "0.2", "-W", "3"]);
            let rtts = rtts_ms(&out);
            assert_eq!(rtts.len(), 2, "{} -> {dst}:\n{}", vp.node, out.stdout);
            for rtt in rtts {
                assert!(
                    rtt >= floor,
                    "{} -> {dst}: rtt {rtt} ms < {floor} ms",
                    vp.node
                );
            }
        }
    }
}

/// The near nameserver is nearer than the far one, in hops and in time.
#[test]
fn ns1_is_nearer_than_ns2() {
    if !root("ns1_is_nearer_than_ns2") {
        return;
    }
    let topo =
        internet::internet_topology(&unique_prefix("vi"), &InternetOptions::default()).unwrap();
    for (ns1, ns2) in [
        (IpAddr::V4(addr::NS1_V4), IpAddr::V4(addr::NS2_V4)),
        (IpAddr::V6(addr::NS1_V6), IpAddr::V6(addr::NS2_V6)),
    ] {
        // Three hops reach ns1; ns2 needs nine.
        assert!(ping(&topo, "vp_us", ns1, &["-c", "1", "-W", "2", "-t", "3"]).success());
        assert!(!ping(&topo, "vp_us", ns2, &["-c", "1", "-W", "2", "-t", "8"]).success());
        let out = ping(&topo, "vp_us", ns2, &["-c", "1", "-W", "2", "-t", "9"]);
        assert!(out.success(), "{}", out.stdout);
        assert!(rtts_ms(&out)[0] >= 20.0, "{}", out.stdout);
    }
}

/// The unresponsive host answers nothing; the UDP echo is not part of the in-process
/// topology (services come with `up`), so its host answers with port unreachable.
#[test]
fn dark_host_is_silent() {
    if !root("dark_host_is_silent") {
        return;
    }
    let topo =
        internet::internet_topology(&unique_prefix("vi"), &InternetOptions::default()).unwrap();
    for dst in [IpAddr::V4(addr::DARK_V4), IpAddr::V6(addr::DARK_V6)] {
        let out = ping(&topo, "vp_us", dst, &["-c", "2", "-i", "0.2", "-W", "1"]);
        assert!(!out.success());
        assert!(rtts_ms(&out).is_empty());
    }
    let refused = topo
        .run_in("vp_us", || {
            let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
            sock.connect(SocketAddr::new(IpAddr::V4(addr::UDP_V4), 7))
                .unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            sock.send(b"x").unwrap();
            let mut buf = [0u8; 8];
            sock.recv(&mut buf).map_err(|e| e.kind())
        })
        .unwrap();
    assert_eq!(refused, Err(std::io::ErrorKind::ConnectionRefused));
}
