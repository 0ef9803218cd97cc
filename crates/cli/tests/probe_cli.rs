//! `vantage ping`, `vantage trace` and `vantage run` as a user runs them.
//!
//! Usage errors are checked everywhere (they send nothing). Measurements run as root only,
//! inside a standard testbed topology this test builds (and removes, also on failure);
//! they are skipped with a message otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::Write;

use common::{assert_prints, assert_starts, run, text};
use vantage_testbed::standard::{addr, standard_topology};
use vantage_testbed::unique_prefix;

#[test]
fn usage_errors_are_one_line_naming_the_option_with_status_2() {
    for (args, want) in [
        (
            &["ping", "-c", "0", "10.0.0.1"][..],
            "vantage ping: -c failed: attempts must be within 1 - 65535\n",
        ),
        (
            &["trace", "-q", "50", "10.0.0.1"][..],
            "vantage trace: -q failed: ",
        ),
        (
            &["ping", "-x", "10.0.0.1"][..],
            "vantage ping: could not parse ping command: ",
        ),
        (
            &["ping", "-c", "2", "not-an-address"][..],
            "vantage ping: invalid destination address\n",
        ),
        (
            &["ping", "-c", "2", "--pps", "0", "10.0.0.1"][..],
            "vantage ping: --pps: packet rate 0 pps is out of range",
        ),
        (
            &["trace", "--frob", "10.0.0.1"][..],
            "vantage trace: unknown option --frob",
        ),
    ] {
        let err = common::usage_error(args);
        assert!(err.starts_with(want), "{args:?}: {err:?}");
    }
}

#[test]
fn run_reports_bad_lines_with_their_numbers() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, "# only bad lines: nothing is sent").unwrap();
    writeln!(f, "ping -c 0 10.0.0.1").unwrap();
    writeln!(f).unwrap();
    writeln!(f, "frobnicate 10.0.0.1").unwrap();
    writeln!(f, "dealias -m ally 10.0.0.1 10.0.0.2").unwrap();
    let out = run(&["run", f.path().to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("line 2: -c failed: attempts must be within 1 - 65535"),
        "{err}"
    );
    assert!(
        err.contains("line 4: could not determine command type"),
        "{err}"
    );
    assert!(err.contains("line 5: dealias is not supported"), "{err}");
    // Only the cycle records frame the (empty) output.
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["type"], "cycle-start");
    assert_eq!(lines[1]["type"], "cycle-stop");
}

#[test]
fn measurements_in_the_testbed() {
    if common::skip_without_root() {
        return;
    }
    let topo = standard_topology(&unique_prefix("cli")).unwrap();
    let vp = |args: &[&str]| common::exec(&topo, "vp", args);
    let target = addr::TARGET_V4.to_string();

    // ping(8)-like text, success when the target answers.
    let out = vp(&["ping", "-c", "2", "-i", "0.1", &target]);
    assert!(out.success(), "{out:?}");
    assert_starts(
        &out,
        &format!("PING {target}: 84 bytes, icmp-echo, 2 probes\n"),
    );
    assert_prints(&out, &format!("84 bytes from {target}: seq=0 ttl=60 time="));
    assert_prints(
        &out,
        "2 packets transmitted, 2 packets received, 0% packet loss",
    );
    // No answer: status 1.
    let hole = addr::BLACKHOLE_V4.to_string();
    let out = vp(&["ping", "-c", "1", "-W", "0.5", &hole]);
    assert!(!out.success(), "{out:?}");
    assert_prints(
        &out,
        "1 packets transmitted, 0 packets received, 100% packet loss",
    );

    // traceroute(8)-like text: hops, a gap for the silent router.
    let behind = addr::BEHIND_V6.to_string();
    let out = vp(&["trace", "-w", "1", "-q", "2", &behind]);
    assert!(out.success(), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!("traceroute to {behind}, ")),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with(&format!(" 1  {}  ", addr::R1_V6)),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with(&format!(" 2  {}  ", addr::R2_V6)),
        "{lines:?}"
    );
    assert_eq!(lines[3], " 3  * *", "{lines:?}");
    assert!(
        lines[4].starts_with(&format!(" 4  {behind}  ")),
        "{lines:?}"
    );
    assert!(lines[5].starts_with("reached the destination"), "{lines:?}");

    // --json: one line of scamper's live JSON.
    let out = vp(&[
        "ping", "--json", "-c", "2", "-i", "0.1", "-P", "udp", &target,
    ]);
    assert!(out.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["type"], "ping");
    assert_eq!(v["method"], "udp");
    assert_eq!(v["dst"], target);
    assert_eq!(v["responses"].as_array().unwrap().len(), 2);

    // run: warts out, a bad line reported, the good ones measured.
    let dir = tempfile::tempdir().unwrap();
    let cmds = dir.path().join("cmds.txt");
    std::fs::write(
        &cmds,
        format!(
            "ping -c 1 {target}\nping -c 0 {target}\ntrace -w 1 -P icmp-paris {}\n",
            addr::TARGET_V6
        ),
    )
    .unwrap();
    let warts = dir.path().join("out.warts");
    let out = vp(&[
        "run",
        "--pps",
        "500",
        "-O",
        "warts",
        "-o",
        warts.to_str().unwrap(),
        cmds.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("line 2: -c failed"), "{}", out.stderr);
    let records: Vec<vantage_model::Record> = vantage_warts::open(&warts)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let kinds: Vec<&str> = records
        .iter()
        .map(vantage_model::Record::type_name)
        .collect();
    assert_eq!(kinds.first(), Some(&"list"), "{kinds:?}");
    assert_eq!(kinds.get(1), Some(&"cycle-start"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"cycle-stop"), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| **k == "ping").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "trace").count(),
        1,
        "{kinds:?}"
    );
    for r in &records {
        if let vantage_model::Record::Trace(t) = r {
            assert_eq!(t.stop_reason, vantage_model::TraceStop::Completed);
            assert_eq!(t.hop_count, 5);
        }
    }
}
