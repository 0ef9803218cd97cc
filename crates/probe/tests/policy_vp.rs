//! The VP policy end to end, in a fresh network namespace per test, with an `AF_PACKET`
//! capture of everything that leaves (on `lo`, the only interface there):
//!
//! - for every kind of violation a command sent to the control socket is refused with the
//!   rule named, and no packet towards its target left (while an allowed ping, the capture's
//!   positive control, is seen);
//! - a packet the policy refuses at the last moment (a do-not-probe list or TTL the command
//!   check did not see) is not sent, is counted by rule, and its task fails naming the rule;
//! - the window: `set window` is capped by `rate.max_tasks`, `get window` reports it, commands
//!   beyond it wait (queued, not refused) until a slot frees, and a waiting one can be halted.
//!
//! The tests skip (pass with a note) when not root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use common::{
    next_output as next, pings, policy_server, prober_in_netns, session, skip_without_netns,
};
use vantage_model::Record;
use vantage_policy::Policy;
use vantage_probe::TaskError;

const VP_POLICY: &str = r#"
[measurements]
types = ["ping"]
[measurements.ping]
methods = ["icmp-echo", "tcp-syn"]
[destinations]
allow = ["127.0.0.0/8"]
deny = ["127.0.0.66/32"]
[ports]
tcp = [80]
[options]
max_ttl = 64
[payload]
max_bytes = 64
[rate]
pps = 50
max_tasks = 2
[do_not_probe]
file = "dnp.txt"
"#;

fn vp_policy(dir: &std::path::Path, dnp: &str) -> Arc<Policy> {
    common::load_policy(dir, VP_POLICY, dnp)
}

#[test]
fn no_packet_leaves_for_a_refused_command() {
    if skip_without_netns() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let policy = vp_policy(dir.path(), "127.0.0.67/32\n");
    let (handle, results, cap) = prober_in_netns(None);
    let server = policy_server(handle, results, 1000, Arc::clone(&policy));
    // (command, rule its refusal must name, the target that must see no packet)
    let cases = [
        ("trace -q 1 -m 5 127.0.0.11", "measurements.types"),
        ("ping -P udp 127.0.0.12", "measurements.ping.methods"),
        ("ping -P tcp-syn -d 22 127.0.0.13", "ports.tcp"),
        ("ping -c 1 127.0.0.66", "destinations.deny"),
        ("ping -c 1 10.0.0.1", "destinations.allow"),
        ("ping -c 1 127.0.0.67", "do_not_probe.file"),
        ("ping -i 0.01 127.0.0.14", "rate.pps"),
        ("ping -s 200 127.0.0.15", "payload.max_bytes"),
        ("ping -m 100 127.0.0.16", "options.max_ttl"),
        ("ping -O spoof -S 10.9.9.9 127.0.0.17", "options.spoof"),
        ("ping -R 127.0.0.18", "options.record_route"),
    ];
    let mut input = String::from("attach\n");
    for (c, _) in &cases {
        input.push_str(c);
        input.push('\n');
    }
    // The positive control: an allowed ping, whose packets the capture must see.
    input.push_str("ping -c 1 127.0.0.1\ndone\n");
    let (replies, records) = session(&server, &input);
    assert_eq!(replies[0], "OK", "{replies:?}");
    for (i, (c, rule)) in cases.iter().enumerate() {
        let r = &replies[i + 1];
        assert!(
            r.starts_with("ERR command not accepted: policy: ") && r.contains(rule),
            "{c}: expected a refusal naming {rule}, got {r:?}"
        );
    }
    assert_eq!(replies[cases.len() + 1], "OK id-1", "{replies:?}");
    let p = pings(&records);
    assert_eq!(p.len(), 1, "{records:?}");
    assert_eq!(
        p[0].replies.len(),
        1,
        "the allowed ping got its reply: {:?}",
        p[0]
    );

    let mut seen = HashMap::new();
    cap.drain(&mut seen);
    assert!(
        seen.get(&Ipv4Addr::LOCALHOST).copied().unwrap_or(0) >= 2,
        "the capture saw the allowed ping's request and reply: {seen:?}"
    );
    for (c, _) in &cases {
        let target: IpAddr = c.rsplit(' ').next().unwrap().parse().unwrap();
        let IpAddr::V4(t) = target else { panic!() };
        assert_eq!(seen.get(&t), None, "{c}: a packet to {t} left: {seen:?}");
    }
    // The audit counts every refusal under its rule, and the one measurement.
    let audit = server.audit();
    for (_, rule) in &cases {
        assert!(
            audit.refused_commands.get(*rule).copied().unwrap_or(0) >= 1,
            "{rule}: {:?}",
            audit.refused_commands
        );
    }
    assert_eq!(audit.measurements.get("ping/icmp-echo"), Some(&1));
    assert_eq!(audit.packets.get("ipv4/icmp"), Some(&1), "{audit:?}");
    assert_eq!(audit.refused_packets.len(), 0, "{audit:?}");
    assert_eq!(audit.policy.as_ref().unwrap().do_not_probe_entries, 1);
}

