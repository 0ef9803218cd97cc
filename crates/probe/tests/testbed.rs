//! The prober against the standard testbed topology (root only; skipped otherwise).
//!
//! ```text
//!                                      +-- r3a --+
//!   vp ---- r1 ---- r2 ---(ECMP)-------+         +---- r4 ---- target
//!                    |                 +-- r3b --+      |
//!                    |                                  +---- blackhole (drops all)
//!                    +---- silent (no TTL exceeded) ---- behind
//! ```
//!
//! Every test builds its own namespaces (unique prefix) and tears them down on drop, also
//! when it fails. Packets go only to addresses inside those namespaces. Assertions are on
//! behaviour (who answered, with what, where the trace stopped); times are checked only
//! as lower bounds.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use vantage_command::PingMethod;
use vantage_model::{Addr, Ping, Record, Trace, TraceHop, TraceStop};
use vantage_probe::{Prober, ProberConfig, ProberHandle, ProberThread, Results, TaskId};
use vantage_testbed::standard::{StandardOptions, addr, standard_topology_with};
use vantage_testbed::{Topology, is_root, unique_prefix};

/// The TCP port a listener in `target` accepts connections on.
const OPEN_PORT: u16 = 8080;

/// How long any one measurement may take before the test gives up.
const RESULT_TIMEOUT: Duration = Duration::from_secs(120);

struct Bed {
    handle: Option<ProberHandle>,
    results: Results,
    thread: Option<ProberThread>,
    listener: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    rt: tokio::runtime::Runtime,
    // Dropped last: the namespaces go away after the prober stopped.
    topo: Topology,
}

impl Bed {
    /// The standard topology with a prober in `vp`, or `None` (and a message) when not root.
    fn new(stem: &str, options: StandardOptions, pps: u32) -> Option<Self> {
        if !is_root() {
            eprintln!("skipping: building network namespaces needs root");
            return None;
        }
        let topo = standard_topology_with(&unique_prefix(stem), &options).expect("testbed");
        let config = ProberConfig::with_pps(pps);
        let (handle, results, thread) = topo
            .run_in("vp", move || Prober::spawn(config))
            .expect("enter vp")
            .expect("start prober");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        Some(Self {
            handle: Some(handle),
            results,
            thread: Some(thread),
            listener: None,
            rt,
            topo,
        })
    }

    /// Starts a TCP listener on [`OPEN_PORT`] (IPv4 and IPv6) in `target`.
    fn listen(&mut self) {
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let join = self
            .topo
            .spawn_thread_in("target", move || {
                // One socket for both families (IPV6_V6ONLY is off by default).
                let l = std::net::TcpListener::bind(("::", OPEN_PORT)).unwrap();
                ready_tx.send(()).unwrap();
                let _ = stop_rx.recv();
                drop(l);
            })
            .unwrap();
        ready_rx.recv().unwrap();
        self.listener = Some((
            stop_tx,
            std::thread::spawn(move || {
                let _ = join.join();
            }),
        ));
    }

    fn handle(&self) -> &ProberHandle {
        self.handle.as_ref().unwrap()
    }

    /// Runs every command line and returns the records in the order given.
    fn run_all(&mut self, lines: &[String]) -> Vec<Record> {
        let ids: Vec<TaskId> = lines
            .iter()
            .map(|l| {
                self.handle()
                    .submit_line(l)
                    .unwrap_or_else(|e| panic!("{l}: {e}"))
            })
            .collect();
        let mut got: HashMap<TaskId, Record> = HashMap::new();
        while got.len() < ids.len() {
            let out = self.next();
            if out.partial {
                continue;
            }
            let rec = out.result.unwrap_or_else(|e| panic!("task failed: {e}"));
            got.insert(out.task, rec);
        }
        ids.iter().map(|id| got.remove(id).unwrap()).collect()
    }

    /// The next finished task.
    fn next(&mut self) -> vantage_probe::TaskOutput {
        let results = &mut self.results;
        self.rt
            .block_on(async { tokio::time::timeout(RESULT_TIMEOUT, results.recv()).await })
            .expect("a result within the timeout")
            .expect("the prober is running")
    }

    fn ping(&mut self, line: &str) -> Ping {
        match self.run_all(&[line.to_owned()]).pop().unwrap() {
            Record::Ping(p) => *p,
            other => panic!("{line}: not a ping: {other:?}"),
        }
    }

    fn trace(&mut self, line: &str) -> Trace {
        match self.run_all(&[line.to_owned()]).pop().unwrap() {
            Record::Trace(t) => *t,
            other => panic!("{line}: not a trace: {other:?}"),
        }
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some((stop, join)) = self.listener.take() {
            let _ = stop.send(());
            let _ = join.join();
        }
    }
}

