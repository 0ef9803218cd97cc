//! Reads the real scamper files in /work/shared/testdata/warts (or
//! $VANTAGE_TESTDATA) and checks fields against the dumps and JSON of scamper's
//! own tools, and byte-identical write-back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use vantage_model::Record;
use vantage_warts::{Writer, open};

fn dir() -> PathBuf {
    std::env::var_os("VANTAGE_TESTDATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/warts"),
        PathBuf::from,
    )
}

fn read_all(name: &str) -> Vec<Record> {
    let r = open(dir().join(name)).unwrap();
    r.map(|x| x.unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

fn raw(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap()
}

fn rewrite(recs: &[Record]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    for r in recs {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

fn first_diff(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

#[test]
fn ping_and_trace_rewrite_byte_identical() {
    for name in ["ping.warts", "trace.warts"] {
        let recs = read_all(name);
        let out = rewrite(&recs);
        let orig = raw(name);
        assert_eq!(first_diff(&orig, &out), None, "{name} differs");
    }
}

use serde_json::Value;
use vantage_model::{Addr, Ping, Timestamp, Trace};

fn json_lines(name: &str) -> Vec<Option<Value>> {
    std::fs::read_to_string(dir().join(format!("{name}.json")))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn u(v: &Value, k: &str) -> u64 {
    v.get(k)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("missing {k} in {v}"))
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing {k} in {v}"))
}

fn opt_addr(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn ts(v: &Value, k: &str) -> Timestamp {
    let t = &v[k];
    Timestamp::new(u(t, "sec") as u32, u(t, "usec") as u32)
}

/// A "ms.uuu" RTT as microseconds.
fn ms(v: &Value, k: &str) -> u128 {
    let f = v
        .get(k)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("missing {k} in {v}"));
    (f * 1000.0).round() as u128
}

fn addr_str(a: Option<&Addr>) -> Option<String> {
    a.map(ToString::to_string)
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

fn names(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn check_ping(p: &Ping, j: &Value) {
    assert_eq!(s(j, "method"), p.method.name().unwrap());
    assert_eq!(opt_addr(j, "src"), addr_str(p.src.as_ref()));
    assert_eq!(opt_addr(j, "dst"), Some(p.dst.to_string()));
    assert_eq!(ts(j, "start"), p.start);
    assert_eq!(s(j, "stop_reason"), p.stop_reason.name().unwrap());
    assert_eq!(u(j, "stop_data"), u64::from(p.stop_data));
    assert_eq!(j.get("errmsg").and_then(Value::as_str), p.errmsg.as_deref());
    assert_eq!(u(j, "ping_sent"), u64::from(p.probes_sent));
    assert_eq!(u(j, "probe_size"), u64::from(p.probe_size));
    assert_eq!(u(j, "userid"), u64::from(p.user_id));
    assert_eq!(u(j, "ttl"), u64::from(p.ttl));
    assert_eq!(u(j, "tos"), u64::from(p.tos));
    assert_eq!(u(j, "wait"), p.wait_probe.as_secs());
    assert_eq!(
        j.get("wait_us").and_then(Value::as_u64).unwrap_or(0),
        u64::from(p.wait_probe.subsec_micros())
    );
    assert_eq!(u(j, "timeout"), p.wait_timeout.as_secs());
    if p.method.is_tcp() || p.method.is_udp() {
        assert_eq!(u(j, "sport"), u64::from(p.sport));
        assert_eq!(u(j, "dport"), u64::from(p.dport));
    }
    if p.method.is_tcp() {
        assert_eq!(u(j, "tcp_seq"), u64::from(p.tcp_seq));
        assert_eq!(u(j, "tcp_ack"), u64::from(p.tcp_ack));
    }
    let key = if p.flags.contains(vantage_model::PingFlags::PAYLOAD) {
        "payload"
    } else {
        "pattern"
    };
    if !p.data.is_empty() {
        assert_eq!(s(j, key), hex(&p.data));
    }
    assert_eq!(names(j, "flags"), p.flags.names().collect::<Vec<_>>());
    if let Some(c) = j.get("icmp_csum") {
        assert_eq!(c.as_u64(), Some(u64::from(p.icmp_csum)));
    }
    let resp = j["responses"].as_array().unwrap();
    assert_eq!(resp.len(), p.replies.len());
    for (r, jr) in p.replies.iter().zip(resp) {
        assert_eq!(opt_addr(jr, "from"), Some(r.from.to_string()));
        assert_eq!(u(jr, "reply_size"), u64::from(r.reply_size));
        assert_eq!(u(jr, "reply_ttl"), u64::from(r.reply_ttl));
        assert_eq!(u(jr, "seq"), u64::from(r.probe_id));
        if let Some(tx) = r.tx {
            assert_eq!(ts(jr, "tx"), tx);
            assert_eq!(ts(jr, "rx"), r.rx().unwrap());
        }
        assert_eq!(ms(jr, "rtt"), r.rtt.as_micros());
        if let Some(v) = jr.get("reply_ipid") {
            assert_eq!(v.as_u64(), Some(u64::from(r.reply_ipid)));
        }
        if let Some(v) = jr.get("probe_ipid") {
            assert_eq!(v.as_u64(), Some(u64::from(r.probe_ipid)));
        }
        if let Some(v) = jr.get("reply_tos") {
            assert_eq!(v.as_u64(), Some(u64::from(r.reply_tos)));
        }
        assert_eq!(
            jr.get("ifname").and_then(Value::as_str),
            r.ifname.as_deref()
        );
        let proto = match r.reply_proto {
            1 | 58 => "icmp",
            6 => "tcp",
            17 => "udp",
            _ => "?",
        };
        assert_eq!(s(jr, "reply_proto"), proto);
        if r.is_icmp() {
            assert_eq!(u(jr, "icmp_type"), u64::from(r.icmp_type));
            assert_eq!(u(jr, "icmp_code"), u64::from(r.icmp_code));
        }
        if r.is_tcp() {
            assert_eq!(u(jr, "tcp_flags"), u64::from(r.tcp_flags));
        }
        let rr: Option<Vec<String>> = jr.get("RR").map(|a| {
            a.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_owned())
                .collect()
        });
        assert_eq!(
            rr,
            r.rr.as_ref()
                .map(|v| v.iter().map(ToString::to_string).collect())
        );
        if let Some(tsa) = jr.get("tsandaddr").and_then(Value::as_array) {
            let ipts = r.ip_ts.as_ref().unwrap();
            assert_eq!(tsa.len(), ipts.timestamps.len());
            for (i, e) in tsa.iter().enumerate() {
                assert_eq!(u(e, "ts"), u64::from(ipts.timestamps[i]));
                assert_eq!(s(e, "ip"), ipts.addrs[i].to_string());
            }
        }
        if let Some(tso) = jr.get("tsonly").and_then(Value::as_array) {
            let ipts = r.ip_ts.as_ref().unwrap();
            let got: Vec<u64> = tso.iter().map(|x| x.as_u64().unwrap()).collect();
            assert_eq!(
                got,
                ipts.timestamps
                    .iter()
                    .map(|&x| u64::from(x))
                    .collect::<Vec<_>>()
            );
        }
    }
    // Statistics as scamper computes them.
    let st = p.stats();
    let js = &j["statistics"];
    assert_eq!(u(js, "replies"), u64::from(st.nreplies), "replies");
    if let Some(v) = js.get("min") {
        assert_eq!(ms(js, "min"), st.min_rtt.unwrap().as_micros());
        assert_eq!(ms(js, "max"), st.max_rtt.unwrap().as_micros());
        assert_eq!(ms(js, "avg"), st.avg_rtt.unwrap().as_micros(), "avg");
        assert_eq!(
            ms(js, "stddev"),
            st.stddev_rtt.unwrap().as_micros(),
            "stddev"
        );
        if let Some(l) = js.get("loss") {
            let sent = u64::from(p.probes_sent) - u64::from(st.npending);
            let want = if st.nreplies == 0 {
                1.0
            } else {
                (sent - u64::from(st.nreplies)) as f64 / sent as f64
            };
            assert!((l.as_f64().unwrap() - want).abs() < 0.006, "loss");
        }
        assert!(v.is_number());
    } else {
        assert_eq!(st.min_rtt, None);
    }
    assert_eq!(
        js.get("ndups").and_then(Value::as_u64).unwrap_or(0),
        u64::from(st.ndups)
    );
    assert_eq!(
        js.get("nerrs").and_then(Value::as_u64).unwrap_or(0),
        u64::from(st.nerrs)
    );
}

fn check_trace(t: &Trace, j: &Value) {
    assert_eq!(s(j, "method"), t.method.name().unwrap());
    assert_eq!(u(j, "userid"), u64::from(t.user_id));
    assert_eq!(opt_addr(j, "src"), addr_str(t.src.as_ref()));
    assert_eq!(opt_addr(j, "dst"), Some(t.dst.to_string()));
    if t.method.is_tcp() || t.method.is_udp() {
        assert_eq!(u(j, "sport"), u64::from(t.sport));
        assert_eq!(u(j, "dport"), u64::from(t.dport));
    }
    assert_eq!(
        s(j, "stop_reason"),
        t.stop_reason.name().unwrap().to_uppercase()
    );
    assert_eq!(u(j, "stop_data"), u64::from(t.stop_data));
    assert_eq!(ts(j, "start"), t.start);
    assert_eq!(u(j, "hop_count"), u64::from(t.effective_hop_count()));
    assert_eq!(u(j, "attempts"), u64::from(t.attempts));
    assert_eq!(u(j, "hoplimit"), u64::from(t.hoplimit));
    assert_eq!(u(j, "firsthop"), u64::from(t.firsthop));
    assert_eq!(u(j, "wait"), t.wait_timeout.as_secs());
    assert_eq!(
        u128::from(u(j, "wait_probe")),
        t.wait_probe.as_millis() / 10
    );
    assert_eq!(u(j, "tos"), u64::from(t.tos));
    assert_eq!(u(j, "probe_size"), u64::from(t.probe_size));
    assert_eq!(u(j, "probe_count"), u64::from(t.probes_sent));
    assert_eq!(names(j, "flags"), t.flags.names().collect::<Vec<_>>());
    let mut jhops: Vec<&Value> = Vec::new();
    for k in ["hops", "extra_hops"] {
        if let Some(a) = j.get(k).and_then(Value::as_array) {
            jhops.extend(a);
        }
    }
    assert_eq!(jhops.len(), t.hops.len());
    for (h, jh) in t.hops.iter().zip(jhops) {
        assert_eq!(s(jh, "addr"), h.addr.to_string());
        assert_eq!(jh.get("name").and_then(Value::as_str), h.name.as_deref());
        assert_eq!(u(jh, "probe_ttl"), u64::from(h.probe_ttl));
        assert_eq!(u(jh, "probe_id"), u64::from(h.probe_id) + 1);
        assert_eq!(u(jh, "probe_size"), u64::from(h.probe_size));
        if let Some(tx) = h.tx {
            assert_eq!(ts(jh, "tx"), tx);
        }
        assert_eq!(ms(jh, "rtt"), h.rtt.as_micros());
        assert_eq!(u(jh, "reply_ttl"), u64::from(h.reply_ttl));
        assert_eq!(u(jh, "reply_tos"), u64::from(h.reply_tos));
        assert_eq!(u(jh, "reply_ipid"), u64::from(h.reply_ipid));
        assert_eq!(u(jh, "reply_size"), u64::from(h.reply_size));
        let hf: Vec<String> = h
            .flags
            .names()
            .filter(|n| n.ends_with("ts"))
            .map(str::to_owned)
            .collect();
        let mut jf = names(jh, "flags");
        jf.sort();
        let mut hf = hf;
        hf.sort();
        assert_eq!(jf, hf);
        if h.is_icmp() {
            assert_eq!(u(jh, "icmp_type"), u64::from(h.icmp_type));
            assert_eq!(u(jh, "icmp_code"), u64::from(h.icmp_code));
        }
        if h.is_icmp_quoting() {
            assert_eq!(u(jh, "icmp_q_ttl"), u64::from(h.icmp_q_ttl));
            assert_eq!(u(jh, "icmp_q_ipl"), u64::from(h.icmp_q_ipl));
            assert_eq!(u(jh, "icmp_q_tos"), u64::from(h.icmp_q_tos));
        }
        if h.is_tcp() {
            assert_eq!(u(jh, "tcp_flags"), u64::from(h.tcp_flags));
        }
        assert_eq!(jh.get("icmpext").is_some(), !h.icmp_exts.is_empty());
    }
}

/// Walks a file's records alongside its sc_warts2json lines.
fn check_against_json(name: &str) -> (usize, usize) {
    let recs = read_all(name);
    let lines = json_lines(name);
    let mut li = lines.iter();
    let mut checked = 0;
    for r in &recs {
        let has_json = match r {
            Record::List(_) | Record::CycleDef(_) | Record::Http(_) | Record::Sniff(_) => false,
            Record::Unsupported(raw) => !matches!(raw.kind, 0x0c | 0x0d | 0x0f),
            _ => true,
        };
        if !has_json {
            continue;
        }
        let Some(line) = li.next() else { break };
        let Some(j) = line else { continue };
        match r {
            Record::Ping(p) => {
                assert_eq!(s(j, "type"), "ping");
                check_ping(p, j);
                checked += 1;
            }
            Record::Trace(t) => {
                assert_eq!(s(j, "type"), "trace");
                check_trace(t, j);
                checked += 1;
            }
            Record::CycleStart(c) => {
                assert_eq!(s(j, "type"), "cycle-start");
                assert_eq!(u(j, "start_time"), u64::from(c.start_time));
                assert_eq!(s(j, "list_name"), c.list.name);
                assert_eq!(
                    j.get("hostname").and_then(Value::as_str),
                    c.hostname.as_deref()
                );
            }
            Record::CycleStop(c) => {
                assert_eq!(s(j, "type"), "cycle-stop");
                assert_eq!(Some(u(j, "stop_time") as u32), c.stop_time);
            }
            _ => {}
        }
    }
    (recs.len(), checked)
}

#[test]
fn ping_fields_match_sc_warts2json() {
    let (n, checked) = check_against_json("ping.warts");
    assert_eq!((n, checked), (35, 32));
    let (_, checked) = check_against_json("ping-ts.warts");
    assert_eq!(
        checked, 1,
        "line 2 of ping-ts.warts.json is invalid JSON (scamper bug)"
    );
}

#[test]
fn trace_fields_match_sc_warts2json() {
    let (n, checked) = check_against_json("trace.warts");
    assert_eq!((n, checked), (41, 38));
}

#[test]
fn compressed_files_read_transparently() {
    for (name, min) in [
        ("mixed.warts.gz", 4),
        ("mixed.warts.bz2", 2),
        ("mixed.warts.xz", 2),
    ] {
        let (_, checked) = check_against_json(name);
        assert!(
            checked >= min,
            "{name}: only {checked} ping/trace records checked"
        );
    }
}

fn decompressed(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let f = std::fs::File::open(dir().join(name)).unwrap();
    std::io::Read::read_to_end(&mut vantage_warts::decompress(f).unwrap(), &mut out).unwrap();
    out
}

#[test]
fn every_type_rewrites_byte_identical() {
    for name in [
        "ping.warts",
        "ping-ts.warts",
        "trace.warts",
        "tracelb.warts",
        "dealias.warts",
        "dealias-midar.warts",
        "host.warts",
        "http.warts",
        "udpprobe.warts",
        "sniff.warts",
        "mixed.warts.gz",
    ] {
        let recs = read_all(name);
        assert!(
            !recs.iter().any(|r| matches!(r, Record::Unsupported(_))),
            "{name}: unsupported record"
        );
        let out = rewrite(&recs);
        let orig = decompressed(name);
        assert_eq!(first_diff(&orig, &out), None, "{name} differs");
    }
}
