//! Tests of the JSON codec: the real scamper test vectors (our JSON for each
//! record, parsed, equals `sc_warts2json`'s line, parsed; byte-identical for
//! ping and trace), the constructed examples of json.md, live output, the
//! documented deviations, a property test and the fuzz corpus replay.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::Value;
use vantage_model::{
    Addr, Cycle, List, Ping, PingMethod, PingReply, PingReplyFlags, PingStop, Record, Timestamp,
    Trace, TraceHop, TraceMethod, TraceReplyFlags, TraceStop,
};

use super::fuzzing::{check_json, warts_json};
use super::{JsonEncoder, JsonOptions, has_json, to_json, to_json_with};

fn dir() -> PathBuf {
    std::env::var_os("VANTAGE_TESTDATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/warts"),
        PathBuf::from,
    )
}

fn records(name: &str) -> Vec<Record> {
    crate::open(dir().join(name))
        .unwrap()
        .map(|r| r.unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

fn our_lines(name: &str) -> Vec<String> {
    records(name).iter().filter_map(to_json).collect()
}

fn reference_lines(name: &str) -> Vec<String> {
    std::fs::read_to_string(dir().join(format!("{name}.json")))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The first place two JSON values differ, as a path and both values.
fn first_diff(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => {
                        if let Some(d) = first_diff(&format!("{path}.{k}"), v, w) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{path}.{k}: only in ours ({v})")),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{path}.{k}: only in reference ({})", y[k]))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: {} vs {} elements", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (v, w))| first_diff(&format!("{path}[{i}]"), v, w))
        }
        _ if a == b => None,
        _ => Some(format!("{path}: ours {a} vs reference {b}")),
    }
}

/// The reference lines we compare against, with the documented
/// sc_warts2json bug in `probe_tsps` undone (see `deviation_*`).
fn comparable_reference(name: &str) -> Vec<String> {
    reference_lines(name)
        .into_iter()
        .map(|l| l.replace("\"\"10.", "\",\"10."))
        .collect()
}

const WITH_JSON: &[&str] = &[
    "ping.warts",
    "ping-ts.warts",
    "trace.warts",
    "tracelb.warts",
    "dealias.warts",
    "host.warts",
    "http.warts",
    "udpprobe.warts",
    "sniff.warts",
    "mixed.warts.gz",
    "mixed.warts.bz2",
    "mixed.warts.xz",
];

