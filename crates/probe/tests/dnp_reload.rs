//! The do-not-probe list is reloaded while the probe runs: when its file changes (and on
//! SIGHUP, see `dnp_sighup.rs`). A list that fails to load keeps the old one in force and the
//! error is kept in the audit. Needs no privileges.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{WatchedList, eventually};

#[test]
fn a_changed_file_is_reloaded_and_a_bad_one_keeps_the_old_list() {
    // The watcher's first poll notes the file as it is; only then may the test change it.
    let w = WatchedList::start("192.0.2.0/24\n", Duration::from_millis(20), false);
    let (dir, dnp, policy, handle) = (w.dir.path(), w.file(), &w.policy, &w.handle);

    let a: IpAddr = "192.0.2.1".parse().unwrap();
    let b: IpAddr = "198.51.100.1".parse().unwrap();
    let list = policy.do_not_probe().unwrap();
    assert!(list.lookup(a).is_some() && list.lookup(b).is_none());

    // A rename over the file (what editors and config management do) is a change.
    let tmp = dir.join("dnp.new");
    std::fs::write(&tmp, "198.51.100.0/24\n# two entries\n203.0.113.0/24\n").unwrap();
    std::fs::rename(&tmp, &dnp).unwrap();
    eventually("the new list is in force", || {
        list.lookup(b).is_some() && list.lookup(a).is_none()
    });
    let st = handle.audit(100).policy.unwrap();
    assert_eq!((st.reloads, st.reload_errors), (1, 0), "{st:?}");
    assert_eq!(st.do_not_probe_entries, 2);
    assert!(policy.check_destination(b).is_err());

    // A bad list: the old one stays, the error is kept.
    std::fs::write(&dnp, "198.51.100.0/24\nnot-a-prefix\n").unwrap();
    eventually("the failed reload is noted", || {
        handle.audit(100).policy.unwrap().reload_errors == 1
    });
    let st = handle.audit(100).policy.unwrap();
    let err = st.last_reload_error.unwrap();
    assert!(err.contains("line 2"), "{err}");
    assert_eq!(st.do_not_probe_entries, 2, "the old list is still in force");
    assert!(list.lookup(b).is_some());
    assert!(list.lookup("203.0.113.9".parse().unwrap()).is_some());
    assert!(
        !w.watcher.is_finished(),
        "the watcher keeps going after an error"
    );
}
