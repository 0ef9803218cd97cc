//! The event loop: one engine, its sockets and the command and result channels.
//!
//! One turn of the loop:
//! 1. take every waiting control message (start, halt, rate, shutdown);
//! 2. let the engine handle the deadlines that passed;
//! 3. read every waiting packet from every receive socket (`recvmmsg` batches) into the
//!    engine, with the kernel's receive timestamps;
//! 4. take the packets the pacer lets out (`poll_transmit`), send them in `sendmmsg`
//!    batches per family and report each transmit time (`on_sent`); grant the permits app
//!    tasks wait for from the same pacer ([`Engine::take_token`]), taking turns with the
//!    engine's probes when both wait;
//! 5. pass finished measurements to the result channel and publish the counters;
//! 6. sleep until the engine's next deadline, a packet, a control message, or room in a
//!    full send buffer.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::pending;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use vantage_engine::{
    Engine, EngineConfig, Event, Measurement, MeasurementSpec, SendError, TaskId,
};
use vantage_model::Record;
use vantage_sys::{BatchSent, Family, Protocol};

use crate::apptasks::{AppTasks, AppWake};
use crate::config::ProberConfig;
use crate::error::TaskError;
use crate::guard::{Guard, Proto};
use crate::handle::{Control, Shared, TaskOutput};
use crate::sockets::{
    RxSock, Sockets, TxSock, family_index, finish_offloaded_checksum, ipv6_packet, v6_addrs,
};

/// Most `recvmmsg` batches read from one socket in one turn, so that sending is not
/// starved by a flood of packets.
const MAX_RX_BATCHES_PER_TURN: usize = 32;

/// How long a cached source address is trusted before the route is looked up again.
const ROUTE_CACHE_TTL: Duration = Duration::from_secs(5);

/// Packets taken from the engine before they are sent; also the most that wait for a
/// full send buffer to drain.
const QUEUE_LIMIT: usize = 256;

/// How long to wait before retrying after a transient send failure (`ENOBUFS`).
const SEND_RETRY: Duration = Duration::from_millis(1);

/// What woke the loop up.
enum Wake {
    Control(Option<Control>),
    /// A receive socket delivered a batch (already in its buffer) or failed.
    Rx(usize, Result<usize, vantage_sys::Error>),
    /// A blocked send socket accepted packets (or failed).
    Tx(usize, Result<BatchSent, vantage_sys::Error>),
    /// An app task (`host`, `http`, `udpprobe`) finished or asks for a packet's permit.
    App(AppWake),
    Timer,
}

pub(crate) struct Shell {
    engine: Engine,
    sockets: Sockets,
    ctl: mpsc::UnboundedReceiver<Control>,
    ctl_open: bool,
    out: mpsc::UnboundedSender<TaskOutput>,
    shared: Arc<Shared>,
    config: ProberConfig,
    running: HashSet<TaskId>,
    shutting_down: bool,
    routes: HashMap<IpAddr, IpAddr>,
    routes_since: Instant,
    pool: Vec<Vec<u8>>,
    scratch: Vec<u8>,
    sent: u64,
    send_errors: u64,
    received: u64,
    apps: AppTasks,
    /// The next token goes to a waiting app task rather than the engine (they alternate
    /// while both wait).
    app_turn: bool,
    /// The VP policy every packet is judged against before it is sent, if any.
    guard: Option<Guard>,
    /// Most tasks running at once (0: no limit).
    window: u32,
    /// Tasks waiting for a free slot of the window, in order.
    queue: VecDeque<Control>,
    /// Packets handed to the send path, by family and protocol (audit).
    packets: [[u64; 4]; 2],
    /// App-task packets granted a permit (audit).
    app_packets: u64,
    /// Packets the guard stopped, by rule (audit).
    refused: BTreeMap<&'static str, u64>,
    refused_total: u64,
    /// The audit counters changed since they were last published.
    audit_dirty: bool,
}

