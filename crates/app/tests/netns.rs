//! Measurements against real servers from Debian packages, started by the tests inside a
//! two-host testbed (`cli` -- `srv`) of network namespaces: nsd (authoritative DNS), nginx
//! (HTTP/1.1, HTTP/2 and TLS with a certificate made here by rcgen) and UDP responders.
//!
//! They need root (namespaces) and the packages `nsd` and `nginx` (`apt-get install -y nsd
//! nginx`); without root they print why and pass. Every packet stays inside the testbed,
//! which the topology handle removes when dropped, also when a test fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use vantage_app::dns::{self, DnsRequest, Edns, rtype};
use vantage_app::http::{self, HttpRequest};
use vantage_app::{AppEnv, NoPacing, host, httprec, udpprobe};
use vantage_command::{Command, Context, HttpUrl};
use vantage_model::{CLASS_CH, DnsRrData, HostStop, HttpBufType, HttpStop, UdpprobeStop};
use vantage_testbed::{ProcessGuard, Topology, is_root, unique_prefix};

fn root(test: &str) -> bool {
    if is_root() {
        vantage_testbed::down_stale("va").unwrap();
        true
    } else {
        eprintln!("skipping {test}: building network namespaces needs root");
        false
    }
}

fn have(tool: &str, package: &str, test: &str) -> bool {
    let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(tool).exists());
    if !found {
        eprintln!("skipping {test}: `{tool}` is missing (apt-get install -y {package})");
    }
    found
}

struct Lab {
    topo: Topology,
    srv4: IpAddr,
    srv6: IpAddr,
}

fn lab() -> Lab {
    let mut b = Topology::builder(&unique_prefix("va"));
    b.host("cli");
    b.host("srv");
    b.link("cli", "srv");
    let topo = b.build().unwrap();
    let srv4 = IpAddr::V4(topo.addr4("srv", "cli-srv").unwrap());
    let srv6 = IpAddr::V6(topo.addr6("srv", "cli-srv").unwrap());
    Lab { topo, srv4, srv6 }
}

impl Lab {
    /// Runs an async block on a current-thread runtime inside `cli` (like the probe does).
    fn run<T: Send, F: Future<Output = T>>(&self, f: impl FnOnce() -> F + Send) -> T {
        self.run_on("cli", f)
    }

    /// Like [`Lab::run`] inside another node.
    fn run_on<T: Send, F: Future<Output = T>>(
        &self,
        node: &str,
        f: impl FnOnce() -> F + Send,
    ) -> T {
        self.topo
            .run_in(node, || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(f())
            })
            .unwrap()
    }

    /// A UDP socket bound inside `srv` (sockets keep the namespace they were made in).
    fn srv_udp(&self, addr: SocketAddr) -> UdpSocket {
        self.topo
            .run_in("srv", || UdpSocket::bind(addr).unwrap())
            .unwrap()
    }
}

