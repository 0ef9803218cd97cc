//! Persistent testbeds: [`up`], [`status`] and [`down`], what `vantage testbed
//! up|status|down` calls.
//!
//! [`up`] builds the emulated Internet of [`crate::internet`] under a prefix, starts its
//! services and the commands of its hooks, and returns, leaving everything running. Its
//! state lives in one directory, `STATE_ROOT/PREFIX/` (by default
//! `/run/vantage-testbed/PREFIX/`):
//!
//! | path | what |
//! |---|---|
//! | `layout.txt` | what is where, as printed by `up` and `status` |
//! | `nodes` | the testbed's node names, one a line |
//! | `up` | written last: `up` finished |
//! | `vp-metadata.txt` | the VP metadata file for the controller (`-m`) |
//! | `vp-policy.toml` | the policy every testbed probe runs under ([`TESTBED_POLICY`]) |
//! | `mux` | where the controller's mux socket is expected |
//! | `tls/` | `ca.pem`, `web.pem`/`.key`, `controller.pem`/`.key` |
//! | `daemon.conf`, `daemon.ready` | the helper's task list and its readiness mark |
//! | `nsd-ns1/`, `nsd-ns2/`, `nginx/` | generated service configurations and data |
//! | `pids/NAME.pid` | every process started: `PID STARTTIME` then the command line |
//! | `logs/NAME.log` | their standard output and error |
//!
//! Every process `up` starts is recorded in `pids/` with its start time (so a recycled
//! pid is never killed), runs in its own process group, and is detached from the caller.
//! [`down`] needs nothing but the prefix: it stops the recorded processes, deletes every
//! namespace `PREFIX-*` (killing whatever runs inside), removes `/etc/netns/PREFIX-*` and
//! the state directory. It works on a complete testbed, on one whose `up` failed midway
//! (`up` itself calls it before returning the error), and after any process was killed.
//!
//! The user-space engines run in a helper process (see [`crate::daemon`]): `up` starts
//! [`UpOptions::daemon`], a command line that must end up calling
//! [`crate::daemon::daemon_main`] with the state directory.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::Read as _;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use crate::Error;
use crate::builder::NodeKind;
use crate::daemon::{self, Task};
use crate::internet::{self, HOSTS, InternetOptions, VpSpec, addr};
use crate::netns::{self, NetnsError};
use crate::process::CommandOutput;
use crate::services;

/// Where state directories live unless told otherwise.
pub const DEFAULT_STATE_ROOT: &str = "/run/vantage-testbed";

/// The TCP port the controller is expected to listen on for VPs (in `ctrl`).
pub const CONTROLLER_PORT: u16 = 4001;

/// The UDP echo service's port (in `udp`).
pub const UDP_ECHO_PORT: u16 = 7;

/// How long `up` waits for the helper and for each service to be ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// How long `down` lets a process end after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// How long [`down`] keeps sweeping namespaces that reappear (created by a child of an
/// `up` killed mid-way), and how long it waits between sweeps.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);
const SETTLE_PAUSE: Duration = Duration::from_millis(150);

