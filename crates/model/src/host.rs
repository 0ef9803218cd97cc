//! DNS lookups (host).

use std::sync::Arc;
use std::time::Duration;

use crate::macros::{code_enum, flag_set};
use crate::{Addr, Cycle, List, Timestamp};

code_enum! {
    /// Why a DNS measurement stopped.
    pub enum HostStop: u8 {
        /// No reason recorded.
        None = 0 => "none",
        /// A response was received.
        Done = 1 => "done",
        /// Every attempt timed out.
        Timeout = 2 => "timeout",
        /// Halted by the user.
        Halted = 3 => "halted",
        /// An error.
        Error = 4 => "error",
    }
}

flag_set! {
    /// Options of a DNS measurement.
    pub struct HostFlags(u16) {
        /// Recursion not desired (`-r`).
        const NORECURSE = 0x01 => "norecurse";
        /// Query over TCP.
        const TCP = 0x02 => "tcp";
        /// Ask for the NSID (EDNS).
        const NSID = 0x04 => "nsid";
    }
}

flag_set! {
    /// DNS header flags of a response, as warts packs them.
    pub struct DnsHeaderFlags(u8) {
        /// Checking disabled.
        const CD = 0x01 => "CD";
        /// Authentic data.
        const AD = 0x02 => "AD";
        /// Reserved Z bit.
        const Z = 0x04 => "Z";
        /// Recursion available.
        const RA = 0x08 => "RA";
        /// Recursion desired.
        const RD = 0x10 => "RD";
        /// Truncated.
        const TC = 0x20 => "TC";
        /// Authoritative answer.
        const AA = 0x40 => "AA";
    }
}

/// The SOA record data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DnsSoa {
    /// Primary name server.
    pub mname: String,
    /// Responsible mailbox.
    pub rname: String,
    /// Serial.
    pub serial: u32,
    /// Refresh interval, seconds.
    pub refresh: u32,
    /// Retry interval, seconds.
    pub retry: u32,
    /// Expiry, seconds.
    pub expire: u32,
    /// Negative-caching TTL, seconds.
    pub minimum: u32,
}

/// The decoded data of a resource record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DnsRrData {
    /// IN A or IN AAAA.
    Addr(Addr),
    /// IN NS, CNAME or PTR: a domain name.
    Name(String),
    /// IN SOA.
    Soa(DnsSoa),
    /// IN MX.
    Mx {
        /// Preference.
        preference: u16,
        /// Exchange host.
        exchange: String,
    },
    /// TXT (IN or CH): character strings (each at most 255 bytes).
    Txt(Vec<Vec<u8>>),
    /// OPT pseudo-record (type 41): EDNS options as (code, data).
    Opt(Vec<(u16, Vec<u8>)>),
    /// IN SVCB or HTTPS.
    Svcb {
        /// Priority (0 = alias form).
        priority: u16,
        /// Target name.
        target: Option<String>,
        /// Service parameters as (key, value).
        params: Vec<(u16, Vec<u8>)>,
    },
}

/// DNS class IN.
pub const CLASS_IN: u16 = 1;
/// DNS class CH.
pub const CLASS_CH: u16 = 3;

/// DNS RR types with names, for `qtype`/`rtype` text.
pub const RR_TYPES: &[(u16, &str)] = &[
    (1, "A"),
    (2, "NS"),
    (5, "CNAME"),
    (6, "SOA"),
    (12, "PTR"),
    (15, "MX"),
    (16, "TXT"),
    (28, "AAAA"),
    (41, "OPT"),
    (43, "DS"),
    (44, "SSHFP"),
    (46, "RRSIG"),
    (47, "NSEC"),
    (48, "DNSKEY"),
    (64, "SVCB"),
    (65, "HTTPS"),
];

/// The data variant warts requires for an RR of `class`/`rtype` (a [`DnsRrData`]
/// discriminant name: "addr", "name", "soa", "mx", "txt", "opt", "svcb"), or
/// `None` if such RRs carry no data.
#[must_use]
pub const fn rr_data_kind(class: u16, rtype: u16) -> Option<&'static str> {
    if rtype == 41 {
        return Some("opt");
    }
    match (class, rtype) {
        (CLASS_IN, 1 | 28) => Some("addr"),
        (CLASS_IN, 2 | 5 | 12) => Some("name"),
        (CLASS_IN, 6) => Some("soa"),
        (CLASS_IN, 15) => Some("mx"),
        (CLASS_IN | CLASS_CH, 16) => Some("txt"),
        (CLASS_IN, 64 | 65) => Some("svcb"),
        _ => None,
    }
}

