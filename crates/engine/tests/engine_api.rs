//! The engine's driving contract: calls in any order terminate, timers and
//! the pacer hand back control, errors are clear.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use common::*;
use vantage_command::{Command, Context};
use vantage_engine::{
    Engine, EngineConfig, Event, Measurement, MeasurementSpec, StartError, TaskId,
};

const DST4: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));

fn spec(cmd: &str) -> MeasurementSpec {
    MeasurementSpec::try_from(Command::parse(cmd, &Context::new(7)).unwrap()).unwrap()
}

#[test]
fn handle_timeout_before_poll_transmit_returns() {
    let t0 = Instant::now();
    let wall = SystemTime::UNIX_EPOCH;
    let mut e = Engine::new(EngineConfig {
        rate: 100,
        ..EngineConfig::default()
    })
    .unwrap();
    e.start(
        TaskId(1),
        spec("ping -c 3 -i 0.2 198.51.100.1"),
        SRC4,
        t0,
        wall,
    )
    .unwrap();
    // the probe is due, but nobody polled it yet: this must return
    e.handle_timeout(t0 + Duration::from_millis(1));
    e.handle_timeout(t0 + Duration::from_millis(2));
    let mut buf = Vec::new();
    assert!(
        e.poll_transmit(t0 + Duration::from_millis(2), &mut buf)
            .is_some()
    );
    assert!(
        e.poll_transmit(t0 + Duration::from_millis(2), &mut buf)
            .is_none()
    );
    // next probe in 200 ms
    assert_eq!(e.poll_timeout(), Some(t0 + Duration::from_millis(202)));
}

#[test]
fn more_due_tasks_than_tokens_hands_back_control() {
    let t0 = Instant::now();
    let mut e = Engine::new(EngineConfig {
        rate: 10,
        burst: 1,
        seed: 1,
    })
    .unwrap();
    for id in 0..50 {
        e.start(
            TaskId(id),
            spec("ping -c 1 -W 1 198.51.100.1"),
            SRC4,
            t0,
            SystemTime::UNIX_EPOCH,
        )
        .unwrap();
    }
    let mut now = t0;
    let mut buf = Vec::new();
    let mut sent = 0;
    let mut finished = 0;
    for _ in 0..10_000 {
        e.handle_timeout(now);
        while e.poll_transmit(now, &mut buf).is_some() {
            sent += 1;
        }
        while let Some(Event::Finished { .. }) = e.poll_event() {
            finished += 1;
        }
        let Some(next) = e.poll_timeout() else { break };
        assert!(
            next > now,
            "engine asked to be woken at {next:?} <= now {now:?}"
        );
        now = next;
    }
    assert_eq!(sent, 50);
    assert_eq!(finished, 50);
    // 10 pps: the last probe leaves at 4.9 s and times out a second later
    assert_eq!(now.duration_since(t0), Duration::from_millis(5900));
    assert!(e.is_idle());
}

#[test]
fn scale_runs_never_stall() {
    let mut sim = Sim::new(5000);
    sim.net.add_path(DST4, Path::new(routers4(3)));
    for id in 0..2000 {
        let cmd = if id % 2 == 0 {
            "ping -c 2 -i 0.01 198.51.100.1"
        } else {
            "trace -P icmp 198.51.100.1"
        };
        sim.start_cmd(id, cmd);
    }
    sim.run();
    assert_eq!(sim.results.len(), 2000);
    assert_eq!(sim.stalls, 0);
}

#[test]
fn start_errors_are_clear() {
    let t0 = Instant::now();
    let mut e = Engine::new(EngineConfig::default()).unwrap();
    e.start(
        TaskId(1),
        spec("ping 198.51.100.1"),
        SRC4,
        t0,
        SystemTime::UNIX_EPOCH,
    )
    .unwrap();
    let err = e
        .start(
            TaskId(1),
            spec("ping 198.51.100.1"),
            SRC4,
            t0,
            SystemTime::UNIX_EPOCH,
        )
        .unwrap_err();
    assert_eq!(err, StartError::DuplicateTask(TaskId(1)));
    assert!(err.to_string().contains("already running"));
    let err = e
        .start(
            TaskId(2),
            spec("ping 198.51.100.1"),
            SRC6,
            t0,
            SystemTime::UNIX_EPOCH,
        )
        .unwrap_err();
    assert!(matches!(err, StartError::FamilyMismatch { .. }), "{err}");
    let err = e.start(
        TaskId(3),
        spec("ping -M 60 -O tbt 2001:db8::1"),
        SRC6,
        t0,
        SystemTime::UNIX_EPOCH,
    );
    assert!(matches!(err, Err(StartError::Unsupported(_))), "{err:?}");
    assert!(
        Engine::new(EngineConfig {
            rate: 0,
            ..EngineConfig::default()
        })
        .is_err()
    );
    assert!(e.is_running(TaskId(1)));
    assert!(!e.is_running(TaskId(2)));
}

#[test]
fn idle_engine_has_no_timeout() {
    let mut e = Engine::new(EngineConfig::default()).unwrap();
    assert_eq!(e.poll_timeout(), None);
    assert!(e.poll_event().is_none());
    assert!(e.is_idle());
    let mut buf = Vec::new();
    assert!(e.poll_transmit(Instant::now(), &mut buf).is_none());
}

#[test]
fn progress_events_every_n_replies() {
    let mut sim = Sim::new(1000);
    sim.net.add_path(DST4, Path::new(routers4(2)));
    sim.start_cmd(1, "ping -c 5 -i 0.1 -y 2 198.51.100.1");
    sim.run();
    assert_eq!(sim.ping(1).replies.len(), 5);
    let counts: Vec<usize> = sim
        .progress
        .iter()
        .map(|(t, m)| {
            assert_eq!(*t, TaskId(1));
            let Measurement::Ping(p) = m else { panic!() };
            assert_eq!(p.stop_reason, vantage_model::PingStop::InProgress);
            p.replies.len()
        })
        .collect();
    assert_eq!(counts, vec![2, 4]);
}

#[test]
fn stats_count_what_happened() {
    let mut sim = Sim::new(1000);
    sim.net.add_path(DST4, Path::new(routers4(2)));
    sim.start_cmd(1, "ping -c 2 -i 0.1 198.51.100.1");
    sim.run_for(Duration::from_millis(50));
    let st = sim.engine.stats();
    assert_eq!(
        (st.tasks, st.flows, st.probes_sent, st.matched),
        (1, 1, 1, 1)
    );
    sim.receive(&[0x45, 0, 0, 1]);
    assert_eq!(sim.engine.stats().malformed, 1);
    sim.run();
    let st = sim.engine.stats();
    assert_eq!(
        (st.tasks, st.flows, st.probes_sent, st.matched),
        (0, 0, 2, 2)
    );
}
