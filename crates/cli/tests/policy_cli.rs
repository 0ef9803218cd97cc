//! `vantage policy explain FILE` and `vantage probe --policy FILE` as a user runs them.
//! Nothing here sends a packet or needs root: a bad policy stops the probe before it opens
//! any socket.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_vantage");

const GOOD: &str = "[measurements]\ntypes = [\"ping\"]\n[measurements.ping]\n\
                    methods = [\"icmp-echo\"]\n[destinations]\nallow = [\"127.0.0.0/8\"]\n";
const BAD: &str = "[measurements]\ntypes = [\"ping\"]\n\n[rate]\npps = 10\nburst = 3\n";

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn explain_describes_a_good_policy_and_prints_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "vp.toml", GOOD);
    let out = run(&["policy", "explain", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("with methods icmp-echo"), "{stdout}");
    assert!(stdout.contains("It never runs: trace"), "{stdout}");
    assert!(stdout.contains("127.0.0.0/8"), "{stdout}");
    let policy = vantage_policy::Policy::from_toml(GOOD, "text", None).unwrap();
    assert!(
        stdout.contains(policy.canonical_hash()),
        "no hash {} in {stdout}",
        policy.canonical_hash()
    );
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn explain_of_a_malformed_policy_names_line_and_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.toml", BAD);
    let out = run(&["policy", "explain", &file]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.starts_with("vantage policy: policy file "), "{err}");
    assert!(err.contains("line 6"), "{err}");
    assert!(err.contains("key rate.burst"), "{err}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn probe_with_a_malformed_policy_stops_at_start_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.toml", BAD);
    let sock = dir.path().join("probe.sock");
    let out = run(&["probe", "--unix", sock.to_str().unwrap(), "--policy", &file]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("line 6"), "{err}");
    assert!(err.contains("key rate.burst"), "{err}");
    assert!(
        !sock.exists(),
        "the probe opened its socket despite a bad policy"
    );
}