impl Shell {
    pub(crate) fn new(
        config: ProberConfig,
        ctl: mpsc::UnboundedReceiver<Control>,
        out: mpsc::UnboundedSender<TaskOutput>,
        shared: Arc<Shared>,
    ) -> Result<Self, crate::ConfigError> {
        config.validate()?;
        let engine = Engine::new(EngineConfig {
            rate: config.pps,
            burst: config.burst,
            seed: config.seed_value(),
        })?;
        let apps = AppTasks::new();
        let config_window = config.window;
        let sockets = Sockets::new(
            config.recv_buffer_bytes(),
            config.send_buffer,
            config.recv_batch,
            config.recv_slot,
        );
        Ok(Self {
            engine,
            sockets,
            ctl,
            ctl_open: true,
            out,
            shared,
            config,
            running: HashSet::new(),
            shutting_down: false,
            routes: HashMap::new(),
            routes_since: Instant::now(),
            pool: Vec::new(),
            scratch: Vec::with_capacity(2048),
            sent: 0,
            send_errors: 0,
            received: 0,
            apps,
            app_turn: false,
            guard: None,
            window: config_window,
            queue: VecDeque::new(),
            packets: [[0; 4]; 2],
            app_packets: 0,
            refused: BTreeMap::new(),
            refused_total: 0,
            audit_dirty: false,
        })
    }

    /// Runs until every handle is gone (or shutdown was asked for) and no task is left.
    pub(crate) async fn run(mut self) {
        loop {
            self.drain_control();
            let now = Instant::now();
            self.engine.handle_timeout(now);
            self.receive_all(now);
            self.transmit(now);
            self.publish();
            self.deliver();
            self.deliver_apps();
            if self.done() {
                break;
            }
            let deadline = self.next_wake(Instant::now());
            let wake = self.wait(deadline).await;
            match wake {
                Wake::Control(Some(c)) => self.control(c),
                Wake::Control(None) => self.ctl_open = false,
                Wake::Rx(i, r) => self.received_batch(i, r.is_ok(), Instant::now()),
                Wake::Tx(i, r) => self.sent_batch(i, r, Instant::now()),
                Wake::App(AppWake::Done(id, record)) => self.app_finished(id, record),
                Wake::App(AppWake::Permit(p)) => self.apps.request(p),
                Wake::Timer => {}
            }
        }
        self.publish();
    }

    fn done(&self) -> bool {
        (!self.ctl_open || self.shutting_down)
            && self.engine.is_idle()
            && self.running.is_empty()
            && self.queue.is_empty()
    }

    /// When to wake up at the latest: the engine's next deadline, or a send retry.
    ///
    /// After a turn every deadline the engine had is in the future, unless a full send
    /// buffer held packets back (then the pacer has tokens the loop cannot use yet): a
    /// deadline at or before `now` waits a millisecond instead of spinning.
    fn next_wake(&mut self, now: Instant) -> Option<Instant> {
        let mut d = self.engine.poll_timeout();
        if self.apps.wants_permit() {
            let r = self.engine.token_ready_at(now);
            d = Some(d.map_or(r, |d| d.min(r)));
        }
        for t in self.sockets.tx.iter().flatten() {
            if let Some(r) = t.retry_at {
                d = Some(d.map_or(r, |d| d.min(r)));
            }
        }
        d.map(|d| if d <= now { now + SEND_RETRY } else { d })
    }

