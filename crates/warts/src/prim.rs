//! Warts primitives: integers, strings, times, addresses, interface names,
//! ICMP extensions and the flags-and-params block, for reading and writing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use vantage_model::{Addr, AddrKind, Cycle, IcmpExt, List, Timestamp};

use crate::error::{DecodeError, DecodeErrorKind as K, WriteError};

pub(crate) type DResult<T> = Result<T, DecodeError>;
pub(crate) type EResult<T> = Result<T, WriteError>;

/// File-scoped state of a reader: lists, cycles and deprecated global addresses.
#[derive(Default)]
pub(crate) struct FileState {
    pub lists: Vec<Arc<List>>,
    pub cycles: Vec<Arc<Cycle>>,
    pub gids: Vec<Addr>,
}

/// Scratch tables reused from record to record.
#[derive(Default)]
pub(crate) struct Tables {
    pub addrs: Vec<Addr>,
    /// Interface names defined so far in this record, as byte ranges of the body.
    pub ifnames: Vec<(usize, usize)>,
}

/// A decoder over one record body.
pub(crate) struct Dec<'a, 'b> {
    pub b: &'a [u8],
    pub pos: usize,
    pub t: &'b mut Tables,
    pub file: &'b FileState,
}

/// A decoded flags-and-params header: which flags are set and where the block ends.
pub(crate) struct Params {
    mask: u64,
    pub end: usize,
}

impl Params {
    /// The next set flag (1-based), lowest first.
    #[inline]
    pub fn next_flag(&mut self) -> Option<u32> {
        if self.mask == 0 {
            return None;
        }
        let f = self.mask.trailing_zeros() + 1;
        self.mask &= self.mask - 1;
        Some(f)
    }
}

impl<'a, 'b> Dec<'a, 'b> {
    pub fn new(b: &'a [u8], t: &'b mut Tables, file: &'b FileState) -> Self {
        t.addrs.clear();
        t.ifnames.clear();
        Self { b, pos: 0, t, file }
    }

    #[inline]
    pub fn err(&self, kind: K) -> DecodeError {
        DecodeError::new(self.pos, kind)
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.b.len().saturating_sub(self.pos)
    }

    #[inline]
    pub fn take<const N: usize>(&mut self) -> DResult<[u8; N]> {
        match self.b.get(self.pos..self.pos + N) {
            Some(s) => {
                self.pos += N;
                let mut out = [0u8; N];
                out.copy_from_slice(s);
                Ok(out)
            }
            None => Err(self.err(K::Short {
                needed: self.pos + N - self.b.len(),
            })),
        }
    }

    #[inline]
    pub fn u8(&mut self) -> DResult<u8> {
        match self.b.get(self.pos) {
            Some(&v) => {
                self.pos += 1;
                Ok(v)
            }
            None => Err(self.err(K::Short { needed: 1 })),
        }
    }

    #[inline]
    pub fn u16(&mut self) -> DResult<u16> {
        self.take::<2>().map(u16::from_be_bytes)
    }

    #[inline]
    pub fn u32(&mut self) -> DResult<u32> {
        self.take::<4>().map(u32::from_be_bytes)
    }

