//! Warts codec for the Vantage result model.
//!
//! Warts is the binary result format of CAIDA's scamper. This crate reads and
//! writes every record type of [`vantage_model`] as warts, field for field, so
//! that scamper's tools read what we write and we read what scamper (current
//! and old) writes:
//!
//! - [`Reader`]: a streaming reader over any [`std::io::Read`] (file, stdin,
//!   socket), constant memory, with per-record errors that name the byte offset
//!   and record type, and that skip the bad record so reading can go on.
//! - [`Decoder`]: the same, push-style, for bytes that arrive in pieces
//!   (control-socket DATA objects, async sockets).
//! - [`Writer`]: writes records, emitting the list and cycle records they refer
//!   to on first use.
//! - [`open`], [`create`], [`decompress`]: gzip, bzip2 and xz handled
//!   transparently (by magic when reading, by file name when writing).
//!
//! What it is not: the JSON codec (a separate `json` module will live here) or
//! the text dump. Strings in warts are bytes; they are decoded as UTF-8 and any
//! invalid sequence is replaced with U+FFFD (so such a string is not written back
//! byte-identical; scamper's own strings are ASCII).
//!
//! Byte-identical round trips: a file written by current scamper, read and
//! written again, gives the same bytes, because the writer sets each optional
//! field under scamper's conditions. It also writes a field whenever the value
//! differs from what a reader would assume without it, so read → write → read
//! always gives equal records, whatever wrote the input. Files that set
//! optional fields scamper would omit (or use the deprecated global address
//! records) are read fine but written back in the modern form.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
// Codec functions name their decoder `d`, encoder `e`, params `p` and so on.
#![allow(clippy::many_single_char_names)]

mod codec;
mod compress;
mod dealias;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod host;
mod http;
pub mod json;
mod lists;
mod neighbourdisc;
mod ping;
mod prim;
mod reader;
mod sniff;
mod trace;
mod tracelb;
pub mod types;
mod udpprobe;
mod writer;

pub use compress::{Compression, Sink, create, decompress, open};
pub use error::{DecodeError, DecodeErrorKind, ReadError, ReadErrorKind, WriteError};
pub use reader::{DEFAULT_MAX_RECORD_LEN, Decoder, Reader, TypeFilter};
pub use writer::Writer;
