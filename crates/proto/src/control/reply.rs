//! Probe → client text lines.

use super::request::{Rejection, is_printable};
use super::{Error, TaskId};
use std::fmt;

/// The text of an `OK` reply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OkReply {
    /// Bare `OK` (attach, done, set ..., shutdown, ...).
    Plain,
    /// `OK id-N`: a measurement command was accepted as task N.
    Task(TaskId),
    /// `OK halted N`: task N was halted.
    Halted(TaskId),
    /// `OK <text>`: any other answer, e.g. `version 20260420`, `pps 100`,
    /// `window 0/0`, `null command`.
    Text(String),
}

/// The header line of a `DATA` object: `DATA <len>[ id-<n>[ inprog]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataHeader {
    /// Number of payload bytes that follow the header line.
    pub len: usize,
    /// The task the object belongs to (absent for list and cycle records).
    pub id: Option<TaskId>,
    /// Whether this is an in-progress snapshot of a still-running task.
    pub inprog: bool,
}

/// One probe → client line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reply {
    /// `OK ...`
    Ok(OkReply),
    /// `ERR <text>` (bare `ERR` when the text is empty).
    Err(String),
    /// `MORE`: the source's queue is empty, send another command.
    More,
    /// `INFO <text>` (lines of `source list` and `remote list`).
    Info(String),
    /// `DATA ...`: a payload of `len` bytes follows.
    Data(DataHeader),
}

