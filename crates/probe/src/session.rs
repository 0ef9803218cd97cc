//! One control-protocol session (a control-socket connection, or one channel of the
//! remote link) as a state machine: client bytes in, probe bytes out, results in.
//!
//! It follows control-protocol.md §3–§7: `attach` → `OK`, `MORE`, the list record
//! (warts only) and the cycle-start record; each accepted measurement → `OK id-N`
//! and `MORE`; results as `DATA ... id-N`; `done` → `OK`, and once every task of the
//! session has delivered, the cycle-stop record and the end of the session.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use vantage_model::{Cycle, List, Record};
use vantage_proto::control::{
    self, AttachParams, Format, GetItem, OkReply, Rejection, Reply, Request, ServerMode,
    ServerParser, SetItem, ShutdownMode, TaskIdCounter,
};
use vantage_warts::Writer;
use vantage_warts::json::{JsonOptions, write_json};

use crate::{ProberHandle, Results, SubmitError, TaskId, TaskOutput};

/// The release string `get version` answers with.
pub const VERSION: &str = "20260420";

/// Routes the results of one prober to the session that submitted each task.
///
/// A result that arrives before its task is registered waits until it is; the
/// results of abandoned tasks are dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Router {
    inner: Arc<Mutex<RouterState>>,
    pps: Arc<AtomicU32>,
    shutdown: Arc<tokio::sync::watch::Sender<Option<ShutdownMode>>>,
    /// The VP policy every command is judged against before it reaches the prober (shared
    /// by every clone, replaced by a reload; watched by the remote link to re-publish it).
    policy: Arc<tokio::sync::watch::Sender<PolicyState>>,
    /// The rate the operator asked for (`--pps`, `set pps`), before the policy's ceiling.
    asked_pps: Arc<AtomicU32>,
    /// The window the operator asked for (`--window`, `set window`), before the ceiling.
    asked_window: Arc<AtomicU32>,
}

/// The policy in force and what to publish of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct PolicyState {
    /// The policy, if the probe runs with one.
    pub(crate) policy: Option<Arc<vantage_policy::Policy>>,
    /// The text of the file it was reloaded from (`None` before any reload: the text given
    /// to the remote link at start, if any, is published).
    pub(crate) text: Option<String>,
}

#[derive(Debug, Default)]
struct RouterState {
    routes: HashMap<TaskId, mpsc::UnboundedSender<TaskOutput>>,
    early: HashMap<TaskId, Vec<TaskOutput>>,
    abandoned: std::collections::HashSet<TaskId>,
}

