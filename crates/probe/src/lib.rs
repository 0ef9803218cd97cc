//! The Vantage prober runtime: the I/O shell around the sans-IO measurement engine.
//!
//! # What this crate is
//! A [`Prober`] owns one [`vantage_engine::Engine`] (every running ping, traceroute and MDA traceroute,
//! one shared packets-per-second pacer) and the raw sockets of `vantage-sys`, on one
//! single-threaded tokio event loop:
//!
//! - **send**: one header-included raw socket per address family; the packets the pacer
//!   lets out go out in `sendmmsg` batches and each probe's transmit time is reported back
//!   to the engine (the time read right before the system call, spread over the batch);
//! - **receive**: one raw socket per family for ICMP, and for TCP or UDP when a task's
//!   method can draw such replies; packets are read in `recvmmsg` batches with the
//!   kernel's receive timestamps (`SO_TIMESTAMPNS`), so round-trip times do not include
//!   the loop's own delays. Receive buffers are sized from the configured rate (a
//!   quarter of a second of replies at full rate, at least 4 MiB) so that no reply is
//!   dropped at 100,000 packets per second and more; the kernel's drop counter is
//!   reported in [`ProberStats::socket_drops`];
//! - sockets open **lazily**, per family and protocol, when the first task needs them; a
//!   failure fails that task with a message that says what to do (`raw IPv6 send socket:
//!   Operation not permitted -- run as root or with CAP_NET_RAW`);
//! - between events it sleeps until the engine's next deadline, a packet, a command or
//!   room in a full send buffer.
//!
//! Other threads and tasks talk to it through a [`ProberHandle`] (submit a command as
//! text or typed, halt a task, change the rate, read counters, shut down) and read
//! finished measurements from [`Results`], as [`vantage_model::Record`]s tagged with the
//! task id (plus, for commands with `-y N`, snapshots of running ones marked `partial`).
//!
//! Two details of the I/O shell that matter for results:
//! - transmit times are read right before the send system call; with the default of one
//!   packet per call they are exact, with [`ProberConfig::send_batch`] above 1 the later
//!   packets of a batch get the batch's start time, so RTTs are never underestimated;
//! - TCP and UDP replies from a sender using checksum offload over a veth pair (a target
//!   on the same machine, or in another network namespace) arrive with only the
//!   pseudo-header sum in their checksum field; the shell completes such checksums,
//!   as a network card would have, before the engine verifies them.
//!
//! ```no_run
//! use vantage_probe::{Prober, ProberConfig};
//!
//! let (handle, mut results, thread) = Prober::spawn(ProberConfig::with_pps(1000))?;
//! let task = handle.submit_line("ping -c 3 192.0.2.1")?;
//! drop(handle); // no more commands: the prober stops when the ping is done
//! while let Some(out) = results.blocking_recv() {
//!     assert_eq!(out.task, task);
//!     println!("{:?}", out.result);
//! }
//! thread.join()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Sockets belong to the network namespace of the thread that opens them; the prober's
//! thread (see [`Prober::spawn`]) starts in the namespace of the thread that spawns it.
//!
//! The crate also holds the daemon's two front ends, which the `vantage probe`
//! subcommand wires together: a [`ControlServer`] speaks the control protocol on a unix
//! socket or a loopback TCP port (one session per connection), and [`run_remote`] dials a
//! controller ([`RemoteConfig`]: TLS by default, optional client certificate, or
//! plaintext) and serves every channel it opens, resuming the session after a dropped
//! link and reconnecting with jittered exponential backoff.
//!
//! # What this crate is not (yet)
//! [`ControlServer::with_policy`] judges every command of the control socket and remote
//! channels against a `vantage_policy::Policy`, caps the rate and the window (tasks running
//! at once; more wait in order), and has the event loop judge every packet again right
//! before the send call (`Policy::check_packet`: a refused packet is not sent and fails its
//! task naming the rule). [`ControlServer::reload_policy`] puts a re-read policy file in
//! force while the probe runs (commands, the next packet of running tasks, rate, window,
//! do-not-probe list, audit, and a re-publication to the controller); [`watch_policy`] does
//! so on SIGHUP and reloads the do-not-probe list when its file changes; [`audit`] keeps
//! counters by measurement type, protocol and refused rule and writes them as a status file;
//! [`Prober::open_sockets`] with [`privilege`] lets the daemon drop to an unprivileged user
//! that keeps only `CAP_NET_RAW` (which a reload does not change, nor the listeners). It
//! measures ping, traceroute and MDA traceroute (`tracelb`) through the engine, and DNS (`host`), HTTP(S) (`http`) and
//! UDP probes (`udpprobe`) as `vantage-app` tasks on its runtime over ordinary sockets
//! (their results come on the same stream; `host` without `-s` asks the first nameserver
//! of `/etc/resolv.conf`, or the one `set nameserver` chose); other commands are refused at submission. It builds and parses
//! no packets itself (that is
//! `vantage-wire` through the engine) and makes no system calls of its own (that is
//! `vantage-sys`). Command-line parsing lives in `vantage-cli`.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod apptasks;
pub mod audit;
mod config;
mod error;
#[doc(hidden)]
pub mod fuzz_session;
mod guard;
mod handle;
mod reload;
mod remote;
mod serve_control;
mod session;
mod shell;
mod sockets;

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;
use vantage_command::Context;