/// The VP policy of the testbed's probes (`vp-policy.toml` in the state directory): the
/// testbed's own address plan (private space, which a policy must name to allow) and
/// every measurement type but packet capture, at rates a benchmark can use.
pub const TESTBED_POLICY: &str = "\
# The VP policy of a Vantage testbed probe (see docs/policy.md).
[measurements]
types = [\"ping\", \"trace\", \"tracelb\", \"dealias\", \"host\", \"http\", \"udpprobe\"]

[rate]
pps = 10000
max_tasks = 10000

[destinations]
allow = [\"10.0.0.0/8\", \"fd00::/8\"]

[options]
record_route = true
timestamp = true
";

/// The file name of [`TESTBED_POLICY`] in the state directory.
const POLICY_FILE: &str = "vp-policy.toml";

/// A command `up` starts inside a node after everything else, e.g. `vantage controller`
/// on `ctrl` or `vantage probe` on each VP. Its output goes to `logs/hook-NAME.log`.
///
/// Arguments may contain placeholders, replaced before the start: `{state}` (state
/// directory), `{prefix}`, `{node}`, `{mux}` (the mux socket path), `{metadata}` (the VP
/// metadata file), `{policy}` (the testbed's VP policy file), `{tls}` (the TLS directory), `{zone}`, `{ctrl_name}` (`ctrl.ZONE`),
/// `{ctrl_v4}`, `{ctrl_v6}`, `{ctrl_port}`, `{vp_name}` (the node's monitor name; empty
/// on nodes that are not VPs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// A name for its log and pid files (1 to 40 characters from a-z, 0-9, `-`, `_`).
    pub name: String,
    /// The node to run it in.
    pub node: String,
    /// Program and arguments (the program is looked up in `PATH` if it has no `/`).
    pub argv: Vec<String>,
}

/// The hooks that start Vantage itself: `vantage controller` on `ctrl`, listening on
/// [`CONTROLLER_PORT`] of its IPv4 and IPv6 addresses with TLS (the testbed's
/// `controller.pem`), the mux socket and the metadata file in the state directory; and
/// `vantage probe` on every VP, dialling the controller's IPv4 address (its certificate
/// names that address as well as `ctrl.ZONE`, so no resolver is needed) over TLS checked
/// against the testbed CA, with its monitor name, under [`TESTBED_POLICY`] at 1000 packets
/// per second. `vantage` is the program to run. The
/// options are those of docs/controller.md and `vantage probe --help`.
pub fn vantage_hooks(vantage: &str, options: &InternetOptions) -> Vec<Hook> {
    let mut hooks = vec![Hook {
        name: "controller".into(),
        node: "ctrl".into(),
        argv: [
            vantage,
            "controller",
            "--listen",
            "{ctrl_v4}:{ctrl_port}",
            "--listen",
            "[{ctrl_v6}]:{ctrl_port}",
            "--mux",
            "{mux}",
            "--vp-meta",
            "{metadata}",
            "--cert",
            "{tls}/controller.pem",
            "--key",
            "{tls}/controller.key",
        ]
        .map(str::to_owned)
        .to_vec(),
    }];
    for v in &options.vps {
        hooks.push(Hook {
            name: format!("probe-{}", v.shortname),
            node: v.node.clone(),
            argv: [
                vantage,
                "probe",
                "--remote",
                "{ctrl_v4}:{ctrl_port}",
                "--name",
                "{vp_name}",
                "--tls-ca",
                "{tls}/ca.pem",
                "--policy",
                "{policy}",
                "--pps",
                "1000",
            ]
            .map(str::to_owned)
            .to_vec(),
        });
    }
    hooks
}

/// What [`up`] builds.
#[derive(Debug, Clone, PartialEq)]
pub struct UpOptions {
    /// The network and its VPs.
    pub internet: InternetOptions,
    /// Where state directories live (default [`DEFAULT_STATE_ROOT`]).
    pub state_root: PathBuf,
    /// The helper command that runs the engines (see [`crate::daemon`]); `{state}` in an
    /// argument is replaced by the state directory, and if no argument has it, the state
    /// directory is appended. See [`self_daemon_command`].
    pub daemon: Vec<OsString>,
    /// Commands to start in nodes once the network and services run.
    pub hooks: Vec<Hook>,
}

impl UpOptions {
    /// The default Internet, the default state root, no hooks, and `daemon` as helper.
    pub fn new(daemon: Vec<OsString>) -> Self {
        Self {
            internet: InternetOptions::default(),
            state_root: PathBuf::from(DEFAULT_STATE_ROOT),
            daemon,
            hooks: Vec::new(),
        }
    }
}

/// A helper command that re-runs the current executable as `EXE ARG {state}`: for a
/// binary that calls [`crate::daemon::daemon_main`] when its first argument is `arg`
/// (e.g. `delay-daemon`).
pub fn self_daemon_command(arg: &str) -> Result<Vec<OsString>, Error> {
    let exe = std::env::current_exe().map_err(|source| Error::State {
        path: "/proc/self/exe".into(),
        source,
    })?;
    Ok(vec![exe.into_os_string(), arg.into(), "{state}".into()])
}

/// The state directory of testbed `prefix`.
pub fn state_dir(state_root: &Path, prefix: &str) -> PathBuf {
    state_root.join(prefix)
}

/// One node of the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    /// Node name.
    pub node: String,
    /// Its namespace.
    pub netns: String,
    /// What it is for.
    pub role: String,
    /// Its IPv4 address (a router: the one toward the VPs).
    pub v4: IpAddr,
    /// Its IPv6 address.
    pub v6: IpAddr,
}

/// What [`up`] made and where: printed by `vantage testbed up` and kept as `layout.txt`.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The prefix.
    pub prefix: String,
    /// The state directory.
    pub state_dir: PathBuf,
    /// Where the controller's mux socket is expected.
    pub mux: PathBuf,
    /// The VP metadata file.
    pub metadata: PathBuf,
    /// The CA certificate that signed the web server's and the controller's.
    pub ca: PathBuf,
    /// The DNS zone.
    pub zone: String,
    /// Every node.
    pub nodes: Vec<NodeRow>,
    /// The VPs, with their metadata.
    pub vps: Vec<VpSpec>,
    /// The services: (name, where, what).
    pub services: Vec<(String, String, String)>,
    /// The hooks started: (name, node, log file).
    pub hooks: Vec<(String, String, PathBuf)>,
}