impl Router {
    /// A router whose results come from `results`, read on a thread of its own.
    pub(crate) fn start(mut results: Results, pps: u32) -> std::io::Result<Self> {
        let router = Self {
            pps: Arc::new(AtomicU32::new(pps)),
            asked_pps: Arc::new(AtomicU32::new(pps)),
            ..Self::default()
        };
        let r = router.clone();
        std::thread::Builder::new()
            .name("vantage-results".to_owned())
            .spawn(move || {
                while let Some(out) = results.blocking_recv() {
                    r.deliver(out);
                }
            })?;
        Ok(router)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RouterState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn deliver(&self, out: TaskOutput) {
        let mut st = self.lock();
        let task = out.task;
        if st.abandoned.contains(&task) {
            if !out.partial {
                st.abandoned.remove(&task);
            }
            return;
        }
        let last = !out.partial;
        match st.routes.get(&task) {
            Some(tx) => {
                let _ = tx.send(out);
                if last {
                    st.routes.remove(&task);
                }
            }
            None => st.early.entry(task).or_default().push(out),
        }
    }

    fn register(&self, task: TaskId, tx: mpsc::UnboundedSender<TaskOutput>) {
        let mut st = self.lock();
        let mut finished = false;
        for out in st.early.remove(&task).unwrap_or_default() {
            finished |= !out.partial;
            let _ = tx.send(out);
        }
        if !finished {
            st.routes.insert(task, tx);
        }
    }

    fn abandon(&self, task: TaskId) {
        let mut st = self.lock();
        st.routes.remove(&task);
        if st
            .early
            .remove(&task)
            .is_none_or(|v| v.iter().all(|o| o.partial))
        {
            st.abandoned.insert(task);
        }
    }

    /// Judges every later command against `policy` (shared by all sessions, also those
    /// already attached); `text` is the file it was read from, for publication.
    pub(crate) fn set_policy(&self, policy: Arc<vantage_policy::Policy>, text: Option<String>) {
        self.policy.send_replace(PolicyState {
            policy: Some(policy),
            text,
        });
    }

    /// The policy commands are judged against, if any.
    pub(crate) fn policy(&self) -> Option<Arc<vantage_policy::Policy>> {
        self.policy.borrow().policy.clone()
    }

    /// The policy in force and its text.
    pub(crate) fn policy_state(&self) -> PolicyState {
        self.policy.borrow().clone()
    }

    /// A receiver told of every policy change.
    pub(crate) fn policy_changes(&self) -> tokio::sync::watch::Receiver<PolicyState> {
        self.policy.subscribe()
    }

    /// The rate the operator asked for, before the policy's ceiling.
    pub(crate) fn asked_pps(&self) -> u32 {
        self.asked_pps.load(Ordering::Relaxed)
    }

    /// The window the operator asked for, before the policy's ceiling.
    pub(crate) fn asked_window(&self) -> u32 {
        self.asked_window.load(Ordering::Relaxed)
    }

    /// Notes the window the operator asked for.
    pub(crate) fn set_asked_window(&self, window: u32) {
        self.asked_window.store(window, Ordering::Relaxed);
    }

    pub(crate) fn pps(&self) -> u32 {
        self.pps.load(Ordering::Relaxed)
    }

    /// The pending `shutdown` request, if any (`cancel` clears it).
    pub(crate) fn shutdown_requests(&self) -> tokio::sync::watch::Receiver<Option<ShutdownMode>> {
        self.shutdown.subscribe()
    }

    pub(crate) fn set_pps(&self, pps: u32) {
        self.pps.store(pps, Ordering::Relaxed);
    }
}

/// The per-session warts "file" and its list and cycle.
struct Output {
    format: Format,
    writer: Writer<Vec<u8>>,
    list: Arc<List>,
    cycle: Arc<Cycle>,
}

/// One session's state machine.
pub(crate) struct Session {
    parser: ServerParser,
    handle: ProberHandle,
    router: Router,
    tx: mpsc::UnboundedSender<TaskOutput>,
    default_name: String,
    output: Option<Output>,
    ids: TaskIdCounter,
    tasks: HashMap<TaskId, control::TaskId>,
    lines: HashMap<TaskId, String>,
    by_id: HashMap<control::TaskId, TaskId>,
    out: Vec<u8>,
    stopped: bool,
}

impl Session {
    /// A session for a freshly accepted control-socket connection (interactive mode).
    /// `default_name` is the list name when `attach` gives none. Results for its tasks
    /// arrive on the receiver returned alongside; pass them to [`Session::on_result`].
    pub(crate) fn new(
        handle: ProberHandle,
        router: Router,
        default_name: String,
    ) -> (Self, mpsc::UnboundedReceiver<TaskOutput>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let s = Self {
            parser: ServerParser::new(),
            handle,
            router,
            tx,
            default_name,
            output: None,
            ids: TaskIdCounter::new(),
            tasks: HashMap::new(),
            lines: HashMap::new(),
            by_id: HashMap::new(),
            out: Vec::new(),
            stopped: false,
        };
        (s, rx)
    }

    /// A session that starts attached with default parameters and the probe's monitor
    /// name in its list record (a remote channel, remote-protocol.md §4.4).
    pub(crate) fn attached(
        handle: ProberHandle,
        router: Router,
        default_name: String,
        monitor: Option<String>,
    ) -> (Self, mpsc::UnboundedReceiver<TaskOutput>) {
        let (mut s, rx) = Self::new(handle, router, default_name);
        s.parser = ServerParser::attached();
        s.start_output(&AttachParams {
            monitor,
            ..AttachParams::default()
        });
        (s, rx)
    }

