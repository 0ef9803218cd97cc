//! The namespace matrix: a `vantage controller` and three `vantage probe --remote`
//! processes (the real binary), each in its own network namespace, hosts joined by one
//! router, plus a target host to measure. The test process drives them through the
//! mux socket with `vantage_client::MuxClient` (a unix socket path works across network
//! namespaces).
//!
//! Everything a [`Matrix`] starts is killed and its namespaces deleted when it is
//! dropped, also when the test panics; on a panic the daemons' logs are printed first.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use vantage_client::{Channel, MuxClient, Outcome, Record, VpEvent, VpInfo};
use vantage_testbed::{ProcessGuard, Topology, TopologyBuilder, unique_prefix};

/// The port the controller listens on for VPs, inside its namespace.
pub const PORT: u16 = 4001;
/// The namespace-name stem of these tests (for `down_stale`).
pub const STEM: &str = "mx";
/// The VP (index into [`VPS`]) that dials the controller over IPv6.
pub const DIALS_V6: usize = 2;
/// A generous bound for anything that should take a second or two.
pub const WAIT: Duration = Duration::from_secs(30);

/// The VP hosts, their monitor names and metadata.
pub const VPS: [(&str, &str); 3] = [
    ("vp1", "vp1.matrix.test"),
    ("vp2", "vp2.matrix.test"),
    ("vp3", "vp3.matrix.test"),
];

/// Per-VP metadata written to the `--vp-meta` file: (cc, place, asn4, tags).
pub const META: [(&str, &str, &str, [&str; 2]); 3] = [
    (
        "nz",
        "Auckland, New Zealand",
        "64496",
        ["os:linux", "access:fibre"],
    ),
    (
        "de",
        "Frankfurt am Main",
        "64497",
        ["os:linux", "access:dsl"],
    ),
    ("br", "Sao Paulo", "64498", ["os:linux", "access:cable"]),
];

/// How the VP links are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `--plaintext` on both ends.
    Plaintext,
    /// TLS with a controller certificate for its IP address and client certificates
    /// naming each VP, all signed by a CA made by the test.
    Tls,
}

/// Whether these tests can run here (they need root for namespaces and raw sockets).
pub fn can_run() -> bool {
    if vantage_testbed::is_root() {
        // Namespaces of earlier runs that were killed before cleaning up.
        let _ = vantage_testbed::down_stale(STEM);
        true
    } else {
        eprintln!("skipped: needs root (network namespaces, raw sockets)");
        false
    }
}

/// A controller, three probes and a target, each in its own namespace.
pub struct Matrix {
    // Dropped first: the daemons die before their namespaces go.
    controller: Option<ProcessGuard>,
    probes: Vec<Option<ProcessGuard>>,
    /// The namespaces.
    pub topo: Topology,
    /// Logs, certificates, the metadata file and the mux socket.
    pub dir: tempfile::TempDir,
    security: Security,
    grace: String,
    restarts: u32,
}

impl Matrix {
    /// Builds the namespaces and starts the controller (with `grace`) and the three
    /// probes; does not wait for the probes to connect.
    pub fn start(security: Security, grace: &str) -> Self {
        let prefix = unique_prefix(STEM);
        let mut b = TopologyBuilder::new(&prefix);
        b.router("r");
        for host in ["ctrl", "vp1", "vp2", "vp3", "target"] {
            b.host(host);
            b.link(host, "r");
        }
        let topo = b.build().expect("building the matrix namespaces");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut m = Self {
            controller: None,
            probes: Vec::new(),
            topo,
            dir,
            security,
            grace: grace.to_owned(),
            restarts: 0,
        };
        m.write_meta();
        if security == Security::Tls {
            m.write_certs();
        }
        m.start_controller();
        // Probes started before the controller listens would wait out a backoff.
        let deadline = Instant::now() + WAIT;
        while !m.mux().exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        for i in 0..VPS.len() {
            let guard = m.spawn_probe(i);
            m.probes.push(Some(guard));
        }
        m
    }

    /// The mux socket path.
    pub fn mux(&self) -> PathBuf {
        self.dir.path().join("mux.sock")
    }

