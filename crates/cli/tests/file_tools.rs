//! Integration tests of the file tools, run as the built `vantage` binary
//! against scamper's own test vectors and files we construct.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use vantage_model::{Addr, Cycle, List, Ping, PingMethod, PingReply, Record, Timestamp};
use vantage_warts::Writer;

fn testdata() -> PathBuf {
    std::env::var_os("VANTAGE_TESTDATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/warts"),
        PathBuf::from,
    )
}

fn td(name: &str) -> PathBuf {
    testdata().join(name)
}

fn vantage(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vantage"));
    cmd.args(args)
        .env("TZ", "UTC")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(data).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn parsed_lines(text: &[u8]) -> Vec<Value> {
    String::from_utf8(text.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The reference JSON lines of a test file.
fn reference(name: &str) -> Vec<Value> {
    std::fs::read_to_string(td(&format!("{name}.json")))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn warts2json_is_byte_identical_for_ping_and_trace() {
    for name in ["ping.warts", "trace.warts"] {
        let out = vantage(&["warts2json", p(&td(name))], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = std::fs::read(td(&format!("{name}.json"))).unwrap();
        assert_eq!(out.stdout, want, "{name}");
    }
}

#[test]
fn warts2json_reads_compressed_files_and_stdin() {
    for name in ["mixed.warts.gz", "mixed.warts.bz2", "mixed.warts.xz"] {
        let out = vantage(&["warts2json", p(&td(name))], None);
        assert!(out.status.success());
        assert_eq!(parsed_lines(&out.stdout), reference(name), "{name}");
        // The same through standard input, both spellings.
        let bytes = std::fs::read(td(name)).unwrap();
        for args in [&["warts2json"][..], &["warts2json", "-"][..]] {
            let out = vantage(args, Some(&bytes));
            assert!(out.status.success());
            assert_eq!(
                parsed_lines(&out.stdout),
                reference(name),
                "{name} via stdin"
            );
        }
    }
}

#[test]
fn warts2json_several_files_in_order() {
    let out = vantage(
        &["warts2json", p(&td("udpprobe.warts")), p(&td("host.warts"))],
        None,
    );
    assert!(out.status.success());
    let mut want = reference("udpprobe.warts");
    want.extend(reference("host.warts"));
    assert_eq!(parsed_lines(&out.stdout), want);
}

#[test]
fn warts2json_live_lists_unanswered_probes() {
    // ping.warts line 5 is a streamed ping with 2 sent and 1 reply.
    let out = vantage(&["warts2json", "--live", p(&td("ping.warts"))], None);
    assert!(out.status.success());
    let lines = parsed_lines(&out.stdout);
    assert_eq!(lines[4]["stop_reason"], "inprogress");
    assert_eq!(
        lines[4]["no_responses"],
        serde_json::json!([{"seq":1,"icmp_id":9379,"icmp_seq":1}])
    );
}

/// ping.warts with one byte of the second ping's body damaged so that its
/// reply address is an unknown address type; returns the bytes and the
/// damaged record's offset.
fn corrupt_ping_file() -> (Vec<u8>, usize) {
    let mut b = std::fs::read(td("ping.warts")).unwrap();
    // Walk the record headers: magic, type, length.
    let mut off = 0;
    let mut pings = 0;
    while off + 8 <= b.len() {
        let kind = u16::from_be_bytes([b[off + 2], b[off + 3]]);
        let len = u32::from_be_bytes([b[off + 4], b[off + 5], b[off + 6], b[off + 7]]) as usize;
        if kind == 7 {
            pings += 1;
            if pings == 2 {
                // The first full address in the record: `04 01` (length 4, IPv4).
                let body = &mut b[off + 8..off + 8 + len];
                let i = body.windows(2).position(|w| w == [4, 1]).unwrap();
                body[i + 1] = 0x7f;
                return (b, off);
            }
        }
        off += 8 + len;
    }
    panic!("no second ping");
}

#[test]
fn a_corrupt_record_is_reported_and_skipped() {
    let (bytes, at) = corrupt_ping_file();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.warts");
    std::fs::write(&path, &bytes).unwrap();
    let out = vantage(&["warts2json", p(&path)], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.warts"), "{err}");
    assert!(err.contains(&format!("byte offset {at}")), "{err}");
    assert!(err.contains("ping"), "{err}");
    let mut want = reference("ping.warts");
    want.remove(2); // the second ping is line 3
    assert_eq!(parsed_lines(&out.stdout), want);

    // The other tools report it the same way and go on.
    let dump = vantage(&["wartsdump", p(&path)], None);
    assert_eq!(dump.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dump.stderr).contains(&format!("byte offset {at}")));
    let cat = dir.path().join("out.warts");
    let out = vantage(&["wartscat", "-o", p(&cat), p(&path)], None);
    assert_eq!(out.status.code(), Some(1));
    let back = vantage(&["warts2json", p(&cat)], None);
    assert!(back.status.success());
    assert_eq!(parsed_lines(&back.stdout), want);
}

#[test]
fn a_truncated_file_is_reported() {
    let bytes = std::fs::read(td("trace.warts")).unwrap();
    let out = vantage(&["warts2json", "-"], Some(&bytes[..bytes.len() - 10]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("(standard input)") && err.contains("byte offset"),
        "{err}"
    );
    // Every complete record before it (all but the final cycle-stop) was
    // converted.
    let mut want = reference("trace.warts");
    assert_eq!(want.pop().unwrap()["type"], "cycle-stop");
    assert_eq!(parsed_lines(&out.stdout), want);
}

#[test]
fn missing_file_is_reported_and_others_still_converted() {
    let out = vantage(
        &[
            "warts2json",
            "/nonexistent/x.warts",
            p(&td("udpprobe.warts")),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.warts"));
    assert_eq!(parsed_lines(&out.stdout), reference("udpprobe.warts"));
}

#[test]
fn wartscat_concatenates_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("all.warts.gz");
    let files = ["ping.warts", "trace.warts", "mixed.warts.xz", "host.warts"];
    let mut args = vec!["wartscat".to_owned(), "-o".to_owned(), p(&all).to_owned()];
    args.extend(files.iter().map(|f| p(&td(f)).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = vantage(&args, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = vantage(&["warts2json", p(&all)], None);
    assert!(back.status.success());
    let want: Vec<Value> = files.iter().flat_map(|f| reference(f)).collect();
    assert_eq!(parsed_lines(&back.stdout), want);

    let pings = dir.path().join("pings.warts");
    let out = vantage(
        &[
            "wartscat",
            "-t",
            "ping",
            "-o",
            p(&pings),
            p(&td("mixed.warts.gz")),
            p(&td("sniff.warts")),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = parsed_lines(&vantage(&["warts2json", p(&pings)], None).stdout);
    let kinds: Vec<&str> = back.iter().map(|v| v["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "cycle-start",
            "ping",
            "ping",
            "cycle-stop",
            "cycle-start",
            "ping",
            "ping",
            "cycle-stop"
        ]
    );
}

fn synthetic(list: &str, list_id: u32, cycle_id: u32, dst: Ipv4Addr) -> Vec<u8> {
    let list = Arc::new(List::new(list_id, list));
    let cycle = Arc::new(Cycle {
        list: Arc::clone(&list),
        id: cycle_id,
        start_time: 1_700_000_000 + cycle_id,
        stop_time: None,
        hostname: Some("vp".to_owned()),
    });
    let mut w = Writer::new(Vec::new());
    w.write_cycle_start(&cycle).unwrap();
    let mut ping = Ping::new(Addr::V4(dst), Timestamp::new(1_700_000_100, 0));
    ping.list = Some(Arc::clone(&list));
    ping.cycle = Some(Arc::clone(&cycle));
    ping.method = PingMethod::IcmpEcho;
    ping.probes_sent = 1;
    ping.replies.push(PingReply::new(
        0,
        Addr::V4(dst),
        Duration::from_micros(1234),
    ));
    w.write_record(&Record::Ping(Box::new(ping))).unwrap();
    let mut stopped = Cycle::clone(&cycle);
    stopped.stop_time = Some(1_700_000_200);
    w.write_cycle_stop(&Arc::new(stopped)).unwrap();
    w.into_inner().unwrap()
}

#[test]
fn wartscat_remaps_list_and_cycle_ids_across_files() {
    // Both files use file-local list id 1 and cycle id 1 for different lists
    // and cycles; the output must keep them apart.
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.warts");
    let b = dir.path().join("b.warts");
    std::fs::write(&a, synthetic("alpha", 5, 11, Ipv4Addr::new(192, 0, 2, 1))).unwrap();
    std::fs::write(&b, synthetic("beta", 7, 22, Ipv4Addr::new(192, 0, 2, 2))).unwrap();
    let out = dir.path().join("ab.warts");
    let res = vantage(&["wartscat", "-o", p(&out), p(&a), p(&b), p(&a)], None);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let recs: Vec<Record> = vantage_warts::open(&out)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let pings: Vec<(String, u32, u32, Addr)> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Ping(p) => Some((
                p.list.as_ref().unwrap().name.clone(),
                p.list.as_ref().unwrap().id,
                p.cycle.as_ref().unwrap().id,
                p.dst,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        pings,
        [
            (
                "alpha".to_owned(),
                5,
                11,
                Addr::V4(Ipv4Addr::new(192, 0, 2, 1))
            ),
            (
                "beta".to_owned(),
                7,
                22,
                Addr::V4(Ipv4Addr::new(192, 0, 2, 2))
            ),
            (
                "alpha".to_owned(),
                5,
                11,
                Addr::V4(Ipv4Addr::new(192, 0, 2, 1))
            ),
        ]
    );
    let stops: Vec<(String, u32)> = recs
        .iter()
        .filter_map(|r| match r {
            Record::CycleStop(c) => Some((c.list.name.clone(), c.id)),
            _ => None,
        })
        .collect();
    assert_eq!(
        stops,
        [
            ("alpha".to_owned(), 11),
            ("beta".to_owned(), 22),
            ("alpha".to_owned(), 11)
        ]
    );
}

#[test]
fn wartsdump_prints_every_record_of_every_test_file() {
    let names = [
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
    ];
    for name in names {
        let out = vantage(&["wartsdump", p(&td(name))], None);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let headers = text
            .lines()
            .filter(|l| l.contains(" record at byte offset "))
            .count();
        let records = vantage_warts::open(td(name)).unwrap().count();
        assert_eq!(headers, records, "{name}");
    }
    // The tsonly ping that makes sc_wartsdump crash dumps fine.
    let out = vantage(&["wartsdump", p(&td("ping-ts.warts"))], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("ip timestamp: ").count(), 2 * 2 + 9 * 2);
    assert!(text.contains("ip timestamp: 11577131 10.2.1.2"));
}

#[test]
fn wartsdump_shows_the_fields() {
    let out = vantage(&["wartsdump", p(&td("ping.warts"))], None);
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "ping record at byte offset 65 of ",
        "  dst: 10.5.9.9",
        "  errmsg: \"icmp4_probe could not send to 10.5.9.9 (64 ttl, 0 seq, 3000 len): Message too long\"",
        "  stop reason: error, stop data: 90",
        "  reply 1 to probe 0 from 10.5.77.77",
        "    rtt: 0.020211s, probe tx: 2026-11-27 03:19:57.428037 UTC",
        "    record route: 10.2.1.1 10.2.3.1 10.2.5.1 10.3.0.1 10.3.4.1 10.3.4.2",
    ] {
        assert!(text.contains(want), "missing {want:?}");
    }
}

#[test]
fn usage_errors_exit_with_status_2() {
    let out = vantage(&["wartscat", "-t", "nosuchtype", "x"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown record type"));
    let out = vantage(&["nosuchcommand"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn warts2json_streams_lines_from_a_pipe() {
    use std::io::{BufRead, BufReader};
    // Feed the list, cycle-start and first ping record of ping.warts and keep
    // the pipe open: both JSON lines must come out before the input ends.
    let bytes = std::fs::read(td("ping.warts")).unwrap();
    let mut off = 0;
    for _ in 0..3 {
        let len = u32::from_be_bytes([
            bytes[off + 4],
            bytes[off + 5],
            bytes[off + 6],
            bytes[off + 7],
        ]);
        off += 8 + len as usize;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_vantage"))
        .args(["warts2json", "-"])
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&bytes[..off]).unwrap();
    stdin.flush().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for _ in 0..2 {
            let l = lines.next().unwrap().unwrap();
            tx.send(l).unwrap();
        }
    });
    // Generous bound only so that a regression fails instead of hanging.
    let first = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("no line while the pipe is open");
    let second = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("no second line");
    assert!(first.starts_with("{\"type\":\"cycle-start\""));
    assert!(second.starts_with("{\"type\":\"ping\""));
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
