//! The streaming warts reader.

use std::io::{self, Read};

use vantage_model::Record;

use crate::codec::decode_record;
use crate::error::{ReadError, ReadErrorKind};
use crate::prim::{FileState, Tables};
use crate::types;

const MAGIC: u16 = 0x1205;
const CHUNK: usize = 256 * 1024;
/// The default limit on one record's body length (64 MiB).
pub const DEFAULT_MAX_RECORD_LEN: u32 = 64 * 1024 * 1024;

/// A set of record types, by warts type code (1..=31).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TypeFilter(u32);

impl TypeFilter {
    /// No type.
    #[must_use]
    pub const fn none() -> Self {
        Self(0)
    }

    /// This set plus type `kind` (codes above 31 are ignored).
    #[must_use]
    pub const fn with(self, kind: u16) -> Self {
        if kind < 32 {
            Self(self.0 | (1 << kind))
        } else {
            self
        }
    }

    /// Whether type `kind` is in the set.
    #[must_use]
    pub const fn contains(self, kind: u16) -> bool {
        kind < 32 && self.0 & (1 << kind) != 0
    }
}

/// The record type code a decoded record came from.
fn kind_of(r: &Record) -> u16 {
    match r {
        Record::List(_) => types::LIST,
        Record::CycleStart(_) => types::CYCLE_START,
        Record::CycleDef(_) => types::CYCLE_DEF,
        Record::CycleStop(_) => types::CYCLE_STOP,
        Record::Ping(_) => types::PING,
        Record::Trace(_) => types::TRACE,
        Record::Tracelb(_) => types::TRACELB,
        Record::Dealias(_) => types::DEALIAS,
        Record::Host(_) => types::HOST,
        Record::Http(_) => types::HTTP,
        Record::Udpprobe(_) => types::UDPPROBE,
        Record::Sniff(_) => types::SNIFF,
        Record::Neighbourdisc(_) => types::NEIGHBOURDISC,
        Record::Unsupported(raw) => raw.kind,
    }
}

const fn is_state_type(kind: u16) -> bool {
    kind >= types::LIST && kind <= types::ADDRESS
}

/// Reads warts records one at a time from any byte stream, in constant memory
/// (one record plus a 256 KiB buffer).
///
/// Bad records do not end the stream: after a recoverable [`ReadError`] the
/// next call continues with the following record (for a corrupt header, with
/// the next position that looks like a record header).
pub struct Reader<R> {
    src: R,
    buf: Vec<u8>,
    lo: usize,
    hi: usize,
    pos: u64,
    eof: bool,
    done: bool,
    st: FileState,
    t: Tables,
    max_len: u32,
    filter: Option<TypeFilter>,
}

impl<R: Read> Reader<R> {
    /// A reader over uncompressed warts bytes (see [`crate::open`] and
    /// [`crate::decompress`] for compressed input).
    pub fn new(src: R) -> Self {
        Self {
            src,
            buf: Vec::new(),
            lo: 0,
            hi: 0,
            pos: 0,
            eof: false,
            done: false,
            st: FileState::default(),
            t: Tables::default(),
            max_len: DEFAULT_MAX_RECORD_LEN,
            filter: None,
        }
    }

    /// Sets the largest record body accepted; longer records are reported as
    /// errors and skipped.
    #[must_use]
    pub fn with_max_record_len(mut self, max: u32) -> Self {
        self.max_len = max;
        self
    }

    /// Returns only records whose type is in `filter` (`None`: every record).
    /// List and cycle records are still read, so measurements keep their list
    /// and cycle, but are returned only if the filter includes them. Records of
    /// other types are skipped without decoding.
    pub fn set_filter(&mut self, filter: Option<TypeFilter>) {
        self.filter = filter;
    }

    /// Bytes of the (uncompressed) stream consumed so far.
    pub fn offset(&self) -> u64 {
        self.pos
    }

    /// The underlying reader.
    pub fn into_inner(self) -> R {
        self.src
    }

    fn advance(&mut self, n: usize) {
        self.lo += n;
        self.pos += n as u64;
    }