fn target(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(addr::TARGET_V6)
    } else {
        IpAddr::V4(addr::TARGET_V4)
    }
}

/// The replies to a ping all come from the target and are of the kind `check` accepts;
/// every probe got one.
fn assert_replies(p: &Ping, line: &str, check: impl Fn(&vantage_model::PingReply) -> bool) {
    assert_eq!(p.probes_sent, p.attempts, "{line}: probes sent");
    assert_eq!(
        p.stats().nreplies,
        u32::from(p.attempts),
        "{line}: every probe answered: {:?}",
        p.replies
    );
    for r in &p.replies {
        assert_eq!(r.from, p.dst, "{line}: reply from the target");
        assert!(check(r), "{line}: unexpected reply {r:?}");
        assert!(r.rtt > Duration::ZERO, "{line}: rtt {:?}", r.rtt);
    }
}

const RST: u8 = 0x04;
const SYN_ACK: u8 = 0x12;
const RST_ACK: u8 = 0x14;

#[test]
fn ping_every_method_v4_and_v6() {
    let Some(mut bed) = Bed::new("pm", StandardOptions::default(), 1000) else {
        return;
    };
    bed.listen();
    for v6 in [false, true] {
        let dst = target(v6);
        for method in PingMethod::ALL {
            if v6 && method == PingMethod::IcmpTime {
                continue;
            }
            let line = format!("ping -c 3 -i 0.05 -P {} {dst}", method.as_str());
            let p = bed.ping(&line);
            match method {
                PingMethod::IcmpEcho => {
                    assert_replies(&p, &line, vantage_model::PingReply::is_icmp_echo_reply);
                }
                PingMethod::IcmpTime => {
                    assert_replies(&p, &line, vantage_model::PingReply::is_icmp_tsreply);
                }
                PingMethod::Udp | PingMethod::UdpDport | PingMethod::UdpSport => {
                    assert_replies(&p, &line, vantage_model::PingReply::is_icmp_unreach_port);
                }
                // A SYN to a closed port is refused with RST-ACK.
                PingMethod::TcpSyn | PingMethod::TcpSynSport => {
                    assert_replies(&p, &line, |r| r.is_tcp() && r.tcp_flags == RST_ACK);
                }
                // An unexpected ACK (or SYN-ACK) is answered with a bare RST.
                PingMethod::TcpAck | PingMethod::TcpAckSport | PingMethod::TcpSynAck => {
                    assert_replies(&p, &line, |r| r.is_tcp() && r.tcp_flags == RST);
                }
                // Nothing answers a RST.
                PingMethod::TcpRst => {
                    assert_eq!(p.probes_sent, 3, "{line}");
                    assert!(p.replies.is_empty(), "{line}: {:?}", p.replies);
                }
            }
        }
        // An open port answers a SYN with SYN-ACK.
        let line = format!("ping -c 2 -i 0.05 -P tcp-syn -d {OPEN_PORT} {dst}");
        let p = bed.ping(&line);
        assert_replies(&p, &line, |r| r.is_tcp() && r.tcp_flags == SYN_ACK);
    }
    // -y 1: a snapshot after every reply, then the final result.
    let id = bed
        .handle()
        .submit_line(&format!("ping -c 3 -i 0.05 -y 1 {}", addr::TARGET_V4))
        .unwrap();
    let mut snapshots = Vec::new();
    let last = loop {
        let out = bed.next();
        assert_eq!(out.task, id);
        let Ok(Record::Ping(p)) = out.result else {
            panic!("{:?}", out.result)
        };
        if !out.partial {
            break p;
        }
        assert_eq!(p.stop_reason, vantage_model::PingStop::InProgress);
        snapshots.push(p.replies.len());
    };
    assert_eq!(snapshots, [1, 2, 3]);
    assert_eq!(last.stop_reason, vantage_model::PingStop::Done);
    assert_eq!(last.replies.len(), 3);

    let st = bed.handle().stats();
    assert_eq!(st.send_errors, 0, "{st:?}");
    assert_eq!(st.socket_drops, 0, "{st:?}");
    assert!(st.matched >= 60, "{st:?}");
}

