//! The probe's side of a control connection: bytes in, requests out; and the
//! encoding of `DATA` objects.

use super::reply::{DataHeader, Reply};
use super::request::{Rejection, Request};
use super::{DEFAULT_MAX_REQUEST_LINE, Error, TaskId, uu};
use crate::buf::{InBuf, LineScan, scan_line};

/// The state of one control connection, as seen by the probe (control-protocol.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerMode {
    /// Interactive commands (`attach`, `get`, `set`, ...) are accepted.
    Interactive,
    /// Only `done`, `halt <id>` and measurement commands are accepted.
    Attached,
    /// Input is ignored; the probe writes what it still has, then closes.
    Flush,
    /// The client sent `exit`: close immediately, input is ignored.
    Closed,
}

/// Turns the bytes a client sends into [`Request`]s, or into the [`Rejection`] the
/// probe must answer with `ERR`, following the connection's state.
///
/// Lines end with `\n`; one trailing `\r` is stripped; empty lines are ignored;
/// any byte outside 0x20–0x7e yields [`Rejection::InvalidCharacter`] and moves
/// the parser to [`ServerMode::Flush`], as does a line longer than the limit
/// ([`Rejection::LineTooLong`]). A well-formed `attach` moves it to
/// [`ServerMode::Attached`]; `exit` to [`ServerMode::Closed`]. Lines are parsed
/// lazily in [`ServerParser::poll`], so a probe that fails an `attach` for an
/// internal reason can still call [`ServerParser::enter_flush`] before the next
/// line is looked at.
#[derive(Debug, Clone)]
pub struct ServerParser {
    buf: InBuf,
    mode: ServerMode,
    max_line: usize,
    done: bool,
}

impl Default for ServerParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerParser {
    /// A parser for a freshly accepted connection (interactive mode).
    pub fn new() -> Self {
        Self {
            buf: InBuf::default(),
            mode: ServerMode::Interactive,
            max_line: DEFAULT_MAX_REQUEST_LINE,
            done: false,
        }
    }

    /// A parser already in attached mode, as for a remote or mux channel
    /// (remote-protocol.md §4.4).
    pub fn attached() -> Self {
        Self {
            mode: ServerMode::Attached,
            ..Self::new()
        }
    }

    /// Sets the longest accepted line (bytes, excluding the `\n`).
    #[must_use]
    pub fn with_max_line(mut self, max_line: usize) -> Self {
        self.max_line = max_line;
        self
    }

    /// The connection's state.
    pub fn mode(&self) -> ServerMode {
        self.mode
    }

    /// Whether `done` was received (further lines are still parsed: scamper does
    /// not guard against them).
    pub fn done_received(&self) -> bool {
        self.done
    }

    /// Appends received bytes. Nothing is parsed until [`ServerParser::poll`].
    pub fn feed(&mut self, bytes: &[u8]) {
        if matches!(self.mode, ServerMode::Interactive | ServerMode::Attached) {
            self.buf.extend(bytes);
        }
    }

    /// The client closed its side: an incomplete last line is dropped and the
    /// connection enters [`ServerMode::Flush`] (unless already closed).
    pub fn feed_eof(&mut self) {
        self.enter_flush();
    }

    /// Stops accepting input, e.g. after the cycle-stop record was generated.
    pub fn enter_flush(&mut self) {
        if self.mode != ServerMode::Closed {
            self.mode = ServerMode::Flush;
        }
        self.buf.clear();
    }

    /// The next request, or the rejection to answer; `None` when more input is
    /// needed (or input is being ignored).
    pub fn poll(&mut self) -> Option<Result<Request, Rejection>> {
        loop {
            if !matches!(self.mode, ServerMode::Interactive | ServerMode::Attached) {
                self.buf.clear();
                return None;
            }
            let n = match scan_line(self.buf.bytes(), self.max_line) {
                LineScan::Partial => return None,
                LineScan::TooLong => {
                    self.enter_flush();
                    return Some(Err(Rejection::LineTooLong));
                }
                LineScan::Line(n) => n,
            };
            let mut line = self.buf.take(n);
            self.buf.consume(1);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.is_empty() {
                continue;
            }
            let Ok(line) = String::from_utf8(line) else {
                self.enter_flush();
                return Some(Err(Rejection::InvalidCharacter));
            };
            if !super::request::is_printable(&line) {
                self.enter_flush();
                return Some(Err(Rejection::InvalidCharacter));
            }
            let parsed = if self.mode == ServerMode::Interactive {
                Request::parse_interactive(&line)
            } else {
                Request::parse_attached(&line)
            };
            match &parsed {
                Ok(Request::Attach(_)) => self.mode = ServerMode::Attached,
                Ok(Request::Exit) => {
                    self.mode = ServerMode::Closed;
                    self.buf.clear();
                }
                Ok(Request::Done) => self.done = true,
                _ => {}
            }
            return Some(parsed);
        }
    }
}

/// Hands out task ids for one source: 1, 2, 3, ... skipping 0 on wrap.
#[derive(Debug, Clone, Default)]
pub struct TaskIdCounter {
    last: u32,
}

impl TaskIdCounter {
    /// A counter whose first id is 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next id.
    pub fn next_id(&mut self) -> TaskId {
        self.last = self.last.wrapping_add(1);
        if self.last == 0 {
            self.last = 1;
        }
        TaskId(std::num::NonZeroU32::new(self.last).unwrap_or(std::num::NonZeroU32::MIN))
    }
}

fn check_inprog(id: Option<TaskId>, inprog: bool) -> Result<(), Error> {
    if inprog && id.is_none() {
        return Err(Error::Unencodable {
            what: "DATA object",
            why: "inprog needs a task id",
        });
    }
    Ok(())
}

