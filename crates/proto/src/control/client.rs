//! The client's side of a control connection: a stream decoder and a session that
//! matches replies to the requests sent.

use super::reply::{DataHeader, OkReply, Reply};
use super::request::Request;
use super::{DEFAULT_MAX_DATA, DEFAULT_MAX_REPLY_LINE, Error, Format, MIN_DATA_LEN, TaskId, uu};
use crate::buf::{InBuf, LineScan, scan_line};
use std::collections::{HashSet, VecDeque};

/// One result object delivered by `DATA`, its payload already decoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataObject {
    /// The task the object belongs to (absent for list and cycle records).
    pub id: Option<TaskId>,
    /// Whether this is an in-progress snapshot; the task's final object follows later.
    pub inprog: bool,
    /// Warts: one complete record (header included), uudecoded.
    /// JSON: the object's text, without the newline that ends it on the wire.
    pub payload: Vec<u8>,
}

/// What the probe sent, one item at a time, before any matching to requests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Received {
    /// An `OK` line.
    Ok(OkReply),
    /// An `ERR` line, with its text.
    Err(String),
    /// `MORE`.
    More,
    /// An `INFO` line, with its text.
    Info(String),
    /// A complete `DATA` object.
    Data(DataObject),
    /// The probe closed the connection cleanly (not inside a `DATA` payload).
    Eof,
}

#[derive(Debug, Clone)]
enum DecodeState {
    Line,
    Payload(DataHeader),
    Finished,
}

/// Turns the bytes a probe sends into [`Received`] items. Works with any split of
/// the input (bytes may arrive one at a time). Errors are fatal: afterwards
/// [`ClientDecoder::poll`] returns `None`.
#[derive(Debug, Clone)]
pub struct ClientDecoder {
    buf: InBuf,
    state: DecodeState,
    format: Format,
    max_line: usize,
    max_data: usize,
    eof: bool,
}

impl ClientDecoder {
    /// A decoder whose `DATA` payloads are in `format`.
    pub fn new(format: Format) -> Self {
        Self {
            buf: InBuf::default(),
            state: DecodeState::Line,
            format,
            max_line: DEFAULT_MAX_REPLY_LINE,
            max_data: DEFAULT_MAX_DATA,
            eof: false,
        }
    }

    /// Sets the longest accepted text line and the largest accepted `DATA` payload.
    #[must_use]
    pub fn with_limits(mut self, max_line: usize, max_data: usize) -> Self {
        self.max_line = max_line;
        self.max_data = max_data;
        self
    }

    /// Changes how later `DATA` payloads are decoded (after an `attach format ...`
    /// was answered `OK`).
    pub fn set_format(&mut self, format: Format) {
        self.format = format;
    }

