//! Interoperability with Debian's scamper tools: files written by Vantage's
//! warts writer are read by Debian's `sc_warts2json`, and its JSON, parsed,
//! equals the JSON `vantage warts2json` writes for the same file, apart from
//! the differences that come from Debian's older scamper (20211212), listed
//! in `allowed()`. Skips with a message when `sc_warts2json` is absent.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::many_single_char_names
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use vantage_model::{
    Addr, Cycle, List, Ping, PingFlags, PingMethod, PingReply, PingReplyFlags, PingStop, Record,
    Timestamp, Trace, TraceFlags, TraceHop, TraceMethod, TraceReplyFlags, TraceStop,
};
use vantage_warts::Writer;

fn testdata() -> PathBuf {
    std::env::var_os("VANTAGE_TESTDATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/warts"),
        PathBuf::from,
    )
}

fn have_sc_warts2json() -> bool {
    let found = Command::new("sc_warts2json")
        .arg("/dev/null")
        .output()
        .is_ok();
    if !found {
        eprintln!("skipping: sc_warts2json not installed (apt-get install scamper)");
    }
    found
}

fn json_lines(cmd: &mut Command) -> Vec<Value> {
    let out = cmd.env("TZ", "UTC").output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{cmd:?}: {e}: {l}")))
        .collect()
}

fn ours(path: &Path) -> Vec<Value> {
    json_lines(
        Command::new(env!("CARGO_BIN_EXE_vantage"))
            .arg("warts2json")
            .arg(path),
    )
}

fn debian(path: &Path) -> Vec<Value> {
    json_lines(Command::new("sc_warts2json").arg(path))
}

/// Keys Debian's older sc_warts2json does not write (path patterns; `[]`
/// stands for any array index).
const ONLY_OURS: &[&str] = &[
    "ping.stop_reason",
    "ping.stop_data",
    "ping.errmsg",
    "ping.tos",
    "ping.sport",
    "ping.dport",
    "ping.tcp_seq",
    "ping.tcp_ack",
    "ping.no_responses",
    "ping.statistics.nerrs",
    "ping.statistics.ndups",
    "ping.responses[].icmp_id",
    "ping.responses[].icmp_seq",
    "ping.responses[].ifname",
    "ping.responses[].reply_flags",
    "ping.responses[].reply_tos",
    "ping.responses[].tcp_sport",
    "ping.responses[].tcp_dport",
    "ping.responses[].udp_sport",
    "ping.responses[].udp_dport",
    "ping.responses[].icmp_nhmtu",
    "ping.monitor",
    "trace.monitor",
    "trace.flags",
    "trace.extra_hops",
    "trace.pmtud",
    "trace.hops[].flags",
    // 2021 wrote the quoted TOS for IPv4 hops only; json.md has it for all.
    "trace.hops[].icmp_q_tos",
    "dealias.probes[].replies[].size",
];

/// Whether ours and Debian's may differ at `path`, given both whole objects.
fn allowed(path: &str, a: &Value, b: &Value, ours: &Value) -> bool {
    match path {
        // Methods added after 2021 print as their number there.
        "ping.method" => b.is_string() && b.as_str().unwrap().parse::<u8>().is_ok(),
        // 2021 counted every reply, errors included, as a reply.
        p if p.starts_with("ping.statistics") => ours["statistics"].get("nerrs").is_some(),
        // 2021 ignored the stop hop (parallel probing past the destination).
        "trace.hop_count" | "trace.hops" => ours.get("extra_hops").is_some(),
        // 2021 printed tracelb's wait-probe in milliseconds.
        "tracelb.wait_probe" => b.as_u64() == a.as_u64().map(|v| v * 10),
        _ => false,
    }
}

fn compare(path: &str, a: &Value, b: &Value, whole: &Value, problems: &mut Vec<String>) {
    if allowed(path, a, b, whole) {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let p = format!("{path}.{k}");
                match y.get(k) {
                    Some(w) => compare(&p, v, w, whole, problems),
                    None if ONLY_OURS.contains(&p.as_str()) => {}
                    None => problems.push(format!("{p}: only in ours")),
                }
            }
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                problems.push(format!("{path}.{k}: only in Debian's"));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (v, w) in x.iter().zip(y) {
                compare(&format!("{path}[]"), v, w, whole, problems);
            }
        }
        _ if a == b => {}
        _ => problems.push(format!("{path}: ours {a} vs Debian's {b}")),
    }
}

