//! Warts files written by Debian's `scamper` package (20211212) are read
//! correctly.
//!
//! The test builds the testbed's standard topology, runs Debian's
//! `/usr/bin/scamper` inside the `vp` node with ping (ICMP echo and UDP),
//! trace (UDP-paris and ICMP-paris; classic UDP over IPv6), tracelb (through the r3a/r3b ECMP
//! section) and dealias (ally and mercator on r2's two addresses), over IPv4
//! and IPv6, then:
//!
//! - reads the file with [`Reader`] and checks concrete facts against the
//!   topology's documented addresses (destinations, probes sent, replies from
//!   the target, hop addresses hop by hop, ECMP branches, dealias settings);
//! - writes every record back with [`Writer`], reads that again and checks
//!   the records are equal;
//! - runs Debian's `sc_warts2json` on scamper's file and on ours and checks
//!   the JSON objects are equal.
//!
//! `VANTAGE_DUMP=1` prints scamper's file as `sc_warts2json` sees it;
//! `VANTAGE_KEEP=DIR` copies scamper's file and our rewrite into DIR.
//!
//! It skips (passes with a message) when scamper is not installed or the test
//! does not run as root (namespaces need CAP_NET_ADMIN).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufReader;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use vantage_model::{
    Addr, Dealias, DealiasMethod, Ping, PingMethod, Record, Trace, TraceMethod, TraceStop, Tracelb,
};
use vantage_testbed::standard::addr;
use vantage_testbed::{is_root, standard_topology, unique_prefix};
use vantage_warts::{Reader, Writer};

const SCAMPER: &str = "/usr/bin/scamper";
const WARTS2JSON: &str = "/usr/bin/sc_warts2json";

/// r2's address on the r2-r3a link (the `.1` end), the second address of the
/// router whose r1-facing address is [`addr::R2_V4`].
const R2_ON_R3A_LINK_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 1);

fn v4(a: Ipv4Addr) -> Addr {
    Addr::V4(a)
}

fn v6(a: Ipv6Addr) -> Addr {
    Addr::V6(a)
}

/// The scamper commands run, one `-I` each.
fn commands() -> Vec<String> {
    let t4 = addr::TARGET_V4;
    let t6 = addr::TARGET_V6;
    vec![
        format!("ping -P icmp-echo -c 3 {t4}"),
        format!("ping -P udp -c 3 {t4}"),
        format!("ping -P icmp-echo -c 3 {t6}"),
        format!("ping -P udp -c 3 {t6}"),
        format!("trace -P udp-paris {t4}"),
        format!("trace -P icmp-paris {t4}"),
        // Debian's 20211212 gets no reply matched for IPv6 UDP-paris probes
        // here (its own sc_warts2json shows no hops, stop reason gaplimit),
        // so IPv6 uses classic UDP.
        format!("trace -P udp {t6}"),
        format!("trace -P icmp-paris {t6}"),
        // Confidence 99: more flows per hop, so both ECMP branches are found
        // unless the kernel hashes every flow tried onto one of them.
        format!("tracelb -c 99 {t4}"),
        format!(
            "dealias -m ally -W 100 -p '-P icmp-echo' {} {R2_ON_R3A_LINK_V4}",
            addr::R2_V4
        ),
        format!("dealias -m mercator {}", addr::R2_V4),
    ]
}

fn read_all(path: &Path) -> Vec<Record> {
    let mut reader = Reader::new(BufReader::new(File::open(path).unwrap()));
    let mut out = Vec::new();
    while let Some(r) = reader
        .next_record()
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    {
        out.push(r);
    }
    out
}

fn warts2json(path: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(WARTS2JSON).arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "sc_warts2json {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("JSON line {l:?}: {e}")))
        .collect()
}

