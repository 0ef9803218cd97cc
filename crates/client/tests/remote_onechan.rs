//! `ControlClient::connect_unix_attached` against a fake per-VP socket of
//! `sc_remoted -U` ("onechan"): the peer is attached from the first byte, so
//! the client must not send `attach`, and the peer's first bytes (warts list
//! and cycle records, `MORE`) may arrive before any command.
//!
//! The last test uses the real peers: Debian's `sc_remoted -U` with a
//! `scamper -R` dialing it, both inside a network namespace the test creates
//! (and deletes however the test ends). It is skipped, saying why, without
//! root, `ip`, sc_remoted or scamper.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::many_single_char_names,
    missing_docs
)]

mod common;

use common::FakeRecords;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use vantage_client::{ChannelEnd, ControlClient, Error, Event, Outcome, Record};
use vantage_proto::control::{Request, ServerParser, TaskIdCounter};

const WAIT: Option<Duration> = Some(Duration::from_secs(20));

/// Serves one attached-mode connection; reports every request keyword it got.
fn serve(mut s: impl Read + Write, seen: &mpsc::Sender<String>, greet: bool) {
    let mut parser = ServerParser::attached();
    let mut ids = TaskIdCounter::new();
    let mut records = FakeRecords::new("remote");
    let mut header = Vec::new();
    records.start(&mut header);
    if greet {
        header.extend_from_slice(b"MORE\n");
        s.write_all(&std::mem::take(&mut header)).unwrap();
    }
    let mut buf = [0u8; 4096];
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        parser.feed(&buf[..n]);
        let mut out = std::mem::take(&mut header);
        let mut done = false;
        while let Some(req) = parser.poll() {
            let Ok(req) = req else {
                let _ = seen.send("(rejected)".to_owned());
                out.extend_from_slice(b"ERR bad request\n");
                continue;
            };
            let _ = seen.send(req.keyword().to_owned());
            match req {
                Request::Command(c) => {
                    let id = ids.next_id();
                    out.extend_from_slice(format!("OK id-{id}\n").as_bytes());
                    records.ping(id, c.text(), &mut out);
                    out.extend_from_slice(b"MORE\n");
                }
                Request::Done => {
                    out.extend_from_slice(b"OK\n");
                    done = true;
                }
                // `attach` included: an attached peer refuses it.
                other => out.extend_from_slice(format!("ERR {}\n", other.keyword()).as_bytes()),
            }
        }
        if s.write_all(&out).is_err() || done {
            return;
        }
    }
}

fn onechan_socket(
    greet: bool,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    mpsc::Receiver<String>,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vp1.test-127.0.0.1:40000");
    let l = UnixListener::bind(&path).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Ok((s, _)) = l.accept() {
            serve(s, &tx, greet);
        }
    });
    (dir, path, rx)
}

fn ping_then_done(greet: bool) {
    let (_dir, path, seen) = onechan_socket(greet);
    let ch = ControlClient::connect_unix_attached(&path)
        .unwrap()
        .into_channel();
    assert_eq!(ch.vp(), None);
    let t = ch.send("ping -c 1 192.0.2.7").unwrap();
    let Some(Outcome::Result(r)) = ch.next_result(WAIT) else {
        panic!()
    };
    assert_eq!(r.task, Some(t));
    let Record::Ping(p) = &r.record else { panic!() };
    assert_eq!(p.dst.to_string(), "192.0.2.7");
    ch.done().unwrap();
    assert_eq!(ch.next_result(WAIT), None);
    assert_eq!(ch.end_reason(), Some(ChannelEnd::Finished));
    let got: Vec<String> = seen.try_iter().collect();
    assert_eq!(
        got,
        ["measurement command", "done"],
        "the client must not send attach"
    );
}

#[test]
fn attached_socket_ping_and_done() {
    ping_then_done(false);
}

#[test]
fn attached_socket_that_speaks_first() {
    ping_then_done(true);
}

#[test]
fn more_before_any_command_is_an_event() {
    let (_dir, path, _seen) = onechan_socket(true);
    let ch = ControlClient::connect_unix_attached(&path)
        .unwrap()
        .into_channel();
    let mut events = Vec::new();
    while let Some(e) = ch.next_event(WAIT) {
        let more = e == Event::More;
        events.push(e);
        if more {
            break;
        }
    }
    assert!(matches!(events.last(), Some(Event::More)), "{events:?}");
}

