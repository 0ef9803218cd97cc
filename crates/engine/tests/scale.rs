//! Many concurrent tasks: to one destination, sharing the pacer, with
//! explicit identifiers that collide.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use common::*;
use vantage_engine::{Handled, TaskId};
use vantage_model::{PingStop, TraceStop};

const DST4: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));

#[test]
fn ten_thousand_pings_to_one_destination() {
    let mut sim = Sim::new(10_000);
    let mut path = Path::new(routers4(4));
    path.per_hop = Duration::from_millis(2);
    sim.net.add_path(DST4, path);
    for id in 0..10_000 {
        sim.start_cmd(id, "ping -c 1 198.51.100.1");
    }
    sim.run();
    assert_eq!(sim.results.len(), 10_000);
    let mut ids = HashSet::new();
    for id in 0..10_000 {
        let p = sim.ping(id);
        assert_eq!(p.stop_reason, PingStop::Done, "task {id}");
        assert_eq!(p.replies.len(), 1, "task {id}");
        assert_eq!(p.replies[0].rtt, Duration::from_millis(20), "task {id}");
        assert!(ids.insert(p.sport), "ICMP id {} used twice", p.sport);
    }
    assert!(sim.handled.iter().all(|h| *h == Handled::Matched));
    assert_eq!(sim.engine.stats().matched, 10_000);
    // 10,000 probes at 10,000 pps (bursts of 100): about one second
    let last_tx = *sim.tx_times.last().unwrap();
    assert!(last_tx <= Duration::from_secs(1), "{last_tx:?}");
    assert!(last_tx >= Duration::from_millis(980), "{last_tx:?}");
    assert!(sim.engine.is_idle());
    assert_eq!(sim.engine.stats().flows, 0);
}

#[test]
fn many_concurrent_traces_to_one_destination_every_method() {
    let mut sim = Sim::new(100_000);
    sim.net.add_path(DST4, Path::new(routers4(6)));
    let methods = ["udp-paris", "udp", "icmp", "icmp-paris", "tcp", "tcp-ack"];
    for id in 0..600u64 {
        let m = methods[(id % 6) as usize];
        sim.start_cmd(id, &format!("trace -P {m} 198.51.100.1"));
    }
    sim.run();
    let want: Vec<Option<String>> = (1..=6)
        .map(|i| Some(format!("10.0.0.{i}")))
        .chain([Some("198.51.100.1".to_owned())])
        .collect();
    for id in 0..600 {
        let t = sim.trace(id);
        assert_eq!(t.stop_reason, TraceStop::Completed, "task {id}");
        assert_eq!(hop_addrs(t), want, "task {id}");
        assert_eq!(t.hops.len(), 7, "task {id}");
        assert_eq!(t.probes_sent, 7, "task {id}");
    }
    assert!(sim.handled.iter().all(|h| *h == Handled::Matched));
}

#[test]
fn colliding_explicit_ids_delay_only_the_collider() {
    let mut sim = Sim::new(1000);
    sim.net.add_path(DST4, Path::new(routers4(2)));
    sim.start_cmd(1, "ping -c 3 -i 0.1 -F 777 198.51.100.1");
    sim.start_cmd(2, "ping -c 3 -i 0.1 -F 777 198.51.100.1");
    sim.start_cmd(3, "ping -c 3 -i 0.1 -F 778 198.51.100.1");
    sim.start_cmd(4, "ping -c 3 -i 0.1 198.51.100.1");
    sim.run();
    for id in 1..=4 {
        let p = sim.ping(id);
        assert_eq!(p.replies.len(), 3, "task {id}");
        assert_eq!(p.stop_reason, PingStop::Done);
    }
    let start = |id: u64| sim.ping(id).start.as_micros() - sim.ping(1).start.as_micros();
    // task 2 waited for task 1 (which finished at 206 ms); 3 and 4 did not wait
    let first_tx =
        |id: u64| sim.ping(id).replies[0].tx.unwrap().as_micros() - sim.ping(1).start.as_micros();
    assert_eq!(start(2), 0);
    assert!(first_tx(2) >= 206_000, "{}", first_tx(2));
    assert!(first_tx(3) < 5_000, "{}", first_tx(3));
    assert!(first_tx(4) < 5_000, "{}", first_tx(4));
    assert_eq!(sim.finish_order.last(), Some(&TaskId(2)));
}

#[test]
fn pacer_limits_packets_per_simulated_second() {
    for rate in [100u32, 1000] {
        let mut sim = Sim::new(rate);
        let mut path = Path::new(routers4(1));
        path.dst_mode = DstMode::Silent;
        sim.net.add_path(DST4, path);
        let n = u64::from(rate) * 3;
        for id in 0..n {
            sim.start_cmd(id, "ping -c 1 -W 1 198.51.100.1");
        }
        sim.run();
        assert_eq!(sim.results.len() as u64, n);
        let burst = (rate / 100).max(1);
        let mut per_sec = [0u32; 4];
        for t in &sim.tx_times {
            per_sec[t.as_secs() as usize] += 1;
        }
        for (s, &c) in per_sec.iter().enumerate().take(3) {
            assert!(c <= rate + burst, "rate {rate}: second {s} had {c}");
            assert!(c + burst >= rate, "rate {rate}: second {s} had {c}");
        }
        assert!(per_sec[3] <= burst, "rate {rate}: {per_sec:?}");
    }
}

#[test]
fn rate_can_change_while_running() {
    let mut sim = Sim::new(100);
    let mut path = Path::new(routers4(1));
    path.dst_mode = DstMode::Silent;
    sim.net.add_path(DST4, path);
    for id in 0..1100 {
        sim.start_cmd(id, "ping -c 1 -W 1 198.51.100.1");
    }
    sim.run_for(Duration::from_secs(1));
    sim.engine.set_rate(1000, 0).unwrap();
    sim.run();
    assert_eq!(sim.results.len(), 1100);
    let first = sim.tx_times.iter().filter(|t| t.as_secs() == 0).count();
    let second = sim.tx_times.iter().filter(|t| t.as_secs() == 1).count();
    assert!((99..=101).contains(&first), "{first}");
    assert!(second >= 990, "{second}");
}

#[test]
fn two_hundred_thousand_pps() {
    let mut sim = Sim::new(200_000);
    let mut path = Path::new(routers4(2));
    path.dst_mode = DstMode::Silent;
    sim.net.add_path(DST4, path);
    sim.keep_results = false;
    for id in 0..20_000 {
        sim.start_cmd(id, "ping -c 1 -W 1 198.51.100.1");
    }
    sim.run();
    assert_eq!(sim.finished, 20_000);
    let last_tx = *sim.tx_times.last().unwrap();
    // 20,000 probes at 200,000 pps (bursts of 2,000): 90 to 100 ms
    assert!(last_tx <= Duration::from_millis(100), "{last_tx:?}");
    assert!(last_tx >= Duration::from_millis(89), "{last_tx:?}");
    let first_10ms = sim
        .tx_times
        .iter()
        .filter(|t| **t < Duration::from_millis(10))
        .count();
    assert!(first_10ms <= 2_000 + 2_000, "{first_10ms}");
}
