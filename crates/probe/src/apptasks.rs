//! The application-layer measurements (`host`, `http`, `udpprobe`) of a prober.
//!
//! They do not go through the engine: each runs as its own tokio task (the measurements of
//! `vantage-app`, over ordinary sockets) on the prober's runtime. The event loop starts
//! them, halts them through a one-shot signal, and takes their records from one channel,
//! so they come out on the same [`crate::Results`] stream as pings and traces. Every
//! datagram and TCP connection they open waits for a permit of a token bucket running at
//! the prober's packet rate (its own bucket: the engine's pacer lives inside the engine).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use vantage_app::{AppEnv, Pacing};
use vantage_command::{Command, HostSpec, HttpSpec, UdpprobeSpec};
use vantage_engine::{Pacer, TaskId};
use vantage_model::Record;

/// A measurement that runs as an app task instead of in the engine.
#[derive(Debug, Clone)]
pub(crate) enum AppCommand {
    /// A DNS query.
    Host(HostSpec),
    /// An HTTP(S) fetch.
    Http(HttpSpec),
    /// A UDP probe.
    Udpprobe(UdpprobeSpec),
}

impl AppCommand {
    /// The app command `command` is, or the command back if the engine runs it.
    #[allow(
        clippy::result_large_err,
        reason = "the command is handed straight back, by value, as it came"
    )]
    pub(crate) fn try_from_command(command: Command) -> Result<Self, Command> {
        match command {
            Command::Host(h) => Ok(Self::Host(h)),
            Command::Http(h) => Ok(Self::Http(h)),
            Command::Udpprobe(u) => Ok(Self::Udpprobe(u)),
            other => Err(other),
        }
    }
}

/// The prober's packet budget for app tasks: a token bucket at the prober's rate.
#[derive(Clone)]
pub(crate) struct ProbePacer(Arc<Mutex<Pacer>>);

impl Pacing for ProbePacer {
    async fn permit(&self) {
        loop {
            let next = {
                let mut p = self.0.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                if p.try_acquire(now) {
                    return;
                }
                p.next_ready(now)
            };
            tokio::time::sleep_until(next.into()).await;
        }
    }
}

/// The burst the engine uses for `burst` (0 picks 10 ms worth, like the engine).
fn burst_for(pps: u32, burst: u32) -> u32 {
    if burst == 0 {
        Pacer::default_burst(pps)
    } else {
        burst
    }
}

/// The running app tasks of one prober.
pub(crate) struct AppTasks {
    env: Arc<AppEnv<ProbePacer>>,
    pacer: ProbePacer,
    done_tx: mpsc::UnboundedSender<(TaskId, Record)>,
    done_rx: mpsc::UnboundedReceiver<(TaskId, Record)>,
    halts: HashMap<TaskId, oneshot::Sender<()>>,
}

impl AppTasks {
    /// App tasks paced at `pps` packets per second (burst `burst`), with `resolver` as the
    /// default nameserver of `host`.
    pub(crate) fn new(
        pps: u32,
        burst: u32,
        resolver: Option<IpAddr>,
    ) -> Result<Self, crate::ConfigError> {
        let pacer = ProbePacer(Arc::new(Mutex::new(Pacer::new(
            pps,
            burst_for(pps, burst),
        )?)));
        let env = AppEnv::new(pacer.clone()).with_resolver(resolver);
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Ok(Self {
            env: Arc::new(env),
            pacer,
            done_tx,
            done_rx,
            halts: HashMap::new(),
        })
    }

    /// Changes the packet rate.
    pub(crate) fn set_rate(&self, pps: u32, burst: u32) {
        let mut p = self.pacer.0.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = p.set_rate(pps, burst_for(pps, burst));
    }

    /// Starts `cmd` as task `id` on the current tokio runtime.
    pub(crate) fn start(&mut self, id: TaskId, cmd: AppCommand) {
        let (halt_tx, halt_rx) = oneshot::channel::<()>();
        let halt = async move {
            // A dropped sender (the prober went away) halts too.
            let _ = halt_rx.await;
        };
        let env = Arc::clone(&self.env);
        let done = self.done_tx.clone();
        self.halts.insert(id, halt_tx);
        tokio::spawn(async move {
            let record = match cmd {
                AppCommand::Host(spec) => {
                    let run = vantage_app::host::run_until(&spec, &env, halt).await;
                    Record::Host(Box::new(run.host))
                }
                AppCommand::Http(spec) => {
                    let run = vantage_app::http::run_until(&spec, &env, halt).await;
                    Record::Http(Box::new(run.http))
                }
                AppCommand::Udpprobe(spec) => {
                    let run = vantage_app::udpprobe::run_until(&spec, &env, halt).await;
                    Record::Udpprobe(Box::new(run.udpprobe))
                }
            };
            let _ = done.send((id, record));
        });
    }

    /// Halts task `id` if it is one of ours and still running; its result follows.
    pub(crate) fn halt(&mut self, id: TaskId) {
        if let Some(h) = self.halts.remove(&id) {
            let _ = h.send(());
        }
    }

    /// Halts every running app task.
    pub(crate) fn halt_all(&mut self) {
        for (_, h) in self.halts.drain() {
            let _ = h.send(());
        }
    }

    /// The next finished app task (waits; never completes while none is running).
    pub(crate) async fn recv(&mut self) -> (TaskId, Record) {
        match self.done_rx.recv().await {
            Some(r) => r,
            // Cannot happen: we hold a sender ourselves.
            None => std::future::pending().await,
        }
    }

    /// A finished app task, if one is waiting.
    pub(crate) fn try_recv(&mut self) -> Option<(TaskId, Record)> {
        self.done_rx.try_recv().ok()
    }

    /// Task `id` has delivered its result: forget it.
    pub(crate) fn finished(&mut self, id: TaskId) {
        self.halts.remove(&id);
    }
}
