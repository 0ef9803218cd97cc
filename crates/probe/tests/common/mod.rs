//! Helpers shared by the probe's integration tests (each test file says `mod common;` and
//! uses what it needs): privilege checks, runtimes, a controller and a probe on loopback,
//! control sessions over a socket pair and their parsing, a packet capture, and waits.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vantage_client::{MuxClient, Outcome, VpInfo};
use vantage_controller::{Config, Controller, LinkSecurity};
use vantage_model::Record;
use vantage_policy::Policy;
use vantage_probe::{ControlServer, Prober, ProberConfig, ProberHandle, Results, TaskOutput};

/// How long a test waits for a result, a VP or a session's end.
pub const WAIT: Duration = Duration::from_secs(20);

fn has_cap(cap: caps::Capability) -> bool {
    caps::has_cap(None, caps::CapSet::Effective, cap).unwrap_or(false)
}

/// Whether the prober can open its raw sockets here (CAP_NET_RAW).
pub fn can_send_raw() -> bool {
    has_cap(caps::Capability::CAP_NET_RAW)
}

/// Whether the test can also make network namespaces (CAP_NET_RAW and CAP_SYS_ADMIN).
pub fn can_make_netns() -> bool {
    can_send_raw() && has_cap(caps::Capability::CAP_SYS_ADMIN)
}

/// True (after a note) when the prober cannot send here: the test then passes, skipped.
pub fn skip_without_raw() -> bool {
    let skip = !can_send_raw();
    if skip {
        eprintln!("skipped: needs CAP_NET_RAW");
    }
    skip
}

/// True (after a note) when the test cannot make a namespace and send in it.
pub fn skip_without_netns() -> bool {
    let skip = !can_make_netns();
    if skip {
        eprintln!("skipped: needs root (a network namespace and raw sockets)");
    }
    skip
}

/// A multi-threaded runtime with two workers, I/O and time.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A controller configuration: VPs on `listen`, the mux at `mux`, no SIGHUP handler (a
/// test binary's signals are its own).
pub fn controller_config(listen: SocketAddr, mux: PathBuf, security: LinkSecurity) -> Config {
    let mut cfg = Config::new(vec![listen], mux, security);
    cfg.reload_on_sighup = false;
    cfg
}

/// Starts a controller on `rt` and keeps it running for the life of the runtime; returns
/// its first VP address.
pub fn start_controller(rt: &tokio::runtime::Runtime, cfg: Config) -> SocketAddr {
    let c = rt.block_on(Controller::start(cfg)).unwrap();
    let addr = c.vp_addrs()[0];
    std::mem::forget(c);
    addr
}

/// A controller for VPs on a free port of 127.0.0.1 with its mux `mux.sock` in `dir`,
/// configured further by `tweak`; returns the VP address and the mux path.
pub fn controller(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    security: LinkSecurity,
    tweak: impl FnOnce(&mut Config),
) -> (SocketAddr, PathBuf) {
    let mux = dir.join("mux.sock");
    let mut cfg = controller_config("127.0.0.1:0".parse().unwrap(), mux.clone(), security);
    tweak(&mut cfg);
    (start_controller(rt, cfg), mux)
}

/// Waits (up to [`WAIT`]) until the mux lists the VP `name`.
pub fn wait_vp(client: &MuxClient, name: &str) -> VpInfo {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(vp) = client.find_vp(name) {
            return vp;
        }
        assert!(Instant::now() < deadline, "VP {name} never listed");
        let _ = client.next_vp_event(Some(Duration::from_millis(100)));
    }
}

/// The ping of a task's outcome; panics on anything else.
pub fn ping_of(o: Outcome) -> vantage_model::Ping {
    match o {
        Outcome::Result(r) => match r.record {
            Record::Ping(p) => *p,
            other => panic!("expected a ping, got {other:?}"),
        },
        Outcome::Failed(f) => panic!("task failed: {f:?}"),
    }
}

/// The pings among `records`.
pub fn pings(records: &[Record]) -> Vec<&vantage_model::Ping> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Ping(p) => Some(p.as_ref()),
            _ => None,
        })
        .collect()
}

