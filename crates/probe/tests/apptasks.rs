//! `host`, `http` and `udpprobe` through the prober (its handle and its control socket),
//! inside a two-host testbed of network namespaces (`cli` -- `srv`): nsd answers DNS on
//! `srv`'s IPv4 address; servers written here misbehave on its IPv6 address (DNS garbage
//! and silence), serve HTTP (a good answer, an early close, silence) and echo UDP.
//!
//! They need root (namespaces) and the Debian package `nsd`; without them they print why and
//! pass. Every packet stays inside the testbed, which is removed when the topology handle
//! drops, also when a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use vantage_client::{ControlClient, Event, Outcome, Record as ClientRecord};
use vantage_model::{DnsRrData, HostStop, HttpBufType, HttpStop, Record, UdpprobeStop};
use vantage_probe::{
    ControlServer, Prober, ProberConfig, ProberHandle, ProberThread, Results, TaskOutput,
};
use vantage_testbed::{ProcessGuard, Topology, is_root, unique_prefix};

const WAIT: Duration = Duration::from_secs(30);

fn ready(test: &str) -> bool {
    if !is_root() {
        eprintln!("skipping {test}: building network namespaces needs root");
        return false;
    }
    if !Path::new("/usr/sbin/nsd").exists() {
        eprintln!("skipping {test}: `nsd` is missing (apt-get install -y nsd)");
        return false;
    }
    vantage_testbed::down_stale("vq").unwrap();
    true
}

/// The testbed and a prober in `cli` that nsd answers, or `None` (after a note) when
/// `test` cannot run here.
fn start(test: &str) -> Option<(Lab, ProberHandle, Results, ProberThread)> {
    if !ready(test) {
        return None;
    }
    let lab = lab();
    let (handle, mut results, thread) = lab.prober();
    lab.wait_for_nsd(&handle, &mut results);
    Some((lab, handle, results, thread))
}

struct Lab {
    topo: Topology,
    srv4: IpAddr,
    srv6: IpAddr,
    _dir: tempfile::TempDir,
    _nsd: ProcessGuard,
}

