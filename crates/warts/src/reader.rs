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

/// A push decoder: feed it warts bytes as they arrive (socket payloads,
/// control-protocol DATA objects) and take complete records out.
///
/// Lists, cycles and deprecated global addresses are remembered across calls,
/// as one warts stream. Memory stays bounded by one record plus what was pushed
/// and not yet consumed.
pub struct Decoder {
    buf: Vec<u8>,
    lo: usize,
    hi: usize,
    pos: u64,
    resyncing: bool,
    need: usize,
    st: FileState,
    t: Tables,
    max_len: u32,
    filter: Option<TypeFilter>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder at the start of a stream.
    #[must_use]
    pub fn new() -> Self {
        Self {
            buf: Vec::new(),
            lo: 0,
            hi: 0,
            pos: 0,
            resyncing: false,
            need: 8,
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

    /// Bytes of the stream consumed so far (the offset of the next record).
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.pos
    }

    /// Bytes pushed but not yet consumed.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.hi - self.lo
    }

    /// Appends bytes of the stream.
    pub fn push(&mut self, data: &[u8]) {
        let n = data.len();
        self.spare(n)[..n].copy_from_slice(data);
        self.commit(n);
    }

    /// Free space of at least `min` bytes at the end of the buffer, compacting
    /// or growing it as needed; fill it, then call [`Self::commit`].
    fn spare(&mut self, min: usize) -> &mut [u8] {
        if self.buf.len() - self.hi < min && self.lo > 0 {
            self.buf.copy_within(self.lo..self.hi, 0);
            self.hi -= self.lo;
            self.lo = 0;
        }
        if self.buf.len() - self.hi < min {
            let want = (self.hi + min).max(self.buf.len() * 2).max(CHUNK);
            self.buf.resize(want, 0);
        }
        &mut self.buf[self.hi..]
    }

    fn commit(&mut self, n: usize) {
        self.hi += n;
    }

    fn advance(&mut self, n: usize) {
        self.lo += n;
        self.pos += n as u64;
    }

    /// Looks for the next position that could start a record header; false if
    /// more input is needed to know.
    fn scan(&mut self) -> bool {
        let w = &self.buf[self.lo..self.hi];
        if let Some(i) = w
            .windows(4)
            .position(|h| h[0] == 0x12 && h[1] == 0x05 && h[2] == 0 && (1..=0x11).contains(&h[3]))
        {
            self.advance(i);
            self.resyncing = false;
            return true;
        }
        let n = w.len().saturating_sub(3);
        self.advance(n);
        false
    }

    fn framing(&mut self, offset: u64, record_type: Option<u16>, kind: ReadErrorKind) -> ReadError {
        self.advance(1);
        self.resyncing = true;
        ReadError {
            offset,
            record_type,
            kind,
        }
    }

    /// The next complete record; `Ok(None)` when more input is needed.
    ///
    /// After an error the bad record (or the corrupt header byte) has been
    /// skipped: call again to go on.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        loop {
            if self.resyncing && !self.scan() {
                self.need = 4;
                return Ok(None);
            }
            let start = self.pos;
            let avail = self.hi - self.lo;
            if avail < 8 {
                self.need = 8;
                return Ok(None);
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
            if avail < total {
                self.need = total;
                return Ok(None);
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

    /// Declares the end of the stream: an error if it ends inside a record
    /// (the partial record is dropped).
    pub fn finish(&mut self) -> Result<(), ReadError> {
        let avail = self.hi - self.lo;
        let start = self.pos;
        if avail == 0 || self.resyncing {
            self.advance(avail);
            return Ok(());
        }
        let (record_type, missing) = if avail >= 8 {
            let h = &self.buf[self.lo..self.lo + 8];
            let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
            (
                Some(u16::from_be_bytes([h[2], h[3]])),
                (8 + u64::from(len)).saturating_sub(avail as u64),
            )
        } else {
            (None, (8 - avail) as u64)
        };
        self.advance(avail);
        Err(ReadError {
            offset: start,
            record_type,
            kind: ReadErrorKind::Truncated { missing },
        })
    }
}

/// Reads warts records one at a time from any byte stream, in constant memory
/// (one record plus a 256 KiB buffer).
///
/// Bad records do not end the stream: after a recoverable [`ReadError`] the
/// next call continues with the following record (for a corrupt header, with
/// the next position that looks like a record header).
pub struct Reader<R> {
    src: R,
    dec: Decoder,
    eof: bool,
    done: bool,
}

impl<R: Read> Reader<R> {
    /// A reader over uncompressed warts bytes (see [`crate::open`] and
    /// [`crate::decompress`] for compressed input).
    pub fn new(src: R) -> Self {
        Self {
            src,
            dec: Decoder::new(),
            eof: false,
            done: false,
        }
    }

    /// Sets the largest record body accepted; longer records are reported as
    /// errors and skipped.
    #[must_use]
    pub fn with_max_record_len(mut self, max: u32) -> Self {
        self.dec.max_len = max;
        self
    }

    /// See [`Decoder::set_filter`].
    pub fn set_filter(&mut self, filter: Option<TypeFilter>) {
        self.dec.set_filter(filter);
    }

    /// Bytes of the (uncompressed) stream consumed so far.
    pub fn offset(&self) -> u64 {
        self.dec.offset()
    }

    /// The underlying reader.
    pub fn into_inner(self) -> R {
        self.src
    }

    /// The next record, `Ok(None)` at the end of the input.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        loop {
            if self.done {
                return Ok(None);
            }
            if let Some(rec) = self.dec.next_record()? {
                return Ok(Some(rec));
            }
            if self.eof {
                self.done = true;
                self.dec.finish()?;
                return Ok(None);
            }
            // Ask for a good-sized gap so reads stay large; compaction moves at most one partial record.
            let want = self
                .dec
                .need
                .saturating_sub(self.dec.buffered())
                .max(CHUNK / 4);
            let spare = self.dec.spare(want);
            match self.src.read(spare) {
                Ok(0) => self.eof = true,
                Ok(n) => self.dec.commit(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done = true;
                    return Err(ReadError {
                        offset: self.dec.offset(),
                        record_type: None,
                        kind: e.into(),
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
