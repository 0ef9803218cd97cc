//! The whole VP policy reloads while the probe runs (`ControlServer::reload_policy`, what
//! `vantage probe` does on SIGHUP), in a fresh network namespace with an `AF_PACKET`
//! capture of everything that leaves:
//!
//! - a malformed rewrite keeps the old policy (an allowed ping still runs) and the audit
//!   counts the failed reload with the line and key of the error;
//! - a rewrite that denies the target: the next ping is refused naming the rule and no
//!   packet reaches the target; a ping already running stops at its next packet (the
//!   per-packet guard has the new policy), naming the rule;
//! - a lowered `rate.pps` lowers the rate at once, a raised one gives back only what was
//!   asked; `rate.max_tasks` caps the window the same way;
//! - through a real controller and a mux client, the VP's policy hash the client sees
//!   changes after the reload (and stays unpublished with `keep_policy_private`).
//!
//! The tests skip (pass with a note) when not root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{
    Capture, WAIT, controller_config, eventually, ping_of, prober_in_netns, serve_control,
    skip_without_netns, start_controller, wait_vp,
};
use vantage_client::{ControlClient, MuxClient};
use vantage_controller::LinkSecurity;
use vantage_policy::Policy;
use vantage_probe::{ControlServer, Prober, ProberConfig, RemoteConfig, RemoteOptions};

/// A policy allowing ping to loopback, denying `deny`, at `pps` and `max_tasks`, with the
/// do-not-probe list `dnp.txt` (which holds 127.0.0.99).
fn policy_text(deny: &str, pps: u32, max_tasks: u32) -> String {
    format!(
        "[measurements]\ntypes = [\"ping\"]\n[destinations]\nallow = [\"127.0.0.0/8\"]\n\
         deny = [{deny}]\n[rate]\npps = {pps}\nmax_tasks = {max_tasks}\n\
         [do_not_probe]\nfile = \"dnp.txt\"\n"
    )
}

fn write_policy(dir: &Path, text: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("dnp.txt"), "127.0.0.99/32\n").unwrap();
    let path = dir.join("policy.toml");
    // Written beside and renamed over, as editors and config management do.
    std::fs::write(dir.join("policy.toml.new"), text).unwrap();
    std::fs::rename(dir.join("policy.toml.new"), &path).unwrap();
    path
}

fn seen(cap: &Capture, seen: &mut std::collections::HashMap<Ipv4Addr, usize>, t: u8) -> usize {
    cap.drain(seen);
    seen.get(&Ipv4Addr::new(127, 0, 0, t)).copied().unwrap_or(0)
}

