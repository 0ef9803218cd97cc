//! Interop: `vantage` and Debian's `scamper` (`apt-get install scamper`), run in the same
//! namespaces against the same targets, report the same hops and reply types.
//!
//! Root only, and skipped with a message when `scamper` is not installed. Both tools run
//! in the `vp` namespace of vantage-testbed's standard topology (see
//! `vantage_testbed::standard`), one after the other: scamper first, writing warts that
//! are read back with `vantage_warts::Reader`, then the same command lines through a
//! Vantage [`Prober`]. Compared per measurement:
//!
//! - traces: stop reason, hop count, the reply addresses at every TTL (exactly at the
//!   single-path hops 1, 2 and 5; within the documented ECMP alternatives at hops 3 and
//!   4, since the two tools choose different flow identifiers and so may be hashed onto
//!   different branches), ICMP type/code of every reply and TCP flags of the final one;
//! - pings: the set of reply kinds (protocol, ICMP type/code, TCP flags), the reply
//!   sources, and that every probe was answered by both.
//!
//! Transmit checksum offload is turned off on vp's interfaces first (`ethtool -K IF tx
//! off`), so probes leave with their final UDP/TCP checksum as they would from a real
//! NIC. With offload on, a veth hands the packet on with only the pseudo-header sum in
//! the checksum field, routers quote that in their ICMP errors, and scamper 20211212,
//! which identifies its IPv6 UDP-paris probes by the checksum, matches none of the
//! replies (its trace ends at the gap limit with no hops; Vantage is not affected).
//! Without `ethtool` that one measurement is left out, with a message.
//!
//! Run with `--nocapture` to see what each tool saw.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use vantage_model::{Addr, Ping, Record, Trace};
use vantage_probe::{Prober, ProberConfig, ProberHandle, ProberThread, Results, TaskId};
use vantage_testbed::standard::{StandardOptions, addr, standard_topology_with};
use vantage_testbed::{Topology, is_root, unique_prefix};

/// How long any one Vantage measurement may take before the test gives up.
const RESULT_TIMEOUT: Duration = Duration::from_secs(120);

const TRACE_METHODS: [&str; 5] = ["udp-paris", "icmp-paris", "udp", "icmp", "tcp"];
const PING_METHODS: [&str; 4] = ["icmp-echo", "udp", "tcp-syn", "tcp-ack"];

/// The prober in `vp` of a fresh standard topology.
struct Bed {
    handle: Option<ProberHandle>,
    results: Results,
    thread: Option<ProberThread>,
    rt: tokio::runtime::Runtime,
    // Dropped last: the namespaces go away after the prober stopped.
    topo: Topology,
}

impl Bed {
    fn new(stem: &str) -> Self {
        let topo =
            standard_topology_with(&unique_prefix(stem), &StandardOptions::default()).unwrap();
        let config = ProberConfig::with_pps(1000);
        let (handle, results, thread) = topo
            .run_in("vp", move || Prober::spawn(config))
            .expect("enter vp")
            .expect("start prober");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        Self {
            handle: Some(handle),
            results,
            thread: Some(thread),
            rt,
            topo,
        }
    }

    /// Turns transmit checksum offload off on every interface of `vp`.
    fn checksum_offload_off(&self) -> bool {
        common::checksum_offload_off(&self.topo, "vp")
    }

    /// Runs every command line through Vantage; the records in the order given.
    fn run_vantage(&mut self, lines: &[String]) -> Vec<Record> {
        let handle = self.handle.as_ref().unwrap();
        let ids: Vec<TaskId> = lines
            .iter()
            .map(|l| handle.submit_line(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect();
        let mut got: HashMap<TaskId, Record> = HashMap::new();
        while got.len() < ids.len() {
            let results = &mut self.results;
            let out = self
                .rt
                .block_on(async { tokio::time::timeout(RESULT_TIMEOUT, results.recv()).await })
                .expect("a result within the timeout")
                .expect("the prober is running");
            if out.partial {
                continue;
            }
            let rec = out.result.unwrap_or_else(|e| panic!("task failed: {e}"));
            got.insert(out.task, rec);
        }
        ids.iter().map(|id| got.remove(id).unwrap()).collect()
    }

    /// Runs every command line through Debian's scamper in `vp`; the records in the
    /// order given (scamper writes them as they finish, so they are matched back by
    /// kind, method and destination).
    fn run_scamper(&self, dir: &Path, lines: &[String]) -> Vec<Record> {
        let mut by_key: HashMap<String, Record> = HashMap::new();
        for rec in common::run_scamper(&self.topo, "vp", dir, lines) {
            if let Some(k) = key(&rec) {
                assert!(by_key.insert(k.clone(), rec).is_none(), "two records {k}");
            }
        }
        let keys: Vec<String> = keys_of(lines).unwrap_or_else(|e| panic!("command lines: {e}"));
        keys.iter()
            .map(|k| {
                by_key
                    .remove(k)
                    .unwrap_or_else(|| panic!("scamper wrote no record for {k}"))
            })
            .collect()
    }
}

/// The matching keys of the command lines, from the command text itself.
fn keys_of(lines: &[String]) -> Result<Vec<String>, String> {
    lines
        .iter()
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let kind = words.first().ok_or("empty line")?;
            let method = words
                .iter()
                .position(|w| *w == "-P")
                .and_then(|i| words.get(i + 1))
                .ok_or("no -P")?;
            let dst = words.last().ok_or("no destination")?;
            let dst: IpAddr = dst.parse().map_err(|e| format!("{dst}: {e}"))?;
            Ok(format!("{kind} {} {}", canonical_method(method), dst))
        })
        .collect()
}

