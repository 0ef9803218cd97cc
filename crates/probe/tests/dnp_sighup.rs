//! SIGHUP reloads the do-not-probe list (the handler `vantage probe` installs through
//! `watch_do_not_probe`). In a test binary of its own: the signal goes to the whole process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{WatchedList, eventually};

#[test]
fn sighup_reloads_the_do_not_probe_list() {
    // No file polling: only the signal can reload.
    let w = WatchedList::start("192.0.2.0/24\n", Duration::ZERO, true);
    let (dnp, policy, handle) = (w.file(), &w.policy, &w.handle);

    let b: IpAddr = "198.51.100.1".parse().unwrap();
    std::fs::write(&dnp, "198.51.100.0/24\n").unwrap();
    let list = policy.do_not_probe().unwrap();
    assert!(
        list.lookup(b).is_none(),
        "nothing reloads without the signal"
    );
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGHUP).unwrap();
    eventually("SIGHUP reloads the list", || list.lookup(b).is_some());
    assert_eq!(handle.audit(100).policy.unwrap().reloads, 1);
}
