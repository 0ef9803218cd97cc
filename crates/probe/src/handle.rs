//! The other side of a running prober: submit commands, halt tasks, read counters and
//! receive results, from any task or thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;
use vantage_command::{Command, Context};
use vantage_engine::{MeasurementSpec, TaskId};
use vantage_model::Record;

use crate::apptasks::AppCommand;
use crate::audit::{AuditReport, AuditState, PolicyStatus};
use crate::config::check_pps;
use crate::error::{ConfigError, SubmitError, TaskError};

/// What a handle asks of the event loop.
#[derive(Debug)]
pub(crate) enum Control {
    /// Start a measurement.
    Submit(TaskId, Box<MeasurementSpec>),
    /// Start an application-layer measurement (`host`, `http`, `udpprobe`).
    SubmitApp(TaskId, Box<AppCommand>),
    /// Halt a running task (it ends with what it has).
    Halt(TaskId),
    /// Change the packet rate.
    SetRate(u32),
    /// Halt every task and stop.
    Shutdown,
    /// Judge every packet against this policy right before it is sent.
    SetPolicy(Arc<vantage_policy::Policy>),
    /// Run at most this many tasks at once (0: no limit); later ones wait.
    SetWindow(u32),
}

/// A finished task: its measurement, or why there is none (or, with `-y`, a running
/// task's measurement so far).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskOutput {
    /// The id [`ProberHandle::submit`] returned.
    pub task: TaskId,
    /// The measurement ([`Record::Ping`], [`Record::Trace`], [`Record::Host`],
    /// [`Record::Http`] or [`Record::Udpprobe`]; halted and failed
    /// measurements say so in their stop reason), or why the task never started.
    pub result: Result<Record, TaskError>,
    /// This is a snapshot of a task still running (stop reason `inprogress`), sent after
    /// every N replies when the command asked for it (`-y N`); the final result follows.
    pub partial: bool,
}

/// Counters of a prober, for monitoring. All are totals since the prober started, except
/// `tasks_running`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ProberStats {
    /// Packets sent.
    pub sent: u64,
    /// Packets that could not be sent (their task ends with an error).
    pub send_errors: u64,
    /// Packets read from the receive sockets (every packet the kernel handed over, ours
    /// or not).
    pub received: u64,
    /// Received packets that answered a probe.
    pub matched: u64,
    /// Received packets that answered none of our probes.
    pub unmatched: u64,
    /// Received packets that could not be parsed.
    pub malformed: u64,
    /// Packets the kernel dropped because a receive buffer was full (`SO_RXQ_OVFL`, summed
    /// over the sockets). Non-zero means replies may have been lost: lower the rate or
    /// raise the buffer.
    pub socket_drops: u64,
    /// Tasks running now.
    pub tasks_running: u64,
    /// Tasks started.
    pub tasks_started: u64,
    /// Tasks that produced a result (including halted and failed measurements).
    pub tasks_finished: u64,
    /// Tasks that never started (see [`TaskError`]).
    pub tasks_failed: u64,
    /// Commands accepted and waiting for a free slot of the window
    /// ([`ProberHandle::set_window`]).
    pub tasks_queued: u64,
    /// Packets the VP policy stopped right before sending (their tasks ended with an error
    /// naming the rule).
    pub refused_packets: u64,
}

/// A socket the prober opened, with the buffer it obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketInfo {
    /// What the socket is (`raw ICMP socket`, `raw IPv6 send socket`, ...).
    pub kind: String,
    /// The buffer it asked for and what the kernel granted.
    pub buffer: String,
}

/// Counters shared between the event loop (writer) and handles (readers).
#[derive(Debug, Default)]
pub(crate) struct Shared {
    next_task: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) send_errors: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) matched: AtomicU64,
    pub(crate) unmatched: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) socket_drops: AtomicU64,
    pub(crate) tasks_running: AtomicU64,
    pub(crate) tasks_started: AtomicU64,
    pub(crate) tasks_finished: AtomicU64,
    pub(crate) tasks_failed: AtomicU64,
    pub(crate) tasks_queued: AtomicU64,
    pub(crate) refused_packets: AtomicU64,
    pub(crate) window: AtomicU64,
    pub(crate) sockets: Mutex<Vec<SocketInfo>>,
    pub(crate) audit: Mutex<AuditState>,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Self {
            next_task: AtomicU64::new(1),
            ..Self::default()
        }
    }

    fn snapshot(&self) -> ProberStats {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ProberStats {
            sent: r(&self.sent),
            send_errors: r(&self.send_errors),
            received: r(&self.received),
            matched: r(&self.matched),
            unmatched: r(&self.unmatched),
            malformed: r(&self.malformed),
            socket_drops: r(&self.socket_drops),
            tasks_running: r(&self.tasks_running),
            tasks_started: r(&self.tasks_started),
            tasks_finished: r(&self.tasks_finished),
            tasks_failed: r(&self.tasks_failed),
            tasks_queued: r(&self.tasks_queued),
            refused_packets: r(&self.refused_packets),
        }
    }

    pub(crate) fn audit_state(&self) -> std::sync::MutexGuard<'_, AuditState> {
        self.audit.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Submits commands to a prober and controls it. Cheap to clone; usable from any thread
