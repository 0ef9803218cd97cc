//! SIGHUP reloads the do-not-probe list (the handler `vantage probe` installs through
//! `watch_do_not_probe`). In a test binary of its own: the signal goes to the whole process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vantage_policy::Policy;
use vantage_probe::{Prober, ProberConfig};

#[test]
fn sighup_reloads_the_do_not_probe_list() {
    let dir = tempfile::tempdir().unwrap();
    let dnp = dir.path().join("dnp.txt");
    std::fs::write(&dnp, "192.0.2.0/24\n").unwrap();
    let policy_file = dir.path().join("policy.toml");
    std::fs::write(&policy_file, "[do_not_probe]\nfile = \"dnp.txt\"\n").unwrap();
    let policy = Arc::new(Policy::load(&policy_file).unwrap());
    let (_prober, handle, _results) = Prober::new(ProberConfig::default()).unwrap();
    handle.set_policy(Arc::clone(&policy));

    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (h, p) = (handle.clone(), Arc::clone(&policy));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            // No file polling: only the signal can reload. The handler is installed on the
            // future's first poll; the yield lets that happen before the test signals.
            let w = vantage_probe::watch_do_not_probe(h, p, Duration::ZERO, true);
            tokio::pin!(w);
            tokio::select! {
                biased;
                _ = &mut w => panic!("the watcher stopped"),
                () = tokio::task::yield_now() => {}
            }
            ready_tx.send(()).unwrap();
            w.await
        })
    });
    ready_rx.recv().unwrap();

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
