//! ControlClient against a fake probe control socket (unix and loopback TCP)
//! written here with vantage-proto's server parser and canned warts records.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::many_single_char_names,
    missing_docs
)]

mod common;

use common::FakeRecords;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::time::Duration;
use vantage_client::{ChannelEnd, ControlClient, Error, Event, Outcome, Record, TaskError};
use vantage_proto::control::{Request, ServerParser, TaskIdCounter};

const WAIT: Option<Duration> = Some(Duration::from_secs(20));

/// How the fake probe behaves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// Answers every command with a ping result; finishes after `done`.
    Good,
    /// Refuses `attach`.
    RefuseAttach,
    /// Accepts commands, then closes the connection without results.
    Vanish,
    /// Accepts a command, then sends bytes that are not the control protocol.
    Garbage,
    /// Refuses every command with `ERR` and, like a real prober, sends no `MORE` after it.
    RefuseCommands,
}

fn serve(mut s: impl Read + Write, mode: Probe) {
    let mut parser = ServerParser::new();
    let mut ids = TaskIdCounter::new();
    let mut records = FakeRecords::new("fake");
    let mut buf = [0u8; 4096];
    let mut done = false;
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        parser.feed(&buf[..n]);
        let mut out = Vec::new();
        while let Some(req) = parser.poll() {
            match req {
                Ok(Request::Attach(_)) if mode == Probe::RefuseAttach => {
                    out.extend_from_slice(b"ERR invalid priority\n");
                }
                Ok(Request::Attach(_)) => {
                    out.extend_from_slice(b"OK\nMORE\n");
                    records.start(&mut out);
                }
                Ok(Request::Command(_)) if mode == Probe::RefuseCommands => {
                    out.extend_from_slice(b"ERR command not accepted: -c failed: 0 out of range\n");
                }
                Ok(Request::Command(c)) => {
                    let id = ids.next_id();
                    out.extend_from_slice(format!("OK id-{id}\n").as_bytes());
                    match mode {
                        Probe::Vanish => {
                            s.write_all(&out).unwrap();
                            return;
                        }
                        Probe::Garbage => {
                            out.extend_from_slice(b"HELLO THERE\n");
                            s.write_all(&out).unwrap();
                            continue;
                        }
                        _ => {}
                    }
                    records.ping(id, c.text(), &mut out);
                    out.extend_from_slice(b"MORE\n");
                }
                Ok(Request::Done) => {
                    out.extend_from_slice(b"OK\n");
                    done = true;
                }
                Ok(other) => out.extend_from_slice(format!("ERR {}\n", other.keyword()).as_bytes()),
                Err(r) => out.extend_from_slice(format!("ERR {r}\n").as_bytes()),
            }
        }
        if done {
            records.stop(&mut out);
        }
        if s.write_all(&out).is_err() || done {
            return;
        }
    }
}

fn unix_probe(mode: Probe) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probe.sock");
    let l = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        if let Ok((s, _)) = l.accept() {
            serve(s, mode);
        }
    });
    (dir, path)
}

#[test]
fn unix_control_socket_ping_and_done() {
    let (_dir, path) = unix_probe(Probe::Good);
    let c = ControlClient::connect_unix(&path).unwrap();
    let ch = c.channel();
    assert_eq!(ch.vp(), None);
    let t = ch.send("ping -c 1 192.0.2.5").unwrap();
    let Some(Outcome::Result(r)) = ch.next_result(WAIT) else {
        panic!()
    };
    assert_eq!(r.task, Some(t));
    let Record::Ping(p) = &r.record else { panic!() };
    assert_eq!(p.dst.to_string(), "192.0.2.5");
    ch.done().unwrap();
    assert_eq!(ch.next_result(WAIT), None);
    assert_eq!(ch.end_reason(), Some(ChannelEnd::Finished));
}

#[test]
fn tcp_control_port_works_the_same() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((s, _)) = l.accept() {
            serve(s, Probe::Good);
        }
    });
    let ch = ControlClient::connect_tcp(addr).unwrap().into_channel();
    let ticket = ch.submit("ping 192.0.2.6").unwrap();
    let Some(Outcome::Result(r)) = ch.next_result(WAIT) else {
        panic!()
    };
    assert_eq!(r.ticket, Some(ticket));
    assert_eq!(r.command.as_deref(), Some("ping 192.0.2.6"));
}

