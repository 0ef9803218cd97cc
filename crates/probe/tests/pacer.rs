//! One packet budget per vantage point, inside testbeds of network namespaces:
//!
//! - a prober at `pps` N running a big ping batch and many `udpprobe` and `host` tasks at
//!   once sends at most about N packets a second in all (counted twice: by the probe's
//!   audit counters and by the kernel's transmit counter of the VP's only interface), app
//!   tasks and pings both get a fair share of it, and `set pps` lowers the ceiling for both;
//! - the policy's `options.max_ttl` caps the TTL of app-task sockets: a `udpprobe` to a
//!   target five hops away is answered without a policy and gets no answer under
//!   `max_ttl = 3` (the target's echo server sees nothing).
//!
//! The bounds are generous (20 % over the rate plus the burst plus a few packets of
//! counter lag): they assert the ceiling, not the speed. Every packet stays inside the
//! testbed, which is removed when the topology handle drops, also when a test fails. The
//! tests need root; without it they print why and pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use vantage_model::Record;
use vantage_probe::{Prober, ProberConfig, ProberHandle, Results, TaskId, TaskOutput};
use vantage_testbed::{Topology, is_root, unique_prefix};

fn ready(test: &str) -> bool {
    if !is_root() {
        eprintln!("skipping {test}: building network namespaces needs root");
        return false;
    }
    vantage_testbed::down_stale("vpace").unwrap();
    true
}

/// A thread counting the datagrams that reach `sock` (and echoing them when `echo`).
struct Sink {
    count: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sink {
    fn start(sock: UdpSocket, echo: bool) -> Self {
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let count = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (Arc::clone(&count), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !s.load(Ordering::Relaxed) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    c.fetch_add(1, Ordering::Relaxed);
                    if echo {
                        let _ = sock.send_to(&buf[..n], from);
                    }
                }
            }
        });
        Self {
            count,
            stop,
            thread: Some(thread),
        }
    }

    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A UDP socket bound to `addr` inside `node`.
fn udp_in(topo: &Topology, node: &str, addr: SocketAddr) -> UdpSocket {
    topo.run_in(node, move || UdpSocket::bind(addr).unwrap())
        .unwrap()
}

/// A prober whose thread lives in `node`.
fn prober_in(
    topo: &Topology,
    node: &str,
    pps: u32,
) -> (ProberHandle, Results, vantage_probe::ProberThread) {
    topo.run_in(node, move || {
        Prober::spawn(ProberConfig::with_pps(pps)).unwrap()
    })
    .unwrap()
}

