//! Errors of the warts reader and writer.

use std::fmt;
use std::io;

use crate::types::record_type_name;

/// What was wrong inside a record body (the reader's per-field errors).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// The body ended before a field was complete.
    #[error("record body ends {needed} byte(s) too early")]
    Short {
        /// Bytes missing.
        needed: usize,
    },
    /// A string has no terminating NUL before the end of the record.
    #[error("string without terminating NUL")]
    NoNul,
    /// An address reference points past the record's address table.
    #[error("address reference {index} but only {table} address(es) defined so far")]
    BadAddrRef {
        /// The index read.
        index: u32,
        /// The table size.
        table: usize,
    },
    /// An address of an unknown type.
    #[error("unknown address type {0}")]
    BadAddrType(u8),
    /// An address whose length does not fit its type.
    #[error("address of type {kind} with wrong length {len}")]
    BadAddrLen {
        /// The type code.
        kind: u8,
        /// The length read.
        len: u8,
    },
    /// A static address given in reference form.
    #[error("static address field holds a reference")]
    StaticAddrRef,
    /// A deprecated global address id that no type-5 record defined.
    #[error("global address id {0} not defined by an earlier address record")]
    BadGid(u32),
    /// A list id that no earlier list record defined.
    #[error("list id {0} not defined by an earlier list record")]
    UnknownList(u32),
    /// A cycle id that no earlier cycle record defined.
    #[error("cycle id {0} not defined by an earlier cycle record")]
    UnknownCycle(u32),
    /// A list or cycle record whose id is out of sequence.
    #[error("{what} id {got} out of sequence (expected at most {expected})")]
    IdSequence {
        /// "list" or "cycle".
        what: &'static str,
        /// The id read.
        got: u32,
        /// The next free id.
        expected: u32,
    },
    /// An interface name id that is neither a back-reference nor the next entry.
    #[error("interface name id {id} invalid (table holds {table})")]
    BadIfname {
        /// The id read.
        id: u8,
        /// The table size.
        table: usize,
    },
    /// An ICMP extension block that does not add up.
    #[error("malformed ICMP extension block")]
    BadIcmpExt,
    /// A params block whose fields run past its declared length.
    #[error("fields run past the params block length")]
    ParamsOverrun,
    /// A field the format requires is absent.
    #[error("required field `{0}` is missing")]
    Missing(&'static str),
    /// A value outside what the format allows.
    #[error("invalid value for `{field}`: {value}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// The value read.
        value: u64,
    },
    /// Bytes left over after the structure ended.
    #[error("{0} unexpected trailing byte(s)")]
    Trailing(usize),
}

/// A decode failure at a position inside a record body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset within the record body (after the 8-byte header).
    pub pos: usize,
    /// What went wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    pub(crate) const fn new(pos: usize, kind: DecodeErrorKind) -> Self {
        Self { pos, kind }
    }
}

/// Why reading a record failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadErrorKind {
    /// The underlying reader failed (includes corrupt compressed data).
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The record header does not start with 0x1205.
    #[error("bad magic 0x{0:04x} (expected 0x1205): not warts, or corrupt")]
    BadMagic(u16),
    /// The record header has type 0.
    #[error("record type 0 is invalid")]
    ZeroType,
    /// The record length is above the reader's limit.
    #[error("record length {len} exceeds the limit of {max} bytes")]
    TooLarge {
        /// The length in the header.
        len: u32,
        /// The configured limit.
        max: u32,
    },
    /// The input ended inside a record.
    #[error("input ends inside the record: {missing} byte(s) missing")]
    Truncated {
        /// Bytes missing.
        missing: u64,
    },
    /// The record body is malformed.
    #[error("{kind} (at byte offset {at})")]
    Decode {
        /// Absolute byte offset of the failing field in the (uncompressed) stream.
        at: u64,
        /// What was wrong.
        kind: DecodeErrorKind,
    },
}

/// A record could not be read. Names the record's byte offset in the
/// (uncompressed) stream and its type.
///
/// After a [`ReadError::is_recoverable`] error the reader has already moved past
/// the bad record; reading again continues with the next one.
#[derive(Debug)]
pub struct ReadError {
    /// Byte offset of the record header in the uncompressed stream.
    pub offset: u64,
    /// The record type from the header, if the header was read.
    pub record_type: Option<u16>,
    /// What went wrong.
    pub kind: ReadErrorKind,
}

impl ReadError {
    /// Whether reading can go on after this error: true when the bad record was
    /// skipped (body errors) or the reader found the next record header after
    /// corrupt framing; false for I/O errors and truncation.
    #[must_use]
    pub fn is_recoverable(&self) -> bool {
        !matches!(
            self.kind,
            ReadErrorKind::Io(_) | ReadErrorKind::Truncated { .. }
        )
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.record_type {
            Some(t) => write!(
                f,
                "warts {} record at byte offset {}: {}",
                record_type_name(t),
                self.offset,
                self.kind
            ),
            None => write!(
                f,
                "warts record at byte offset {}: {}",
                self.offset, self.kind
            ),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ReadErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// A record could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The underlying writer failed.
    #[error("I/O error writing warts: {0}")]
    Io(#[from] io::Error),
    /// A value does not fit the field warts stores it in.
    #[error("{record}: `{field}` = {value} does not fit its warts field (max {max})")]
    OutOfRange {
        /// The record type.
        record: &'static str,
        /// The field.
        field: &'static str,
        /// The value.
        value: u64,
        /// The largest value the field holds.
        max: u64,
    },
    /// A record of a type this writer cannot produce.
    #[error("cannot write a {0} record: the type is not supported by this writer")]
    Unsupported(String),
    /// A reference inside the record is inconsistent (e.g. a note pointing past
    /// the PMTUD hops).
    #[error("{record}: inconsistent `{field}`")]
    Inconsistent {
        /// The record type.
        record: &'static str,
        /// The field.
        field: &'static str,
    },
}