pub use config::{DEFAULT_PPS, ProberConfig, recv_buffer_for};
pub use error::{ConfigError, ProberError, ReloadError, SubmitError, TaskError};
pub use handle::{ProberHandle, ProberStats, Results, SocketInfo, TaskOutput};
pub use reload::{reload_now, reload_policy_now, watch_do_not_probe, watch_policy};
pub use remote::{
    MAX_BACKOFF, RemoteConfig, RemoteError, RemoteOptions, RemoteTls, backoff, run_remote,
    run_remote_with,
};
pub use serve_control::{ControlServer, PolicyReload};
pub use session::VERSION;
pub use vantage_engine::TaskId;
/// Dropping to an unprivileged user that keeps only `CAP_NET_RAW` (`vantage probe --user`).
pub use vantage_sys::privilege;
/// Signal dispositions the daemon sets before its runtime starts (see `vantage probe`).
pub use vantage_sys::signals;

use handle::{Control, Shared};

/// Fuzz entry points (used by `fuzz/fuzz_targets/` and by the corpus replay test).
#[doc(hidden)]
pub mod fuzzing {
    use std::net::Ipv6Addr;
    use std::time::{Instant, SystemTime};

    use vantage_sys::{Protocol, RecvMeta};

    use crate::sockets::{finish_offloaded_checksum, ipv6_packet, transport_checksum_ok};

    /// The receive path's own work on untrusted bytes, then the engine's: the first byte
    /// picks how the rest arrived (0: an IPv4 TCP/UDP packet with its header; 1, 2: the
    /// TCP or UDP payload of a raw IPv6 socket, after 32 bytes of source and destination
    /// address; 3: an IPv4 ICMP packet). Completing an offloaded checksum must leave a
    /// packet whose checksum verifies and that a second pass does not change; nothing may
    /// panic.
    pub fn probe_rx(data: &[u8]) {
        let Some((&sel, rest)) = data.split_first() else {
            return;
        };
        let mut packet = Vec::new();
        match sel % 4 {
            1 | 2 => {
                let (Some(src), Some(dst)) = (rest.get(..16), rest.get(16..32)) else {
                    return;
                };
                let (Ok(src), Ok(dst)) = (<[u8; 16]>::try_from(src), <[u8; 16]>::try_from(dst))
                else {
                    return;
                };
                let protocol = if sel % 4 == 1 {
                    Protocol::Tcp
                } else {
                    Protocol::Udp
                };
                let meta = RecvMeta {
                    hop_limit: Some(sel),
                    ..RecvMeta::default()
                };
                let (src, dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
                if ipv6_packet(&mut packet, src, dst, &meta, protocol, &rest[32..]).is_err() {
                    return;
                }
            }
            _ => packet.extend_from_slice(rest),
        }
        if finish_offloaded_checksum(&mut packet) {
            assert_eq!(transport_checksum_ok(&packet), Some(true), "{packet:02x?}");
            let again = packet.clone();
            assert!(!finish_offloaded_checksum(&mut packet));
            assert_eq!(packet, again);
        }
        if let Ok(mut engine) = vantage_engine::Engine::new(vantage_engine::EngineConfig::default())
        {
            let _ = engine.handle_packet(Instant::now(), SystemTime::UNIX_EPOCH, &packet);
        }
    }
}

#[cfg(test)]
mod fuzz_corpus {
    use std::path::Path;

