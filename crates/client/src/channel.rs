//! [`Channel`]: one attached control-protocol session with a probe, through the
//! mux or on a probe's own control socket.

use crate::chan::{Ack, ChanState, Event, Outcome, Ticket};
use crate::conn::{Conn, State};
use crate::error::{ChannelEnd, Error};
use futures_core::Stream as AsyncStream;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use vantage_proto::control::TaskId;
use vantage_proto::mux::{MuxChannelId, VpId, encode_data};

/// How long [`Channel::send`] and [`Channel::halt`] wait for the probe's reply.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(120);

/// One attached session with a probe: send measurement commands, receive their
/// results.
///
/// Results can be consumed three ways; use one per channel:
/// - blocking: [`Channel::next_result`] (or [`Channel::next_event`]) with a timeout;
/// - polling: [`Channel::poll`] (or [`Channel::poll_event`]), never blocks;
/// - async: [`Channel::results`] (or [`Channel::events`]), a `Stream`.
///
/// Every task sent on the channel ends exactly once: with its result, or with a
/// [`crate::TaskFailure`] when the command is refused or the channel ends
/// first (the VP departed, the controller or probe went away, `done` finished
/// the channel while a result could not be attributed).
///
/// `Channel` is `Send + Sync`; clones share the same channel.
#[derive(Clone)]
pub struct Channel {
    conn: Arc<Conn>,
    id: u32,
    vp: Option<VpId>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.id)
            .field("vp", &self.vp)
            .finish_non_exhaustive()
    }
}

/// What [`Channel::pop`] found.
enum Pop {
    Event(Event),
    Over,
}

impl Pop {
    fn event(self) -> Option<Event> {
        match self {
            Self::Event(e) => Some(e),
            Self::Over => None,
        }
    }
}

fn is_outcome(ev: &Event) -> bool {
    matches!(ev, Event::Outcome(_))
}

impl Channel {
    pub(crate) fn new(conn: Arc<Conn>, id: u32, vp: Option<VpId>) -> Self {
        Self { conn, id, vp }
    }

    /// The VP this channel reaches (`None` on a probe's control socket).
    pub fn vp(&self) -> Option<VpId> {
        self.vp
    }

