//! MDA traceroute (tracelb) against simulated load-balanced topologies:
//! exact node and link sets, the stopping rule's probe counts, gaps, the
//! probe budget, and reply matching with other tasks in flight.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use common::{Hop, Path, Sim, v4, v6};
use vantage_model::Tracelb;

const DST4: [u8; 4] = [198, 51, 100, 7];

fn dst4() -> IpAddr {
    v4(DST4[0], DST4[1], DST4[2], DST4[3])
}

fn r(i: u8) -> IpAddr {
    v4(10, 0, 0, i)
}

/// Node addresses, as strings ("*" for none).
fn nodes(t: &Tracelb) -> BTreeSet<String> {
    t.nodes
        .iter()
        .map(|n| n.addr.map_or("*".to_owned(), |a| a.to_string()))
        .collect()
}

fn node_name(t: &Tracelb, i: Option<u16>) -> String {
    i.map_or("*".to_owned(), |i| {
        t.nodes[usize::from(i)]
            .addr
            .map_or("*".to_owned(), |a| a.to_string())
    })
}

/// Links as (from, to, hops spanned).
fn links(t: &Tracelb) -> BTreeSet<(String, String, usize)> {
    t.links
        .iter()
        .map(|l| {
            (
                node_name(t, Some(l.from)),
                node_name(t, l.to),
                l.probesets.len(),
            )
        })
        .collect()
}

fn set(items: &[(IpAddr, IpAddr)]) -> BTreeSet<(String, String, usize)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string(), 1))
        .collect()
}

fn addrs(a: &[IpAddr]) -> BTreeSet<String> {
    a.iter().map(ToString::to_string).collect()
}

/// The stopping points for 95 % confidence (Veitch et al. 2009).
const N95: [usize; 17] = [
    0, 6, 11, 16, 21, 27, 33, 38, 44, 51, 57, 63, 70, 76, 83, 90, 96,
];

/// For every node with successors: the distinct flows that reached the
/// next hop through it must be exactly n_k, k = its number of successors.
fn assert_stopping_rule(t: &Tracelb) {
    let mut by_node: BTreeMap<u16, (BTreeSet<u16>, usize)> = BTreeMap::new();
    for l in &t.links {
        let e = by_node.entry(l.from).or_default();
        e.1 += 1;
        for p in &l.probesets[0] {
            e.0.insert(p.flowid);
        }
    }
    for (n, (flows, k)) in by_node {
        assert_eq!(
            flows.len(),
            N95[k],
            "node {} with {k} successors: flows through it probed at the next hop",
            node_name(t, Some(n))
        );
    }
}

fn run_one(path: Path, dst: IpAddr, cmd: &str) -> Tracelb {
    let mut sim = Sim::new(1000);
    sim.net.add_path(dst, path);
    sim.start_cmd(1, &format!("{cmd} {dst}"));
    sim.run();
    sim.tracelb(1).clone()
}

#[test]
fn a_simple_line() {
    let t = run_one(
        Path::new(vec![
            Hop::Router(r(1)),
            Hop::Router(r(2)),
            Hop::Router(r(3)),
        ]),
        dst4(),
        "tracelb",
    );
    assert_eq!(nodes(&t), addrs(&[r(1), r(2), r(3), dst4()]));
    assert_eq!(
        links(&t),
        set(&[(r(1), r(2)), (r(2), r(3)), (r(3), dst4())])
    );
    // one next hop everywhere: n_1 = 6 probes at each of TTL 1..=4
    assert_eq!(t.probes_sent, 24);
    let mut per_ttl: BTreeMap<u8, usize> = BTreeMap::new();
    for l in &t.links {
        for p in &l.probesets[0] {
            *per_ttl.entry(p.ttl).or_default() += 1;
        }
    }
    assert_eq!(per_ttl, BTreeMap::from([(2, 6), (3, 6), (4, 6)]));
    assert_stopping_rule(&t);
    // flow ids are the destination ports, as scamper records them
    let ids: BTreeSet<u16> = t
        .links
        .iter()
        .flat_map(|l| l.probesets[0].iter().map(|p| p.flowid))
        .collect();
    assert_eq!(ids, (33435..33441).collect());
    // every probe got its reply, with the ICMP details recorded
    let rep = &t.links[0].probesets[0][0].replies[0];
    assert_eq!(rep.icmp_type, 11);
    assert_eq!(rep.icmp_q_ttl, 1);
    assert!(rep.ttl > 0);
    assert_eq!(t.dst.to_string(), dst4().to_string());
    assert_eq!(t.confidence, 95);
}

fn diamond(n: u8) -> Vec<Hop> {
    vec![
        Hop::Router(r(1)),
        Hop::Ecmp((0..n).map(|i| v4(10, 1, 0, i + 1)).collect()),
        Hop::Router(r(3)),
    ]
}

