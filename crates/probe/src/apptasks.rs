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

use crate::error::TaskError;

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
    /// The command's name.
    fn kind(&self) -> &'static str {
        match self {
            Self::Host(_) => "host",
            Self::Http(_) => "http",
            Self::Udpprobe(_) => "udpprobe",
        }
    }

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

/// What an app task delivers: its record, or why there is none.
pub(crate) type Finished = Result<Record, TaskError>;

/// Reports a task that ends without sending its record (a panic in the measurement), so
/// that the prober does not wait for it forever.
struct LostGuard {
    id: TaskId,
    kind: &'static str,
    done: Option<mpsc::UnboundedSender<(TaskId, Finished)>>,
}

impl LostGuard {
    fn deliver(mut self, record: Record) {
        if let Some(done) = self.done.take() {
            let _ = done.send((self.id, Ok(record)));
        }
    }
}

impl Drop for LostGuard {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send((self.id, Err(TaskError::Lost(self.kind))));
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
    done_tx: mpsc::UnboundedSender<(TaskId, Finished)>,
    done_rx: mpsc::UnboundedReceiver<(TaskId, Finished)>,
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
        let guard = LostGuard {
            id,
            kind: cmd.kind(),
            done: Some(self.done_tx.clone()),
        };
        self.halts.insert(id, halt_tx);
        tokio::spawn(async move {
            let guard = guard;
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
            guard.deliver(record);
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
    pub(crate) async fn recv(&mut self) -> (TaskId, Finished) {
        match self.done_rx.recv().await {
            Some(r) => r,
            // Cannot happen: we hold a sender ourselves.
            None => std::future::pending().await,
        }
    }

    /// A finished app task, if one is waiting.
    pub(crate) fn try_recv(&mut self) -> Option<(TaskId, Finished)> {
        self.done_rx.try_recv().ok()
    }

    /// Task `id` has delivered its result: forget it.
    pub(crate) fn finished(&mut self, id: TaskId) {
        self.halts.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task that ends without delivering (its future panicked and was dropped) is
    /// reported, so the prober does not wait for it forever.
    #[test]
    fn a_lost_task_is_reported() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let lost = LostGuard {
            id: TaskId(7),
            kind: "http",
            done: Some(tx.clone()),
        };
        drop(lost);
        let (id, r) = rx.try_recv().unwrap();
        assert_eq!(id, TaskId(7));
        let e = r.unwrap_err();
        assert_eq!(e, TaskError::Lost("http"));
        assert!(
            e.to_string()
                .contains("http measurement ended without a result")
        );

        let ok = LostGuard {
            id: TaskId(8),
            kind: "host",
            done: Some(tx),
        };
        let rec = Record::Host(Box::new(vantage_model::Host {
            list: None,
            cycle: None,
            user_id: 0,
            src: None,
            dst: "192.0.2.53".parse().unwrap(),
            start: vantage_model::Timestamp::default(),
            flags: vantage_model::HostFlags::empty(),
            wait_timeout: std::time::Duration::from_secs(1),
            stop_reason: vantage_model::HostStop::Done,
            retries: 0,
            qtype: 1,
            qclass: 1,
            qname: None,
            ecs: None,
            errmsg: None,
            queries: Vec::new(),
        }));
        ok.deliver(rec.clone());
        let (id, r) = rx.try_recv().unwrap();
        assert_eq!((id, r), (TaskId(8), Ok(rec)));
        assert!(rx.try_recv().is_err(), "delivered once, nothing on drop");
    }
}