    /// A host's address.
    pub fn addr(&self, node: &str) -> Ipv4Addr {
        self.topo
            .node(node)
            .ok()
            .and_then(vantage_testbed::NodeInfo::v4)
            .unwrap_or_else(|| panic!("no address for node {node}"))
    }

    /// A host's IPv6 address.
    pub fn addr6(&self, node: &str) -> Ipv6Addr {
        self.topo
            .node(node)
            .ok()
            .and_then(vantage_testbed::NodeInfo::v6)
            .unwrap_or_else(|| panic!("no IPv6 address for node {node}"))
    }

    /// The address VP `i` (0-based) dials the controller from: the last VP dials over
    /// IPv6, the others over IPv4.
    pub fn vp_source(&self, i: usize) -> IpAddr {
        if i == DIALS_V6 {
            IpAddr::V6(self.addr6(VPS[i].0))
        } else {
            IpAddr::V4(self.addr(VPS[i].0))
        }
    }

    /// The target's address.
    pub fn target(&self) -> Ipv4Addr {
        self.addr("target")
    }

    fn write_meta(&self) {
        let mut text = String::from("# the matrix test's VPs\n");
        for ((_, name), (cc, place, asn, tags)) in VPS.iter().zip(META.iter()) {
            writeln!(text, "{name} cc {cc}").unwrap();
            writeln!(text, "{name} place {place}").unwrap();
            writeln!(text, "{name}\tasn4\t{asn}").unwrap();
            for t in tags {
                writeln!(text, "{name} tag {t}").unwrap();
            }
        }
        std::fs::write(self.dir.path().join("vp-meta.txt"), text).unwrap();
    }

    fn write_certs(&self) {
        let d = self.dir.path();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(DnType::CommonName, "Vantage matrix test CA");
        let ca = CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap();
        let leaf = |sans: &[String], client: bool, file: &str| {
            let mut p = CertificateParams::new(sans.to_vec()).unwrap();
            p.distinguished_name.push(DnType::CommonName, &sans[0]);
            if client {
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            }
            let key = KeyPair::generate().unwrap();
            let cert = p.signed_by(&key, &ca).unwrap();
            std::fs::write(d.join(format!("{file}.pem")), cert.pem()).unwrap();
            std::fs::write(d.join(format!("{file}.key")), key.serialize_pem()).unwrap();
        };
        std::fs::write(d.join("ca.pem"), ca.pem()).unwrap();
        // The probes dial the controller by its addresses: IP subjectAltNames.
        let ctrl = [
            self.addr("ctrl").to_string(),
            self.addr6("ctrl").to_string(),
        ];
        leaf(&ctrl, false, "ctrl");
        for (node, name) in VPS {
            leaf(&[name.to_owned()], true, node);
        }
    }

    /// Runs `args` of the vantage binary in `node`, output appended to `log`.
    fn spawn_vantage(&self, node: &str, args: &[String], log: &str) -> ProcessGuard {
        let bin = env!("CARGO_BIN_EXE_vantage");
        let mut line = format!("NO_COLOR=1 exec '{bin}'");
        for a in args {
            assert!(!a.contains('\''), "no quotes in arguments: {a}");
            write!(line, " '{a}'").unwrap();
        }
        let log = self.dir.path().join(log);
        write!(line, " >>'{}' 2>&1", log.display()).unwrap();
        self.topo
            .spawn_quiet(node, &["sh", "-c", &line])
            .unwrap_or_else(|e| panic!("starting `{line}` in {node}: {e}"))
    }

    /// Starts (or restarts) the controller on the same address and mux path.
    pub fn start_controller(&mut self) {
        let d = self.dir.path();
        let mut args: Vec<String> = vec![
            "controller".into(),
            "--listen".into(),
            format!("{}:{PORT}", self.addr("ctrl")),
            "--listen".into(),
            format!("[{}]:{PORT}", self.addr6("ctrl")),
            "--mux".into(),
            self.mux().display().to_string(),
            "--vp-meta".into(),
            d.join("vp-meta.txt").display().to_string(),
            "--grace".into(),
            self.grace.clone(),
        ];
        match self.security {
            Security::Plaintext => args.push("--plaintext".into()),
            Security::Tls => {
                for (opt, file) in [
                    ("--cert", "ctrl.pem"),
                    ("--key", "ctrl.key"),
                    ("--client-ca", "ca.pem"),
                ] {
                    args.push(opt.into());
                    args.push(d.join(file).display().to_string());
                }
            }
        }
        if self.restarts > 0 {
            let note = format!("\n=== restart {} ===\n", self.restarts);
            let log = d.join("controller.log");
            let mut old = std::fs::read(&log).unwrap_or_default();
            old.extend_from_slice(note.as_bytes());
            std::fs::write(&log, old).unwrap();
        }
        self.restarts += 1;
        let guard = self.spawn_vantage("ctrl", &args, "controller.log");
        self.controller = Some(guard);
    }

