//! Root-only tests of dropping privileges. Dropping changes the whole process for good, so
//! each case runs in a child process: this test binary re-executed for one ignored test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::Ipv4Addr;
use std::process::Command;

use common::*;
use vantage_sys::privilege::{DropOptions, drop_privileges};
use vantage_sys::{Family, Protocol, RecvSocket, SendSocket, netns};

const CHILD_ENV: &str = "VANTAGE_SYS_PRIVILEGE_CHILD";

/// Runs the ignored test `name` of this binary in a child process and returns its output.
fn run_child(name: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child {name} failed:\n{text}");
    assert!(
        text.contains("1 passed"),
        "child {name} did not run:\n{text}"
    );
    text
}

#[test]
fn drop_to_nobody_keeps_only_net_raw() {
    if root_or_skip("drop_to_nobody_keeps_only_net_raw") {
        let text = run_child("child_drop_default");
        assert!(
            text.contains("capabilities CAP_NET_RAW, no_new_privs"),
            "{text}"
        );
    }
}

#[test]
fn drop_can_keep_net_admin() {
    if root_or_skip("drop_can_keep_net_admin") {
        let text = run_child("child_drop_net_admin");
        assert!(
            text.contains("capabilities CAP_NET_ADMIN,CAP_NET_RAW"),
            "{text}"
        );
    }
}

#[test]
fn drop_to_unknown_user_fails_before_changing_anything() {
    if root_or_skip("drop_to_unknown_user_fails_before_changing_anything") {
        run_child("child_drop_unknown_user");
    }
}

/// Started as an unprivileged user holding CAP_NET_RAW and CAP_NET_ADMIN (ambient, via
/// `setpriv`), a drop keeps the user and only CAP_NET_RAW.
#[test]
fn drop_without_root_only_reduces_capabilities() {
    if !root_or_skip("drop_without_root_only_reduces_capabilities") {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=+net_raw,+net_admin",
            "--ambient-caps=+net_raw,+net_admin",
        ])
        .arg(exe)
        .args([
            "--exact",
            "child_drop_unprivileged",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output();
    let Ok(out) = out else {
        eprintln!(
            "SKIPPED drop_without_root_only_reduces_capabilities: setpriv (util-linux) missing"
        );
        return;
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(text.contains("1 passed"), "child did not run:\n{text}");
    assert!(
        text.contains("(uid 65534, gid 65534), capabilities CAP_NET_RAW, no_new_privs"),
        "{text}"
    );
}

#[test]
#[ignore = "runs only as a child process of drop_without_root_only_reduces_capabilities"]
fn child_drop_unprivileged() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    assert!(!nix::unistd::Uid::effective().is_root());
    let before = caps::read(None, caps::CapSet::Effective).unwrap();
    assert!(
        before.contains(&caps::Capability::CAP_NET_ADMIN),
        "{before:?}"
    );
    let report = drop_privileges(&DropOptions::default()).unwrap();
    println!("dropped: {report}");
    assert!(!report.switched_user);
    assert_eq!(report.capabilities, vec!["CAP_NET_RAW".to_owned()]);
    assert!(caps::read(None, caps::CapSet::Ambient).unwrap().is_empty());
    // Still able to open raw sockets (nothing is sent from this namespace).
    RecvSocket::open(Family::V4, Protocol::Icmp).unwrap();
}

fn child(keep_net_admin: bool) {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    // A private namespace so the probe below stays inside this process's own loopback.
    netns::unshare_net().unwrap();
    netns::loopback_up().unwrap();
    let opened_before = SendSocket::open(Family::V4).unwrap();

    let report = drop_privileges(&DropOptions {
        user: "nobody".into(),
        keep_net_admin,
    })
    .unwrap();
    println!("dropped: {report}");

    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    assert!(report.switched_user);
    assert_eq!(report.uid, nobody.uid.as_raw());
    assert_eq!(report.gid, nobody.gid.as_raw());
    assert!(report.no_new_privs);
    let r = nix::unistd::getresuid().unwrap();
    assert_eq!([r.real, r.effective, r.saved], [nobody.uid; 3]);
    let g = nix::unistd::getresgid().unwrap();
    assert_eq!([g.real, g.effective, g.saved], [nobody.gid; 3]);
    assert_eq!(nix::unistd::getgroups().unwrap(), vec![nobody.gid]);

    let mut want = vec![caps::Capability::CAP_NET_RAW];
    if keep_net_admin {
        want.push(caps::Capability::CAP_NET_ADMIN);
    }
    for set in [
        caps::CapSet::Effective,
        caps::CapSet::Permitted,
        caps::CapSet::Bounding,
    ] {
        let held = caps::read(None, set).unwrap();
        assert_eq!(held, want.iter().copied().collect(), "{set:?}");
    }
    assert!(
        caps::read(None, caps::CapSet::Inheritable)
            .unwrap()
            .is_empty()
    );

    // Root is gone for good.
    assert!(nix::unistd::setuid(nix::unistd::Uid::from_raw(0)).is_err());
    // Raw sockets still open, and the one opened before still sends.
    let rx = RecvSocket::open(Family::V4, Protocol::Icmp).unwrap();
    // Forcing a buffer past the sysctl cap needs CAP_NET_ADMIN.
    assert_eq!(rx.set_recv_buffer(1 << 20).unwrap().forced, keep_net_admin);
    let lo = Ipv4Addr::LOCALHOST;
    opened_before.send(&echo_v4(lo, lo, 0x0b0b, 1)).unwrap();
}

#[test]
#[ignore = "runs only as a child process of drop_to_nobody_keeps_only_net_raw"]
fn child_drop_default() {
    child(false);
}

#[test]
#[ignore = "runs only as a child process of drop_can_keep_net_admin"]
fn child_drop_net_admin() {
    child(true);
}

#[test]
#[ignore = "runs only as a child process of drop_to_unknown_user_fails_before_changing_anything"]
fn child_drop_unknown_user() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let err = drop_privileges(&DropOptions {
        user: "vantage-no-such-user".into(),
        keep_net_admin: false,
    })
    .unwrap_err();
    assert!(err.to_string().contains("vantage-no-such-user"), "{err}");
    assert!(nix::unistd::Uid::effective().is_root());
}
