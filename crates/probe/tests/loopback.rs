//! The prober's API, and probing on loopback inside a fresh network namespace each test
//! makes for itself (root only for the probing parts; skipped with a message otherwise).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use vantage_command::Command;
use vantage_model::{Record, TraceStop};
use vantage_probe::{Prober, ProberConfig, SubmitError, TaskError, TaskOutput};

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Every remaining output of a prober, final results only.
fn finals(results: &mut vantage_probe::Results) -> Vec<TaskOutput> {
    let mut v = Vec::new();
    while let Some(out) = results.blocking_recv() {
        if !out.partial {
            v.push(out);
        }
    }
    v
}

#[test]
fn bad_commands_and_settings_are_refused_at_once() {
    // Nothing here opens a socket: no privileges needed, nothing sent.
    assert!(Prober::new(ProberConfig::with_pps(0)).is_err());
    let e = Prober::new(ProberConfig {
        send_batch: 5000,
        ..ProberConfig::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("5000"), "{e}");

    let (handle, mut results, thread) = Prober::spawn(ProberConfig::default()).unwrap();
    let e = handle.submit_line("ping -c 0 192.0.2.1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "-c failed: attempts must be within 1 - 65535"
    );
    let e = handle
        .submit_line("dealias -m ally 192.0.2.1 192.0.2.2")
        .unwrap_err();
    assert!(matches!(e, SubmitError::Unsupported("dealias")), "{e:?}");
    // (host, http and udpprobe run as app tasks: tests/apptasks.rs.)
    let cmd = Command::parse("dealias -m ally 192.0.2.1 192.0.2.2", &handle.context());
    if let Ok(cmd) = cmd {
        assert!(matches!(
            handle.submit(cmd),
            Err(SubmitError::Unsupported(_))
        ));
    }
    assert!(handle.set_pps(0).is_err());
    assert!(handle.set_pps(200_000).is_ok());
    assert_eq!(handle.stats().tasks_started, 0);

    let other = handle.clone();
    handle.shutdown();
    assert!(finals(&mut results).is_empty());
    thread.join().unwrap();
    assert!(other.is_closed());
    assert!(matches!(
        other.submit_line("ping 192.0.2.1"),
        Err(SubmitError::Closed)
    ));
}

#[test]
fn loopback_ping_and_trace_in_a_fresh_namespace() {
    if !is_root() {
        eprintln!("skipping: needs root for a network namespace and raw sockets");
        return;
    }
    let outputs = vantage_sys::netns::in_new_netns(|| {
        let (handle, mut results, thread) = Prober::spawn(ProberConfig::with_pps(1000)).unwrap();
        let ids = [
            handle.submit_line("ping -c 3 -i 0.01 127.0.0.1").unwrap(),
            handle.submit_line("ping -c 3 -i 0.01 -P udp ::1").unwrap(),
            handle.submit_line("trace -P icmp-paris 127.0.0.1").unwrap(),
            handle
                .submit_line("ping -c 2 -i 0.01 -P tcp-syn ::1")
                .unwrap(),
        ];
        let sockets = handle.sockets();
        drop(handle);
        let outs = finals(&mut results);
        thread.join().unwrap();
        (ids, outs, sockets)
    })
    .unwrap();
    let (ids, outs, _) = outputs;
    assert_eq!(outs.len(), 4);
    let find = |i: usize| {
        outs.iter()
            .find(|o| o.task == ids[i])
            .unwrap()
            .result
            .clone()
            .unwrap()
    };
    for (i, check) in [
        (
            0,
            vantage_model::PingReply::is_icmp_echo_reply as fn(&_) -> bool,
        ),
        (1, vantage_model::PingReply::is_icmp_unreach_port),
        (3, vantage_model::PingReply::is_tcp),
    ] {
        let Record::Ping(p) = find(i) else { panic!() };
        assert_eq!(p.stats().nreplies, u32::from(p.attempts), "{p:?}");
        assert!(p.replies.iter().all(|r| check(r) && r.rtt > Duration::ZERO));
    }
    let Record::Trace(t) = find(2) else { panic!() };
    assert_eq!(t.stop_reason, TraceStop::Completed);
    assert_eq!(t.hop_count, 1);
    assert_eq!(t.hops[0].addr.to_string(), "127.0.0.1");
}

#[test]
fn missing_privilege_is_a_clear_task_error() {
    if !is_root() {
        eprintln!("skipping: needs root to drop CAP_NET_RAW from one thread");
        return;
    }
    let out = vantage_sys::netns::in_new_netns(|| {
        // Capabilities belong to a thread; threads inherit their creator's. Drop
        // CAP_NET_RAW here, and the prober thread started from here lacks it too.
        caps::drop(None, caps::CapSet::Effective, caps::Capability::CAP_NET_RAW).unwrap();
        let (handle, mut results, thread) = Prober::spawn(ProberConfig::default()).unwrap();
        let id = handle.submit_line("ping -c 1 ::1").unwrap();
        drop(handle);
        let outs = finals(&mut results);
        thread.join().unwrap();
        (id, outs)
    })
    .unwrap();
    let (id, outs) = out;
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].task, id);
    match &outs[0].result {
        Err(e @ TaskError::Socket(_)) => assert_eq!(
            e.to_string(),
            "raw IPv6 send socket: Operation not permitted -- run as root or with CAP_NET_RAW"
        ),
        other => panic!("{other:?}"),
    }
}
