//! `vantage probe`'s operator features, run as an operator runs them: the real binary in a
//! network namespace this test builds (a host `vp` and a target host `t` on a veth link),
//! driven through its control socket with `vantage_client::ControlClient`.
//!
//! - `--user nobody`: after start every thread of the process has nobody's uid and only
//!   `CAP_NET_RAW` in its effective, permitted and bounding sets (read from
//!   `/proc/PID/task/*/status`), and a ping through the control socket still works;
//! - `--status-file` and `vantage probe status FILE [--json]`: the counters change after a
//!   ping and after a refused command, which is counted under its rule;
//! - SIGHUP sent to the `vantage probe` process reloads the do-not-probe list: a destination
//!   added to it is refused afterwards, naming the rule;
//! - SIGHUP also reloads the whole policy file: a rewrite denying the target host makes the
//!   next ping refused naming the rule while the target receives no echo request (its own
//!   ICMP counters), the log says `policy reloaded from FILE: hash OLD -> NEW`, and a
//!   malformed rewrite keeps the old policy (the target is pinged again), is logged with its
//!   line and key, and is counted in the status file;
//! - a malformed policy file stops the probe at start with an error naming the line and the
//!   key, a non-zero exit status, and nothing listening.
//!
//! Everything a test starts is killed and its namespaces removed when it ends, also when it
//! panics (then the probe's log is printed first). The tests skip (pass with a note) when not
//! root.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use vantage_client::{ControlClient, Outcome, Record};
use vantage_testbed::{ProcessGuard, Topology, TopologyBuilder, unique_prefix};

const BIN: &str = env!("CARGO_BIN_EXE_vantage");
/// The namespace-name stem of these tests (for `down_stale`).
const STEM: &str = "pops";
/// A generous bound for anything that should take a second or two.
const WAIT: Duration = Duration::from_secs(30);
/// `CAP_NET_RAW` is capability 13: the only bit of the effective set after `--user`.
const CAP_NET_RAW_ONLY: &str = "0000000000002000";