    /// The payload format in use.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Appends received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        if !matches!(self.state, DecodeState::Finished) && !self.eof {
            self.buf.extend(bytes);
        }
    }

    /// The probe closed the connection.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    fn fail(&mut self, e: Error) -> Result<Received, Error> {
        self.state = DecodeState::Finished;
        self.buf.clear();
        Err(e)
    }

    /// The next item, or `None` when more input is needed.
    pub fn poll(&mut self) -> Option<Result<Received, Error>> {
        match self.state {
            DecodeState::Finished => None,
            DecodeState::Payload(h) => {
                if self.buf.len() < h.len {
                    if self.eof {
                        let missing = h.len - self.buf.len();
                        return Some(self.fail(Error::TruncatedData { missing }));
                    }
                    return None;
                }
                let raw = self.buf.take(h.len);
                self.state = DecodeState::Line;
                let payload = match self.format {
                    Format::Warts => match uu::decode(&raw) {
                        Ok(p) => p,
                        Err(source) => {
                            return Some(self.fail(Error::Uuencode { id: h.id, source }));
                        }
                    },
                    Format::Json => match raw.split_last() {
                        Some((b'\n', json)) => json.to_vec(),
                        _ => return Some(self.fail(Error::JsonNotTerminated)),
                    },
                };
                Some(Ok(Received::Data(DataObject {
                    id: h.id,
                    inprog: h.inprog,
                    payload,
                })))
            }
            DecodeState::Line => {
                let n = match scan_line(self.buf.bytes(), self.max_line) {
                    LineScan::TooLong => {
                        let limit = self.max_line;
                        return Some(self.fail(Error::LineTooLong { limit }));
                    }
                    LineScan::Partial if self.eof => {
                        if self.buf.len() == 0 {
                            self.state = DecodeState::Finished;
                            return Some(Ok(Received::Eof));
                        }
                        let line = String::from_utf8_lossy(self.buf.bytes()).into_owned();
                        return Some(self.fail(Error::UnexpectedLine(line)));
                    }
                    LineScan::Partial => return None,
                    LineScan::Line(n) => n,
                };
                let mut raw = self.buf.take(n);
                self.buf.consume(1);
                if raw.last() == Some(&b'\r') {
                    raw.pop();
                }
                let line = String::from_utf8_lossy(&raw);
                let reply = match Reply::parse(&line) {
                    Ok(r) => r,
                    Err(e) => return Some(self.fail(e)),
                };
                Some(Ok(match reply {
                    Reply::Ok(ok) => Received::Ok(ok),
                    Reply::Err(t) => Received::Err(t),
                    Reply::More => Received::More,
                    Reply::Info(t) => Received::Info(t),
                    Reply::Data(h) => {
                        if h.len < MIN_DATA_LEN {
                            return Some(self.fail(Error::DataTooShort(h.len)));
                        }
                        if h.len > self.max_data {
                            let limit = self.max_data;
                            return Some(self.fail(Error::DataTooLong { len: h.len, limit }));
                        }
                        self.state = DecodeState::Payload(h);
                        return self.poll();
                    }
                }))
            }
        }
    }
}

/// An event of a [`ClientSession`]: the probe's output matched to the requests
/// that were sent, each carrying the caller's token for that request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent<T> {
    /// A measurement command was accepted as task `id` (`OK id-N`).
    Accepted {
        /// The token given to [`ClientSession::send`].
        token: T,
        /// The task id.
        id: TaskId,
    },
    /// Any other request was answered `OK` (attach, halt, done, get, set, ...).
    Ok {
        /// The token given to [`ClientSession::send`].
        token: T,
        /// The reply.
        reply: OkReply,
    },
    /// A request was answered `ERR`.
    Err {
        /// The token given to [`ClientSession::send`].
        token: T,
        /// The reason (text after `ERR `).
        text: String,
    },
    /// `MORE`: the probe wants another command.
    More,
    /// An `INFO` line (precedes the `OK` of `source list` / `remote list`).
    Info(String),
    /// A decoded result object.
    Data(DataObject),
    /// The probe closed the connection.
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Attach(Format),
    Command,
    Done,
    Other(&'static str),
}

impl Pending {
    const fn name(self) -> &'static str {
        match self {
            Self::Attach(_) => "attach",
            Self::Command => "measurement command",
            Self::Done => "done",
            Self::Other(k) => k,
        }
    }
}

/// The client's side of one control connection (or one remote/mux channel),
/// without I/O.
///
/// [`ClientSession::send`] encodes a request and remembers it, with a caller's
/// token, until its reply arrives; replies come in request order, so each `OK`/
/// `ERR` answers the oldest outstanding request. [`ClientSession::feed`] takes the
/// probe's bytes and [`ClientSession::poll`] yields [`ClientEvent`]s. The session
/// checks what libscamperctrl checks: `OK id-N` only answers a measurement command,
/// a `DATA` object with an id names a task that was accepted and has not yet
/// delivered its final object.
#[derive(Debug, Clone)]
pub struct ClientSession<T> {
    decoder: ClientDecoder,
    pending: VecDeque<(Pending, T)>,
    tasks: HashSet<TaskId>,
    /// Mode the probe will be in when it reads the next line we send.
    send_attached: bool,
    exited: bool,
    done_sent: bool,
}

impl<T> ClientSession<T> {
    /// A session on a freshly opened control socket (interactive mode).
    pub fn new() -> Self {
        Self {
            decoder: ClientDecoder::new(Format::Warts),
            pending: VecDeque::new(),
            tasks: HashSet::new(),
            send_attached: false,
            exited: false,
            done_sent: false,
        }
    }

    /// A session that starts attached with warts output, as a remote or mux
    /// channel does.
    pub fn attached() -> Self {
        Self {
            send_attached: true,
            ..Self::new()
        }
    }

