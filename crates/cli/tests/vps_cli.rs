//! `vantage vps` against the real programs on loopback: `vantage controller
//! --plaintext` and `vantage probe --remote ... --policy FILE`; the listing
//! shows the VP's metadata and policy hash, `--policy` prints the file's text.
//! The probe needs raw sockets: skipped (with a note) when not root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_vantage");

struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> Reaped {
    Reaped(
        Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const POLICY: &str = "# a test VP\n[measurements]\ntypes = [\"ping\", \"trace\"]\n";

#[test]
fn vps_lists_metadata_and_policy() {
    if !rustix_is_root() {
        eprintln!("skipping: the probe needs raw sockets (root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mux = dir.path().join("mux");
    let meta = dir.path().join("meta.txt");
    std::fs::write(&meta, "vp-cli.test cc nz\nvp-cli.test tag lab\n").unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mux_s = mux.to_str().unwrap();
    let _ctl = spawn(&[
        "controller",
        "--plaintext",
        "--listen",
        &listen,
        "--mux",
        mux_s,
        "--vp-meta",
        meta.to_str().unwrap(),
    ]);
    let _probe = spawn(&[
        "probe",
        "--remote",
        &listen,
        "--plaintext",
        "--name",
        "vp-cli.test",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let line = loop {
        let out = Command::new(BIN)
            .args(["vps", "--mux", mux_s, "--json"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success()
            && let Some(l) = text.lines().find(|l| l.contains("vp-cli.test"))
        {
            break serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the VP was never listed: {out:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(line["cc"], "nz");
    assert_eq!(line["tags"][0], "lab");
    assert_eq!(line["ipv4"], "127.0.0.1");
    assert_eq!(line["policy"], POLICY);
    let hash = line["policy-hash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);
    // The hash is the policy's canonical hash, as `vantage policy` computes it.
    let p = vantage_policy_hash(POLICY);
    assert_eq!(hash, p);

    let out = Command::new(BIN)
        .args(["vps", "--mux", mux_s])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("id "), "{table}");
    assert!(
        table.contains("vp-cli.test") && table.contains(&hash[..16]),
        "{table}"
    );

    let out = Command::new(BIN)
        .args(["vps", "--mux", mux_s, "--policy", "vp-cli.test"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), POLICY);
    let out = Command::new(BIN)
        .args(["vps", "--mux", mux_s, "--policy", "nobody"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no VP named"));
}

fn rustix_is_root() -> bool {
    vantage_testbed::is_root()
}

fn vantage_policy_hash(text: &str) -> String {
    vantage_policy::Policy::from_toml(text, "test", None)
        .unwrap()
        .canonical_hash()
        .to_owned()
}