impl From<Rejection> for Reply {
    fn from(r: Rejection) -> Self {
        Self::Err(r.to_string())
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ok(OkReply::Plain) => f.write_str("OK"),
            Self::Ok(OkReply::Task(id)) => write!(f, "OK id-{id}"),
            Self::Ok(OkReply::Halted(id)) => write!(f, "OK halted {id}"),
            Self::Ok(OkReply::Text(t)) => write!(f, "OK {t}"),
            Self::Err(t) if t.is_empty() => f.write_str("ERR"),
            Self::Err(t) => write!(f, "ERR {t}"),
            Self::More => f.write_str("MORE"),
            Self::Info(t) => write!(f, "INFO {t}"),
            Self::Data(h) => {
                write!(f, "DATA {}", h.len)?;
                if let Some(id) = h.id {
                    write!(f, " id-{id}")?;
                    if h.inprog {
                        f.write_str(" inprog")?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl Reply {
    /// Appends the reply as one `\n`-terminated line.
    ///
    /// Fails if a text contains a newline or other non-printable byte (it would
    /// break the framing), or for `DATA ... inprog` without a task id.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let text = match self {
            Self::Ok(OkReply::Text(t)) | Self::Err(t) | Self::Info(t) => Some(t),
            _ => None,
        };
        if text.is_some_and(|t| !is_printable(t)) {
            return Err(Error::Unencodable {
                what: "reply text",
                why: "only printable ASCII (0x20-0x7e) is allowed on a control line",
            });
        }
        if let Self::Data(DataHeader {
            id: None,
            inprog: true,
            ..
        }) = self
        {
            return Err(Error::Unencodable {
                what: "DATA header",
                why: "inprog needs a task id",
            });
        }
        out.extend_from_slice(self.to_string().as_bytes());
        out.push(b'\n');
        Ok(())
    }

    /// The reply as one `\n`-terminated line.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Parses one line (without its line ending) as the probe sends them.
    pub fn parse(line: &str) -> Result<Self, Error> {
        let (word, rest) = match line.split_once(' ') {
            Some((w, r)) => (w, Some(r)),
            None => (line, None),
        };
        match (word, rest) {
            ("OK", None) => Ok(Self::Ok(OkReply::Plain)),
            ("OK", Some(r)) => {
                if let Some(n) = r.strip_prefix("id-") {
                    let id = parse_id(n).ok_or_else(|| Error::UnexpectedLine(line.to_owned()))?;
                    Ok(Self::Ok(OkReply::Task(id)))
                } else if let Some(id) = r.strip_prefix("halted ").and_then(parse_id) {
                    Ok(Self::Ok(OkReply::Halted(id)))
                } else {
                    Ok(Self::Ok(OkReply::Text(r.to_owned())))
                }
            }
            ("ERR", r) => Ok(Self::Err(r.unwrap_or("").to_owned())),
            ("MORE", None) => Ok(Self::More),
            ("INFO", r) => Ok(Self::Info(r.unwrap_or("").to_owned())),
            ("DATA", Some(r)) => parse_data(r)
                .map(Self::Data)
                .ok_or_else(|| Error::BadDataHeader(line.to_owned())),
            ("DATA", None) => Err(Error::BadDataHeader(line.to_owned())),
            _ => Err(Error::UnexpectedLine(line.to_owned())),
        }
    }
}

fn parse_id(s: &str) -> Option<TaskId> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>().ok().and_then(TaskId::new)
}

fn parse_data(rest: &str) -> Option<DataHeader> {
    let mut words = rest.split(' ');
    let len = words.next()?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len = len.parse().ok()?;
    let id = match words.next() {
        None => None,
        Some(w) => Some(parse_id(w.strip_prefix("id-")?)?),
    };
    let inprog = match words.next() {
        None => false,
        Some("inprog") => true,
        Some(_) => return None,
    };
    if words.next().is_some() {
        return None;
    }
    Some(DataHeader { len, id, inprog })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u32) -> TaskId {
        TaskId::new(n).unwrap()
    }

    #[test]
    fn parse_known_lines() {
        assert_eq!(Reply::parse("OK"), Ok(Reply::Ok(OkReply::Plain)));
        assert_eq!(Reply::parse("OK id-1"), Ok(Reply::Ok(OkReply::Task(id(1)))));
        assert_eq!(
            Reply::parse("OK halted 7"),
            Ok(Reply::Ok(OkReply::Halted(id(7))))
        );
        assert_eq!(
            Reply::parse("OK version 20260420"),
            Ok(Reply::Ok(OkReply::Text("version 20260420".into())))
        );
        assert_eq!(Reply::parse("ERR"), Ok(Reply::Err(String::new())));
        assert_eq!(
            Reply::parse("ERR command not accepted"),
            Ok(Reply::Err("command not accepted".into()))
        );
        assert_eq!(Reply::parse("MORE"), Ok(Reply::More));
        assert_eq!(
            Reply::parse("DATA 122 id-1"),
            Ok(Reply::Data(DataHeader {
                len: 122,
                id: Some(id(1)),
                inprog: false
            }))
        );
        assert_eq!(
            Reply::parse("DATA 9 id-3 inprog"),
            Ok(Reply::Data(DataHeader {
                len: 9,
                id: Some(id(3)),
                inprog: true
            }))
        );
        assert_eq!(
            Reply::parse("DATA 56"),
            Ok(Reply::Data(DataHeader {
                len: 56,
                id: None,
                inprog: false
            }))
        );
    }

    #[test]
    fn reject_malformed_lines() {
        for bad in [
            "DATA",
            "DATA x",
            "DATA 5 id-0",
            "DATA 5 id-",
            "DATA 5 inprog",
            "DATA 5 id-1 x",
            "DATA 5 id-1 inprog x",
            "DATA -5",
            "DATA  5",
            "DATA 99999999999999999999999999",
        ] {
            assert!(
                matches!(Reply::parse(bad), Err(Error::BadDataHeader(_))),
                "{bad}"
            );
        }
        for bad in ["", "MORE please", "ok", "OK id-0", "OK id-x", "FOO"] {
            assert!(
                matches!(Reply::parse(bad), Err(Error::UnexpectedLine(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn encoding_rules() {
        assert_eq!(Reply::More.encode().unwrap(), b"MORE\n");
        assert_eq!(
            Reply::from(Rejection::NoTask(id(5))).encode().unwrap(),
            b"ERR no task id-5\n"
        );
        assert!(Reply::Err("a\nb".into()).encode().is_err());
        assert!(
            Reply::Data(DataHeader {
                len: 3,
                id: None,
                inprog: true
            })
            .encode()
            .is_err()
        );
    }

    fn any_reply() -> impl Strategy<Value = Reply> {
        let tid = (1..=u32::MAX).prop_map(id);
        prop_oneof![
            Just(Reply::Ok(OkReply::Plain)),
            tid.clone().prop_map(|i| Reply::Ok(OkReply::Task(i))),
            tid.clone().prop_map(|i| Reply::Ok(OkReply::Halted(i))),
            "[a-gj-z][ -~]{0,30}".prop_map(|t| Reply::Ok(OkReply::Text(t))),
            "([ -~]{0,30})".prop_map(Reply::Err),
            Just(Reply::More),
            "[ -~]{0,30}".prop_map(Reply::Info),
            (any::<usize>(), proptest::option::of(tid), any::<bool>()).prop_map(
                |(len, id, inprog)| {
                    Reply::Data(DataHeader {
                        len,
                        id,
                        inprog: inprog && id.is_some(),
                    })
                }
            ),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(r in any_reply()) {
            let bytes = r.encode().unwrap();
            let line = std::str::from_utf8(&bytes[..bytes.len() - 1]).unwrap();
            prop_assert_eq!(Reply::parse(line), Ok(r));
        }

        #[test]
        fn never_panics(line in "\\PC{0,40}") {
            let _ = Reply::parse(&line);
        }
    }
}
