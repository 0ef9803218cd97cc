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
        "mixed.warts.bz2",
        "mixed.warts.xz",
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

use vantage_model::{Dealias, DealiasMethod, DnsRrData, Host, Http, Sniff, Tracelb, Udpprobe};

fn opt_u(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

fn us(d: std::time::Duration) -> u128 {
    d.as_micros()
}

/// Every reply object (one with "rx" and "rtt") in a tracelb JSON value.
fn tracelb_json_replies(v: &Value, out: &mut Vec<(Timestamp, u64, u128, Option<u64>)>) {
    match v {
        Value::Object(m) => {
            if m.contains_key("rx") && m.contains_key("rtt") {
                out.push((ts(v, "rx"), u(v, "ttl"), ms(v, "rtt"), opt_u(v, "ipid")));
            }
            m.values().for_each(|x| tracelb_json_replies(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| tracelb_json_replies(x, out)),
        _ => {}
    }
}

fn check_tracelb(t: &Tracelb, j: &Value) {
    assert_eq!(s(j, "method"), t.method.name().unwrap());
    assert_eq!(opt_addr(j, "src"), addr_str(t.src.as_ref()));
    assert_eq!(opt_addr(j, "dst"), Some(t.dst.to_string()));
    assert_eq!(ts(j, "start"), t.start);
    if t.method.is_tcp() || t.method.is_udp() {
        assert_eq!(u(j, "sport"), u64::from(t.sport));
        assert_eq!(u(j, "dport"), u64::from(t.dport));
    }
    for (k, v) in [
        ("probe_size", u64::from(t.probe_size)),
        ("firsthop", u64::from(t.firsthop)),
        ("attempts", u64::from(t.attempts)),
        ("confidence", u64::from(t.confidence)),
        ("tos", u64::from(t.tos)),
        ("gaplimit", u64::from(t.gaplimit)),
        ("wait_timeout", t.wait_timeout.as_secs()),
        ("wait_probe", (t.wait_probe.as_millis() / 10) as u64),
        ("probec", u64::from(t.probes_sent)),
        ("probec_max", u64::from(t.max_probes)),
        ("nodec", t.nodes.len() as u64),
        ("linkc", t.links.len() as u64),
    ] {
        assert_eq!(u(j, k), v, "tracelb {k}");
    }
    let with_links: Vec<(usize, &vantage_model::TracelbNode)> = t
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| t.node_links(*i as u16).next().is_some())
        .collect();
    let jn = j
        .get("nodes")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    assert_eq!(jn.len(), with_links.len());
    for ((i, n), jn) in with_links.iter().zip(jn) {
        assert_eq!(
            s(jn, "addr"),
            n.addr.map_or("*".to_owned(), |a| a.to_string())
        );
        assert_eq!(opt_u(jn, "q_ttl"), n.q_ttl.map(u64::from));
        assert_eq!(u(jn, "linkc"), t.node_links(*i as u16).count() as u64);
    }
    let mut want = Vec::new();
    tracelb_json_replies(j, &mut want);
    let have: Vec<_> = t
        .links
        .iter()
        .flat_map(|l| l.probesets.iter().flatten())
        .flat_map(|p| p.replies.iter().map(move |r| (p, r)))
        .map(|(p, r)| {
            (
                r.rx,
                u64::from(r.ttl),
                r.rx.since(p.tx).as_micros(),
                Some(u64::from(r.ipid)),
            )
        })
        .collect();
    assert!(!want.is_empty());
    for w in &want {
        assert!(have.contains(w), "tracelb reply {w:?} not in the model");
    }
}

fn check_dealias(x: &Dealias, j: &Value) {
    assert_eq!(s(j, "method"), x.method.name().unwrap());
    assert_eq!(u(j, "userid"), u64::from(x.user_id));
    assert_eq!(s(j, "result"), x.result.name().unwrap());
    assert_eq!(ts(j, "start"), x.start);
    let msv = |d: std::time::Duration| d.as_millis() as u64;
    match &x.method {
        DealiasMethod::Mercator {
            attempts,
            wait_timeout,
        } => {
            assert_eq!(u(j, "attempts"), u64::from(*attempts));
            assert_eq!(u(j, "wait_timeout"), wait_timeout.as_secs());
        }
        DealiasMethod::Ally {
            wait_probe,
            wait_timeout,
            attempts,
            fudge,
            flags,
        } => {
            assert_eq!(u(j, "wait_probe"), msv(*wait_probe));
            assert_eq!(u(j, "wait_timeout"), wait_timeout.as_secs());
            assert_eq!(u(j, "attempts"), u64::from(*attempts));
            assert_eq!(u(j, "fudge"), u64::from(*fudge));
            assert_eq!(names(j, "flags"), flags.names().collect::<Vec<_>>());
        }
        DealiasMethod::Radargun {
            rounds,
            wait_probe,
            wait_round,
            wait_timeout,
            ..
        } => {
            assert_eq!(u(j, "attempts"), u64::from(*rounds));
            assert_eq!(u(j, "wait_probe"), msv(*wait_probe));
            assert_eq!(u(j, "wait_round"), msv(*wait_round) & 0xffff);
            assert_eq!(u(j, "wait_timeout"), wait_timeout.as_secs());
        }
        DealiasMethod::Prefixscan {
            a,
            b,
            prefix,
            attempts,
            fudge,
            wait_probe,
            wait_timeout,
            replyc,
            ..
        } => {
            assert_eq!(opt_addr(j, "a"), addr_str(a.as_ref()));
            assert_eq!(opt_addr(j, "b"), b.map(|b| format!("{b}/{prefix}")));
            assert_eq!(u(j, "attempts"), u64::from(*attempts));
            assert_eq!(u(j, "replyc"), u64::from(*replyc));
            assert_eq!(u(j, "fudge"), u64::from(*fudge));
            assert_eq!(u(j, "wait_probe"), msv(*wait_probe));
            assert_eq!(u(j, "wait_timeout"), wait_timeout.as_secs());
        }
        DealiasMethod::Bump {
            wait_probe,
            bump_limit,
            attempts,
        } => {
            assert_eq!(u(j, "wait_probe"), msv(*wait_probe));
            assert_eq!(u(j, "bump_limit"), u64::from(*bump_limit));
            assert_eq!(u(j, "attempts"), u64::from(*attempts));
        }
        m => panic!("no JSON expected for {m:?}"),
    }
    let jd = j["probedefs"].as_array().unwrap();
    assert_eq!(jd.len(), x.probedefs.len());
    for (i, (def, jd)) in x.probedefs.iter().zip(jd).enumerate() {
        assert_eq!(u(jd, "id"), i as u64);
        assert_eq!(opt_addr(jd, "src"), addr_str(def.src.as_ref()));
        assert_eq!(opt_addr(jd, "dst"), addr_str(def.dst.as_ref()));
        assert_eq!(u(jd, "ttl"), u64::from(def.ttl));
        assert_eq!(u(jd, "size"), u64::from(def.size));
        assert_eq!(s(jd, "method"), def.method.name().unwrap());
        if def.method.is_icmp() {
            assert_eq!(u(jd, "icmp_id"), u64::from(def.icmp_id));
            assert_eq!(u(jd, "icmp_csum"), u64::from(def.icmp_csum));
        } else if def.method.is_udp() {
            assert_eq!(u(jd, "udp_sport"), u64::from(def.sport));
            assert_eq!(u(jd, "udp_dport"), u64::from(def.dport));
        } else {
            assert_eq!(u(jd, "tcp_sport"), u64::from(def.sport));
            assert_eq!(u(jd, "tcp_dport"), u64::from(def.dport));
            assert_eq!(u(jd, "tcp_flags"), u64::from(def.tcp_flags));
        }
    }
    let jp = j["probes"].as_array().unwrap();
    assert_eq!(jp.len(), x.probes.len());
    for (pr, jp) in x.probes.iter().zip(jp) {
        assert_eq!(u(jp, "probedef_id"), u64::from(pr.probedef));
        assert_eq!(u(jp, "seq"), u64::from(pr.seq));
        assert_eq!(ts(jp, "tx"), pr.tx);
        if let Some(v) = opt_u(jp, "ipid") {
            assert_eq!(v, u64::from(pr.ipid));
        }
        let jr = jp["replies"].as_array().unwrap();
        assert_eq!(jr.len(), pr.replies.len());
        for (r, jr) in pr.replies.iter().zip(jr) {
            assert_eq!(s(jr, "src"), r.src.to_string());
            assert_eq!(ts(jr, "rx"), r.rx);
            assert_eq!(u(jr, "ttl"), u64::from(r.ttl));
            assert_eq!(opt_u(jr, "size").unwrap_or(0), u64::from(r.size));
            assert_eq!(opt_u(jr, "ipid").unwrap_or(0), u64::from(r.ipid));
            assert_eq!(u(jr, "proto"), u64::from(r.proto));
            if r.is_icmp() {
                assert_eq!(u(jr, "icmp_type"), u64::from(r.icmp_type));
                assert_eq!(u(jr, "icmp_code"), u64::from(r.icmp_code));
            }
            if r.is_tcp() {
                assert_eq!(u(jr, "tcp_flags"), u64::from(r.tcp_flags));
            }
        }
    }
}

fn rr_type_name(t: u16) -> String {
    vantage_model::RR_TYPES
        .iter()
        .find(|(c, _)| *c == t)
        .map_or(t.to_string(), |(_, n)| (*n).to_owned())
}

fn class_name(c: u16) -> String {
    match c {
        1 => "IN".to_owned(),
        3 => "CH".to_owned(),
        n => n.to_string(),
    }
}

fn check_host(h: &Host, j: &Value) {
    assert_eq!(opt_addr(j, "src"), addr_str(h.src.as_ref()));
    assert_eq!(opt_addr(j, "dst"), Some(h.dst.to_string()));
    assert_eq!(u(j, "userid"), u64::from(h.user_id));
    assert_eq!(ts(j, "start"), h.start);
    assert_eq!(u128::from(u(j, "wait")), h.wait_timeout.as_millis());
    assert_eq!(u(j, "retries"), u64::from(h.retries));
    assert_eq!(s(j, "stop"), h.stop_reason.name().unwrap().to_uppercase());
    assert_eq!(j.get("qname").and_then(Value::as_str), h.qname.as_deref());
    assert_eq!(s(j, "qclass"), class_name(h.qclass));
    assert_eq!(s(j, "qtype"), rr_type_name(h.qtype));
    assert_eq!(u(j, "qcount"), h.queries.len() as u64);
    assert_eq!(names(j, "flags"), h.flags.names().collect::<Vec<_>>());
    let jq = j["queries"].as_array().unwrap();
    assert_eq!(jq.len(), h.queries.len());
    for (q, jq) in h.queries.iter().zip(jq) {
        assert_eq!(u(jq, "id"), u64::from(q.id));
        assert_eq!(ts(jq, "tx"), q.tx);
        assert_eq!(u(jq, "ancount"), q.an.len() as u64);
        assert_eq!(u(jq, "nscount"), q.ns.len() as u64);
        assert_eq!(u(jq, "arcount"), q.ar.len() as u64);
        if q.has_response() {
            assert_eq!(ts(jq, "rx"), q.rx);
        }
        for (k, sec) in [("an", &q.an), ("ns", &q.ns), ("ar", &q.ar)] {
            let jr = jq
                .get(k)
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            assert_eq!(jr.len(), sec.len());
            for (rr, jr) in sec.iter().zip(jr) {
                assert_eq!(s(jr, "class"), class_name(rr.class));
                assert_eq!(s(jr, "type"), rr_type_name(rr.rtype));
                assert_eq!(u(jr, "ttl"), u64::from(rr.ttl));
                assert_eq!(jr.get("name").and_then(Value::as_str), rr.name.as_deref());
                match &rr.data {
                    Some(DnsRrData::Addr(a)) => assert_eq!(s(jr, "address"), a.to_string()),
                    Some(DnsRrData::Name(n)) => {
                        let key = match rr.rtype {
                            2 => "nsdname",
                            5 => "cname",
                            _ => "ptrdname",
                        };
                        assert_eq!(s(jr, key), n);
                    }
                    Some(DnsRrData::Soa(soa)) => {
                        assert_eq!(s(jr, "mname"), soa.mname);
                        assert_eq!(s(jr, "rname"), soa.rname);
                        assert_eq!(u(jr, "serial"), u64::from(soa.serial));
                        assert_eq!(u(jr, "minimum"), u64::from(soa.minimum));
                    }
                    Some(DnsRrData::Txt(strs)) => {
                        assert_eq!(u(jr, "strc"), strs.len() as u64);
                        let js: Vec<&str> = jr["strs"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|x| x.as_str().unwrap())
                            .collect();
                        let ms: Vec<String> = strs
                            .iter()
                            .map(|b| String::from_utf8_lossy(b).into_owned())
                            .collect();
                        assert_eq!(js, ms);
                    }
                    Some(DnsRrData::Mx {
                        preference,
                        exchange,
                    }) => {
                        assert_eq!(u(jr, "preference"), u64::from(*preference));
                        assert_eq!(s(jr, "exchange"), exchange);
                    }
                    _ => {}
                }
            }
        }
    }
}

fn check_udpprobe(x: &Udpprobe, j: &Value) {
    assert_eq!(opt_addr(j, "src"), addr_str(x.src.as_ref()));
    assert_eq!(opt_addr(j, "dst"), addr_str(x.dst.as_ref()));
    assert_eq!(u(j, "userid"), u64::from(x.user_id));
    assert_eq!(ts(j, "start"), x.start);
    assert_eq!(u(j, "sport"), u64::from(x.sport));
    assert_eq!(u(j, "dport"), u64::from(x.dport));
    let wt = &j["wait_timeout"];
    assert_eq!(
        u128::from(u(wt, "sec")) * 1_000_000 + u128::from(u(wt, "usec")),
        us(x.wait_timeout)
    );
    assert_eq!(s(j, "stop_reason"), x.stop_reason.name().unwrap());
    assert_eq!(
        j.get("data").and_then(Value::as_str).map(str::to_owned),
        (!x.payload.is_empty()).then(|| hex(&x.payload))
    );
    assert_eq!(u(j, "len"), x.payload.len() as u64);
    assert_eq!(u(j, "probe_count"), u64::from(x.probe_count));
    assert_eq!(u(j, "probe_sent"), x.probes.len() as u64);
    assert_eq!(u(j, "stop_count"), u64::from(x.stop_count));
    assert_eq!(names(j, "flags"), x.flags.names().collect::<Vec<_>>());
    let jp = j["probes"].as_array().unwrap();
    assert_eq!(jp.len(), x.probes.len());
    for (p, jp) in x.probes.iter().zip(jp) {
        assert_eq!(ts(jp, "tx"), p.tx);
        assert_eq!(u(jp, "sport"), u64::from(p.sport));
        assert_eq!(u(jp, "replyc"), p.replies.len() as u64);
        let jr = jp["replies"].as_array().unwrap();
        for (r, jr) in p.replies.iter().zip(jr) {
            assert_eq!(ts(jr, "rx"), r.rx);
            let rtt = &jr["rtt"];
            assert_eq!(
                u128::from(u(rtt, "sec")) * 1_000_000 + u128::from(u(rtt, "usec")),
                us(r.rx.since(p.tx))
            );
            assert_eq!(u(jr, "len"), r.data.len() as u64);
            assert_eq!(s(jr, "data"), hex(&r.data));
            assert_eq!(
                jr.get("ifname").and_then(Value::as_str),
                r.ifname.as_deref()
            );
        }
    }
}

/// Walks a file's records alongside its sc_warts2json lines, for every type
/// with a JSON form; returns how many measurement records were compared.
fn check_all_against_json(name: &str) -> usize {
    let recs = read_all(name);
    let lines = json_lines(name);
    let mut li = lines.iter();
    let mut checked = 0;
    for r in &recs {
        if matches!(
            r,
            Record::List(_) | Record::CycleDef(_) | Record::Http(_) | Record::Sniff(_)
        ) {
            continue;
        }
        let Some(Some(j)) = li.next() else { break };
        checked += 1;
        match r {
            Record::Ping(p) => check_ping(p, j),
            Record::Trace(t) => check_trace(t, j),
            Record::Tracelb(t) => check_tracelb(t, j),
            Record::Dealias(x) => check_dealias(x, j),
            Record::Host(h) => check_host(h, j),
            Record::Udpprobe(x) => check_udpprobe(x, j),
            Record::Neighbourdisc(x) => check_neighbourdisc(x, j),
            _ => checked -= 1,
        }
    }
    checked
}

#[test]
fn other_types_match_sc_warts2json() {
    assert_eq!(check_all_against_json("tracelb.warts"), 5);
    assert_eq!(check_all_against_json("dealias.warts"), 13);
    assert_eq!(check_all_against_json("host.warts"), 27);
    assert_eq!(check_all_against_json("udpprobe.warts"), 8);
    assert_eq!(check_all_against_json("mixed.warts.gz"), 9);
    assert_eq!(check_all_against_json("mixed.warts.bz2"), 6);
    assert_eq!(check_all_against_json("mixed.warts.xz"), 6);
}

fn dump_blocks<'a>(dump: &'a str, head: &str) -> Vec<Vec<&'a str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    let mut cur: Option<Vec<&str>> = None;
    for line in dump.lines() {
        if !line.starts_with(' ') {
            if let Some(c) = cur.take() {
                out.push(c);
            }
            if line.starts_with(head) {
                cur = Some(vec![line]);
            }
        } else if let Some(c) = cur.as_mut() {
            c.push(line);
        }
    }
    out.extend(cur);
    out
}