fn check_ping(p: &Ping) {
    let what = format!("ping {} to {}", p.method, p.dst);
    assert_eq!(p.probes_sent, 3, "{what}: probes sent");
    assert_eq!(p.attempts, 3, "{what}: attempts");
    assert!(!p.replies.is_empty(), "{what}: no replies");
    for r in &p.replies {
        assert_eq!(r.from, p.dst, "{what}: reply source");
        assert!(r.rtt > Duration::ZERO, "{what}: rtt");
        assert!(r.probe_id < 3, "{what}: probe id {}", r.probe_id);
        if p.method == PingMethod::IcmpEcho {
            assert!(r.is_icmp_echo_reply(), "{what}: {r:?}");
        } else {
            assert!(r.is_icmp_unreach_port(), "{what}: {r:?}");
        }
    }
    // Linux gives IPv4 replies an IP-ID; scamper 20211212 records it.
    if p.dst.is_ipv4() {
        assert!(
            p.replies.iter().any(|r| r.reply_ipid != 0),
            "{what}: reply IP-IDs all zero"
        );
    }
    let ids: BTreeSet<u16> = p.replies.iter().map(|r| r.probe_id).collect();
    assert_eq!(ids.len(), p.replies.len(), "{what}: one reply per probe");
}

/// The allowed addresses at each TTL from vp to target, by family.
fn expected_hops(dst: Addr) -> Vec<Vec<Addr>> {
    if dst.is_ipv4() {
        addr::HOPS_V4_TO_TARGET
            .iter()
            .map(|h| h.iter().copied().map(v4).collect())
            .collect()
    } else {
        addr::HOPS_V6_TO_TARGET
            .iter()
            .map(|h| h.iter().copied().map(v6).collect())
            .collect()
    }
}

fn check_trace(t: &Trace) {
    let what = format!("trace {} to {}", t.method, t.dst);
    assert_eq!(t.stop_reason, TraceStop::Completed, "{what}: stop reason");
    let expected = expected_hops(t.dst);
    assert_eq!(
        usize::from(t.hop_count),
        expected.len(),
        "{what}: hop count"
    );
    assert!(!t.hops.is_empty(), "{what}: no hops");
    let mut seen = vec![None; expected.len()];
    for h in &t.hops {
        let ttl = usize::from(h.probe_ttl);
        assert!(
            (1..=expected.len()).contains(&ttl),
            "{what}: reply for TTL {ttl}"
        );
        let allowed = &expected[ttl - 1];
        assert!(
            allowed.contains(&h.addr),
            "{what}: hop {ttl} is {}, expected one of {allowed:?}",
            h.addr
        );
        assert!(h.rtt > Duration::ZERO, "{what}: hop {ttl} rtt");
        if ttl < expected.len() {
            assert!(h.is_icmp_ttl_exp(), "{what}: hop {ttl} {h:?}");
        }
        // One flow per TTL, so each TTL has one address.
        if let Some(prev) = seen[ttl - 1].replace(h.addr) {
            assert_eq!(prev, h.addr, "{what}: hop {ttl} changed address");
        }
    }
    for (i, s) in seen.iter().enumerate() {
        assert!(s.is_some(), "{what}: no reply at hop {}", i + 1);
    }
    // IPv4 errors name the interface the probe came in on, so hop 4 is the
    // r4 address on the branch hop 3 took.
    if t.dst.is_ipv4() {
        let branch = (seen[2], seen[3]);
        assert!(
            branch == (Some(v4(addr::R3A_V4)), Some(v4(addr::R4_VIA_R3A_V4)))
                || branch == (Some(v4(addr::R3B_V4)), Some(v4(addr::R4_VIA_R3B_V4))),
            "{what}: hops 3 and 4 not on one branch: {branch:?}"
        );
    }
    let last = t
        .hops
        .iter()
        .filter(|h| usize::from(h.probe_ttl) == expected.len());
    for h in last {
        assert_eq!(h.addr, t.dst, "{what}: last hop");
        if t.method.is_icmp() {
            assert_eq!(h.icmp_type, if t.dst.is_ipv4() { 0 } else { 129 }, "{what}");
        } else {
            assert!(!h.is_icmp_ttl_exp(), "{what}: last hop {h:?}");
        }
    }
}