#[test]
fn missing_or_dead_socket_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gone-127.0.0.1:1");
    let err = ControlClient::connect_unix_attached(&path).unwrap_err();
    assert!(
        matches!(err, Error::ControlSocketNotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&path.display().to_string()));
    drop(UnixListener::bind(&path).unwrap());
    let err = ControlClient::connect_unix_attached(&path).unwrap_err();
    assert!(matches!(err, Error::NotListening { .. }), "{err:?}");
}

/// A network namespace deleted, with the processes started in it, when the
/// test ends however it ends.
struct Netns {
    name: String,
    children: Vec<Child>,
}

impl Netns {
    fn new(name: String) -> Self {
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap()
            .success();
        assert!(ok, "ip netns add {name} failed");
        let ns = Self {
            name,
            children: Vec::new(),
        };
        assert!(ns.run(&["ip", "link", "set", "lo", "up"]).success());
        ns
    }

    fn cmd(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(argv);
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    fn run(&self, argv: &[&str]) -> std::process::ExitStatus {
        self.cmd(argv).status().unwrap()
    }

    fn spawn(&mut self, argv: &[&str]) {
        let child = self.cmd(argv).spawn().unwrap();
        self.children.push(child);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn skip_real_peers() -> Option<String> {
    if std::fs::metadata("/proc/self").map(|m| m.uid()).ok() != Some(0) {
        return Some("needs root (network namespace, raw sockets)".into());
    }
    for p in ["/usr/bin/sc_remoted", "/usr/bin/scamper"] {
        if !Path::new(p).exists() {
            return Some(format!("{p} is missing (apt-get install scamper)"));
        }
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("the ip command is missing (apt-get install iproute2)".into());
    }
    None
}

/// Polls `what` every 50 ms for up to 20 s.
fn wait_for<T>(mut what: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(t) = what() {
            return Some(t);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn vp_sockets(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_socket()))
        .map(|e| e.path())
        .collect()
}

#[test]
fn real_sc_remoted_and_scamper() {
    if let Some(why) = skip_real_peers() {
        eprintln!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let socks = dir.path().join("socks");
    std::fs::create_dir(&socks).unwrap();
    let mut ns = Netns::new(format!("vonechan{}", std::process::id()));
    let socks_arg = socks.to_str().unwrap();
    ns.spawn(&["sc_remoted", "-P", "127.0.0.1:31337", "-U", socks_arg]);
    let listening = wait_for(|| {
        let out = ns
            .cmd(&["ss", "-Hltn", "sport = :31337"])
            .stdout(Stdio::piped())
            .output()
            .ok()?;
        (!out.stdout.is_empty()).then_some(())
    });
    assert!(listening.is_some(), "sc_remoted does not listen");
    ns.spawn(&["scamper", "-R", "127.0.0.1:31337", "-M", "vp9.real"]);
    let sock = wait_for(|| vp_sockets(&socks).pop()).expect("sc_remoted made no VP socket");
    let file = sock.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(file.starts_with("vp9.real-127.0.0.1:"), "{file}");

    // Two connections at once: two channels to the same VP.
    let a = ControlClient::connect_unix_attached(&sock)
        .unwrap()
        .into_channel();
    let b = ControlClient::connect_unix_attached(&sock)
        .unwrap()
        .into_channel();
    for ch in [&a, &b] {
        let t = ch.send("ping -c 2 127.0.0.1").unwrap();
        let Some(Outcome::Result(r)) = ch.next_result(WAIT) else {
            panic!("{:?}", ch.end_reason())
        };
        assert_eq!(r.task, Some(t));
        let Record::Ping(p) = &r.record else {
            panic!("{:?}", r.record)
        };
        assert_eq!(p.dst.to_string(), "127.0.0.1");
        assert_eq!(p.replies.len(), 2);
    }
    // A command scamper refuses is that task's error; the channel goes on.
    let refused = a.send("ping -c 0 127.0.0.1");
    assert!(matches!(refused, Err(Error::Refused { .. })), "{refused:?}");
    for ch in [a, b] {
        ch.done().unwrap();
        assert_eq!(ch.next_result(WAIT), None);
        assert_eq!(ch.end_reason(), Some(ChannelEnd::Finished));
    }
}
