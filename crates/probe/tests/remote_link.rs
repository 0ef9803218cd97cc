//! The probe's remote link against the real controller on loopback: the VP's
//! policy is published and reaches mux clients; a link that goes silent (a TCP
//! proxy in the test black-holes it) is detected by both ends, the probe dials
//! again and resumes without losing a result, and a VP that stays unreachable
//! departs once the controller's grace period, started by its silence timer,
//! runs out. Skips (passes with a note) without CAP_NET_RAW (the prober needs
//! raw sockets).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{WAIT, ping_of, runtime, skip_without_raw, wait_vp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vantage_client::{ChannelEnd, MuxClient, Outcome, TaskError, VpEvent, VpInfo};
use vantage_controller::LinkSecurity;
use vantage_policy::Policy;
use vantage_probe::{ControlServer, Prober, ProberConfig, RemoteConfig, RemoteOptions};
use vantage_proto::remote::Timers;

/// Short timers for both ends, so silence is noticed in well under a second.
const FAST: Timers = Timers {
    keepalive: Duration::from_millis(100),
    silence: Duration::from_millis(700),
};

const POLICY: &str = "# the VP's rules\n[measurements]\ntypes = [\"ping\"]\n\n[rate]\npps = 100\n";

/// A controller on loopback with the short timers and a grace period of `grace`.
fn controller(
    rt: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    grace: Duration,
) -> (SocketAddr, std::path::PathBuf) {
    common::controller(rt, dir, LinkSecurity::Plaintext, |cfg| {
        cfg.grace = grace;
        cfg.timers = FAST;
    })
}

/// A controller with `grace`, a [`Proxy`] in front of it and a probe `name` dialling the
/// proxy; returns the proxy, a mux client and the channel to the VP once it is listed.
fn vp_behind_proxy(
    rt: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    grace: Duration,
    name: &str,
) -> (Proxy, MuxClient, VpInfo, vantage_client::Channel) {
    let (addr, mux) = controller(rt, dir, grace);
    let proxy = Proxy::start(rt, addr);
    probe(rt, &proxy.addr.to_string(), name, None);
    let client = MuxClient::connect(&mux).unwrap();
    let vp = wait_vp(&client, name);
    let ch = client.open(vp.id).unwrap();
    (proxy, client, vp, ch)
}

fn probe(rt: &tokio::runtime::Runtime, server: &str, name: &str, policy: Option<Arc<Policy>>) {
    let (handle, results, _t) = Prober::spawn(ProberConfig::with_pps(200)).unwrap();
    let mut s = ControlServer::new(handle, results, 200).unwrap();
    if let Some(p) = policy {
        s = s.with_policy(p).unwrap();
    }
    let cfg = RemoteConfig {
        server: server.to_owned(),
        name: Some(name.to_owned()),
        tls: None,
    };
    let opts = RemoteOptions {
        timers: FAST,
        policy_text: Some(POLICY.to_owned()),
        keep_policy_private: false,
    };
    rt.spawn(async move { vantage_probe::run_remote_with(s, cfg, opts).await });
}

/// A TCP proxy that can black-hole connections: bytes are read and thrown
/// away, nothing is closed, so each end only notices through its timers.
struct Proxy {
    addr: SocketAddr,
    /// Connections with an id below this are black-holed.
    hole_below: Arc<AtomicU64>,
    /// Every connection, new ones too, is black-holed.
    hole_all: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
}

impl Proxy {
    fn start(rt: &tokio::runtime::Runtime, to: SocketAddr) -> Self {
        let l = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("proxy listens");
        let addr = l.local_addr().unwrap();
        let hole_below = Arc::new(AtomicU64::new(0));
        let hole_all = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let (hb, ha, acc) = (
            Arc::clone(&hole_below),
            Arc::clone(&hole_all),
            Arc::clone(&accepted),
        );
        rt.spawn(async move {
            while let Ok((a, _)) = l.accept().await {
                let id = acc.fetch_add(1, Ordering::SeqCst);
                let Ok(b) = TcpStream::connect(to).await else {
                    continue;
                };
                let (ar, aw) = a.into_split();
                let (br, bw) = b.into_split();
                let holed = {
                    let (hb, ha) = (Arc::clone(&hb), Arc::clone(&ha));
                    move || ha.load(Ordering::SeqCst) || id < hb.load(Ordering::SeqCst)
                };
                tokio::spawn(pipe(ar, bw, holed.clone()));
                tokio::spawn(pipe(br, aw, holed));
            }
        });
        Self {
            addr,
            hole_below,
            hole_all,
            accepted,
        }
    }