fn check_tracelb(x: &Tracelb) {
    let what = format!("tracelb {} to {}", x.method, x.dst);
    assert_eq!(x.dst, v4(addr::TARGET_V4), "{what}");
    assert!(x.probes_sent > 0, "{what}: probes sent");
    let nodes: BTreeSet<Addr> = x.nodes.iter().filter_map(|n| n.addr).collect();
    for a in [addr::R1_V4, addr::R2_V4, addr::TARGET_V4] {
        assert!(nodes.contains(&v4(a)), "{what}: no node {a} in {nodes:?}");
    }
    // Both branches of the ECMP section were found.
    for a in [
        addr::R3A_V4,
        addr::R3B_V4,
        addr::R4_VIA_R3A_V4,
        addr::R4_VIA_R3B_V4,
    ] {
        assert!(nodes.contains(&v4(a)), "{what}: no node {a} in {nodes:?}");
    }
    let allowed: BTreeSet<Addr> = addr::HOPS_V4_TO_TARGET
        .iter()
        .flat_map(|h| h.iter().copied().map(v4))
        .collect();
    assert!(
        nodes.is_subset(&allowed),
        "{what}: unexpected nodes {nodes:?}"
    );
    // r2 links to both r3a and r3b.
    let r2 = x
        .nodes
        .iter()
        .position(|n| n.addr == Some(v4(addr::R2_V4)))
        .unwrap();
    let r2_next: BTreeSet<Addr> = x
        .node_links(u16::try_from(r2).unwrap())
        .filter_map(|l| l.to)
        .filter_map(|to| x.nodes[usize::from(to)].addr)
        .collect();
    assert_eq!(
        r2_next,
        BTreeSet::from([v4(addr::R3A_V4), v4(addr::R3B_V4)]),
        "{what}: links out of r2"
    );
}

fn check_dealias(d: &Dealias) {
    let dsts: Vec<Option<IpAddr>> = d
        .probedefs
        .iter()
        .map(|p| p.dst.and_then(|a| a.ip()))
        .collect();
    match &d.method {
        DealiasMethod::Ally {
            wait_probe,
            attempts,
            fudge,
            ..
        } => {
            // -W 100 as given; scamper's defaults for the rest.
            assert_eq!(*wait_probe, Duration::from_millis(100), "ally wait");
            assert_eq!((*attempts, *fudge), (5, 200), "ally attempts, fudge");
            assert_eq!(
                dsts,
                [
                    Some(IpAddr::V4(addr::R2_V4)),
                    Some(IpAddr::V4(R2_ON_R3A_LINK_V4))
                ]
            );
            assert!(!d.probes.is_empty(), "ally: no probes");
        }
        DealiasMethod::Mercator { attempts, .. } => {
            assert_eq!(*attempts, 3, "mercator attempts");
            assert_eq!(dsts, [Some(IpAddr::V4(addr::R2_V4))]);
            assert!(!d.probes.is_empty(), "mercator: no probes");
        }
        m => panic!("unexpected dealias method {m:?}"),
    }
    for p in &d.probes {
        assert!(
            usize::try_from(p.probedef).unwrap() < d.probedefs.len(),
            "dealias probe {p:?}"
        );
    }
}