    /// Replays every file of `fuzz/corpus/probe_rx/` through the fuzz body.
    #[test]
    fn replay_probe_rx_corpus() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/probe_rx");
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            crate::fuzzing::probe_rx(&data);
            count += 1;
        }
        assert!(
            count >= 4,
            "corpus at {} has only {count} files",
            dir.display()
        );
    }
}
use shell::Shell;

/// A prober that has not started running yet: the event loop's half of the channels.
/// Run it with [`Prober::run`] on a tokio runtime, or on its own thread with
/// [`Prober::start`] / [`Prober::spawn`].
#[derive(Debug)]
pub struct Prober {
    config: ProberConfig,
    ctl: mpsc::UnboundedReceiver<Control>,
    out: mpsc::UnboundedSender<TaskOutput>,
    shared: Arc<Shared>,
    preopened: sockets::Preopened,
}

impl Prober {
    /// Opens every raw socket now, in the calling thread's network namespace (send sockets
    /// of both families; ICMP, TCP and UDP receive sockets), instead of when a task first
    /// needs them: for a probe that drops its privileges before starting (see
    /// `vantage_sys::privilege`). Returns how many are open and the messages of those that
    /// could not be (they are tried again lazily).
    pub fn open_sockets(&mut self) -> (usize, Vec<String>) {
        let errors = self
            .preopened
            .open_all(self.config.recv_buffer_bytes(), self.config.send_buffer);
        (self.preopened.count(), errors)
    }

    /// A prober with `config`, its handle and its result stream. Nothing is opened until
    /// the first task needs it.
    pub fn new(config: ProberConfig) -> Result<(Self, ProberHandle, Results), ConfigError> {
        config.validate()?;
        // The engine checks the pacer settings; build one to learn early if they are bad.
        vantage_engine::Engine::new(vantage_engine::EngineConfig {
            rate: config.pps,
            burst: config.burst,
            seed: 0,
        })?;
        let (ctl_tx, ctl) = mpsc::unbounded_channel();
        let (out, out_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::new());
        shared.window.store(
            u64::from(config.window),
            std::sync::atomic::Ordering::Relaxed,
        );
        let resolver = vantage_app::env::system_resolver(std::path::Path::new("/etc/resolv.conf"));
        let ctx = Context::new(config.pid).with_nameserver(resolver);
        let handle = ProberHandle::new(ctl_tx, Arc::clone(&shared), ctx);
        let prober = Self {
            config,
            ctl,
            out,
            shared,
            preopened: sockets::Preopened::default(),
        };
        Ok((prober, handle, Results::new(out_rx)))
    }

    /// Runs the event loop until every [`ProberHandle`] is dropped (or
    /// [`ProberHandle::shutdown`] is called) and every task has delivered its result.
    ///
    /// It needs a tokio runtime with I/O and time enabled, and its future is not `Send`
    /// (the engine is single-threaded by design): use a current-thread runtime or a
    /// `LocalSet`.
    pub async fn run(self) -> Result<(), ConfigError> {
        let mut shell = Shell::new(self.config, self.ctl, self.out, self.shared)?;
        shell.adopt(self.preopened);
        shell.run().await;
        Ok(())
    }

    /// Runs the event loop on a new thread with its own current-thread runtime. The thread
    /// starts in the network namespace of the calling thread.
    pub fn start(self) -> Result<ProberThread, ProberError> {
        let join = std::thread::Builder::new()
            .name("vantage-prober".to_owned())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .enable_time()
                    .build()
                    .map_err(ProberError::Runtime)?;
                rt.block_on(self.run())?;
                Ok(())
            })
            .map_err(ProberError::Thread)?;
        Ok(ProberThread { join })
    }

    /// [`Prober::new`] and [`Prober::start`] in one: a running prober on its own thread.
    pub fn spawn(
        config: ProberConfig,
    ) -> Result<(ProberHandle, Results, ProberThread), ProberError> {
        let (prober, handle, results) = Self::new(config)?;
        let thread = prober.start()?;
        Ok((handle, results, thread))
    }
}

/// The thread a prober runs on (see [`Prober::start`]).
#[derive(Debug)]
pub struct ProberThread {
    join: JoinHandle<Result<(), ProberError>>,
}

impl ProberThread {
    /// Waits for the prober to stop.
    pub fn join(self) -> Result<(), ProberError> {
        match self.join.join() {
            Ok(r) => r,
            Err(p) => {
                let what = p
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_owned());
                Err(ProberError::Panicked(what))
            }
        }
    }

    /// Whether the prober has stopped.
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }
}