#[test]
fn a_reloaded_policy_applies_to_commands_running_tasks_rate_and_window() {
    if skip_without_netns() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write_policy(dir.path(), &policy_text("\"127.0.0.66/32\"", 500, 4));
    let first = Arc::new(Policy::load(&path).unwrap());
    let (handle, results, cap) = prober_in_netns(None);
    // --pps 1000 --window 3 asked; the policy caps them at 500 and 3.
    handle.set_window(3);
    let server = ControlServer::new(handle.clone(), results, 1000)
        .unwrap()
        .with_policy(Arc::clone(&first))
        .unwrap();
    assert_eq!((server.audit().pps, handle.window()), (500, 3));
    let sock = dir.path().join("probe.sock");
    serve_control(server.clone(), &sock, false);
    let client = ControlClient::connect_unix(&sock).unwrap();
    let chan = client.channel();
    let mut counts = std::collections::HashMap::new();

    chan.send("ping -c 1 127.0.0.5").unwrap();
    assert_eq!(
        ping_of(chan.next_result(Some(WAIT)).unwrap()).replies.len(),
        1
    );

    // A malformed rewrite: the old policy stays in force, the failure is counted.
    let bad = policy_text("\"127.0.0.0/29\"", 500, 4).replace("pps = 500", "pps = \"fast\"");
    write_policy(dir.path(), &bad);
    let err = server.reload_policy(&path).unwrap_err().to_string();
    assert!(
        err.contains("line 7") && err.contains("key rate.pps"),
        "{err}"
    );
    let st = server.audit().policy.unwrap();
    assert_eq!(
        (st.policy_reloads, st.policy_reload_errors),
        (0, 1),
        "{st:?}"
    );
    assert!(
        st.last_policy_reload_error
            .as_deref()
            .unwrap()
            .contains("key rate.pps"),
        "{st:?}"
    );
    assert_eq!(st.sha256, first.canonical_hash());
    assert_eq!(
        server.policy().unwrap().canonical_hash(),
        first.canonical_hash()
    );
    chan.send("ping -c 1 127.0.0.5").unwrap();
    assert_eq!(
        ping_of(chan.next_result(Some(WAIT)).unwrap()).replies.len(),
        1
    );
    let sent_to_5 = seen(&cap, &mut counts, 5);
    assert!(sent_to_5 > 0, "the capture sees pings: {counts:?}");

    // A long ping runs; then the target's prefix is denied, the rate lowered to 20 pps and
    // the window to 2.
    let running = client.channel();
    running.send("ping -c 50 -i 0.1 127.0.0.7").unwrap();
    eventually("the long ping is on the wire", || {
        seen(&cap, &mut counts, 7) >= 2
    });
    write_policy(dir.path(), &policy_text("\"127.0.0.0/29\"", 20, 2));
    let r = server.reload_policy(&path).unwrap();
    assert!(r.changed, "{r:?}");
    assert_eq!(r.old.as_deref(), Some(first.canonical_hash()));
    assert_ne!(r.new, first.canonical_hash());
    assert_eq!(server.policy().unwrap().canonical_hash(), r.new);

    // The running ping stops at its next packet, naming the rule.
    let p = ping_of(running.next_result(Some(WAIT)).unwrap());
    let msg = p.errmsg.clone().unwrap_or_default();
    assert!(
        msg.starts_with("policy: destination 127.0.0.7 is in denied prefix 127.0.0.0/29")
            && msg.contains("(destinations.deny)")
            && msg.ends_with("the packet was not sent"),
        "{msg}"
    );
    assert!(p.probes_sent < 50, "{p:?}");
    let sent_to_7 = seen(&cap, &mut counts, 7);
    // A new ping to the target is refused naming the rule, and nothing leaves for it.
    match chan.send("ping -c 1 127.0.0.5") {
        Err(vantage_client::Error::Refused { text, .. }) => assert!(
            text.contains("policy: destination 127.0.0.5 is in denied prefix 127.0.0.0/29")
                && text.contains("(destinations.deny)"),
            "{text}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Positive control after the refusal: an allowed ping still leaves and is captured.
    chan.send("ping -c 1 127.0.0.9").unwrap();
    assert_eq!(
        ping_of(chan.next_result(Some(WAIT)).unwrap()).replies.len(),
        1
    );
    assert!(seen(&cap, &mut counts, 9) > 0, "{counts:?}");
    assert_eq!(
        seen(&cap, &mut counts, 5),
        sent_to_5,
        "a packet to 127.0.0.5 left"
    );
    assert_eq!(
        seen(&cap, &mut counts, 7),
        sent_to_7,
        "a packet to 127.0.0.7 left"
    );

    // Rate and window: the new ceilings.
    let audit = server.audit();
    assert_eq!((audit.pps, audit.window), (20, 2), "{audit:?}");
    let st = audit.policy.unwrap();
    assert_eq!(st.sha256, r.new);
    assert_eq!(
        (st.policy_reloads, st.policy_reload_errors),
        (1, 1),
        "{st:?}"
    );
    assert_eq!(st.last_policy_reload_error, None);
    assert_eq!((st.reloads, st.do_not_probe_entries), (1, 1), "{st:?}");
    assert_eq!(audit.refused_packets.get("destinations.deny"), Some(&1));
    assert_eq!(audit.refused_commands.get("destinations.deny"), Some(&1));

    // A raised ceiling gives back what was asked (1000 pps, window 3), never more; a reload
    // of the same text reports no change.
    write_policy(dir.path(), &policy_text("\"127.0.0.0/29\"", 5000, 10));
    let r2 = server.reload_policy(&path).unwrap();
    assert!(r2.changed);
    assert_eq!((server.audit().pps, handle.window()), (1000, 3));
    let r3 = server.reload_policy(&path).unwrap();
    assert!(
        !r3.changed && r3.old.as_deref() == Some(r2.new.as_str()),
        "{r3:?}"
    );
}

/// Starts a prober under the policy file at `path`, linked to the controller at `addr`
/// as `name`; returns its control server.
fn remote_vp(
    rt: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    path: &Path,
    name: &str,
    keep_policy_private: bool,
) -> ControlServer {
    let policy = Arc::new(Policy::load(path).unwrap());
    let (handle, results, _t) = Prober::spawn(ProberConfig::with_pps(200)).unwrap();
    let server = ControlServer::new(handle, results, 200)
        .unwrap()
        .with_policy(policy)
        .unwrap();
    let remote = RemoteConfig {
        server: addr.to_string(),
        name: Some(name.to_owned()),
        tls: None,
    };
    let opts = RemoteOptions {
        policy_text: Some(std::fs::read_to_string(path).unwrap()),
        keep_policy_private,
        ..RemoteOptions::default()
    };
    let s = server.clone();
    rt.spawn(async move { vantage_probe::run_remote_with(s, remote, opts).await });
    server
}

#[test]
fn the_mux_client_sees_the_reloaded_policy_hash() {
    if skip_without_netns() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mux = dir.path().join("mux.sock");
    let path = write_policy(dir.path(), &policy_text("\"127.0.0.66/32\"", 500, 4));
    let quiet = dir.path().join("quiet");
    std::fs::create_dir(&quiet).unwrap();
    let quiet_path = write_policy(&quiet, &policy_text("\"127.0.0.66/32\"", 500, 4));
    let (mux2, p2, q2) = (mux.clone(), path.clone(), quiet_path.clone());
    let (rt, server, quiet_server) = vantage_sys::netns::in_new_netns(move || {
        let rt = common::runtime();
        let cfg = controller_config(
            "127.0.0.1:0".parse().unwrap(),
            mux2,
            LinkSecurity::Plaintext,
        );
        let addr = start_controller(&rt, cfg);
        let server = remote_vp(&rt, addr, &p2, "vp-reload.test", false);
        let quiet = remote_vp(&rt, addr, &q2, "vp-quiet.test", true);
        (rt, server, quiet)
    })
    .unwrap();

    let client = MuxClient::connect(&mux).unwrap();
    let old = server.policy().unwrap().canonical_hash().to_owned();
    let vp = wait_vp(&client, "vp-reload.test");
    eventually("the first publication", || {
        client
            .find_vp("vp-reload.test")
            .is_some_and(|v| v.policy_hash.as_deref() == Some(old.as_str()))
    });
    let q = wait_vp(&client, "vp-quiet.test");
    assert_eq!(q.policy_hash, None, "{q:?}");

    // The private VP reloads first (and must still publish nothing), then the public one.
    let text = policy_text("\"127.0.0.0/29\"", 20, 2);
    write_policy(&quiet, &text);
    assert!(quiet_server.reload_policy(&quiet_path).unwrap().changed);
    write_policy(dir.path(), &text);
    let r = server.reload_policy(&path).unwrap();
    assert!(r.changed && r.new != old, "{r:?}");
    eventually("the mux client sees the new hash", || {
        let _ = client.next_vp_event(Some(Duration::from_millis(50)));
        client
            .find_vp("vp-reload.test")
            .is_some_and(|v| v.policy_hash.as_deref() == Some(r.new.as_str()))
    });
    let now = client.find_vp("vp-reload.test").unwrap();
    assert_eq!(now.id, vp.id, "the same VP, updated");
    assert_eq!(now.policy.as_deref(), Some(text.as_str()), "{now:?}");

    let q = client.find_vp("vp-quiet.test").unwrap();
    assert_eq!((q.policy_hash, q.policy), (None, None));
    drop(client);
    rt.shutdown_timeout(Duration::from_secs(1));
}