    /// Sends SIGHUP to the controller (it reloads the metadata file).
    pub fn hup_controller(&self) {
        let pid = self.controller.as_ref().expect("a running controller").id();
        // The shell's own kill: no procps needed.
        let st = std::process::Command::new("sh")
            .args(["-c", &format!("kill -HUP {pid}")])
            .status()
            .expect("running kill");
        assert!(st.success(), "kill -HUP {pid}: {st}");
    }

    /// Kills the controller with SIGKILL.
    pub fn kill_controller(&mut self) {
        drop(self.controller.take());
    }

    fn spawn_probe(&self, i: usize) -> ProcessGuard {
        let (node, name) = VPS[i];
        let d = self.dir.path();
        let mut args: Vec<String> = vec![
            "probe".into(),
            "--remote".into(),
            if i == DIALS_V6 {
                format!("[{}]:{PORT}", self.addr6("ctrl"))
            } else {
                format!("{}:{PORT}", self.addr("ctrl"))
            },
            "--name".into(),
            name.into(),
            "--pps".into(),
            "2000".into(),
        ];
        match self.security {
            Security::Plaintext => args.push("--plaintext".into()),
            Security::Tls => {
                for (opt, file) in [
                    ("--tls-ca", "ca.pem".to_owned()),
                    ("--tls-cert", format!("{node}.pem")),
                    ("--tls-key", format!("{node}.key")),
                ] {
                    args.push(opt.into());
                    args.push(d.join(file).display().to_string());
                }
            }
        }
        self.spawn_vantage(node, &args, &format!("{node}.log"))
    }

    /// Cuts (`on`) or restores the TCP link of VP `i` (0-based) to the controller in its
    /// namespace: while cut, every packet of it, both ways, is answered with a TCP reset
    /// (the resets themselves pass, so both ends hear of them when they next send), and
    /// new connections are refused.
    pub fn reset_link(&self, i: usize, on: bool) {
        let (tool, ctrl) = match self.vp_source(i) {
            IpAddr::V4(_) => ("iptables", self.addr("ctrl").to_string()),
            IpAddr::V6(_) => ("ip6tables", self.addr6("ctrl").to_string()),
        };
        let op = if on { "-A" } else { "-D" };
        let port = PORT.to_string();
        for [chain, a, p] in [["OUTPUT", "-d", "--dport"], ["INPUT", "-s", "--sport"]] {
            self.exec_ok(
                VPS[i].0,
                &[
                    tool,
                    op,
                    chain,
                    "-p",
                    "tcp",
                    a,
                    &ctrl,
                    p,
                    &port,
                    "!",
                    "--tcp-flags",
                    "RST",
                    "RST",
                    "-j",
                    "REJECT",
                    "--reject-with",
                    "tcp-reset",
                ],
            );
        }
    }

    /// Starts probe `i` (0-based) again, after [`Matrix::kill_probe`].
    pub fn restart_probe(&mut self, i: usize) {
        let guard = self.spawn_probe(i);
        self.probes[i] = Some(guard);
    }

    /// Stops the controller with SIGTERM (waiting up to `grace` before SIGKILL) and
    /// returns its exit status.
    pub fn stop_controller(&mut self, grace: Duration) -> std::process::ExitStatus {
        let guard = self.controller.take().expect("a running controller");
        guard.stop(grace).expect("stopping the controller").status
    }

    /// Kills probe `i` (0-based) with SIGKILL.
    pub fn kill_probe(&mut self, i: usize) {
        drop(self.probes[i].take());
    }

    /// A daemon's log so far (`controller`, `vp1`, ...).
    pub fn log(&self, who: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{who}.log"))).unwrap_or_default()
    }