    /// Bytes the session has to send.
    pub(crate) fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Whether the session is over once its output is written.
    pub(crate) fn should_close(&self) -> bool {
        match self.parser.mode() {
            ServerMode::Closed => true,
            ServerMode::Flush => self.tasks.is_empty(),
            _ => false,
        }
    }

    /// Bytes from the client.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        self.parser.feed(bytes);
        while let Some(req) = self.parser.poll() {
            match req {
                Ok(r) => self.request(r),
                Err(rej) => self.reply(&Reply::from(rej)),
            }
        }
        self.check_finished();
    }

    /// The client closed its side: running tasks are abandoned (halted, their results
    /// dropped), as scamper does.
    pub(crate) fn feed_eof(&mut self) {
        self.parser.feed_eof();
        self.lines.clear();
        for (task, _) in self.tasks.drain() {
            self.router.abandon(task);
            let _ = self.handle.halt(task);
        }
        self.by_id.clear();
    }

    /// A result (or partial result) of one of this session's tasks.
    pub(crate) fn on_result(&mut self, out: TaskOutput) {
        let Some(&id) = self.tasks.get(&out.task) else {
            return;
        };
        let line = if out.partial {
            None
        } else {
            self.tasks.remove(&out.task);
            self.by_id.remove(&id);
            self.lines.remove(&out.task)
        };
        match out.result {
            Ok(record) => self.write_record(record, Some(id), out.partial),
            // The control protocol has no way to fail a task after `OK id-N`, so a
            // task that could not start gets a measurement with stop reason `error`
            // and the reason in its error message: the client is never left waiting.
            Err(e) => match line.and_then(|l| self.failed_record(&l, &e)) {
                Some(record) => self.write_record(record, Some(id), false),
                None => eprintln!("vantage probe: task id-{id}: {e}"),
            },
        }
        self.check_finished();
    }

    fn reply(&mut self, reply: &Reply) {
        if reply.encode_into(&mut self.out).is_err() {
            // Only a text with a non-printable byte fails; send the bare form.
            let bare = match reply {
                Reply::Err(_) => Reply::Err(String::new()),
                _ => Reply::Ok(OkReply::Plain),
            };
            let _ = bare.encode_into(&mut self.out);
        }
    }

