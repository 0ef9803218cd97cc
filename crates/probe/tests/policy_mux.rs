//! The VP policy through the controller's mux: a command a researcher sends to a VP whose
//! policy forbids it comes back refused with the rule named, and a capture in the VP's
//! namespace sees no packet to its target; an allowed ping on the same channel runs (and is
//! seen). The controller, the probe and the capture share one fresh network namespace; the
//! mux client reaches them through the mux's unix socket. Skips when not root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use common::{
    Capture, WAIT, controller_config, ping_of, skip_without_netns, start_controller, wait_vp,
};
use vantage_client::MuxClient;
use vantage_controller::LinkSecurity;
use vantage_policy::Policy;
use vantage_probe::{ControlServer, Prober, ProberConfig, RemoteConfig, run_remote};

const POLICY: &str = "[measurements]\ntypes = [\"ping\"]\n[measurements.ping]\n\
                      methods = [\"icmp-echo\"]\n[destinations]\nallow = [\"127.0.0.0/8\"]\n\
                      [options]\nmax_ttl = 64\n";

#[test]
fn a_command_the_vp_policy_forbids_is_refused_through_the_mux_and_sends_nothing() {
    if skip_without_netns() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mux = dir.path().join("mux.sock");
    let mux2 = mux.clone();
    // Everything that opens sockets starts inside the namespace; threads started there
    // (the runtime's workers, the prober's thread) stay in it.
    let (rt, cap) = vantage_sys::netns::in_new_netns(move || {
        let cap = Capture::open();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let cfg = controller_config(
            "127.0.0.1:0".parse().unwrap(),
            mux2,
            LinkSecurity::Plaintext,
        );
        let addr = start_controller(&rt, cfg);
        let policy = Arc::new(Policy::from_toml(POLICY, "text", None).unwrap());
        let (handle, results, _t) = Prober::spawn(ProberConfig::with_pps(200)).unwrap();
        let server = ControlServer::new(handle, results, 200)
            .unwrap()
            .with_policy(policy)
            .unwrap();
        let remote = RemoteConfig {
            server: addr.to_string(),
            name: Some("vp-policy.test".into()),
            tls: None,
        };
        rt.spawn(async move { run_remote(server, remote).await });
        (rt, cap)
    })
    .unwrap();

    let client = MuxClient::connect(&mux).unwrap();
    let vp = wait_vp(&client, "vp-policy.test");
    let chan = client.open(vp.id).unwrap();
    let refused = [
        ("trace -m 5 127.0.0.21", "measurements.types"),
        ("ping -P udp 127.0.0.22", "measurements.ping.methods"),
        ("ping -m 100 127.0.0.23", "options.max_ttl"),
        ("ping -c 1 10.0.0.24", "destinations.allow"),
    ];
    for (command, rule) in refused {
        // `send` waits for the probe's answer to the command: here its refusal.
        match chan.send(command) {
            Err(vantage_client::Error::Refused { text, .. }) => assert!(
                text.starts_with("command not accepted: policy: ") && text.contains(rule),
                "{command}: {text}"
            ),
            other => panic!("{command}: expected a refusal, got {other:?}"),
        }
    }
    chan.send("ping -c 1 127.0.0.1").unwrap();
    let p = ping_of(
        chan.next_result(Some(WAIT))
            .expect("a result through the mux"),
    );
    assert_eq!(p.replies.len(), 1, "{p:?}");
    let seen = cap.seen();
    assert!(seen.contains_key(&Ipv4Addr::LOCALHOST), "{seen:?}");
    for t in [21, 22, 23] {
        let a = Ipv4Addr::new(127, 0, 0, t);
        assert_eq!(seen.get(&a), None, "a packet to {a} left: {seen:?}");
    }
    assert_eq!(seen.get(&Ipv4Addr::new(10, 0, 0, 24)), None, "{seen:?}");
    drop(client);
    rt.shutdown_timeout(Duration::from_secs(1));
}
