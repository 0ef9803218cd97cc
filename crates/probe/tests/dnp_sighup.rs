//! SIGHUP reloads the do-not-probe list (the handler `vantage probe` installs through
//! `watch_do_not_probe`). In a test binary of its own: the signal goes to the whole process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vantage_probe::{Prober, ProberConfig};

#[test]
fn sighup_reloads_the_do_not_probe_list() {
    let dir = tempfile::tempdir().unwrap();
    let dnp = dir.path().join("dnp.txt");
    let policy = common::load_policy(
        dir.path(),
        "[do_not_probe]\nfile = \"dnp.txt\"\n",
        "192.0.2.0/24\n",
    );
    let (_prober, handle, _results) = Prober::new(ProberConfig::default()).unwrap();
    handle.set_policy(Arc::clone(&policy));
    // No file polling: only the signal can reload. The handler is installed on the
    // watcher's first poll, which has happened when this returns.
    let _watcher = common::spawn_watcher(&handle, &policy, Duration::ZERO, true);

    let b: IpAddr = "198.51.100.1".parse().unwrap();
    std::fs::write(&dnp, "198.51.100.0/24\n").unwrap();
    let list = policy.do_not_probe().unwrap();
    assert!(
        list.lookup(b).is_none(),
        "nothing reloads without the signal"
    );
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGHUP).unwrap();
    let start = Instant::now();
    while list.lookup(b).is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "SIGHUP did not reload"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(handle.audit(100).policy.unwrap().reloads, 1);
}
