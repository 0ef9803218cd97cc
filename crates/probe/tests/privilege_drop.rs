//! Least privilege: a probe opens its raw sockets, then becomes `nobody` keeping only
//! CAP_NET_RAW (what `vantage probe --user nobody` does), and still measures.
//!
//! Dropping privileges cannot be undone, so the test runs itself again as a child process
//! (this same test, told so by an environment variable), in a fresh network namespace of
//! the child's own. The test skips (passes with a note) when not root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use vantage_model::Record;
use vantage_probe::privilege::{DropOptions, drop_privileges};
use vantage_probe::{Prober, ProberConfig};

const CHILD: &str = "VANTAGE_PRIVILEGE_DROP_CHILD";
const TEST: &str = "dropped_to_nobody_the_probe_still_pings";

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
        && caps::has_cap(
            None,
            caps::CapSet::Effective,
            caps::Capability::CAP_SYS_ADMIN,
        )
        .unwrap_or(false)
}

#[test]
fn dropped_to_nobody_the_probe_still_pings() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    if !is_root() {
        eprintln!("skipped: needs root (a network namespace and a user to switch to)");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find_map(|l| l.find("RESULT ").map(|i| &l[i..]))
        .unwrap_or_else(|| panic!("no result line:\n{stdout}\n{stderr}"));
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    assert_eq!(
        line,
        format!(
            "RESULT uid {} caps CAP_NET_RAW port80 refused replies 1",
            nobody.uid
        ),
        "{stderr}"
    );
}

/// In the child: a namespace, the sockets, the drop, then a ping.
fn child() {
    vantage_sys::netns::unshare_net().unwrap();
    vantage_sys::netns::loopback_up().unwrap();
    let (mut prober, handle, mut results) = Prober::new(ProberConfig::with_pps(100)).unwrap();
    let (open, errors) = prober.open_sockets();
    assert!(open >= 4, "{open} open: {errors:?}");
    let privs = drop_privileges(&DropOptions::default()).unwrap();
    eprintln!("now {privs}");
    assert!(privs.switched_user && privs.no_new_privs, "{privs}");
    let _thread = prober.start().unwrap();
    let task = handle.submit_line("ping -c 1 127.0.0.1").unwrap();
    let out = common::next_output(&mut results);
    assert_eq!(out.task, task);
    let Ok(Record::Ping(p)) = out.result else {
        panic!("{out:?}")
    };
    // Privileges beyond CAP_NET_RAW are gone: a port below 1024 is refused.
    let port80 = match std::net::TcpListener::bind("127.0.0.1:80") {
        Ok(_) => "allowed",
        Err(_) => "refused",
    };
    let now = vantage_probe::privilege::current().unwrap();
    println!(
        "RESULT uid {} caps {} port80 {port80} replies {}",
        nix::unistd::getuid(),
        now.capabilities.join(","),
        p.replies.len()
    );
}