fn diamond_links(n: u8, dst: IpAddr) -> BTreeSet<(String, String, usize)> {
    let mut l = Vec::new();
    for i in 0..n {
        l.push((r(1), v4(10, 1, 0, i + 1)));
        l.push((v4(10, 1, 0, i + 1), r(3)));
    }
    l.push((r(3), dst));
    set(&l)
}

#[test]
fn a_two_way_diamond() {
    let t = run_one(Path::new(diamond(2)), dst4(), "tracelb");
    let mut want = vec![r(1), r(3), dst4()];
    want.extend((1..=2).map(|i| v4(10, 1, 0, i)));
    assert_eq!(nodes(&t), addrs(&want));
    assert_eq!(links(&t), diamond_links(2, dst4()));
    assert_stopping_rule(&t);
}

#[test]
fn a_four_way_diamond_udp_icmp_and_sport_methods() {
    for m in [
        "udp-dport",
        "icmp-echo",
        "udp-sport",
        "tcp-sport",
        "tcp-ack-sport",
    ] {
        let t = run_one(Path::new(diamond(4)), dst4(), &format!("tracelb -P {m}"));
        let mut want = vec![r(1), r(3), dst4()];
        want.extend((1..=4).map(|i| v4(10, 1, 0, i)));
        assert_eq!(nodes(&t), addrs(&want), "{m}");
        assert_eq!(links(&t), diamond_links(4, dst4()), "{m}");
        assert_stopping_rule(&t);
    }
}

#[test]
fn a_sixteen_way_diamond() {
    let t = run_one(Path::new(diamond(16)), dst4(), "tracelb");
    assert_eq!(links(&t), diamond_links(16, dst4()));
    assert_eq!(t.nodes.len(), 19);
    assert_stopping_rule(&t);
}

#[test]
fn ninety_nine_percent_confidence_probes_more() {
    let t = run_one(Path::new(diamond(2)), dst4(), "tracelb -c 99");
    assert_eq!(links(&t), diamond_links(2, dst4()));
    assert_eq!(t.confidence, 99);
    // r1 has 2 successors: n_2 = 15 flows through it reached hop 2 (99 %)
    let flows: BTreeSet<u16> = t
        .links
        .iter()
        .filter(|l| l.from == 0)
        .flat_map(|l| l.probesets[0].iter().map(|p| p.flowid))
        .collect();
    assert_eq!(flows.len(), 15);
}

#[test]
fn a_four_way_diamond_over_ipv6() {
    let dst = v6(99);
    let hops = vec![
        Hop::Router(v6(1)),
        Hop::Ecmp((0..4).map(|i| v6(0x100 + i)).collect()),
        Hop::Router(v6(3)),
    ];
    let t = run_one(Path::new(hops), dst, "tracelb");
    let mut want = vec![v6(1), v6(3), dst];
    want.extend((0..4).map(|i| v6(0x100 + i)));
    assert_eq!(nodes(&t), addrs(&want));
    let mut l = vec![(v6(3), dst)];
    for i in 0..4 {
        l.push((v6(1), v6(0x100 + i)));
        l.push((v6(0x100 + i), v6(3)));
    }
    assert_eq!(links(&t), set(&l));
    assert_stopping_rule(&t);
}

#[test]
fn two_diamonds_in_series() {
    let hops = vec![
        Hop::Router(r(1)),
        Hop::Ecmp(vec![v4(10, 1, 0, 1), v4(10, 1, 0, 2)]),
        Hop::Router(r(3)),
        Hop::Ecmp((1..=4).map(|i| v4(10, 2, 0, i)).collect()),
        Hop::Router(r(5)),
    ];
    let t = run_one(Path::new(hops), dst4(), "tracelb");
    let mut l = vec![(r(5), dst4())];
    for i in 1..=2 {
        l.push((r(1), v4(10, 1, 0, i)));
        l.push((v4(10, 1, 0, i), r(3)));
    }
    for i in 1..=4 {
        l.push((r(3), v4(10, 2, 0, i)));
        l.push((v4(10, 2, 0, i), r(5)));
    }
    assert_eq!(links(&t), set(&l));
    assert_eq!(t.nodes.len(), 10);
    assert_stopping_rule(&t);
}