impl Layout {
    /// The layout of testbed `prefix` built with `options` (nothing is touched).
    pub fn new(prefix: &str, options: &UpOptions) -> Result<Self, Error> {
        let state = state_dir(&options.state_root, prefix);
        let plan = internet::internet_builder(prefix, &options.internet)?.plan()?;
        let net = &options.internet;
        let mut nodes = Vec::new();
        for n in &plan.nodes {
            let role = if let Some(v) = net.vps.iter().find(|v| v.node == n.name) {
                format!(
                    "VP {} ({}, {}), access RTT {} ms",
                    v.name,
                    v.place,
                    v.cc,
                    v.access_rtt.as_millis()
                )
            } else if let Some(v) = net.vps.iter().find(|v| v.gateway() == n.name) {
                format!("gateway of {} (its first hop)", v.node)
            } else if let Some((_, _, role)) = HOSTS.iter().find(|(h, _, _)| *h == n.name) {
                (*role).to_owned()
            } else {
                match n.name.as_str() {
                    "core1" => "core router (gateways, ctrl and ns1 attach here)".into(),
                    "core2a" | "core2b" => "core router, one of two equal-cost paths".into(),
                    "core3" => "core router, start of the long-haul link".into(),
                    "mpls" => {
                        if net.mpls_labels.is_empty() {
                            "router (MPLS extensions off)".into()
                        } else {
                            format!(
                                "router: time exceeded carries MPLS labels {:?}",
                                net.mpls_labels
                            )
                        }
                    }
                    "silent" => "router: sends no time exceeded".into(),
                    "ratelim" => format!(
                        "router: ICMP errors limited ({} ms per destination)",
                        net.icmp_rate_limit.per_destination_ms
                    ),
                    "dc" => "data-centre router (targets attach here)".into(),
                    _ => match n.kind {
                        NodeKind::Router => "router".into(),
                        NodeKind::Host => "host".into(),
                    },
                }
            };
            // A router's first interface faces the VPs.
            let (v4, v6) = n.interfaces.first().map_or(
                (
                    IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                    IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                ),
                |i| (IpAddr::V4(i.v4), IpAddr::V6(i.v6)),
            );
            nodes.push(NodeRow {
                node: n.name.clone(),
                netns: n.netns.clone(),
                role,
                v4,
                v6,
            });
        }
        let zone = net.zone.clone();
        let services = vec![
            (
                "dns".to_owned(),
                format!("ns1 {} {}", addr::NS1_V4, addr::NS1_V6),
                format!(
                    "nsd, authoritative for {zone} (SOA NS MX TXT A AAAA; CH TXT version.bind, id.server)"
                ),
            ),
            (
                "dns".to_owned(),
                format!("ns2 {} {}", addr::NS2_V4, addr::NS2_V6),
                format!("nsd, authoritative for {zone} (same zone, farther away)"),
            ),
            (
                "http".to_owned(),
                format!("web {} {} port 80", addr::WEB_V4, addr::WEB_V6),
                format!("nginx, HTTP/1.1, http://www.{zone}/ (also /big, 100 kB)"),
            ),
            (
                "https".to_owned(),
                format!("web {} {} port 443", addr::WEB_V4, addr::WEB_V6),
                format!(
                    "nginx, TLS 1.2/1.3, HTTP/2 and HTTP/1.1 by ALPN, certificate for www.{zone}"
                ),
            ),
            (
                "udp-echo".to_owned(),
                format!("udp {} {} port {UDP_ECHO_PORT}", addr::UDP_V4, addr::UDP_V6),
                "echoes every datagram (RFC 862)".to_owned(),
            ),
            (
                "ping".to_owned(),
                format!("target {} {}", addr::TARGET_V4, addr::TARGET_V6),
                "answers pings; closed UDP ports answer port unreachable".to_owned(),
            ),
            (
                "nothing".to_owned(),
                format!("dark {} {}", addr::DARK_V4, addr::DARK_V6),
                "drops everything".to_owned(),
            ),
        ];
        let hooks = options
            .hooks
            .iter()
            .map(|h| {
                (
                    h.name.clone(),
                    h.node.clone(),
                    state.join("logs").join(format!("hook-{}.log", h.name)),
                )
            })
            .collect();
        Ok(Self {
            prefix: prefix.to_owned(),
            mux: state.join("mux"),
            metadata: state.join("vp-metadata.txt"),
            ca: state.join("tls").join("ca.pem"),
            state_dir: state,
            zone,
            nodes,
            vps: net.vps.clone(),
            services,
            hooks,
        })
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Vantage testbed `{}`", self.prefix)?;
        writeln!(f, "  state directory  {}", self.state_dir.display())?;
        writeln!(f, "  mux socket       {}", self.mux.display())?;
        writeln!(f, "  VP metadata      {}", self.metadata.display())?;
        writeln!(f, "  TLS CA           {}", self.ca.display())?;
        writeln!(f, "  DNS zone         {} (ns1, ns2)", self.zone)?;
        writeln!(
            f,
            "  run a command in a node: ip netns exec {}-NODE COMMAND",
            self.prefix
        )?;
        writeln!(f, "\nVantage points:")?;
        for (i, v) in self.vps.iter().enumerate() {
            let n = (i + 1) as u8;
            writeln!(
                f,
                "  {:<8} {:<24} {:<10} {:<3} {:>9.4},{:<10.4} AS{}/AS{}  {:>4} ms  {} {}  [{}]",
                v.node,
                v.name,
                v.place,
                v.cc,
                v.latitude,
                v.longitude,
                v.asn4,
                v.asn6,
                v.access_rtt.as_millis(),
                addr::vp_v4(n),
                addr::vp_v6(n),
                v.tags.join(" ")
            )?;
        }
        writeln!(f, "\nServices:")?;
        for (name, at, what) in &self.services {
            writeln!(f, "  {name:<9} {at:<36} {what}")?;
        }
        writeln!(f, "\nNodes:")?;
        for n in &self.nodes {
            writeln!(
                f,
                "  {:<8} {:<12} {:<16} {}",
                n.node,
                n.v4.to_string(),
                n.v6.to_string(),
                n.role
            )?;
        }
        if !self.hooks.is_empty() {
            writeln!(f, "\nStarted commands (hooks):")?;
            for (name, node, log) in &self.hooks {
                writeln!(f, "  {name:<16} in {node:<8} log {}", log.display())?;
            }
        }
        Ok(())
    }
}