    /// Runs a command in a node and asserts that it succeeded.
    pub fn exec_ok(&self, node: &str, args: &[&str]) {
        let out = self.topo.exec(node, args).expect("running a command");
        assert!(
            out.success(),
            "`{}` in {node} failed: {}",
            args.join(" "),
            out.stderr
        );
    }
}

impl Drop for Matrix {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for who in ["controller", "vp1", "vp2", "vp3"] {
                let log = self.log(who);
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("---- {who}.log (last {} lines) ----", tail.len());
                for l in tail.iter().rev() {
                    eprintln!("{l}");
                }
            }
        }
    }
}

/// Connects to the mux, retrying while the controller is not listening yet.
pub fn connect(mux: &Path, within: Duration) -> MuxClient {
    let deadline = Instant::now() + within;
    loop {
        match MuxClient::connect_timeout(mux, Duration::from_secs(10)) {
            Ok(c) => return c,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "no mux at {} within {within:?}: {e}",
                    mux.display()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Waits until every VP of the matrix is listed (by monitor name); returns them by
/// name. `None` when they are not all there within `within`.
pub fn try_wait_all(client: &MuxClient, within: Duration) -> Option<HashMap<String, VpInfo>> {
    let deadline = Instant::now() + within;
    loop {
        let listed: HashMap<String, VpInfo> = client
            .vps()
            .into_iter()
            .filter_map(|v| v.name.clone().map(|n| (n, v)))
            .collect();
        if VPS.iter().all(|(_, n)| listed.contains_key(*n)) {
            return Some(listed);
        }
        if Instant::now() >= deadline || !client.is_connected() {
            return None;
        }
        let _ = client.next_vp_event(Some(Duration::from_millis(100)));
    }
}

/// Like [`try_wait_all`], panicking with what was listed when they do not all come.
pub fn wait_all(client: &MuxClient, within: Duration) -> HashMap<String, VpInfo> {
    try_wait_all(client, within).unwrap_or_else(|| {
        panic!(
            "not every VP listed within {within:?}; listed: {:?}",
            client.vps()
        )
    })
}

/// Takes the VP events queued so far.
pub fn drain_vp_events(client: &MuxClient) -> Vec<VpEvent> {
    let mut v = Vec::new();
    while let Some(e) = client.poll_vp_event() {
        v.push(e);
    }
    v
}

/// The ping record of an outcome, panicking on anything else.
pub fn ping_of(out: Outcome) -> vantage_model::Ping {
    match out {
        Outcome::Result(r) => match r.record {
            Record::Ping(p) => *p,
            other => panic!("expected a ping, got {other:?}"),
        },
        Outcome::Failed(f) => panic!("task failed: {f:?}"),
    }
}

/// Waits for `n` outcomes on `chan` (at most `within` in all); returns those that came.
pub fn collect(chan: &Channel, n: usize, within: Duration) -> Vec<Outcome> {
    let deadline = Instant::now() + within;
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match chan.next_result(Some(left)) {
            Some(o) => v.push(o),
            None => break,
        }
    }
    v
}

/// Checks that the outcomes are exactly one successful ping per user id in `ids`,
/// each to `dst`; `what` names the VP in messages.
pub fn assert_exactly_once(what: &str, outcomes: Vec<Outcome>, ids: &[u32], dst: Ipv4Addr) {
    let mut seen: HashMap<u32, usize> = HashMap::new();
    let mut failures = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Result(r) => match r.record {
                Record::Ping(p) => {
                    assert_eq!(p.dst.to_string(), dst.to_string(), "{what}: ping's dst");
                    *seen.entry(p.user_id).or_default() += 1;
                }
                other => panic!("{what}: expected a ping, got {other:?}"),
            },
            Outcome::Failed(f) => failures.push(f),
        }
    }
    assert!(failures.is_empty(), "{what}: tasks failed: {failures:?}");
    let dup: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "{what}: results delivered twice: {dup:?}");
    let missing: Vec<_> = ids.iter().filter(|i| !seen.contains_key(i)).collect();
    assert!(
        missing.is_empty(),
        "{what}: {} of {} results missing: {missing:?}",
        missing.len(),
        ids.len()
    );
    assert_eq!(
        seen.len(),
        ids.len(),
        "{what}: results for unknown user ids"
    );
}
