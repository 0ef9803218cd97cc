//! `vantage testbed up --with-daemons` starts the controller and a probe on each of the
//! five VPs; their mux lists the five VPs by monitor name, and a ping to the testbed's
//! target runs through one of them. Root only (skipped with a note otherwise); a unique
//! prefix and a temporary state root, and a guard that runs `down` even on failure.
//!
//! It runs the `vantage` binary next to this test's directory in `target/` (build it
//! first with `cargo build -p vantage-cli`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vantage_client::{MuxClient, Outcome, Record};
use vantage_testbed::internet::addr;
use vantage_testbed::{is_root, unique_prefix};

/// `target/<profile>/vantage`, next to `target/<profile>/deps/<this test>`.
fn vantage_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("vantage");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p vantage-cli` first",
        bin.display()
    );
    bin
}

struct Down<'a> {
    bin: &'a Path,
    prefix: &'a str,
    root: &'a Path,
}

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = Command::new(self.bin)
            .args(["testbed", "down", self.prefix, "--state-root"])
            .arg(self.root)
            .output();
    }
}

#[test]
fn testbed_with_daemons_lists_five_vps_and_pings_through_one() {
    if !is_root() {
        eprintln!("skipped: building a testbed needs root");
        return;
    }
    let bin = vantage_bin();
    let prefix = unique_prefix("tdmn");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("state");
    let _guard = Down {
        bin: &bin,
        prefix: &prefix,
        root: &root,
    };
    let out = Command::new(&bin)
        .args(["testbed", "up", &prefix, "--with-daemons", "--state-root"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = root.join(&prefix);
    let logs = || {
        let mut all = String::new();
        for e in std::fs::read_dir(state.join("logs")).unwrap() {
            let p = e.unwrap().path();
            if p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("hook-")
            {
                all.push_str("--- ");
                all.push_str(&p.display().to_string());
                all.push('\n');
                all.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
        all
    };

    // The mux comes up and lists the five VPs.
    let mux = state.join("mux");
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        if let Ok(c) = MuxClient::connect(&mux) {
            break c;
        }
        assert!(
            Instant::now() < deadline,
            "no mux at {}\n{}",
            mux.display(),
            logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    while client.vps().len() < 5 {
        assert!(
            Instant::now() < deadline,
            "only {:?} listed\n{}",
            client
                .vps()
                .iter()
                .map(|v| v.name.clone())
                .collect::<Vec<_>>(),
            logs()
        );
        let _ = client.next_vp_event(Some(Duration::from_millis(200)));
    }
    let mut names: Vec<String> = client.vps().into_iter().filter_map(|v| v.name).collect();
    names.sort();
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(
        names.iter().any(|n| n == "akl-nz.vp.example.test"),
        "{names:?}"
    );

    // A ping from the New Zealand VP to the target.
    let vp = client.find_vp("akl-nz.vp.example.test").unwrap();
    let chan = client.open(vp.id).unwrap();
    chan.send(&format!("ping -c 2 -i 0.2 {}", addr::TARGET_V4))
        .unwrap();
    match chan.next_result(Some(Duration::from_secs(30))) {
        Some(Outcome::Result(r)) => match r.record {
            Record::Ping(p) => {
                assert_eq!(p.dst.to_string(), addr::TARGET_V4.to_string());
                assert!(!p.replies.is_empty(), "{p:?}");
            }
            other => panic!("expected a ping, got {other:?}"),
        },
        other => panic!("no ping result: {other:?}\n{}", logs()),
    }
}