    /// Replaces the decoder limits (see [`ClientDecoder::with_limits`]).
    #[must_use]
    pub fn with_limits(mut self, max_line: usize, max_data: usize) -> Self {
        self.decoder = self.decoder.with_limits(max_line, max_data);
        self
    }

    /// Requests sent and not yet answered.
    pub fn outstanding(&self) -> usize {
        self.pending.len()
    }

    /// Tasks accepted whose final `DATA` has not arrived.
    pub fn tasks_in_flight(&self) -> usize {
        self.tasks.len()
    }

    /// Encodes `request`, appends it to `out` and remembers `token` for its reply.
    ///
    /// Refuses requests the probe would not accept in the state it will be in
    /// (e.g. `halt` before `attach`, `attach` twice, anything after `exit` or
    /// `done`).
    pub fn send(&mut self, request: &Request, token: T, out: &mut Vec<u8>) -> Result<(), Error> {
        let keyword = request.keyword();
        if self.exited {
            return Err(Error::WrongState {
                request: keyword,
                why: "after exit",
            });
        }
        if self.done_sent {
            return Err(Error::WrongState {
                request: keyword,
                why: "after done",
            });
        }
        if request.is_attached_mode() != self.send_attached {
            return Err(Error::WrongState {
                request: keyword,
                why: if self.send_attached {
                    "in attached mode"
                } else {
                    "before attach"
                },
            });
        }
        request.encode_into(out)?;
        let pending = match request {
            Request::Attach(p) => {
                self.send_attached = true;
                Pending::Attach(p.format())
            }
            Request::Command(_) => Pending::Command,
            Request::Done => {
                self.done_sent = true;
                Pending::Done
            }
            Request::Exit => {
                self.exited = true;
                return Ok(());
            }
            other => Pending::Other(other.keyword()),
        };
        self.pending.push_back((pending, token));
        Ok(())
    }

    /// Appends bytes received from the probe.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.decoder.feed(bytes);
    }

    /// The probe closed the connection.
    pub fn feed_eof(&mut self) {
        self.decoder.feed_eof();
    }

    /// The next event, or `None` when more input is needed. Errors are fatal.
    pub fn poll(&mut self) -> Option<Result<ClientEvent<T>, Error>> {
        let item = match self.decoder.poll()? {
            Ok(item) => item,
            Err(e) => return Some(Err(e)),
        };
        let event = match item {
            Received::Ok(ok) => self.on_ok(ok),
            Received::Err(text) => match self.pending.pop_front() {
                Some((p, token)) => {
                    if let Pending::Attach(_) = p {
                        // The probe stays interactive: later pipelined lines will
                        // be answered as interactive commands.
                        self.send_attached = false;
                    }
                    Ok(ClientEvent::Err { token, text })
                }
                None => Err(Error::UnexpectedReply(format!("ERR {text}"))),
            },
            Received::More => Ok(ClientEvent::More),
            Received::Info(t) => Ok(ClientEvent::Info(t)),
            Received::Data(obj) => {
                if let Some(id) = obj.id {
                    if !self.tasks.contains(&id) {
                        return Some(Err(self.finish(Error::UnknownTask(id))));
                    }
                    if !obj.inprog {
                        self.tasks.remove(&id);
                    }
                }
                Ok(ClientEvent::Data(obj))
            }
            Received::Eof => Ok(ClientEvent::Eof),
        };
        Some(event.map_err(|e| self.finish(e)))
    }

    fn finish(&mut self, e: Error) -> Error {
        self.decoder.state = DecodeState::Finished;
        self.decoder.buf.clear();
        e
    }

    fn on_ok(&mut self, ok: OkReply) -> Result<ClientEvent<T>, Error> {
        let line = || super::Reply::Ok(ok.clone()).to_string();
        let Some((pending, token)) = self.pending.pop_front() else {
            return Err(Error::UnexpectedReply(line()));
        };
        match (pending, &ok) {
            (Pending::Command, OkReply::Task(id)) => {
                if !self.tasks.insert(*id) {
                    return Err(Error::DuplicateTask(*id));
                }
                Ok(ClientEvent::Accepted { token, id: *id })
            }
            (Pending::Command, _) | (_, OkReply::Task(_)) => Err(Error::ReplyMismatch {
                reply: line(),
                request: pending.name(),
            }),
            (Pending::Attach(format), _) => {
                self.decoder.set_format(format);
                Ok(ClientEvent::Ok { token, reply: ok })
            }
            (Pending::Done | Pending::Other(_), _) => Ok(ClientEvent::Ok { token, reply: ok }),
        }
    }
}