/// Children started by this process, reaped whenever [`up`], [`down`] or [`status`] run
/// (a long-lived caller such as a test would otherwise collect zombies).
static CHILDREN: Mutex<Vec<Child>> = Mutex::new(Vec::new());

fn reap() {
    if let Ok(mut children) = CHILDREN.lock() {
        children.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::State {
        path: path.display().to_string(),
        source,
    }
}

fn write(path: &Path, text: impl AsRef<[u8]>) -> Result<(), Error> {
    std::fs::write(path, text).map_err(io_err(path))
}

fn mkdir(path: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(path).map_err(io_err(path))
}

/// The start time (clock ticks after boot) and state letter of process `pid`.
fn proc_stat(pid: u32) -> Option<(u64, char)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((start, state))
}

/// A process record: `pids/NAME.pid`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    name: String,
    pid: u32,
    start: u64,
    command: String,
}

impl Record {
    fn read(path: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut lines = text.lines();
        let mut first = lines.next()?.split_whitespace();
        let pid = first.next()?.parse().ok()?;
        let start = first.next()?.parse().ok()?;
        Some(Self {
            name: path.file_stem()?.to_string_lossy().into_owned(),
            pid,
            start,
            command: lines.next().unwrap_or("").to_owned(),
        })
    }

    /// True while the recorded process (not a later one with its pid) runs.
    fn alive(&self) -> bool {
        matches!(proc_stat(self.pid), Some((start, state)) if start == self.start && state != 'Z' && state != 'X')
    }

    fn signal(&self, sig: Signal) {
        if !self.alive() {
            return;
        }
        if let Ok(raw) = i32::try_from(self.pid) {
            // The process leads its own group; if it left it, signal it alone.
            if killpg(Pid::from_raw(raw), sig).is_err() {
                let _ = kill(Pid::from_raw(raw), sig);
            }
        }
    }
}

fn records(state: &Path) -> Vec<Record> {
    let Ok(entries) = std::fs::read_dir(state.join("pids")) else {
        return Vec::new();
    };
    let mut v: Vec<Record> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "pid"))
        .filter_map(|e| Record::read(&e.path()))
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// Starts `argv` (in namespace `netns`, if given) detached, in its own process group,
/// with output to `logs/NAME.log`, and records it in `pids/NAME.pid`.
fn spawn_recorded(
    state: &Path,
    name: &str,
    netns: Option<&str>,
    argv: &[OsString],
) -> Result<u32, Error> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::NoCommand(name.to_owned()));
    };
    let log_path = state.join("logs").join(format!("{name}.log"));
    let log = File::create(&log_path).map_err(io_err(&log_path))?;
    let log2 = log.try_clone().map_err(io_err(&log_path))?;
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(program);
            c
        }
        None => Command::new(program),
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .current_dir("/")
        .process_group(0);
    let mut line = netns.map_or(String::new(), |ns| format!("ip netns exec {ns} "));
    line.push_str(
        &argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" "),
    );
    let child = cmd.spawn().map_err(|source| NetnsError::Spawn {
        command: line.clone(),
        source,
    })?;
    let pid = child.id();
    let start = proc_stat(pid).map_or(0, |(s, _)| s);
    if let Ok(mut children) = CHILDREN.lock() {
        children.push(child);
    }
    let record = state.join("pids").join(format!("{name}.pid"));
    write(&record, format!("{pid} {start}\n{line}\n"))?;
    Ok(pid)
}

fn log_tail(state: &Path, name: &str) -> String {
    let path = state.join("logs").join(format!("{name}.log"));
    let mut text = String::new();
    if let Ok(mut f) = File::open(&path) {
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(8)..].join("\n    ");
    if tail.is_empty() {
        format!("(nothing in {})", path.display())
    } else {
        format!("last lines of {}:\n    {tail}", path.display())
    }
}

fn find_program(program: &str) -> bool {
    if program.contains('/') {
        Path::new(program).is_file()
    } else {
        netns::find_tool(program)
    }
}

fn check_hooks(prefix: &str, options: &UpOptions, nodes: &BTreeSet<String>) -> Result<(), Error> {
    let mut names = BTreeSet::new();
    for h in &options.hooks {
        let bad = |reason: String| Error::Hook {
            name: h.name.clone(),
            reason,
        };
        let ok = !h.name.is_empty()
            && h.name.len() <= 40
            && h.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return Err(bad("use 1 to 40 characters from a-z, 0-9, - and _".into()));
        }
        if !names.insert(&h.name) {
            return Err(bad("two hooks have this name".into()));
        }
        if !nodes.contains(&h.node) {
            return Err(bad(format!("testbed `{prefix}` has no node `{}`", h.node)));
        }
        let Some(program) = h.argv.first() else {
            return Err(bad("no command given".into()));
        };
        if !find_program(program) {
            return Err(bad(format!(
                "program `{program}` not found (give a path, or put it in PATH)"
            )));
        }
    }
    Ok(())
}