    /// Makes at least `need` bytes available at `lo`; false if the input ends first.
    fn fill(&mut self, need: usize) -> io::Result<bool> {
        if self.hi - self.lo >= need {
            return Ok(true);
        }
        if self.lo > 0 {
            self.buf.copy_within(self.lo..self.hi, 0);
            self.hi -= self.lo;
            self.lo = 0;
        }
        while self.hi < need {
            if self.eof {
                return Ok(false);
            }
            if self.hi == self.buf.len() {
                let grow = (self.buf.len() * 2).max(CHUNK).min(need.max(CHUNK));
                self.buf.resize(grow.max(self.hi + 1), 0);
            }
            match self.src.read(&mut self.buf[self.hi..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.hi += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Skips ahead to the next position that looks like a record header.
    fn resync(&mut self) -> io::Result<()> {
        self.advance(1);
        loop {
            if !self.fill(4)? {
                let n = self.hi - self.lo;
                self.advance(n);
                return Ok(());
            }
            let w = &self.buf[self.lo..self.hi];
            if let Some(i) = w.windows(4).position(|h| {
                h[0] == 0x12 && h[1] == 0x05 && h[2] == 0 && (1..=0x11).contains(&h[3])
            }) {
                self.advance(i);
                return Ok(());
            }
            let n = w.len() - 3;
            self.advance(n);
        }
    }

    fn fatal(&mut self, offset: u64, record_type: Option<u16>, kind: ReadErrorKind) -> ReadError {
        self.done = true;
        ReadError {
            offset,
            record_type,
            kind,
        }
    }

    fn framing(&mut self, offset: u64, record_type: Option<u16>, kind: ReadErrorKind) -> ReadError {
        if let Err(e) = self.resync() {
            return self.fatal(offset, record_type, ReadErrorKind::Io(e));
        }
        ReadError {
            offset,
            record_type,
            kind,
        }
    }

    /// The next record, `Ok(None)` at the end of the input.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let start = self.pos;
            match self.fill(8) {
                Err(e) => return Err(self.fatal(start, None, e.into())),
                Ok(false) => {
                    let have = self.hi - self.lo;
                    if have == 0 {
                        self.done = true;
                        return Ok(None);
                    }
                    self.advance(have);
                    return Err(self.fatal(
                        start,
                        None,
                        ReadErrorKind::Truncated {
                            missing: (8 - have) as u64,
                        },
                    ));
                }
                Ok(true) => {}
            }
            let h = &self.buf[self.lo..self.lo + 8];
            let magic = u16::from_be_bytes([h[0], h[1]]);
            let kind = u16::from_be_bytes([h[2], h[3]]);
            let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
            if magic != MAGIC {
                return Err(self.framing(start, None, ReadErrorKind::BadMagic(magic)));
            }
            if kind == 0 {
                return Err(self.framing(start, None, ReadErrorKind::ZeroType));
            }
            if len > self.max_len {
                return Err(self.framing(
                    start,
                    Some(kind),
                    ReadErrorKind::TooLarge {
                        len,
                        max: self.max_len,
                    },
                ));
            }
            let total = 8 + len as usize;
            match self.fill(total) {
                Err(e) => return Err(self.fatal(start, Some(kind), e.into())),
                Ok(false) => {
                    let have = self.hi - self.lo;
                    self.advance(have);
                    let missing = (total - have) as u64;
                    return Err(self.fatal(
                        start,
                        Some(kind),
                        ReadErrorKind::Truncated { missing },
                    ));
                }
                Ok(true) => {}
            }
            let wanted = is_state_type(kind) || self.filter.is_none_or(|f| f.contains(kind));
            if !wanted {
                self.advance(total);
                continue;
            }
            let body = &self.buf[self.lo + 8..self.lo + total];
            let res = decode_record(kind, body, &mut self.st, &mut self.t);
            self.advance(total);
            match res {
                Ok(Some(rec)) => {
                    if self.filter.is_none_or(|f| f.contains(kind_of(&rec))) {
                        return Ok(Some(rec));
                    }
                }
                Ok(None) => {}
                Err(de) => {
                    return Err(ReadError {
                        offset: start,
                        record_type: Some(kind),
                        kind: ReadErrorKind::Decode {
                            at: start + 8 + de.pos as u64,
                            kind: de.kind,
                        },
                    });
                }
            }
        }
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Result<Record, ReadError>;

    /// Yields records and errors; after an unrecoverable error, ends.
    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}
