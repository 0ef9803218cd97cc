//! One channel's state: the control-protocol session, the warts decoder and the
//! queue of events waiting for the user. No I/O here: bytes in, events out.

use crate::error::{ChannelEnd, TaskError};
use std::collections::{HashMap, VecDeque};
use std::task::Waker;
use vantage_model::Record;
use vantage_proto::control::{
    ClientEvent, ClientSession, CommandLine, DataObject, OkReply, Request, TaskId,
};
use vantage_proto::mux::VpId;
use vantage_warts::Decoder;

/// A local number for one request sent on a channel, known as soon as it is
/// sent (the probe's [`TaskId`] only comes with its `OK id-N` reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub u64);

/// A measurement result: one record decoded from a `DATA` object.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskResult {
    /// The task the record belongs to. `None` only for a result that a probe too
    /// old to label its results (`DATA` without `id-N`) sent while several tasks
    /// were pending, so that it could not be attributed.
    pub task: Option<TaskId>,
    /// The ticket of the command that started the task, when known.
    pub ticket: Option<Ticket>,
    /// The command line that started the task, when known.
    pub command: Option<String>,
    /// Whether this is an in-progress snapshot (`-y stream`); the task's final
    /// result follows later.
    pub inprog: bool,
    /// The decoded record.
    pub record: Record,
}

/// A task that ended without a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// The task id, if the probe had accepted the command.
    pub task: Option<TaskId>,
    /// The ticket of the command.
    pub ticket: Ticket,
    /// The command line.
    pub command: String,
    /// Why it ended.
    pub error: TaskError,
}

/// How a task ended (or progressed): what [`crate::Channel::next_result`] and
/// friends deliver.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A result record.
    Result(TaskResult),
    /// A task that ended without a result.
    Failed(TaskFailure),
}

/// Everything that happens on a channel, in order: what
/// [`crate::Channel::next_event`] and friends deliver.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `MORE`: the probe's queue for this channel is empty; send another command.
    /// Also given right after a command the probe refused (`ERR`), which the
    /// probe itself follows with no `MORE`.
    More,
    /// A command sent with [`crate::Channel::submit`] was accepted as `task`.
    Accepted {
        /// The ticket [`crate::Channel::submit`] returned.
        ticket: Ticket,
        /// The probe's task id.
        task: TaskId,
    },
    /// A list or cycle record (bookkeeping that frames the results).
    Meta(Record),
    /// A result or a failed task.
    Outcome(Outcome),
    /// The channel is over (always the last event).
    Ended(ChannelEnd),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Request2 {
    Command { text: String, sync: bool },
    Halt,
    Done,
}

/// The reply to a request that someone waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ack {
    Task(TaskId),
    Ok,
    Err(String),
    Ended(ChannelEnd),
}

/// The state of one channel.
pub(crate) struct ChanState {
    pub(crate) vp: Option<VpId>,
    session: ClientSession<Ticket>,
    warts: Decoder,
    requests: HashMap<Ticket, Request2>,
    tasks: HashMap<TaskId, (Ticket, String)>,
    pub(crate) acks: HashMap<Ticket, Ack>,
    pub(crate) ack_wakers: HashMap<Ticket, Waker>,
    pub(crate) queue: VecDeque<Event>,
    pub(crate) waker: Option<Waker>,
    pub(crate) end: Option<ChannelEnd>,
    done_sent: bool,
    next_ticket: u64,
}

impl ChanState {
    /// A channel whose peer is already attached (mux channels, and control
    /// connections once `attach` was answered).
    pub(crate) fn attached(vp: Option<VpId>) -> Self {
        Self {
            vp,
            session: ClientSession::attached(),
            warts: Decoder::new(),
            requests: HashMap::new(),
            tasks: HashMap::new(),
            acks: HashMap::new(),
            ack_wakers: HashMap::new(),
            queue: VecDeque::new(),
            waker: None,
            end: None,
            done_sent: false,
            next_ticket: 1,
        }
    }

    pub(crate) fn pending_tasks(&self) -> usize {
        self.tasks.len()
            + self
                .requests
                .values()
                .filter(|r| matches!(r, Request2::Command { .. }))
                .count()
    }

    fn ticket(&mut self) -> Ticket {
        let t = Ticket(self.next_ticket);
        self.next_ticket += 1;
        t
    }

    fn check_open(&self) -> Result<(), crate::Error> {
        if let Some(e) = &self.end {
            return Err(crate::Error::ChannelEnded(e.clone()));
        }
        if self.done_sent {
            return Err(crate::Error::DoneSent);
        }
        Ok(())
    }

