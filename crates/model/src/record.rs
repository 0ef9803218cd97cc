//! One enum for every kind of record a result stream (warts file, control
//! socket) carries.

use std::sync::Arc;

use crate::{
    Cycle, Dealias, Host, Http, List, Neighbourdisc, Ping, Sniff, Trace, Tracelb, Udpprobe,
};

/// A record of a result stream, in stream order.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Record {
    /// A list definition.
    List(Arc<List>),
    /// The start of a cycle.
    CycleStart(Arc<Cycle>),
    /// A cycle whose start is in another file (a definition only).
    CycleDef(Arc<Cycle>),
    /// The end of a cycle; `stop_time` is set.
    CycleStop(Arc<Cycle>),
    /// A ping.
    Ping(Box<Ping>),
    /// A traceroute.
    Trace(Box<Trace>),
    /// An MDA traceroute.
    Tracelb(Box<Tracelb>),
    /// An alias resolution.
    Dealias(Box<Dealias>),
    /// A DNS measurement.
    Host(Box<Host>),
    /// An HTTP fetch.
    Http(Box<Http>),
    /// A udpprobe.
    Udpprobe(Box<Udpprobe>),
    /// A packet capture.
    Sniff(Box<Sniff>),
    /// A neighbour discovery (ARP / NDP).
    Neighbourdisc(Box<Neighbourdisc>),
    /// A record of a type this version does not model (tbit, sting, owamp or
    /// newer), kept as raw bytes.
    Unsupported(RawRecord),
}

/// A record kept as its type code and undecoded body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RawRecord {
    /// The record type code (warts numbering).
    pub kind: u16,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Record {
    /// The name of the record's type, as scamper's tools print it.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::List(_) => "list",
            Self::CycleStart(_) => "cycle-start",
            Self::CycleDef(_) => "cycle-def",
            Self::CycleStop(_) => "cycle-stop",
            Self::Ping(_) => "ping",
            Self::Trace(_) => "trace",
            Self::Tracelb(_) => "tracelb",
            Self::Dealias(_) => "dealias",
            Self::Host(_) => "host",
            Self::Http(_) => "http",
            Self::Udpprobe(_) => "udpprobe",
            Self::Sniff(_) => "sniff",
            Self::Neighbourdisc(_) => "neighbourdisc",
            Self::Unsupported(_) => "unsupported",
        }
    }
    /// Clears the Vantage-only fields warts cannot store (DNS raw bytes, RDATA and text;
    /// the HTTP TLS session; udpprobe reply senders), so that the record equals what a
    /// warts file gives back.
    pub fn clear_extensions(&mut self) {
        match self {
            Self::Host(h) => h.clear_extensions(),
            Self::Http(h) => h.clear_extensions(),
            Self::Udpprobe(u) => u.clear_extensions(),
            _ => {}
        }
    }
}