    #[inline]
    pub fn bytes(&mut self, n: usize) -> DResult<&'a [u8]> {
        match self.b.get(self.pos..self.pos + n) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.err(K::Short {
                needed: self.pos + n - self.b.len(),
            })),
        }
    }

    #[inline]
    pub fn timeval(&mut self) -> DResult<Timestamp> {
        let b = self.take::<8>()?;
        Ok(Timestamp::new(
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        ))
    }

    /// A u32 count of microseconds.
    #[inline]
    pub fn rtt(&mut self) -> DResult<Duration> {
        self.u32().map(|us| Duration::from_micros(u64::from(us)))
    }

    /// A NUL-terminated string (invalid UTF-8 is replaced, see crate docs).
    pub fn string(&mut self) -> DResult<String> {
        let (start, n) = self.string_range()?;
        Ok(text(&self.b[start..start + n]))
    }

    /// Skips a NUL-terminated string, returning its byte range (without the NUL).
    fn string_range(&mut self) -> DResult<(usize, usize)> {
        let start = self.pos.min(self.b.len());
        let Some(n) = self.b[start..].iter().position(|&c| c == 0) else {
            return Err(self.err(K::NoNul));
        };
        self.pos = start + n + 1;
        Ok((start, n))
    }

    /// A flags-and-params header.
    pub fn params(&mut self) -> DResult<Params> {
        let first = self.u8()?;
        if first == 0 {
            return Ok(Params {
                mask: 0,
                end: self.pos,
            });
        }
        let mut mask = 0u64;
        let mut byte = first;
        let mut i = 0u32;
        loop {
            if i < 9 {
                mask |= u64::from(byte & 0x7f) << (7 * i);
            }
            if byte & 0x80 == 0 {
                break;
            }
            byte = self.u8()?;
            i += 1;
        }
        let len = usize::from(self.u16()?);
        let end = self.pos + len;
        if end > self.b.len() {
            return Err(self.err(K::Short {
                needed: end - self.b.len(),
            }));
        }
        Ok(Params { mask, end })
    }

    /// Ends a params block: checks the fields did not overrun it and skips any
    /// fields of unknown (newer) flags.
    pub fn finish(&mut self, p: &Params) -> DResult<()> {
        if self.pos > p.end {
            return Err(self.err(K::ParamsOverrun));
        }
        self.pos = p.end;
        Ok(())
    }

    fn addr_def(&mut self, len: u8) -> DResult<Addr> {
        let at = self.pos;
        let ty = self.u8()?;
        let kind = AddrKind::from_code(ty).ok_or(DecodeError::new(at, K::BadAddrType(ty)))?;
        if kind.byte_len() != usize::from(len) {
            return Err(DecodeError::new(at, K::BadAddrLen { kind: ty, len }));
        }
        let bytes = self.bytes(usize::from(len))?;
        Addr::from_bytes(kind, bytes).ok_or(DecodeError::new(at, K::BadAddrLen { kind: ty, len }))
    }

    /// A per-record address (definition or reference).
    pub fn addr(&mut self) -> DResult<Addr> {
        let len = self.u8()?;
        if len == 0 {
            let at = self.pos;
            let index = self.u32()?;
            return self
                .t
                .addrs
                .get(index as usize)
                .copied()
                .ok_or(DecodeError::new(
                    at,
                    K::BadAddrRef {
                        index,
                        table: self.t.addrs.len(),
                    },
                ));
        }
        let a = self.addr_def(len)?;
        self.t.addrs.push(a);
        Ok(a)
    }

    /// A static address: always a definition, not entered in the table.
    pub fn saddr(&mut self) -> DResult<Addr> {
        let len = self.u8()?;
        if len == 0 {
            return Err(self.err(K::StaticAddrRef));
        }
        self.addr_def(len)
    }

    /// A deprecated global address id (0 = none).
    pub fn gid(&mut self) -> DResult<Option<Addr>> {
        let at = self.pos;
        let id = self.u32()?;
        if id == 0 {
            return Ok(None);
        }
        self.file
            .gids
            .get(id as usize - 1)
            .copied()
            .map(Some)
            .ok_or(DecodeError::new(at, K::BadGid(id)))
    }

    /// A file-scoped list id (0 = none).
    pub fn list(&mut self) -> DResult<Option<Arc<List>>> {
        let at = self.pos;
        let id = self.u32()?;
        if id == 0 {
            return Ok(None);
        }
        self.file
            .lists
            .get(id as usize - 1)
            .cloned()
            .map(Some)
            .ok_or(DecodeError::new(at, K::UnknownList(id)))
    }

    /// A file-scoped cycle id (0 = none).
    pub fn cycle(&mut self) -> DResult<Option<Arc<Cycle>>> {
        let at = self.pos;
        let id = self.u32()?;
        if id == 0 {
            return Ok(None);
        }
        self.file
            .cycles
            .get(id as usize - 1)
            .cloned()
            .map(Some)
            .ok_or(DecodeError::new(at, K::UnknownCycle(id)))
    }

    /// An interface name with its per-record back-reference table.
    pub fn ifname(&mut self) -> DResult<String> {
        let at = self.pos;
        let id = self.u8()?;
        if id == 0 {
            return self.string();
        }
        let k = usize::from(id) - 1;
        if let Some(&(start, n)) = self.t.ifnames.get(k) {
            return Ok(text(&self.b[start..start + n]));
        }
        if k == self.t.ifnames.len() {
            let (start, n) = self.string_range()?;
            self.t.ifnames.push((start, n));
            return Ok(text(&self.b[start..start + n]));
        }
        Err(DecodeError::new(
            at,
            K::BadIfname {
                id,
                table: self.t.ifnames.len(),
            },
        ))
    }

    /// A block of ICMP extension objects.
    pub fn icmpext(&mut self) -> DResult<Vec<IcmpExt>> {
        let at = self.pos;
        let total = usize::from(self.u16()?);
        if total == 0 {
            return Err(DecodeError::new(at, K::BadIcmpExt));
        }
        let end = self.pos + total;
        if end > self.b.len() {
            return Err(self.err(K::Short {
                needed: end - self.b.len(),
            }));
        }
        let mut out = Vec::new();
        while self.pos < end {
            if end - self.pos < 4 {
                return Err(self.err(K::BadIcmpExt));
            }
            let dl = usize::from(self.u16()?);
            let class = self.u8()?;
            let ctype = self.u8()?;
            if self.pos + dl > end {
                return Err(self.err(K::BadIcmpExt));
            }
            let data = self.bytes(dl)?.to_vec();
            out.push(IcmpExt { class, ctype, data });
        }
        Ok(out)
    }
}