/// Checks a trace from vp to target: five hops with the expected addresses, stopped by
/// the target's answer.
fn assert_trace_to_target(t: &Trace, line: &str, v6: bool) {
    assert_eq!(t.stop_reason, TraceStop::Completed, "{line}: {t:?}");
    assert_eq!(t.hop_count, 5, "{line}: hop count: {:?}", t.hops);
    for ttl in 1..=5u8 {
        let hops: Vec<&TraceHop> = t.hops.iter().filter(|h| h.probe_ttl == ttl).collect();
        assert!(
            !hops.is_empty(),
            "{line}: no reply at TTL {ttl}: {:?}",
            t.hops
        );
        for h in hops {
            let allowed: Vec<Addr> = if v6 {
                addr::HOPS_V6_TO_TARGET[usize::from(ttl) - 1]
                    .iter()
                    .map(|a| Addr::from(*a))
                    .collect()
            } else {
                addr::HOPS_V4_TO_TARGET[usize::from(ttl) - 1]
                    .iter()
                    .map(|a| Addr::from(*a))
                    .collect()
            };
            assert!(
                allowed.contains(&h.addr),
                "{line}: TTL {ttl} answered by {} (expected one of {allowed:?})",
                h.addr
            );
            assert!(h.rtt > Duration::ZERO, "{line}: rtt {:?}", h.rtt);
            if ttl < 5 {
                assert!(h.is_icmp_ttl_exp(), "{line}: TTL {ttl}: {h:?}");
            }
        }
    }
}

#[test]
fn trace_every_method_v4_and_v6() {
    let Some(mut bed) = Bed::new("tm", StandardOptions::default(), 1000) else {
        return;
    };
    for v6 in [false, true] {
        let dst = target(v6);
        for method in ["udp", "icmp", "udp-paris", "icmp-paris", "tcp", "tcp-ack"] {
            let line = format!("trace -w 1 -P {method} {dst}");
            let t = bed.trace(&line);
            assert_trace_to_target(&t, &line, v6);
            let last = t.hops.iter().rev().find(|h| h.probe_ttl == 5).unwrap();
            let (unreach, echo_reply) = if v6 { (1, 129) } else { (3, 0) };
            let port_code = if v6 { 4 } else { 3 };
            let ok = match method {
                "udp" | "udp-paris" => {
                    last.is_icmp() && last.icmp_type == unreach && last.icmp_code == port_code
                }
                "icmp" | "icmp-paris" => last.is_icmp() && last.icmp_type == echo_reply,
                "tcp" => last.is_tcp() && last.tcp_flags == RST_ACK,
                _ => last.is_tcp() && last.tcp_flags == RST,
            };
            assert!(ok, "{line}: the target's answer {last:?}");
        }
    }
}

/// Which branch of the ECMP section (r3a or r3b) hop 3 and hop 4 of an IPv4 trace took.
fn branches(t: &Trace) -> (Vec<char>, Vec<char>) {
    let side = |ttl: u8, a: Ipv4Addr, b: Ipv4Addr| -> Vec<char> {
        t.hops
            .iter()
            .filter(|h| h.probe_ttl == ttl)
            .map(|h| {
                if h.addr == Addr::from(a) {
                    'a'
                } else if h.addr == Addr::from(b) {
                    'b'
                } else {
                    '?'
                }
            })
            .collect()
    };
    (
        side(3, addr::R3A_V4, addr::R3B_V4),
        side(4, addr::R4_VIA_R3A_V4, addr::R4_VIA_R3B_V4),
    )
}

#[test]
fn paris_keeps_one_path_classic_udp_does_not() {
    let Some(mut bed) = Bed::new("ecmp", StandardOptions::default(), 2000) else {
        return;
    };
    let dst = addr::TARGET_V4;
    // Paris with `-Q -q 3`: every probe of a run has the same flow, so all replies at
    // hops 3 and 4 come from one branch, in every run.
    let lines: Vec<String> = (0..16)
        .map(|i| {
            format!(
                "trace -Q -q 3 -w 1 -P udp-paris -s {} {dst}",
                40_000 + i * 7
            )
        })
        .collect();
    let mut seen_branch = Vec::new();
    for rec in bed.run_all(&lines) {
        let Record::Trace(t) = rec else { panic!() };
        assert_trace_to_target(&t, "paris", false);
        let (h3, h4) = branches(&t);
        let all: Vec<char> = h3.iter().chain(&h4).copied().collect();
        assert!(
            all.iter().all(|c| *c == all[0]),
            "a Paris trace changed path: hop 3 {h3:?}, hop 4 {h4:?}"
        );
        seen_branch.push(all[0]);
    }
    // The same flow, traced again, takes the same path again.
    let again = bed.run_all(&lines);
    for (rec, first) in again.iter().zip(&seen_branch) {
        let Record::Trace(t) = rec else { panic!() };
        let (h3, _) = branches(t);
        assert_eq!(
            h3[0], *first,
            "a Paris flow took another path when traced again"
        );
    }
    // Classic UDP changes the destination port with every probe: across runs (and
    // within one with -Q) its hops 3 and 4 come from different branches.
    let lines: Vec<String> = (0..16)
        .map(|_| format!("trace -Q -q 3 -w 1 -P udp {dst}"))
        .collect();
    let mut mixed = 0;
    for rec in bed.run_all(&lines) {
        let Record::Trace(t) = rec else { panic!() };
        assert_trace_to_target(&t, "udp", false);
        let (h3, h4) = branches(&t);
        let all: Vec<char> = h3.iter().chain(&h4).copied().collect();
        if all.iter().any(|c| *c != all[0]) {
            mixed += 1;
        }
    }
    assert!(
        mixed > 0,
        "16 classic UDP traces all kept one path through the ECMP section"
    );
}