    /// Runs `f` on this channel's state and queues the bytes it produced.
    fn with_chan<T>(
        &self,
        f: impl FnOnce(&mut ChanState, &mut Vec<u8>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut g = self.conn.shared.lock();
        let st: &mut State = &mut g;
        let Some(c) = st.channels.get_mut(&self.id) else {
            return Err(Error::ChannelEnded(ChannelEnd::ClosedByClient));
        };
        let mut out = Vec::new();
        let v = f(c, &mut out)?;
        if !out.is_empty() {
            let bytes = if self.conn.mux {
                let mut framed = Vec::with_capacity(out.len() + 8);
                encode_data(MuxChannelId(self.id), &out, &mut framed)?;
                framed
            } else {
                out
            };
            st.write(bytes)?;
        }
        self.conn.shared.release(g);
        Ok(v)
    }

    /// Sends a measurement command (e.g. `ping -c 3 192.0.2.1`) without waiting.
    /// Its acceptance arrives as [`Event::Accepted`] with the returned ticket,
    /// its result or failure as an [`Outcome`].
    pub fn submit(&self, command: &str) -> Result<Ticket, Error> {
        self.with_chan(|c, out| c.command(command, false, out))
    }

    /// Sends a measurement command and waits (at most
    /// [`DEFAULT_REPLY_TIMEOUT`]) for the probe to accept it. Its result or
    /// failure arrives later as an [`Outcome`].
    pub fn send(&self, command: &str) -> Result<TaskId, Error> {
        self.send_timeout(command, DEFAULT_REPLY_TIMEOUT)
    }

    /// Like [`Channel::send`], waiting at most `timeout`.
    pub fn send_timeout(&self, command: &str, timeout: Duration) -> Result<TaskId, Error> {
        let ticket = self.with_chan(|c, out| c.command(command, true, out))?;
        match self.wait_ack(ticket, timeout)? {
            Ack::Task(id) => Ok(id),
            Ack::Err(text) => Err(Error::Refused {
                request: command.to_owned(),
                text,
            }),
            Ack::Ended(e) => Err(Error::ChannelEnded(e)),
            Ack::Ok => Err(Error::Control(
                vantage_proto::control::Error::UnexpectedReply("OK".to_owned()),
            )),
        }
    }

    /// [`Channel::send`] as a future (no timeout: it resolves when the probe
    /// answers or the channel ends).
    pub fn send_async(&self, command: &str) -> SendFuture {
        let ticket = self.with_chan(|c, out| c.command(command, true, out));
        SendFuture {
            chan: self.clone(),
            command: command.to_owned(),
            ticket: Some(ticket),
        }
    }

    /// Halts a task (`halt N`) and waits for the probe's answer. The task's
    /// result (stop reason "halted") still arrives as an [`Outcome`].
    pub fn halt(&self, task: TaskId) -> Result<(), Error> {
        let ticket = self.with_chan(|c, out| c.halt(task, out))?;
        match self.wait_ack(ticket, DEFAULT_REPLY_TIMEOUT)? {
            Ack::Ok | Ack::Task(_) => Ok(()),
            Ack::Err(text) => Err(Error::Refused {
                request: format!("halt {task}"),
                text,
            }),
            Ack::Ended(e) => Err(Error::ChannelEnded(e)),
        }
    }

    /// Sends `done`: no more commands. The probe finishes the pending tasks,
    /// delivers their results and closes the channel ([`ChannelEnd::Finished`]).
    /// Calling it again is a no-op, also once the channel has finished.
    pub fn done(&self) -> Result<(), Error> {
        self.with_chan(ChanState::done)
    }

    fn wait_ack(&self, ticket: Ticket, timeout: Duration) -> Result<Ack, Error> {
        let id = self.id;
        self.conn
            .shared
            .wait_for(Some(Instant::now() + timeout), |st| {
                let c = st.channels.get_mut(&id)?;
                c.acks.remove(&ticket)
            })
            .ok_or(Error::Timeout(timeout))
    }

    /// Commands sent whose task has not ended yet.
    pub fn pending(&self) -> usize {
        self.conn
            .shared
            .lock()
            .channels
            .get(&self.id)
            .map_or(0, ChanState::pending_tasks)
    }

    /// Why the channel ended, once it has.
    pub fn end_reason(&self) -> Option<ChannelEnd> {
        self.conn
            .shared
            .lock()
            .channels
            .get(&self.id)
            .and_then(|c| c.end.clone())
    }

    /// Whether the channel has ended and every result and task failure was
    /// taken (other events may remain for [`Channel::next_event`]).
    pub fn is_finished(&self) -> bool {
        self.conn
            .shared
            .lock()
            .channels
            .get(&self.id)
            .is_none_or(|c| c.end.is_some() && !c.queue.iter().any(is_outcome))
    }

    /// The next event; `Some(Pop::Over)` once the channel ended and its queue
    /// is empty; `None` when the caller must wait.
    fn pop(&self, st: &mut State, only_outcomes: bool) -> Option<Pop> {
        let c = st.channels.get_mut(&self.id)?;
        while let Some(ev) = c.queue.pop_front() {
            if !only_outcomes || is_outcome(&ev) {
                return Some(Pop::Event(ev));
            }
        }
        c.end.is_some().then_some(Pop::Over)
    }

    /// The next event, without waiting.
    pub fn poll_event(&self) -> Option<Event> {
        let mut g = self.conn.shared.lock();
        let ev = self.pop(&mut g, false).and_then(Pop::event);
        self.conn.shared.release(g);
        ev
    }

    /// The next event, waiting at most `timeout` (forever with `None`). `None`
    /// when the time ran out or the channel is over and every event was taken.
    pub fn next_event(&self, timeout: Option<Duration>) -> Option<Event> {
        let deadline = timeout.map(|t| Instant::now() + t);
        self.conn
            .shared
            .wait_for(deadline, |st| self.pop(st, false))
            .and_then(Pop::event)
    }

    /// The next result or task failure, without waiting (other events are
    /// skipped).
    pub fn poll(&self) -> Option<Outcome> {
        let mut g = self.conn.shared.lock();
        let ev = self.pop(&mut g, true).and_then(Pop::event);
        self.conn.shared.release(g);
        into_outcome(ev)
    }

    /// The next result or task failure, waiting at most `timeout` (forever with
    /// `None`); other events are skipped. `None` when the time ran out or the
    /// channel is over and everything was delivered.
    pub fn next_result(&self, timeout: Option<Duration>) -> Option<Outcome> {
        let deadline = timeout.map(|t| Instant::now() + t);
        into_outcome(
            self.conn
                .shared
                .wait_for(deadline, |st| self.pop(st, true))
                .and_then(Pop::event),
        )
    }

    /// Results and task failures as an async stream; it ends with the channel.
    pub fn results(&self) -> ResultStream {
        ResultStream {
            chan: self.clone(),
            only_outcomes: true,
        }
    }

    /// Every event as an async stream; it ends with the channel.
    pub fn events(&self) -> EventStream {
        EventStream(ResultStream {
            chan: self.clone(),
            only_outcomes: false,
        })
    }

    fn poll_stream(&self, only_outcomes: bool, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut g = self.conn.shared.lock();
        match self.pop(&mut g, only_outcomes) {
            Some(ev) => Poll::Ready(ev.event()),
            None => {
                if let Some(c) = g.channels.get_mut(&self.id) {
                    c.waker = Some(cx.waker().clone());
                    Poll::Pending
                } else {
                    Poll::Ready(None)
                }
            }
        }
    }
}

fn into_outcome(ev: Option<Event>) -> Option<Outcome> {
    match ev {
        Some(Event::Outcome(o)) => Some(o),
        _ => None,
    }
}

/// Results and task failures of a channel as an async stream; see
/// [`Channel::results`].
pub struct ResultStream {
    chan: Channel,
    only_outcomes: bool,
}

impl AsyncStream for ResultStream {
    type Item = Outcome;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Outcome>> {
        self.chan
            .poll_stream(self.only_outcomes, cx)
            .map(into_outcome)
    }
}

/// Every event of a channel as an async stream; see [`Channel::events`].
pub struct EventStream(ResultStream);

impl AsyncStream for EventStream {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.0.chan.poll_stream(false, cx)
    }
}