/// Bytes of a warts string as text (invalid UTF-8 replaced).
fn text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// Writer-side address table: index = order of first definition.
#[derive(Default)]
pub(crate) struct AddrTableW {
    v: Vec<Addr>,
    map: HashMap<Addr, u32>,
}

impl AddrTableW {
    fn clear(&mut self) {
        self.v.clear();
        self.map.clear();
    }

    fn find(&self, a: &Addr) -> Option<u32> {
        if self.v.len() <= 32 {
            self.v.iter().position(|x| x == a).map(|i| i as u32)
        } else {
            self.map.get(a).copied()
        }
    }

    fn insert(&mut self, a: Addr) {
        let i = self.v.len() as u32;
        self.v.push(a);
        if self.v.len() == 33 {
            self.map
                .extend(self.v.iter().enumerate().map(|(i, a)| (*a, i as u32)));
        } else if self.v.len() > 33 {
            self.map.insert(a, i);
        }
    }
}

/// An encoder for one record body, with its address and interface-name tables.
#[derive(Default)]
pub(crate) struct Enc {
    pub buf: Vec<u8>,
    addrs: AddrTableW,
    ifnames: Vec<String>,
    /// The record type name, for error messages.
    pub record: &'static str,
}

/// An open params block being written.
pub(crate) struct ParamsW {
    start: usize,
    reserved: usize,
    mask: u64,
}

impl ParamsW {
    /// Marks flag `n` (1-based) as set; its value must be written next.
    #[inline]
    pub fn set(&mut self, n: u32) {
        self.mask |= 1u64 << (n - 1);
    }
}

impl Enc {
    /// Starts a record body.
    pub fn begin(&mut self, record: &'static str) {
        self.buf.clear();
        self.addrs.clear();
        self.ifnames.clear();
        self.record = record;
    }

    pub fn range(&self, field: &'static str, value: u64, max: u64) -> WriteError {
        WriteError::OutOfRange {
            record: self.record,
            field,
            value,
            max,
        }
    }

    #[inline]
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    #[inline]
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    #[inline]
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A count that must fit in a u8.
    pub fn count8(&mut self, n: usize, field: &'static str) -> EResult<()> {
        let v = u8::try_from(n).map_err(|_| self.range(field, n as u64, u64::from(u8::MAX)))?;
        self.u8(v);
        Ok(())
    }

    /// A count that must fit in a u16.
    pub fn count16(&mut self, n: usize, field: &'static str) -> EResult<()> {
        let v = u16::try_from(n).map_err(|_| self.range(field, n as u64, u64::from(u16::MAX)))?;
        self.u16(v);
        Ok(())
    }

    /// A count that must fit in a u32.
    pub fn count32(&mut self, n: usize, field: &'static str) -> EResult<()> {
        let v = u32::try_from(n).map_err(|_| self.range(field, n as u64, u64::from(u32::MAX)))?;
        self.u32(v);
        Ok(())
    }

    #[inline]
    pub fn timeval(&mut self, t: Timestamp) {
        self.u32(t.sec);
        self.u32(t.usec);
    }

    /// A duration as u32 microseconds.
    pub fn rtt(&mut self, d: Duration, field: &'static str) -> EResult<()> {
        let us = d.as_micros();
        let v = u32::try_from(us).map_err(|_| self.range(field, us as u64, u64::from(u32::MAX)))?;
        self.u32(v);
        Ok(())
    }

    /// A string, cut at any embedded NUL, then NUL-terminated.
    pub fn string(&mut self, s: &str) {
        let b = s.as_bytes();
        let n = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        self.buf.extend_from_slice(&b[..n]);
        self.buf.push(0);
    }