/// The testbed with nsd on `srv`'s IPv4 address (zone `example.test`).
fn lab() -> Lab {
    let mut b = Topology::builder(&unique_prefix("vq"));
    b.host("cli");
    b.host("srv");
    b.link("cli", "srv");
    let topo = b.build().unwrap();
    let srv4 = IpAddr::V4(topo.addr4("srv", "cli-srv").unwrap());
    let srv6 = IpAddr::V6(topo.addr6("srv", "cli-srv").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    std::fs::write(
        dir.path().join("z.zone"),
        "$ORIGIN example.test.\n$TTL 300\n\
         @ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n\
         www IN A 192.0.2.80\nwww IN AAAA 2001:db8::80\n",
    )
    .unwrap();
    let conf = format!(
        "server:\n  ip-address: {srv4}\n  port: 53\n  username: \"\"\n  chroot: \"\"\n\
         \x20 zonesdir: \"{d}\"\n  zonelistfile: \"{d}/zl\"\n  database: \"\"\n\
         \x20 pidfile: \"{d}/pid\"\n  xfrdfile: \"{d}/xfrd\"\n  xfrdir: \"{d}\"\n\
         \x20 logfile: \"{d}/log\"\n  server-count: 1\n\
         remote-control:\n  control-enable: no\nzone:\n  name: example.test\n  zonefile: z.zone\n"
    );
    let conf_path = dir.path().join("nsd.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let nsd = topo
        .spawn("srv", &["nsd", "-d", "-c", conf_path.to_str().unwrap()])
        .unwrap();
    Lab {
        topo,
        srv4,
        srv6,
        _dir: dir,
        _nsd: nsd,
    }
}

impl Lab {
    /// A prober whose thread lives in `cli`.
    fn prober(&self) -> (ProberHandle, Results, ProberThread) {
        self.topo
            .run_in("cli", || {
                Prober::spawn(ProberConfig::with_pps(1000)).unwrap()
            })
            .unwrap()
    }

    /// A UDP socket bound inside `srv`.
    fn srv_udp(&self, addr: SocketAddr) -> UdpSocket {
        self.topo
            .run_in("srv", || UdpSocket::bind(addr).unwrap())
            .unwrap()
    }

    /// Waits until nsd answers through `handle`.
    fn wait_for_nsd(&self, handle: &ProberHandle, results: &mut Results) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let host = host_of(run(
                handle,
                results,
                &format!("host -s {} -W 1 -t SOA example.test", self.srv4),
            ));
            if host.stop_reason == HostStop::Done {
                return;
            }
            assert!(Instant::now() < deadline, "nsd did not start: {host:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Submits `line` and waits for its result.
fn run(handle: &ProberHandle, results: &mut Results, line: &str) -> TaskOutput {
    let id = handle.submit_line(line).unwrap();
    next(results, id)
}

/// The final result of task `id` (results of other tasks are not expected).
fn next(results: &mut Results, id: vantage_probe::TaskId) -> TaskOutput {
    let out = common::next_output(results);
    assert_eq!(out.task, id, "{out:?}");
    out
}

fn host_of(out: TaskOutput) -> Box<vantage_model::Host> {
    match out.result {
        Ok(Record::Host(h)) => h,
        other => panic!("expected a host record, got {other:?}"),
    }
}

fn http_of(out: TaskOutput) -> Box<vantage_model::Http> {
    match out.result {
        Ok(Record::Http(h)) => h,
        other => panic!("expected an http record, got {other:?}"),
    }
}

fn udpprobe_of(out: TaskOutput) -> Box<vantage_model::Udpprobe> {
    match out.result {
        Ok(Record::Udpprobe(u)) => u,
        other => panic!("expected a udpprobe record, got {other:?}"),
    }
}

/// The host record of a task's outcome through a client; panics on anything else.
fn host_result(o: Outcome) -> Box<vantage_model::Host> {
    match o {
        Outcome::Result(r) => match r.record {
            ClientRecord::Host(h) => h,
            other => panic!("expected a host record, got {other:?}"),
        },
        Outcome::Failed(f) => panic!("failed: {f:?}"),
    }
}

/// A DNS server on `srv6`:53 that answers names starting with `garbage` with bytes that are
/// no DNS message and says nothing to anything else.
fn bad_dns(lab: &Lab) -> std::thread::JoinHandle<()> {
    let sock = lab.srv_udp(SocketAddr::new(lab.srv6, 53));
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let stop = Instant::now() + Duration::from_secs(60);
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while Instant::now() < stop {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let q = &buf[..n];
            if q.windows(7).any(|w| w == b"garbage") {
                // The query's id, then nonsense.
                let mut resp = q[..2].to_vec();
                resp.extend_from_slice(b"\x81\x80\x00\x01\x00\x05not dns at all");
                let _ = sock.send_to(&resp, from);
            } else if q.windows(4).any(|w| w == b"quit") {
                return;
            }
        }
    })
}

/// An HTTP server on `srv4`:80: `/ok` gets a 200 with `hello`, `/close` a closed
/// connection after the request, `/silent` nothing for ten seconds.
fn http_server(lab: &Lab) -> std::thread::JoinHandle<()> {
    let addr = SocketAddr::new(lab.srv4, 80);
    let listener = lab
        .topo
        .run_in("srv", || TcpListener::bind(addr).unwrap())
        .unwrap();
    std::thread::spawn(move || {
        for _ in 0..3 {
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
            if req.starts_with(b"GET /ok ") {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
            } else if req.starts_with(b"GET /silent ") {
                std::thread::sleep(Duration::from_secs(10));
            }
            // `/close`: drop the connection.
        }
    })
}

#[test]
fn app_commands_run_through_the_prober() {
    let Some((lab, handle, mut results, thread)) = start("app_commands_run_through_the_prober")
    else {
        return;
    };
    let (srv4, srv6) = (lab.srv4, lab.srv6);

    // DNS: an answer from nsd, over UDP and TCP.
    for tcp in ["", "-T "] {
        let h = host_of(run(
            &handle,
            &mut results,
            &format!("host {tcp}-s {srv4} www.example.test"),
        ));
        assert_eq!(h.stop_reason, HostStop::Done, "{h:?}");
        assert_eq!(h.queries.len(), 1);
        let an = &h.queries[0].an;
        assert_eq!(an.len(), 1, "{an:?}");
        assert_eq!(
            an[0].data,
            Some(DnsRrData::Addr("192.0.2.80".parse().unwrap()))
        );
    }
    let h = host_of(run(
        &handle,
        &mut results,
        &format!("host -s {srv4} -t AAAA www.example.test"),
    ));
    assert_eq!(
        h.queries[0].an[0].data,
        Some(DnsRrData::Addr("2001:db8::80".parse().unwrap()))
    );

    // A server that sends garbage: recorded, with an error.
    let bad = bad_dns(&lab);
    let h = host_of(run(
        &handle,
        &mut results,
        &format!("host -s {srv6} garbage.example.test"),
    ));
    assert_eq!(h.stop_reason, HostStop::Error, "{h:?}");
    assert!(h.errmsg.is_some());
    assert!(h.queries[0].has_response(), "{h:?}");

    // A server that never answers: a timeout after every attempt.
    let h = host_of(run(
        &handle,
        &mut results,
        &format!("host -s {srv6} -W 1 -R 1 silent.example.test"),
    ));
    assert_eq!(h.stop_reason, HostStop::Timeout, "{h:?}");
    assert_eq!(h.queries.len(), 2);

    // Halting a query that waits: it ends `halted` with the attempt it made.
    let id = handle
        .submit_line(&format!("host -s {srv6} -W 5 -R 3 halted.example.test"))
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    handle.halt(id).unwrap();
    let h = host_of(next(&mut results, id));
    assert_eq!(h.stop_reason, HostStop::Halted, "{h:?}");
    assert!(h.queries.len() < 4, "{h:?}");
    let _ = lab
        .topo
        .run_in("cli", || {
            UdpSocket::bind("[::]:0").and_then(|s| s.send_to(b"quit", SocketAddr::new(srv6, 53)))
        })
        .unwrap();
    bad.join().unwrap();

    // HTTP: a response, an early close, silence.
    let server = http_server(&lab);
    let w = http_of(run(
        &handle,
        &mut results,
        &format!("http -u http://www.example.test/ok {srv4}"),
    ));
    assert_eq!(w.stop_reason, HttpStop::Done, "{w:?}");
    let body: Vec<u8> = w
        .bufs
        .iter()
        .filter(|b| !b.tx && b.kind == HttpBufType::Data)
        .flat_map(|b| b.data.clone())
        .collect();
    assert_eq!(body, b"hello");
    let w = http_of(run(
        &handle,
        &mut results,
        &format!("http -u http://www.example.test/close {srv4}"),
    ));
    assert_eq!(w.stop_reason, HttpStop::Error, "{w:?}");
    assert!(w.errmsg.is_some());
    let w = http_of(run(
        &handle,
        &mut results,
        &format!("http -m 1 -u http://www.example.test/silent {srv4}"),
    ));
    assert_eq!(w.stop_reason, HttpStop::Timeout, "{w:?}");
    server.join().unwrap();
    let w = http_of(run(
        &handle,
        &mut results,
        &format!("http -u http://www.example.test/ {srv4}"),
    ));
    assert_eq!(w.stop_reason, HttpStop::NoConn, "{w:?}");

    // udpprobe: an echo, then silence.
    let echo = lab.srv_udp(SocketAddr::new(srv4, 7));
    echo.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let t = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        if let Ok((n, from)) = echo.recv_from(&mut buf) {
            echo.send_to(&buf[..n], from).unwrap();
        }
    });
    let u = udpprobe_of(run(
        &handle,
        &mut results,
        &format!("udpprobe -d 7 -p 68656c6c6f -O exitfirst {srv4}"),
    ));
    t.join().unwrap();
    assert_eq!(u.stop_reason, UdpprobeStop::Done, "{u:?}");
    assert_eq!(u.probes.len(), 1);
    assert_eq!(u.probes[0].replies[0].data, b"hello");
    let u = udpprobe_of(run(
        &handle,
        &mut results,
        &format!("udpprobe -d 9 -w 0.5 -p 00 {srv4}"),
    ));
    assert_eq!(u.stop_reason, UdpprobeStop::Done, "{u:?}");
    assert!(u.probes[0].replies.is_empty());

    // A window of one: app tasks wait for each other's slot, and all of them finish.
    handle.set_window(1);
    let ids: Vec<_> = (0..3)
        .map(|_| {
            handle
                .submit_line(&format!("host -s {srv4} www.example.test"))
                .unwrap()
        })
        .collect();
    for id in ids {
        assert_eq!(host_of(next(&mut results, id)).stop_reason, HostStop::Done);
    }
    handle.set_window(0);

    // Shutdown halts a running app task, whose result still arrives.
    let id = handle
        .submit_line(&format!("udpprobe -d 9 -c 5 -W 5 -p 00 {srv4}"))
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    handle.shutdown();
    let u = udpprobe_of(next(&mut results, id));
    assert_eq!(u.stop_reason, UdpprobeStop::Halted, "{u:?}");
    assert!(u.probes.len() < 5);
    assert_eq!(handle.stats().tasks_running, 0);
    thread.join().unwrap();
}