/// or task. The prober stops once every handle is dropped and its tasks are done.
#[derive(Debug, Clone)]
pub struct ProberHandle {
    tx: mpsc::UnboundedSender<Control>,
    shared: Arc<Shared>,
    /// Replaced as a whole by `set nameserver`; commands parse with a snapshot.
    ctx: Arc<std::sync::RwLock<Arc<Context>>>,
    /// The nameserver the host configured (/etc/resolv.conf at start): the only default
    /// server of `host` that the policy's destination rules do not judge.
    hosts_nameserver: Option<std::net::IpAddr>,
}

impl ProberHandle {
    pub(crate) fn new(
        tx: mpsc::UnboundedSender<Control>,
        shared: Arc<Shared>,
        ctx: Context,
    ) -> Self {
        Self {
            tx,
            shared,
            hosts_nameserver: ctx.nameserver,
            ctx: Arc::new(std::sync::RwLock::new(Arc::new(ctx))),
        }
    }

    /// Starts a measurement and returns its task id at once; the result arrives on
    /// [`Results`] with that id.
    pub fn submit(&self, command: Command) -> Result<TaskId, SubmitError> {
        let command = match AppCommand::try_from_command(command) {
            Ok(app) => {
                let id = TaskId(self.shared.next_task.fetch_add(1, Ordering::Relaxed));
                self.send(Control::SubmitApp(id, Box::new(app)))?;
                return Ok(id);
            }
            Err(command) => command,
        };
        let kind = command.kind();
        let spec = MeasurementSpec::try_from(command)
            .map_err(|_| SubmitError::Unsupported(kind.as_str()))?;
        self.submit_spec(spec)
    }

    /// Parses a command line of the measurement language (`ping -c 3 192.0.2.1`) and
    /// starts it, like [`ProberHandle::submit`].
    pub fn submit_line(&self, line: &str) -> Result<TaskId, SubmitError> {
        let command = Command::parse(line, &self.context())?;
        self.submit(command)
    }

    /// Starts a typed ping or trace.
    pub fn submit_spec(&self, spec: impl Into<MeasurementSpec>) -> Result<TaskId, SubmitError> {
        let id = TaskId(self.shared.next_task.fetch_add(1, Ordering::Relaxed));
        self.send(Control::Submit(id, Box::new(spec.into())))?;
        Ok(id)
    }

    /// Halts a task: it ends now with what it has measured (stop reason `halted`) and its
    /// result arrives as usual. Halting a task that has finished does nothing.
    pub fn halt(&self, task: TaskId) -> Result<(), SubmitError> {
        self.send(Control::Halt(task))
    }

    /// Changes the packet rate shared by all tasks: the one budget the engine's probes and
    /// the packets of `host`, `http` and `udpprobe` tasks (one per DNS query, UDP probe or
    /// TCP connection attempt) all draw from.
    pub fn set_pps(&self, pps: u32) -> Result<(), ConfigError> {
        check_pps(pps)?;
        // A stopped prober has no rate to change; that is not worth an error.
        let _ = self.send(Control::SetRate(pps));
        Ok(())
    }

    /// Halts every task and stops the prober once their results are delivered. Commands
    /// submitted afterwards fail with [`TaskError::Shutdown`] or [`SubmitError::Closed`].
    pub fn shutdown(&self) {
        let _ = self.send(Control::Shutdown);
    }

    /// Judges every packet of every later send against `policy`, right before the send
    /// system call: a packet it refuses is not sent, is counted (by rule, in
    /// [`ProberHandle::audit`]), and its task ends with an error naming the rule. The
    /// policy's do-not-probe list is shared: reloading it applies to the next packet.
    ///
    /// Called again (a reloaded policy), it replaces the policy for the next packet of every
    /// task, also of tasks already running; the audit's reload counters carry over.
    pub fn set_policy(&self, policy: Arc<vantage_policy::Policy>) {
        {
            let mut st = self.shared.audit_state();
            let mut status = PolicyStatus::of(&policy);
            if let Some(old) = st.policy.take() {
                status.carry_counters(&old);
            }
            st.policy = Some(status);
        }
        let _ = self.send(Control::SetPolicy(policy));
    }