    fn request(&mut self, req: Request) {
        match req {
            Request::Attach(params) => {
                self.reply(&Reply::Ok(OkReply::Plain));
                self.start_output(&params);
            }
            Request::Get(item) => {
                let text = match item {
                    GetItem::Command => "null command".to_owned(),
                    GetItem::MonitorName => "null monitorname".to_owned(),
                    GetItem::Nameserver => self.handle.context().nameserver.map_or_else(
                        || "null nameserver".to_owned(),
                        |n| format!("nameserver {n}"),
                    ),
                    GetItem::Pid => format!("pid {}", self.handle.context().pid),
                    GetItem::Pps => format!("pps {}", self.router.pps()),
                    GetItem::Version => format!("version {VERSION}"),
                    GetItem::Window => format!(
                        "window {}/{}",
                        self.handle.stats().tasks_running,
                        self.handle.window()
                    ),
                };
                self.reply(&Reply::Ok(OkReply::Text(text)));
            }
            Request::Set(SetItem::Pps(n)) => {
                let asked = u32::try_from(n)
                    .ok()
                    .filter(|&p| crate::config::check_pps(p).is_ok());
                let ok = asked
                    .map(|p| {
                        self.router
                            .policy()
                            .map_or(p, |pol| p.min(pol.effective_pps(p)))
                    })
                    .filter(|&p| self.handle.set_pps(p).is_ok());
                match (asked, ok) {
                    (Some(a), Some(p)) => {
                        // A reloaded policy caps what was asked, not what was granted.
                        self.router.asked_pps.store(a, Ordering::Relaxed);
                        self.router.set_pps(p);
                        self.reply(&Reply::Ok(OkReply::Text(format!("pps {p}"))));
                    }
                    _ => self.reply(&Reply::from(Rejection::OutOfRange {
                        what: "pps",
                        value: n,
                        min: 1,
                        max: i64::from(vantage_engine::MAX_RATE),
                    })),
                }
            }
            Request::Set(SetItem::Window(n)) => match u32::try_from(n) {
                // The policy's rate.max_tasks is a ceiling: 0 (no limit) gets the ceiling.
                Ok(w) => {
                    self.router.set_asked_window(w);
                    let w = self
                        .router
                        .policy()
                        .map_or(w, |pol| pol.effective_max_tasks(w));
                    self.handle.set_window(w);
                    self.reply(&Reply::Ok(OkReply::Text(format!("window {w}"))));
                }
                Err(_) => self.reply(&Reply::from(Rejection::OutOfRange {
                    what: "window",
                    value: n,
                    min: 0,
                    max: i64::from(u32::MAX),
                })),
            },
            Request::Set(SetItem::Command(_) | SetItem::MonitorName(_)) => {
                self.reply(&Reply::Ok(OkReply::Plain));
            }
            Request::Set(SetItem::Nameserver(ns)) => match ns.parse::<std::net::IpAddr>() {
                Ok(ns) => match self.judge_nameserver(ns) {
                    Ok(()) => {
                        self.handle.set_nameserver(ns);
                        self.reply(&Reply::Ok(OkReply::Plain));
                    }
                    Err(v) => {
                        self.handle.note_refused_command(v.rule());
                        self.reply(&Reply::Err(format!("could not set nameserver: {v}")));
                    }
                },
                Err(_) => self.reply(&Reply::from(Rejection::CouldNotSet("nameserver"))),
            },
            Request::Shutdown(mode) => {
                let pending = (mode != ShutdownMode::Cancel).then_some(mode);
                self.router.shutdown.send_replace(pending);
                if mode == ShutdownMode::Now {
                    self.handle.shutdown();
                }
                self.reply(&Reply::Ok(OkReply::Plain));
            }
            Request::SourceList(_) | Request::RemoteList => {
                self.reply(&Reply::Ok(OkReply::Plain));
            }
            Request::RemoteAdd { .. } | Request::RemoteDelete(_) | Request::LssClear(_) => {
                self.reply(&Reply::Err(format!(
                    "{} is not supported by this probe; use vantage probe --remote",
                    req.keyword()
                )));
            }
            Request::Exit => {}
            Request::Done => self.reply(&Reply::Ok(OkReply::Plain)),
            Request::Halt(id) => match self.by_id.get(&id) {
                Some(&task) => {
                    let _ = self.handle.halt(task);
                    self.reply(&Reply::Ok(OkReply::Halted(id)));
                }
                None => self.reply(&Reply::from(Rejection::NoTask(id))),
            },
            Request::Command(line) => self.command(line.text()),
        }
    }

    /// A nameserver a client sets is judged by the policy's destination rules (only the one
    /// the host configured is exempt): otherwise `set nameserver` would be a way around them.
    fn judge_nameserver(&self, ns: std::net::IpAddr) -> Result<(), vantage_policy::Violation> {
        match self.router.policy() {
            Some(policy) if !self.handle.is_hosts_nameserver(ns) => policy.check_destination(ns),
            _ => Ok(()),
        }
    }

    fn command(&mut self, text: &str) {
        let submitted = match self.router.policy() {
            None => self.handle.submit_line(text),
            Some(policy) => vantage_command::Command::parse(text, &self.handle.context())
                .map_err(SubmitError::from)
                .and_then(|cmd| {
                    match policy.check(&cmd).and_then(|()| match &cmd {
                        // The default server (the policy exempts it from its prefixes) is
                        // judged again when a client set it: a reload may have denied it since.
                        vantage_command::Command::Host(h) if !h.server.is_given() => {
                            self.judge_nameserver(h.server.get())
                        }
                        _ => Ok(()),
                    }) {
                        Ok(()) => self.handle.submit(cmd),
                        Err(v) => {
                            self.handle.note_refused_command(v.rule());
                            Err(SubmitError::Policy(v))
                        }
                    }
                }),
        };
        match submitted {
            Ok(task) => {
                let id = self.ids.next_id();
                self.tasks.insert(task, id);
                self.lines.insert(task, text.to_owned());
                self.by_id.insert(id, task);
                self.router.register(task, self.tx.clone());
                self.reply(&Reply::Ok(OkReply::Task(id)));
                if !self.parser.done_received() {
                    self.reply(&Reply::More);
                }
            }
            Err(e) => {
                let reason = match e {
                    SubmitError::Command(c) => c.to_string(),
                    other => other.to_string(),
                };
                self.reply(&Reply::from(Rejection::CommandNotAccepted(Some(reason))));
            }
        }
    }