fn check_file(path: &Path) -> usize {
    let a = ours(path);
    let b = debian(path);
    assert_eq!(a.len(), b.len(), "{}: line counts", path.display());
    let mut problems = Vec::new();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let kind = x["type"].as_str().unwrap_or("?").to_owned();
        let mut p = Vec::new();
        compare(&kind, x, y, x, &mut p);
        problems.extend(p.into_iter().map(|s| format!("line {}: {s}", i + 1)));
    }
    assert!(
        problems.is_empty(),
        "{}:\n{}",
        path.display(),
        problems.join("\n")
    );
    a.len()
}

/// Reads a test file and writes it back with our writer.
fn rewrite(name: &str, dir: &Path) -> PathBuf {
    let recs: Vec<Record> = vantage_warts::open(testdata().join(name))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let out = dir.join(format!("{name}.rewritten.warts"));
    let mut w = vantage_warts::create(&out).unwrap();
    for r in &recs {
        w.write_record(r).unwrap();
    }
    w.close().unwrap();
    out
}

#[test]
fn debian_reads_rewritten_test_files_like_we_do() {
    if !have_sc_warts2json() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "ping.warts",
        "trace.warts",
        "tracelb.warts",
        "dealias.warts",
        "sniff.warts",
    ] {
        let n = check_file(&rewrite(name, dir.path()));
        assert!(n > 2, "{name}");
    }
}

/// A small deterministic generator (xorshift).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn addr(&mut self, v6: bool) -> Addr {
        if v6 {
            let groups = self.below(4);
            let v =
                (0x2001_0db8u128 << 96) | (u128::from(groups) << 64) | u128::from(self.below(300));
            Addr::V6(v.into())
        } else {
            Addr::V4(std::net::Ipv4Addr::from(
                0xc000_0200 | (self.below(250) as u32),
            ))
        }
    }
}

fn synthetic_ping(g: &mut Gen, list: &Arc<List>, cycle: &Arc<Cycle>) -> Ping {
    let v6 = g.below(3) == 0;
    let dst = g.addr(v6);
    let mut p = Ping::new(
        dst,
        Timestamp::new(
            1_700_000_000 + g.below(1000) as u32,
            g.below(1_000_000) as u32,
        ),
    );
    p.list = Some(Arc::clone(list));
    p.cycle = Some(Arc::clone(cycle));
    p.src = Some(g.addr(v6));
    // Methods Debian's scamper knows by name.
    p.method = PingMethod::from_code([0, 1, 2, 3, 4, 6, 7, 8][g.below(8) as usize]);
    p.stop_reason = PingStop::Done;
    p.attempts = 1 + g.below(5) as u16;
    p.probes_sent = p.attempts;
    p.ttl = 64;
    p.user_id = g.below(3) as u32;
    p.sport = 30000 + g.below(1000) as u16;
    p.dport = if p.method.is_icmp() { 0 } else { 33435 };
    p.wait_probe = Duration::from_millis(200 * (1 + g.below(5)));
    p.wait_timeout = Duration::from_secs(1 + g.below(2));
    if p.method.is_tcp() {
        p.tcp_seq = g.next() as u32;
    }
    if g.below(4) == 0 {
        p.data = vec![0xaa, 0xbb, g.below(256) as u8];
        if g.below(2) == 0 {
            p.flags |= PingFlags::PAYLOAD;
        }
    }
    if !v6 && g.below(4) == 0 {
        p.flags |= PingFlags::V4RR;
    }
    for id in 0..p.probes_sent {
        if g.below(4) == 0 {
            continue;
        }
        let mut r = PingReply::new(id, dst, Duration::from_micros(1000 + g.below(100_000)));
        r.flags = PingReplyFlags::REPLY_TTL | PingReplyFlags::REPLY_IPID;
        if !v6 {
            // Only IPv4 probes have an IP-ID (warts stores it for IPv4 only).
            r.flags |= PingReplyFlags::PROBE_IPID;
        }
        r.reply_ttl = 50 + g.below(10) as u8;
        r.reply_size = p.probe_size;
        r.reply_ipid = if v6 { 0 } else { g.below(65536) as u32 };
        r.probe_ipid = g.below(65536) as u16;
        r.tx = Some(p.start.plus(Duration::from_millis(u64::from(id) * 200)));
        if p.method.is_tcp() {
            r.reply_proto = 6;
            r.tcp_flags = 0x14;
        } else if p.method.is_udp() {
            r.icmp_type = if v6 { 1 } else { 3 };
            r.icmp_code = if v6 { 4 } else { 3 };
        } else {
            r.icmp_type = if v6 { 129 } else { 0 };
        }
        if p.flags.contains(PingFlags::V4RR) {
            r.rr = Some(vec![g.addr(false), g.addr(false), dst]);
        }
        p.replies.push(r);
    }
    p
}