    /// Black-holes the connections made so far.
    fn hole_current(&self) {
        self.hole_below
            .store(self.accepted.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    fn hole_everything(&self) {
        self.hole_all.store(true, Ordering::SeqCst);
    }

    fn connections(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn pipe(
    mut r: tokio::net::tcp::OwnedReadHalf,
    mut w: tokio::net::tcp::OwnedWriteHalf,
    holed: impl Fn() -> bool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if holed() {
            continue;
        }
        if w.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
    if holed() {
        // A black hole never tells the other end.
        std::future::pending::<()>().await;
    }
}

#[test]
fn policy_text_and_hash_reach_mux_clients() {
    if skip_without_raw() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let (addr, mux) = controller(&rt, dir.path(), Duration::from_secs(30));
    let policy = Arc::new(Policy::from_toml(POLICY, "test policy", None).unwrap());
    let hash = policy.canonical_hash().to_owned();
    assert_eq!(hash.len(), 64);
    // A client already connected hears of the VP once, with its policy.
    let early = MuxClient::connect(&mux).unwrap();
    probe(&rt, &addr.to_string(), "vp-policy.test", Some(policy));
    probe(&rt, &addr.to_string(), "vp-open.test", None);
    let VpEvent::Arrived(info) = early.next_vp_event(Some(WAIT)).expect("an arrival") else {
        panic!("expected an arrival")
    };
    let VpEvent::Arrived(info2) = early.next_vp_event(Some(WAIT)).expect("an arrival") else {
        panic!("expected an arrival")
    };
    let (with, without) = if info.name.as_deref() == Some("vp-policy.test") {
        (info, info2)
    } else {
        (info2, info)
    };
    assert_eq!(with.policy.as_deref(), Some(POLICY));
    assert_eq!(with.policy_hash.as_deref(), Some(hash.as_str()));
    assert_eq!((without.policy, without.policy_hash), (None, None));
    assert_eq!(early.next_vp_event(Some(Duration::from_millis(300))), None);
    // A client connecting later gets it in the initial list.
    let late = MuxClient::connect(&mux).unwrap();
    let v = wait_vp(&late, "vp-policy.test");
    assert_eq!(v.policy.as_deref(), Some(POLICY));
    assert_eq!(v.policy_hash.as_deref(), Some(hash.as_str()));
    // The policy is in force on the VP: a trace is refused, naming the rule.
    let ch = late.open(v.id).unwrap();
    let err = ch.send("trace 127.0.0.1").unwrap_err();
    assert!(err.to_string().contains("measurements.types"), "{err}");
}

#[test]
fn silent_link_is_detected_and_resumed_without_loss() {
    if skip_without_raw() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let (proxy, client, _vp, ch) =
        vp_behind_proxy(&rt, dir.path(), Duration::from_secs(30), "vp-quiet.test");
    let before = ch.send("ping -c 1 127.0.0.1").unwrap();
    assert_eq!(
        ping_of(ch.next_result(Some(WAIT)).unwrap()).dst.to_string(),
        "127.0.0.1"
    );
    let _ = before;
    // The path goes dark, with a measurement running: its result is produced
    // into the black hole. Nothing is closed: only the timers can tell.
    let t = ch.send("ping -c 3 -i 0.3 127.0.0.2").unwrap();
    proxy.hole_current();
    let r = ch
        .next_result(Some(WAIT))
        .expect("the result after the resume");
    let Outcome::Result(r) = r else {
        panic!("task failed: {r:?}")
    };
    assert_eq!(r.task, Some(t));
    assert!(proxy.connections() >= 2, "the probe dialled again");
    // Same VP, no departure, and the channel still works.
    let t2 = ch.send("ping -c 1 127.0.0.3").unwrap();
    let Outcome::Result(r2) = ch.next_result(Some(WAIT)).unwrap() else {
        panic!()
    };
    assert_eq!(r2.task, Some(t2));
    // Exactly once: nothing more comes.
    assert!(ch.poll().is_none());
    while let Some(ev) = client.poll_vp_event() {
        assert!(
            !matches!(ev, VpEvent::Departed { .. }),
            "the VP departed: {ev:?}"
        );
    }
}

#[test]
fn unreachable_vp_departs_after_silence_and_grace() {
    if skip_without_raw() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let (proxy, client, vp, ch) =
        vp_behind_proxy(&rt, dir.path(), Duration::from_millis(500), "vp-gone.test");
    let t = ch.send("ping -c 5 -i 1 127.0.0.1").unwrap();
    // Every connection, present and future, goes dark: the controller's
    // silence timer declares the link lost and starts the grace period; the
    // probe's resumes never arrive, so the VP departs and the task fails.
    proxy.hole_everything();
    let started = Instant::now();
    let o = ch.next_result(Some(WAIT)).expect("the task ends");
    let Outcome::Failed(f) = o else {
        panic!("expected a failure, got {o:?}")
    };
    assert_eq!(f.task, Some(t));
    assert_eq!(f.error, TaskError::Ended(ChannelEnd::VpDeparted));
    assert!(std::iter::from_fn(|| client.poll_vp_event()).any(|e| e
        == VpEvent::Departed {
            id: vp.id,
            controller_gone: false
        }));
    eprintln!("departed {:?} after the path went dark", started.elapsed());
}

#[test]
fn a_policy_reloaded_while_the_link_is_dark_reaches_mux_clients_after_the_resume() {
    if skip_without_raw() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let (addr, mux) = controller(&rt, dir.path(), Duration::from_secs(30));
    let proxy = Proxy::start(&rt, addr);
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, POLICY).unwrap();
    let (handle, results, _t) = Prober::spawn(ProberConfig::with_pps(200)).unwrap();
    let server = ControlServer::new(handle, results, 200)
        .unwrap()
        .with_policy(Arc::new(Policy::load(&path).unwrap()))
        .unwrap();
    let cfg = RemoteConfig {
        server: proxy.addr.to_string(),
        name: Some("vp-dark.test".to_owned()),
        tls: None,
    };
    let opts = RemoteOptions {
        timers: FAST,
        policy_text: Some(POLICY.to_owned()),
        keep_policy_private: false,
    };
    let s = server.clone();
    rt.spawn(async move { vantage_probe::run_remote_with(s, cfg, opts).await });
    let client = MuxClient::connect(&mux).unwrap();
    let old = server.policy().unwrap().canonical_hash().to_owned();
    let listed = |hash: &str| {
        let _ = client.next_vp_event(Some(Duration::from_millis(50)));
        client
            .find_vp("vp-dark.test")
            .is_some_and(|v| v.policy_hash.as_deref() == Some(hash))
    };
    common::eventually("the first publication", || listed(&old));

    // The path goes dark; the policy is reloaded; the probe notices the silence, dials
    // again and resumes; the new policy reaches the mux client.
    let connections = proxy.connections();
    proxy.hole_current();
    let text = POLICY.replace("pps = 100", "pps = 50");
    std::fs::write(&path, &text).unwrap();
    let r = server.reload_policy(&path).unwrap();
    assert!(r.changed, "{r:?}");
    common::eventually("the new hash after the resume", || listed(&r.new));
    assert!(proxy.connections() > connections, "the probe dialled again");
    let vp = client.find_vp("vp-dark.test").unwrap();
    assert_eq!(vp.policy.as_deref(), Some(text.as_str()));
    while let Some(ev) = client.poll_vp_event() {
        assert!(
            !matches!(ev, VpEvent::Departed { .. }),
            "the VP departed: {ev:?}"
        );
    }
}