/// The test zone: every record type the issue names, plus a reverse zone for `srv4`.
fn start_nsd(lab: &Lab, dir: &Path, from: &str) -> ProcessGuard {
    let IpAddr::V4(v4) = lab.srv4 else {
        unreachable!()
    };
    let o = v4.octets();
    let rev = format!("{}.{}.{}.in-addr.arpa", o[2], o[1], o[0]);
    let zone = format!(
        "$ORIGIN example.test.\n$TTL 300\n\
         @ IN SOA ns1.example.test. hostmaster.example.test. 2026010101 3600 600 86400 300\n\
         @ IN NS ns1.example.test.\n\
         @ IN MX 10 mail.example.test.\n\
         @ IN TXT \"vantage test zone\" \"second string\"\n\
         @ IN CAA 0 issue \"ca.example.test\"\n\
         @ IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n\
         @ IN HTTPS 1 . alpn=h2,http/1.1\n\
         ns1 IN A {}\n\
         ns1 IN AAAA {}\n\
         www IN A 192.0.2.80\n\
         www IN AAAA 2001:db8::80\n\
         alias IN CNAME www.example.test.\n\
         _sip._udp IN SRV 10 20 5060 sip.example.test.\n\
         svc IN SVCB 1 www.example.test. alpn=h2 port=8443\n\
         sub IN NS ns1.example.test.\n\
         sub IN DS 60485 13 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A\n",
        lab.srv4, lab.srv6
    );
    std::fs::write(dir.join("example.test.zone"), zone).unwrap();
    let revzone = format!(
        "$ORIGIN {rev}.\n$TTL 300\n\
         @ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 300\n\
         @ IN NS ns1.example.test.\n\
         {} IN PTR ns1.example.test.\n",
        o[3]
    );
    std::fs::write(dir.join("rev.zone"), revzone).unwrap();
    let d = dir.display();
    let conf = format!(
        "server:\n  ip-address: {}\n  ip-address: {}\n  port: 53\n  username: \"\"\n  chroot: \"\"\n\
         \x20 zonesdir: \"{d}\"\n  zonelistfile: \"{d}/zone.list\"\n  database: \"\"\n\
         \x20 pidfile: \"{d}/nsd.pid\"\n  xfrdfile: \"{d}/xfrd.state\"\n  xfrdir: \"{d}\"\n\
         \x20 logfile: \"{d}/nsd.log\"\n  nsid: \"ascii_ns1\"\n  hide-version: no\n\
         \x20 version: \"vantage-test-nsd\"\n  identity: \"ns1.example.test\"\n\
         \x20 server-count: 1\n  verbosity: 1\n\
         remote-control:\n  control-enable: no\n\
         zone:\n  name: example.test\n  zonefile: example.test.zone\n\
         zone:\n  name: {rev}\n  zonefile: rev.zone\n",
        lab.srv4, lab.srv6
    );
    let conf_path = dir.join("nsd.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let guard = lab
        .topo
        .spawn("srv", &["nsd", "-d", "-c", conf_path.to_str().unwrap()])
        .unwrap();
    // Wait until it answers (it loads the zones first).
    let server = lab.srv4;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut req = DnsRequest::new(server, "example.test", rtype::SOA);
        req.timeout = Duration::from_millis(300);
        let run = lab.run_on(from, || async move {
            host::run_request(&req, &AppEnv::new(NoPacing)).await
        });
        if run.host.stop_reason == HostStop::Done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nsd did not start: {:?}; log: {}",
            run.host.errmsg,
            std::fs::read_to_string(dir.join("nsd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    guard
}

fn ask(lab: &Lab, req: DnsRequest) -> host::HostRun {
    let run = lab.run(|| async move { host::run_request(&req, &AppEnv::new(NoPacing)).await });
    assert_warts(&vantage_model::Record::Host(Box::new(run.host.clone())));
    run
}

/// The record is valid warts: written and read back, it is equal.
fn assert_warts(rec: &vantage_model::Record) {
    let mut w = vantage_warts::Writer::new(Vec::new());
    w.write_record(rec).unwrap();
    let bytes = w.into_inner().unwrap();
    let back = vantage_warts::Reader::new(&bytes[..])
        .filter_map(Result::ok)
        .find(|r| r.type_name() == rec.type_name())
        .unwrap();
    let mut stored = rec.clone();
    stored.clear_extensions();
    assert_eq!(back, stored);
}

#[test]
fn dns_against_nsd() {
    if !root("dns_against_nsd") || !have("nsd", "nsd", "dns_against_nsd") {
        return;
    }
    let lab = lab();
    let dir = tempfile::tempdir().unwrap();
    let _nsd = start_nsd(&lab, dir.path(), "cli");
    let corpus = std::env::var_os("VANTAGE_SAVE_DNS_CORPUS");

    let mut checked = String::new();
    for server in [lab.srv4, lab.srv6] {
        for tcp in [false, true] {
            let q = |name: &str, t: u16| {
                let mut r = DnsRequest::new(server, name, t);
                r.tcp = tcp;
                r.timeout = Duration::from_secs(2);
                r
            };
            let cases: Vec<(DnsRequest, &str)> = vec![
                (q("www.example.test", rtype::A), "A 192.0.2.80"),
                (q("www.example.test", rtype::AAAA), "AAAA 2001:db8::80"),
                (q("example.test", rtype::NS), "NS ns1.example.test"),
                (q("example.test", rtype::MX), "MX 10 mail.example.test"),
                (q("example.test", rtype::SOA), "SOA ns1.example.test"),
                (q("example.test", rtype::TXT), "TXT vantage test zone"),
                (q("alias.example.test", rtype::A), "CNAME www.example.test"),
                (q("_sip._udp.example.test", rtype::SRV), "SRV 10 20 5060"),
                (q("example.test", rtype::CAA), "CAA issue"),
                (
                    q("svc.example.test", rtype::SVCB),
                    "SVCB 1 www.example.test",
                ),
                (q("example.test", rtype::HTTPS), "HTTPS 1"),
                (q("sub.example.test", rtype::DS), "DS 60485"),
                (q("example.test", rtype::DNSKEY), "DNSKEY 257"),
                (q("example.test", rtype::ANY), "ANY"),
                (q(&lab.srv4.to_string(), rtype::PTR), "PTR ns1.example.test"),
            ];
            for (req, what) in cases {
                let run = ask(&lab, req.clone());
                let ctx = format!("{what} via {server} tcp={tcp}: {:?}", run.host.errmsg);
                assert_eq!(run.host.stop_reason, HostStop::Done, "{ctx}");
                let (hq, att) = run.answered().unwrap();
                assert_eq!(hq.rcode, 0, "{ctx}");
                assert!(hq.rtt().is_some(), "{ctx}");
                let dec = att.decoded.as_ref().unwrap();
                assert_eq!(dec.error, None, "{ctx}");
                assert!(!hq.an.is_empty(), "{ctx}");
                if let Some(dir) = &corpus {
                    let p = Path::new(dir).join(format!(
                        "nsd-{}-{}",
                        dns::type_name(req.qtype).to_lowercase(),
                        if tcp { "tcp" } else { "udp" }
                    ));
                    std::fs::write(p, hq.response.as_ref().unwrap()).unwrap();
                }
                // The model record keeps the raw response and, per record, RDATA and text.
                assert!(hq.response.as_ref().is_some_and(|r| r.len() >= 12), "{ctx}");
                assert_eq!(hq.error, None, "{ctx}");
                assert_eq!(hq.an.len(), dec.answers.len(), "{ctx}");
                // Every answer record has its raw RDATA and, for known types, text.
                for rr in &dec.answers {
                    assert!(!rr.rr.rdata.is_empty(), "{ctx}");
                    assert!(rr.rr.text.is_some() || rr.rr.rtype == rtype::OPT, "{ctx}");
                    assert_eq!(rr.error, None, "{ctx}");
                }
                let an = &dec.answers;
                match req.qtype {
                    rtype::A if req.qname.starts_with("alias") => {
                        assert_eq!(an[0].rr.rtype, rtype::CNAME, "{ctx}");
                        assert_eq!(
                            an[0].rr.data,
                            Some(DnsRrData::Name("www.example.test".into()))
                        );
                        assert_eq!(
                            an[1].rr.data,
                            Some(DnsRrData::Addr("192.0.2.80".parse().unwrap()))
                        );
                    }
                    rtype::A => {
                        assert_eq!(
                            an[0].rr.data,
                            Some(DnsRrData::Addr("192.0.2.80".parse().unwrap()))
                        );
                    }
                    rtype::AAAA => {
                        assert_eq!(
                            an[0].rr.data,
                            Some(DnsRrData::Addr("2001:db8::80".parse().unwrap()))
                        );
                    }
                    rtype::NS => assert_eq!(
                        an[0].rr.data,
                        Some(DnsRrData::Name("ns1.example.test".into()))
                    ),
                    rtype::MX => assert_eq!(
                        an[0].rr.data,
                        Some(DnsRrData::Mx {
                            preference: 10,
                            exchange: "mail.example.test".into()
                        })
                    ),
                    rtype::SOA => {
                        let Some(DnsRrData::Soa(s)) = &an[0].rr.data else {
                            panic!("{ctx}")
                        };
                        assert_eq!(
                            (s.mname.as_str(), s.serial, s.minimum),
                            ("ns1.example.test", 2_026_010_101, 300)
                        );
                        assert_eq!(s.rname, "hostmaster.example.test");
                    }
                    rtype::TXT => assert_eq!(
                        an[0].rr.data,
                        Some(DnsRrData::Txt(vec![
                            b"vantage test zone".to_vec(),
                            b"second string".to_vec()
                        ]))
                    ),
                    rtype::SRV => assert!(
                        an[0]
                            .rr
                            .text
                            .as_deref()
                            .unwrap()
                            .starts_with("10 20 5060 sip.example.test"),
                        "{ctx}"
                    ),
                    rtype::CAA => assert!(
                        an[0]
                            .rr
                            .text
                            .as_deref()
                            .unwrap()
                            .contains("ca.example.test"),
                        "{ctx}"
                    ),
                    rtype::SVCB => {
                        let Some(DnsRrData::Svcb {
                            priority,
                            target,
                            params,
                        }) = &an[0].rr.data
                        else {
                            panic!("{ctx}")
                        };
                        assert_eq!(
                            (*priority, target.as_deref()),
                            (1, Some("www.example.test"))
                        );
                        assert_eq!(params[0], (1, b"\x02h2".to_vec()));
                        assert_eq!(params[1], (3, 8443u16.to_be_bytes().to_vec()));
                    }
                    rtype::HTTPS => {
                        let Some(DnsRrData::Svcb {
                            priority,
                            target,
                            params,
                        }) = &an[0].rr.data
                        else {
                            panic!("{ctx}")
                        };
                        assert_eq!((*priority, target.as_deref()), (1, Some("")));
                        assert_eq!(params[0], (1, b"\x02h2\x08http/1.1".to_vec()));
                    }
                    rtype::DS => assert!(
                        an[0].rr.text.as_deref().unwrap().starts_with("60485 13 2"),
                        "{ctx}"
                    ),
                    rtype::DNSKEY => assert!(
                        an[0].rr.text.as_deref().unwrap().starts_with("257 3 13"),
                        "{ctx}"
                    ),
                    rtype::PTR => assert_eq!(
                        an[0].rr.data,
                        Some(DnsRrData::Name("ns1.example.test".into()))
                    ),
                    _ => {}
                }
                let _ = writeln!(checked, "{what} {server} tcp={tcp}");
            }
        }
    }

    // CH TXT version.bind and id.server; NSID; client subnet; DO; no recursion.
    let mut req = DnsRequest::new(lab.srv4, "version.bind", rtype::TXT);
    req.qclass = CLASS_CH;
    let run = ask(&lab, req.clone());
    assert_eq!(
        run.host.stop_reason,
        HostStop::Done,
        "{:?}",
        run.host.errmsg
    );
    assert_eq!(
        run.host.queries[0].an[0].data,
        Some(DnsRrData::Txt(vec![b"vantage-test-nsd".to_vec()]))
    );
    assert_eq!(run.host.queries[0].an[0].class, CLASS_CH);
    req.qname = "id.server".into();
    let run = ask(&lab, req);
    assert_eq!(
        run.host.queries[0].an[0].data,
        Some(DnsRrData::Txt(vec![b"ns1.example.test".to_vec()]))
    );

    let mut req = DnsRequest::new(lab.srv6, "example.test", rtype::SOA);
    req.recursion_desired = false;
    req.edns = Some(Edns {
        udp_size: 4096,
        dnssec_ok: true,
        nsid: true,
        client_subnet: Some(("192.0.2.0".parse().unwrap(), 24)),
    });
    let run = ask(&lab, req);
    assert_eq!(
        run.host.stop_reason,
        HostStop::Done,
        "{:?}",
        run.host.errmsg
    );
    let dec = run.attempts[0].decoded.as_ref().unwrap();
    assert_eq!(dec.nsid(), Some(&b"ns1"[..]));
    assert_eq!(run.host.ecs.as_deref(), Some("192.0.2.0/24"));
    let opt = dec.opt().unwrap();
    assert_eq!(opt.rr.rtype, rtype::OPT);
    assert_eq!(
        run.host.queries[0]
            .ar
            .iter()
            .filter(|r| r.rtype == rtype::OPT)
            .count(),
        1
    );
    assert!(
        !run.host.queries[0]
            .flags
            .contains(vantage_model::DnsHeaderFlags::RD)
    );

    // NXDOMAIN and REFUSED are answers, with their rcode.
    let run = ask(
        &lab,
        DnsRequest::new(lab.srv4, "missing.example.test", rtype::A),
    );
    assert_eq!(
        (run.host.stop_reason, run.host.queries[0].rcode),
        (HostStop::Done, 3)
    );
    assert_eq!(run.host.queries[0].ns[0].rtype, rtype::SOA);
    let run = ask(&lab, DnsRequest::new(lab.srv4, "example.org", rtype::A));
    assert_eq!(
        (run.host.stop_reason, run.host.queries[0].rcode),
        (HostStop::Done, 5)
    );

    // From command lines, with the default resolver coming from the environment.
    let ctx = Context::new(4242).with_nameserver(Some(lab.srv4));
    for (line, want) in [
        ("host -t MX example.test".to_owned(), 15u16),
        (format!("host -s {} -T -t TXT example.test", lab.srv6), 16),
        ("host -c CH -t TXT version.bind".to_owned(), 16),
        ("host -t CAA example.test".to_owned(), 257),
        (
            "host -O do -O bufsize=4096 -t DNSKEY example.test".to_owned(),
            48,
        ),
        ("host -t SRV _sip._udp.example.test".to_owned(), 33),
        (
            format!(
                "host -r -O nsid -O subnet=198.51.100.0/24 -t SOA -R 1 -W 2 -s {} example.test",
                lab.srv4
            ),
            6,
        ),
        (lab.srv4.to_string().prepend("host "), 12),
    ] {
        let Command::Host(spec) = Command::parse(&line, &ctx).unwrap() else {
            panic!()
        };
        let run = lab.run(|| async move {
            let env = AppEnv::new(NoPacing).with_resolver(Some(spec.server.get()));
            host::run(&spec, &env).await
        });
        assert_eq!(
            run.host.stop_reason,
            HostStop::Done,
            "{line}: {:?}",
            run.host.errmsg
        );
        assert_eq!(run.host.qtype, want, "{line}");
        assert!(!run.host.queries[0].an.is_empty(), "{line}");
    }
    eprintln!("checked:\n{checked}");
}

trait Prepend {
    fn prepend(self, p: &str) -> String;
}
impl Prepend for String {
    fn prepend(self, p: &str) -> String {
        format!("{p}{self}")
    }
}

struct Pki {
    roots: rustls::RootCertStore,
    cert_pem: String,
    key_pem: String,
}

/// A test CA and a certificate for www.example.test signed by it.
fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["www.example.test".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    Pki {
        roots,
        cert_pem: format!("{}{}", leaf.pem(), ca.pem()),
        key_pem: leaf_key.serialize_pem(),
    }
}

fn start_nginx(lab: &Lab, dir: &Path, pki: &Pki) -> ProcessGuard {
    let d = dir.display();
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::write(
        dir.join("www/index.html"),
        "<html><body>vantage</body></html>\n",
    )
    .unwrap();
    std::fs::write(dir.join("www/big.txt"), vec![b'x'; 300_000]).unwrap();
    std::fs::write(dir.join("cert.pem"), &pki.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &pki.key_pem).unwrap();
    let v6 = lab.srv6;
    let conf = format!(
        "user root;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n\
         \x20 fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n\
         \x20 default_type text/plain;\n\
         \x20 server {{\n    listen {a}:80;\n    listen [{v6}]:80;\n\
         \x20   listen {a}:443 ssl http2;\n    listen [{v6}]:443 ssl http2;\n\
         \x20   listen {a}:8081 http2;\n    listen [{v6}]:8081 http2;\n\
         \x20   server_name www.example.test;\n\
         \x20   ssl_certificate {d}/cert.pem;\n    ssl_certificate_key {d}/key.pem;\n\
         \x20   root {d}/www;\n  }}\n}}\n",
        a = lab.srv4
    );
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let guard = lab
        .topo
        .spawn(
            "srv",
            &[
                "nginx",
                "-p",
                &d.to_string(),
                "-c",
                conf_path.to_str().unwrap(),
                "-g",
                "daemon off;",
            ],
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let dst = lab.srv4;
    loop {
        let req = plain(dst, "/index.html");
        let run = lab.run(|| async move { http::run_request(&req, &AppEnv::new(NoPacing)).await });
        if run.http.stop_reason == HttpStop::Done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nginx did not start: {:?}; log: {}",
            run.http.errmsg,
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    guard
}

fn plain(dst: IpAddr, path: &str) -> HttpRequest {
    HttpRequest {
        dst,
        url: HttpUrl::parse(&format!("http://www.example.test{path}")).unwrap(),
        headers: Vec::new(),
        max_time: Duration::from_secs(5),
        insecure: false,
        max_body: http::DEFAULT_MAX_BODY,
        alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        h2_prior_knowledge: false,
        grease: false,
        ech_config_list: None,
        user_id: 0,
    }
}

fn fetch(lab: &Lab, req: HttpRequest, roots: &rustls::RootCertStore) -> http::HttpRun {
    let roots = roots.clone();
    let run = lab.run(|| async move {
        let env = AppEnv::new(NoPacing).with_roots(roots);
        http::run_request(&req, &env).await
    });
    assert_warts(&vantage_model::Record::Http(Box::new(run.http.clone())));
    run
}

#[test]
fn http_against_nginx() {
    if !root("http_against_nginx") || !have("nginx", "nginx", "http_against_nginx") {
        return;
    }
    let lab = lab();
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let _nginx = start_nginx(&lab, dir.path(), &pki);

    for dst in [lab.srv4, lab.srv6] {
        // HTTP/1.1 in the clear.
        let run = fetch(&lab, plain(dst, "/index.html"), &pki.roots);
        assert_eq!(
            run.http.stop_reason,
            HttpStop::Done,
            "{:?}",
            run.http.errmsg
        );
        assert_eq!(run.status, Some(200));
        assert_eq!(run.version, Some(httprec::HttpVersion::Http11));
        let v = httprec::view(&run.http.bufs);
        assert_eq!(v.body, b"<html><body>vantage</body></html>\n");
        assert!(v.head.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(
            v.request_head
                .starts_with(b"GET /index.html HTTP/1.1\r\nHost: www.example.test\r\n")
        );
        assert!(run.http.hsrtt > Duration::ZERO);
        assert!(run.tls.is_none());

        // HTTPS, HTTP/2 by ALPN, the certificate verifies against the test CA.
        let mut req = plain(dst, "/index.html");
        req.url.https = true;
        req.url.port = 443;
        req.headers.push(
            vantage_command::Command::parse(
                "http -H 'X-Vantage: 1' -u https://www.example.test/ 192.0.2.1",
                &Context::new(1),
            )
            .map(|c| match c {
                Command::Http(s) => s.headers[0].clone(),
                _ => unreachable!(),
            })
            .unwrap(),
        );
        let run = fetch(&lab, req.clone(), &pki.roots);
        assert_eq!(
            run.http.stop_reason,
            HttpStop::Done,
            "{:?}",
            run.http.errmsg
        );
        assert_eq!(run.version, Some(httprec::HttpVersion::Http2));
        assert_eq!(run.status, Some(200));
        let tls = run.tls.as_ref().unwrap();
        assert_eq!(tls.alpn.as_deref(), Some(&b"h2"[..]));
        assert!(tls.version == 0x0304 || tls.version == 0x0303, "{tls:?}");
        assert_ne!(tls.cipher, 0);
        assert_eq!(tls.certs.len(), 2, "leaf and CA as nginx sends them");
        assert_eq!(tls.verify_error, None);
        let m = run.http.tls.as_ref().unwrap();
        assert_eq!((m.version, m.cipher), (tls.version, tls.cipher));
        assert_eq!((&m.alpn, &m.certs), (&tls.alpn, &tls.certs));
        assert_eq!(m.verify_error, None);
        let p = run.phases;
        assert!(p.connect.unwrap() <= p.tls.unwrap());
        assert!(p.tls.unwrap() <= p.request_sent.unwrap());
        assert!(p.first_byte.unwrap() <= p.done.unwrap());
        let v = httprec::view(&run.http.bufs);
        assert_eq!(v.status, Some(200));
        assert!(v.head.starts_with(b"HTTP/2 200\r\n"));
        assert!(String::from_utf8_lossy(&v.request_head).contains("x-vantage: 1"));
        assert_eq!(v.body, b"<html><body>vantage</body></html>\n");
        assert!(
            run.http
                .bufs
                .iter()
                .any(|b| b.tx && b.kind == HttpBufType::Tls)
        );
        assert!(
            run.http
                .bufs
                .iter()
                .any(|b| !b.tx && b.kind == HttpBufType::Tls)
        );

        // HTTP/1.1 over TLS when that is all we offer.
        let mut h1 = req.clone();
        h1.alpn = vec![b"http/1.1".to_vec()];
        let run = fetch(&lab, h1, &pki.roots);
        assert_eq!(
            run.http.stop_reason,
            HttpStop::Done,
            "{:?}",
            run.http.errmsg
        );
        assert_eq!(run.version, Some(httprec::HttpVersion::Http11));
        assert_eq!(
            run.tls.as_ref().unwrap().alpn.as_deref(),
            Some(&b"http/1.1"[..])
        );

        // A name the certificate does not cover: stop as insecure, chain still recorded...
        let mut other = req.clone();
        other.url.host = "other.example.test".into();
        let run = fetch(&lab, other.clone(), &pki.roots);
        assert_eq!(
            run.http.stop_reason,
            HttpStop::Insecure,
            "{:?}",
            run.http.errmsg
        );
        let tls = run.tls.as_ref().unwrap();
        assert!(tls.verify_error.is_some());
        assert_eq!(tls.certs.len(), 2);
        assert_eq!(
            run.http.tls.as_ref().unwrap().verify_error,
            tls.verify_error
        );
        assert!(
            httprec::view(&run.http.bufs).request_head.is_empty(),
            "no request sent"
        );
        // ...unless insecure, and with the system roots (no test CA) likewise.
        other.insecure = true;
        let run = fetch(&lab, other, &pki.roots);
        assert_eq!(
            run.http.stop_reason,
            HttpStop::Done,
            "{:?}",
            run.http.errmsg
        );
        assert!(run.tls.as_ref().unwrap().verify_error.is_some());
        let run = fetch(&lab, req.clone(), &rustls::RootCertStore::empty());
        assert_eq!(run.http.stop_reason, HttpStop::Insecure);

        // 404 is a complete exchange; the body cap cuts big bodies.
        let run = fetch(&lab, plain(dst, "/missing"), &pki.roots);
        assert_eq!(
            (run.http.stop_reason, run.status),
            (HttpStop::Done, Some(404))
        );
        let mut big = req.clone();
        big.url.path = "/big.txt".into();
        big.max_body = 100_000;
        let run = fetch(&lab, big, &pki.roots);
        assert_eq!(run.http.stop_reason, HttpStop::Done);
        assert!(run.http.errmsg.as_deref().unwrap().contains("cap"));
        assert_eq!(httprec::view(&run.http.bufs).body.len(), 100_000);

        // HTTP/2 over plain TCP with prior knowledge (nginx's h2c port).
        let mut h2c = plain(dst, "/index.html");
        h2c.url.port = 8081;
        h2c.h2_prior_knowledge = true;
        let run = fetch(&lab, h2c, &pki.roots);
        assert_eq!(
            run.http.stop_reason,
            HttpStop::Done,
            "{:?}",
            run.http.errmsg
        );
        assert_eq!(
            (run.version, run.status),
            (Some(httprec::HttpVersion::Http2), Some(200))
        );
        assert_eq!(
            httprec::view(&run.http.bufs).body,
            b"<html><body>vantage</body></html>\n"
        );
        assert!(run.tls.is_none());

        // Nothing listens on port 8080.
        let mut closed = plain(dst, "/");
        closed.url.port = 8080;
        let run = fetch(&lab, closed, &pki.roots);
        assert_eq!(run.http.stop_reason, HttpStop::NoConn);
    }

    // From a command line.
    let line = format!(
        "http -m 5 -u http://www.example.test/index.html {}",
        lab.srv4
    );
    let Command::Http(spec) = Command::parse(&line, &Context::new(1)).unwrap() else {
        panic!()
    };
    let run = lab.run(|| async move { http::run(&spec, &AppEnv::new(NoPacing)).await });
    assert_eq!(
        run.http.stop_reason,
        HttpStop::Done,
        "{:?}",
        run.http.errmsg
    );
}

#[test]
fn udpprobe_against_responders() {
    if !root("udpprobe_against_responders") {
        return;
    }
    let lab = lab();
    // An echo service on port 7, v4 and v6, answering from its port and, for v4, a second
    // reply from another port.
    let echo4 = lab.srv_udp(SocketAddr::new(lab.srv4, 7));
    let other4 = lab.srv_udp(SocketAddr::new(lab.srv4, 0));
    let echo6 = lab.srv_udp(SocketAddr::new(lab.srv6, 7));
    let other_port = other4.local_addr().unwrap().port();
    for s in [&echo4, &echo6] {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    let t4 = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        for _ in 0..3 {
            let Ok((n, from)) = echo4.recv_from(&mut buf) else {
                return;
            };
            echo4.send_to(&buf[..n], from).unwrap();
            other4.send_to(b"from elsewhere", from).unwrap();
        }
    });
    let t6 = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        for _ in 0..1 {
            let Ok((n, from)) = echo6.recv_from(&mut buf) else {
                return;
            };
            echo6.send_to(&buf[..n], from).unwrap();
        }
    });
    let ctx = Context::new(4242);
    let parse = |line: String| match Command::parse(&line, &ctx).unwrap() {
        Command::Udpprobe(s) => s,
        _ => unreachable!(),
    };
    let spec = parse(format!(
        "udpprobe -d 7 -c 3 -W 0.5 -w 1.5 -p 68656c6c6f {}",
        lab.srv4
    ));
    let run = lab.run(|| async move { udpprobe::run(&spec, &AppEnv::new(NoPacing)).await });
    t4.join().unwrap();
    let u = &run.udpprobe;
    assert_eq!(u.stop_reason, UdpprobeStop::Done, "{:?}", u.errmsg);
    assert_eq!(u.probes.len(), 3);
    for p in &u.probes {
        assert_eq!(p.replies.len(), 2, "{p:?}");
        assert_eq!(p.replies[0].data, b"hello");
        assert_eq!(p.replies[0].ifname.as_deref(), Some("to-srv"));
        assert_eq!(p.replies[0].src, Some(lab.srv4.into()));
        assert_eq!(p.replies[0].sport, 7);
        assert!(p.replies.iter().any(|r| r.sport == other_port), "{p:?}");
    }
    let spec = parse(format!(
        "udpprobe -d 7 -O exitfirst -c 2 -p 00ff {}",
        lab.srv6
    ));
    let run = lab.run(|| async move { udpprobe::run(&spec, &AppEnv::new(NoPacing)).await });
    t6.join().unwrap();
    assert_eq!(run.udpprobe.probes.len(), 1);
    assert_eq!(run.udpprobe.probes[0].replies[0].data, [0, 0xff]);
    assert_eq!(
        run.udpprobe.src,
        Some(lab.topo.addr6("cli", "cli-srv").unwrap().into())
    );

    // Nothing listens: an ICMP port unreachable is not a reply.
    let spec = parse(format!("udpprobe -d 9 -w 0.5 -p 00 {}", lab.srv4));
    let run = lab.run(|| async move { udpprobe::run(&spec, &AppEnv::new(NoPacing)).await });
    assert_eq!(run.udpprobe.stop_reason, UdpprobeStop::Done);
    assert!(run.udpprobe.probes[0].replies.is_empty());
}

/// `cli` -- `res` -- `srv`: unbound on `res` resolves `example.test` through nsd on `srv`
/// (a stub zone; unbound's built-in NXDOMAIN for the special-use `test.` is turned off);
/// `cli` only knows the resolver, from a resolv.conf file.
#[test]
fn dns_through_a_recursive_resolver() {
    let test = "dns_through_a_recursive_resolver";
    if !root(test) || !have("nsd", "nsd", test) || !have("unbound", "unbound", test) {
        return;
    }
    let mut b = Topology::builder(&unique_prefix("va"));
    b.host("cli");
    b.host("res");
    b.host("srv");
    b.link("cli", "res");
    b.link("res", "srv");
    let topo = b.build().unwrap();
    let lab = Lab {
        srv4: IpAddr::V4(topo.addr4("srv", "res-srv").unwrap()),
        srv6: IpAddr::V6(topo.addr6("srv", "res-srv").unwrap()),
        topo,
    };
    let res4 = IpAddr::V4(lab.topo.addr4("res", "cli-res").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let _nsd = start_nsd(&lab, dir.path(), "res");
    let d = dir.path().display();
    let conf = format!(
        "server:\n  interface: {res4}\n  port: 53\n  access-control: 0.0.0.0/0 allow\n\
         \x20 username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n\
         \x20 logfile: \"{d}/unbound.log\"\n  use-syslog: no\n  do-ip6: no\n\
         \x20 module-config: \"iterator\"\n  qname-minimisation: no\n  num-threads: 1\n\
         \x20 local-zone: \"test.\" nodefault\n\
         stub-zone:\n  name: \"example.test\"\n  stub-addr: {0}\n\
         stub-zone:\n  name: \".\"\n  stub-addr: {0}\n\
         remote-control:\n  control-enable: no\n",
        lab.srv4
    );
    let conf_path = dir.path().join("unbound.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let _unbound = lab
        .topo
        .spawn("res", &["unbound", "-d", "-c", conf_path.to_str().unwrap()])
        .unwrap();
    std::fs::write(
        dir.path().join("resolv.conf"),
        format!("# test\nnameserver {res4}\n"),
    )
    .unwrap();
    let resolver = vantage_app::env::system_resolver(&dir.path().join("resolv.conf"));
    assert_eq!(resolver, Some(res4));
    let ctx = Context::new(4242).with_nameserver(resolver);
    let ask_cmd = |line: &str| {
        let Command::Host(spec) = Command::parse(line, &ctx).unwrap() else {
            panic!()
        };
        lab.run(|| async move {
            let env = AppEnv::new(NoPacing).with_resolver(resolver);
            host::run(&spec, &env).await
        })
    };
    // Wait for unbound.
    let deadline = Instant::now() + Duration::from_secs(15);
    let run = loop {
        let run = ask_cmd("host -W 1 www.example.test");
        if run.host.stop_reason == HostStop::Done || Instant::now() > deadline {
            break run;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        run.host.stop_reason,
        HostStop::Done,
        "{:?}",
        run.host.errmsg
    );
    assert_eq!(run.host.dst, res4.into());
    let q = &run.host.queries[0];
    assert_eq!(q.rcode, 0);
    assert!(
        q.flags.contains(vantage_model::DnsHeaderFlags::RA),
        "{:?}",
        q.flags
    );
    assert!(!q.flags.contains(vantage_model::DnsHeaderFlags::AA));
    assert_eq!(
        q.an[0].data,
        Some(DnsRrData::Addr("192.0.2.80".parse().unwrap()))
    );
    // A CNAME chased by the resolver: both records in one answer.
    let run = ask_cmd("host -t A alias.example.test");
    let an = &run.host.queries[0].an;
    assert_eq!(
        (an.len(), an[0].rtype, an[1].rtype),
        (2, rtype::CNAME, rtype::A)
    );
    // Outside example.test the resolver asks nsd too (the root is a stub to it as well, so
    // nothing leaves the testbed), which refuses: SERVFAIL, recorded as an answer.
    let run = ask_cmd("host -W 3 www.example.org");
    assert_eq!(
        (run.host.stop_reason, run.host.queries[0].rcode),
        (HostStop::Done, 2)
    );
    // Without recursion desired, unbound's "allow" refuses.
    let run = ask_cmd("host -r -t MX example.test");
    assert_eq!(
        (run.host.stop_reason, run.host.queries[0].rcode),
        (HostStop::Done, 5)
    );
    assert_warts(&vantage_model::Record::Host(Box::new(run.host)));
}