    /// The record of a task that never started: its command's kind and destination,
    /// stop reason `error`, and why.
    fn failed_record(&self, line: &str, e: &crate::TaskError) -> Option<Record> {
        let command = vantage_command::Command::parse(line, &self.handle.context()).ok()?;
        let dst = vantage_model::Addr::from(*command.probed_addresses().first()?);
        let now = vantage_model::Timestamp::now();
        match command {
            vantage_command::Command::Ping(_) => {
                let mut p = vantage_model::Ping::new(dst, now);
                p.stop_reason = vantage_model::PingStop::Error;
                p.errmsg = Some(e.to_string());
                Some(Record::Ping(Box::new(p)))
            }
            vantage_command::Command::Trace(_) => {
                let mut t = vantage_model::Trace::new(dst, now);
                t.stop_reason = vantage_model::TraceStop::Error;
                t.errmsg = Some(e.to_string());
                Some(Record::Trace(Box::new(t)))
            }
            _ => None,
        }
    }

    fn start_output(&mut self, params: &AttachParams) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
        let list = Arc::new(List {
            id: params.list_id.unwrap_or(0),
            name: params
                .name
                .clone()
                .unwrap_or_else(|| self.default_name.clone()),
            descr: params.descr.clone(),
            monitor: params.monitor.clone(),
        });
        let cycle = Arc::new(Cycle {
            list: Arc::clone(&list),
            id: params.cycle_id.unwrap_or(1),
            start_time: now,
            stop_time: None,
            hostname: hostname(),
        });
        self.output = Some(Output {
            format: params.format(),
            writer: Writer::new(Vec::new()),
            list,
            cycle: Arc::clone(&cycle),
        });
        self.reply(&Reply::More);
        if params.format() == Format::Warts {
            self.write_record(Record::List(Arc::clone(&cycle.list)), None, false);
        }
        self.write_record(Record::CycleStart(cycle), None, false);
    }

    fn check_finished(&mut self) {
        if self.stopped || !self.parser.done_received() || !self.tasks.is_empty() {
            return;
        }
        self.stopped = true;
        self.write_cycle_stop();
        self.parser.enter_flush();
    }

    fn write_cycle_stop(&mut self) {
        if let Some(o) = &self.output {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
            let mut cycle = (*o.cycle).clone();
            cycle.stop_time = Some(now);
            self.write_record(Record::CycleStop(Arc::new(cycle)), None, false);
        }
    }

    fn write_record(&mut self, mut record: Record, id: Option<control::TaskId>, inprog: bool) {
        let Some(o) = self.output.as_mut() else {
            return;
        };
        match &mut record {
            Record::Ping(p) => {
                p.list = Some(Arc::clone(&o.list));
                p.cycle = Some(Arc::clone(&o.cycle));
            }
            Record::Trace(t) => {
                t.list = Some(Arc::clone(&o.list));
                t.cycle = Some(Arc::clone(&o.cycle));
            }
            Record::Host(h) => {
                h.list = Some(Arc::clone(&o.list));
                h.cycle = Some(Arc::clone(&o.cycle));
            }
            Record::Http(h) => {
                h.list = Some(Arc::clone(&o.list));
                h.cycle = Some(Arc::clone(&o.cycle));
            }
            Record::Udpprobe(u) => {
                u.list = Some(Arc::clone(&o.list));
                u.cycle = Some(Arc::clone(&o.cycle));
            }
            _ => {}
        }
        match o.format {
            Format::Json => {
                let mut json = Vec::new();
                if write_json(&mut json, &record, &JsonOptions::live()) {
                    while json.last() == Some(&b'\n') {
                        json.pop();
                    }
                    let _ = control::encode_json_data(id, inprog, &json, &mut self.out);
                }
            }
            Format::Warts => {
                if let Err(e) = o.writer.write_record(&record) {
                    eprintln!("vantage probe: cannot write a result as warts: {e}");
                    return;
                }
                let bytes = std::mem::take(o.writer.get_mut());
                let records = split_records(&bytes);
                let n = records.len();
                for (i, rec) in records.into_iter().enumerate() {
                    // Records the writer adds before the task's own (a list or cycle
                    // definition) carry no task id.
                    let (rid, rin) = if i + 1 == n {
                        (id, inprog)
                    } else {
                        (None, false)
                    };
                    let _ = control::encode_warts_data(rid, rin, rec, &mut self.out);
                }
            }
        }
    }
}