#[test]
fn every_testdata_record_matches_sc_warts2json_as_parsed_json() {
    let mut failures = Vec::new();
    for name in WITH_JSON {
        let ours = our_lines(name);
        let theirs = comparable_reference(name);
        if ours.len() != theirs.len() {
            failures.push(format!(
                "{name}: {} lines vs {} in reference",
                ours.len(),
                theirs.len()
            ));
            continue;
        }
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            let va: Value = serde_json::from_str(a)
                .unwrap_or_else(|e| panic!("{name} line {}: ours is not JSON: {e}\n{a}", i + 1));
            let vb: Value = serde_json::from_str(b).unwrap();
            if let Some(d) = first_diff("", &va, &vb) {
                failures.push(format!("{name} line {}: {d}", i + 1));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn key_order_matches_sc_warts2json() {
    // serde_json's default map is ordered by key; compare key sequences by
    // scanning the text instead: every `"key":` in order.
    fn keys(line: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let b = line.as_bytes();
        let mut i = 0;
        while let Some(off) = line[i..].find("\":") {
            let end = i + off;
            let start = line[..end].rfind('"').unwrap_or(0);
            if start > 0 && matches!(b[start - 1], b'{' | b',' | b' ') {
                out.push(&line[start + 1..end]);
            }
            i = end + 2;
        }
        out
    }
    for name in WITH_JSON {
        for (i, (a, b)) in our_lines(name)
            .iter()
            .zip(comparable_reference(name))
            .enumerate()
        {
            assert_eq!(keys(a), keys(&b), "{name} line {}", i + 1);
        }
    }
}

#[test]
fn ping_and_trace_are_byte_identical() {
    for name in ["ping.warts", "trace.warts", "sniff.warts"] {
        let ours = our_lines(name);
        let theirs = reference_lines(name);
        assert_eq!(ours.len(), theirs.len(), "{name}");
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            if b.starts_with("{\"type\":\"ping\"") || b.starts_with("{\"type\":\"trace\"") {
                assert_eq!(a, b, "{name} line {}", i + 1);
            }
        }
    }
}

#[test]
fn every_test_file_is_byte_identical_apart_from_the_deviations() {
    // Every line of every file, cycle lines and all types included, matches
    // sc_warts2json byte for byte, except the two documented deviations
    // (tested below).
    for name in WITH_JSON {
        let ours = our_lines(name);
        let theirs = reference_lines(name);
        if *name == "ping-ts.warts" {
            assert_eq!(ours[0], theirs[0]);
            assert_eq!(ours[2..], theirs[2..]);
        } else {
            assert_eq!(ours, theirs, "{name}");
        }
    }
}

#[test]
fn deviation_probe_tsps_is_valid_json() {
    // sc_warts2json bug 3: `"probe_tsps":["10.2.1.2""10.3.0.2"]`.
    let ours = our_lines("ping-ts.warts");
    let theirs = reference_lines("ping-ts.warts");
    assert!(serde_json::from_str::<Value>(&theirs[1]).is_err());
    assert!(theirs[1].contains("\"probe_tsps\":[\"10.2.1.2\"\"10.3.0.2\"]"));
    assert!(ours[1].contains("\"probe_tsps\":[\"10.2.1.2\",\"10.3.0.2\"]"));
    assert_eq!(ours[1], theirs[1].replace("\"\"10.3", "\",\"10.3"));
}

#[test]
fn deviation_midar_is_skipped_and_conversion_goes_on() {
    // sc_warts2json bug 2: it stops (status 255) at the first MIDAR record,
    // so its output is the cycle-start line only; we skip both MIDAR
    // records and still write the cycle-stop.
    let recs = records("dealias-midar.warts");
    assert_eq!(
        recs.iter()
            .filter(|r| matches!(r, Record::Dealias(_)))
            .count(),
        2
    );
    assert!(
        recs.iter()
            .filter(|r| matches!(r, Record::Dealias(_)))
            .all(|r| !has_json(r))
    );
    let ours = our_lines("dealias-midar.warts");
    let theirs = reference_lines("dealias-midar.warts");
    assert_eq!(theirs.len(), 1);
    assert_eq!(ours.len(), 2);
    assert_eq!(ours[0], theirs[0]);
    assert!(ours[1].starts_with("{\"type\":\"cycle-stop\""));
}

#[test]
fn types_without_json_produce_nothing() {
    // http and sniff have no JSON in scamper (README bug 1).
    for r in records("http.warts") {
        if matches!(r, Record::Http(_)) {
            assert_eq!(to_json(&r), None);
        }
    }
    let sniffs = records("sniff.warts");
    assert!(sniffs.iter().any(|r| matches!(r, Record::Sniff(_))));
    for r in &sniffs {
        if matches!(r, Record::Sniff(_) | Record::List(_)) {
            assert_eq!(to_json(r), None);
        }
    }
}

fn v4(s: &str) -> Addr {
    s.parse().unwrap()
}

/// json.md §3: the constructed ping example, byte for byte.
#[test]
fn spec_ping_example() {
    let mut p = Ping::new(v4("192.0.2.1"), Timestamp::new(1_700_000_000, 100_000));
    p.src = Some(v4("192.0.2.10"));
    p.stop_reason = PingStop::Done;
    p.attempts = 1;
    p.probes_sent = 1;
    p.sport = 4660;
    let mut r = PingReply::new(0, v4("192.0.2.1"), Duration::from_micros(12_345));
    r.flags = PingReplyFlags::REPLY_TTL | PingReplyFlags::REPLY_IPID;
    r.reply_ttl = 57;
    r.reply_size = 84;
    r.reply_ipid = 0xbeef;
    r.tx = Some(Timestamp::new(1_700_000_000, 100_100));
    p.replies.push(r);
    let want = r#"{"type":"ping","version":"0.4","method":"icmp-echo","src":"192.0.2.10","dst":"192.0.2.1","start":{"sec":1700000000,"usec":100000},"stop_reason":"done","stop_data":0,"ping_sent":1,"probe_size":84,"userid":0,"ttl":64,"tos":0,"wait":1,"timeout":1,"responses":[{"from":"192.0.2.1","reply_size":84,"reply_ttl":57,"seq":0,"tx":{"sec":1700000000,"usec":100100},"icmp_id":4660,"icmp_seq":0,"reply_proto":"icmp","rx":{"sec":1700000000,"usec":112445},"rtt":12.345,"reply_ipid":48879,"icmp_type":0,"icmp_code":0}],"no_responses":[],"statistics":{"replies":1,"loss":0,"min":12.345,"max":12.345,"avg":12.345,"stddev":0.000}}"#;
    assert_eq!(to_json(&Record::Ping(Box::new(p))).unwrap(), want);
}

fn spec_trace() -> Trace {
    let mut t = Trace::new(v4("198.51.100.1"), Timestamp::new(1_700_000_100, 500_000));
    t.src = Some(v4("192.0.2.10"));
    t.sport = 41234;
    t.dport = 33435;
    t.stop_reason = TraceStop::Completed;
    t.method = TraceMethod::UdpParis;
    t.hop_count = 2;
    t.probes_sent = 2;
    let mut h1 = TraceHop::new(v4("192.0.2.254"), 1, 0, 44, Duration::from_micros(812));
    h1.tx = Some(Timestamp::new(1_700_000_100, 500_100));
    h1.reply_ttl = 255;
    h1.reply_tos = 192;
    h1.reply_ipid = 1234;
    h1.reply_size = 56;
    h1.icmp_type = 11;
    h1.flags = TraceReplyFlags::REPLY_TTL;
    let mut h2 = TraceHop::new(v4("198.51.100.1"), 2, 0, 44, Duration::from_micros(10_250));
    h2.tx = Some(Timestamp::new(1_700_000_100, 501_000));
    h2.reply_ttl = 62;
    h2.reply_ipid = 4321;
    h2.reply_size = 56;
    h2.icmp_type = 3;
    h2.icmp_code = 3;
    h2.flags = TraceReplyFlags::REPLY_TTL;
    t.hops = vec![h1, h2];
    t
}

/// json.md §5: the constructed trace example (TZ=UTC), byte for byte.
#[test]
fn spec_trace_example() {
    let want = r#"{"type":"trace","version":"0.1","userid":0,"method":"udp-paris","src":"192.0.2.10","dst":"198.51.100.1","sport":41234,"dport":33435,"stop_reason":"COMPLETED","stop_data":0,"start":{"sec":1700000100,"usec":500000,"ftime":"2023-11-14 22:15:00"},"hop_count":2,"attempts":2,"hoplimit":0,"firsthop":1,"wait":5,"wait_probe":0,"tos":0,"probe_size":44,"probe_count":2,"hops":[{"addr":"192.0.2.254","probe_ttl":1,"probe_id":1,"probe_size":44,"tx":{"sec":1700000100,"usec":500100},"rtt":0.812,"reply_ttl":255,"reply_tos":192,"reply_ipid":1234,"reply_size":56,"icmp_type":11,"icmp_code":0,"icmp_q_ttl":1,"icmp_q_ipl":44,"icmp_q_tos":0},{"addr":"198.51.100.1","probe_ttl":2,"probe_id":1,"probe_size":44,"tx":{"sec":1700000100,"usec":501000},"rtt":10.250,"reply_ttl":62,"reply_tos":0,"reply_ipid":4321,"reply_size":56,"icmp_type":3,"icmp_code":3,"icmp_q_ttl":1,"icmp_q_ipl":44,"icmp_q_tos":0}]}"#;
    assert_eq!(
        to_json(&Record::Trace(Box::new(spec_trace()))).unwrap(),
        want
    );
}

#[test]
fn ftime_follows_the_given_time_zone() {
    let rec = Record::Trace(Box::new(spec_trace()));
    let nz = JsonOptions::converted().with_utc_offset(Arc::new(|_| 13 * 3600));
    let s = to_json_with(&rec, &nz).unwrap();
    assert!(s.contains("\"ftime\":\"2023-11-15 11:15:00\""), "{s}");
}

#[test]
fn live_ping_lists_unanswered_probes() {
    let mut p = Ping::new(v4("192.0.2.1"), Timestamp::new(1_700_000_000, 0));
    p.method = PingMethod::UdpDport;
    p.sport = 40000;
    p.dport = 33435;
    p.probes_sent = 3;
    let mut r = PingReply::new(1, v4("192.0.2.1"), Duration::from_micros(1500));
    r.reply_proto = 1;
    r.icmp_type = 3;
    r.icmp_code = 3;
    p.replies.push(r);
    let rec = Record::Ping(Box::new(p));
    let conv: Value = serde_json::from_str(&to_json(&rec).unwrap()).unwrap();
    assert_eq!(conv["no_responses"], serde_json::json!([]));
    let live: Value =
        serde_json::from_str(&to_json_with(&rec, &JsonOptions::live()).unwrap()).unwrap();
    assert_eq!(
        live["no_responses"],
        serde_json::json!([
            {"seq":0,"udp_sport":40000,"udp_dport":33435},
            {"seq":2,"udp_sport":40000,"udp_dport":33437}
        ])
    );
    assert_eq!(live["responses"][0]["udp_dport"], 33436);
    assert_eq!(live["statistics"]["loss"], serde_json::json!(0.67));
}

#[test]
fn live_trace_lists_unanswered_probes() {
    let mut t = spec_trace();
    // TTL 1 answered on the second attempt, TTL 2 silent, TTL 3 answered.
    t.hop_count = 3;
    t.probes_sent = 5;
    t.hops[0].probe_id = 1;
    t.hops[1].probe_ttl = 3;
    let rec = Record::Trace(Box::new(t));
    let conv: Value = serde_json::from_str(&to_json(&rec).unwrap()).unwrap();
    assert!(conv.get("no_hops").is_none());
    let live: Value =
        serde_json::from_str(&to_json_with(&rec, &JsonOptions::live()).unwrap()).unwrap();
    assert_eq!(
        live["no_hops"],
        serde_json::json!([
            {"probe_ttl":1,"probe_id":1,"probe_size":44},
            {"probe_ttl":2,"probe_id":1,"probe_size":44},
            {"probe_ttl":2,"probe_id":2,"probe_size":44}
        ])
    );
}

#[test]
fn trace_extra_hops_and_unknown_flags() {
    let mut t = spec_trace();
    t.stop_hop = 1;
    t.flags = vec![0x20u32, 0x8000_0000]
        .into_iter()
        .fold(vantage_model::TraceFlags::empty(), |a, b| {
            a | vantage_model::TraceFlags(b)
        });
    t.method = TraceMethod::IcmpEchoParis;
    let v: Value = serde_json::from_str(&to_json(&Record::Trace(Box::new(t))).unwrap()).unwrap();
    assert_eq!(v["hop_count"], 1);
    assert_eq!(v["hops"].as_array().unwrap().len(), 1);
    assert_eq!(v["extra_hops"][0]["probe_ttl"], 2);
    assert_eq!(
        v["flags"],
        serde_json::json!(["icmp-csum-dport", "0x80000000"])
    );
    assert_eq!(v["icmp_sum"], 33435);
    assert!(v.get("sport").is_none());
}

#[test]
fn cycle_lines() {
    let list = Arc::new(List::new(7, "a\"b"));
    let c = Cycle {
        list,
        id: 3,
        start_time: 10,
        stop_time: Some(20),
        hostname: None,
    };
    let start = to_json(&Record::CycleStart(Arc::new(c.clone()))).unwrap();
    assert_eq!(
        start,
        r#"{"type":"cycle-start", "list_name":"a\"b", "id":3, "start_time":10}"#
    );
    let stop = to_json(&Record::CycleStop(Arc::new(c.clone()))).unwrap();
    assert_eq!(
        stop,
        r#"{"type":"cycle-stop", "list_name":"a\"b", "id":3, "stop_time":20}"#
    );
    assert_eq!(to_json(&Record::CycleDef(Arc::new(c))), None);
}

#[test]
fn encoder_reuses_its_buffer_and_ends_lines() {
    let recs = records("ping.warts");
    let mut enc = JsonEncoder::new(JsonOptions::converted());
    let mut n = 0;
    for r in &recs {
        if let Some(line) = enc.encode_line(r) {
            assert_eq!(line.last(), Some(&b'\n'));
            assert!(!line[..line.len() - 1].contains(&b'\n'));
            n += 1;
        }
    }
    assert_eq!(n, reference_lines("ping.warts").len());
}

/// The Vantage-only fields (raw DNS response, decode error, RDATA text, udpprobe reply
/// sender) come out as extra keys; records read from warts never have them.
#[test]
fn vantage_extensions_are_extra_keys() {
    let mut seen = 0;
    for name in ["host.warts", "udpprobe.warts"] {
        if !dir().join(name).exists() {
            continue;
        }
        for mut r in records(name) {
            let Some(plain) = to_json(&r) else { continue };
            for key in ["\"response\"", "\"error\"", "\"text\"", "\"rdata\""] {
                assert!(!plain.contains(key), "{plain}");
            }
            match &mut r {
                Record::Host(h) => {
                    let Some(q) = h.queries.first_mut() else {
                        continue;
                    };
                    q.response = Some(vec![0xab, 0xcd]);
                    q.error = Some("bad \"x\"".to_owned());
                    q.an.push(vantage_model::DnsRr {
                        class: 1,
                        rtype: 33,
                        name: Some("_s._udp.example".to_owned()),
                        ttl: 5,
                        data: None,
                        rdata: vec![0, 10],
                        text: Some("10 0 443 www.example.".to_owned()),
                    });
                }
                Record::Udpprobe(u) => {
                    let Some(rep) = u.probes.iter_mut().find_map(|p| p.replies.first_mut()) else {
                        continue;
                    };
                    rep.src = Some(v4("192.0.2.9"));
                    rep.sport = 4242;
                }
                _ => continue,
            }
            let line = to_json(&r).unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            match &r {
                Record::Host(_) => {
                    let q = &v["queries"][0];
                    assert_eq!(q["response"], "abcd", "{line}");
                    assert_eq!(q["error"], "bad \"x\"", "{line}");
                    let rr = q["an"].as_array().unwrap().last().unwrap().clone();
                    assert_eq!(rr["text"], "10 0 443 www.example.", "{line}");
                    assert_eq!(rr["rdata"], "000a", "{line}");
                }
                _ => {
                    assert!(
                        line.contains("\"src\":\"192.0.2.9\", \"sport\":4242"),
                        "{line}"
                    );
                }
            }
            seen += 1;
        }
    }
    assert!(
        seen >= 2,
        "no host or udpprobe records with queries and replies"
    );
}

fn fuzz_corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/warts_json")
}

#[test]
fn fuzz_corpus_replays_cleanly() {
    let Ok(entries) = std::fs::read_dir(fuzz_corpus()) else {
        panic!("missing fuzz corpus {}", fuzz_corpus().display());
    };
    let mut n = 0;
    for e in entries {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        warts_json(&data);
        n += 1;
    }
    assert!(n > 0, "empty fuzz corpus");
}

#[test]
fn json_checker_agrees_with_serde_on_testdata() {
    for name in WITH_JSON {
        for l in reference_lines(name) {
            assert_eq!(
                check_json(l.as_bytes()).is_ok(),
                serde_json::from_str::<Value>(&l).is_ok(),
                "{l}"
            );
        }
    }
    assert!(check_json(br#"{"a":[1,2.5,-3e2,"x\u00e9"],"b":{}}"#).is_ok());
    assert!(check_json(br#"{"a":01}"#).is_err());
    assert!(check_json(br#"{"a":1,}"#).is_err());
}

fn arb_addr() -> impl Strategy<Value = Addr> {
    prop_oneof![
        any::<u32>().prop_map(|v| Addr::V4(v.into())),
        any::<u128>().prop_map(|v| Addr::V6(v.into())),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Addr::V6(std::net::Ipv6Addr::new(
            0,
            0,
            0,
            0,
            0,
            0xffff,
            u16::from(a),
            u16::from(b)
        ))),
    ]
}

fn arb_ping() -> impl Strategy<Value = Ping> {
    (
        arb_addr(),
        any::<(u32, u32)>(),
        0u8..12,
        any::<u32>(),
        ".{0,12}",
        proptest::collection::vec(
            (
                any::<u8>(),
                arb_addr(),
                0u64..10_000_000,
                any::<u8>(),
                any::<u8>(),
            ),
            0..6,
        ),
        any::<u16>(),
        proptest::option::of(".{0,8}"),
    )
        .prop_map(
            |(dst, (sec, usec), method, flags, errmsg, replies, sent, ifname)| {
                let mut p = Ping::new(dst, Timestamp::new(sec, usec % 1_000_000));
                p.method = PingMethod::from_code(method);
                p.flags = vantage_model::PingFlags(flags);
                p.errmsg = Some(errmsg);
                p.probes_sent = sent % 16;
                p.data = vec![0xab; usize::from(sent % 5)];
                for (id, from, rtt, proto, ty) in replies {
                    let mut r =
                        PingReply::new(u16::from(id % 16), from, Duration::from_micros(rtt));
                    r.reply_proto = [1, 6, 17, 58, proto][usize::from(proto % 5)];
                    r.icmp_type = ty;
                    r.flags = PingReplyFlags(ty);
                    r.ifname.clone_from(&ifname);
                    r.tx = (rtt % 2 == 0).then_some(Timestamp::new(sec, 1));
                    r.rr = (ty % 3 == 0).then(|| vec![from, from]);
                    p.replies.push(r);
                }
                p.replies.sort_by_key(|r| r.probe_id);
                p
            },
        )
}

proptest! {
    #[test]
    fn any_ping_gives_valid_json_with_its_values(p in arb_ping(), live in any::<bool>()) {
        let opts = JsonOptions { live, utc_offset: None };
        let rec = Record::Ping(Box::new(p.clone()));
        let s = to_json_with(&rec, &opts).unwrap();
        let v: Value = serde_json::from_str(&s).unwrap();
        prop_assert_eq!(&v["dst"], &Value::String(p.dst.to_string()));
        prop_assert_eq!(v["ping_sent"].as_u64(), Some(u64::from(p.probes_sent)));
        prop_assert_eq!(v["responses"].as_array().map(Vec::len), Some(p.replies.len()));
        for (r, j) in p.replies.iter().zip(v["responses"].as_array().unwrap()) {
            let us = u64::try_from(r.rtt.as_micros()).unwrap();
            prop_assert_eq!(j["rtt"].as_f64(), Some(us as f64 / 1000.0));
            prop_assert_eq!(j["seq"].as_u64(), Some(u64::from(r.probe_id)));
        }
        let err = v["errmsg"].as_str().unwrap();
        let want: String = p.errmsg.as_deref().unwrap().chars().take_while(|c| (' '..='~').contains(c)).collect();
        prop_assert_eq!(err, want);
        prop_assert!(check_json(s.as_bytes()).is_ok());
    }

    #[test]
    fn any_trace_gives_valid_json(
        hops in proptest::collection::vec((arb_addr(), 1u8..40, 0u8..3, any::<u8>(), any::<u8>()), 0..10),
        hop_count in 0u16..50,
        stop_hop in any::<u8>(),
        flags in any::<u32>(),
        live in any::<bool>(),
        name in proptest::option::of(".{0,10}"),
    ) {
        let mut t = Trace::new(v4("192.0.2.1"), Timestamp::new(1, 2));
        t.hop_count = hop_count;
        t.stop_hop = stop_hop;
        t.flags = vantage_model::TraceFlags(flags);
        t.probes_sent = 20;
        for (addr, ttl, id, ty, fl) in hops {
            let mut h = TraceHop::new(addr, ttl, id, 44, Duration::from_micros(u64::from(ty) * 7));
            h.icmp_type = ty;
            h.flags = TraceReplyFlags(fl);
            h.name.clone_from(&name);
            t.hops.push(h);
        }
        t.hops.sort_by_key(|h| h.probe_ttl);
        let s = to_json_with(&Record::Trace(Box::new(t.clone())), &JsonOptions { live, utc_offset: None }).unwrap();
        let v: Value = serde_json::from_str(&s).unwrap();
        let n = v.get("hops").and_then(Value::as_array).map_or(0, Vec::len)
            + v.get("extra_hops").and_then(Value::as_array).map_or(0, Vec::len);
        prop_assert_eq!(n, t.hops.len());
    }
}

/// PMTUD output as we read json.md §4 (no test vector has notes): a note's
/// `dist` is the TTL where the trace saw the note's reply address, else the
/// probe TTL minus the quoted TTL; notes are suppressed when an out-MTU is
/// recorded and the first note is not a reply-less silence note.
#[test]
fn pmtud_notes() {
    use vantage_model::{PmtudNote, PmtudNoteKind, TraceFlags, TracePmtud};
    let mut t = spec_trace();
    t.flags = TraceFlags::PMTUD;
    let mut ptb = TraceHop::new(v4("192.0.2.254"), 255, 0, 1500, Duration::from_micros(900));
    (ptb.icmp_type, ptb.icmp_code, ptb.nhmtu, ptb.icmp_q_ttl) = (3, 4, 1400, 255);
    let mut far = TraceHop::new(v4("203.0.113.9"), 255, 0, 1400, Duration::from_micros(900));
    (far.icmp_type, far.icmp_code, far.nhmtu, far.icmp_q_ttl) = (3, 4, 1280, 250);
    t.pmtud = Some(TracePmtud {
        version: 2,
        if_mtu: 1500,
        path_mtu: 1280,
        out_mtu: 0,
        hops: vec![ptb, far],
        notes: vec![
            PmtudNote {
                kind: PmtudNoteKind::Ptb,
                nhmtu: 1400,
                hop: Some(0),
            },
            PmtudNote {
                kind: PmtudNoteKind::Ptb,
                nhmtu: 1280,
                hop: Some(1),
            },
            PmtudNote {
                kind: PmtudNoteKind::Silence,
                nhmtu: 1200,
                hop: None,
            },
        ],
    });
    let rec = Record::Trace(Box::new(t.clone()));
    let v: Value = serde_json::from_str(&to_json(&rec).unwrap()).unwrap();
    assert_eq!(
        v["pmtud"],
        serde_json::json!({
            "if_mtu":1500,"out_mtu":1500,"path_mtu":1280,"probec":2,"notec":3,
            "notes":[
                {"nhmtu":1400,"hop_id":0,"dist":1,"type":"ptb","icmp_nhmtu":1400,"addr":"192.0.2.254"},
                {"nhmtu":1280,"hop_id":1,"dist":5,"type":"ptb","icmp_nhmtu":1280,"addr":"203.0.113.9"},
                {"nhmtu":1200,"type":"silence"}
            ],
            "hops": v["pmtud"]["hops"].clone()
        })
    );
    assert_eq!(v["pmtud"]["hops"][0]["icmp_nhmtu:"], 1400);
    // An out-MTU with a first note that has a reply: no notes.
    t.pmtud.as_mut().unwrap().out_mtu = 1492;
    let v: Value =
        serde_json::from_str(&to_json(&Record::Trace(Box::new(t.clone()))).unwrap()).unwrap();
    assert!(v["pmtud"].get("notes").is_none());
    assert_eq!(v["pmtud"]["out_mtu"], 1492);
    // Version 1 structures are not written at all.
    t.pmtud.as_mut().unwrap().version = 1;
    let v: Value = serde_json::from_str(&to_json(&Record::Trace(Box::new(t))).unwrap()).unwrap();
    assert!(v.get("pmtud").is_none());
}