#[test]
fn missing_control_socket_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.sock");
    let err = ControlClient::connect_unix(&path).unwrap_err();
    assert!(
        matches!(err, Error::ControlSocketNotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&path.display().to_string()));
    // A socket file nobody listens on.
    drop(UnixListener::bind(&path).unwrap());
    let err = ControlClient::connect_unix(&path).unwrap_err();
    assert!(matches!(err, Error::NotListening { .. }), "{err:?}");
}

#[test]
fn refused_attach_is_reported() {
    let (_dir, path) = unix_probe(Probe::RefuseAttach);
    let err = ControlClient::connect_unix(&path).unwrap_err();
    assert!(
        matches!(&err, Error::AttachRefused(t) if t == "invalid priority"),
        "{err:?}"
    );
}

#[test]
fn probe_closing_fails_pending_tasks() {
    let (_dir, path) = unix_probe(Probe::Vanish);
    let ch = ControlClient::connect_unix(&path).unwrap().into_channel();
    let t = ch.send("ping 192.0.2.1").unwrap();
    let Some(Outcome::Failed(f)) = ch.next_result(WAIT) else {
        panic!()
    };
    assert_eq!(f.task, Some(t));
    assert_eq!(f.error, TaskError::Ended(ChannelEnd::ClosedByPeer));
    assert!(ch.is_finished());
}

#[test]
fn protocol_garbage_ends_the_channel_with_an_error() {
    let (_dir, path) = unix_probe(Probe::Garbage);
    let ch = ControlClient::connect_unix(&path).unwrap().into_channel();
    let t = ch.send("ping 192.0.2.1").unwrap();
    let Some(Outcome::Failed(f)) = ch.next_result(WAIT) else {
        panic!()
    };
    assert_eq!(f.task, Some(t));
    let TaskError::Ended(ChannelEnd::Protocol(why)) = &f.error else {
        panic!("{f:?}")
    };
    assert!(why.contains("HELLO THERE"), "{why}");
    assert!(matches!(
        ch.send("ping 192.0.2.1"),
        Err(Error::ChannelEnded(ChannelEnd::Protocol(_)))
    ));
}

#[test]
fn invalid_commands_are_refused_locally() {
    let (_dir, path) = unix_probe(Probe::Good);
    let ch = ControlClient::connect_unix(&path).unwrap().into_channel();
    for bad in [
        "pong 192.0.2.1",
        "ping\t192.0.2.1",
        "ping 192.0.2.1\nping 192.0.2.2",
    ] {
        assert!(
            matches!(ch.submit(bad), Err(Error::InvalidCommand { .. })),
            "{bad:?}"
        );
    }
    assert_eq!(ch.pending(), 0);
    ch.done().unwrap();
    ch.done().unwrap();
    // DoneSent until the probe finishes the channel, then ChannelEnded: which
    // one depends on whether its close arrived yet.
    assert!(matches!(
        ch.submit("ping 192.0.2.1"),
        Err(Error::DoneSent | Error::ChannelEnded(ChannelEnd::Finished))
    ));
}

#[test]
fn a_refused_command_is_followed_by_more() {
    let (_dir, path) = unix_probe(Probe::RefuseCommands);
    let ch = ControlClient::connect_unix(&path).unwrap().into_channel();
    // The MORE that follows attach.
    loop {
        match ch.next_event(WAIT) {
            Some(Event::More) => break,
            Some(_) => {}
            None => panic!("no MORE after attach"),
        }
    }
    let ticket = ch.submit("ping -c 0 192.0.2.1").unwrap();
    let mut events = Vec::new();
    while events.len() < 2 {
        match ch.next_event(WAIT).expect("an event") {
            Event::Meta(_) => {} // the list and cycle records
            e => events.push(e),
        }
    }
    let Event::Outcome(Outcome::Failed(f)) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(f.ticket, ticket);
    assert!(
        matches!(&f.error, TaskError::Rejected(t) if t.starts_with("command not accepted")),
        "{f:?}"
    );
    assert_eq!(events[1], Event::More, "{events:?}");
    // A synchronous refusal is an error of the call, and it too gives room for more.
    assert!(ch.send("ping -c 0 192.0.2.1").is_err());
    let next = loop {
        match ch.next_event(WAIT) {
            Some(Event::Meta(_)) => {}
            e => break e,
        }
    };
    assert_eq!(next, Some(Event::More));
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<vantage_client::Channel>();
    check::<vantage_client::MuxClient>();
    check::<vantage_client::ControlClient>();
    check::<vantage_client::Outcome>();
    check::<vantage_client::Event>();
    check::<vantage_client::Error>();
}