fn synthetic_trace(g: &mut Gen, list: &Arc<List>, cycle: &Arc<Cycle>) -> Trace {
    let v6 = g.below(3) == 0;
    let dst = g.addr(v6);
    let mut t = Trace::new(
        dst,
        Timestamp::new(
            1_700_000_000 + g.below(1000) as u32,
            g.below(1_000_000) as u32,
        ),
    );
    t.list = Some(Arc::clone(list));
    t.cycle = Some(Arc::clone(cycle));
    t.src = Some(g.addr(v6));
    t.method = TraceMethod::from_code(1 + g.below(6) as u8);
    t.sport = 40000 + g.below(1000) as u16;
    t.dport = 33435;
    t.stop_reason = TraceStop::Completed;
    t.attempts = 1 + g.below(3) as u8;
    let hops = 1 + g.below(12) as u8;
    t.hop_count = u16::from(hops);
    let mut sent = 0u16;
    for ttl in 1..=hops {
        sent += 1;
        if g.below(5) == 0 && ttl != hops {
            continue;
        }
        let last = ttl == hops;
        let addr = if last { dst } else { g.addr(v6) };
        let mut h = TraceHop::new(
            addr,
            ttl,
            0,
            t.probe_size,
            Duration::from_micros(500 + g.below(90_000)),
        );
        h.flags = TraceReplyFlags::REPLY_TTL;
        h.reply_ttl = 64 - ttl;
        h.reply_ipid = g.below(65536) as u16;
        h.reply_size = 56;
        h.tx = Some(t.start.plus(Duration::from_millis(u64::from(ttl) * 10)));
        if last && t.method.is_tcp() {
            h.flags |= TraceReplyFlags::TCP;
            h.tcp_flags = 0x12;
        } else if last && t.method.is_udp() {
            (h.icmp_type, h.icmp_code) = if v6 { (1, 4) } else { (3, 3) };
        } else if last {
            h.icmp_type = if v6 { 129 } else { 0 };
        } else {
            h.icmp_type = if v6 { 3 } else { 11 };
        }
        if g.below(10) == 0 {
            h.name = Some(format!("r{ttl}.example.net"));
        }
        t.hops.push(h);
    }
    t.probes_sent = sent;
    if g.below(5) == 0 {
        t.flags |= TraceFlags::ALL_ATTEMPTS;
    }
    t
}

#[test]
fn debian_reads_synthetic_pings_and_traces_like_we_do() {
    if !have_sc_warts2json() {
        return;
    }
    let mut g = Gen(0x5eed_1234_abcd_0001);
    let list = Arc::new(List {
        id: 3,
        name: "synthetic".to_owned(),
        descr: Some("interop test".to_owned()),
        monitor: Some("vp1".to_owned()),
    });
    let cycle = Arc::new(Cycle {
        list: Arc::clone(&list),
        id: 9,
        start_time: 1_700_000_000,
        stop_time: None,
        hostname: Some("host".to_owned()),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synthetic.warts");
    let mut w = Writer::new(std::fs::File::create(&path).unwrap());
    w.write_cycle_start(&cycle).unwrap();
    for i in 0..400 {
        if i % 2 == 0 {
            w.write_ping(&synthetic_ping(&mut g, &list, &cycle))
                .unwrap();
        } else {
            w.write_trace(&synthetic_trace(&mut g, &list, &cycle))
                .unwrap();
        }
    }
    let mut stopped = Cycle::clone(&cycle);
    stopped.stop_time = Some(1_700_001_000);
    w.write_cycle_stop(&Arc::new(stopped)).unwrap();
    w.into_inner().unwrap();
    assert_eq!(check_file(&path), 402);
}
