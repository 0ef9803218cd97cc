//! The control protocol of a probe's control socket (control-protocol.md), which is
//! also the protocol inside every remote and mux channel.
//!
//! - Client → probe: `\n`-terminated text lines ([`Request`]; a trailing `\r` is
//!   stripped, empty lines are ignored, every byte must be printable ASCII).
//! - Probe → client: `\n`-terminated text lines ([`Reply`]: `OK`, `OK id-N`,
//!   `ERR ...`, `MORE`, `INFO ...`, `DATA len [id-N [inprog]]`), each `DATA` header
//!   followed by exactly `len` payload bytes: a uuencoded warts record ([`uu`]) or
//!   one JSON object and a newline.
//!
//! [`ServerParser`] is the probe's side: bytes in, typed requests (or the exact
//! `ERR` text to answer) out, following the connection's INTERACTIVE → ATTACHED →
//! FLUSH states. [`ClientSession`] is the client's side: it encodes requests,
//! remembers which replies are owed, and turns the probe's bytes into
//! [`ClientEvent`]s with decoded payloads.

mod client;
mod reply;
mod request;
mod server;
pub mod uu;

pub use client::{ClientDecoder, ClientEvent, ClientSession, DataObject, Received};
pub use reply::{DataHeader, OkReply, Reply};
pub use request::{
    AttachParams, CommandLine, GetItem, MeasurementKind, Rejection, Request, SetItem, ShutdownMode,
};
pub use server::{ServerMode, ServerParser, TaskIdCounter, encode_json_data, encode_warts_data};

use std::fmt;
use std::num::NonZeroU32;
use thiserror::Error;

/// Default limit on one client → probe line. scamper has none; Vantage needs one so
/// that a peer cannot make it buffer without bound.
pub const DEFAULT_MAX_REQUEST_LINE: usize = 64 * 1024;
/// Default limit on one probe → client text line (libscamperctrl keeps at most 128
/// bytes of a partial line; `INFO` lines can be longer, so a client allows more).
pub const DEFAULT_MAX_REPLY_LINE: usize = 8 * 1024;
/// Default limit on one `DATA` payload accepted by a client.
pub const DEFAULT_MAX_DATA: usize = 64 * 1024 * 1024;
/// libscamperctrl treats a `DATA` length below this as fatal; so does Vantage.
pub const MIN_DATA_LEN: usize = 3;

/// The id of a task within one attached source: `OK id-N`, `DATA ... id-N`,
/// `halt N`. Never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub NonZeroU32);

impl TaskId {
    /// The task id `n`, or `None` for zero.
    pub const fn new(n: u32) -> Option<Self> {
        match NonZeroU32::new(n) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// The numeric value.
    pub const fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Output format of an attached source (`attach format ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Format {
    /// Warts records, uuencoded inside `DATA` objects (the default).
    #[default]
    Warts,
    /// One JSON object plus `\n` per `DATA` object.
    Json,
}

impl Format {
    /// The keyword used in `attach format ...`.
    pub const fn keyword(self) -> &'static str {
        match self {
            Self::Warts => "warts",
            Self::Json => "json",
        }
    }
}

/// Errors of the control-protocol layer: malformed bytes from a peer, replies that
/// do not match what was asked, or a request that cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A line exceeded the configured limit.
    #[error("line longer than {limit} bytes; the peer is not speaking the control protocol")]
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// A line from the probe that is not a known reply.
    #[error("unexpected line from the probe: {0:?}")]
    UnexpectedLine(String),
    /// A `DATA` header that could not be parsed.
    #[error("malformed DATA header {0:?}: expected `DATA <len>[ id-<n>[ inprog]]`")]
    BadDataHeader(String),
    /// A `DATA` length below [`MIN_DATA_LEN`].
    #[error("DATA length {0} is below the minimum of 3 bytes")]
    DataTooShort(usize),
    /// A `DATA` length above the configured limit.
    #[error("DATA length {len} exceeds the limit of {limit} bytes")]
    DataTooLong {
        /// Announced length.
        len: usize,
        /// Configured limit.
        limit: usize,
    },
    /// A warts payload that is not valid uuencode.
    #[error("DATA payload{}: {source}", id.map(|i| format!(" for task id-{i}")).unwrap_or_default())]
    Uuencode {
        /// The task the object belonged to, if any.
        id: Option<TaskId>,
        /// What was wrong.
        source: uu::UuError,
    },
    /// A JSON payload that does not end with the newline the protocol requires.
    #[error("JSON DATA payload does not end with a newline")]
    JsonNotTerminated,
    /// The connection ended in the middle of a `DATA` payload.
    #[error("connection closed with {missing} bytes of a DATA payload still to come")]
    TruncatedData {
        /// Bytes still expected.
        missing: usize,
    },
    /// An `OK`/`ERR` arrived while no request was awaiting a reply.
    #[error("reply {0:?} arrived but no request is awaiting one")]
    UnexpectedReply(String),
    /// A reply whose kind does not fit the oldest request awaiting one.
    #[error("reply {reply:?} does not answer the oldest outstanding request ({request})")]
    ReplyMismatch {
        /// The reply line.
        reply: String,
        /// What the oldest outstanding request was.
        request: &'static str,
    },
    /// A `DATA` object names a task this client does not know (or already finished).
    #[error("DATA for task id-{0}, which this client never had accepted or already received")]
    UnknownTask(TaskId),
    /// The same task id was handed out twice.
    #[error("the probe assigned task id-{0} twice")]
    DuplicateTask(TaskId),
    /// A request cannot be encoded because a value is not representable.
    #[error("cannot encode {what}: {why}")]
    Unencodable {
        /// Which field.
        what: &'static str,
        /// Why.
        why: &'static str,
    },
    /// A request is not allowed in the connection's current state.
    #[error("cannot send `{request}` {why}")]
    WrongState {
        /// The request keyword.
        request: &'static str,
        /// Why not.
        why: &'static str,
    },
}