/// The future of [`Channel::send_async`].
pub struct SendFuture {
    chan: Channel,
    command: String,
    ticket: Option<Result<Ticket, Error>>,
}

impl Future for SendFuture {
    type Output = Result<TaskId, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let ticket = match self.ticket.take() {
            None => return Poll::Ready(Err(Error::ChannelEnded(ChannelEnd::ClosedByClient))),
            Some(Err(e)) => return Poll::Ready(Err(e)),
            Some(Ok(t)) => t,
        };
        let mut g = self.chan.conn.shared.lock();
        let Some(c) = g.channels.get_mut(&self.chan.id) else {
            return Poll::Ready(Err(Error::ChannelEnded(ChannelEnd::ClosedByClient)));
        };
        match c.acks.remove(&ticket) {
            Some(Ack::Task(id)) => Poll::Ready(Ok(id)),
            Some(Ack::Err(text)) => Poll::Ready(Err(Error::Refused {
                request: self.command.clone(),
                text,
            })),
            Some(Ack::Ended(e)) => Poll::Ready(Err(Error::ChannelEnded(e))),
            Some(Ack::Ok) => Poll::Ready(Err(Error::Control(
                vantage_proto::control::Error::UnexpectedReply("OK".to_owned()),
            ))),
            None => {
                c.ack_wakers.insert(ticket, cx.waker().clone());
                drop(g);
                self.ticket = Some(Ok(ticket));
                Poll::Pending
            }
        }
    }
}
