//! Debian's `scamper -R` dialling the real `vantage controller` binary inside a
//! network namespace made by the test (loopback only; removed on exit, also on
//! failure). Measurements go through the mux socket (a file, reachable from
//! outside the namespace) with the client library. scamper 20211212 writes
//! `DATA <len>` without `id-N`: its results must still reach their tasks.
//! Skipped (with a note) when not root or when scamper is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vantage_client::{MuxClient, Outcome, Record};

const BIN: &str = env!("CARGO_BIN_EXE_vantage");
const SCAMPER: &str = "/usr/bin/scamper";
const WAIT: Duration = Duration::from_secs(20);

/// A network namespace with loopback up; deleted (with everything still
/// running in it killed) when dropped.
struct Netns {
    name: String,
    children: Vec<Child>,
}

impl Netns {
    fn new() -> Self {
        let name = vantage_testbed::unique_prefix("scm");
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap()
            .success();
        assert!(ok, "ip netns add {name}");
        let ns = Self {
            name,
            children: Vec::new(),
        };
        assert!(ns.exec(&["ip", "link", "set", "lo", "up"]).success());
        ns
    }

    fn exec(&self, args: &[&str]) -> std::process::ExitStatus {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .status()
            .unwrap()
    }

    fn spawn(&mut self, args: &[&str]) {
        let c = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(c);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn ping_dst(o: Outcome) -> (Option<vantage_client::TaskId>, String) {
    match o {
        Outcome::Result(r) => match r.record {
            Record::Ping(p) => (r.task, p.dst.to_string()),
            other => panic!("expected a ping, got {other:?}"),
        },
        Outcome::Failed(f) => panic!("task failed: {f:?}"),
    }
}

#[test]
fn debian_scamper_measures_through_vantage_controller() {
    if !vantage_testbed::is_root() {
        eprintln!("skipping: network namespaces need root");
        return;
    }
    if !std::path::Path::new(SCAMPER).exists() {
        eprintln!("skipping: Debian's scamper is not installed (apt-get install -y scamper)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mux = dir.path().join("mux");
    let meta = dir.path().join("meta.txt");
    std::fs::write(&meta, "vp-old cc zz\n").unwrap();
    let mut ns = Netns::new();
    ns.spawn(&[
        BIN,
        "controller",
        "--plaintext",
        "--listen",
        "127.0.0.1:31337",
        "--mux",
        mux.to_str().unwrap(),
        "--vp-meta",
        meta.to_str().unwrap(),
    ]);
    let deadline = Instant::now() + WAIT;
    let client = loop {
        if let Ok(c) = MuxClient::connect(&mux) {
            break c;
        }
        assert!(
            Instant::now() < deadline,
            "the controller never opened its mux"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // Only now (scamper waits long before dialling again). It switches TLS
    // off for an IP literal, matching --plaintext.
    ns.spawn(&[
        SCAMPER,
        "-R",
        "127.0.0.1:31337",
        "-M",
        "vp-old",
        "-p",
        "100",
    ]);
    let vp = loop {
        if let Some(v) = client.find_vp("vp-old") {
            break v;
        }
        assert!(Instant::now() < deadline, "scamper never joined");
        let _ = client.next_vp_event(Some(Duration::from_millis(100)));
    };
    assert_eq!(vp.cc.as_deref(), Some("zz"));
    assert_eq!(vp.policy_hash, None);

    // One ping: its unlabelled result is the only pending task's.
    let ch = client.open(vp.id).unwrap();
    let t = ch.send("ping -c 1 127.0.0.1").unwrap();
    assert_eq!(
        ping_dst(ch.next_result(Some(WAIT)).expect("a result")),
        (Some(t), "127.0.0.1".to_owned())
    );
    // Several pending at once, to different loopback addresses: each
    // unlabelled result goes to the task that measured its destination.
    let a = ch.send("ping -c 2 -i 0.5 127.0.0.2").unwrap();
    let b = ch.send("ping -c 1 127.0.0.3").unwrap();
    ch.done().unwrap();
    let mut got = Vec::new();
    while let Some(o) = ch.next_result(Some(WAIT)) {
        got.push(ping_dst(o));
    }
    got.sort();
    let mut want = vec![
        (Some(a), "127.0.0.2".to_owned()),
        (Some(b), "127.0.0.3".to_owned()),
    ];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(ch.end_reason(), Some(vantage_client::ChannelEnd::Finished));
}
