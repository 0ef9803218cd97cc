//! The one result data model of Vantage.
//!
//! Every measurement result Vantage produces or reads is one of the types here:
//! [`Ping`], [`Trace`], [`Tracelb`] (MDA traceroute), [`Dealias`] (alias
//! resolution: ally, mercator, radargun, prefixscan, bump, MIDAR), [`Host`]
//! (DNS), [`Http`], [`Udpprobe`], [`Sniff`], [`Neighbourdisc`] (ARP/NDP), and the bookkeeping records
//! [`List`] and [`Cycle`], all gathered in [`Record`]. Engines build them, the warts and JSON codecs (crate
//! `vantage-warts`) encode and decode them, and the Python module exposes them.
//!
//! What this crate is: plain data (public fields, `Clone`, `Debug`,
//! `PartialEq`) with the small helpers every consumer needs (enum names as
//! scamper prints them, flag sets, reply predicates, ping statistics).
//!
//! What it is not: a codec. Nothing here knows about warts or JSON bytes, does
//! I/O or measures anything. Field names are our own; each type's docs say which
//! scamper field it mirrors where that is not obvious.
//!
//! Conventions: times are [`Timestamp`] (seconds + microseconds since the
//! epoch); durations are [`std::time::Duration`] and the file formats keep them
//! to microseconds (or coarser units, noted per field). Numeric codes with
//! open-ended values (methods, stop reasons) are enums with an `Other(code)`
//! variant; flag words are small bit-set newtypes that keep unknown bits.
//! Optional features: `serde` derives `Serialize`/`Deserialize` on every type.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod macros;

mod addr;
mod dealias;
mod host;
mod http;
mod icmpext;
mod list;
mod neighbourdisc;
mod ping;
mod record;
mod sniff;
mod time;
mod trace;
mod tracelb;
mod udpprobe;

pub use addr::{Addr, AddrKind, AddrParseError};
pub use dealias::{
    AllyFlags, Dealias, DealiasMethod, DealiasProbe, DealiasProbedef, DealiasReply,
    DealiasReplyFlags, DealiasResult, MidardiscRound, PrefixscanFlags, ProbedefMethod,
    RadargunFlags,
};
pub use host::{
    CLASS_CH, CLASS_IN, DnsHeaderFlags, DnsRr, DnsRrData, DnsSoa, Host, HostFlags, HostQuery,
    HostStop, RR_TYPES, rr_data_kind,
};
pub use http::{Http, HttpBuf, HttpBufType, HttpFlags, HttpStop, HttpTls, HttpType};
pub use icmpext::{IcmpExt, MplsLabel};
pub use list::{Cycle, List};
pub use neighbourdisc::{
    Neighbourdisc, NeighbourdiscFlags, NeighbourdiscMethod, NeighbourdiscProbe, NeighbourdiscReply,
};
pub use ping::{
    IcmpTimestamps, Ping, PingFlags, PingIpTimestamps, PingMethod, PingReply, PingReplyFlags,
    PingStats, PingStop,
};
pub use record::{RawRecord, Record};
pub use sniff::{Sniff, SniffPacket, SniffStop};
pub use time::Timestamp;
pub use trace::{
    DoubletreeFlags, GapAction, PmtudNote, PmtudNoteKind, Trace, TraceDoubletree, TraceFlags,
    TraceHop, TraceMethod, TracePmtud, TraceReplyFlags, TraceStop,
};
pub use tracelb::{
    Tracelb, TracelbFlags, TracelbLink, TracelbMethod, TracelbNode, TracelbProbe, TracelbReply,
    TracelbReplyFlags,
};
pub use udpprobe::{Udpprobe, UdpprobeFlags, UdpprobeProbe, UdpprobeReply, UdpprobeStop};
