//! TLS VP links: server certificate checked by the VP, optional client
//! certificates whose name must be the VP's monitor name, clear log lines for
//! refused VPs. Certificates are made here with rcgen.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::many_single_char_names,
    missing_docs
)]

mod common;

use common::{Connector, Env, Note, VpOpts, WAIT, log_line, logs, ping, result, wait_vps};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use vantage_controller::{LinkSecurity, TlsFiles};

struct Ca(CertifiedIssuer<'static, KeyPair>);

impl Ca {
    fn new(name: &str) -> Self {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        Self(CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap())
    }

    fn der(&self) -> CertificateDer<'static> {
        self.0.der().clone()
    }

    /// A leaf certificate: (chain DER, key DER, chain PEM, key PEM).
    fn leaf(&self, san: &[&str], cn: Option<&str>, client: bool) -> Leaf {
        let mut p = CertificateParams::new(san.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
            .unwrap();
        if let Some(cn) = cn {
            p.distinguished_name.push(DnType::CommonName, cn);
        }
        if client {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.0).unwrap();
        Leaf {
            chain: vec![cert.der().clone(), self.der()],
            key_der: key.serialize_der(),
            pem: format!("{}{}", cert.pem(), self.0.pem()),
            key_pem: key.serialize_pem(),
        }
    }
}

struct Leaf {
    chain: Vec<CertificateDer<'static>>,
    key_der: Vec<u8>,
    pem: String,
    key_pem: String,
}

/// A TLS connector that trusts `ca`, expects the server name
/// `controller.test`, and presents `client` if given.
fn connector(ca: &Ca, client: Option<&Leaf>) -> Connector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let cfg = match client {
        None => b.with_no_client_auth(),
        Some(l) => b
            .with_client_auth_cert(
                l.chain.clone(),
                PrivateKeyDer::Pkcs8(l.key_der.clone().into()),
            )
            .unwrap(),
    };
    let c = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    Arc::new(move |tcp| {
        let c = c.clone();
        Box::pin(async move {
            let s = c
                .connect(ServerName::try_from("controller.test").unwrap(), tcp)
                .await?;
            Ok(Box::new(s) as Box<dyn common::futures_boxed::Io>)
        })
    })
}

fn tls_env(ca: &Ca, client_ca: Option<&Ca>) -> Env {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let server = ca.leaf(&["controller.test"], None, false);
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let cert = write("cert.pem", &server.pem);
    let key = write("key.pem", &server.key_pem);
    let client_ca = client_ca.map(|c| write("client-ca.pem", &c.0.pem()));
    let mut cfg = vantage_controller::Config::new(
        vec!["127.0.0.1:0".parse().unwrap()],
        dir.path().join("mux"),
        LinkSecurity::Tls(TlsFiles {
            cert,
            key,
            client_ca,
        }),
    );
    cfg.reload_on_sighup = false;
    Env::with_config(cfg, dir)
}

fn vp(name: &str, c: Connector) -> VpOpts {
    VpOpts {
        connector: Some(c),
        ..VpOpts::named(name)
    }
}

fn refused(v: &common::FakeVp) {
    v.wait(|n| matches!(n, Note::Disconnected(_) | Note::ConnectFailed(_)));
}

fn ping_through(env: &Env, name: &str) {
    let c = env.client();
    wait_vps(&c, 1);
    let id = c.find_vp(name).expect("VP listed").id;
    let ch = c.open(id).unwrap();
    let t = ch.send("ping 192.0.2.7").unwrap();
    let r = result(ch.next_result(Some(WAIT)).unwrap());
    assert_eq!(
        (r.task, ping(&r).dst.to_string()),
        (Some(t), "192.0.2.7".into())
    );
}

#[test]
fn tls_without_client_certificates() {
    let ca = Ca::new("Vantage test CA");
    let env = tls_env(&ca, None);
    let v = env.vp(vp("tls-vp", connector(&ca, None)));
    v.established();
    ping_through(&env, "tls-vp");

    // A VP speaking plaintext to a TLS controller is refused, with a log line.
    let plain = env.vp(VpOpts::named("plain-vp"));
    refused(&plain);
    log_line(&["refused VP", "TLS handshake failed"]);

    // A VP that does not trust the controller's CA refuses it.
    let other = Ca::new("Someone else");
    let wrong = env.vp(vp("wrong-ca", connector(&other, None)));
    refused(&wrong);
}