#[test]
fn silent_router_is_a_gap_and_blackhole_hits_the_gap_limit() {
    let Some(mut bed) = Bed::new("gap", StandardOptions::default(), 1000) else {
        return;
    };
    for v6 in [false, true] {
        let behind: IpAddr = if v6 {
            addr::BEHIND_V6.into()
        } else {
            addr::BEHIND_V4.into()
        };
        let line = format!("trace -w 1 -q 2 {behind}");
        let t = bed.trace(&line);
        assert_eq!(t.stop_reason, TraceStop::Completed, "{line}: {t:?}");
        assert_eq!(t.hop_count, 4, "{line}: {:?}", t.hops);
        let (r1, r2): (Addr, Addr) = if v6 {
            (addr::R1_V6.into(), addr::R2_V6.into())
        } else {
            (addr::R1_V4.into(), addr::R2_V4.into())
        };
        assert_eq!(t.first_hop_at(1).map(|h| h.addr), Some(r1), "{line}");
        assert_eq!(t.first_hop_at(2).map(|h| h.addr), Some(r2), "{line}");
        assert!(
            t.first_hop_at(3).is_none(),
            "{line}: the silent router answered"
        );
        assert_eq!(
            t.first_hop_at(4).map(|h| h.addr),
            Some(Addr::from(behind)),
            "{line}"
        );

        let hole: IpAddr = if v6 {
            addr::BLACKHOLE_V6.into()
        } else {
            addr::BLACKHOLE_V4.into()
        };
        let line = format!("trace -w 1 -q 1 -g 2 {hole}");
        let t = bed.trace(&line);
        assert_eq!(t.stop_reason, TraceStop::Gaplimit, "{line}: {t:?}");
        // r1, r2, r3a|b, r4 answer; TTLs 5 and 6 reach the blackhole and time out.
        assert_eq!(t.hop_count, 6, "{line}: {:?}", t.hops);
        for ttl in 1..=4 {
            assert!(t.first_hop_at(ttl).is_some(), "{line}: TTL {ttl}");
        }
        assert!(
            t.hops.iter().all(|h| h.probe_ttl <= 4),
            "{line}: {:?}",
            t.hops
        );

        let line = format!("ping -c 2 -i 0.1 -W 1 {hole}");
        let p = bed.ping(&line);
        assert_eq!(p.probes_sent, 2, "{line}");
        assert!(p.replies.is_empty(), "{line}: {:?}", p.replies);
    }
}

#[test]
fn thousand_concurrent_pings_to_one_destination() {
    let Some(mut bed) = Bed::new("conc", StandardOptions::default(), 10_000) else {
        return;
    };
    for v6 in [false, true] {
        let dst = target(v6);
        let lines: Vec<String> = (0..1000)
            .map(|_| format!("ping -c 3 -i 0.2 {dst}"))
            .collect();
        let records = bed.run_all(&lines);
        assert_eq!(records.len(), 1000);
        let mut ids = std::collections::HashSet::new();
        for rec in &records {
            let Record::Ping(p) = rec else { panic!() };
            assert_replies(
                p,
                "concurrent ping",
                vantage_model::PingReply::is_icmp_echo_reply,
            );
            // Each ping had an ICMP identifier of its own.
            ids.insert(p.sport);
        }
        assert_eq!(ids.len(), 1000, "ICMP identifiers shared between pings");
    }
    let st = bed.handle().stats();
    assert_eq!(st.socket_drops, 0, "{st:?}");
    assert_eq!(st.matched, 6000, "{st:?}");
}