impl DnsRrData {
    /// The name of this variant as [`rr_data_kind`] returns it.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Addr(_) => "addr",
            Self::Name(_) => "name",
            Self::Soa(_) => "soa",
            Self::Mx { .. } => "mx",
            Self::Txt(_) => "txt",
            Self::Opt(_) => "opt",
            Self::Svcb { .. } => "svcb",
        }
    }
}

/// One resource record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DnsRr {
    /// Class (1 IN, 3 CH).
    pub class: u16,
    /// Type (1 A, 28 AAAA, ...).
    pub rtype: u16,
    /// Owner name.
    pub name: Option<String>,
    /// TTL, seconds.
    pub ttl: u32,
    /// Decoded data, for the types warts decodes.
    pub data: Option<DnsRrData>,
    /// The raw RDATA as received (Vantage extension: warts does not store it; it reads
    /// back empty).
    pub rdata: Vec<u8>,
    /// The RDATA in DNS presentation form (`10 0 443 www.example.`), for every type the
    /// decoder knows (Vantage extension, not in warts).
    pub text: Option<String>,
}

/// One query attempt and the response it got.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HostQuery {
    /// When the query was sent (zero if not recorded).
    pub tx: Timestamp,
    /// When the response arrived (zero if none).
    pub rx: Timestamp,
    /// DNS message id.
    pub id: u16,
    /// Response code (low 4 bits from the header).
    pub rcode: u8,
    /// Response header flags.
    pub flags: DnsHeaderFlags,
    /// Answer section.
    pub an: Vec<DnsRr>,
    /// Authority section.
    pub ns: Vec<DnsRr>,
    /// Additional section.
    pub ar: Vec<DnsRr>,
    /// The raw response bytes as received, without a TCP length prefix (Vantage
    /// extension, not in warts).
    pub response: Option<Vec<u8>>,
    /// Why the response could not be used as it came: malformed (the sections then hold
    /// what was read before the problem), not a response, another question, cut short
    /// (Vantage extension, not in warts).
    pub error: Option<String>,
}

impl HostQuery {
    /// Clears what warts cannot store (raw response, its problem, each record's RDATA and
    /// text): the record as it reads back from a warts file.
    pub fn clear_extensions(&mut self) {
        self.response = None;
        self.error = None;
        for rr in self.an.iter_mut().chain(&mut self.ns).chain(&mut self.ar) {
            rr.rdata = Vec::new();
            rr.text = None;
        }
    }

    /// Whether a response was received.
    #[must_use]
    pub const fn has_response(&self) -> bool {
        !self.rx.is_zero()
    }

    /// Time from query to response.
    #[must_use]
    pub fn rtt(&self) -> Option<Duration> {
        self.has_response().then(|| self.rx.since(self.tx))
    }
}

/// A DNS measurement.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Host {
    /// The list this measurement belongs to.
    pub list: Option<Arc<List>>,
    /// The cycle this measurement belongs to.
    pub cycle: Option<Arc<Cycle>>,
    /// A user-chosen id, 0 if none.
    pub user_id: u32,
    /// The source address.
    pub src: Option<Addr>,
    /// The server queried.
    pub dst: Addr,
    /// When it started.
    pub start: Timestamp,
    /// Options.
    pub flags: HostFlags,
    /// Per-attempt timeout, milliseconds (up to 65535).
    pub wait_timeout: Duration,
    /// Why it stopped.
    pub stop_reason: HostStop,
    /// Retries allowed.
    pub retries: u8,
    /// Query type.
    pub qtype: u16,
    /// Query class.
    pub qclass: u16,
    /// Query name.
    pub qname: Option<String>,
    /// EDNS client subnet sent, as text.
    pub ecs: Option<String>,
    /// The prober's error text.
    pub errmsg: Option<String>,
    /// Query attempts (at most 255).
    pub queries: Vec<HostQuery>,
}

impl Host {
    /// Clears the Vantage extensions of every query (see [`HostQuery::clear_extensions`]).
    pub fn clear_extensions(&mut self) {
        for q in &mut self.queries {
            q.clear_extensions();
        }
    }
}
