//! The helper process of a persistent testbed: it runs the user-space engines (link
//! delay, MPLS extensions) and the UDP echo service after `up` has returned.
//!
//! A persistent testbed outlives the process that built it, but its engines are threads
//! that must live somewhere. [`crate::persistent::up`] writes the task list to
//! `STATE/daemon.conf` ([`tasks_file`]) and starts a helper command (for the `vantage`
//! binary, a hidden `testbed delay-daemon STATE` subcommand; for the example, `testbed
//! delay-daemon STATE`) that calls [`daemon_main`]. The helper's main thread stays in the
//! root namespace; each task thread joins its node's namespace. Once every queue is bound
//! and every socket open it writes `STATE/daemon.ready` (or `STATE/daemon.failed` with
//! the reason) and then waits for SIGTERM, SIGINT or SIGHUP, or for its state directory
//! to disappear (checked every second), so a testbed removed by hand does not leave the
//! helper behind.

use std::fmt::Write as _;
use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::SignalFd;

use crate::delay::{DelayConfig, DelayEngine};
use crate::mpls::{MplsConfig, MplsEngine};
use crate::netns;
use crate::topology::EngineSpec;

/// Name of the task list in the state directory.
pub const TASKS_FILE: &str = "daemon.conf";
/// Written by the helper once everything runs.
pub const READY_FILE: &str = "daemon.ready";
/// Written by the helper when a task could not start (holds the reason).
pub const FAILED_FILE: &str = "daemon.failed";

/// Why the helper could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The task list could not be read.
    #[error("testbed helper: cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A line of the task list is malformed.
    #[error("testbed helper: {path} line {line}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// Line number (1-based).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A task could not start.
    #[error("testbed helper: {0}")]
    Start(String),
    /// Signal handling could not be set up.
    #[error("testbed helper: cannot set up signal handling: {0}")]
    Signals(nix::errno::Errno),
}

/// One thing the helper runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// An NFQUEUE engine.
    Engine(EngineSpec),
    /// A UDP echo service (RFC 862) on `port`, IPv4 and IPv6, in namespace `netns`.
    UdpEcho {
        /// The namespace.
        netns: String,
        /// The port.
        port: u16,
    },
}

/// The task list as text, one task a line:
/// `delay NETNS QUEUE DELAY_MICROSECONDS MAX_QUEUE_LEN`, `mpls NETNS QUEUE LABEL,LABEL..`,
/// `udp-echo NETNS PORT`.
pub fn tasks_file(tasks: &[Task]) -> String {
    let mut s = String::from("# Vantage testbed helper tasks (written by `up`)\n");
    for t in tasks {
        let _ = match t {
            Task::Engine(EngineSpec::Delay(c)) => writeln!(
                s,
                "delay {} {} {} {}",
                c.netns.as_deref().unwrap_or("-"),
                c.queue,
                c.delay.as_micros(),
                c.max_queue_len
            ),
            Task::Engine(EngineSpec::Mpls(c)) => {
                let labels: Vec<String> = c.labels.iter().map(u32::to_string).collect();
                writeln!(
                    s,
                    "mpls {} {} {}",
                    c.netns.as_deref().unwrap_or("-"),
                    c.queue,
                    labels.join(",")
                )
            }
            Task::UdpEcho { netns, port } => writeln!(s, "udp-echo {netns} {port}"),
        };
    }
    s
}

/// Parses [`tasks_file`] text; `path` is only used in error messages.
pub fn parse_tasks(text: &str, path: &str) -> Result<Vec<Task>, DaemonError> {
    let mut tasks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: String| DaemonError::Parse {
            path: path.to_owned(),
            line: i + 1,
            reason,
        };
        let f: Vec<&str> = line.split_whitespace().collect();
        let netns = |s: &str| (s != "-").then(|| s.to_owned());
        let num = |s: &str, what: &str| -> Result<u64, DaemonError> {
            s.parse::<u64>()
                .map_err(|_| bad(format!("{what} `{s}` is not a number")))
        };
        let task = match f.as_slice() {
            ["delay", ns, queue, micros, max_len] => {
                let mut c = DelayConfig::new(
                    netns(ns),
                    u16::try_from(num(queue, "queue")?).map_err(|_| bad("queue > 65535".into()))?,
                    Duration::from_micros(num(micros, "delay")?),
                );
                c.max_queue_len = u32::try_from(num(max_len, "queue length")?)
                    .map_err(|_| bad("queue length too big".into()))?;
                Task::Engine(EngineSpec::Delay(c))
            }
            ["mpls", ns, queue, labels] => {
                let labels = labels
                    .split(',')
                    .map(|l| {
                        l.parse::<u32>()
                            .ok()
                            .filter(|&v| v < 1 << 20)
                            .ok_or_else(|| bad(format!("MPLS label `{l}` is not 0..1048575")))
                    })
                    .collect::<Result<Vec<u32>, DaemonError>>()?;
                Task::Engine(EngineSpec::Mpls(MplsConfig {
                    netns: netns(ns),
                    queue: u16::try_from(num(queue, "queue")?)
                        .map_err(|_| bad("queue > 65535".into()))?,
                    labels,
                }))
            }
            ["udp-echo", ns, port] => Task::UdpEcho {
                netns: (*ns).to_owned(),
                port: u16::try_from(num(port, "port")?).map_err(|_| bad("port > 65535".into()))?,
            },
            _ => return Err(bad(format!("unknown task `{line}`"))),
        };
        tasks.push(task);
    }
    Ok(tasks)
}

