//! `vantage testbed up|status|down` as a user runs them.
//!
//! Usage errors are checked everywhere. The life cycle (up, status, a ping through the
//! emulated Internet, a refused second up, down) runs as root only, under a unique prefix
//! and a temporary state root; a guard runs `down` even when an assertion fails. Without
//! root it is skipped with a message.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use vantage_testbed::internet::addr;
use vantage_testbed::{is_root, unique_prefix};

const BIN: &str = env!("CARGO_BIN_EXE_vantage");

fn vantage(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `vantage testbed down` when dropped, so a failed assertion leaves nothing behind.
struct Down<'a> {
    prefix: &'a str,
    root: &'a Path,
}

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = Command::new(BIN)
            .args(["testbed", "down", self.prefix, "--state-root"])
            .arg(self.root)
            .output();
    }
}

/// The first complete line of a hook's log, once the hook has written it (it runs
/// concurrently with the test; give up after 20 s).
fn first_line(path: &Path) -> String {
    for _ in 0..200 {
        let log = std::fs::read_to_string(path).unwrap_or_default();
        if let Some((line, _)) = log.split_once('\n') {
            return line.to_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{} stayed empty", path.display());
}

#[test]
fn usage_errors_have_status_2_and_bad_prefixes_are_explained() {
    for args in [
        &["testbed"][..],
        &["testbed", "down"][..],
        &["testbed", "frob"][..],
        &["testbed", "up", "x", "--with-daemons", "--no-daemons"][..],
        &["testbed", "up", "x", "--vantage", "/bin/true"][..],
    ] {
        let out = vantage(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let root = tempfile::tempdir().unwrap();
    let root = root.path().to_str().unwrap();
    for cmd in ["status", "down"] {
        let out = vantage(&["testbed", cmd, "Bad-Name", "--state-root", root]);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        assert!(
            text(&out.stderr).contains("Bad-Name"),
            "{cmd}: {}",
            text(&out.stderr)
        );
    }
    let help = text(&vantage(&["testbed", "--help"]).stdout);
    assert!(help.contains("up") && help.contains("status") && help.contains("down"));
    assert!(!help.contains("delay-daemon"), "{help}");
}

#[test]
fn status_without_a_prefix_lists_nothing_in_an_empty_root() {
    let root = tempfile::tempdir().unwrap();
    let out = vantage(&[
        "testbed",
        "status",
        "--state-root",
        root.path().to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).starts_with("no testbeds under "),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn up_status_ping_down() {
    if !is_root() {
        eprintln!("skipped: building a testbed needs root");
        return;
    }
    let prefix = unique_prefix("tcli");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("state");
    let root_s = root.to_str().unwrap();
    let _guard = Down {
        prefix: &prefix,
        root: &root,
    };

    let out = vantage(&["testbed", "up", &prefix, "--state-root", root_s]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.starts_with(&format!("Vantage testbed `{prefix}`")),
        "{stdout}"
    );
    assert!(stdout.contains("akl-nz.vp.example.test"), "{stdout}");
    assert!(root.join(&prefix).join("vp-metadata.txt").is_file());

    // status: up, with the helper (this binary's hidden subcommand) running.
    let out = vantage(&["testbed", "status", &prefix, "--state-root", root_s]);
    let status = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{status}");
    assert!(
        status.starts_with(&format!("testbed `{prefix}`: up")),
        "{status}"
    );
    let daemon = status
        .lines()
        .find(|l| l.trim_start().starts_with("daemon"))
        .unwrap();
    assert!(
        daemon.ends_with("running") && !daemon.contains("NOT"),
        "{daemon}"
    );
    let out = vantage(&["testbed", "status", "--state-root", root_s]);
    assert!(text(&out.stdout).contains(&format!("{prefix}: up")));

    // The network works: a VP reaches the target, through the helper's delay engines.
    let ping = Command::new("ip")
        .args([
            "netns",
            "exec",
            &format!("{prefix}-vp_us"),
            BIN,
            "ping",
            "-c",
            "1",
        ])
        .arg(addr::TARGET_V4.to_string())
        .output()
        .unwrap();
    assert!(
        ping.status.success(),
        "{}{}",
        text(&ping.stdout),
        text(&ping.stderr)
    );

    // A second `up` of the same prefix is refused and breaks nothing.
    let out = vantage(&["testbed", "up", &prefix, "--state-root", root_s]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("exist already"), "{err}");
    assert!(
        err.contains(&format!("vantage testbed down {prefix}")),
        "{err}"
    );
    let out = vantage(&["testbed", "status", &prefix, "--state-root", root_s]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    let out = vantage(&["testbed", "down", &prefix, "--state-root", root_s]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(report.contains("deleted 25 namespace(s)"), "{report}");
    assert!(report.contains("removed the state directory"), "{report}");
    let out = vantage(&["testbed", "status", &prefix, "--state-root", root_s]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stdout).contains("not present"));
    assert!(
        vantage_testbed::netns::with_prefix(&prefix)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn with_daemons_starts_the_controller_and_a_probe_per_vp() {
    if !is_root() {
        eprintln!("skipped: building a testbed needs root");
        return;
    }
    let prefix = unique_prefix("tcld");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("state");
    let root_s = root.to_str().unwrap();
    let _guard = Down {
        prefix: &prefix,
        root: &root,
    };
    // A stand-in for a `vantage` that has the daemons: it logs its arguments and waits.
    let fake = dir.path().join("fake-vantage");
    std::fs::write(&fake, "#!/bin/sh\necho \"$@\"\nexec sleep 600\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let out = vantage(&[
        "testbed",
        "up",
        &prefix,
        "--with-daemons",
        "--vantage",
        fake.to_str().unwrap(),
        "--state-root",
        root_s,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Started commands (hooks):"));

    let out = vantage(&["testbed", "status", &prefix, "--state-root", root_s]);
    let status = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{status}");
    let hooks: Vec<&str> = status
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("hook-"))
        .collect();
    assert_eq!(hooks.len(), 6, "{status}");
    assert!(hooks.iter().all(|l| !l.contains("NOT running")), "{status}");

    // The placeholders were filled in: the probe on vp_nz dials ctrl with its own name.
    let logs = root.join(&prefix).join("logs");
    let probe = first_line(&logs.join("hook-probe-akl-nz.log"));
    let ctrl_v4 = vantage_testbed::internet::addr::CTRL_V4;
    assert!(
        probe.starts_with(&format!(
            "probe --remote {ctrl_v4}:4001 --name akl-nz.vp.example.test --tls-ca "
        )),
        "{probe}"
    );
    let ctrl = first_line(&logs.join("hook-controller.log"));
    assert!(
        ctrl.starts_with(&format!("controller --listen {ctrl_v4}:4001 --listen [")),
        "{ctrl}"
    );
    assert!(
        ctrl.contains(" --mux ") && ctrl.contains(" --vp-meta "),
        "{ctrl}"
    );

    let out = vantage(&["testbed", "down", &prefix, "--state-root", root_s]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(report.contains("hook-controller"), "{report}");
    assert!(
        vantage_testbed::netns::with_prefix(&prefix)
            .unwrap()
            .is_empty()
    );
}