#[test]
fn a_packet_refused_at_the_last_moment_is_not_sent_and_fails_its_task() {
    if skip_without_netns() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let policy = vp_policy(dir.path(), "# nothing yet\n");
    let (handle, mut results, cap) = prober_in_netns(Some(Arc::clone(&policy)));
    // The list changes after the commands would have been checked (they are submitted to
    // the prober directly here, which skips the command check): only the packet check
    // stands between them and the wire.
    std::fs::write(dir.path().join("dnp.txt"), "127.0.0.5\n").unwrap();
    assert_eq!(handle.reload_do_not_probe(&policy).unwrap().unwrap(), 1);
    let dnp_task = handle.submit_line("ping -c 2 127.0.0.5").unwrap();
    let out = next(&mut results);
    assert_eq!(out.task, dnp_task);
    let Ok(Record::Ping(p)) = out.result else {
        panic!("{out:?}")
    };
    assert_eq!(p.stop_reason, vantage_model::PingStop::Error, "{p:?}");
    let msg = p.errmsg.clone().unwrap_or_default();
    assert!(
        msg.starts_with("policy: destination 127.0.0.5 is in the do-not-probe list")
            && msg.contains("(do_not_probe.file)")
            && msg.ends_with("the packet was not sent"),
        "{msg}"
    );
    assert!(p.replies.is_empty());

    let ttl_task = handle.submit_line("ping -c 1 -m 100 127.0.0.6").unwrap();
    let out = next(&mut results);
    assert_eq!(out.task, ttl_task);
    let Ok(Record::Ping(p)) = out.result else {
        panic!("{out:?}")
    };
    let msg = p.errmsg.clone().unwrap_or_default();
    assert!(msg.starts_with("policy: ttl 100 above max_ttl 64"), "{msg}");

    let ok_task = handle.submit_line("ping -c 1 127.0.0.7").unwrap();
    let out = next(&mut results);
    assert_eq!(out.task, ok_task);
    let Ok(Record::Ping(p)) = out.result else {
        panic!("{out:?}")
    };
    assert_eq!(p.replies.len(), 1, "{p:?}");

    let mut seen = HashMap::new();
    cap.drain(&mut seen);
    assert!(seen.contains_key(&Ipv4Addr::new(127, 0, 0, 7)), "{seen:?}");
    assert_eq!(seen.get(&Ipv4Addr::new(127, 0, 0, 5)), None, "{seen:?}");
    assert_eq!(seen.get(&Ipv4Addr::new(127, 0, 0, 6)), None, "{seen:?}");
    let stats = handle.stats();
    assert_eq!(stats.refused_packets, 2, "{stats:?}");
    assert_eq!(stats.sent, 1, "{stats:?}");
    let audit = handle.audit(1000);
    assert_eq!(audit.refused_packets.get("do_not_probe.file"), Some(&1));
    assert_eq!(audit.refused_packets.get("options.max_ttl"), Some(&1));
    assert_eq!(audit.measurements.get("ping/icmp-echo"), Some(&3));
    assert_eq!(audit.packets.get("ipv4/icmp"), Some(&1));
    assert_eq!(audit.policy.as_ref().unwrap().reloads, 1);
}