/// Cuts a run of warts records at their headers (8 bytes: magic, type, length).
fn split_records(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while bytes.len() >= 8 {
        let len = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
        let end = (8 + len).min(bytes.len());
        out.push(&bytes[..end]);
        bytes = &bytes[end..];
    }
    out
}

/// The machine's host name, as `gethostname()` gives it.
fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

impl Session {
    /// The controller closed the channel: abandon the running tasks (as scamper does),
    /// send the cycle-stop record, and end.
    pub(crate) fn finish_abandon(&mut self) {
        self.feed_eof();
        if !self.stopped {
            self.stopped = true;
            self.write_cycle_stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Prober, ProberConfig};

    fn lines(out: &[u8]) -> Vec<String> {
        // Replies only: DATA payloads are skipped by their length.
        let mut v = Vec::new();
        let mut rest = out;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let line = String::from_utf8(rest[..nl].to_vec()).unwrap();
            rest = &rest[nl + 1..];
            if let Ok(Reply::Data(h)) = Reply::parse(&line) {
                rest = &rest[h.len..];
            }
            v.push(line);
        }
        assert!(rest.is_empty());
        v
    }

    #[test]
    fn a_session_from_attach_to_done() {
        let (_prober, handle, _results) = Prober::new(ProberConfig::with_pps(100)).unwrap();
        let (mut s, _rx) = Session::new(handle, Router::default(), "sock:0".into());
        s.feed(b"get version\nset pps 0\nattach\n");
        let out = lines(&s.take_output());
        assert_eq!(out[0], format!("OK version {VERSION}"));
        assert!(
            out[1].starts_with("ERR pps: 0 out of range (1, "),
            "{out:?}"
        );
        assert_eq!(out[2..4], ["OK", "MORE"]);
        assert!(out[4].starts_with("DATA ") && out[5].starts_with("DATA "));
        assert_eq!(out.len(), 6);

        s.feed(b"ping -c 3 192.0.2.1\nping -c 0 192.0.2.1\nhalt 1\nhalt 5\ndone\n");
        let out = lines(&s.take_output());
        assert_eq!(out[..2], ["OK id-1", "MORE"]);
        assert!(out[2].starts_with("ERR command not accepted: "), "{out:?}");
        assert_eq!(out[3..], ["OK halted 1", "ERR no task id-5", "OK"]);
        assert!(!s.should_close(), "the task is still outstanding");

        let task = *s.tasks.keys().next().unwrap();
        let ping = vantage_model::Ping::new(
            "192.0.2.1".parse().unwrap(),
            vantage_model::Timestamp::now(),
        );
        s.on_result(TaskOutput {
            task,
            result: Ok(Record::Ping(Box::new(ping))),
            partial: false,
        });
        let out = lines(&s.take_output());
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].starts_with("DATA ") && out[0].ends_with(" id-1"));
        assert!(out[1].starts_with("DATA ") && !out[1].contains("id-"));
        assert!(s.should_close());
    }
}