    async fn wait(&mut self, deadline: Option<Instant>) -> Wake {
        let [r0, r1, r2, r3, r4, r5] = &mut self.sockets.rx;
        let [t0, t1] = &mut self.sockets.tx;
        let ctl = &mut self.ctl;
        let apps = &mut self.apps;
        let ctl_open = self.ctl_open && !self.shutting_down;
        let per_call = self.config.send_batch;
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => pending().await,
            }
        };
        tokio::select! {
            biased;
            c = ctl.recv(), if ctl_open => Wake::Control(c),
            r = recv_on(r0.as_mut()) => Wake::Rx(0, r),
            r = recv_on(r3.as_mut()) => Wake::Rx(3, r),
            r = recv_on(r1.as_mut()) => Wake::Rx(1, r),
            r = recv_on(r2.as_mut()) => Wake::Rx(2, r),
            r = recv_on(r4.as_mut()) => Wake::Rx(4, r),
            r = recv_on(r5.as_mut()) => Wake::Rx(5, r),
            r = send_on(t0.as_mut(), per_call) => Wake::Tx(0, r),
            r = send_on(t1.as_mut(), per_call) => Wake::Tx(1, r),
            a = apps.recv() => Wake::App(a),
            () = sleep => Wake::Timer,
        }
    }

    fn drain_control(&mut self) {
        if self.shutting_down {
            // Stop reading: whatever is still queued is answered below.
            while let Ok(c) = self.ctl.try_recv() {
                if let Control::Submit(id, _) = c {
                    self.fail(id, TaskError::Shutdown);
                }
            }
            while let Some(c) = self.queue.pop_front() {
                if let Some(id) = queued_id(&c) {
                    self.fail(id, TaskError::Shutdown);
                }
            }
            self.publish_queue();
            return;
        }
        loop {
            match self.ctl.try_recv() {
                Ok(c) => self.control(c),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.ctl_open = false;
                    break;
                }
            }
        }
    }

    /// A control message, after the window: a command that finds the window full (or
    /// others already waiting) waits in the queue; halting a waiting one takes it out.
    fn control(&mut self, c: Control) {
        match c {
            Control::Submit(..) | Control::SubmitApp(..)
                if !self.shutting_down && (self.window_full() || !self.queue.is_empty()) =>
            {
                self.queue.push_back(c);
                self.publish_queue();
            }
            Control::Halt(id) if self.queue.iter().any(|q| queued_id(q) == Some(id)) => {
                self.queue.retain(|q| queued_id(q) != Some(id));
                self.publish_queue();
                self.fail(id, TaskError::Halted);
            }
            Control::SetPolicy(policy) => {
                self.apps.set_max_ttl(policy.config().options.max_ttl);
                self.guard = Some(Guard::new(policy));
            }
            Control::SetWindow(w) => {
                self.window = w;
                self.start_queued();
            }
            c => self.control_now(c),
        }
    }

    fn control_now(&mut self, c: Control) {
        match c {
            Control::Submit(id, spec) => {
                if self.shutting_down {
                    self.fail(id, TaskError::Shutdown);
                } else if let Err(e) = self.start(id, *spec) {
                    self.fail(id, e);
                }
            }
            Control::SubmitApp(id, cmd) => {
                if self.shutting_down {
                    self.fail(id, TaskError::Shutdown);
                } else {
                    self.apps.start(id, *cmd);
                    self.running.insert(id);
                    self.shared.tasks_started.fetch_add(1, Ordering::Relaxed);
                }
            }
            Control::Halt(id) => {
                self.engine.cancel(id);
                self.apps.halt(id);
            }
            Control::SetRate(pps) => {
                if self.engine.set_rate(pps, self.config.burst).is_ok() {
                    self.config.pps = pps;
                    if self.config.recv_buffer.is_none() {
                        let bytes = self.config.recv_buffer_bytes();
                        self.sockets.resize_recv(bytes, &self.shared);
                    }
                }
            }
            Control::Shutdown => {
                self.shutting_down = true;
                let ids: Vec<TaskId> = self.running.iter().copied().collect();
                for id in ids {
                    self.engine.cancel(id);
                }
                self.apps.halt_all();
                self.ctl.close();
                self.drain_control();
            }
            c @ (Control::SetPolicy(_) | Control::SetWindow(_)) => self.control(c),
        }
    }

    /// Takes over sockets opened before the loop started.
    pub(crate) fn adopt(&mut self, preopened: crate::sockets::Preopened) {
        self.sockets.preopened = preopened;
    }

    fn window_full(&self) -> bool {
        self.window != 0 && self.running.len() >= self.window as usize
    }

    /// Starts waiting tasks while the window has room.
    fn start_queued(&mut self) {
        let mut changed = false;
        while !self.window_full() && !self.shutting_down {
            let Some(c) = self.queue.pop_front() else {
                break;
            };
            changed = true;
            self.control_now(c);
        }
        if changed {
            self.publish_queue();
        }
    }

    fn publish_queue(&self) {
        self.shared
            .tasks_queued
            .store(self.queue.len() as u64, Ordering::Relaxed);
    }

    fn start(&mut self, id: TaskId, spec: MeasurementSpec) -> Result<(), TaskError> {
        let dst = spec.dst();
        let src = match &spec {
            MeasurementSpec::Ping(p) => p.src,
            MeasurementSpec::Trace(t) => t.src,
            MeasurementSpec::Tracelb(_) => None,
        };
        let src = match src {
            Some(s) => s,
            None => self.source_for(dst)?,
        };
        self.sockets
            .ensure(Family::of(dst), &spec, &self.shared)
            .map_err(TaskError::Socket)?;
        let label = measurement_label(&spec);
        self.engine
            .start(id, spec, src, Instant::now(), vantage_sys::clock::now())?;
        *self
            .shared
            .audit_state()
            .measurements
            .entry(label)
            .or_default() += 1;
        self.running.insert(id);
        self.shared
            .tasks_running
            .store(self.running.len() as u64, Ordering::Relaxed);
        self.shared.tasks_started.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The source address towards `dst`, from a short-lived cache or the kernel.
    fn source_for(&mut self, dst: IpAddr) -> Result<IpAddr, TaskError> {
        if self.routes_since.elapsed() > ROUTE_CACHE_TTL {
            self.routes.clear();
            self.routes_since = Instant::now();
        }
        if let Some(s) = self.routes.get(&dst) {
            return Ok(*s);
        }
        let s = vantage_sys::route::source_address(dst).map_err(|e| TaskError::NoSource {
            dst,
            reason: e
                .raw_os_error()
                .map_or_else(|| e.to_string(), crate::error::os_text),
        })?;
        self.routes.insert(dst, s);
        Ok(s)
    }

    fn fail(&mut self, task: TaskId, e: TaskError) {
        self.shared.tasks_failed.fetch_add(1, Ordering::Relaxed);
        let _ = self.out.send(TaskOutput {
            task,
            result: Err(e),
            partial: false,
        });
    }

    /// Reads every waiting packet from every receive socket.
    fn receive_all(&mut self, now: Instant) {
        for i in 0..self.sockets.rx.len() {
            for _ in 0..MAX_RX_BATCHES_PER_TURN {
                let Some(s) = self.sockets.rx[i].as_mut() else {
                    break;
                };
                let r = s.sock.get_ref().recv_batch(&mut s.batch);
                let full = matches!(r, Ok(n) if n == s.batch.slots());
                let would_block =
                    matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
                if !would_block {
                    self.received_batch(i, r.is_ok(), now);
                }
                if !full {
                    break;
                }
            }
        }
    }

    /// Feeds a received batch of socket `i` to the engine.
    fn received_batch(&mut self, i: usize, ok: bool, now: Instant) {
        let Some(s) = self.sockets.rx[i].as_mut() else {
            return;
        };
        if !ok {
            // A receive error on a raw socket (e.g. a pending ICMP error reported by the
            // kernel) concerns no packet; the next read goes on.
            return;
        }
        let RxSock {
            batch,
            family,
            protocol,
            drops,
            ..
        } = s;
        for (meta, bytes) in batch.iter() {
            self.received += 1;
            if let Some(d) = meta.drops
                && d > *drops
            {
                self.shared
                    .socket_drops
                    .fetch_add(u64::from(d - *drops), Ordering::Relaxed);
                *drops = d;
            }
            match (*family, *protocol) {
                (Family::V4, Protocol::Icmp) => {
                    self.engine.handle_packet(now, meta.timestamp, bytes);
                }
                (Family::V4, _) => {
                    self.scratch.clear();
                    self.scratch.extend_from_slice(bytes);
                    finish_offloaded_checksum(&mut self.scratch);
                    self.engine
                        .handle_packet(now, meta.timestamp, &self.scratch);
                }
                (Family::V6, Protocol::Icmp) => {
                    if let Some((src, dst)) = v6_addrs(meta) {
                        self.engine.handle_icmpv6(
                            now,
                            meta.timestamp,
                            src,
                            dst,
                            meta.hop_limit,
                            bytes,
                        );
                    }
                }
                (Family::V6, p) => {
                    if let Some((src, dst)) = v6_addrs(meta)
                        && ipv6_packet(&mut self.scratch, src, dst, meta, p, bytes).is_ok()
                    {
                        finish_offloaded_checksum(&mut self.scratch);
                        self.engine
                            .handle_packet(now, meta.timestamp, &self.scratch);
                    }
                }
            }
        }
    }

    /// Grants the oldest waiting app task's permit if the pacer has a token. `None` when no
    /// app task waits.
    fn grant_app(&mut self, now: Instant) -> Option<bool> {
        if !self.apps.wants_permit() {
            return None;
        }
        let took = self.engine.take_token(now);
        if took {
            self.apps.grant();
            self.app_packets += 1;
            self.audit_dirty = true;
        }
        Some(took)
    }

    /// Takes the packets the pacer lets out and sends them, and grants the permits of app
    /// tasks from the same tokens: while both wait, app tasks and engine probes take turns.
    fn transmit(&mut self, now: Instant) {
        let limit = QUEUE_LIMIT;
        loop {
            if self.app_turn {
                match self.grant_app(now) {
                    Some(true) => {
                        self.app_turn = false;
                        continue;
                    }
                    Some(false) => break,
                    None => {}
                }
            }
            let mut buf = self.pool.pop().unwrap_or_else(|| Vec::with_capacity(1500));
            let full = self
                .sockets
                .tx
                .iter()
                .flatten()
                .any(|t| (t.blocked || t.retry_at.is_some()) && t.pkts.len() >= limit);
            // A full send buffer leaves the engine's probes to the pacer's next turn.
            let probe = if full {
                None
            } else {
                self.engine.poll_transmit(now, &mut buf)
            };
            let Some(t) = probe else {
                self.pool.push(buf);
                // The engine has nothing to send now: the tokens left go to app tasks.
                if self.grant_app(now) == Some(true) {
                    continue;
                }
                break;
            };
            self.app_turn = true;
            let fi = family_index(Family::of(t.dst));
            if let Some(guard) = self.guard.as_mut() {
                match guard.check(&buf) {
                    Ok(proto) => self.packets[fi][proto_index(proto)] += 1,
                    Err(refusal) => {
                        // Not sent: the task ends with an error naming the rule.
                        *self.refused.entry(refusal.rule()).or_default() += 1;
                        self.refused_total += 1;
                        self.audit_dirty = true;
                        self.engine
                            .on_sent(t.probe, Err(SendError::new(libc::EPERM, refusal.message())));
                        self.pool.push(buf);
                        continue;
                    }
                }
            } else {
                self.packets[fi][proto_index(proto_of(&buf))] += 1;
            }
            self.audit_dirty = true;
            let Some(tx) = self.sockets.tx[fi].as_mut() else {
                // Cannot happen: a task starts only once its sockets are open.
                self.engine
                    .on_sent(t.probe, Err(SendError::new(libc::EBADF, "no send socket")));
                self.pool.push(buf);
                continue;
            };
            tx.pkts.push(buf);
            tx.refs.push(t.probe);
            if tx.pkts.len() >= limit && !tx.blocked && tx.retry_at.is_none() {
                self.flush(fi, now);
            }
        }
        for fi in 0..2 {
            self.flush(fi, now);
        }
    }

    /// Sends the queued packets of send socket `fi` until done or the kernel pushes back.
    fn flush(&mut self, fi: usize, now: Instant) {
        let per_call = self.config.send_batch;
        let Some(tx) = self.sockets.tx[fi].as_mut() else {
            return;
        };
        if tx.pkts.is_empty() || tx.blocked {
            return;
        }
        if let Some(r) = tx.retry_at {
            if r > now {
                return;
            }
            tx.retry_at = None;
        }
        let mut done = 0;
        while done < tx.pkts.len() {
            let end = tx.pkts.len().min(done + per_call);
            let r = tx.sock.get_ref().send_batch(&tx.pkts[done..end]);
            match r {
                Ok(b) => {
                    report_sent(&mut self.engine, &tx.refs[done..done + b.sent], &b);
                    self.sent += b.sent as u64;
                    done += b.sent;
                }
                Err(e) => {
                    if e.kind() == std::io::ErrorKind::WouldBlock {
                        tx.blocked = true;
                        break;
                    }
                    if e.is_transient() {
                        tx.retry_at = Some(now + SEND_RETRY);
                        break;
                    }
                    let index = match &e {
                        vantage_sys::Error::BadPacket { index, .. } => done + index,
                        _ => done,
                    };
                    let err = send_error(&e);
                    self.send_errors += 1;
                    self.engine.on_sent(tx.refs[index], Err(err));
                    let p = tx.pkts.remove(index);
                    tx.refs.remove(index);
                    self.pool.push(p);
                }
            }
        }
        self.pool.extend(tx.pkts.drain(..done));
        tx.refs.drain(..done);
    }

    /// A blocked send socket became writable and sent a batch (or failed).
    fn sent_batch(&mut self, fi: usize, r: Result<BatchSent, vantage_sys::Error>, now: Instant) {
        let Some(tx) = self.sockets.tx[fi].as_mut() else {
            return;
        };
        tx.blocked = false;
        match r {
            Ok(b) => {
                report_sent(&mut self.engine, &tx.refs[..b.sent], &b);
                self.sent += b.sent as u64;
                self.pool.extend(tx.pkts.drain(..b.sent));
                tx.refs.drain(..b.sent);
            }
            Err(e) if e.is_transient() => tx.retry_at = Some(now + SEND_RETRY),
            Err(_) => {}
        }
        // Whatever is left (or failed) goes through the synchronous path, which sorts out
        // per-packet errors.
        self.flush(fi, now);
    }

    /// Passes finished measurements on, after publishing the counters, so that a handle
    /// reading them after a result sees everything that led to it.
    fn deliver(&mut self) {
        let mut done = Vec::new();
        let mut finished = 0u64;
        while let Some(ev) = self.engine.poll_event() {
            let (task, result, partial) = match ev {
                Event::Finished { task, result } => (task, result, false),
                Event::Progress { task, result } => (task, result, true),
                _ => continue,
            };
            if !partial {
                self.running.remove(&task);
                finished += 1;
            }
            self.start_queued();
            let record = match result {
                Measurement::Ping(p) => Record::Ping(Box::new(p)),
                Measurement::Trace(t) => Record::Trace(Box::new(t)),
                Measurement::Tracelb(t) => Record::Tracelb(Box::new(t)),
            };
            done.push(TaskOutput {
                task,
                result: Ok(record),
                partial,
            });
        }
        if done.is_empty() {
            return;
        }
        self.shared
            .tasks_finished
            .fetch_add(finished, Ordering::Relaxed);
        self.publish();
        for out in done {
            let _ = self.out.send(out);
        }
    }

    /// Passes on the results of app tasks that finished meanwhile.
    fn deliver_apps(&mut self) {
        while let Some((id, record)) = self.apps.try_recv() {
            self.app_finished(id, record);
        }
    }

    /// App task `id` finished with `result`.
    fn app_finished(&mut self, id: TaskId, result: crate::apptasks::Finished) {
        self.apps.finished(id);
        self.running.remove(&id);
        let counter = if result.is_ok() {
            &self.shared.tasks_finished
        } else {
            &self.shared.tasks_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        // Its slot of the window is free.
        self.start_queued();
        self.publish();
        let _ = self.out.send(TaskOutput {
            task: id,
            result,
            partial: false,
        });
    }

    /// Copies the counters where handles read them.
    fn publish(&mut self) {
        if self.audit_dirty {
            self.audit_dirty = false;
            self.shared
                .refused_packets
                .store(self.refused_total, Ordering::Relaxed);
            let mut a = self.shared.audit_state();
            for (fi, fam) in ["ipv4", "ipv6"].iter().enumerate() {
                for (pi, proto) in ["icmp", "udp", "tcp", "other"].iter().enumerate() {
                    let n = self.packets[fi][pi];
                    if n > 0 {
                        a.packets.insert(format!("{fam}/{proto}"), n);
                    }
                }
            }
            if self.app_packets > 0 {
                // Datagrams and connection attempts of app tasks (any family, protocol).
                a.packets.insert("app".to_owned(), self.app_packets);
            }
            for (rule, n) in &self.refused {
                a.refused_packets.insert((*rule).to_owned(), *n);
            }
        }
        let st = self.engine.stats();
        let s = &self.shared;
        s.sent.store(self.sent, Ordering::Relaxed);
        s.send_errors.store(self.send_errors, Ordering::Relaxed);
        s.received.store(self.received, Ordering::Relaxed);
        s.matched.store(st.matched, Ordering::Relaxed);
        s.unmatched.store(st.unmatched, Ordering::Relaxed);
        s.malformed.store(st.malformed, Ordering::Relaxed);
        s.tasks_running
            .store(self.running.len() as u64, Ordering::Relaxed);
    }
}

/// Reports the transmit times of a batch the kernel accepted: the time read right before
/// the system call, for every packet of it. That is a lower bound of when each left, so a
/// round-trip time is never underestimated (later packets of a large batch get theirs
/// overestimated by up to the call's duration; see [`ProberConfig::send_batch`]).
fn report_sent(engine: &mut Engine, refs: &[vantage_engine::ProbeRef], b: &BatchSent) {
    for r in refs.iter().take(b.sent) {
        engine.on_sent(*r, Ok(b.started));
    }
}

/// The task id of a queued submission.
fn queued_id(c: &Control) -> Option<TaskId> {
    match c {
        Control::Submit(id, _) | Control::SubmitApp(id, _) => Some(*id),
        _ => None,
    }
}

/// The audit label of a measurement: `type/method`.
fn measurement_label(spec: &MeasurementSpec) -> String {
    use vantage_policy::MethodName as _;
    match spec {
        MeasurementSpec::Ping(p) => format!("ping/{}", p.method.name()),
        MeasurementSpec::Trace(t) => format!("trace/{}", t.method.name()),
        MeasurementSpec::Tracelb(t) => format!("tracelb/{}", t.method.name()),
    }
}

fn proto_index(p: Proto) -> usize {
    match p {
        Proto::Icmp => 0,
        Proto::Udp => 1,
        Proto::Tcp => 2,
        Proto::Other => 3,
    }
}

/// The transport of a packet the guard did not read (no policy): from its header.
fn proto_of(buf: &[u8]) -> Proto {
    let next = match buf.first().map(|b| b >> 4) {
        Some(4) => buf.get(9),
        Some(6) => buf.get(6),
        _ => None,
    };
    match next {
        Some(1 | 58) => Proto::Icmp,
        Some(17) => Proto::Udp,
        Some(6) => Proto::Tcp,
        _ => Proto::Other,
    }
}

fn send_error(e: &vantage_sys::Error) -> SendError {
    SendError::new(e.raw_os_error().unwrap_or(0), e.to_string())
}

async fn recv_on(s: Option<&mut RxSock>) -> Result<usize, vantage_sys::Error> {
    match s {
        Some(s) => s.sock.recv_batch(&mut s.batch).await,
        None => pending().await,
    }
}

async fn send_on(t: Option<&mut TxSock>, per_call: usize) -> Result<BatchSent, vantage_sys::Error> {
    match t {
        Some(t) if t.blocked && !t.pkts.is_empty() => {
            let n = t.pkts.len().min(per_call);
            t.sock.send_batch(&t.pkts[..n]).await
        }
        _ => pending().await,
    }
}
