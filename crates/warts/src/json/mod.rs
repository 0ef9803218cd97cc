//! The JSON that scamper's tools write, for the Vantage result model.
//!
//! One JSON object per record, in the layout of scamper's own JSON printers
//! (`sc_warts2json`, `scamper -O json`): the same keys in the same order, the
//! same nesting and the same value formats (RTTs as milliseconds with three
//! decimals, timestamps as `{"sec":S,"usec":U}`, flag sets as arrays of
//! names, strings through scamper's `json_esc`), so scripts written for that
//! JSON keep working. The spacing after separators follows scamper too: for
//! every record of scamper's own test files the output is byte-identical to
//! `sc_warts2json` (apart from the deviations below).
//!
//! Which records have JSON (json.md §1.1–1.2): cycle-start, cycle-stop,
//! ping, trace, tracelb, dealias (not the MIDAR methods), host, udpprobe and
//! neighbourdisc. List and cycle-definition records, http and sniff produce
//! nothing, as in scamper; so do records this version does not model (tbit,
//! sting, owamp).
//!
//! Two flavours ([`JsonOptions::live`]):
//! - converted (the default): what `sc_warts2json` prints for a warts file.
//!   Warts keeps no unanswered probes, so pings have `"no_responses":[]` and
//!   traces have no `no_hops`.
//! - live: what scamper prints when it writes JSON itself: unanswered ping
//!   probes in `no_responses` and unanswered trace probes in `no_hops` /
//!   `extra_no_hops`. The model keeps replies only, so these are
//!   reconstructed (see [`JsonOptions::live`]).
//!
//! Deliberate deviations from `sc_warts2json` (each one a bug there):
//! - `probe_tsps` (ping `-T tsprespec`) is a valid array with commas;
//!   scamper writes the addresses with no separator, which no JSON parser
//!   accepts.
//! - Strings scamper writes without escaping (list names, host names,
//!   interface names) are escaped here when they hold a `"`, `\` or a
//!   character outside printable ASCII, so every line parses.
//! - Converting a file, a dealias record of a MIDAR method is skipped and
//!   the conversion goes on; `sc_warts2json` stops at it with status 255.
//!
//! Speed: the writer appends to a caller-owned `Vec<u8>` with hand-written
//! number and address formatting; no allocation per record once the buffer
//! has grown.

mod cycle;
mod dealias;
pub mod fuzzing;
mod host;
mod neighbourdisc;
mod out;
mod ping;
mod trace;
mod tracelb;
mod udpprobe;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use vantage_model::Record;

use out::Out;

/// A function giving the local time zone's offset from UTC, in seconds, at
/// a point in time (seconds since the epoch).
pub type UtcOffsetFn = dyn Fn(i64) -> i32 + Send + Sync;

/// How to write JSON.
#[derive(Clone, Default)]
pub struct JsonOptions {
    /// Write scamper's live JSON instead of `sc_warts2json`'s: list unanswered
    /// ping probes in `no_responses` and unanswered traceroute probes in
    /// `no_hops`/`extra_no_hops`.
    ///
    /// The model stores replies only, so the unanswered probes are
    /// reconstructed: for a ping, every probe id below `probes_sent` without a
    /// reply (with its ports, without a transmit time); for a traceroute,
    /// `attempts` probes at each TTL without a reply and the attempts before
    /// the first answered one at the others, capped at `probes_sent`.
    pub live: bool,
    /// The local time zone used for traceroute and tracelb `ftime` strings
    /// (scamper formats them in the local time of the process). `None`: UTC.
    pub utc_offset: Option<Arc<UtcOffsetFn>>,
}

