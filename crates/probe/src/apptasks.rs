//! The application-layer measurements (`host`, `http`, `udpprobe`) of a prober.
//!
//! They do not go through the engine: each runs as its own tokio task (the measurements of
//! `vantage-app`, over ordinary sockets) on the prober's runtime. The event loop starts
//! them, halts them through a one-shot signal, and takes their records from one channel,
//! so they come out on the same [`crate::Results`] stream as pings and traces.
//!
//! One packet budget: every packet an app task originates -- one DNS query (each
//! attempt, UDP or TCP), one UDP probe datagram, one TCP connection attempt (`http`, `host
//! -T`) -- first asks the event loop for a permit, and the loop grants it with a token
//! of the engine's own pacer ([`vantage_engine::Engine::take_token`]), the one ping and
//! traceroute probes draw from. Requests wait in one FIFO; when both app tasks and engine
//! probes wait, the loop alternates between them, so neither starves the other. Packets
//! that follow on an open TCP connection (handshake, TLS, the HTTP exchange) are part of
//! the one attempt and take no further permit.
//!
//! Their sockets' TTL / hop limit is capped at the VP policy's `options.max_ttl`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use vantage_app::{AppEnv, Pacing};
use vantage_command::{Command, HostSpec, HttpSpec, UdpprobeSpec};
use vantage_engine::TaskId;
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

/// A request for one packet's permit: the event loop answers on it when the packet may
/// leave.
pub(crate) type PermitRequest = oneshot::Sender<()>;

/// The prober's packet budget as app tasks see it: each permit is asked of the event loop,
/// which grants it from the engine's pacer.
#[derive(Clone)]
pub(crate) struct ProbePacer(mpsc::UnboundedSender<PermitRequest>);

impl Pacing for ProbePacer {
    async fn permit(&self) {
        let (tx, rx) = oneshot::channel();
        // Without the event loop there is no budget: never send unpaced (the task is
        // dropped with the loop's runtime anyway).
        if self.0.send(tx).is_err() || rx.await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// What the app side of the prober woke the event loop for.
pub(crate) enum AppWake {
    /// An app task finished.
    Done(TaskId, Finished),
    /// An app task asks for a packet's permit.
    Permit(PermitRequest),
}

/// The running app tasks of one prober.
pub(crate) struct AppTasks {
    env: Arc<AppEnv<ProbePacer>>,
    done_tx: mpsc::UnboundedSender<(TaskId, Finished)>,
    done_rx: mpsc::UnboundedReceiver<(TaskId, Finished)>,
    permit_rx: mpsc::UnboundedReceiver<PermitRequest>,
    /// Permit requests not yet granted, oldest first.
    waiting: VecDeque<PermitRequest>,
    halts: HashMap<TaskId, oneshot::Sender<()>>,
}

impl AppTasks {
    /// App tasks whose packets wait for [`AppTasks::grant`]. A `host` command that names
    /// no server was given the prober's default nameserver when it was parsed (the
    /// handle's context: /etc/resolv.conf at start, or `set nameserver`), so the
    /// environment has no resolver of its own to override it with.
    pub(crate) fn new() -> Self {
        let (permit_tx, permit_rx) = mpsc::unbounded_channel();
        let env = AppEnv::new(ProbePacer(permit_tx));
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Self {
            env: Arc::new(env),
            done_tx,
            done_rx,
            permit_rx,
            waiting: VecDeque::new(),
            halts: HashMap::new(),
        }
    }

    /// Caps the TTL / hop limit of the sockets of app tasks started from now on (the
    /// policy's `options.max_ttl`; 255 leaves the system default).
    pub(crate) fn set_max_ttl(&mut self, max_ttl: u8) {
        let env = (*self.env).clone().with_max_ttl(Some(max_ttl));
        self.env = Arc::new(env);
    }

    /// Queues a permit request.
    pub(crate) fn request(&mut self, r: PermitRequest) {
        self.waiting.push_back(r);
    }

    /// Takes every permit request that has arrived into the queue.
    fn take_requests(&mut self) {
        while let Ok(r) = self.permit_rx.try_recv() {
            self.waiting.push_back(r);
        }
    }

    /// Whether a live task waits for a permit (requests of halted tasks are dropped).
    pub(crate) fn wants_permit(&mut self) -> bool {
        self.take_requests();
        while self.waiting.front().is_some_and(oneshot::Sender::is_closed) {
            self.waiting.pop_front();
        }
        !self.waiting.is_empty()
    }

    /// Grants the oldest waiting request (call after taking a token for it).
    pub(crate) fn grant(&mut self) {
        if let Some(r) = self.waiting.pop_front() {
            let _ = r.send(());
        }
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

    /// The next finished app task or permit request (waits; never completes while no app
    /// task is running).
    pub(crate) async fn recv(&mut self) -> AppWake {
        tokio::select! {
            biased;
            Some((id, r)) = self.done_rx.recv() => AppWake::Done(id, r),
            Some(p) = self.permit_rx.recv() => AppWake::Permit(p),
            // Cannot happen: we hold a sender of each ourselves.
            else => std::future::pending().await,
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
