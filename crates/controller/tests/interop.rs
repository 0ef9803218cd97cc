//! Interoperability with Debian's scamper (`scamper -R`) on loopback: it joins
//! the controller, is listed on the mux, and a measurement is driven through
//! the mux. Skipped (with a message) when scamper is not installed. The only
//! packets sent are ICMP echoes to 127.0.0.1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::many_single_char_names,
    missing_docs
)]

mod common;

use common::{Env, WAIT, ping};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vantage_client::{Event, Outcome};
use vantage_model::Record;

struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn scamper() -> Option<&'static str> {
    let p = "/usr/bin/scamper";
    if std::path::Path::new(p).exists() {
        Some(p)
    } else {
        eprintln!("skipped: Debian's scamper is not installed (apt-get install -y scamper)");
        None
    }
}

#[test]
fn debian_scamper_joins_and_measures_through_the_mux() {
    let Some(bin) = scamper() else { return };
    let env = Env::plaintext(
        Duration::from_secs(5),
        Some("vp-debian cc zz\nvp-debian tag debian\n"),
    );
    // An IP literal makes scamper use plaintext (it cannot check a certificate
    // against an address), which matches the controller's --plaintext.
    let _vp = Reaped(
        Command::new(bin)
            .args(["-R", &env.addr.to_string(), "-M", "vp-debian", "-p", "100"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let c = env.client();
    let deadline = Instant::now() + WAIT;
    let info = loop {
        if let Some(v) = c.find_vp("vp-debian") {
            break v;
        }
        assert!(Instant::now() < deadline, "scamper never joined");
        let _ = c.next_vp_event(Some(Duration::from_millis(100)));
    };
    assert_eq!(info.cc.as_deref(), Some("zz"));
    assert_eq!(info.tags, ["debian"]);
    assert_eq!(info.ipv4.as_deref(), Some("127.0.0.1"));

    let ch = c.open(info.id).unwrap();
    let task = ch.send("ping -c 1 127.0.0.1").unwrap();
    ch.done().unwrap();
    let mut events = Vec::new();
    while let Some(e) = ch.next_event(Some(WAIT)) {
        events.push(e);
    }
    let results: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Outcome(Outcome::Result(r)) => Some(r),
            _ => None,
        })
        .collect();
    // scamper 20211212 writes `DATA <len>` without `id-N`, so a client that
    // matches results by id never completes the task (libscamperctrl). Ours
    // attributes an unlabelled result when exactly one task is pending.
    assert_eq!(results.len(), 1, "{events:#?}");
    assert_eq!(results[0].task, Some(task));
    let p = ping(results[0]);
    assert_eq!(p.dst.to_string(), "127.0.0.1");
    assert!(!p.replies.is_empty(), "a loopback echo is answered");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Meta(Record::CycleStop(_))))
    );
    assert_eq!(ch.end_reason(), Some(vantage_client::ChannelEnd::Finished));

    // Two tasks pending at once: each unlabelled result goes to the oldest
    // pending task with its type and destination, so both tasks complete.
    let ch = c.open(info.id).unwrap();
    let a = ch.send("ping -c 1 127.0.0.1").unwrap();
    let b = ch.send("ping -c 1 -i 1 127.0.0.1").unwrap();
    ch.done().unwrap();
    let mut tasks = Vec::new();
    while let Some(o) = ch.next_result(Some(WAIT)) {
        match o {
            Outcome::Result(r) => tasks.push(r.task.expect("attributed")),
            Outcome::Failed(f) => panic!("task failed: {f:?}"),
        }
    }
    tasks.sort_by_key(|t| t.get());
    assert_eq!(tasks, [a, b]);
}
