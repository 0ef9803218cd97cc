//! End to end on loopback: a controller, one probe dialling it (plaintext, then TLS
//! with a client certificate made here by rcgen) and a mux client running a ping to
//! 127.0.0.1 through them; and a probe whose link is cut comes back by itself.
//! Skips (passes with a note) when not root, since the prober needs raw sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{WAIT, controller_config, ping_of, runtime, skip_without_raw, wait_vp};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use vantage_client::{MuxClient, Record};
use vantage_controller::{Controller, LinkSecurity, TlsFiles};
use vantage_probe::{ControlServer, Prober, ProberConfig, RemoteConfig, RemoteTls, run_remote};

/// Starts a controller; returns its VP address and mux path.
fn controller(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    security: LinkSecurity,
) -> (SocketAddr, std::path::PathBuf) {
    common::controller(rt, dir, security, |_| {})
}

fn probe(rt: &tokio::runtime::Runtime, cfg: RemoteConfig) {
    let (handle, results, _t) = Prober::spawn(ProberConfig::with_pps(200)).unwrap();
    let server = ControlServer::new(handle, results, 200).unwrap();
    rt.spawn(async move { run_remote(server, cfg).await });
}

fn ping_through(mux: &Path, name: &str) {
    let client = MuxClient::connect(mux).unwrap();
    let vp = wait_vp(&client, name);
    let chan = client.open(vp.id).unwrap();
    // The channel is pre-attached: MORE, then the list record (named `<alias>_<k>`,
    // with the probe's monitor name) and the cycle start.
    loop {
        match chan
            .next_event(Some(WAIT))
            .expect("the channel's list record")
        {
            vantage_client::Event::Meta(Record::List(l)) => {
                assert_eq!(l.monitor.as_deref(), Some(name));
                assert!(l.name.contains('_'), "{l:?}");
                break;
            }
            vantage_client::Event::More => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    chan.send("ping -c 2 -i 0.1 127.0.0.1").unwrap();
    let p = ping_of(
        chan.next_result(Some(WAIT))
            .expect("a result through the mux"),
    );
    assert_eq!(p.dst.to_string(), "127.0.0.1");
    assert_eq!(p.replies.len(), 2);
}

#[test]
fn plaintext_link_carries_a_ping() {
    if skip_without_raw() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let (addr, mux) = controller(&rt, dir.path(), LinkSecurity::Plaintext);
    probe(
        &rt,
        RemoteConfig {
            server: addr.to_string(),
            name: Some("vp1.test".into()),
            tls: None,
        },
    );
    ping_through(&mux, "vp1.test");
    // A second ping on a second channel of the same session.
    ping_through(&mux, "vp1.test");
}

#[test]
fn tls_link_with_client_certificate_carries_a_ping() {
    if skip_without_raw() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, "Vantage test CA");
    let ca = CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap();
    let leaf = |san: &str, client: bool| {
        let mut p = CertificateParams::new(vec![san.to_owned()]).unwrap();
        if client {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &ca).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    std::fs::write(d.join("ca.pem"), ca.pem()).unwrap();
    let (srv, srv_key) = leaf("localhost", false);
    std::fs::write(d.join("srv.pem"), srv).unwrap();
    std::fs::write(d.join("srv.key"), srv_key).unwrap();
    let (vp, vp_key) = leaf("vp2.test", true);
    std::fs::write(d.join("vp.pem"), vp).unwrap();
    std::fs::write(d.join("vp.key"), vp_key).unwrap();

    let rt = runtime();
    let (addr, mux) = controller(
        &rt,
        d,
        LinkSecurity::Tls(TlsFiles {
            cert: d.join("srv.pem"),
            key: d.join("srv.key"),
            client_ca: Some(d.join("ca.pem")),
        }),
    );
    probe(
        &rt,
        RemoteConfig {
            server: format!("localhost:{}", addr.port()),
            name: Some("vp2.test".into()),
            tls: Some(RemoteTls {
                ca: d.join("ca.pem"),
                client: Some((d.join("vp.pem"), d.join("vp.key"))),
            }),
        },
    );
    ping_through(&mux, "vp2.test");
}

#[test]
fn a_probe_that_cannot_reach_the_controller_keeps_trying() {
    if skip_without_raw() {
        return;
    }
    // Pick a free port, start the probe first, the controller later on that port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    probe(
        &rt,
        RemoteConfig {
            server: format!("127.0.0.1:{port}"),
            name: Some("vp3.test".into()),
            tls: None,
        },
    );
    std::thread::sleep(Duration::from_millis(300));
    let mux = dir.path().join("mux.sock");
    let cfg = controller_config(
        format!("127.0.0.1:{port}").parse().unwrap(),
        mux.clone(),
        LinkSecurity::Plaintext,
    );
    let c = rt.block_on(Controller::start(cfg)).unwrap();
    ping_through(&mux, "vp3.test");
    rt.block_on(c.shutdown());
}

/// A TCP relay between the probe and the controller whose connections the test can cut.
struct Relay {
    addr: SocketAddr,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    /// While set, connections are accepted and dropped at once.
    held: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Relay {
    fn start(rt: &tokio::runtime::Runtime, upstream: SocketAddr) -> Self {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let c = std::sync::Arc::clone(&conns);
        let held = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let h = std::sync::Arc::clone(&held);
        rt.spawn(async move {
            loop {
                let (mut down, _) = listener.accept().await.unwrap();
                if h.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(down);
                    continue;
                }
                let task = tokio::spawn(async move {
                    let mut up = tokio::net::TcpStream::connect(upstream).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                });
                c.lock().unwrap().push(task.abort_handle());
            }
        });
        Self { addr, conns, held }
    }

    /// Drops every relayed connection (both TCP connections close).
    fn cut(&self) -> usize {
        let v: Vec<_> = self.conns.lock().unwrap().drain(..).collect();
        for a in &v {
            a.abort();
        }
        v.len()
    }
}

#[test]
fn a_cut_link_resumes_and_loses_no_result() {
    if skip_without_raw() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let (addr, mux) = controller(&rt, dir.path(), LinkSecurity::Plaintext);
    let relay = Relay::start(&rt, addr);
    probe(
        &rt,
        RemoteConfig {
            server: relay.addr.to_string(),
            name: Some("vp4.test".into()),
            tls: None,
        },
    );
    let client = MuxClient::connect(&mux).unwrap();
    let vp = wait_vp(&client, "vp4.test");
    let chan = client.open(vp.id).unwrap();
    chan.send("ping -c 4 -i 0.5 127.0.0.1").unwrap();
    // Cut while the ping runs, and again right after its result is due.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(relay.cut(), 1);
    std::thread::sleep(Duration::from_millis(2500));
    relay.cut();
    let p = ping_of(
        chan.next_result(Some(WAIT))
            .expect("the result survives the cuts"),
    );
    assert_eq!(p.replies.len(), 4, "{p:?}");
    // The VP resumed its session: same id, never announced as departed.
    assert_eq!(client.find_vp("vp4.test").map(|v| v.id), Some(vp.id));
    // And the channel still works after the resume.
    chan.send("ping -c 1 127.0.0.1").unwrap();
    assert!(matches!(
        chan.next_result(Some(WAIT)),
        Some(vantage_client::Outcome::Result(_))
    ));
}

#[test]
fn a_probe_back_after_the_grace_period_starts_a_new_session() {
    if skip_without_raw() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let (addr, mux) = common::controller(&rt, dir.path(), LinkSecurity::Plaintext, |cfg| {
        cfg.grace = Duration::from_millis(500);
    });
    let relay = Relay::start(&rt, addr);
    probe(
        &rt,
        RemoteConfig {
            server: relay.addr.to_string(),
            name: Some("vp5.test".into()),
            tls: None,
        },
    );
    let client = MuxClient::connect(&mux).unwrap();
    let first = wait_vp(&client, "vp5.test").id;
    // Away for longer than the grace period: the VP departs.
    relay.held.store(true, std::sync::atomic::Ordering::SeqCst);
    relay.cut();
    let deadline = Instant::now() + WAIT;
    while client.find_vp("vp5.test").is_some() {
        assert!(Instant::now() < deadline, "the VP never departed");
        let _ = client.next_vp_event(Some(Duration::from_millis(100)));
    }
    // Back: the resume is refused, the probe starts a new session under a new id.
    relay.held.store(false, std::sync::atomic::Ordering::SeqCst);
    let second = wait_vp(&client, "vp5.test").id;
    assert_ne!(first, second);
    ping_through(&mux, "vp5.test");
}