fn offset_str(t: Timestamp, start: Timestamp) -> String {
    let d = t.since(start);
    format!("{}.{:06}", d.as_secs(), d.subsec_micros())
}

fn check_http(h: &Http, block: &[&str]) {
    assert_eq!(
        block[0],
        format!("http from {} to {}", h.src.unwrap(), h.dst.unwrap())
    );
    let text = block.join("\n");
    assert!(
        text.contains(&format!(" sport: {}, dport: {}", h.sport, h.dport)),
        "{text}"
    );
    assert!(text.contains(&format!(" {:06}\n", h.start.usec)));
    assert!(text.contains(&format!("maxtime: {}s", h.maxtime.as_secs())));
    assert!(text.contains(&format!("stop: {}", h.stop_reason.name().unwrap())));
    if !h.hsrtt.is_zero() {
        assert!(text.contains(&format!(
            "hs-rtt: {}.{:06}",
            h.hsrtt.as_secs(),
            h.hsrtt.subsec_micros()
        )));
    }
    let path = format!("{}{}", h.host, h.file);
    assert!(text.contains(&path) || text.contains(&h.file), "{path}");
    let ex: Vec<&&str> = block
        .iter()
        .skip_while(|l| **l != " exchange:")
        .skip(1)
        .collect();
    let hdrs: Vec<&str> = block
        .iter()
        .skip_while(|l| **l != " headers:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim_start())
        .collect();
    assert_eq!(
        hdrs,
        h.headers.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(ex.len(), h.bufs.len());
    for (b, line) in h.bufs.iter().zip(ex) {
        let want = format!(
            "{} {} {}:{}",
            offset_str(b.ts, h.start),
            if b.tx { "tx" } else { "rx" },
            b.kind.name().unwrap(),
            b.data.len()
        );
        assert!(line.trim_start().starts_with(&want), "{line} vs {want}");
        assert!(
            line.contains(&hex(&b.data[..b.data.len().min(16)])),
            "{line}"
        );
    }
}

fn check_sniff(x: &Sniff, block: &[&str]) {
    assert_eq!(block[0], format!("sniff {}", x.src));
    let text = block.join("\n");
    assert!(text.contains(&format!(
        "limit-pktc: {}, limit-time: {}s, icmp-id {}",
        x.limit_pkt_count,
        x.limit_time.as_secs(),
        x.icmp_id
    )));
    assert!(text.contains(&format!(
        "result: {}, pktc: {}",
        x.stop_reason.name().unwrap(),
        x.packets.len()
    )));
    for (i, p) in x.packets.iter().enumerate() {
        let head = format!("   {i} {}", offset_str(p.ts, x.start));
        assert!(text.contains(&head), "{head}");
        let first: String = p.data[..16.min(p.data.len())]
            .chunks(2)
            .map(hex)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(text.contains(&first), "{first}");
    }
}

#[test]
fn http_and_sniff_match_sc_wartsdump() {
    let dump = std::fs::read_to_string(dir().join("http.warts.dump")).unwrap();
    let blocks = dump_blocks(&dump, "http from");
    let recs: Vec<Record> = read_all("http.warts");
    let https: Vec<&Http> = recs
        .iter()
        .filter_map(|r| {
            if let Record::Http(h) = r {
                Some(&**h)
            } else {
                None
            }
        })
        .collect();
    assert_eq!((https.len(), blocks.len()), (7, 7));
    for (h, b) in https.iter().zip(&blocks) {
        check_http(h, b);
    }
    let dump = std::fs::read_to_string(dir().join("sniff.warts.dump")).unwrap();
    let blocks = dump_blocks(&dump, "sniff ");
    let recs: Vec<Record> = read_all("sniff.warts");
    let sniffs: Vec<&Sniff> = recs
        .iter()
        .filter_map(|r| {
            if let Record::Sniff(s) = r {
                Some(&**s)
            } else {
                None
            }
        })
        .collect();
    assert_eq!((sniffs.len(), blocks.len()), (2, 2));
    for (x, b) in sniffs.iter().zip(&blocks) {
        check_sniff(x, b);
    }
    let total: usize = https
        .iter()
        .map(|h| h.bufs.iter().map(|b| b.data.len()).sum::<usize>())
        .sum();
    assert!(total > 100_000, "the 100k body is in the buffers");
}

#[test]
fn midar_matches_sc_wartsdump() {
    let recs = read_all("dealias-midar.warts");
    let d: Vec<&Dealias> = recs
        .iter()
        .filter_map(|r| {
            if let Record::Dealias(d) = r {
                Some(&**d)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(d.len(), 2);
    let ms = std::time::Duration::from_millis;
    match &d[0].method {
        DealiasMethod::Midarest {
            rounds,
            wait_probe,
            wait_round,
            wait_timeout,
        } => {
            assert_eq!(
                (*rounds, *wait_probe, *wait_round, *wait_timeout),
                (2, ms(40), ms(400), ms(1000))
            );
        }
        m => panic!("{m:?}"),
    }
    assert_eq!((d[0].probedefs.len(), d[0].probes.len()), (6, 12));
    assert_eq!(
        d[0].probedefs[3].method,
        vantage_model::ProbedefMethod::TcpAck
    );
    assert_eq!(
        (
            d[0].probedefs[3].sport,
            d[0].probedefs[3].dport,
            d[0].probedefs[3].size
        ),
        (41632, 80, 40)
    );
    assert_eq!(d[0].probes[0].probedef, 3);
    match &d[1].method {
        DealiasMethod::Midardisc {
            wait_timeout,
            schedule,
            ..
        } => {
            assert_eq!(*wait_timeout, ms(1000));
            let got: Vec<(u32, u32, u32)> = schedule
                .iter()
                .map(|r| (r.start.usec, r.begin, r.end))
                .collect();
            assert_eq!(got, [(0, 0, 1), (400_000, 0, 1), (800_000, 0, 1)]);
        }
        m => panic!("{m:?}"),
    }
    assert_eq!((d[1].probedefs.len(), d[1].probes.len()), (2, 6));
}

fn check_neighbourdisc(x: &vantage_model::Neighbourdisc, j: &Value) {
    assert_eq!(s(j, "type"), "neighbourdisc");
    assert_eq!(s(j, "method"), x.method.name().unwrap());
    assert_eq!(opt_addr(j, "src_ip"), addr_str(x.src_ip.as_ref()));
    assert_eq!(opt_addr(j, "src_mac"), addr_str(x.src_mac.as_ref()));
    assert_eq!(opt_addr(j, "dst_ip"), addr_str(x.dst_ip.as_ref()));
    assert_eq!(opt_addr(j, "dst_mac"), addr_str(x.dst_mac.as_ref()));
    assert_eq!(j.get("ifname").and_then(Value::as_str), x.ifname.as_deref());
    assert_eq!(u(j, "userid"), u64::from(x.user_id));
    assert_eq!(u(j, "attempts"), u64::from(x.attempts));
    assert_eq!(u(j, "stop_count"), u64::from(x.replyc));
    assert_eq!(ts(j, "start"), x.start);
    let wt = &j["wait_timeout"];
    assert_eq!(
        u128::from(u(wt, "sec")) * 1_000_000 + u128::from(u(wt, "usec")),
        us(x.wait_timeout)
    );
    assert_eq!(names(j, "flags"), x.flags.names().collect::<Vec<_>>());
    let jp = j["probes"].as_array().unwrap();
    assert_eq!(jp.len(), x.probes.len());
    for (p, jp) in x.probes.iter().zip(jp) {
        assert_eq!(ts(jp, "tx"), p.tx);
        assert_eq!(u(jp, "replyc"), p.replies.len() as u64);
        for (r, jr) in p.replies.iter().zip(jp["replies"].as_array().unwrap()) {
            assert_eq!(ts(jr, "rx"), r.rx);
            assert_eq!(s(jr, "mac"), r.mac.to_string());
        }
    }
}