/// What authns-delay.py does through the mux: a `host` command on the control socket gives
/// a warts DATA record (tagged with the task id) that decodes to the answer.
#[test]
fn host_on_the_control_socket_gives_warts_data() {
    let Some((lab, handle, results, _thread)) =
        start("host_on_the_control_socket_gives_warts_data")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probe.sock");
    let server = ControlServer::new(handle, results, 1000).unwrap();
    common::serve_control(server, &path, false);
    // `get nameserver` names the resolver `host` uses without -s (/etc/resolv.conf).
    let raw = std::os::unix::net::UnixStream::connect(&path).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    (&raw).write_all(b"get nameserver\n").unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(&raw), &mut line).unwrap();
    let expected = vantage_app::env::system_resolver(Path::new("/etc/resolv.conf")).map_or_else(
        || "OK null nameserver".to_owned(),
        |n| format!("OK nameserver {n}"),
    );
    assert_eq!(line.trim_end(), expected);
    // `set nameserver` makes the lab's server the default of later `host` commands.
    let mut reader = std::io::BufReader::new(&raw);
    for (ask, want) in [
        (
            "set nameserver no-such-address\n",
            "ERR could not set nameserver".to_owned(),
        ),
        (&*format!("set nameserver {}\n", lab.srv4), "OK".to_owned()),
        ("get nameserver\n", format!("OK nameserver {}", lab.srv4)),
    ] {
        (&raw).write_all(ask.as_bytes()).unwrap();
        line.clear();
        std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
        assert_eq!(line.trim_end(), want, "after {ask:?}");
    }
    drop(reader);
    drop(raw);

    let client = ControlClient::connect_unix(&path).unwrap();
    let chan = client.channel();
    let task = chan
        .send(&format!("host -s {} -t A www.example.test", lab.srv4))
        .unwrap();
    let r = loop {
        match chan.next_event(Some(WAIT)).expect("a result") {
            Event::Outcome(Outcome::Result(r)) => break r,
            Event::Meta(_) | Event::More | Event::Accepted { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(r.task, Some(task), "{r:?}");
    let ClientRecord::Host(h) = r.record else {
        panic!("expected a host record, got {:?}", r.record)
    };
    assert_eq!(h.stop_reason, HostStop::Done, "{h:?}");
    assert_eq!(h.qname.as_deref(), Some("www.example.test"));
    assert_eq!(h.dst.to_string(), lab.srv4.to_string());
    let an = &h.queries[0].an;
    assert_eq!(
        an[0].data,
        Some(DnsRrData::Addr("192.0.2.80".parse().unwrap()))
    );
    assert!(h.list.is_some() && h.cycle.is_some(), "{h:?}");

    // The same through the client's result call, to the nameserver set above (no -s).
    chan.send("host -t NS example.test").unwrap();
    let h = host_result(chan.next_result(Some(WAIT)).expect("a result"));
    assert_eq!(
        h.queries[0].an[0].data,
        Some(DnsRrData::Name("ns1.example.test".to_owned()))
    );
    assert_eq!(h.dst.to_string(), lab.srv4.to_string());
    chan.done().unwrap();
}

/// The path authns-delay.py takes: a mux client, the controller, a probe dialling it; the
/// probe's prober lives in the testbed's `cli` node, the controller on the host's loopback.
#[test]
fn host_through_the_controller_mux() {
    let Some((lab, handle, results, _thread)) = start("host_through_the_controller_mux") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rt = common::runtime();
    let (addr, mux) = common::controller(
        &rt,
        dir.path(),
        vantage_controller::LinkSecurity::Plaintext,
        |_| {},
    );
    let server = ControlServer::new(handle, results, 1000).unwrap();
    rt.spawn(async move {
        vantage_probe::run_remote(
            server,
            vantage_probe::RemoteConfig {
                server: addr.to_string(),
                name: Some("dns-vp.test".into()),
                tls: None,
            },
        )
        .await
    });
    let client = vantage_client::MuxClient::connect(&mux).unwrap();
    let vp = common::wait_vp(&client, "dns-vp.test");
    let chan = client.open(vp.id).unwrap();
    chan.send(&format!("host -s {} www.example.test", lab.srv4))
        .unwrap();
    let h = host_result(
        chan.next_result(Some(WAIT))
            .expect("a result through the mux"),
    );
    assert_eq!(h.stop_reason, HostStop::Done, "{h:?}");
    let q = &h.queries[0];
    assert!(q.rtt().is_some());
    assert_eq!(
        q.an[0].data,
        Some(DnsRrData::Addr("192.0.2.80".parse().unwrap()))
    );
    drop(chan);
    drop(client);
    rt.shutdown_background();
}

/// The VP policy judges app commands on the control socket like any other: a type it
/// leaves out, a DNS method or a server outside the allowed destinations is refused with
/// the rule; an allowed `host` runs.
#[test]
fn the_policy_judges_app_commands() {
    let Some((lab, handle, results, _thread)) = start("the_policy_judges_app_commands") else {
        return;
    };
    let policy = format!(
        "[measurements]\ntypes = [\"host\"]\n[measurements.host]\nmethods = [\"udp\"]\n\
         [destinations]\nallow = [\"{}/32\"]\n",
        lab.srv4
    );
    let policy =
        std::sync::Arc::new(vantage_policy::Policy::from_toml(&policy, "text", None).unwrap());
    let server = ControlServer::new(handle, results, 1000)
        .unwrap()
        .with_policy(policy)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probe.sock");
    common::serve_control(server, &path, false);
    let client = ControlClient::connect_unix(&path).unwrap();
    let chan = client.channel();
    let (srv4, srv6) = (lab.srv4, lab.srv6);
    for (line, rule) in [
        (
            format!("http -u http://www.example.test/ {srv4}"),
            "measurement type http not allowed (measurements.types)",
        ),
        (
            format!("udpprobe -d 7 -p 00 {srv4}"),
            "measurement type udpprobe not allowed (measurements.types)",
        ),
        (
            format!("host -T -s {srv4} www.example.test"),
            "method tcp of host not allowed (measurements.host.methods)",
        ),
        (
            format!("host -s {srv6} www.example.test"),
            "is not in any prefix of destinations.allow",
        ),
    ] {
        let err = chan.send(&line).unwrap_err().to_string();
        assert!(err.contains("policy"), "{line}: {err}");
        assert!(err.contains(rule), "{line}: {err}");
    }
    chan.send(&format!("host -s {srv4} www.example.test"))
        .unwrap();
    let h = host_result(chan.next_result(Some(WAIT)).expect("a result"));
    assert_eq!(h.stop_reason, HostStop::Done, "{h:?}");
}
