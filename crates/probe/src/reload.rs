//! Reloading the policy while the probe runs. [`watch_policy`] (what `vantage probe` runs):
//! on `SIGHUP` the whole policy file is read again and, if valid, put in force everywhere
//! (commands, packets, rate, window, do-not-probe list, audit, publication); the do-not-probe
//! list of the policy in force is also reloaded when its file changes (its modification
//! time, size or inode, looked at every few seconds). [`watch_do_not_probe`] does the second
//! part alone for a policy that never changes. A file that fails to load leaves the previous
//! policy or list in force; the error is logged and kept in the audit.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use vantage_policy::Policy;

use crate::{ControlServer, ProberHandle};

/// What identifies one version of a file on disk: modification time (seconds and
/// nanoseconds), size and inode.
type FileStamp = (i64, i64, u64, u64);

/// What identifies one version of a file on disk.
fn stamp(path: &Path) -> Option<FileStamp> {
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

/// Reads the policy file `path` again and puts it in force on `server`
/// ([`ControlServer::reload_policy`]), logging the outcome on stderr (the probe's log):
/// `policy reloaded from FILE: hash OLD -> NEW` (or `hash H unchanged`) and the size of the
/// new do-not-probe list; on an error (which names the line and the key), that the old
/// policy stays in force. `why` says what asked for the reload (`SIGHUP`).
pub fn reload_policy_now(server: &ControlServer, path: &Path, why: &str) {
    match server.reload_policy(path) {
        Ok(r) => {
            if r.changed {
                let old = r.old.as_deref().unwrap_or("none");
                eprintln!(
                    "vantage probe: policy reloaded from {}: hash {old} -> {}",
                    path.display(),
                    r.new
                );
            } else {
                eprintln!(
                    "vantage probe: policy reloaded from {}: hash {} unchanged",
                    path.display(),
                    r.new
                );
            }
            if let Some(dnp) = server
                .policy()
                .as_ref()
                .and_then(|p| p.do_not_probe().cloned())
            {
                eprintln!(
                    "vantage probe: do-not-probe list reloaded ({why}): {} prefixes",
                    dnp.snapshot().len()
                );
            }
        }
        Err(e) => eprintln!(
            "vantage probe: policy reload from {} failed ({why}), keeping the old policy: {e}",
            path.display()
        ),
    }
}

/// Watches the policy of `server` until the future is dropped: on every `SIGHUP` (when
/// `on_sighup`) reads the policy file `path` again and puts it in force
/// ([`reload_policy_now`]); every `poll` (none when zero) looks at the do-not-probe list
/// file of the policy in force and reloads the list when the file changed. Without a `path`
/// a `SIGHUP` is only logged.
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
/// With `on_sighup`, when called outside a tokio runtime with I/O enabled.
pub fn watch_policy(
    server: ControlServer,
    path: Option<PathBuf>,
    poll: Duration,
    on_sighup: bool,
) -> impl std::future::Future<Output = std::io::Result<()>> + Send {
    let hup =
        on_sighup.then(|| tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()));
    watch_all(server, path, poll, hup)
}

/// The do-not-probe list file of the policy in force, and how it looks on disk.
fn list_stamp(server: &ControlServer) -> Option<(PathBuf, Option<FileStamp>)> {
    let policy = server.policy()?;
    let path = policy.do_not_probe()?.path().to_owned();
    let st = stamp(&path);
    Some((path, st))
}

/// What wakes a watcher: a `SIGHUP`, or the periodic look at a file.
enum Trigger {
    Hangup,
    Tick,
}

/// The `SIGHUP` stream (if any) and the file-check timer (if any) of a watcher.
struct Triggers {
    hup: Option<tokio::signal::unix::Signal>,
    tick: Option<tokio::time::Interval>,
}

impl Triggers {
    fn new(
        hup: Option<std::io::Result<tokio::signal::unix::Signal>>,
        poll: Duration,
    ) -> std::io::Result<Self> {
        let tick = (!poll.is_zero()).then(|| {
            let mut t = tokio::time::interval(poll);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        Ok(Self {
            hup: hup.transpose()?,
            tick,
        })
    }

    /// The next signal or tick; never returns when there is neither.
    async fn next(&mut self) -> Trigger {
        loop {
            let signal = async {
                match self.hup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            let timer = async {
                match self.tick.as_mut() {
                    Some(t) => {
                        t.tick().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                s = signal => match s {
                    Some(()) => return Trigger::Hangup,
                    None => self.hup = None, // the stream ended: no more signals
                },
                () = timer => return Trigger::Tick,
            }
        }
    }
}

async fn watch_all(
    server: ControlServer,
    path: Option<PathBuf>,
    poll: Duration,
    hup: Option<std::io::Result<tokio::signal::unix::Signal>>,
) -> std::io::Result<()> {
    let mut triggers = Triggers::new(hup, poll)?;
    let mut last = list_stamp(&server);
    loop {
        match triggers.next().await {
            Trigger::Hangup => {
                match &path {
                    Some(p) => reload_policy_now(&server, p, "SIGHUP"),
                    None => eprintln!("vantage probe: SIGHUP: no policy file to reload"),
                }
                last = list_stamp(&server);
            }
            Trigger::Tick => {
                let now = list_stamp(&server);
                if now != last {
                    // Only a change of the same list's file reloads it; a new policy naming
                    // another file has loaded that one already.
                    if let (Some((a, _)), Some((b, _))) = (&now, &last)
                        && a == b
                        && let Some(policy) = server.policy()
                    {
                        reload_now(server.handle(), &policy, "file changed");
                    }
                    last = list_stamp(&server);
                }
            }
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
    let mut triggers = Triggers::new(hup, poll)?;
    let mut last = stamp(&path);
    loop {
        match triggers.next().await {
            Trigger::Hangup => {
                last = stamp(&path);
                reload_now(&handle, &policy, "SIGHUP");
            }
            Trigger::Tick => {
                let now = stamp(&path);
                if now != last {
                    last = now;
                    reload_now(&handle, &policy, "file changed");
                }
            }
        }
    }
}