impl fmt::Debug for JsonOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonOptions")
            .field("live", &self.live)
            .field("utc_offset", &self.utc_offset.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

impl JsonOptions {
    /// The options of `sc_warts2json`: converted output, `ftime` in UTC.
    #[must_use]
    pub fn converted() -> Self {
        Self::default()
    }

    /// The options of scamper's live output, `ftime` in UTC.
    #[must_use]
    pub fn live() -> Self {
        Self {
            live: true,
            utc_offset: None,
        }
    }

    /// These options with `ftime` in the time zone `offset` describes.
    #[must_use]
    pub fn with_utc_offset(mut self, offset: Arc<UtcOffsetFn>) -> Self {
        self.utc_offset = Some(offset);
        self
    }

    /// The UTC offset in seconds at `secs` since the epoch.
    pub(crate) fn utc_offset(&self, secs: i64) -> i32 {
        self.utc_offset.as_ref().map_or(0, |f| f(secs))
    }
}

/// Whether scamper's tools write JSON for this record (see the module docs).
#[must_use]
pub fn has_json(rec: &Record) -> bool {
    match rec {
        Record::CycleStart(_)
        | Record::CycleStop(_)
        | Record::Ping(_)
        | Record::Trace(_)
        | Record::Tracelb(_)
        | Record::Host(_)
        | Record::Udpprobe(_)
        | Record::Neighbourdisc(_) => true,
        Record::Dealias(d) => dealias::supported(d),
        _ => false,
    }
}

/// Appends the JSON object for `rec` to `buf` (no trailing newline) and
/// returns true, or returns false and leaves `buf` unchanged if the record
/// has no JSON.
pub fn write_json(buf: &mut Vec<u8>, rec: &Record, opts: &JsonOptions) -> bool {
    if !has_json(rec) {
        return false;
    }
    let o = &mut Out { b: buf };
    match rec {
        Record::CycleStart(c) => cycle::write(o, c, true),
        Record::CycleStop(c) => cycle::write(o, c, false),
        Record::Ping(p) => ping::write(o, p, opts),
        Record::Trace(t) => trace::write(o, t, opts),
        Record::Tracelb(t) => tracelb::write(o, t, opts),
        Record::Dealias(d) => dealias::write(o, d),
        Record::Host(h) => host::write(o, h),
        Record::Udpprobe(u) => udpprobe::write(o, u),
        Record::Neighbourdisc(n) => neighbourdisc::write(o, n),
        _ => return false,
    }
    true
}

/// The JSON object for `rec` as `sc_warts2json` writes it (no trailing
/// newline), or `None` if the record has no JSON.
#[must_use]
pub fn to_json(rec: &Record) -> Option<String> {
    to_json_with(rec, &JsonOptions::default())
}

/// The JSON object for `rec` with the given options, or `None` if the record
/// has no JSON.
#[must_use]
pub fn to_json_with(rec: &Record, opts: &JsonOptions) -> Option<String> {
    let mut buf = Vec::new();
    if !write_json(&mut buf, rec, opts) {
        return None;
    }
    // The writer only emits ASCII.
    String::from_utf8(buf).ok()
}

/// A reusable encoder: one buffer for many records, for streaming output.
#[derive(Debug, Default)]
pub struct JsonEncoder {
    opts: JsonOptions,
    buf: Vec<u8>,
}

impl JsonEncoder {
    /// An encoder with the given options.
    #[must_use]
    pub fn new(opts: JsonOptions) -> Self {
        Self {
            opts,
            buf: Vec::with_capacity(4096),
        }
    }

    /// The options in use.
    #[must_use]
    pub fn options(&self) -> &JsonOptions {
        &self.opts
    }

    /// The JSON line for `rec` including its trailing `\n`, borrowed from
    /// the encoder's buffer until the next call; `None` if the record has no
    /// JSON.
    pub fn encode_line(&mut self, rec: &Record) -> Option<&[u8]> {
        self.buf.clear();
        if !write_json(&mut self.buf, rec, &self.opts) {
            return None;
        }
        self.buf.push(b'\n');
        Some(&self.buf)
    }
}

/// A quoted name, or the code as a quoted number when there is no name.
fn name_or_code(o: &mut Out<'_>, name: Option<&str>, code: u64) {
    o.s("\"");
    match name {
        Some(n) => o.s(n),
        None => o.u(code),
    }
    o.s("\"");
}
