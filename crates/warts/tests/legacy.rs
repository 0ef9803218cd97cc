//! The worked example of the spec byte for byte, the deprecated forms old
//! archives contain, and interoperability with Debian's scamper tools.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use vantage_model::{
    Addr, Cycle, DealiasMethod, List, Ping, PingReply, PingReplyFlags, PingStop, Record, Timestamp,
    TraceFlags,
};
use vantage_warts::{Reader, Writer};

/// Builds a flags-and-params block from (flag, value bytes) pairs.
fn params(fields: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let max = fields.iter().map(|f| f.0).max().unwrap_or(0);
    if max == 0 {
        return vec![0];
    }
    let n = max.div_ceil(7) as usize;
    let mut flags = vec![0u8; n];
    let mut vals = Vec::new();
    for (f, v) in fields {
        flags[((f - 1) / 7) as usize] |= 1 << ((f - 1) % 7);
        vals.extend_from_slice(v);
    }
    for b in flags.iter_mut().take(n - 1) {
        *b |= 0x80;
    }
    let mut out = flags;
    out.extend_from_slice(&(vals.len() as u16).to_be_bytes());
    out.extend(vals);
    out
}

fn record(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x12, 0x05];
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn u16b(v: u16) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

fn u32b(v: u32) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

fn tv(s: u32, us: u32) -> Vec<u8> {
    [u32b(s), u32b(us)].concat()
}

/// The list and cycle-start records every stream here starts with.
fn header() -> Vec<u8> {
    header_with(2)
}

/// The list record and a cycle record of type `cycle_kind` (2 start, 3 definition).
fn header_with(cycle_kind: u16) -> Vec<u8> {
    let mut list = [u32b(1), u32b(0), b"default\0".to_vec()].concat();
    list.extend(params(&[]));
    let mut cycle = [u32b(1), u32b(1), u32b(0), u32b(1_700_000_000)].concat();
    cycle.extend(params(&[]));
    [record(1, &list), record(cycle_kind, &cycle)].concat()
}

fn spec_ping() -> Ping {
    let list = Arc::new(List::new(0, "default"));
    let cycle = Arc::new(Cycle {
        list: Arc::clone(&list),
        id: 0,
        start_time: 1_700_000_000,
        stop_time: None,
        hostname: None,
    });
    let dst: Addr = "192.0.2.1".parse().unwrap();
    let mut p = Ping::new(dst, Timestamp::new(1_700_000_000, 100_000));
    p.list = Some(list);
    p.cycle = Some(cycle);
    p.src = Some("192.0.2.10".parse().unwrap());
    p.stop_reason = PingStop::Done;
    p.attempts = 1;
    p.probes_sent = 1;
    p.sport = 4660;
    let mut r = PingReply::new(0, dst, Duration::from_micros(12_345));
    r.flags = PingReplyFlags::REPLY_TTL | PingReplyFlags::REPLY_IPID;
    r.reply_ttl = 57;
    r.reply_size = 84;
    r.reply_ipid = 0xbeef;
    r.tx = Some(Timestamp::new(1_700_000_000, 100_100));
    p.replies.push(r);
    p
}

const SPEC_PING: &str = "12 05 00 07 00 00 00 4f f3 bc 65 00 28 00 00 00 01 00 00 00 01 65 53 f1 00 00 01 86 a0 \
     01 00 00 01 00 54 01 40 00 01 12 34 04 01 c0 00 02 0a 04 01 c0 00 02 01 00 01 fe 91 02 00 1b 03 39 00 54 \
     00 00 00 00 30 39 00 00 be ef 00 00 00 00 01 65 53 f1 00 00 01 87 04";

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

#[test]
fn spec_worked_example_byte_for_byte() {
    let mut w = Writer::new(Vec::new());
    w.write_ping(&spec_ping()).unwrap();
    let out = w.into_inner().unwrap();
    // The writer first emits the list and (as a definition) the cycle the ping refers to.
    assert_eq!(&out[out.len() - 87..], &hex(SPEC_PING)[..]);
    assert_eq!(out[..out.len() - 87], header_with(3)[..]);
    let back: Vec<Record> = Reader::new(&out[..]).map(Result::unwrap).collect();
    assert_eq!(back[2], Record::Ping(Box::new(spec_ping())));
}