/// A UDP echo server on a thread inside a namespace.
struct UdpEcho {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpEcho {
    fn start(ns: &str, port: u16) -> Result<Self, String> {
        let (tx, rx) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let name = ns.to_owned();
        let thread = std::thread::Builder::new()
            .name(format!("udp-echo-{port}"))
            .spawn(move || {
                let sock = netns::enter(&name)
                    .map_err(|e| e.to_string())
                    .and_then(|()| {
                        // Dual stack: IPv4 clients arrive as v4-mapped addresses.
                        UdpSocket::bind(("::", port))
                            .map_err(|e| format!("cannot bind UDP port {port} in {name}: {e}"))
                    })
                    .and_then(|s| {
                        s.set_read_timeout(Some(Duration::from_millis(200)))
                            .map(|()| s)
                            .map_err(|e| e.to_string())
                    });
                let sock = match sock {
                    Ok(s) => {
                        let _ = tx.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let mut buf = vec![0u8; 65_536];
                while !flag.load(Ordering::Relaxed) {
                    if let Ok((n, peer)) = sock.recv_from(&mut buf) {
                        let _ = sock.send_to(&buf[..n], peer);
                    }
                }
            })
            .map_err(|e| format!("cannot start the UDP echo thread: {e}"))?;
        match rx.recv() {
            Ok(Ok(())) => Ok(Self {
                stop,
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the UDP echo thread died while starting".into()),
        }
    }
}

impl Drop for UdpEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

enum Running {
    Delay(DelayEngine),
    Mpls(MplsEngine),
    Echo(UdpEcho),
}

fn start(task: &Task) -> Result<Running, String> {
    match task {
        Task::Engine(EngineSpec::Delay(c)) => DelayEngine::start(c.clone())
            .map(Running::Delay)
            .map_err(|e| e.to_string()),
        Task::Engine(EngineSpec::Mpls(c)) => MplsEngine::start(c.clone())
            .map(Running::Mpls)
            .map_err(|e| e.to_string()),
        Task::UdpEcho { netns, port } => UdpEcho::start(netns, *port).map(Running::Echo),
    }
}

/// The helper's whole life: reads `STATE/daemon.conf`, starts every task, reports
/// readiness, and serves until a signal or until `state_dir` disappears. Call it from
/// the main thread of a process made for it (signals are blocked on the calling thread
/// and the threads it starts).
pub fn daemon_main(state_dir: &Path) -> Result<(), DaemonError> {
    let mut mask = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        mask.add(s);
    }
    mask.thread_block().map_err(DaemonError::Signals)?;
    let signals = SignalFd::new(&mask).map_err(DaemonError::Signals)?;

    let path = state_dir.join(TASKS_FILE);
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|source| DaemonError::Read {
        path: shown.clone(),
        source,
    })?;
    let tasks = parse_tasks(&text, &shown)?;
    let mut running = Vec::new();
    for task in &tasks {
        match start(task) {
            Ok(r) => running.push(r),
            Err(e) => {
                let _ = std::fs::write(state_dir.join(FAILED_FILE), format!("{e}\n"));
                return Err(DaemonError::Start(e));
            }
        }
    }
    let _ = std::fs::write(
        state_dir.join(READY_FILE),
        format!("{}\n", std::process::id()),
    );
    eprintln!(
        "vantage-testbed helper {}: {} tasks running",
        std::process::id(),
        running.len()
    );
    loop {
        let mut fds = [PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        let n = poll(&mut fds, PollTimeout::from(1000u16)).unwrap_or(0);
        if n > 0 {
            if let Ok(Some(info)) = signals.read_signal() {
                eprintln!(
                    "vantage-testbed helper: signal {}, stopping",
                    info.ssi_signo
                );
            }
            break;
        }
        if !state_dir.is_dir() {
            eprintln!("vantage-testbed helper: state directory gone, stopping");
            break;
        }
    }
    for r in running.drain(..).rev() {
        let result = match r {
            Running::Delay(e) => e.stop().map(|s| format!("{s:?}")),
            Running::Mpls(e) => e.stop().map(|s| format!("{s:?}")),
            Running::Echo(e) => {
                drop(e);
                Ok("udp echo stopped".into())
            }
        };
        match result {
            Ok(s) => eprintln!("vantage-testbed helper: {s}"),
            Err(e) => eprintln!("vantage-testbed helper: {e}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_round_trip() {
        let mut d = DelayConfig::new(Some("p-gw_nz".into()), 1, Duration::from_micros(60_500));
        d.max_queue_len = 99;
        let tasks = vec![
            Task::Engine(EngineSpec::Delay(d)),
            Task::Engine(EngineSpec::Mpls(MplsConfig {
                netns: Some("p-mpls".into()),
                queue: 1000,
                labels: vec![18_005, 24_001],
            })),
            Task::UdpEcho {
                netns: "p-udp".into(),
                port: 7,
            },
            Task::Engine(EngineSpec::Delay(DelayConfig::new(None, 0, Duration::ZERO))),
        ];
        let text = tasks_file(&tasks);
        assert!(text.contains("delay p-gw_nz 1 60500 99\n"), "{text}");
        assert!(text.contains("mpls p-mpls 1000 18005,24001\n"), "{text}");
        assert_eq!(parse_tasks(&text, "x").unwrap(), tasks);
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, needle) in [
            ("delay ns x 1 2", "queue `x`"),
            ("mpls ns 1 2000000", "MPLS label"),
            ("udp-echo ns 70000", "port"),
            ("fly away", "unknown task"),
        ] {
            let err = parse_tasks(&format!("# c\n{text}\n"), "f").unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("line 2") && msg.contains(needle), "{msg}");
        }
    }
}