#[test]
fn delay_is_a_lower_bound_on_rtt() {
    let delay = Duration::from_millis(20);
    let options = StandardOptions {
        access_delay: Some(delay),
    };
    let Some(mut bed) = Bed::new("dly", options, 1000) else {
        return;
    };
    for v6 in [false, true] {
        let dst = target(v6);
        let line = format!("ping -c 3 -i 0.1 {dst}");
        let p = bed.ping(&line);
        assert_replies(&p, &line, |r| r.is_icmp_echo_reply() && r.rtt >= 2 * delay);
        let line = format!("trace -q 1 -w 2 -P icmp-paris {dst}");
        let t = bed.trace(&line);
        assert_trace_to_target(&t, &line, v6);
        for h in &t.hops {
            assert!(h.rtt >= 2 * delay, "{line}: {h:?}");
        }
    }
}

#[test]
fn mpls_label_stacks_reach_the_trace() {
    if !is_root() {
        eprintln!("skipping: building network namespaces needs root");
        return;
    }
    // vp -- ra -- rb (inside an MPLS tunnel: labels on its time exceeded) -- dst
    let mut b = Topology::builder(&unique_prefix("mpls"));
    b.host("vp");
    b.router("ra");
    b.router("rb").mpls_labels(&[16001, 17002]);
    b.host("dst");
    b.link("vp", "ra");
    b.link("ra", "rb");
    b.link("rb", "dst");
    let topo = b.build().expect("testbed");
    let dsts: [IpAddr; 2] = [
        topo.addr4("dst", "rb-dst").unwrap().into(),
        topo.addr6("dst", "rb-dst").unwrap().into(),
    ];
    let (handle, mut results, thread) = topo
        .run_in("vp", || Prober::spawn(ProberConfig::with_pps(1000)))
        .unwrap()
        .unwrap();
    let ids: Vec<TaskId> = dsts
        .iter()
        .map(|d| {
            handle
                .submit_line(&format!("trace -w 1 -P icmp-paris {d}"))
                .unwrap()
        })
        .collect();
    drop(handle);
    let mut traces = HashMap::new();
    while let Some(out) = results.blocking_recv() {
        if let (false, Ok(Record::Trace(t))) = (out.partial, out.result) {
            traces.insert(out.task, t);
        }
    }
    thread.join().unwrap();
    for (id, dst) in ids.iter().zip(dsts) {
        let t = &traces[id];
        assert_eq!(t.stop_reason, TraceStop::Completed, "{dst}: {t:?}");
        assert_eq!(t.hop_count, 3, "{dst}");
        let labels = |ttl: u8| -> Vec<u32> {
            t.first_hop_at(ttl)
                .unwrap()
                .icmp_exts
                .iter()
                .flat_map(vantage_model::IcmpExt::mpls_labels)
                .map(|l| l.label)
                .collect()
        };
        assert!(labels(1).is_empty(), "{dst}: ra has no labels");
        assert_eq!(labels(2), [16001, 17002], "{dst}: rb's label stack");
    }
}

#[test]
fn failures_are_results_not_hangs() {
    let Some(mut bed) = Bed::new("fail", StandardOptions::default(), 1000) else {
        return;
    };
    // Halting a long ping ends it with what it has.
    let id = bed
        .handle()
        .submit_line(&format!("ping -c 100 -i 1 {}", addr::TARGET_V4))
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    bed.handle().halt(id).unwrap();
    let out = bed.next();
    assert_eq!(out.task, id);
    let Ok(Record::Ping(p)) = out.result else {
        panic!("{:?}", out.result)
    };
    assert_eq!(p.stop_reason, vantage_model::PingStop::Halted);
    assert!(
        p.probes_sent >= 1 && p.probes_sent < 100,
        "{}",
        p.probes_sent
    );
    // No route: the task fails with a clear error and nothing is sent; the prober goes on.
    let out = bed
        .topo
        .exec("vp", &["ip", "-4", "route", "del", "default"])
        .unwrap();
    assert!(out.success(), "{out:?}");
    let id = bed.handle().submit_line("ping -c 1 192.0.2.1").unwrap();
    let out = bed.next();
    assert_eq!(out.task, id);
    let err = out.result.unwrap_err().to_string();
    assert!(
        err.contains("192.0.2.1") && err.contains("unreachable"),
        "{err}"
    );
    // Unsupported and unparsable commands are refused at submission.
    assert!(
        bed.handle()
            .submit_line("dealias -m ally 10.0.6.2 10.0.6.3")
            .is_err()
    );
    assert!(bed.handle().submit_line("ping -c 0 10.0.6.2").is_err());
    // The v6 address family still works after all that.
    let p = bed.ping(&format!("ping -c 1 {}", addr::TARGET_V6));
    assert_eq!(p.stats().nreplies, 1);
}