fn expand(arg: &str, vars: &[(&str, String)]) -> String {
    let mut out = arg.to_owned();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// Builds the emulated Internet `prefix`, starts its helper, services and hooks, and
/// returns what is where, leaving everything running after this process ends. On any
/// error everything made so far is removed (with [`down`]) before the error is returned.
pub fn up(prefix: &str, options: &UpOptions) -> Result<Layout, Error> {
    netns::check_prefix(prefix)?;
    reap();
    if !netns::is_root() {
        return Err(Error::NotRoot);
    }
    for (tool, package) in [
        ("ip", "iproute2"),
        ("iptables-restore", "iptables"),
        ("ip6tables-restore", "iptables"),
        ("nsd", "nsd"),
        ("nginx", "nginx"),
        ("openssl", "openssl"),
    ] {
        netns::require_tool(tool, package)?;
    }
    if options.daemon.is_empty() {
        return Err(Error::Invalid {
            prefix: prefix.to_owned(),
            reason: "no helper command given (UpOptions::daemon)".into(),
        });
    }
    let builder = internet::internet_builder(prefix, &options.internet)?;
    let plan = builder.plan()?;
    let nodes: BTreeSet<String> = plan.nodes.iter().map(|n| n.name.clone()).collect();
    check_hooks(prefix, options, &nodes)?;
    let layout = Layout::new(prefix, options)?;
    let leftovers = netns::with_prefix(prefix)?;
    if !leftovers.is_empty() {
        return Err(Error::Leftovers {
            prefix: prefix.to_owned(),
            names: leftovers.join(", "),
        });
    }
    mkdir(&options.state_root)?;
    let state = state_dir(&options.state_root, prefix);
    // Creating the directory is the lock: a second `up` of the same prefix stops here.
    match std::fs::create_dir(&state) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Exists {
                prefix: prefix.to_owned(),
                path: state.display().to_string(),
            });
        }
        Err(e) => return Err(io_err(&state)(e)),
    }
    match up_inner(prefix, options, &state, &builder, &layout) {
        Ok(()) => Ok(layout),
        Err(e) => {
            if let Err(cleanup) = down(prefix, &options.state_root) {
                eprintln!(
                    "vantage-testbed: cleaning up after a failed `up` of `{prefix}`: {cleanup}"
                );
            }
            Err(e)
        }
    }
}