#[test]
fn debian_scamper_files_read_correctly() {
    if !Path::new(SCAMPER).exists() || !Path::new(WARTS2JSON).exists() {
        eprintln!("skipped: Debian's scamper ({SCAMPER}, {WARTS2JSON}) is not installed");
        return;
    }
    if !is_root() {
        eprintln!("skipped: building test namespaces needs root");
        return;
    }
    let topo = standard_topology(&unique_prefix("wdeb")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("scamper.warts");

    let mut args = vec![
        SCAMPER.to_owned(),
        "-O".into(),
        "warts".into(),
        "-o".into(),
        original.display().to_string(),
        "-p".into(),
        "200".into(),
    ];
    for c in commands() {
        args.push("-I".into());
        args.push(c);
    }
    let out = topo.exec("vp", &args).unwrap();
    assert!(
        out.success(),
        "scamper failed: {}\n{}",
        out.stdout,
        out.stderr
    );

    let records = read_all(&original);
    let kinds: Vec<&str> = records.iter().map(kind_name).collect();
    eprintln!("scamper wrote: {kinds:?}");
    if std::env::var_os("VANTAGE_DUMP").is_some() {
        for j in warts2json(&original) {
            eprintln!("{j}");
        }
    }

    // One list, one cycle start and stop around the measurements.
    assert!(
        matches!(records.first(), Some(Record::List(_))),
        "{kinds:?}"
    );
    assert!(
        matches!(records.get(1), Some(Record::CycleStart(_))),
        "{kinds:?}"
    );
    assert!(
        matches!(records.last(), Some(Record::CycleStop(_))),
        "{kinds:?}"
    );
    assert_eq!(records.len(), 3 + commands().len(), "{kinds:?}");
    let count = |k: &str| kinds.iter().filter(|&&x| x == k).count();
    assert_eq!(
        [
            count("ping"),
            count("trace"),
            count("tracelb"),
            count("dealias")
        ],
        [4, 4, 1, 2],
        "{kinds:?}"
    );

    let mut pings = BTreeSet::new();
    let mut traces = BTreeSet::new();
    let mut dealiases = BTreeSet::new();
    for r in &records {
        match r {
            Record::Ping(p) => {
                check_ping(p);
                pings.insert((p.method, p.dst));
            }
            Record::Trace(t) => {
                check_trace(t);
                traces.insert((t.method, t.dst));
            }
            Record::Tracelb(x) => check_tracelb(x),
            Record::Dealias(d) => {
                check_dealias(d);
                dealiases.insert(d.method.code());
            }
            Record::List(_) | Record::CycleStart(_) | Record::CycleStop(_) => {}
            other => panic!("unexpected record {other:?}"),
        }
    }
    let targets = [v4(addr::TARGET_V4), v6(addr::TARGET_V6)];
    let want_pings: BTreeSet<_> = [PingMethod::IcmpEcho, PingMethod::Udp]
        .into_iter()
        .flat_map(|m| targets.map(|t| (m, t)))
        .collect();
    assert_eq!(pings, want_pings);
    let want_traces = BTreeSet::from([
        (TraceMethod::UdpParis, targets[0]),
        (TraceMethod::IcmpEchoParis, targets[0]),
        (TraceMethod::Udp, targets[1]),
        (TraceMethod::IcmpEchoParis, targets[1]),
    ]);
    assert_eq!(traces, want_traces);
    assert_eq!(dealiases, BTreeSet::from([1, 2]));

    // Written back by us and read again: the same records.
    let rewritten = dir.path().join("vantage.warts");
    let mut w = Writer::new(Vec::new());
    for r in &records {
        w.write_record(r).unwrap();
    }
    let bytes = w.into_inner().unwrap();
    std::fs::write(&rewritten, &bytes).unwrap();
    let again = read_all(&rewritten);
    assert_eq!(again.len(), records.len());
    for (a, b) in records.iter().zip(&again) {
        assert_eq!(a, b, "record changed by write and read");
    }
    let same_bytes = std::fs::read(&original).unwrap() == bytes;
    eprintln!("rewrite byte-identical to scamper's file: {same_bytes}");
    if let Some(keep) = std::env::var_os("VANTAGE_KEEP") {
        let keep = Path::new(&keep);
        std::fs::copy(&original, keep.join("scamper.warts")).unwrap();
        std::fs::copy(&rewritten, keep.join("vantage.warts")).unwrap();
    }

    // And scamper's own JSON dump sees the same in both files.
    let json = warts2json(&original);
    let json_again = warts2json(&rewritten);
    // Our reading of the tracelb graph is scamper's: same nodes, same links.
    let lb_json = json
        .iter()
        .find(|j| j["type"] == "tracelb")
        .expect("tracelb in sc_warts2json output");
    let lb = records
        .iter()
        .find_map(|r| match r {
            Record::Tracelb(x) => Some(x),
            _ => None,
        })
        .unwrap();
    // sc_warts2json lists the nodes that have links (not the destination),
    // each with its link count.
    let json_nodes: Vec<(String, u64)> = lb_json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let a = n["addr"].as_str().unwrap_or("*").to_owned();
            (a, n["linkc"].as_u64().unwrap())
        })
        .collect();
    let our_nodes: Vec<(String, u64)> = (0..lb.nodes.len())
        .map(|i| {
            let a = lb.nodes[i]
                .addr
                .map_or_else(|| "*".to_owned(), |a| a.to_string());
            let n = lb.node_links(u16::try_from(i).unwrap()).count();
            (a, u64::try_from(n).unwrap())
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(our_nodes, json_nodes, "tracelb nodes");
    assert_eq!(
        lb_json["nodec"].as_u64(),
        Some(u64::try_from(lb.nodes.len()).unwrap()),
        "tracelb node count"
    );
    assert_eq!(
        lb_json["linkc"].as_u64(),
        Some(u64::try_from(lb.links.len()).unwrap()),
        "tracelb links"
    );
    assert_eq!(lb_json["confidence"].as_u64(), Some(99));
    assert_eq!(lb.confidence, 99);

    // One object per measurement plus the cycle start and stop.
    assert_eq!(
        json.len(),
        commands().len() + 2,
        "sc_warts2json objects: {json:?}"
    );
    for (a, b) in json.iter().zip(&json_again) {
        assert_eq!(
            a, b,
            "sc_warts2json differs between scamper's file and ours"
        );
    }
    assert_eq!(json.len(), json_again.len());
}

fn kind_name(r: &Record) -> &'static str {
    match r {
        Record::List(_) => "list",
        Record::CycleStart(_) => "cycle-start",
        Record::CycleDef(_) => "cycle-def",
        Record::CycleStop(_) => "cycle-stop",
        Record::Ping(_) => "ping",
        Record::Trace(_) => "trace",
        Record::Tracelb(_) => "tracelb",
        Record::Dealias(_) => "dealias",
        _ => "other",
    }
}

