//! The probe's control socket, driven by vantage-client's `ControlClient` over a unix
//! socket and a loopback TCP port. Pings go to 127.0.0.1 only; the tests skip (pass
//! with a note) when not root, since the prober needs raw sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{ping_of, skip_without_raw};
use vantage_client::{ControlClient, Event, Record};
use vantage_probe::{ControlServer, Prober, ProberConfig};

const WAIT: Option<Duration> = Some(common::WAIT);

/// A prober plus a control server on a unix socket in a temporary directory, and on a
/// loopback TCP port; both served from a runtime on a thread of their own.
fn start_probe() -> (tempfile::TempDir, PathBuf, std::net::SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probe.sock");
    let (handle, results, _thread) = Prober::spawn(ProberConfig::with_pps(200)).unwrap();
    let server = ControlServer::new(handle, results, 200).unwrap();
    let tcp_addr = common::serve_control(server, &path, true).unwrap();
    (dir, path, tcp_addr)
}

#[test]
fn control_client_runs_a_ping_on_loopback() {
    if skip_without_raw() {
        return;
    }
    let (_dir, path, tcp) = start_probe();
    let client = ControlClient::connect_unix(&path).unwrap();
    let chan = client.channel();
    // The list and cycle records come first, as the spec requires.
    let mut metas = Vec::new();
    while metas.len() < 2 {
        match chan.next_event(WAIT).expect("list and cycle records") {
            Event::Meta(r) => metas.push(r),
            Event::More => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        matches!(metas.as_slice(), [Record::List(_), Record::CycleStart(_)]),
        "{metas:?}"
    );
    chan.send("ping -c 2 -i 0.1 127.0.0.1").unwrap();
    let ping = ping_of(chan.next_result(WAIT).expect("a result"));
    assert_eq!(ping.dst.to_string(), "127.0.0.1");
    assert_eq!(ping.replies.len(), 2, "{ping:?}");

    // A bad command is refused with the command language's reason.
    let err = chan.send("ping -c 0 127.0.0.1").unwrap_err().to_string();
    assert!(err.contains("command not accepted"), "{err}");

    // A second client at the same time, over TCP.
    let other = ControlClient::connect_tcp(tcp).unwrap();
    let long = other.channel().send("ping -c 100 -i 1 127.0.0.1").unwrap();
    other.channel().halt(long).unwrap();
    let halted = ping_of(other.channel().next_result(WAIT).expect("halted result"));
    assert!(halted.replies.len() < 100);

    // `done`: the session ends after its tasks.
    chan.done().unwrap();
    let mut ended = false;
    while let Some(ev) = chan.next_event(WAIT) {
        if matches!(ev, Event::Ended(_)) {
            ended = true;
            break;
        }
    }
    assert!(ended, "the session should end after done");
}

/// Reads the raw protocol: attach, MORE, two DATA objects (list and cycle start),
/// OK id-1 and the ping's DATA, done, the cycle stop and EOF.
#[test]
fn raw_session_follows_the_spec() {
    if skip_without_raw() {
        return;
    }
    let (_dir, path, _) = start_probe();
    let s = UnixStream::connect(Path::new(&path)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    let mut next = |r: &mut BufReader<UnixStream>| {
        line.clear();
        r.read_line(&mut line).unwrap();
        line.trim_end().to_owned()
    };
    let skip = |r: &mut BufReader<UnixStream>, header: &str| {
        let len: usize = header.split(' ').nth(1).unwrap().parse().unwrap();
        let mut payload = vec![0u8; len];
        r.read_exact(&mut payload).unwrap();
        assert!(payload.ends_with(b"`\n"));
    };
    w.write_all(b"get version\n").unwrap();
    assert_eq!(
        next(&mut r),
        format!("OK version {}", vantage_probe::VERSION)
    );
    w.write_all(b"attach\n").unwrap();
    assert_eq!(next(&mut r), "OK");
    assert_eq!(next(&mut r), "MORE");
    for _ in 0..2 {
        let h = next(&mut r);
        assert!(h.starts_with("DATA ") && !h.contains("id-"), "{h}");
        skip(&mut r, &h);
    }
    w.write_all(b"ping -c 1 127.0.0.1\n").unwrap();
    assert_eq!(next(&mut r), "OK id-1");
    assert_eq!(next(&mut r), "MORE");
    let h = next(&mut r);
    assert!(h.starts_with("DATA ") && h.ends_with(" id-1"), "{h}");
    skip(&mut r, &h);
    w.write_all(b"halt 7\n").unwrap();
    assert_eq!(next(&mut r), "ERR no task id-7");
    w.write_all(b"done\n").unwrap();
    assert_eq!(next(&mut r), "OK");
    let h = next(&mut r);
    assert!(
        h.starts_with("DATA ") && !h.contains("id-"),
        "cycle stop: {h}"
    );
    skip(&mut r, &h);
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

/// The real scamper client: Debian's `sc_attach` attaches to our control socket (unix
/// and TCP), says `done` and writes the list and cycle records it receives to a warts
/// file that `sc_warts2json` reads. It sends no measurement here: that `sc_attach`
/// (20211212) predates the `id-N` label on `DATA` lines that the current scamper sends
/// (control-protocol.md §6.2) and quits at the first one ("could not parse DATA 180
/// id-1").
#[test]
fn sc_attach_drives_the_control_socket() {
    if skip_without_raw() {
        return;
    }
    let Ok(status) = std::process::Command::new("sc_attach").arg("-?").output() else {
        eprintln!("skipped: sc_attach is not installed (apt-get install scamper)");
        return;
    };
    let _ = status;
    let (dir, path, tcp) = start_probe();
    let input = dir.path().join("cmds.txt");
    std::fs::write(&input, "").unwrap();
    for (how, arg) in [
        ("-U", path.display().to_string()),
        ("-p", tcp.port().to_string()),
    ] {
        let out = dir.path().join(format!("out{how}.warts"));
        let run = std::process::Command::new("sc_attach")
            .args([how, &arg, "-i"])
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "sc_attach {how}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let json = std::process::Command::new("sc_warts2json")
            .arg(&out)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&json.stdout);
        let types: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split("\"type\":\"").nth(1))
            .filter_map(|t| t.split('"').next())
            .collect();
        assert_eq!(
            types,
            ["cycle-start", "cycle-stop"],
            "sc_attach {how}:\n{text}"
        );
    }
}

/// `attach format json`: no list record, the cycle start and results as JSON lines.
#[test]
fn json_format_sends_json_objects() {
    if skip_without_raw() {
        return;
    }
    let (_dir, path, _) = start_probe();
    let s = UnixStream::connect(Path::new(&path)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    let mut next = |r: &mut BufReader<UnixStream>| {
        line.clear();
        r.read_line(&mut line).unwrap();
        line.trim_end().to_owned()
    };
    let object = |r: &mut BufReader<UnixStream>, header: &str| {
        let len: usize = header.split(' ').nth(1).unwrap().parse().unwrap();
        let mut payload = vec![0u8; len];
        r.read_exact(&mut payload).unwrap();
        assert_eq!(payload.last(), Some(&b'\n'));
        String::from_utf8(payload).unwrap()
    };
    w.write_all(b"attach format json\n").unwrap();
    assert_eq!(next(&mut r), "OK");
    assert_eq!(next(&mut r), "MORE");
    let h = next(&mut r);
    assert!(object(&mut r, &h).contains("\"type\":\"cycle-start\""));
    w.write_all(b"ping -c 1 127.0.0.1\n").unwrap();
    assert_eq!(next(&mut r), "OK id-1");
    assert_eq!(next(&mut r), "MORE");
    let h = next(&mut r);
    assert!(h.ends_with(" id-1"), "{h}");
    assert!(object(&mut r, &h).contains("\"type\":\"ping\""));
}

/// A task that cannot start (here: no route at all, in a fresh network namespace whose
/// only interface is down) still ends: its `DATA` is a ping with stop reason `error`
/// and the reason, so the client is never left waiting.
#[test]
fn a_task_that_cannot_start_ends_with_an_error_record() {
    if skip_without_raw() {
        return;
    }
    // The prober's thread starts in the namespace of the thread that spawns it.
    let (handle, results) = std::thread::spawn(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let (handle, results, _t) = Prober::spawn(ProberConfig::with_pps(100)).unwrap();
        (handle, results)
    })
    .join()
    .unwrap();
    let server = ControlServer::new(handle, results, 100).unwrap();
    // Every DATA payload in order through one warts decoder.
    let (replies, records) = common::session(&server, "attach\nping -c 1 192.0.2.1\ndone\n");
    let rec = records
        .into_iter()
        .find(|r| matches!(r, Record::Ping(_)))
        .unwrap_or_else(|| panic!("no ping; replies {replies:?}"));
    match rec {
        Record::Ping(p) => {
            assert_eq!(p.stop_reason, vantage_model::PingStop::Error);
            assert!(
                p.errmsg.as_deref().unwrap_or("").contains("192.0.2.1"),
                "{p:?}"
            );
        }
        other => panic!("expected a ping, got {other:?}"),
    }
}

/// Many clients at once, each with its own task ids: every one gets its own result.
#[test]
fn many_clients_each_get_their_own_results() {
    if skip_without_raw() {
        return;
    }
    let (_dir, path, tcp) = start_probe();
    let threads: Vec<_> = (0..12u32)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let client = if i % 2 == 0 {
                    ControlClient::connect_unix(&path).unwrap()
                } else {
                    ControlClient::connect_tcp(tcp).unwrap()
                };
                let chan = client.channel();
                // Different probe counts, so a result routed to the wrong client shows.
                let count = 1 + i % 3;
                let mut ids = Vec::new();
                for _ in 0..2 {
                    ids.push(
                        chan.send(&format!("ping -c {count} -i 0.05 127.0.0.1"))
                            .unwrap()
                            .get(),
                    );
                }
                assert_eq!(ids, [1, 2]);
                for _ in 0..2 {
                    let p = ping_of(chan.next_result(WAIT).expect("a result"));
                    assert_eq!(p.replies.len(), count as usize);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// A figure, not a check: how many one-probe pings per second go through the control
/// socket (one client, 2000 commands sent without waiting, prober at 10,000 pps).
/// Run with `cargo test -p vantage-probe --test daemons_control -- --ignored --nocapture`.
#[test]
#[ignore = "prints a figure"]
fn control_socket_rate() {
    if skip_without_raw() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rate.sock");
    let (handle, results, _t) = Prober::spawn(ProberConfig::with_pps(10_000)).unwrap();
    let server = ControlServer::new(handle, results, 10_000).unwrap();
    let p = path.clone();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(server.serve_unix_path(&p))
    });
    while !path.exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let client = ControlClient::connect_unix(&path).unwrap();
    let chan = client.channel();
    let n = 2000;
    let start = std::time::Instant::now();
    for _ in 0..n {
        chan.submit("ping -c 1 127.0.0.1").unwrap();
    }
    for _ in 0..n {
        ping_of(chan.next_result(WAIT).expect("a result"));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} one-probe pings through the control socket in {secs:.2} s: {:.0}/s",
        f64::from(n) / secs
    );
}

/// `shutdown cancel` withdraws a request; `shutdown done` with no task running makes
/// `ControlServer::shutdown_requested` (what `vantage probe` waits on) complete.
#[test]
fn shutdown_done_is_reported_to_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sd.sock");
    // The prober never needs a socket here: no measurement is sent.
    let (handle, results, _t) = Prober::spawn(ProberConfig::with_pps(100)).unwrap();
    let server = ControlServer::new(handle, results, 100).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.clone();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let s = server.clone();
                tokio::spawn(async move { s.serve_unix_path(&p).await });
                server.shutdown_requested().await;
                tx.send(()).unwrap();
            });
    });
    while !path.exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let s = UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    w.write_all(b"shutdown done\nshutdown cancel\n").unwrap();
    for _ in 0..2 {
        line.clear();
        r.read_line(&mut line).unwrap();
        assert_eq!(line, "OK\n");
    }
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "cancelled"
    );
    w.write_all(b"shutdown done\n").unwrap();
    rx.recv_timeout(Duration::from_secs(20))
        .expect("shutdown done reported");
}