fn up_inner(
    prefix: &str,
    options: &UpOptions,
    state: &Path,
    builder: &crate::TopologyBuilder,
    layout: &Layout,
) -> Result<(), Error> {
    let net = &options.internet;
    for d in ["logs", "pids", "tls", "nginx/www", "nginx/tmp"] {
        mkdir(&state.join(d))?;
    }
    let node_names: Vec<String> = layout.nodes.iter().map(|n| n.node.clone()).collect();
    write(&state.join("nodes"), node_names.join("\n") + "\n")?;
    internet::write_metadata_file(&layout.metadata, &net.vps).map_err(io_err(&layout.metadata))?;
    write(&state.join(POLICY_FILE), TESTBED_POLICY)?;
    services::make_certificates(&state.join("tls"), &net.zone)?;
    let zone = services::zone_file(prefix, net);
    for (ns, v4, v6) in [
        ("ns1", addr::NS1_V4, addr::NS1_V6),
        ("ns2", addr::NS2_V4, addr::NS2_V6),
    ] {
        let dir = state.join(format!("nsd-{ns}"));
        mkdir(&dir)?;
        write(&dir.join("zone"), &zone)?;
        write(
            &dir.join("nsd.conf"),
            services::nsd_conf(&dir, &state.join("logs"), ns, v4, v6, &net.zone),
        )?;
    }
    let nginx = state.join("nginx");
    write(
        &nginx.join("nginx.conf"),
        services::nginx_conf(&nginx, &state.join("logs"), &state.join("tls"), &net.zone),
    )?;
    for (name, bytes) in services::web_pages(prefix) {
        write(&nginx.join("www").join(name), bytes)?;
    }

    // The network, engines left to the helper.
    let (mut topo, engines) = builder.build_detached()?;
    let mut tasks: Vec<Task> = engines.into_iter().map(Task::Engine).collect();
    tasks.push(Task::UdpEcho {
        netns: topo.netns("udp")?.to_owned(),
        port: UDP_ECHO_PORT,
    });
    write(&state.join(daemon::TASKS_FILE), daemon::tasks_file(&tasks))?;
    let state_str = state.display().to_string();
    let mut argv: Vec<OsString> = options
        .daemon
        .iter()
        .map(|a| match a.to_str() {
            Some(s) if s.contains("{state}") => s.replace("{state}", &state_str).into(),
            _ => a.clone(),
        })
        .collect();
    if !options
        .daemon
        .iter()
        .any(|a| a.to_string_lossy().contains("{state}"))
    {
        argv.push(state.as_os_str().to_owned());
    }
    let pid = spawn_recorded(state, "daemon", None, &argv)?;
    wait_daemon(state, pid)?;
    topo.load_firewall()?;

    // Name resolution for commands run with `ip netns exec`.
    for n in &layout.nodes {
        let dir = Path::new("/etc/netns").join(&n.netns);
        mkdir(&dir)?;
        write(&dir.join("resolv.conf"), services::resolv_conf(&net.zone))?;
    }

    // Services.
    let s = |p: PathBuf| p.into_os_string();
    for ns in ["ns1", "ns2"] {
        let conf = state.join(format!("nsd-{ns}")).join("nsd.conf");
        spawn_recorded(
            state,
            &format!("nsd-{ns}"),
            Some(topo.netns(ns)?),
            &["nsd".into(), "-d".into(), "-c".into(), s(conf)],
        )?;
    }
    spawn_recorded(
        state,
        "nginx",
        Some(topo.netns("web")?),
        &[
            "nginx".into(),
            "-e".into(),
            s(state.join("logs").join("nginx-error.log")),
            "-p".into(),
            s(nginx.clone()),
            "-c".into(),
            s(nginx.join("nginx.conf")),
        ],
    )?;
    for (name, node, targets) in [
        (
            "nsd-ns1",
            "ns1",
            vec![
                SocketAddr::new(addr::NS1_V4.into(), 53),
                SocketAddr::new(addr::NS1_V6.into(), 53),
            ],
        ),
        (
            "nsd-ns2",
            "ns2",
            vec![
                SocketAddr::new(addr::NS2_V4.into(), 53),
                SocketAddr::new(addr::NS2_V6.into(), 53),
            ],
        ),
        (
            "nginx",
            "web",
            vec![
                SocketAddr::new(addr::WEB_V4.into(), 80),
                SocketAddr::new(addr::WEB_V6.into(), 443),
            ],
        ),
    ] {
        wait_listening(state, name, topo.netns(node)?, &targets)?;
    }

    // Hooks.
    let mux = layout.mux.display().to_string();
    let metadata = layout.metadata.display().to_string();
    let tls = state.join("tls").display().to_string();
    for h in &options.hooks {
        let vp_name = net
            .vps
            .iter()
            .find(|v| v.node == h.node)
            .map_or(String::new(), |v| v.name.clone());
        let vars = [
            ("state", state_str.clone()),
            ("prefix", prefix.to_owned()),
            ("node", h.node.clone()),
            ("mux", mux.clone()),
            ("metadata", metadata.clone()),
            ("policy", state.join(POLICY_FILE).display().to_string()),
            ("tls", tls.clone()),
            ("zone", net.zone.clone()),
            ("ctrl_name", format!("ctrl.{}", net.zone)),
            ("ctrl_v4", addr::CTRL_V4.to_string()),
            ("ctrl_v6", addr::CTRL_V6.to_string()),
            ("ctrl_port", CONTROLLER_PORT.to_string()),
            ("vp_name", vp_name),
        ];
        let argv: Vec<OsString> = h.argv.iter().map(|a| expand(a, &vars).into()).collect();
        spawn_recorded(
            state,
            &format!("hook-{}", h.name),
            Some(topo.netns(&h.node)?),
            &argv,
        )?;
    }

    write(&state.join("layout.txt"), layout.to_string())?;
    write(&state.join("up"), format!("{}\n", std::process::id()))?;
    topo.persist();
    Ok(())
}