    /// Encodes a measurement command into `out`; `sync` callers wait for the
    /// reply through `acks` instead of the event queue.
    pub(crate) fn command(
        &mut self,
        text: &str,
        sync: bool,
        out: &mut Vec<u8>,
    ) -> Result<Ticket, crate::Error> {
        self.check_open()?;
        let line = CommandLine::new(text.trim_end_matches(['\n', '\r'])).map_err(|source| {
            crate::Error::InvalidCommand {
                command: text.to_owned(),
                source,
            }
        })?;
        let t = self.ticket();
        let text = line.text().to_owned();
        self.session.send(&Request::Command(line), t, out)?;
        self.requests.insert(t, Request2::Command { text, sync });
        Ok(t)
    }

    pub(crate) fn halt(&mut self, task: TaskId, out: &mut Vec<u8>) -> Result<Ticket, crate::Error> {
        self.check_open()?;
        let t = self.ticket();
        self.session.send(&Request::Halt(task), t, out)?;
        self.requests.insert(t, Request2::Halt);
        Ok(t)
    }

    pub(crate) fn done(&mut self, out: &mut Vec<u8>) -> Result<(), crate::Error> {
        // A repeated `done` is a no-op, even once the first one has finished
        // the channel.
        if self.done_sent {
            return Ok(());
        }
        if let Some(e) = &self.end {
            return Err(crate::Error::ChannelEnded(e.clone()));
        }
        let t = self.ticket();
        self.session.send(&Request::Done, t, out)?;
        self.requests.insert(t, Request2::Done);
        self.done_sent = true;
        Ok(())
    }

