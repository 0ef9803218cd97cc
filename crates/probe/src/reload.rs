//! Reloading the do-not-probe list while the probe runs: on `SIGHUP`, and when the file
//! changes (its modification time, size or inode, looked at every few seconds). A list that
//! fails to load leaves the previous one in force; the error is logged and kept in the audit.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use vantage_policy::Policy;

use crate::ProberHandle;

/// What identifies one version of a file on disk.
fn stamp(path: &Path) -> Option<(i64, i64, u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.mtime(), m.mtime_nsec(), m.len(), m.ino()))
}

/// Reloads the list of `policy` now, logging the outcome on stderr (the probe's log).
pub fn reload_now(handle: &ProberHandle, policy: &Policy, why: &str) {
    match handle.reload_do_not_probe(policy) {
        None => {}
        Some(Ok(n)) => eprintln!("vantage probe: do-not-probe list reloaded ({why}): {n} prefixes"),
        Some(Err(e)) => {
            eprintln!(
                "vantage probe: do-not-probe reload failed ({why}), keeping the old list: {e}"
            );
        }
    }
}

/// Watches the do-not-probe list of `policy` until the future is dropped: reloads it on
/// every `SIGHUP` (when `on_sighup`) and whenever the file changes, looked at every `poll`
/// (none when `poll` is zero). The future ends at once if the policy has no list.
///
/// The `SIGHUP` handler is installed by this call, not on the future's first poll, so a
/// signal sent once it has returned is never lost.
///
/// # Errors
///
/// The future ends with an error if the `SIGHUP` handler could not be installed.
///
/// # Panics
///
/// With `on_sighup` and a list, when called outside a tokio runtime with I/O enabled.
pub fn watch_do_not_probe(
    handle: ProberHandle,
    policy: Arc<Policy>,
    poll: Duration,
    on_sighup: bool,
) -> impl std::future::Future<Output = std::io::Result<()>> + Send {
    let hup = (on_sighup && policy.do_not_probe().is_some())
        .then(|| tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()));
    watch(handle, policy, poll, hup)
}

async fn watch(
    handle: ProberHandle,
    policy: Arc<Policy>,
    poll: Duration,
    hup: Option<std::io::Result<tokio::signal::unix::Signal>>,
) -> std::io::Result<()> {
    let Some(dnp) = policy.do_not_probe() else {
        return Ok(());
    };
    let path = dnp.path().to_owned();
    let mut hup = hup.transpose()?;
    let mut last = stamp(&path);
    let mut tick = (!poll.is_zero()).then(|| {
        let mut t = tokio::time::interval(poll);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    loop {
        let signal = async {
            match hup.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        let timer = async {
            match tick.as_mut() {
                Some(t) => {
                    t.tick().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            s = signal => {
                if s.is_none() {
                    hup = None;
                    continue;
                }
                last = stamp(&path);
                reload_now(&handle, &policy, "SIGHUP");
            }
            () = timer => {
                let now = stamp(&path);
                if now != last {
                    last = now;
                    reload_now(&handle, &policy, "file changed");
                }
            }
        }
    }
}