/// Waits (up to a minute) for the next result of a prober.
pub fn next_output(results: &mut Results) -> TaskOutput {
    let start = Instant::now();
    loop {
        if let Some(o) = results.try_recv() {
            return o;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no result");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits (up to 30 s) until `cond` holds.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(30), "never: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Splits a session's output into its protocol lines (DATA payloads left out) and the
/// records of its DATA payloads, in order.
pub fn parse(all: &[u8]) -> (Vec<String>, Vec<Record>) {
    let mut dec = vantage_warts::Decoder::new();
    let mut rest = all;
    let mut lines = Vec::new();
    let mut records = Vec::new();
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let line = std::str::from_utf8(&rest[..nl]).unwrap().to_owned();
        rest = &rest[nl + 1..];
        if let Some(h) = line.strip_prefix("DATA ") {
            let len: usize = h.split(' ').next().unwrap().parse().unwrap();
            dec.push(&vantage_proto::control::uu::decode(&rest[..len]).unwrap());
            rest = &rest[len..];
            while let Some(r) = dec.next_record().unwrap() {
                records.push(r);
            }
        }
        lines.push(line);
    }
    (lines, records)
}

/// Serves one control session of `server` on one end of a socket pair, from a
/// current-thread runtime on a thread of its own; returns the other end (reads time out
/// after a minute) and the thread.
pub fn serve_pair(server: &ControlServer) -> (UnixStream, std::thread::JoinHandle<()>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let server = server.clone();
    let t = std::thread::spawn(move || {
        rt.block_on(async move {
            let a = tokio::net::UnixStream::from_std(a).unwrap();
            let _ = server.serve_stream(a, "pair:0".into()).await;
        });
    });
    b.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    (b, t)
}

/// Serves `server`'s control protocol on a unix socket at `path` (bound before this
/// returns) and, if `tcp`, on a free loopback TCP port, whose address it returns; from a
/// current-thread runtime on a thread of its own.
pub fn serve_control(server: ControlServer, path: &Path, tcp: bool) -> Option<SocketAddr> {
    let unix = std::os::unix::net::UnixListener::bind(path).unwrap();
    unix.set_nonblocking(true).unwrap();
    let tcp = tcp.then(|| {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        l
    });
    let tcp_addr = tcp.as_ref().map(|l| l.local_addr().unwrap());
    let name = path.display().to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            if let Some(l) = tcp {
                let l = tokio::net::TcpListener::from_std(l).unwrap();
                let s2 = server.clone();
                tokio::spawn(async move { s2.serve_tcp(l).await });
            }
            let unix = tokio::net::UnixListener::from_std(unix).unwrap();
            let _ = server.serve_unix(unix, &name).await;
        });
    });
    tcp_addr
}

/// Runs one control session with `input` (which should end with `done`) to its end;
/// returns the replies (without DATA and MORE lines) and the records.
pub fn session(server: &ControlServer, input: &str) -> (Vec<String>, Vec<Record>) {
    let (b, t) = serve_pair(server);
    let mut w = b.try_clone().unwrap();
    w.write_all(input.as_bytes()).unwrap();
    let mut all = Vec::new();
    BufReader::new(b).read_to_end(&mut all).unwrap();
    let _ = t.join();
    let (lines, records) = parse(&all);
    let replies = lines
        .into_iter()
        .filter(|l| !l.starts_with("DATA ") && l != "MORE")
        .collect();
    (replies, records)
}

/// Writes `policy` to `dir/policy.toml` and `dnp` to `dir/dnp.txt` (the policy may name it
/// as its do-not-probe list) and loads the policy.
pub fn load_policy(dir: &Path, policy: &str, dnp: &str) -> Arc<Policy> {
    std::fs::write(dir.join("dnp.txt"), dnp).unwrap();
    std::fs::write(dir.join("policy.toml"), policy).unwrap();
    Arc::new(Policy::load(&dir.join("policy.toml")).unwrap())
}

/// Runs `watch_do_not_probe(handle, policy, poll, on_sighup)` on a thread of its own (left
/// behind when the test ends) and returns once the watcher has been polled once: it has
/// noted the file as it is and installed its SIGHUP handler.
pub fn spawn_watcher(
    handle: &ProberHandle,
    policy: &Arc<Policy>,
    poll: Duration,
    on_sighup: bool,
) -> std::thread::JoinHandle<()> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (h, p) = (handle.clone(), Arc::clone(policy));
    let watcher = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let w = vantage_probe::watch_do_not_probe(h, p, poll, on_sighup);
            tokio::pin!(w);
            tokio::select! {
                biased;
                _ = &mut w => panic!("the watcher stopped"),
                () = tokio::task::yield_now() => {}
            }
            ready_tx.send(()).unwrap();
            let _ = w.await;
        });
    });
    ready_rx.recv().unwrap();
    watcher
}

/// An `AF_PACKET` socket seeing every frame of every interface of its namespace (both
/// directions), read without blocking.
pub struct Capture(socket2::Socket);