#[test]
fn old_archive_forms_are_read() {
    let mut data = header();
    // Deprecated global addresses: ids 1 and 2.
    data.extend(record(5, &[1, 1, 192, 0, 2, 10]));
    data.extend(record(5, &[2, 1, 192, 0, 2, 1]));
    // A trace that names src/dst and its hop through global ids, with only the
    // 8-bit flags field, no firsthop and no hop count, and a version-1 PMTUD block.
    let mut t = params(&[
        (1, u32b(1)),
        (2, u32b(1)),
        (3, u32b(1)),
        (4, u32b(2)),
        (5, tv(1_700_000_001, 5)),
        (6, vec![1]),
        (8, vec![0x01]),
        (12, u16b(44)),
    ]);
    t.extend(u16b(1));
    t.extend(params(&[(1, u32b(2)), (2, vec![3]), (6, u32b(1500))]));
    let mut pm = params(&[(1, u16b(1500)), (2, u16b(1400))]);
    pm.extend(u16b(0));
    t.extend(u16b((1 << 12) | pm.len() as u16));
    t.extend(pm);
    t.extend(u16b(0));
    data.extend(record(6, &t));
    // A mercator probedef with the ICMP checksum in the 4-byte ports field.
    let mut dl = params(&[
        (1, u32b(1)),
        (2, u32b(1)),
        (3, tv(1_700_000_002, 0)),
        (4, vec![1]),
    ]);
    dl.extend(params(&[(1, vec![3]), (2, vec![5])]));
    dl.extend(params(&[
        (4, vec![1]),
        (5, vec![64]),
        (7, [u16b(0x1234), u16b(0xabcd)].concat()),
        (10, vec![4, 1, 192, 0, 2, 1]),
    ]));
    data.extend(record(9, &dl));

    let recs: Vec<Record> = Reader::new(&data[..]).map(Result::unwrap).collect();
    assert_eq!(
        recs.len(),
        4,
        "list, cycle, trace, dealias (address records are consumed)"
    );
    let Record::Trace(tr) = &recs[2] else {
        panic!("{:?}", recs[2])
    };
    assert_eq!(tr.src, Some("192.0.2.10".parse().unwrap()));
    assert_eq!(tr.dst, "192.0.2.1".parse().unwrap());
    assert_eq!(tr.flags, TraceFlags::ALL_ATTEMPTS);
    assert_eq!((tr.firsthop, tr.hop_count), (1, 3));
    assert_eq!(tr.hops[0].addr, "192.0.2.1".parse().unwrap());
    assert_eq!(
        tr.hops[0].icmp_q_ipl, 0,
        "quoted length defaults to the hop's probe size"
    );
    let pm = tr.pmtud.as_ref().unwrap();
    assert_eq!((pm.version, pm.if_mtu, pm.path_mtu), (1, 1500, 1400));
    let Record::Dealias(d) = &recs[3] else {
        panic!("{:?}", recs[3])
    };
    assert!(matches!(
        d.method,
        DealiasMethod::Mercator { attempts: 3, .. }
    ));
    assert_eq!(
        (
            d.probedefs[0].icmp_csum,
            d.probedefs[0].sport,
            d.probedefs[0].dport
        ),
        (0xabcd, 0, 0)
    );

    // Written back in the modern form (no address records, no global ids) and equal when read again.
    let mut w = Writer::new(Vec::new());
    for r in &recs {
        w.write_record(r).unwrap();
    }
    let out = w.into_inner().unwrap();
    assert!(out.len() < data.len() + 16);
    let again: Vec<Record> = Reader::new(&out[..]).map(Result::unwrap).collect();
    assert_eq!(again, recs);
}

#[test]
fn address_record_with_wrong_id_is_an_error() {
    let mut data = header();
    data.extend(record(5, &[7, 1, 192, 0, 2, 10]));
    let errs: Vec<String> = Reader::new(&data[..])
        .filter_map(Result::err)
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with(&format!(
            "warts address record at byte offset {}",
            header().len()
        )),
        "{}",
        errs[0]
    );
}

/// Runs an old scamper tool (Debian's package) over what we wrote, if installed.
fn run_tool(tool: &str, data: &[u8]) -> Option<String> {
    let path = std::path::Path::new("/usr/bin").join(tool);
    if !path.exists() {
        eprintln!("{tool} not installed; skipping the interoperability check");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ours.warts");
    std::fs::write(&file, data).unwrap();
    let out = std::process::Command::new(path)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
fn debian_scamper_reads_what_we_write() {
    let mut w = Writer::new(Vec::new());
    w.write_ping(&spec_ping()).unwrap();
    let mut big = spec_ping();
    big.user_id = 77;
    big.wait_probe = Duration::from_millis(1500);
    big.wait_timeout = Duration::from_secs(3);
    big.errmsg = Some("nothing".into());
    big.replies[0].ifname = Some("eth9".into());
    w.write_ping(&big).unwrap();
    let data = w.into_inner().unwrap();
    let Some(json) = run_tool("sc_warts2json", &data) else {
        return;
    };
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let pings: Vec<&serde_json::Value> = lines.iter().filter(|v| v["type"] == "ping").collect();
    assert_eq!(pings.len(), 2, "{json}");
    // The spec's sc_warts2json rendering of the worked example (json.md §3), field by field
    // (Debian's 2021 tool prints no stop_reason/stop_data; those keys are left out).
    let want: serde_json::Value = serde_json::from_str(
        r#"{"type":"ping","method":"icmp-echo","src":"192.0.2.10","dst":"192.0.2.1","start":{"sec":1700000000,"usec":100000},"ping_sent":1,"probe_size":84,"userid":0,"ttl":64,"wait":1,"responses":[{"from":"192.0.2.1","reply_size":84,"reply_ttl":57,"seq":0,"tx":{"sec":1700000000,"usec":100100},"rx":{"sec":1700000000,"usec":112445},"rtt":12.345,"reply_ipid":48879,"icmp_type":0,"icmp_code":0}]}"#,
    )
    .unwrap();
    for (k, v) in want.as_object().unwrap() {
        if k == "responses" {
            for (rk, rv) in v[0].as_object().unwrap() {
                assert_eq!(&pings[0]["responses"][0][rk], rv, "responses[0].{rk}");
            }
        } else {
            assert_eq!(&pings[0][k], v, "{k}");
        }
    }
    assert_eq!(pings[1]["userid"], 77);
    let Some(dump) = run_tool("sc_wartsdump", &data) else {
        return;
    };
    assert_eq!(
        dump.matches("ping from 192.0.2.10 to 192.0.2.1").count(),
        2,
        "{dump}"
    );
}
