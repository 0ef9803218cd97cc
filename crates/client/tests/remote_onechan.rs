//! `ControlClient::connect_unix_attached` against a fake per-VP socket of
//! `sc_remoted -U` ("onechan"): the peer is attached from the first byte, so
//! the client must not send `attach`, and the peer's first bytes (warts list
//! and cycle records, `MORE`) may arrive before any command.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::many_single_char_names,
    missing_docs
)]

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;
use vantage_client::{ChannelEnd, ControlClient, Error, Event, Outcome, Record};
use vantage_model::{Cycle, List, Ping, Timestamp};
use vantage_proto::control::{Request, ServerParser, TaskIdCounter, encode_warts_data};
use vantage_warts::Writer;

const WAIT: Option<Duration> = Some(Duration::from_secs(20));

/// Serves one attached-mode connection; reports every request keyword it got.
fn serve(mut s: impl Read + Write, seen: &mpsc::Sender<String>, greet: bool) {
    let mut parser = ServerParser::attached();
    let mut ids = TaskIdCounter::new();
    let mut w = Writer::new(Vec::new());
    let list = Arc::new(List::new(0, "remote"));
    let cycle = Arc::new(Cycle {
        list: Arc::clone(&list),
        id: 1,
        start_time: 1,
        stop_time: None,
        hostname: None,
    });
    let mut header = Vec::new();
    w.write_list(&list).unwrap();
    let rec = std::mem::take(w.get_mut());
    encode_warts_data(None, false, &rec, &mut header).unwrap();
    w.write_cycle_start(&cycle).unwrap();
    let rec = std::mem::take(w.get_mut());
    encode_warts_data(None, false, &rec, &mut header).unwrap();
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
                    let dst = c.text().rsplit(' ').next().unwrap().parse().unwrap();
                    let mut p = Ping::new(dst, Timestamp::new(2, 0));
                    p.list = Some(Arc::clone(&list));
                    p.cycle = Some(Arc::clone(&cycle));
                    w.write_ping(&p).unwrap();
                    let rec = std::mem::take(w.get_mut());
                    encode_warts_data(Some(id), false, &rec, &mut out).unwrap();
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