#[test]
fn tls_with_client_certificates() {
    let ca = Ca::new("Vantage test CA");
    let vp_ca = Ca::new("Vantage VP CA");
    let env = tls_env(&ca, Some(&vp_ca));

    // The right certificate (subjectAltName) is accepted.
    let good = vp_ca.leaf(&["vp1.example"], Some("ignored"), true);
    let v = env.vp(vp("vp1.example", connector(&ca, Some(&good))).held());
    v.established();
    let c = env.client();
    wait_vps(&c, 1);
    let ch = c.open(c.find_vp("vp1.example").unwrap().id).unwrap();
    let t = ch.send("ping 192.0.2.7").unwrap();
    // The link drops and the VP resumes over a new TLS connection, with the
    // same certificate checked again.
    v.cut();
    v.release();
    v.reconnect();
    v.wait(|n| n == &Note::Resumed);
    let r = result(ch.next_result(Some(WAIT)).unwrap());
    assert_eq!(
        (r.task, ping(&r).dst.to_string()),
        (Some(t), "192.0.2.7".into())
    );
    drop(c);

    // A certificate naming the VP only in its common name is accepted too.
    let cn_only = vp_ca.leaf(&[], Some("vp-cn.example"), true);
    let v2 = env.vp(vp("vp-cn.example", connector(&ca, Some(&cn_only))));
    v2.established();

    // Another VP's certificate is refused, with a clear log line.
    let imposter = env.vp(vp("vp2.example", connector(&ca, Some(&good))));
    refused(&imposter);
    let line = log_line(&["refused VP", "vp2.example"]);
    assert!(
        line.contains("its client certificate names vp1.example, not its monitor name vp2.example"),
        "{line}"
    );

    // A VP without a monitor name cannot be checked: refused.
    let anon = env.vp(VpOpts {
        name: None,
        ..vp("x", connector(&ca, Some(&good)))
    });
    refused(&anon);
    log_line(&["refused VP", "announced no monitor name"]);

    // A certificate from another CA, or none at all, fails the handshake.
    let rogue_ca = Ca::new("Rogue CA");
    let rogue = rogue_ca.leaf(&["vp3.example"], None, true);
    let r = env.vp(vp("vp3.example", connector(&ca, Some(&rogue))));
    refused(&r);
    let n = env.vp(vp("vp4.example", connector(&ca, None)));
    refused(&n);
    let line = log_line(&["refused VP", "TLS handshake failed", "UnknownIssuer"]);
    assert!(line.contains("127.0.0.1"), "{line}");
    log_line(&["refused VP", "TLS handshake failed", "no certificates"]);

    // Only the two good VPs are listed.
    let c = env.client();
    wait_vps(&c, 2);
    let mut names: Vec<_> = c.vps().into_iter().filter_map(|v| v.name).collect();
    names.sort();
    assert_eq!(names, ["vp-cn.example", "vp1.example"]);
}

#[test]
fn tls_files_are_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let cfg = vantage_controller::Config::new(
        vec!["127.0.0.1:0".parse().unwrap()],
        dir.path().join("mux"),
        LinkSecurity::Tls(TlsFiles {
            cert: missing.clone(),
            key: missing.clone(),
            client_ca: None,
        }),
    );
    let rt = common::runtime();
    let err = rt
        .block_on(vantage_controller::Controller::start(cfg))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("certificate") && msg.contains(&missing.display().to_string()),
        "{msg}"
    );
    assert!(!Path::new(&dir.path().join("mux")).exists());
}

#[test]
#[ignore = "prints the log lines of a refused VP; run with --ignored --nocapture"]
fn show_log_lines() {
    let ca = Ca::new("Vantage test CA");
    let vp_ca = Ca::new("Vantage VP CA");
    let env = tls_env(&ca, Some(&vp_ca));
    let good = vp_ca.leaf(&["vp1.example"], None, true);
    let imposter = env.vp(vp("vp2.example", connector(&ca, Some(&good))));
    refused(&imposter);
    let n = env.vp(vp("vp4.example", connector(&ca, None)));
    refused(&n);
    std::thread::sleep(Duration::from_millis(200));
    eprintln!("{}", String::from_utf8_lossy(&logs().lock().unwrap()));
}