impl Drop for Bed {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The method names as the records print them (warts calls the ICMP trace methods
/// `icmp-echo` and `icmp-echo-paris`).
fn canonical_method(m: &str) -> &str {
    match m {
        "icmp" => "icmp-echo",
        "icmp-paris" => "icmp-echo-paris",
        other => other,
    }
}

fn key(rec: &Record) -> Option<String> {
    match rec {
        Record::Trace(t) => Some(format!("trace {} {}", t.method, ip(t.dst))),
        Record::Ping(p) => Some(format!("ping {} {}", p.method, ip(p.dst))),
        _ => None,
    }
}

fn ip(a: Addr) -> IpAddr {
    a.ip().expect("an IP address")
}

fn targets() -> [IpAddr; 2] {
    [addr::TARGET_V4.into(), addr::TARGET_V6.into()]
}

/// The addresses documented for each TTL of a trace from vp to `dst`.
fn allowed_hops(dst: IpAddr) -> Vec<BTreeSet<IpAddr>> {
    match dst {
        IpAddr::V4(_) => addr::HOPS_V4_TO_TARGET
            .iter()
            .map(|h| h.iter().map(|a| IpAddr::V4(*a)).collect())
            .collect(),
        IpAddr::V6(_) => addr::HOPS_V6_TO_TARGET
            .iter()
            .map(|h| h.iter().map(|a| IpAddr::V6(*a)).collect())
            .collect(),
    }
}

/// The reply addresses at each TTL `1..=hop_count`.
fn hop_sets(t: &Trace) -> Vec<BTreeSet<IpAddr>> {
    (1..=t.hop_count)
        .map(|ttl| {
            t.hops
                .iter()
                .filter(|h| u16::from(h.probe_ttl) == ttl)
                .map(|h| ip(h.addr))
                .collect()
        })
        .collect()
}

/// What kind of reply each TTL got: `icmp:T/C` or `tcp:0xFF`, as a set per TTL.
fn hop_kinds(t: &Trace) -> Vec<BTreeSet<String>> {
    (1..=t.hop_count)
        .map(|ttl| {
            t.hops
                .iter()
                .filter(|h| u16::from(h.probe_ttl) == ttl)
                .map(|h| {
                    if h.is_tcp() {
                        format!("tcp:{:#04x}", h.tcp_flags)
                    } else {
                        format!("icmp:{}/{}", h.icmp_type, h.icmp_code)
                    }
                })
                .collect()
        })
        .collect()
}

fn show_set<T: std::fmt::Display>(s: &BTreeSet<T>) -> String {
    if s.is_empty() {
        return "*".to_owned();
    }
    s.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A ping reply's kind: protocol and ICMP type/code or TCP flags.
fn ping_kinds(p: &Ping) -> BTreeSet<String> {
    p.replies
        .iter()
        .map(|r| {
            if r.is_tcp() {
                format!("tcp:{:#04x}", r.tcp_flags)
            } else {
                format!("icmp:{}/{}", r.icmp_type, r.icmp_code)
            }
        })
        .collect()
}

fn ping_sources(p: &Ping) -> BTreeSet<IpAddr> {
    p.replies.iter().map(|r| ip(r.from)).collect()
}

/// Compares one trace of each tool; returns the differences found (empty when they agree)
/// and appends table rows to `table`.
fn compare_traces(line: &str, s: &Trace, v: &Trace, table: &mut String) -> Vec<String> {
    let mut diffs = Vec::new();
    let dst = ip(v.dst);
    let allowed = allowed_hops(dst);
    let (ss, vs) = (hop_sets(s), hop_sets(v));
    let (sk, vk) = (hop_kinds(s), hop_kinds(v));
    writeln!(
        table,
        "{line}\n  stop: scamper {:?} ({} hops), vantage {:?} ({} hops)",
        s.stop_reason, s.hop_count, v.stop_reason, v.hop_count
    )
    .unwrap();
    for i in 0..ss.len().max(vs.len()) {
        let show = |sets: &[BTreeSet<IpAddr>], kinds: &[BTreeSet<String>]| match (
            sets.get(i),
            kinds.get(i),
        ) {
            (Some(a), Some(k)) => format!("{} [{}]", show_set(a), show_set(k)),
            _ => "-".to_owned(),
        };
        writeln!(
            table,
            "  ttl {:>2}: scamper {:<32} vantage {}",
            i + 1,
            show(&ss, &sk),
            show(&vs, &vk)
        )
        .unwrap();
    }
    if s.stop_reason != v.stop_reason {
        diffs.push(format!(
            "{line}: stop reason scamper {:?}, vantage {:?}",
            s.stop_reason, v.stop_reason
        ));
    }
    if s.hop_count != v.hop_count {
        diffs.push(format!(
            "{line}: hop count scamper {}, vantage {}",
            s.hop_count, v.hop_count
        ));
    }
    for (i, ((a, b), ok)) in ss.iter().zip(&vs).zip(&allowed).enumerate() {
        let ttl = i + 1;
        for (tool, set) in [("scamper", a), ("vantage", b)] {
            if set.is_empty() {
                diffs.push(format!("{line}: {tool} got no reply at TTL {ttl}"));
            }
            if !set.is_subset(ok) {
                diffs.push(format!(
                    "{line}: {tool} at TTL {ttl} saw {} (documented: {})",
                    show_set(set),
                    show_set(ok)
                ));
            }
        }
        // Where the path is single there is no excuse for a difference.
        if ok.len() == 1 && a != b {
            diffs.push(format!(
                "{line}: TTL {ttl}: scamper {}, vantage {}",
                show_set(a),
                show_set(b)
            ));
        }
    }
    if sk != vk {
        diffs.push(format!(
            "{line}: reply kinds scamper {sk:?}, vantage {vk:?}"
        ));
    }
    diffs
}

fn compare_pings(line: &str, s: &Ping, v: &Ping, table: &mut String) -> Vec<String> {
    let mut diffs = Vec::new();
    let (sk, vk) = (ping_kinds(s), ping_kinds(v));
    let (sf, vf) = (ping_sources(s), ping_sources(v));
    writeln!(
        table,
        "{line}\n  scamper {}/{} replied {} from {}\n  vantage {}/{} replied {} from {}",
        s.replies.len(),
        s.probes_sent,
        show_set(&sk),
        show_set(&sf),
        v.replies.len(),
        v.probes_sent,
        show_set(&vk),
        show_set(&vf),
    )
    .unwrap();
    for (tool, p) in [("scamper", s), ("vantage", v)] {
        if p.probes_sent == 0 || usize::from(p.probes_sent) != p.replies.len() {
            diffs.push(format!(
                "{line}: {tool} got {} replies to {} probes",
                p.replies.len(),
                p.probes_sent
            ));
        }
    }
    if sk != vk {
        diffs.push(format!(
            "{line}: reply kinds scamper {sk:?}, vantage {vk:?}"
        ));
    }
    if sf != vf {
        diffs.push(format!(
            "{line}: reply sources scamper {sf:?}, vantage {vf:?}"
        ));
    }
    diffs
}

#[test]
fn vantage_and_debian_scamper_agree() {
    if !is_root() {
        eprintln!("skipping: building network namespaces needs root");
        return;
    }
    if !common::scamper_installed() {
        eprintln!("skipping: scamper is not installed (apt-get install scamper)");
        return;
    }
    let mut bed = Bed::new("scint");
    let offload_off = bed.checksum_offload_off();
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for dst in targets() {
        for m in TRACE_METHODS {
            if !offload_off && dst.is_ipv6() && m == "udp-paris" {
                eprintln!(
                    "leaving out trace -P udp-paris {dst}: without ethtool, vp's checksum \
                     offload stays on and scamper cannot match its IPv6 UDP-paris replies"
                );
                continue;
            }
            lines.push(format!("trace -w 1 -P {m} {dst}"));
        }
        for m in PING_METHODS {
            lines.push(format!("ping -c 3 -i 1 -P {m} {dst}"));
        }
    }
    let scamper = bed.run_scamper(dir.path(), &lines);
    let vantage = bed.run_vantage(&lines);

    let mut table = String::new();
    let mut diffs = Vec::new();
    for ((line, s), v) in lines.iter().zip(&scamper).zip(&vantage) {
        match (s, v) {
            (Record::Trace(s), Record::Trace(v)) => {
                diffs.extend(compare_traces(line, s, v, &mut table));
            }
            (Record::Ping(s), Record::Ping(v)) => {
                diffs.extend(compare_pings(line, s, v, &mut table));
            }
            _ => diffs.push(format!("{line}: records of different kinds")),
        }
    }
    println!("{table}");
    assert!(
        diffs.is_empty(),
        "vantage and scamper disagree:\n{}",
        diffs.join("\n")
    );
}