#[test]
fn an_unequal_diamond_merges_where_the_branches_meet() {
    let (a, b1, b2, c) = (
        v4(10, 1, 0, 1),
        v4(10, 1, 1, 1),
        v4(10, 1, 1, 2),
        v4(10, 3, 0, 1),
    );
    let hops = vec![
        Hop::Router(r(1)),
        Hop::Split(vec![vec![a], vec![b1, b2]]),
        Hop::Router(c),
    ];
    let t = run_one(Path::new(hops), dst4(), "tracelb");
    assert_eq!(nodes(&t), addrs(&[r(1), a, b1, b2, c, dst4()]));
    assert_eq!(
        links(&t),
        set(&[
            (r(1), a),
            (r(1), b1),
            (b1, b2),
            (a, c),
            (b2, c),
            (c, dst4())
        ])
    );
    assert_stopping_rule(&t);
}

#[test]
fn silent_hops_inside_the_gap_limit_make_a_longer_link() {
    let hops = vec![Hop::Router(r(1)), Hop::Silent, Hop::Router(r(3))];
    let t = run_one(Path::new(hops), dst4(), "tracelb -w 1");
    assert_eq!(nodes(&t), addrs(&[r(1), r(3), dst4()]));
    let want: BTreeSet<_> = [
        (r(1).to_string(), r(3).to_string(), 2),
        (r(3).to_string(), dst4().to_string(), 1),
    ]
    .into();
    assert_eq!(links(&t), want);
    // the silent hop got every attempt (-q 2) for each of its 6 flows
    let l = &t.links[0];
    assert_eq!(l.probesets[0].len(), 12);
    assert!(l.probesets[0].iter().all(|p| p.replies.is_empty()));
}

#[test]
fn the_gap_limit_ends_a_branch() {
    let hops = vec![
        Hop::Router(r(1)),
        Hop::Silent,
        Hop::Silent,
        Hop::Silent,
        Hop::Router(r(5)),
    ];
    let t = run_one(Path::new(hops), dst4(), "tracelb -w 1 -g 2 -q 1");
    assert_eq!(nodes(&t), addrs(&[r(1)]));
    let want: BTreeSet<_> = [(r(1).to_string(), "*".to_owned(), 2)].into();
    assert_eq!(links(&t), want);
    // 6 probes at TTL 1, 2 and 3, none further
    assert_eq!(t.probes_sent, 18);
}

#[test]
fn the_probe_budget_stops_with_what_is_known() {
    let t = run_one(Path::new(diamond(4)), dst4(), "tracelb -Q 50");
    assert_eq!(t.probes_sent, 50);
    assert_eq!(t.max_probes, 50);
    assert!(nodes(&t).contains(&r(1).to_string()));
    assert!(!nodes(&t).contains(&dst4().to_string()));
}

#[test]
fn replies_match_with_other_tasks_in_flight() {
    let alone = run_one(Path::new(diamond(4)), dst4(), "tracelb");
    let mut sim = Sim::new(1000);
    sim.net.add_path(dst4(), Path::new(diamond(4)));
    let d = dst4();
    sim.start_cmd(1, &format!("tracelb {d}"));
    sim.start_cmd(2, &format!("ping -c 20 -i 0.1 {d}"));
    sim.start_cmd(3, &format!("trace -P udp {d}"));
    sim.start_cmd(4, &format!("tracelb -P icmp-echo {d}"));
    sim.start_cmd(5, &format!("tracelb {d}"));
    sim.start_cmd(6, &format!("trace -P icmp-paris {d}"));
    sim.run();
    for id in [1, 4, 5] {
        let t = sim.tracelb(id);
        assert_eq!(nodes(t), nodes(&alone), "task {id}");
        assert_eq!(links(t), links(&alone), "task {id}");
        assert_stopping_rule(t);
    }
    assert_eq!(sim.ping(2).replies.len(), 20);
    assert!(sim.trace(3).hops.len() >= 4);
    assert!(sim.trace(6).hops.len() >= 4);
    // every packet received answered one of the probes
    assert!(
        sim.handled
            .iter()
            .all(|h| *h == vantage_engine::Handled::Matched),
        "{:?}",
        sim.handled
            .iter()
            .filter(|h| **h != vantage_engine::Handled::Matched)
            .count()
    );
}

#[test]
fn router_address_and_ptr_are_refused_by_name() {
    let ctx = vantage_command::Context::new(1);
    for (cmd, what) in [
        ("tracelb -r 192.0.2.1 198.51.100.7", "-r"),
        ("tracelb -O ptr 198.51.100.7", "ptr"),
    ] {
        let c = vantage_command::Command::parse(cmd, &ctx).unwrap();
        let spec = vantage_engine::MeasurementSpec::try_from(c).unwrap();
        let mut e = vantage_engine::Engine::new(vantage_engine::EngineConfig::default()).unwrap();
        let now = std::time::Instant::now();
        let err = e
            .start(
                vantage_engine::TaskId(1),
                spec,
                common::SRC4,
                now,
                std::time::SystemTime::now(),
            )
            .unwrap_err();
        assert!(err.to_string().contains(what), "{err}");
    }
}