    /// Bytes from the probe.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        if self.end.is_some() {
            return;
        }
        self.session.feed(bytes);
        self.drain();
    }

    /// The probe closed the channel.
    pub(crate) fn feed_eof(&mut self) {
        if self.end.is_some() {
            return;
        }
        self.session.feed_eof();
        self.drain();
        if self.end.is_none() {
            let reason = if self.done_sent {
                ChannelEnd::Finished
            } else {
                ChannelEnd::ClosedByPeer
            };
            self.finish(reason);
        }
    }

    fn drain(&mut self) {
        while let Some(ev) = self.session.poll() {
            match ev {
                Ok(ev) => self.on_event(ev),
                Err(e) => {
                    self.finish(ChannelEnd::Protocol(e.to_string()));
                    return;
                }
            }
        }
    }

    fn ack(&mut self, t: Ticket, ack: Ack) {
        self.acks.insert(t, ack);
        if let Some(w) = self.ack_wakers.remove(&t) {
            w.wake();
        }
    }

    fn on_event(&mut self, ev: ClientEvent<Ticket>) {
        match ev {
            ClientEvent::Accepted { token, id } => {
                if let Some(Request2::Command { text, sync }) = self.requests.remove(&token) {
                    self.tasks.insert(id, (token, text));
                    if sync {
                        self.ack(token, Ack::Task(id));
                    } else {
                        self.queue.push_back(Event::Accepted {
                            ticket: token,
                            task: id,
                        });
                    }
                }
            }
            ClientEvent::Ok { token, reply } => {
                if self.requests.remove(&token).is_some() {
                    let ack = match reply {
                        OkReply::Task(id) => Ack::Task(id),
                        _ => Ack::Ok,
                    };
                    self.ack(token, ack);
                }
            }
            ClientEvent::Err { token, text } => match self.requests.remove(&token) {
                Some(Request2::Command {
                    text: command,
                    sync,
                }) => {
                    if sync {
                        self.ack(token, Ack::Err(text));
                    } else {
                        self.queue
                            .push_back(Event::Outcome(Outcome::Failed(TaskFailure {
                                task: None,
                                ticket: token,
                                command,
                                error: TaskError::Rejected(text),
                            })));
                    }
                    // A prober sends no MORE after refusing a command, yet the refused
                    // command used no room: say MORE here, so a client that issues work
                    // only on MORE (a Python `morecb`) is asked again instead of idling.
                    self.queue.push_back(Event::More);
                }
                Some(_) => self.ack(token, Ack::Err(text)),
                None => {}
            },
            ClientEvent::More => self.queue.push_back(Event::More),
            ClientEvent::Info(_) => {}
            ClientEvent::Data(obj) => self.on_data(&obj),
            ClientEvent::Eof => {}
        }
    }

    fn on_data(&mut self, obj: &DataObject) {
        self.warts.push(&obj.payload);
        loop {
            match self.warts.next_record() {
                Ok(Some(record)) => self.on_record(obj, record),
                Ok(None) => break,
                Err(e) => {
                    let error = TaskError::Undecodable(e.to_string());
                    if let Some((id, (ticket, command))) = obj
                        .id
                        .and_then(|id| self.tasks.remove(&id).map(|t| (id, t)))
                    {
                        self.queue
                            .push_back(Event::Outcome(Outcome::Failed(TaskFailure {
                                task: Some(id),
                                ticket,
                                command,
                                error,
                            })));
                    }
                }
            }
        }
    }

    fn on_record(&mut self, obj: &DataObject, record: Record) {
        if matches!(
            record,
            Record::List(_) | Record::CycleStart(_) | Record::CycleDef(_) | Record::CycleStop(_)
        ) {
            self.queue.push_back(Event::Meta(record));
            return;
        }
        // A probe that predates `id-N` on DATA lines (scamper before 2023)
        // labels nothing: attribute the record when only one task can own it,
        // else to the oldest pending task whose command has the record's type
        // and destination.
        let id = obj.id.or_else(|| {
            if self.tasks.len() == 1 {
                self.tasks.keys().next().copied()
            } else {
                let (kind, dst) = record_key(&record)?;
                self.tasks
                    .iter()
                    .filter(|(_, (_, cmd))| command_matches(cmd, kind, &dst))
                    .map(|(id, _)| *id)
                    .min_by_key(|id| id.get())
            }
        });
        let known = id.and_then(|id| {
            if obj.inprog && obj.id.is_some() {
                self.tasks.get(&id).cloned()
            } else {
                self.tasks.remove(&id)
            }
        });
        let (ticket, command) = match known {
            Some((t, c)) => (Some(t), Some(c)),
            None => (None, None),
        };
        self.queue
            .push_back(Event::Outcome(Outcome::Result(TaskResult {
                task: id,
                ticket,
                command,
                inprog: obj.inprog,
                record,
            })));
    }

    /// Ends the channel: every request awaiting a reply and every pending task
    /// fails with `reason`; `Ended` is the last event.
    pub(crate) fn finish(&mut self, reason: ChannelEnd) {
        if self.end.is_some() {
            return;
        }
        let mut requests: Vec<(Ticket, Request2)> = self.requests.drain().collect();
        requests.sort_by_key(|(t, _)| *t);
        for (t, r) in requests {
            match r {
                Request2::Command { text, sync: false } => {
                    self.queue
                        .push_back(Event::Outcome(Outcome::Failed(TaskFailure {
                            task: None,
                            ticket: t,
                            command: text,
                            error: TaskError::Ended(reason.clone()),
                        })));
                }
                _ => self.ack(t, Ack::Ended(reason.clone())),
            }
        }
        let mut tasks: Vec<(TaskId, (Ticket, String))> = self.tasks.drain().collect();
        tasks.sort_by_key(|(id, _)| *id);
        for (id, (ticket, command)) in tasks {
            self.queue
                .push_back(Event::Outcome(Outcome::Failed(TaskFailure {
                    task: Some(id),
                    ticket,
                    command,
                    error: TaskError::Ended(reason.clone()),
                })));
        }
        self.queue.push_back(Event::Ended(reason.clone()));
        self.end = Some(reason);
        // An ended channel keeps only its undelivered events.
        self.warts = Decoder::new();
        self.session = ClientSession::attached();
        for (_, w) in self.ack_wakers.drain() {
            w.wake();
        }
    }

    /// Takes the waker of a stream waiting on this channel.
    pub(crate) fn take_waker(&mut self) -> Option<Waker> {
        self.waker.take()
    }
}

/// The command keyword and destination a measurement record answers, for the
/// record types whose command ends with its destination.
fn record_key(r: &Record) -> Option<(&'static str, String)> {
    match r {
        Record::Ping(p) => Some(("ping", p.dst.to_string())),
        Record::Trace(t) => Some(("trace", t.dst.to_string())),
        Record::Tracelb(t) => Some(("tracelb", t.dst.to_string())),
        _ => None,
    }
}

/// Whether `command` (e.g. `ping -c 1 192.0.2.1`) is a `kind` measurement of `dst`.
fn command_matches(command: &str, kind: &str, dst: &str) -> bool {
    let mut words = command.split_ascii_whitespace();
    words.next() == Some(kind) && words.last() == Some(dst)
}

#[cfg(test)]
mod attribution_tests {
    use super::command_matches;

    #[test]
    fn commands_match_type_and_destination() {
        assert!(command_matches("ping -c 1 192.0.2.1", "ping", "192.0.2.1"));
        assert!(command_matches(
            "trace  2001:db8::1",
            "trace",
            "2001:db8::1"
        ));
        assert!(!command_matches(
            "ping -c 1 192.0.2.1",
            "trace",
            "192.0.2.1"
        ));
        assert!(!command_matches(
            "ping -c 1 192.0.2.11",
            "ping",
            "192.0.2.1"
        ));
        assert!(!command_matches("", "ping", "192.0.2.1"));
    }
}
