//! The VP policy through the controller's mux: a command a researcher sends to a VP whose
//! policy forbids it comes back refused with the rule named, and a capture in the VP's
//! namespace sees no packet to its target; an allowed ping on the same channel runs (and is
//! seen). The controller, the probe and the capture share one fresh network namespace; the
//! mux client reaches them through the mux's unix socket. Skips when not root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Read;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vantage_client::{MuxClient, Outcome, Record};
use vantage_controller::{Config, Controller, LinkSecurity};
use vantage_policy::Policy;
use vantage_probe::{ControlServer, Prober, ProberConfig, RemoteConfig, run_remote};

const WAIT: Duration = Duration::from_secs(20);

fn is_root() -> bool {
    let has = |c| caps::has_cap(None, caps::CapSet::Effective, c).unwrap_or(false);
    has(caps::Capability::CAP_NET_RAW) && has(caps::Capability::CAP_SYS_ADMIN)
}

const POLICY: &str = "[measurements]\ntypes = [\"ping\"]\n[measurements.ping]\n\
                      methods = [\"icmp-echo\"]\n[destinations]\nallow = [\"127.0.0.0/8\"]\n\
                      [options]\nmax_ttl = 64\n";

/// Counts the IPv4 packets an `AF_PACKET` socket saw, by destination.
fn drain(cap: &socket2::Socket) -> HashMap<Ipv4Addr, usize> {
    let mut seen = HashMap::new();
    let mut frame = [0u8; 4096];
    loop {
        match (&*cap).read(&mut frame) {
            Ok(n) if n >= 34 && frame[12..14] == [0x08, 0x00] => {
                let d = &frame[30..34];
                *seen
                    .entry(Ipv4Addr::new(d[0], d[1], d[2], d[3]))
                    .or_default() += 1;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return seen,
            Err(e) => panic!("capture: {e}"),
        }
    }
}

#[test]
fn a_command_the_vp_policy_forbids_is_refused_through_the_mux_and_sends_nothing() {
    if !is_root() {
        eprintln!("skipped: needs root (a network namespace and raw sockets)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mux = dir.path().join("mux.sock");
    let mux2 = mux.clone();
    // Everything that opens sockets starts inside the namespace; threads started there
    // (the runtime's workers, the prober's thread) stay in it.
    let (rt, cap) = vantage_sys::netns::in_new_netns(move || {
        let proto = i32::from((libc::ETH_P_ALL as u16).to_be());
        let cap = socket2::Socket::new(
            socket2::Domain::PACKET,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(proto)),
        )
        .unwrap();
        cap.set_nonblocking(true).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut cfg = Config::new(
            vec!["127.0.0.1:0".parse().unwrap()],
            mux2,
            LinkSecurity::Plaintext,
        );
        cfg.reload_on_sighup = false;
        let c = rt.block_on(Controller::start(cfg)).unwrap();
        let addr = c.vp_addrs()[0];
        std::mem::forget(c);
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
    let deadline = Instant::now() + WAIT;
    let vp = loop {
        if let Some(vp) = client.find_vp("vp-policy.test") {
            break vp;
        }
        assert!(Instant::now() < deadline, "the VP was never listed");
        let _ = client.next_vp_event(Some(Duration::from_millis(100)));
    };
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
    match chan
        .next_result(Some(WAIT))
        .expect("a result through the mux")
    {
        Outcome::Result(r) => match r.record {
            Record::Ping(p) => assert_eq!(p.replies.len(), 1, "{p:?}"),
            other => panic!("expected a ping, got {other:?}"),
        },
        Outcome::Failed(f) => panic!("the allowed ping failed: {f:?}"),
    }
    let seen = drain(&cap);
    assert!(seen.contains_key(&Ipv4Addr::LOCALHOST), "{seen:?}");
    for t in [21, 22, 23] {
        let a = Ipv4Addr::new(127, 0, 0, t);
        assert_eq!(seen.get(&a), None, "a packet to {a} left: {seen:?}");
    }
    assert_eq!(seen.get(&Ipv4Addr::new(10, 0, 0, 24)), None, "{seen:?}");
    drop(client);
    rt.shutdown_timeout(Duration::from_secs(1));
}