/// The final result of task `id`, skipping the results of others.
fn wait_for(results: &mut Results, id: TaskId) -> TaskOutput {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(out) = results.try_recv()
            && out.task == id
            && !out.partial
        {
            return out;
        }
        assert!(Instant::now() < deadline, "no result for {id:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What the VP has sent so far, at one moment.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Before the counters were read.
    before: Instant,
    /// After they were read.
    after: Instant,
    /// Engine probes (the audit's `ipv4/icmp`).
    pings: u64,
    /// App-task packets (the audit's `app`).
    app: u64,
    /// Packets the VP's interface transmitted (the kernel's counter).
    wire: u64,
}

fn sample(topo: &Topology, handle: &ProberHandle, ifname: &str) -> Sample {
    let before = Instant::now();
    let audit = handle.audit(0);
    let wire = topo.if_stats("cli", ifname).unwrap().tx_packets;
    let after = Instant::now();
    let get = |k: &str| audit.packets.get(k).copied().unwrap_or(0);
    Sample {
        before,
        after,
        pings: get("ipv4/icmp"),
        app: get("app"),
        wire,
    }
}

/// Checks that between `a` and `b` at most `pps` packets a second (+20 %, + burst and a
/// little counter lag) left, by the audit and on the wire, and that pings and app tasks
/// each had a fair share. Returns (pings, app, wire) sent in the window.
fn check_window(a: Sample, b: Sample, pps: u32, what: &str) -> (u64, u64, u64) {
    let secs = b.after.duration_since(a.before).as_secs_f64();
    let burst = f64::from(vantage_engine::Pacer::default_burst(pps));
    // Counter lag: a turn of the loop may publish a few packets late; the interface also
    // carries a few ARP / neighbour discovery packets.
    let slack = 5.0;
    let bound = f64::from(pps) * secs * 1.2 + burst + slack;
    let pings = b.pings - a.pings;
    let app = b.app - a.app;
    let wire = b.wire - a.wire;
    let total = pings + app;
    eprintln!(
        "{what}: {secs:.2} s at {pps} pps: {pings} pings + {app} app packets = {total} \
         (interface sent {wire}); bound {bound:.0}"
    );
    #[allow(clippy::cast_precision_loss)]
    {
        assert!(
            (total as f64) <= bound,
            "{what}: the VP sent {total} packets in {secs:.2} s at {pps} pps (bound {bound:.0})"
        );
        assert!(
            (wire as f64) <= bound,
            "{what}: the interface sent {wire} packets in {secs:.2} s at {pps} pps \
             (bound {bound:.0})"
        );
    }
    // Both kinds wait for tokens all along: they take turns, so neither starves.
    assert!(
        app * 5 >= total,
        "{what}: app tasks got {app} of {total} packets"
    );
    assert!(
        pings * 5 >= total,
        "{what}: pings got {pings} of {total} packets"
    );
    (pings, app, wire)
}

#[test]
fn one_budget_for_pings_and_app_tasks() {
    if !ready("one_budget_for_pings_and_app_tasks") {
        return;
    }
    let mut b = Topology::builder(&unique_prefix("vpace"));
    b.host("cli");
    b.host("srv");
    b.link("cli", "srv");
    let topo = b.build().unwrap();
    let srv = IpAddr::V4(topo.addr4("srv", "cli-srv").unwrap());
    let ifname = topo
        .node("cli")
        .unwrap()
        .interface_on("cli-srv")
        .unwrap()
        .name
        .clone();
    let udp_sink = Sink::start(udp_in(&topo, "srv", SocketAddr::new(srv, 9999)), false);
    let dns_sink = Sink::start(udp_in(&topo, "srv", SocketAddr::new(srv, 53)), false);

    let pps = 100;
    let (handle, mut results, thread) = prober_in(&topo, "cli", pps);
    // Demand far above the budget from both sides: 30 pings asking 10 packets/s each,
    // 60 UDP probes asking 2/s each, 10 DNS lookups of 4 queries each.
    let mut ids = Vec::new();
    for _ in 0..30 {
        ids.push(
            handle
                .submit_line(&format!("ping -c 200 -i 0.1 {srv}"))
                .unwrap(),
        );
    }
    for _ in 0..60 {
        ids.push(
            handle
                .submit_line(&format!("udpprobe -c 20 -W 0.5 -w 0.5 -d 9999 -p 00 {srv}"))
                .unwrap(),
        );
    }
    for _ in 0..10 {
        ids.push(
            handle
                .submit_line(&format!("host -s {srv} -W 1 -R 3 example.test"))
                .unwrap(),
        );
    }

    std::thread::sleep(Duration::from_millis(800));
    let s1 = sample(&topo, &handle, &ifname);
    std::thread::sleep(Duration::from_secs(2));
    let s2 = sample(&topo, &handle, &ifname);
    check_window(s1, s2, pps, "at 100 pps");

    // `set pps` lowers the one budget: both kinds slow down together.
    let low = 30;
    handle.set_pps(low).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let s3 = sample(&topo, &handle, &ifname);
    std::thread::sleep(Duration::from_secs(3));
    let s4 = sample(&topo, &handle, &ifname);
    check_window(s3, s4, low, "at 30 pps");

    handle.shutdown();
    let mut outputs = 0;
    while let Some(out) = results.blocking_recv() {
        if !out.partial {
            outputs += 1;
        }
    }
    thread.join().unwrap();
    assert_eq!(outputs, ids.len(), "every task delivers a result");

    // The audit's app count is what reached the sinks (a task halted between its permit
    // and its send may not have sent).
    std::thread::sleep(Duration::from_millis(200));
    let app = handle
        .audit(0)
        .packets
        .get("app")
        .copied()
        .unwrap_or_default();
    let got = udp_sink.count() + dns_sink.count();
    assert!(
        got <= app && app <= got + 70,
        "sinks got {got}, the audit counts {app}"
    );
}

#[test]
fn max_ttl_caps_app_task_sockets() {
    if !ready("max_ttl_caps_app_task_sockets") {
        return;
    }
    // cli - r1 - r2 - r3 - r4 - srv: srv is five hops away.
    let mut b = Topology::builder(&unique_prefix("vpace"));
    b.host("cli");
    for r in ["r1", "r2", "r3", "r4"] {
        b.router(r);
    }
    b.host("srv");
    for (x, y) in [
        ("cli", "r1"),
        ("r1", "r2"),
        ("r2", "r3"),
        ("r3", "r4"),
        ("r4", "srv"),
    ] {
        b.link(x, y);
    }
    let topo = b.build().unwrap();
    let srv = IpAddr::V4(topo.addr4("srv", "r4-srv").unwrap());
    let echo = Sink::start(udp_in(&topo, "srv", SocketAddr::new(srv, 7777)), true);
    let (handle, mut results, thread) = prober_in(&topo, "cli", 100);
    let probe = format!("udpprobe -d 7777 -p 0a0b -w 1 {srv}");

    let replies = |out: TaskOutput| match out.result {
        Ok(Record::Udpprobe(u)) => u.probes.iter().map(|p| p.replies.len()).sum::<usize>(),
        other => panic!("expected a udpprobe record, got {other:?}"),
    };

    // Without a policy the default TTL reaches the echo server.
    let id = handle.submit_line(&probe).unwrap();
    assert_eq!(replies(wait_for(&mut results, id)), 1);
    assert_eq!(echo.count(), 1);

    let policy = vantage_policy::Policy::from_toml(
        "[destinations]\nallow = [\"10.0.0.0/8\"]\n[options]\nmax_ttl = 3\n",
        "test policy",
        None,
    )
    .unwrap();
    handle.set_policy(Arc::new(policy));
    let id = handle.submit_line(&probe).unwrap();
    assert_eq!(replies(wait_for(&mut results, id)), 0, "TTL 3 dies at r3");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(echo.count(), 1, "nothing more reached the target");

    handle.shutdown();
    while results.blocking_recv().is_some() {}
    thread.join().unwrap();
}