#[test]
fn the_window_queues_commands_and_the_policy_caps_it() {
    if skip_without_netns() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let policy = vp_policy(dir.path(), "");
    let (handle, results, _cap) = prober_in_netns(None);
    let server = policy_server(handle, results, 1000, policy);
    let (replies, records) = session(
        &server,
        "get window\nset window 0\nset window 5\nset window -1\nset window 1\nget window\n\
         attach\nping -c 2 -i 0.1 127.0.0.1\nping -c 2 -i 0.1 127.0.0.2\nping -c 1 127.0.0.3\ndone\n",
    );
    // rate.max_tasks = 2 is the window from the start, and a ceiling.
    assert_eq!(replies[0], "OK window 0/2", "{replies:?}");
    assert_eq!(replies[1], "OK window 2", "{replies:?}");
    assert_eq!(replies[2], "OK window 2", "{replies:?}");
    assert!(
        replies[3].starts_with("ERR window: -1 out of range"),
        "{replies:?}"
    );
    assert_eq!(replies[4], "OK window 1", "{replies:?}");
    assert_eq!(replies[5], "OK window 0/1", "{replies:?}");
    // Accepted at once (queued, not refused).
    assert_eq!(replies[6..], ["OK", "OK id-1", "OK id-2", "OK id-3", "OK"]);
    let p = pings(&records);
    assert_eq!(p.len(), 3, "{records:?}");
    // With a window of 1 each ping starts only after the one before has finished, so
    // after that one's last reply arrived.
    let mut by_dst: Vec<_> = p.clone();
    by_dst.sort_by_key(|p| p.dst.to_string());
    for w in by_dst.windows(2) {
        let last = w[0]
            .replies
            .iter()
            .filter_map(|r| r.tx.map(|t| (t, r.rtt)))
            .max();
        let (tx, rtt) = last.unwrap_or_else(|| panic!("no reply: {:?}", w[0]));
        let rx_us = u64::from(tx.sec) * 1_000_000 + u64::from(tx.usec) + rtt.as_micros() as u64;
        let start_us = u64::from(w[1].start.sec) * 1_000_000 + u64::from(w[1].start.usec);
        assert!(
            start_us >= rx_us,
            "{} started before {} finished",
            w[1].dst,
            w[0].dst
        );
    }
}

#[test]
fn a_waiting_task_can_be_halted() {
    if skip_without_netns() {
        return;
    }
    let (handle, mut results, _cap) = prober_in_netns(None);
    handle.set_window(1);
    let first = handle.submit_line("ping -c 3 -i 1 127.0.0.1").unwrap();
    let second = handle.submit_line("ping -c 1 127.0.0.2").unwrap();
    handle.halt(second).unwrap();
    let out = next(&mut results);
    assert_eq!(out.task, second);
    assert_eq!(out.result, Err(TaskError::Halted));
    assert_eq!(handle.stats().tasks_queued, 0);
    handle.halt(first).unwrap();
    let out = next(&mut results);
    assert_eq!(out.task, first);
    assert!(matches!(out.result, Ok(Record::Ping(_))), "{out:?}");
}

#[test]
fn an_app_task_that_finishes_frees_its_window_slot() {
    if skip_without_netns() {
        return;
    }
    let (handle, mut results, _cap) = prober_in_netns(None);
    handle.set_window(1);
    // Nobody listens on port 9: the UDP probe ends after its wait, then the ping may run.
    let app = handle
        .submit_line("udpprobe -d 9 -w 0.5 -p 00 127.0.0.1")
        .unwrap();
    let ping = handle.submit_line("ping -c 1 127.0.0.1").unwrap();
    let first = next(&mut results);
    assert_eq!(first.task, app, "{first:?}");
    let second = next(&mut results);
    assert_eq!(second.task, ping, "{second:?}");
    let Ok(Record::Ping(p)) = second.result else {
        panic!("{second:?}")
    };
    assert_eq!(p.replies.len(), 1, "{p:?}");
}
