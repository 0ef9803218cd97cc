//! `vantage dns`, `vantage http`, `vantage udpprobe` and those commands in `vantage run`, as
//! a user runs them.
//!
//! Usage errors are checked everywhere (they send nothing). Measurements run as root only,
//! inside a two-host testbed (`cli` -- `srv`) this test builds and removes, also on failure:
//! nsd (Debian package `nsd`) answers DNS, servers written here answer HTTP and echo UDP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    missing_docs
)]

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{assert_prints, assert_starts};
use vantage_testbed::{Topology, unique_prefix};

#[test]
fn usage_errors_have_status_2() {
    for (args, says) in [
        (&["dns", "-t", "BOGUS", "example.test"][..], "-t"),
        (
            &["dns", "-s", "192.0.2.53", "-W", "9", "example.test"][..],
            "-W",
        ),
        (&["dns", "--frob", "example.test"][..], "--frob"),
        (&["http", "ftp://x.test/"][..], "not a URL"),
        (&["http", "http://x.test/", "--addr", "nope"][..], "--addr"),
        (&["http", "http://x.test/", "--json"][..], "no JSON"),
        (&["udpprobe", "-d", "7", "192.0.2.7"][..], "udpprobe"),
        (&["udpprobe", "-d", "7", "-p", "0", "192.0.2.7"][..], "-p"),
    ] {
        let err = common::usage_error(args);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// nsd for `example.test` on `addr` in node `srv`, answering once this returns.
fn start_nsd(topo: &Topology, addr: IpAddr, dir: &Path) -> vantage_testbed::ProcessGuard {
    let d = dir.display();
    std::fs::write(
        dir.join("z.zone"),
        "$ORIGIN example.test.\n$TTL 300\n\
         @ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n\
         www IN A 192.0.2.80\n_sip._udp IN SRV 10 20 5060 sip.example.test.\n",
    )
    .unwrap();
    let conf = format!(
        "server:\n  ip-address: {addr}\n  port: 53\n  username: \"\"\n  chroot: \"\"\n\
         \x20 zonesdir: \"{d}\"\n  zonelistfile: \"{d}/zl\"\n  database: \"\"\n\
         \x20 pidfile: \"{d}/pid\"\n  xfrdfile: \"{d}/xfrd\"\n  xfrdir: \"{d}\"\n\
         \x20 logfile: \"{d}/log\"\n  server-count: 1\n\
         remote-control:\n  control-enable: no\nzone:\n  name: example.test\n  zonefile: z.zone\n"
    );
    let conf_path = dir.join("nsd.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let guard = topo
        .spawn("srv", &["nsd", "-d", "-c", conf_path.to_str().unwrap()])
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let server = addr.to_string();
    loop {
        let out = common::exec(
            topo,
            "cli",
            &["dns", "-s", &server, "-W", "1", "-t", "SOA", "example.test"],
        );
        if out.success() {
            return guard;
        }
        assert!(Instant::now() < deadline, "nsd did not start: {out:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `/etc/netns/NS/resolv.conf`, which `ip netns exec NS` shows as `/etc/resolv.conf`;
/// removed on drop.
struct NetnsResolvConf(std::path::PathBuf);

impl NetnsResolvConf {
    fn new(ns: &str, server: IpAddr) -> Self {
        let dir = Path::new("/etc/netns").join(ns);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("resolv.conf"), format!("nameserver {server}\n")).unwrap();
        Self(dir)
    }
}

impl Drop for NetnsResolvConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn one_offs_and_run_in_a_testbed() {
    if common::skip_without_root() {
        return;
    }
    if !Path::new("/usr/sbin/nsd").exists() {
        eprintln!("skipping: `nsd` is missing (apt-get install -y nsd)");
        return;
    }
    vantage_testbed::down_stale("vc").unwrap();
    let mut b = Topology::builder(&unique_prefix("vc"));
    b.host("cli");
    b.host("srv");
    b.link("cli", "srv");
    let topo = b.build().unwrap();
    let srv4 = IpAddr::V4(topo.addr4("srv", "cli-srv").unwrap());
    let srv6 = IpAddr::V6(topo.addr6("srv", "cli-srv").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let _nsd = start_nsd(&topo, srv4, dir.path());
    let s4 = srv4.to_string();
    // The VP's resolver is nsd.
    let _resolv = NetnsResolvConf::new(topo.netns("cli").unwrap(), srv4);
    let cli = |args: &[&str]| common::exec(&topo, "cli", args);

    // dns: dig-like text.
    let out = cli(&["dns", "-s", &s4, "www.example.test"]);
    assert!(out.success(), "{out:?}");
    assert_starts(&out, &format!("www.example.test IN A at {s4}: done\n"));
    assert_prints(&out, "www.example.test.\t300\tIN\tA\t192.0.2.80\n");
    // Without -s: the resolver of /etc/resolv.conf.
    let out = cli(&["dns", "www.example.test"]);
    assert!(out.success(), "{out:?}");
    assert_starts(&out, &format!("www.example.test IN A at {s4}: done\n"));
    // A type warts has no data for shows its presentation text.
    let out = cli(&[
        "dns",
        "-s",
        &s4,
        "-T",
        "-t",
        "SRV",
        "_sip._udp.example.test",
    ]);
    assert!(out.success(), "{out:?}");
    assert_prints(&out, "10 20 5060 sip.example.test.");
    // No server there: a timeout, status 1.
    let out = cli(&["dns", "-s", &srv6.to_string(), "-W", "1", "x.example.test"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.contains(": error") || out.stdout.contains(": timeout"));
    // --json and --warts.
    let warts = dir.path().join("dns.warts");
    let out = cli(&[
        "dns",
        "--json",
        "--warts",
        warts.to_str().unwrap(),
        "-s",
        &s4,
        "-t",
        "NS",
        "example.test",
    ]);
    assert!(out.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["type"], "host");
    assert_eq!(v["queries"][0]["an"][0]["nsdname"], "ns1.example.test");
    let recs: Vec<vantage_model::Record> = vantage_warts::open(&warts)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        recs.iter()
            .any(|r| matches!(r, vantage_model::Record::Host(h) if h.queries.len() == 1)),
        "{recs:?}"
    );

    // http: a server in srv answering one request.
    let listener = topo
        .run_in("srv", || {
            TcpListener::bind(SocketAddr::new(srv4, 80)).unwrap()
        })
        .unwrap();
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        }
    });
    let out = cli(&["http", "http://www.example.test/", "--addr", &s4]);
    assert!(out.success(), "{out:?}");
    assert_starts(
        &out,
        &format!("http://www.example.test:80/ at {s4}: done\n"),
    );
    assert_prints(&out, "< HTTP/1.1 200 OK\n");
    assert_prints(&out, "body: 5 bytes");
    // The address from the URL.
    let out = cli(&["http", &format!("http://{s4}/x")]);
    assert!(out.success(), "{out:?}");
    assert_starts(&out, &format!("http://{s4}:80/x at {s4}: done\n"));
    server.join().unwrap();
    // Nobody listens any more: no connection, status 1.
    let out = cli(&["http", &format!("http://{s4}/")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_prints(&out, ": noconn");

    // udpprobe: an echo in srv.
    let echo = topo
        .run_in("srv", || UdpSocket::bind(SocketAddr::new(srv4, 7)).unwrap())
        .unwrap();
    echo.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let echo_thread = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        for _ in 0..2 {
            if let Ok((n, from)) = echo.recv_from(&mut buf) {
                echo.send_to(&buf[..n], from).unwrap();
            }
        }
    });
    let out = cli(&[
        "udpprobe",
        "-d",
        "7",
        "-p",
        "68656c6c6f",
        "-O",
        "exitfirst",
        &s4,
    ]);
    assert!(out.success(), "{out:?}");
    assert!(
        out.stdout.contains(&format!("from {s4} port 7 in ")) && out.stdout.contains("\"hello\""),
        "{}",
        out.stdout
    );
    let out = cli(&["udpprobe", "-d", "9", "-w", "0.5", "-p", "00", &s4]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_prints(&out, "0 replies");

    // run: the three commands in a file, JSON lines out.
    let cmds = dir.path().join("cmds.txt");
    std::fs::write(
        &cmds,
        format!(
            "host www.example.test\nudpprobe -d 7 -p 00ff -O exitfirst {s4}\n\
             http -m 2 -u http://www.example.test/ {s4}\n"
        ),
    )
    .unwrap();
    let out = cli(&["run", "-O", "json", cmds.to_str().unwrap()]);
    assert!(out.success(), "{out:?}");
    echo_thread.join().unwrap();
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |t: &str| {
        lines
            .iter()
            .find(|v| v["type"] == t)
            .unwrap_or_else(|| panic!("no {t} in {lines:?}"))
    };
    assert_eq!(of("host")["queries"][0]["an"][0]["address"], "192.0.2.80");
    assert_eq!(of("udpprobe")["probes"][0]["replies"][0]["data"], "00ff");
    assert_eq!(of("cycle-start")["type"], "cycle-start");
}