/// A list, a cycle start and an IPv4 ICMP-echo ping to 10.0.6.2, as Debian's
/// scamper 20211212 wrote them in the test above. Its IPv4 replies carry the
/// 16-bit reply IP-ID (field 8) and also the 32-bit one (field 15) set to 0.
const SCAMPER_20211212_PING_V4: [&str; 5] = [
    "120500010000001b000000010000000064656661756c740001000864656661756c740012050002000000160000000100",
    "000001000000006b0916b6020003766d0012050007000000a3f3fc65002a00000001000000016b0916b6000d9ef10100",
    "00030054014000000003328904010a00000104010a0006020003fe93030021073c005400000000006f00001006de4300",
    "00000001000000006b0916b6000d9f7ffe93030021073c00540000000000550001101a49c70000000001000000006b09",
    "16b7000da151fe93030021073c005400000000004f0002108474020000000001000000006b0916b8000da35b",
];

fn unhex(parts: &[&str]) -> Vec<u8> {
    let s: String = parts.concat();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Runs without root or scamper: the 16-bit reply IP-ID of an IPv4 ping
/// reply is kept when scamper 20211212 also wrote a zero 32-bit one.
#[test]
fn scamper_20211212_ipv4_ping_keeps_reply_ipid() {
    let bytes = unhex(&SCAMPER_20211212_PING_V4);
    let mut reader = Reader::new(bytes.as_slice());
    let mut records = Vec::new();
    while let Some(r) = reader.next_record().unwrap() {
        records.push(r);
    }
    assert_eq!(records.len(), 3);
    let Record::Ping(p) = &records[2] else {
        panic!("not a ping: {:?}", records[2]);
    };
    assert_eq!(p.dst, v4(addr::TARGET_V4));
    assert_eq!(p.probes_sent, 3);
    let ipids: Vec<u32> = p.replies.iter().map(|r| r.reply_ipid).collect();
    assert_eq!(ipids, [0x1006, 0x101a, 0x1084]);
    let probe_ipids: Vec<u16> = p.replies.iter().map(|r| r.probe_ipid).collect();
    assert_eq!(probe_ipids, [0xde43, 0x49c7, 0x7402]);
    // Written back, the IP-IDs stay.
    let mut w = Writer::new(Vec::new());
    w.write_record(&records[2]).unwrap();
    let out = w.into_inner().unwrap();
    let mut reader = Reader::new(out.as_slice());
    let mut again = None;
    while let Some(r) = reader.next_record().unwrap() {
        if let Record::Ping(q) = r {
            again = Some(q);
        }
    }
    assert_eq!(again.as_ref(), Some(p));
}