fn can_run() -> bool {
    if vantage_testbed::is_root() {
        // Namespaces of earlier runs that were killed before cleaning up.
        let _ = vantage_testbed::down_stale(STEM);
        true
    } else {
        eprintln!("skipped: needs root (network namespaces, raw sockets, a user to switch to)");
        false
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Waits (up to [`WAIT`]) until `cond` holds.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < WAIT, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The namespaces, a folder for the probe's files, and the probe once started.
struct Site {
    // Dropped first: the probe dies before its namespace goes.
    probe: Option<ProcessGuard>,
    topo: Topology,
    dir: tempfile::TempDir,
}

impl Site {
    /// Builds `vp` and `t` and a folder that the user `nobody` can read and write (the
    /// probe reads its do-not-probe list and writes its status file after the drop).
    fn new() -> Self {
        let mut b = TopologyBuilder::new(&unique_prefix(STEM));
        b.host("vp");
        b.host("t");
        b.link("vp", "t");
        let topo = b.build().expect("building the namespaces");
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        Self {
            probe: None,
            topo,
            dir,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn sock(&self) -> PathBuf {
        self.path("probe.sock")
    }

    fn status(&self) -> PathBuf {
        self.path("status.json")
    }

    /// The target host's address on the link.
    fn target(&self) -> Ipv4Addr {
        self.topo
            .node("t")
            .unwrap()
            .v4()
            .expect("t has an IPv4 address")
    }

    /// Writes the policy (allowing the target and loopback, denying 127.0.0.66, with the
    /// do-not-probe list `dnp.txt` holding `dnp`).
    fn write_policy(&self, dnp: &str) -> PathBuf {
        std::fs::write(self.path("dnp.txt"), dnp).unwrap();
        let policy = format!(
            "[measurements]\ntypes = [\"ping\"]\n\
             [destinations]\nallow = [\"{}\", \"127.0.0.0/8\"]\ndeny = [\"127.0.0.66\"]\n\
             [do_not_probe]\nfile = \"dnp.txt\"\n",
            self.target()
        );
        let path = self.path("policy.toml");
        std::fs::write(&path, policy).unwrap();
        path
    }

    /// Starts `vantage probe --unix SOCK ARGS...` in `vp`, its output appended to
    /// `probe.log`; does not wait.
    fn spawn_probe(&mut self, args: &[&str]) {
        let mut line = format!("exec '{BIN}' probe --unix '{}'", self.sock().display());
        for a in args {
            assert!(!a.contains('\''), "no quotes in arguments: {a}");
            write!(line, " '{a}'").unwrap();
        }
        write!(line, " >>'{}' 2>&1", self.path("probe.log").display()).unwrap();
        // `ip netns exec` and `sh -c exec` both exec: the guard's pid is the probe's.
        let guard = self
            .topo
            .spawn_quiet("vp", &["sh", "-c", &line])
            .expect("starting the probe");
        self.probe = Some(guard);
    }

    /// Starts `vantage probe` in `vp` with `args` after `--unix SOCK` and waits until its
    /// control socket answers.
    fn start_probe(&mut self, args: &[&str]) -> ControlClient {
        self.spawn_probe(args);
        let start = Instant::now();
        loop {
            if let Ok(c) = ControlClient::connect_unix(self.sock()) {
                return c;
            }
            assert!(
                self.probe.as_mut().unwrap().try_wait().unwrap().is_none(),
                "the probe exited:\n{}",
                self.log()
            );
            assert!(start.elapsed() < WAIT, "no control socket:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the probe under the policy of [`Site::write_policy`] (with `dnp` as its
    /// do-not-probe list) and a status file rewritten every second, plus `args`.
    fn start_with_policy(&mut self, dnp: &str, args: &[&str]) -> ControlClient {
        let policy = self.write_policy(dnp);
        let status = self.status();
        let mut all = vec![
            "--policy",
            policy.to_str().unwrap(),
            "--status-file",
            status.to_str().unwrap(),
            "--status-interval",
            "1",
        ];
        all.extend_from_slice(args);
        self.start_probe(&all)
    }

    fn pid(&self) -> u32 {
        self.probe.as_ref().expect("a running probe").id()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("probe.log")).unwrap_or_default()
    }

    /// `vantage probe status FILE --json`, parsed.
    fn status_json(&self) -> serde_json::Value {
        let out = run(&["probe", "status", self.status().to_str().unwrap(), "--json"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Waits until the status file holds `cond` (it is rewritten every second here).
    fn status_when(
        &self,
        what: &str,
        cond: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let start = Instant::now();
        loop {
            if self.status().exists() {
                let v = self.status_json();
                if cond(&v) {
                    return v;
                }
                assert!(start.elapsed() < WAIT, "never {what}: {v:#}");
            }
            assert!(start.elapsed() < WAIT, "no status file:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- probe.log ----\n{}", self.log());
        }
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// Sends `command` and returns its ping, which must have `replies` replies.
fn ping(client: &ControlClient, command: &str, replies: usize) {
    let chan = client.channel();
    chan.send(command).unwrap();
    match chan.next_result(Some(WAIT)).expect("a result") {
        Outcome::Result(r) => match r.record {
            Record::Ping(p) => assert_eq!(p.replies.len(), replies, "{command}: {p:?}"),
            other => panic!("{command}: expected a ping, got {other:?}"),
        },
        Outcome::Failed(f) => panic!("{command} failed: {f:?}"),
    }
}

/// Sends `command`, which the policy must refuse naming `rule`; returns the message.
fn refused(client: &ControlClient, command: &str, rule: &str) -> String {
    let err = client
        .channel()
        .send(command)
        .expect_err("a refusal")
        .to_string();
    assert!(err.contains("policy: "), "{command}: {err}");
    assert!(err.contains(&format!("({rule})")), "{command}: {err}");
    err
}

/// The lines `Name:` of every thread's `/proc/PID/task/TID/status`.
fn thread_status(pid: u32, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        // A thread that ended since the listing has no status to read.
        let Ok(status) = std::fs::read_to_string(task.unwrap().path().join("status")) else {
            continue;
        };
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {status}"));
        out.push(line.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    out
}

/// `id -u nobody` or `id -g nobody`.
fn id_of(which: &str) -> u32 {
    let out = Command::new("id").args([which, "nobody"]).output().unwrap();
    assert!(
        out.status.success(),
        "no user nobody: {}",
        text(&out.stderr)
    );
    text(&out.stdout).trim().parse().unwrap()
}

fn count(v: &serde_json::Value, table: &str, key: &str) -> u64 {
    v[table][key].as_u64().unwrap_or(0)
}

#[test]
fn as_nobody_the_probe_keeps_only_cap_net_raw_and_still_pings() {
    if !can_run() {
        return;
    }
    let mut site = Site::new();
    let client = site.start_probe(&["--user", "nobody", "--pps", "100"]);
    let pid = site.pid();
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap()
            .trim(),
        "vantage",
        "the guard's pid is not the probe"
    );
    let (uid, gid) = (id_of("-u"), id_of("-g"));
    let ids = format!("{uid} {uid} {uid} {uid}");
    let gids = format!("{gid} {gid} {gid} {gid}");
    // Every thread: the drop happened before any thread was started.
    let uids = thread_status(pid, "Uid");
    assert!(uids.len() > 1, "one thread only? {uids:?}");
    assert!(uids.iter().all(|u| *u == ids), "{uids:?}");
    assert!(thread_status(pid, "Gid").iter().all(|g| *g == gids));
    for set in ["CapEff", "CapPrm"] {
        let caps = thread_status(pid, set);
        assert!(
            caps.iter().all(|c| c == CAP_NET_RAW_ONLY),
            "{set}: {caps:?}"
        );
    }
    // The bounding set keeps CAP_NET_RAW alone (with no_new_privs nothing can regain more).
    let bnd = thread_status(pid, "CapBnd");
    assert!(bnd.iter().all(|c| c == CAP_NET_RAW_ONLY), "CapBnd: {bnd:?}");
    for set in ["CapInh", "CapAmb"] {
        let caps = thread_status(pid, set);
        assert!(
            caps.iter().all(|c| c == "0000000000000000"),
            "{set}: {caps:?}"
        );
    }
    assert!(thread_status(pid, "NoNewPrivs").iter().all(|n| n == "1"));
    let log = site.log();
    assert!(
        log.contains(&format!(
            "now running as user nobody (uid {uid}, gid {gid}), capabilities CAP_NET_RAW, \
             no_new_privs"
        )),
        "{log}"
    );

    // Still measures: the raw sockets were opened before the drop.
    let t = site.target();
    ping(&client, &format!("ping -c 2 -i 0.1 {t}"), 2);
    ping(&client, "ping -c 1 127.0.0.1", 1);
}

#[test]
fn the_status_file_counts_pings_and_refusals_by_rule() {
    if !can_run() {
        return;
    }
    let mut site = Site::new();
    let client = site.start_with_policy("127.0.0.2/32\n", &[]);
    let status = site.status();
    let before = site.status_when("a first status", |_| true);
    assert_eq!(before["format"], "vantage-probe-status/1");
    assert_eq!(before["pid"].as_u64(), Some(u64::from(site.pid())));
    assert_eq!(before["counters"]["tasks_finished"], 0, "{before:#}");
    assert_eq!(count(&before, "measurements", "ping/icmp-echo"), 0);
    assert_eq!(count(&before, "refused_commands", "destinations.deny"), 0);
    assert_eq!(before["policy"]["do_not_probe_entries"], 1, "{before:#}");

    let t = site.target();
    ping(&client, &format!("ping -c 2 -i 0.1 {t}"), 2);
    let after_ping = site.status_when("the ping counted", |v| {
        v["counters"]["tasks_finished"].as_u64() == Some(1)
    });
    assert_eq!(count(&after_ping, "measurements", "ping/icmp-echo"), 1);
    assert_eq!(count(&after_ping, "packets", "ipv4/icmp"), 2);
    assert_eq!(after_ping["counters"]["sent"], 2, "{after_ping:#}");
    assert_eq!(after_ping["counters"]["matched"], 2, "{after_ping:#}");
    assert_eq!(
        after_ping["refused_commands"],
        serde_json::json!({}),
        "{after_ping:#}"
    );

    // Refused commands, each counted under its rule; nothing more is measured or sent.
    refused(&client, "ping -c 1 127.0.0.66", "destinations.deny");
    refused(&client, "ping -c 1 127.0.0.2", "do_not_probe.file");
    refused(&client, "trace -m 5 127.0.0.1", "measurements.types");
    refused(&client, "ping -c 3 127.0.0.66", "destinations.deny");
    let after = site.status_when("the refusals counted", |v| {
        count(v, "refused_commands", "destinations.deny") == 2
    });
    let rules: BTreeMap<String, u64> =
        serde_json::from_value(after["refused_commands"].clone()).unwrap();
    assert_eq!(
        rules,
        BTreeMap::from([
            ("destinations.deny".to_owned(), 2),
            ("do_not_probe.file".to_owned(), 1),
            ("measurements.types".to_owned(), 1),
        ]),
        "{after:#}"
    );
    assert_eq!(after["counters"]["tasks_started"], 1, "{after:#}");
    assert_eq!(after["counters"]["sent"], 2, "{after:#}");
    assert_eq!(after["refused_packets"], serde_json::json!({}), "{after:#}");

    // The same for people.
    let out = run(&["probe", "status", status.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let human = text(&out.stdout);
    assert!(
        human.starts_with(&format!("vantage probe pid {} ", site.pid())),
        "{human}"
    );
    let words = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    let lines: Vec<String> = human.lines().map(words).collect();
    for want in [
        "ping/icmp-echo 1",
        "ipv4/icmp 2",
        "destinations.deny 2",
        "do_not_probe.file 1",
        "measurements.types 1",
        "packets refused by rule: none",
    ] {
        assert!(
            lines.iter().any(|l| l == want),
            "no line {want:?} in\n{human}"
        );
    }

    // At exit the file is written once more (SIGTERM), with the same counts.
    let guard = site.probe.take().unwrap();
    let out = guard.stop(WAIT).unwrap();
    assert!(out.status.success(), "{out:?}\n{}", site.log());
    let last = site.status_json();
    assert_eq!(last["refused_commands"], after["refused_commands"]);
    assert_eq!(last["counters"]["tasks_finished"], 1);
    assert!(
        !site.sock().exists(),
        "the control socket is removed at exit"
    );
}

#[test]
fn sighup_to_the_probe_reloads_the_do_not_probe_list() {
    if !can_run() {
        return;
    }
    let mut site = Site::new();
    // As nobody: the list is read again after the drop.
    let client = site.start_with_policy("127.0.0.2/32\n", &["--user", "nobody"]);
    ping(&client, "ping -c 1 127.0.0.3", 1);
    refused(&client, "ping -c 1 127.0.0.2", "do_not_probe.file");
    let before = site.status_when("a first status", |v| {
        count(v, "refused_commands", "do_not_probe.file") == 1
    });
    assert_eq!(before["policy"]["reloads"], 0, "{before:#}");
    let old_hash = before["policy"]["do_not_probe_sha256"].clone();

    // The new list has the same size and modification time and is written in place (the
    // same inode), so the probe's look at the file every 5 s sees no change once the time
    // is set back: only the signal reloads it. (Should that look fall between the write
    // and the reset, the probe logs a reload "(file changed)"; then only the signal's own
    // log line below shows what the signal did.)
    let dnp = site.path("dnp.txt");
    let mtime = std::fs::metadata(&dnp).unwrap().modified().unwrap();
    std::fs::write(&dnp, "127.0.0.3/32\n").unwrap();
    let f = std::fs::File::options().write(true).open(&dnp).unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    std::thread::sleep(Duration::from_secs(6));
    if site.log().contains("(file changed)") {
        eprintln!("note: the probe's file check saw the list between write and time reset");
    } else {
        ping(&client, "ping -c 1 127.0.0.3", 1);
        let st = site.status_json();
        assert_eq!(
            st["policy"]["reloads"], 0,
            "reloaded without the signal: {st:#}"
        );
    }

    // One signal: the probe answered its control socket, so its handler is in place.
    let pid = site.pid().to_string();
    let out = Command::new("kill").args(["-HUP", &pid]).output().unwrap();
    assert!(out.status.success(), "kill -HUP: {}", text(&out.stderr));
    eventually("the probe logs the SIGHUP reload", || {
        site.log().contains("reloaded (SIGHUP)")
    });
    let after = site.status_when("the reload counted", |v| {
        v["policy"]["reloads"].as_u64().unwrap_or(0) >= 1
    });
    assert_eq!(
        site.log().matches("reloaded (SIGHUP)").count(),
        1,
        "{}",
        site.log()
    );
    assert_eq!(after["policy"]["reload_errors"], 0, "{after:#}");
    assert_eq!(after["policy"]["do_not_probe_entries"], 1, "{after:#}");
    assert_ne!(
        after["policy"]["do_not_probe_sha256"], old_hash,
        "{after:#}"
    );
    assert!(
        site.probe.as_mut().unwrap().try_wait().unwrap().is_none(),
        "SIGHUP stopped the probe"
    );
    assert!(
        site.log()
            .contains("do-not-probe list reloaded (SIGHUP): 1 prefixes"),
        "{}",
        site.log()
    );

    // 127.0.0.3 is refused now, naming the rule, the prefix and the line; 127.0.0.2 is
    // measured again.
    let err = refused(&client, "ping -c 1 127.0.0.3", "do_not_probe.file");
    assert!(
        err.contains(&format!("prefix 127.0.0.3/32, line 1 of {}", dnp.display())),
        "{err}"
    );
    ping(&client, "ping -c 1 127.0.0.2", 1);
    site.status_when("the new refusal counted", |v| {
        count(v, "refused_commands", "do_not_probe.file") == 2
    });
}

/// The echo requests the node `node` has received (`Icmp: InEchos` of its namespace).
fn echoes_received(site: &Site, node: &str) -> u64 {
    let out = site.topo.exec(node, &["cat", "/proc/net/snmp"]).unwrap();
    let mut icmp = out.stdout.lines().filter(|l| l.starts_with("Icmp: "));
    let (names, values) = (icmp.next().unwrap(), icmp.next().unwrap());
    let at = names
        .split_whitespace()
        .position(|n| n == "InEchos")
        .unwrap();
    values.split_whitespace().nth(at).unwrap().parse().unwrap()
}

#[test]
fn sighup_reloads_the_whole_policy_and_a_bad_file_keeps_the_old_one() {
    if !can_run() {
        return;
    }
    let mut site = Site::new();
    let client = site.start_with_policy("127.0.0.2/32\n", &["--user", "nobody"]);
    let target = site.target();
    let ping_target = format!("ping -c 1 {target}");
    ping(&client, &ping_target, 1);
    assert_eq!(echoes_received(&site, "t"), 1);
    let first = site.status_when("a first status", |v| v["policy"]["sha256"].is_string());
    let old_hash = first["policy"]["sha256"].as_str().unwrap().to_owned();
    let pid = site.pid().to_string();
    let hup = || {
        let out = Command::new("kill").args(["-HUP", &pid]).output().unwrap();
        assert!(out.status.success(), "kill -HUP: {}", text(&out.stderr));
    };

    // A malformed rewrite: logged with line and key, counted, the old policy kept.
    let policy = site.path("policy.toml");
    let good = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(
        &policy,
        good.replace("types = [\"ping\"]", "types = \"ping\""),
    )
    .unwrap();
    hup();
    eventually("the failed reload is logged", || {
        site.log().contains("keeping the old policy")
    });
    let log = site.log();
    assert!(
        log.contains("line 2") && log.contains("key measurements.types"),
        "{log}"
    );
    let st = site.status_when("the failed reload counted", |v| {
        v["policy"]["policy_reload_errors"] == 1
    });
    assert_eq!(
        st["policy"]["sha256"].as_str(),
        Some(old_hash.as_str()),
        "{st:#}"
    );
    assert!(
        st["policy"]["last_policy_reload_error"]
            .as_str()
            .is_some_and(|e| e.contains("line 2")),
        "{st:#}"
    );
    ping(&client, &ping_target, 1);
    assert_eq!(echoes_received(&site, "t"), 2);

    // The target's address denied: refused at once, nothing reaches it.
    std::fs::write(
        &policy,
        good.replace(
            "deny = [\"127.0.0.66\"]",
            &format!("deny = [\"{target}/32\"]"),
        ),
    )
    .unwrap();
    hup();
    eventually("the reload is logged", || {
        site.log().contains(&format!(
            "policy reloaded from {}: hash {old_hash} -> ",
            policy.display()
        ))
    });
    let err = refused(&client, &ping_target, "destinations.deny");
    assert!(err.contains(&format!("denied prefix {target}/32")), "{err}");
    ping(&client, "ping -c 1 127.0.0.3", 1);
    assert_eq!(echoes_received(&site, "t"), 2, "a ping reached the target");
    let st = site.status_when("the reload counted", |v| v["policy"]["policy_reloads"] == 1);
    assert_ne!(
        st["policy"]["sha256"].as_str(),
        Some(old_hash.as_str()),
        "{st:#}"
    );
    assert_eq!(st["policy"]["policy_reload_errors"], 1, "{st:#}");
    assert!(
        site.probe.as_mut().unwrap().try_wait().unwrap().is_none(),
        "SIGHUP stopped the probe"
    );
}

#[test]
fn a_malformed_policy_stops_the_probe_at_start_naming_line_and_key() {
    if !can_run() {
        return;
    }
    let mut site = Site::new();
    let policy = site.path("policy.toml");
    std::fs::write(
        &policy,
        "[measurements]\ntypes = [\"ping\"]\n\n[destinations]\nallow = [\"127.0.0.0/8\"]\n\
         deny = [\"10.0.0.1/8\"]\n",
    )
    .unwrap();
    let status = site.status();
    let port = "4077";
    site.spawn_probe(&[
        "--port",
        port,
        "--user",
        "nobody",
        "--policy",
        policy.to_str().unwrap(),
        "--status-file",
        status.to_str().unwrap(),
    ]);
    let mut guard = site.probe.take().unwrap();
    let mut exit = None;
    eventually("the probe stops", || {
        exit = guard.try_wait().unwrap();
        exit.is_some()
    });
    let exit = exit.unwrap();
    site.probe = Some(guard);
    let log = site.log();
    assert!(!exit.success(), "{exit:?}: {log}");
    assert_eq!(exit.code(), Some(2), "{log}");
    assert!(log.starts_with("vantage probe: policy file "), "{log}");
    assert!(log.contains("line 6"), "{log}");
    assert!(log.contains("key destinations.deny[0]"), "{log}");
    assert!(log.contains("did you mean 10.0.0.0/8?"), "{log}");
    assert_eq!(log.lines().count(), 1, "{log}");

    // Nothing listens: no control socket, no port in the namespace, no status file.
    assert!(!site.sock().exists(), "a control socket was made");
    assert!(!status.exists(), "a status file was written");
    let connect = site
        .topo
        .run_in("vp", move || {
            std::net::TcpStream::connect(format!("127.0.0.1:{port}")).map(drop)
        })
        .unwrap();
    let err = connect.expect_err("something listens on the control port");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
}