/// Appends one warts `DATA` object: the header line, then `record` (one complete
/// warts record, header included) uuencoded with its terminator line.
pub fn encode_warts_data(
    id: Option<TaskId>,
    inprog: bool,
    record: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    check_inprog(id, inprog)?;
    let header = Reply::Data(DataHeader {
        len: uu::encoded_len(record.len()),
        id,
        inprog,
    });
    header.encode_into(out)?;
    uu::encode_into(record, out);
    Ok(())
}

/// Appends one JSON `DATA` object: the header line, the JSON text and a newline.
pub fn encode_json_data(
    id: Option<TaskId>,
    inprog: bool,
    json: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    check_inprog(id, inprog)?;
    let header = Reply::Data(DataHeader {
        len: json.len() + 1,
        id,
        inprog,
    });
    header.encode_into(out)?;
    out.extend_from_slice(json);
    out.push(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{AttachParams, Format, GetItem};

    fn all(p: &mut ServerParser) -> Vec<Result<Request, Rejection>> {
        std::iter::from_fn(|| p.poll()).collect()
    }

    #[test]
    fn framing_rules() {
        let mut p = ServerParser::new();
        p.feed(b"get version\r\n\n\r\nget ver");
        assert_eq!(all(&mut p), vec![Ok(Request::Get(GetItem::Version))]);
        p.feed(b"sion\n");
        assert_eq!(all(&mut p), vec![Ok(Request::Get(GetItem::Version))]);
        p.feed(b"get pid\r\r\nget version\n");
        assert_eq!(all(&mut p), vec![Err(Rejection::InvalidCharacter)]);
        assert_eq!(p.mode(), ServerMode::Flush);
        p.feed(b"get version\n");
        assert!(all(&mut p).is_empty());
    }

    #[test]
    fn non_printables_are_fatal() {
        for bad in [
            &b"get\tversion\n"[..],
            b"\rget version\n",
            b"get version\xff\n",
            b"x\x7f\n",
            b"\xc3\xa9\n",
        ] {
            let mut p = ServerParser::new();
            p.feed(bad);
            assert_eq!(
                all(&mut p),
                vec![Err(Rejection::InvalidCharacter)],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn line_limit() {
        let mut p = ServerParser::new().with_max_line(10);
        p.feed(b"get versio\n");
        assert_eq!(all(&mut p).len(), 1);
        p.feed(b"01234567890");
        assert_eq!(all(&mut p), vec![Err(Rejection::LineTooLong)]);
        assert_eq!(p.mode(), ServerMode::Flush);
    }

    #[test]
    fn modes_follow_the_state_machine() {
        let mut p = ServerParser::new();
        p.feed(b"attach format json\nattach\nping -c 1 192.0.2.1\ndone\n");
        let got = all(&mut p);
        assert_eq!(
            got[0],
            Ok(Request::Attach(AttachParams {
                format: Some(Format::Json),
                ..Default::default()
            }))
        );
        assert!(matches!(&got[1], Err(Rejection::CommandNotAccepted(_))));
        assert!(matches!(&got[2], Ok(Request::Command(_))));
        assert_eq!(got[3], Ok(Request::Done));
        assert!(p.done_received());
        assert_eq!(p.mode(), ServerMode::Attached);
        p.feed_eof();
        assert_eq!(p.mode(), ServerMode::Flush);

        let mut p = ServerParser::new();
        p.feed(b"attach cycle_id x\nexit\nget pid\n");
        assert_eq!(
            all(&mut p),
            vec![Err(Rejection::InvalidCycleId), Ok(Request::Exit)]
        );
        assert_eq!(p.mode(), ServerMode::Closed);
        p.feed_eof();
        assert_eq!(p.mode(), ServerMode::Closed);
    }

    #[test]
    fn byte_at_a_time() {
        let input = b"get version\r\nattach\nping -c 1 192.0.2.1\r\nhalt 3\ndone\n";
        let mut whole = ServerParser::new();
        whole.feed(input);
        let expected = all(&mut whole);
        let mut p = ServerParser::new();
        let mut got = Vec::new();
        for b in input {
            p.feed(&[*b]);
            got.extend(all(&mut p));
        }
        assert_eq!(got, expected);
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn task_ids_skip_zero() {
        let mut c = TaskIdCounter::new();
        assert_eq!(c.next_id().get(), 1);
        assert_eq!(c.next_id().get(), 2);
        c.last = u32::MAX - 1;
        assert_eq!(c.next_id().get(), u32::MAX);
        assert_eq!(c.next_id().get(), 1);
    }

    #[test]
    fn data_objects_from_the_spec() {
        // control-protocol.md §10: the cycle-stop record, DATA 28.
        let enc = b"1$@4`!`````D````!95/Q!0``\n`\n";
        let record = uu::decode(enc).unwrap();
        assert_eq!(record.len(), 17);
        let mut out = Vec::new();
        encode_warts_data(None, false, &record, &mut out).unwrap();
        let mut expected = b"DATA 28\n".to_vec();
        expected.extend_from_slice(enc);
        assert_eq!(out, expected);

        let json = br#"{"type":"cycle-start", "list_name":"/run/scamper.sock:0", "id":1, "hostname":"vp1", "start_time":1700000000}"#;
        let mut out = Vec::new();
        encode_json_data(None, false, json, &mut out).unwrap();
        assert!(out.starts_with(b"DATA 109\n"));
        assert!(out.ends_with(b"}\n"));
        assert!(encode_json_data(None, true, json, &mut out).is_err());
    }
}