impl Capture {
    /// Opens the capture in the calling thread's namespace.
    pub fn open() -> Capture {
        let proto = i32::from((libc::ETH_P_ALL as u16).to_be());
        let s = socket2::Socket::new(
            socket2::Domain::PACKET,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(proto)),
        )
        .unwrap();
        s.set_nonblocking(true).unwrap();
        s.set_recv_buffer_size(8 << 20).unwrap();
        Capture(s)
    }

    /// Reads every frame captured so far; counts the IPv4 packets by destination.
    pub fn drain(&self, into: &mut HashMap<Ipv4Addr, usize>) {
        let mut frame = [0u8; 4096];
        loop {
            match (&self.0).read(&mut frame) {
                Ok(n) => {
                    // lo frames carry a 14-byte Ethernet header.
                    if n >= 34 && frame[12..14] == [0x08, 0x00] {
                        let d = &frame[14 + 16..14 + 20];
                        *into
                            .entry(Ipv4Addr::new(d[0], d[1], d[2], d[3]))
                            .or_default() += 1;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => panic!("capture: {e}"),
            }
        }
    }

    /// The IPv4 packets captured so far, by destination.
    pub fn seen(&self) -> HashMap<Ipv4Addr, usize> {
        let mut seen = HashMap::new();
        self.drain(&mut seen);
        seen
    }
}

/// A prober at 1000 pps (and a packet capture) in a fresh namespace, under `policy`.
pub fn prober_in_netns(policy: Option<Arc<Policy>>) -> (ProberHandle, Results, Capture) {
    vantage_sys::netns::in_new_netns(move || {
        let cap = Capture::open();
        let (handle, results, _t) = Prober::spawn(ProberConfig::with_pps(1000)).unwrap();
        if let Some(p) = policy {
            handle.set_policy(p);
        }
        (handle, results, cap)
    })
    .unwrap()
}

/// A control server for a prober at `pps` under `policy`.
pub fn policy_server(
    handle: ProberHandle,
    results: Results,
    pps: u32,
    policy: Arc<Policy>,
) -> ControlServer {
    ControlServer::new(handle, results, pps)
        .unwrap()
        .with_policy(policy)
        .unwrap()
}

/// A policy whose do-not-probe list (first `dnp`) a watcher thread reloads, on a prober
/// that keeps the audit and never sends.
pub struct WatchedList {
    /// Holds `policy.toml` and the list, `dnp.txt`.
    pub dir: tempfile::TempDir,
    /// The policy, also set on the prober.
    pub policy: Arc<Policy>,
    /// The prober's handle (its audit counts the reloads).
    pub handle: ProberHandle,
    /// The watcher's thread (it runs until the test ends).
    pub watcher: std::thread::JoinHandle<()>,
    _prober: Prober,
    _results: Results,
}

impl WatchedList {
    /// Sets it up; returns once the watcher has noted the file and installed its handler
    /// (see [`spawn_watcher`]).
    pub fn start(dnp: &str, poll: Duration, on_sighup: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let policy = load_policy(dir.path(), "[do_not_probe]\nfile = \"dnp.txt\"\n", dnp);
        let (prober, handle, results) = Prober::new(ProberConfig::default()).unwrap();
        handle.set_policy(Arc::clone(&policy));
        let watcher = spawn_watcher(&handle, &policy, poll, on_sighup);
        Self {
            dir,
            policy,
            handle,
            watcher,
            _prober: prober,
            _results: results,
        }
    }

    /// The list's file.
    pub fn file(&self) -> PathBuf {
        self.dir.path().join("dnp.txt")
    }
}

/// Whether Debian's `scamper` is installed (the interop tests skip without it).
pub fn scamper_installed() -> bool {
    std::process::Command::new("scamper")
        .arg("-v")
        .output()
        .is_ok()
}

/// Turns transmit checksum offload off on every interface of `node`: with it on,
/// routers quote a partial UDP checksum and scamper, which identifies its UDP probes by
/// that checksum, matches none of their replies. False (and a message) when `ethtool` is
/// missing or fails.
pub fn checksum_offload_off(topo: &vantage_testbed::Topology, node: &str) -> bool {
    let n = topo.node(node).unwrap();
    for i in &n.interfaces {
        match topo.exec(node, &["ethtool", "-K", i.name.as_str(), "tx", "off"]) {
            Ok(out) if out.success() => {}
            other => {
                eprintln!(
                    "note: could not turn checksum offload off on {node}'s {}: {other:?}",
                    i.name
                );
                return false;
            }
        }
    }
    true
}

/// Runs Debian's `scamper` in `node` on the command `lines` (1000 pps, warts into `dir`)
/// and returns every record it wrote, in file order.
pub fn run_scamper(
    topo: &vantage_testbed::Topology,
    node: &str,
    dir: &Path,
    lines: &[String],
) -> Vec<Record> {
    let cmds = dir.join("cmds.txt");
    let out = dir.join("out.warts");
    std::fs::write(&cmds, lines.join("\n") + "\n").unwrap();
    let arg = std::ffi::OsStr::new;
    let res = topo
        .exec(
            node,
            &[
                arg("scamper"),
                arg("-O"),
                arg("cmdfile"),
                arg("-O"),
                arg("warts"),
                arg("-p"),
                arg("1000"),
                arg("-o"),
                out.as_os_str(),
                arg("-f"),
                cmds.as_os_str(),
            ],
        )
        .unwrap();
    assert!(res.success(), "scamper failed: {res:?}");
    let mut reader = vantage_warts::Reader::new(std::fs::File::open(&out).unwrap());
    let mut got = Vec::new();
    while let Some(rec) = reader.next_record().expect("scamper's warts read back") {
        got.push(rec);
    }
    got
}
