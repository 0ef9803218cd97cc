//! Property: whatever the method, family, quote length, parallelism and
//! attempts, every reply a traceroute records is attributed to the probe
//! that caused it (the hop address is the router at that probe's TTL), and
//! responsive paths complete.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;

use common::*;
use proptest::prelude::*;
use vantage_model::{PingStop, TraceStop};

const METHODS: [&str; 6] = ["udp-paris", "udp", "icmp", "icmp-paris", "tcp", "tcp-ack"];

fn router(v6: bool, i: u16) -> IpAddr {
    if v6 {
        common::v6(i)
    } else {
        v4(10, 0, (i >> 8) as u8, i as u8)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn replies_land_on_the_probe_that_caused_them(
        method in 0usize..6,
        v6 in any::<bool>(),
        quote in prop_oneof![Just(None), (8usize..40).prop_map(Some)],
        n in 1u16..10,
        silent in any::<u16>(),
        squeries in 1u8..4,
        attempts in 1u8..4,
        all in any::<bool>(),
        dups in 0usize..2,
    ) {
        let dst = if v6 { common::v6(0x99) } else { v4(198, 51, 100, 1) };
        let hops: Vec<Hop> = (1..=n)
            .map(|i| if silent & (1 << i) != 0 { Hop::Silent } else { Hop::Router(router(v6, i)) })
            .collect();
        let mut path = Path::new(hops.clone());
        path.quote = quote.map_or(QuoteLen::Full, QuoteLen::Transport);
        path.dups = dups;
        let mut sim = Sim::new(100_000);
        sim.net.add_path(dst, path);
        let q = if all { " -Q" } else { "" };
        // the command language allows parallel probing only for UDP and ICMP
        let squeries = if METHODS[method].starts_with("tcp") { 1 } else { squeries };
        let cmd = format!(
            "trace -P {} -w 1 -g 20 -N {squeries} -q {attempts}{q} {dst}",
            METHODS[method]
        );
        sim.start_cmd(1, &cmd);
        sim.run();
        let t = sim.trace(1);
        prop_assert_eq!(t.stop_reason, TraceStop::Completed, "{}", cmd);
        // (duplicates of the final reply, and replies to probes in flight in
        // parallel beyond the destination, arrive after the trace ended)
        if dups == 0 && squeries == 1 {
            prop_assert!(sim.handled.iter().all(|h| *h == vantage_engine::Handled::Matched));
        }
        for h in &t.hops {
            let ttl = usize::from(h.probe_ttl);
            let want = if ttl <= hops.len() {
                match &hops[ttl - 1] {
                    Hop::Router(a) => a.to_string(),
                    _ => panic!("reply from a silent hop at TTL {ttl}"),
                }
            } else {
                dst.to_string()
            };
            prop_assert_eq!(h.addr.to_string(), want, "{}", cmd);
            prop_assert!(h.probe_id < attempts);
        }
        let answered_ttls = (1..=n).filter(|i| silent & (1 << i) == 0).count() + 1;
        // parallel probing may go past the destination: those are "extra" hops
        let stop = t.effective_hop_count();
        prop_assert_eq!(stop, n + 1, "{}", cmd);
        let main: Vec<_> = t.hops.iter().filter(|h| u16::from(h.probe_ttl) <= stop).collect();
        let ttls: std::collections::BTreeSet<u8> = main.iter().map(|h| h.probe_ttl).collect();
        prop_assert_eq!(ttls.len(), answered_ttls, "{}", cmd);
        if all && dups == 0 {
            prop_assert_eq!(main.len(), answered_ttls * usize::from(attempts), "{}", cmd);
        }
    }

    #[test]
    fn ping_replies_land_on_their_probe(
        method in 0usize..11,
        v6 in any::<bool>(),
        count in 1u16..6,
        dups in 0usize..2,
    ) {
        let methods = [
            "icmp-echo", "icmp-time", "udp", "udp-dport", "udp-sport", "tcp-syn", "tcp-syn-sport",
            "tcp-ack", "tcp-ack-sport", "tcp-synack", "tcp-rst",
        ];
        let m = methods[method];
        prop_assume!(!(v6 && m == "icmp-time"));
        let dst = if v6 { common::v6(0x99) } else { v4(198, 51, 100, 1) };
        let mut path = Path::new((1..=3).map(|i| Hop::Router(router(v6, i))).collect());
        path.dups = dups;
        let mut sim = Sim::new(10_000);
        sim.net.add_path(dst, path);
        sim.start_cmd(1, &format!("ping -P {m} -c {count} -i 0.05 {dst}"));
        sim.run();
        let p = sim.ping(1);
        prop_assert_eq!(p.stop_reason, PingStop::Done);
        let want = if m == "tcp-rst" { 0 } else { usize::from(count) * (1 + dups) };
        prop_assert_eq!(p.replies.len(), want, "{}", m);
        for (i, r) in p.replies.iter().enumerate() {
            prop_assert_eq!(usize::from(r.probe_id), i / (1 + dups));
            prop_assert!(r.rtt < std::time::Duration::from_millis(10));
        }
    }
}