impl<T> Default for ClientSession<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{AttachParams, CommandLine, Request, encode_warts_data};

    const SPEC_SESSION: &[u8] = b"OK version 20260420\n\
OK\n\
MORE\n\
DATA 56\n\
E$@4``0```!T````!`````\"]T;7`O<V-A;7!E<BYS;V-K.C``````\n\
`\n\
DATA 48\n\
?$@4``@```!<````!`````0````%E4_$``@`$=G`Q````\n\
`\n\
OK id-1\n\
MORE\n\
ERR command not accepted: -c failed: attempts must be within 1 - 65535\n\
OK\n\
DATA 122 id-1\n\
M$@4`!P```$_SO&4`*`````$````!95/Q```!AJ`!```!`%0!0``!$C0$`<``\n\
J`@H$`<```@$``?Z1`@`;`SD`5``````P.0``ON\\``````653\\0```8<$\n\
`\n\
DATA 28\n\
1$@4`!`````D````!95/Q!0``\n\
`\n";

    fn spec_requests(s: &mut ClientSession<u32>) -> Vec<u8> {
        let mut out = Vec::new();
        s.send(&Request::Get(crate::control::GetItem::Version), 0, &mut out)
            .unwrap();
        s.send(&Request::Attach(AttachParams::default()), 1, &mut out)
            .unwrap();
        s.send(
            &Request::Command(CommandLine::new("ping -c 1 192.0.2.1").unwrap()),
            2,
            &mut out,
        )
        .unwrap();
        s.send(
            &Request::Command(CommandLine::new("ping -c 0 192.0.2.2").unwrap()),
            3,
            &mut out,
        )
        .unwrap();
        s.send(&Request::Done, 4, &mut out).unwrap();
        out
    }

    fn drain(s: &mut ClientSession<u32>) -> Vec<ClientEvent<u32>> {
        std::iter::from_fn(|| s.poll())
            .map(Result::unwrap)
            .collect()
    }

    fn id(n: u32) -> TaskId {
        TaskId::new(n).unwrap()
    }

    #[test]
    fn spec_example_session() {
        let mut s = ClientSession::new();
        let sent = spec_requests(&mut s);
        assert_eq!(
            sent,
            b"get version\nattach\nping -c 1 192.0.2.1\nping -c 0 192.0.2.2\ndone\n"
        );
        s.feed(SPEC_SESSION);
        s.feed_eof();
        let ev = drain(&mut s);
        assert_eq!(ev.len(), 12, "{ev:#?}");
        assert_eq!(
            ev[0],
            ClientEvent::Ok {
                token: 0,
                reply: OkReply::Text("version 20260420".into())
            }
        );
        assert_eq!(
            ev[1],
            ClientEvent::Ok {
                token: 1,
                reply: OkReply::Plain
            }
        );
        assert_eq!(ev[2], ClientEvent::More);
        let ClientEvent::Data(list) = &ev[3] else {
            panic!()
        };
        assert_eq!((list.id, list.payload.len()), (None, 37));
        let ClientEvent::Data(cycle) = &ev[4] else {
            panic!()
        };
        assert_eq!(cycle.payload.len(), 31);
        assert!(cycle.payload.ends_with(b"vp1\0"));
        assert_eq!(
            ev[5],
            ClientEvent::Accepted {
                token: 2,
                id: id(1)
            }
        );
        assert_eq!(ev[6], ClientEvent::More);
        assert_eq!(
            ev[7],
            ClientEvent::Err {
                token: 3,
                text: "command not accepted: -c failed: attempts must be within 1 - 65535".into()
            }
        );
        assert_eq!(
            ev[8],
            ClientEvent::Ok {
                token: 4,
                reply: OkReply::Plain
            }
        );
        let ClientEvent::Data(ping) = &ev[9] else {
            panic!()
        };
        assert_eq!(
            (ping.id, ping.inprog, ping.payload.len()),
            (Some(id(1)), false, 87)
        );
        assert_eq!(&ping.payload[..4], &[0x12, 0x05, 0x00, 0x07]);
        let ClientEvent::Data(stop) = &ev[10] else {
            panic!()
        };
        assert_eq!(stop.payload.len(), 17);
        assert_eq!(ev[11], ClientEvent::Eof);
        assert_eq!(s.outstanding(), 0);
        assert_eq!(s.tasks_in_flight(), 0);

        // Re-encoding the decoded objects gives back the probe's exact bytes.
        let mut again = Vec::new();
        for e in &ev {
            if let ClientEvent::Data(d) = e {
                encode_warts_data(d.id, d.inprog, &d.payload, &mut again).unwrap();
            }
        }
        let mut data_only = Vec::new();
        let mut keep = false;
        for l in SPEC_SESSION.split_inclusive(|&b| b == b'\n') {
            keep |= l.starts_with(b"DATA");
            if keep {
                data_only.extend_from_slice(l);
            }
            keep &= l != b"`\n";
        }
        assert_eq!(again, data_only);
    }

    #[test]
    fn byte_at_a_time_matches_whole() {
        let mut whole = ClientSession::new();
        spec_requests(&mut whole);
        whole.feed(SPEC_SESSION);
        whole.feed_eof();
        let expected = drain(&mut whole);
        let mut s = ClientSession::new();
        spec_requests(&mut s);
        let mut got = Vec::new();
        for b in SPEC_SESSION {
            s.feed(&[*b]);
            got.extend(drain(&mut s));
        }
        s.feed_eof();
        got.extend(drain(&mut s));
        assert_eq!(got, expected);
    }

    #[test]
    fn json_payloads() {
        let mut s: ClientSession<()> = ClientSession::new();
        let mut out = Vec::new();
        s.send(
            &Request::Attach(AttachParams {
                format: Some(Format::Json),
                ..Default::default()
            }),
            (),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, b"attach format json\n");
        s.feed(b"OK\nMORE\nDATA 14\n{\"type\":\"x\"}\n\nDATA 3\nab\n");
        let ev: Vec<_> = std::iter::from_fn(|| s.poll())
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            ev[2],
            ClientEvent::Data(DataObject {
                id: None,
                inprog: false,
                payload: b"{\"type\":\"x\"}\n".to_vec()
            })
        );
        assert_eq!(
            ev[3],
            ClientEvent::Data(DataObject {
                id: None,
                inprog: false,
                payload: b"ab".to_vec()
            })
        );
    }

    fn first_error(session: &mut ClientSession<u32>, input: &[u8]) -> Error {
        session.feed(input);
        session.feed_eof();
        loop {
            match session.poll() {
                Some(Err(e)) => return e,
                Some(Ok(_)) => {}
                None => panic!("no error for {input:?}"),
            }
        }
    }

    #[test]
    fn protocol_violations_are_specific() {
        let attached = || ClientSession::<u32>::attached();
        assert_eq!(
            first_error(&mut attached(), b"OK\n"),
            Error::UnexpectedReply("OK".into())
        );
        assert_eq!(
            first_error(&mut attached(), b"DATA 2\nab"),
            Error::DataTooShort(2)
        );
        let mut unknown = Vec::new();
        encode_warts_data(Some(id(4)), false, b"abc", &mut unknown).unwrap();
        assert_eq!(
            first_error(&mut attached(), &unknown),
            Error::UnknownTask(id(4))
        );
        assert_eq!(
            first_error(&mut attached(), b"DATA 10\n`\n"),
            Error::TruncatedData { missing: 8 }
        );
        assert!(matches!(
            first_error(&mut attached(), b"DATA 4\nab\n\n"),
            Error::Uuencode { .. }
        ));
        assert_eq!(
            first_error(&mut attached(), b"HELLO\n"),
            Error::UnexpectedLine("HELLO".into())
        );
        assert_eq!(
            first_error(&mut attached(), b"MORE"),
            Error::UnexpectedLine("MORE".into())
        );
        let mut s = attached().with_limits(16, 100);
        assert_eq!(
            first_error(&mut s, b"INFO 0123456789abcdef"),
            Error::LineTooLong { limit: 16 }
        );
        let mut s = attached().with_limits(16, 100);
        assert_eq!(
            first_error(&mut s, b"DATA 101\n"),
            Error::DataTooLong {
                len: 101,
                limit: 100
            }
        );

        let mut s = attached();
        let mut out = Vec::new();
        s.send(&Request::Done, 1, &mut out).unwrap();
        assert!(matches!(
            first_error(&mut s, b"OK id-3\n"),
            Error::ReplyMismatch {
                request: "done",
                ..
            }
        ));
        let mut s = attached();
        s.send(
            &Request::Command(CommandLine::new("ping 192.0.2.1").unwrap()),
            1,
            &mut out,
        )
        .unwrap();
        assert!(matches!(
            first_error(&mut s, b"OK\n"),
            Error::ReplyMismatch {
                request: "measurement command",
                ..
            }
        ));
        let mut s = attached();
        s.send(
            &Request::Command(CommandLine::new("ping 192.0.2.1").unwrap()),
            1,
            &mut out,
        )
        .unwrap();
        s.send(
            &Request::Command(CommandLine::new("ping 192.0.2.1").unwrap()),
            2,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            first_error(&mut s, b"OK id-3\nOK id-3\n"),
            Error::DuplicateTask(id(3))
        );
    }

    #[test]
    fn inprog_keeps_task_until_final() {
        let mut s = ClientSession::attached();
        let mut out = Vec::new();
        s.send(
            &Request::Command(CommandLine::new("ping 192.0.2.1").unwrap()),
            7u8,
            &mut out,
        )
        .unwrap();
        s.send(&Request::Halt(id(1)), 8u8, &mut out).unwrap();
        let mut input = b"OK id-1\nOK halted 1\n".to_vec();
        encode_warts_data(Some(id(1)), true, b"abc", &mut input).unwrap();
        encode_warts_data(Some(id(1)), false, b"abcd", &mut input).unwrap();
        encode_warts_data(Some(id(1)), false, b"abcd", &mut input).unwrap();
        s.feed(&input);
        let ev: Vec<_> = std::iter::from_fn(|| s.poll()).collect();
        assert_eq!(ev.len(), 5);
        assert_eq!(
            ev[1],
            Ok(ClientEvent::Ok {
                token: 8,
                reply: OkReply::Halted(id(1))
            })
        );
        assert!(matches!(
            &ev[2],
            Ok(ClientEvent::Data(DataObject { inprog: true, .. }))
        ));
        assert!(matches!(
            &ev[3],
            Ok(ClientEvent::Data(DataObject { inprog: false, .. }))
        ));
        assert_eq!(ev[4], Err(Error::UnknownTask(id(1))));
    }

    #[test]
    fn send_checks_state() {
        let mut s: ClientSession<()> = ClientSession::new();
        let mut out = Vec::new();
        assert!(s.send(&Request::Done, (), &mut out).is_err());
        s.send(&Request::Attach(AttachParams::default()), (), &mut out)
            .unwrap();
        assert!(
            s.send(&Request::Attach(AttachParams::default()), (), &mut out)
                .is_err()
        );
        s.send(&Request::Done, (), &mut out).unwrap();
        assert!(s.send(&Request::Halt(id(1)), (), &mut out).is_err());
        let mut s: ClientSession<()> = ClientSession::new();
        s.send(&Request::Exit, (), &mut out).unwrap();
        assert_eq!(s.outstanding(), 0);
        assert!(
            s.send(&Request::Get(crate::control::GetItem::Pid), (), &mut out)
                .is_err()
        );
    }

    #[test]
    fn failed_attach_returns_to_interactive() {
        let mut s: ClientSession<u8> = ClientSession::new();
        let mut out = Vec::new();
        s.send(
            &Request::Attach(AttachParams {
                priority: Some(5),
                ..Default::default()
            }),
            1,
            &mut out,
        )
        .unwrap();
        s.feed(b"ERR invalid priority\n");
        assert_eq!(
            s.poll(),
            Some(Ok(ClientEvent::Err {
                token: 1,
                text: "invalid priority".into()
            }))
        );
        s.send(&Request::Get(crate::control::GetItem::Pid), 2, &mut out)
            .unwrap();
    }
}