    /// Notes a reload of the whole policy file in the audit: on success (the policy is
    /// already set), one more reload of the policy and, when it has one, of its list; on
    /// failure, the error (the old policy stays in force).
    pub(crate) fn note_policy_reload(
        &self,
        path: &std::path::Path,
        outcome: Result<&vantage_policy::Policy, String>,
    ) {
        let mut st = self.shared.audit_state();
        let status = st.policy.get_or_insert_with(PolicyStatus::default);
        status.policy_file = Some(path.display().to_string());
        match outcome {
            Ok(policy) => {
                status.policy_reloads += 1;
                status.last_policy_reload_error = None;
                if policy.do_not_probe().is_some() {
                    status.reloads += 1;
                    status.last_reload_error = None;
                }
            }
            Err(e) => {
                status.policy_reload_errors += 1;
                status.last_policy_reload_error = Some(e);
            }
        }
    }

    /// Runs at most `window` tasks at once (0: no limit, the default). Commands beyond it
    /// are accepted and wait, in order, until a running task finishes.
    pub fn set_window(&self, window: u32) {
        self.shared
            .window
            .store(u64::from(window), Ordering::Relaxed);
        let _ = self.send(Control::SetWindow(window));
    }

    /// The window set last (0: no limit).
    pub fn window(&self) -> u32 {
        u32::try_from(self.shared.window.load(Ordering::Relaxed)).unwrap_or(u32::MAX)
    }

    /// Reloads the do-not-probe list of `policy` (the one given to
    /// [`ProberHandle::set_policy`]) and notes the outcome in the audit. On an error the
    /// previous list stays in force. `None` when the policy has no list.
    pub fn reload_do_not_probe(
        &self,
        policy: &vantage_policy::Policy,
    ) -> Option<Result<usize, vantage_policy::DnpError>> {
        let dnp = policy.do_not_probe()?;
        let r = dnp.reload();
        let mut st = self.shared.audit_state();
        let status = st.policy.get_or_insert_with(|| PolicyStatus::of(policy));
        match &r {
            Ok(_) => {
                status.reloads += 1;
                status.last_reload_error = None;
                status.refresh(policy);
            }
            Err(e) => {
                status.reload_errors += 1;
                status.last_reload_error = Some(e.to_string());
            }
        }
        Some(r)
    }

    /// Counts a command the policy refused, under the rule's key.
    pub(crate) fn note_refused_command(&self, rule: &str) {
        *self
            .shared
            .audit_state()
            .refused_commands
            .entry(rule.to_owned())
            .or_default() += 1;
    }

    /// The audit counters now: measurements by type, packets by protocol, refusals by
    /// rule, the policy in force. `pps` is the rate to report (the caller knows the
    /// current one).
    pub fn audit(&self, pps: u32) -> AuditReport {
        let state = self.shared.audit_state().clone();
        let stats = self.stats();
        AuditReport::new(
            stats,
            state,
            std::process::id(),
            pps,
            self.window(),
            stats.tasks_queued,
        )
    }

    /// The prober's counters now.
    pub fn stats(&self) -> ProberStats {
        self.shared.snapshot()
    }

    /// The sockets opened so far and their buffer sizes.
    pub fn sockets(&self) -> Vec<SocketInfo> {
        self.shared
            .sockets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The context command lines are parsed with now (the prober's process id, the default
    /// nameserver of `host`).
    pub fn context(&self) -> Arc<Context> {
        Arc::clone(&self.ctx.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether `addr` is the nameserver the host itself configured (/etc/resolv.conf when
    /// the prober started), which a `host` command may use whatever the policy's prefixes
    /// say; one set with [`ProberHandle::set_nameserver`] is judged like any destination.
    pub fn is_hosts_nameserver(&self, addr: std::net::IpAddr) -> bool {
        self.hosts_nameserver == Some(addr)
    }

    /// Makes `nameserver` the server of later `host` commands that name none (`set
    /// nameserver` on the control protocol); commands already parsed keep theirs.
    pub fn set_nameserver(&self, nameserver: std::net::IpAddr) {
        let mut ctx = self.ctx.write().unwrap_or_else(PoisonError::into_inner);
        *ctx = Arc::new((**ctx).clone().with_nameserver(Some(nameserver)));
    }

    /// Whether the prober has stopped.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    fn send(&self, c: Control) -> Result<(), SubmitError> {
        self.tx.send(c).map_err(|_| SubmitError::Closed)
    }
}

/// The stream of finished tasks of one prober, in the order they finish. It ends (`None`)
/// when the prober has stopped and every result has been taken.
#[derive(Debug)]
pub struct Results {
    rx: mpsc::UnboundedReceiver<TaskOutput>,
}

impl Results {
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<TaskOutput>) -> Self {
        Self { rx }
    }

    /// Waits for the next finished task.
    pub async fn recv(&mut self) -> Option<TaskOutput> {
        self.rx.recv().await
    }

    /// Waits for the next finished task, blocking the thread. Do not call it from inside
    /// an async runtime.
    pub fn blocking_recv(&mut self) -> Option<TaskOutput> {
        self.rx.blocking_recv()
    }

    /// The next finished task if one is waiting.
    pub fn try_recv(&mut self) -> Option<TaskOutput> {
        self.rx.try_recv().ok()
    }
}