    fn addr_def(&mut self, a: &Addr) {
        let mut tmp = [0u8; 16];
        let n = a.write_bytes(&mut tmp);
        self.buf.push(n as u8);
        self.buf.push(a.kind().code());
        self.buf.extend_from_slice(&tmp[..n]);
    }

    /// A per-record address: defined the first time, referenced afterwards.
    pub fn addr(&mut self, a: &Addr) {
        if let Some(i) = self.addrs.find(a) {
            self.buf.push(0);
            self.u32(i);
        } else {
            self.addr_def(a);
            self.addrs.insert(*a);
        }
    }

    /// A static address (always a definition, not in the table).
    pub fn saddr(&mut self, a: &Addr) {
        self.addr_def(a);
    }

    /// An interface name with back-references.
    pub fn ifname(&mut self, name: &str) {
        if let Some(i) = self.ifnames.iter().position(|n| n == name) {
            self.u8(i as u8 + 1);
            return;
        }
        if self.ifnames.len() < 254 {
            self.ifnames.push(name.to_owned());
            self.u8(self.ifnames.len() as u8);
        } else {
            self.u8(0);
        }
        self.string(name);
    }

    /// A block of ICMP extension objects (must not be empty).
    pub fn icmpext(&mut self, exts: &[IcmpExt]) -> EResult<()> {
        let total: usize = exts.iter().map(|e| 4 + e.data.len()).sum();
        self.count16(total, "icmp extensions length")?;
        for e in exts {
            self.count16(e.data.len(), "icmp extension data length")?;
            self.u8(e.class);
            self.u8(e.ctype);
            self.buf.extend_from_slice(&e.data);
        }
        Ok(())
    }

    /// Opens a params block whose highest possible flag is `max_flag`.
    pub fn params_begin(&mut self, max_flag: u32) -> ParamsW {
        let start = self.buf.len();
        let reserved = max_flag.div_ceil(7) as usize + 2;
        self.buf.resize(start + reserved, 0);
        ParamsW {
            start,
            reserved,
            mask: 0,
        }
    }

    /// Closes a params block: writes the flag bytes and the params length.
    /// Takes the block by value so it cannot be closed twice.
    #[allow(clippy::needless_pass_by_value)]
    pub fn params_end(&mut self, p: ParamsW) -> EResult<()> {
        let values = p.start + p.reserved;
        if p.mask == 0 {
            self.buf.truncate(p.start);
            self.buf.push(0);
            return Ok(());
        }
        let highest = 64 - p.mask.leading_zeros();
        let nflag = highest.div_ceil(7) as usize;
        let header = nflag + 2;
        let len = self.buf.len() - values;
        let len16 =
            u16::try_from(len).map_err(|_| self.range("params block length", len as u64, 65535))?;
        if header < p.reserved {
            self.buf.copy_within(values.., p.start + header);
            self.buf.truncate(self.buf.len() - (p.reserved - header));
        }
        for i in 0..nflag {
            let mut b = ((p.mask >> (7 * i)) & 0x7f) as u8;
            if i + 1 < nflag {
                b |= 0x80;
            }
            self.buf[p.start + i] = b;
        }
        self.buf[p.start + nflag..p.start + header].copy_from_slice(&len16.to_be_bytes());
        Ok(())
    }
}

/// Splits a duration into whole seconds (a `u8`) and a `u32` count of further
/// microseconds. Normal values give a sub-second remainder; durations above 255 s
/// (which a file can hold, with a large microsecond part) carry the excess in the
/// microseconds, so anything read can be written back.
pub(crate) fn split_secs_u8(enc: &Enc, d: Duration, field: &'static str) -> EResult<(u8, u32)> {
    let s = d.as_secs().min(255);
    let rest = d.as_micros() - u128::from(s) * 1_000_000;
    let us = u32::try_from(rest)
        .map_err(|_| enc.range(field, d.as_secs(), 255 + u64::from(u32::MAX) / 1_000_000))?;
    Ok((s as u8, us))
}

/// A duration that must be whole units of `unit` and fit `max` units.
pub(crate) fn units(
    enc: &Enc,
    d: Duration,
    unit: Duration,
    max: u64,
    field: &'static str,
) -> EResult<u64> {
    let n = d.as_nanos() / unit.as_nanos();
    let n = u64::try_from(n).unwrap_or(u64::MAX);
    if n > max {
        return Err(enc.range(field, n, max));
    }
    Ok(n)
}