fn wait_daemon(state: &Path, pid: u32) -> Result<(), Error> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let record = Record::read(&state.join("pids").join("daemon.pid"));
    loop {
        if state.join(daemon::READY_FILE).exists() {
            return Ok(());
        }
        let failed = state.join(daemon::FAILED_FILE);
        if failed.exists() {
            let reason = std::fs::read_to_string(&failed).unwrap_or_default();
            return Err(Error::Daemon(format!(
                "it could not start: {}; {}",
                reason.trim(),
                log_tail(state, "daemon")
            )));
        }
        if !record.as_ref().is_some_and(Record::alive) {
            reap();
            return Err(Error::Daemon(format!(
                "process {pid} ended before it was ready (is the helper command right?); {}",
                log_tail(state, "daemon")
            )));
        }
        if Instant::now() > deadline {
            return Err(Error::Daemon(format!(
                "not ready after {READY_TIMEOUT:?}; {}",
                log_tail(state, "daemon")
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_listening(state: &Path, name: &str, ns: &str, targets: &[SocketAddr]) -> Result<(), Error> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let record = Record::read(&state.join("pids").join(format!("{name}.pid")));
    loop {
        let targets = targets.to_vec();
        let ok = netns::run_in(ns, move || {
            targets
                .iter()
                .all(|t| TcpStream::connect_timeout(t, Duration::from_millis(200)).is_ok())
        })?;
        if ok {
            return Ok(());
        }
        if !record.as_ref().is_some_and(Record::alive) {
            return Err(Error::Service {
                name: name.to_owned(),
                reason: format!("it exited; {}", log_tail(state, name)),
            });
        }
        if Instant::now() > deadline {
            return Err(Error::Service {
                name: name.to_owned(),
                reason: format!(
                    "not listening after {READY_TIMEOUT:?}; {}",
                    log_tail(state, name)
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What [`down`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownReport {
    /// Recorded processes that were still running and were stopped.
    pub stopped: Vec<String>,
    /// Namespaces deleted.
    pub namespaces: usize,
    /// True when a state directory was removed.
    pub state_removed: bool,
}

impl fmt::Display for DownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stopped {} recorded process(es){}, deleted {} namespace(s), {}",
            self.stopped.len(),
            if self.stopped.is_empty() {
                String::new()
            } else {
                format!(" ({})", self.stopped.join(", "))
            },
            self.namespaces,
            if self.state_removed {
                "removed the state directory"
            } else {
                "no state directory"
            }
        )
    }
}

/// Removes testbed `prefix` completely: stops its recorded processes (SIGTERM, then
/// SIGKILL), deletes its namespaces and everything in them, its `/etc/netns` entries and
/// its state directory. Safe to run on a half-built or already removed testbed.
pub fn down(prefix: &str, state_root: &Path) -> Result<DownReport, Error> {
    netns::check_prefix(prefix)?;
    let state = state_dir(state_root, prefix);
    let mut report = DownReport::default();
    let mut first_err: Option<Error> = None;

    let running: Vec<Record> = records(&state).into_iter().filter(Record::alive).collect();
    for r in &running {
        r.signal(Signal::SIGTERM);
    }
    let deadline = Instant::now() + STOP_GRACE;
    while running.iter().any(Record::alive) && Instant::now() < deadline {
        reap();
        std::thread::sleep(Duration::from_millis(20));
    }
    for r in &running {
        r.signal(Signal::SIGKILL);
        report.stopped.push(format!("{} ({})", r.name, r.pid));
    }

    // An `up` killed mid-way may leave one of its `ip netns add` children running,
    // which creates a namespace after the first sweep listed them: sweep again until
    // the prefix stays empty (a child finishes within milliseconds; bounded anyway).
    let settle = Instant::now() + SETTLE_LIMIT;
    loop {
        match netns::down(prefix) {
            Ok(n) => report.namespaces += n,
            Err(e) => {
                first_err.get_or_insert(e.into());
                break;
            }
        }
        std::thread::sleep(SETTLE_PAUSE);
        match netns::with_prefix(prefix) {
            Ok(left) if !left.is_empty() && Instant::now() < settle => {}
            _ => break,
        }
    }
    if let Ok(entries) = std::fs::read_dir("/etc/netns") {
        let start = format!("{prefix}-");
        for e in entries.filter_map(Result::ok) {
            if e.file_name().to_string_lossy().starts_with(&start)
                && let Err(err) = std::fs::remove_dir_all(e.path())
            {
                first_err.get_or_insert(io_err(&e.path())(err));
            }
        }
    }
    if state.exists() {
        match std::fs::remove_dir_all(&state) {
            Ok(()) => report.state_removed = true,
            Err(e) => {
                first_err.get_or_insert(io_err(&state)(e));
            }
        }
    }
    reap();
    match first_err {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// One recorded process as [`status`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessStatus {
    /// Its name (`daemon`, `nsd-ns1`, `nginx`, `hook-NAME`, ...).
    pub name: String,
    /// Its process id.
    pub pid: u32,
    /// True while it runs.
    pub alive: bool,
    /// Its command line.
    pub command: String,
}

/// What [`status`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The prefix.
    pub prefix: String,
    /// Its state directory.
    pub state_dir: PathBuf,
    /// True when the state directory exists.
    pub state_exists: bool,
    /// True when `up` finished.
    pub complete: bool,
    /// Nodes the testbed should have (from the state directory).
    pub expected_nodes: Vec<String>,
    /// Namespaces `PREFIX-*` that exist.
    pub namespaces: Vec<String>,
    /// The recorded processes.
    pub processes: Vec<ProcessStatus>,
    /// The layout `up` printed, if it got that far.
    pub layout: Option<String>,
}

impl Status {
    /// Nodes whose namespace is missing.
    pub fn missing_nodes(&self) -> Vec<String> {
        self.expected_nodes
            .iter()
            .filter(|n| !self.namespaces.contains(&format!("{}-{n}", self.prefix)))
            .cloned()
            .collect()
    }

    /// True when `up` finished, every namespace exists and every recorded process runs.
    pub fn is_up(&self) -> bool {
        self.complete
            && !self.expected_nodes.is_empty()
            && self.missing_nodes().is_empty()
            && self.processes.iter().all(|p| p.alive)
    }

    /// True when nothing of the testbed is left.
    pub fn is_gone(&self) -> bool {
        !self.state_exists && self.namespaces.is_empty()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.is_up() {
            "up".to_owned()
        } else if self.is_gone() {
            "not present".to_owned()
        } else {
            "BROKEN or half-built: run `down` to remove it".to_owned()
        };
        writeln!(f, "testbed `{}`: {verdict}", self.prefix)?;
        if self.is_gone() {
            return Ok(());
        }
        writeln!(
            f,
            "  namespaces: {} of {} present{}",
            self.expected_nodes.len() - self.missing_nodes().len(),
            self.expected_nodes.len(),
            if self.missing_nodes().is_empty() {
                String::new()
            } else {
                format!(" (missing: {})", self.missing_nodes().join(", "))
            }
        )?;
        for p in &self.processes {
            writeln!(
                f,
                "  {:<20} pid {:<8} {}",
                p.name,
                p.pid,
                if p.alive { "running" } else { "NOT running" }
            )?;
        }
        if let Some(layout) = &self.layout {
            writeln!(f)?;
            f.write_str(layout)?;
        }
        Ok(())
    }
}

/// Looks at testbed `prefix`: its state directory, namespaces and processes.
pub fn status(prefix: &str, state_root: &Path) -> Result<Status, Error> {
    netns::check_prefix(prefix)?;
    reap();
    let state = state_dir(state_root, prefix);
    let expected_nodes = std::fs::read_to_string(state.join("nodes"))
        .map(|t| {
            t.lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let processes = records(&state)
        .into_iter()
        .map(|r| ProcessStatus {
            alive: r.alive(),
            name: r.name,
            pid: r.pid,
            command: r.command,
        })
        .collect();
    Ok(Status {
        prefix: prefix.to_owned(),
        state_exists: state.is_dir(),
        complete: state.join("up").exists(),
        expected_nodes,
        namespaces: netns::with_prefix(prefix)?,
        processes,
        layout: std::fs::read_to_string(state.join("layout.txt")).ok(),
        state_dir: state,
    })
}

/// The prefixes that have a state directory under `state_root`.
pub fn list(state_root: &Path) -> Result<Vec<String>, Error> {
    let entries = match std::fs::read_dir(state_root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(state_root)(e)),
    };
    let mut v: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| netns::check_prefix(n).is_ok())
        .collect();
    v.sort();
    Ok(v)
}

/// Runs `args` inside node `node` of testbed `prefix` and waits for it (a non-zero exit
/// is not an error: look at [`CommandOutput::status`]).
pub fn exec<S: AsRef<std::ffi::OsStr>>(
    prefix: &str,
    node: &str,
    args: &[S],
) -> Result<CommandOutput, Error> {
    netns::check_prefix(prefix)?;
    if args.is_empty() {
        return Err(Error::NoCommand(node.to_owned()));
    }
    let ns = format!("{prefix}-{node}");
    if !netns::path(&ns).exists() {
        return Err(Error::UnknownNode {
            prefix: prefix.to_owned(),
            node: node.to_owned(),
        });
    }
    let out = Command::new("ip")
        .args(["netns", "exec", &ns])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| NetnsError::Spawn {
            command: format!("ip netns exec {ns} ..."),
            source,
        })?;
    Ok(CommandOutput::from_output(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_expanded() {
        let vars = [("state", "/s".to_owned()), ("vp_name", "a.b".to_owned())];
        assert_eq!(expand("{state}/mux", &vars), "/s/mux");
        assert_eq!(expand("--name={vp_name}", &vars), "--name=a.b");
        assert_eq!(expand("{unknown}", &vars), "{unknown}");
    }

    #[test]
    fn vantage_hooks_cover_controller_and_every_vp() {
        let options = InternetOptions::default();
        let hooks = vantage_hooks("/usr/bin/vantage", &options);
        assert_eq!(hooks.len(), 1 + options.vps.len());
        assert_eq!(hooks[0].node, "ctrl");
        assert!(hooks[0].argv.contains(&"{mux}".to_owned()));
        assert!(
            hooks[1..]
                .iter()
                .all(|h| h.argv.contains(&"{vp_name}".to_owned()))
        );
    }

    #[test]
    fn layout_says_what_is_where() {
        let options = UpOptions::new(vec!["helper".into()]);
        let layout = Layout::new("lay", &options).unwrap();
        let text = layout.to_string();
        assert!(text.contains("/run/vantage-testbed/lay/mux"), "{text}");
        assert!(text.contains("akl-nz.vp.example.test"), "{text}");
        assert!(text.contains("10.4.3.2"), "{text}");
        assert!(text.contains("sends no time exceeded"), "{text}");
        let vp = layout.nodes.iter().find(|n| n.node == "vp_jp").unwrap();
        assert_eq!(vp.v4, IpAddr::V4(addr::vp_v4(4)));
        let gw = layout.nodes.iter().find(|n| n.node == "gw_jp").unwrap();
        assert_eq!(gw.v4, IpAddr::V4(addr::gw_v4(4)));
    }

    #[test]
    fn proc_stat_reads_this_process() {
        let (start, state) = proc_stat(std::process::id()).unwrap();
        assert!(start > 0);
        assert!(state == 'R' || state == 'S');
    }

    #[test]
    fn records_round_trip_and_refuse_recycled_pids() {
        let dir = std::env::temp_dir().join(format!("vt-rec-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pids")).unwrap();
        let me = std::process::id();
        let (start, _) = proc_stat(me).unwrap();
        std::fs::write(
            dir.join("pids/me.pid"),
            format!("{me} {start}\nsome command\n"),
        )
        .unwrap();
        std::fs::write(dir.join("pids/old.pid"), format!("{me} {}\nx\n", start + 1)).unwrap();
        std::fs::write(dir.join("pids/junk.pid"), "not a record").unwrap();
        let recs = records(&dir);
        assert_eq!(recs.len(), 2);
        let me_rec = recs.iter().find(|r| r.name == "me").unwrap();
        assert!(me_rec.alive());
        assert_eq!(me_rec.command, "some command");
        // Same pid, other start time: a different process, never signalled.
        assert!(!recs.iter().find(|r| r.name == "old").unwrap().alive());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
