//! DNS messages without I/O: the query builder and the response decoder.
//!
//! [`DnsRequest`] says what to ask; [`build_query`] turns it into wire bytes for one
//! message id. [`decode_response`] never fails: it returns a [`DnsResponse`] holding every
//! record it could read (each section in order, the OPT pseudo-record kept in the additional
//! section where warts expects it), each record's raw RDATA, its decoded form where the model
//! has one, its presentation text, and the first problem found (`error`). The caller keeps the
//! raw bytes next to it, so a malformed response is never lost.
//!
//! hickory-proto does the name handling (compression pointers, escapes) and the presentation
//! text of every type it knows; the framing (header, counts, RR headers, RDLENGTH) is read
//! here so that one bad record does not hide the rest.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hickory_proto::op::{Edns as HEdns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::opt::{ClientSubnet as HSubnet, EdnsOption, NSIDPayload};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, Restrict};
use vantage_command::{HostSpec, QueryType};
use vantage_model::{Addr, CLASS_CH, CLASS_IN, DnsHeaderFlags, DnsRr, DnsRrData, DnsSoa};

/// DNS type numbers the `host` measurement knows by name (any other number works too).
pub mod rtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Name server.
    pub const NS: u16 = 2;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// Pointer (reverse lookups).
    pub const PTR: u16 = 12;
    /// Mail exchanger.
    pub const MX: u16 = 15;
    /// Text.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service location.
    pub const SRV: u16 = 33;
    /// EDNS pseudo-record.
    pub const OPT: u16 = 41;
    /// Delegation signer.
    pub const DS: u16 = 43;
    /// DNSSEC key.
    pub const DNSKEY: u16 = 48;
    /// Service binding.
    pub const SVCB: u16 = 64;
    /// HTTPS service binding.
    pub const HTTPS: u16 = 65;
    /// Any type (a query only).
    pub const ANY: u16 = 255;
    /// Certification authority authorization.
    pub const CAA: u16 = 257;

    /// Every named type with its mnemonic.
    pub const NAMES: &[(u16, &str)] = &[
        (A, "A"),
        (NS, "NS"),
        (CNAME, "CNAME"),
        (SOA, "SOA"),
        (PTR, "PTR"),
        (MX, "MX"),
        (TXT, "TXT"),
        (AAAA, "AAAA"),
        (SRV, "SRV"),
        (OPT, "OPT"),
        (DS, "DS"),
        (DNSKEY, "DNSKEY"),
        (SVCB, "SVCB"),
        (HTTPS, "HTTPS"),
        (ANY, "ANY"),
        (CAA, "CAA"),
    ];

    /// The number of a type mnemonic (case-insensitive), also `TYPEnnn`.
    pub fn from_name(name: &str) -> Option<u16> {
        NAMES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(c, _)| *c)
            .or_else(|| {
                name.get(..4)
                    .filter(|p| p.eq_ignore_ascii_case("TYPE"))
                    .and_then(|_| name[4..].parse().ok())
            })
    }
}

/// EDNS(0) settings of a query (RFC 6891).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    /// The UDP payload size we advertise.
    pub udp_size: u16,
    /// The DNSSEC OK bit.
    pub dnssec_ok: bool,
    /// Ask for the server's NSID (RFC 5001).
    pub nsid: bool,
    /// An EDNS client subnet (RFC 7871): address and source prefix length.
    pub client_subnet: Option<(IpAddr, u8)>,
}

impl Default for Edns {
    /// 1232 bytes (the DNS flag day 2020 value), no DO, no options.
    fn default() -> Self {
        Self {
            udp_size: 1232,
            dnssec_ok: false,
            nsid: false,
            client_subnet: None,
        }
    }
}

/// Everything a `host` measurement needs to know: a superset of what the `host` command
/// can say (any type number, EDNS buffer size and DO bit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRequest {
    /// The server to ask.
    pub server: IpAddr,
    /// The server's port (53).
    pub port: u16,
    /// The name as given; for a PTR query an IP literal is turned into its reverse name
    /// when the query is built.
    pub qname: String,
    /// The query type number (see [`rtype`]).
    pub qtype: u16,
    /// The query class number (1 IN, 3 CH).
    pub qclass: u16,
    /// Set the recursion-desired bit.
    pub recursion_desired: bool,
    /// Query over TCP instead of UDP.
    pub tcp: bool,
    /// Further attempts after the first one times out.
    pub retries: u8,
    /// How long each attempt waits for its response.
    pub timeout: Duration,
    /// EDNS(0), if any.
    pub edns: Option<Edns>,
    /// User id recorded in the result.
    pub user_id: u32,
    /// Whether the server came from the environment's default (recorded nowhere; kept for
    /// the caller's policy checks).
    pub default_server: bool,
}

impl DnsRequest {
    /// A UDP query for `qname`/`qtype` in class IN to `server`, RD set, no EDNS, no
    /// retries, a 5 s timeout.
    pub fn new(server: IpAddr, qname: &str, qtype: u16) -> Self {
        Self {
            server,
            port: 53,
            qname: qname.to_owned(),
            qtype,
            qclass: CLASS_IN,
            recursion_desired: true,
            tcp: false,
            retries: 0,
            timeout: Duration::from_secs(5),
            edns: None,
            user_id: 0,
            default_server: false,
        }
    }

    /// The request a validated `host` command describes. Any of `-O nsid`, `-O subnet=`,
    /// `-O bufsize=` and `-O do` turns EDNS on (buffer 1232 bytes unless `bufsize` says
    /// otherwise); the server is the command's `-s` or its default.
    pub fn from_spec(spec: &HostSpec) -> Self {
        let wants_edns =
            spec.nsid || spec.subnet.is_some() || spec.bufsize.is_some() || spec.dnssec_ok;
        let edns = wants_edns.then(|| Edns {
            udp_size: spec.bufsize.unwrap_or(Edns::default().udp_size),
            dnssec_ok: spec.dnssec_ok,
            nsid: spec.nsid,
            client_subnet: spec.subnet.map(|s| (s.addr, s.len)),
        });
        Self {
            server: spec.server.get(),
            port: 53,
            qname: spec.qname.clone(),
            qtype: spec.qtype.code(),
            qclass: spec.qclass.code(),
            recursion_desired: !spec.no_recurse,
            tcp: spec.tcp,
            retries: spec.retries,
            timeout: spec.wait,
            edns,
            user_id: spec.user_id,
            default_server: !spec.server.is_given(),
        }
    }

    /// The name that goes into the question: the reverse name for a PTR query of an IP
    /// literal, else the name as given.
    pub fn wire_name(&self) -> String {
        match self.qname.parse::<IpAddr>() {
            Ok(ip) if self.qtype == QueryType::Ptr.code() => reverse_name(ip),
            _ => self.qname.clone(),
        }
    }

    /// The client subnet as the model records it (`addr/len`).
    pub fn ecs_text(&self) -> Option<String> {
        self.edns
            .and_then(|e| e.client_subnet)
            .map(|(a, l)| format!("{a}/{l}"))
    }
}

/// Why a query could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The name is not a valid domain name.
    #[error("cannot query '{name}': {reason}")]
    BadName {
        /// The name.
        name: String,
        /// hickory's reason.
        reason: String,
    },
    /// The message could not be encoded.
    #[error("cannot encode the query: {0}")]
    Encode(String),
    /// A client subnet prefix is longer than its address.
    #[error("client subnet /{len} is too long for {addr}")]
    BadSubnet {
        /// The address.
        addr: IpAddr,
        /// The prefix length.
        len: u8,
    },
}

/// The reverse-lookup name of an address (`4.3.2.1.in-addr.arpa`, nibbles under
/// `ip6.arpa`), without a trailing dot.
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(a) => {
            let mut s = String::with_capacity(72);
            for b in a.octets().iter().rev() {
                let _ = write!(s, "{:x}.{:x}.", b & 0xf, b >> 4);
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

/// The wire bytes of the query `req` with message id `id` (no length prefix: add it for
/// TCP).
pub fn build_query(req: &DnsRequest, id: u16) -> Result<Vec<u8>, QueryError> {
    let wire = req.wire_name();
    let mut name = Name::from_ascii(&wire).map_err(|e| QueryError::BadName {
        name: wire.clone(),
        reason: e.to_string(),
    })?;
    name.set_fqdn(true);
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = req.recursion_desired;
    let mut q = Query::query(name, RecordType::from(req.qtype));
    q.set_query_class(DNSClass::from(req.qclass));
    msg.add_query(q);
    if let Some(e) = req.edns {
        let mut edns = HEdns::new();
        edns.set_max_payload(e.udp_size);
        edns.set_dnssec_ok(e.dnssec_ok);
        if e.nsid {
            let payload =
                NSIDPayload::new(Vec::new()).map_err(|x| QueryError::Encode(x.to_string()))?;
            edns.options_mut().insert(EdnsOption::NSID(payload));
        }
        if let Some((addr, len)) = e.client_subnet {
            let max = if addr.is_ipv4() { 32 } else { 128 };
            if len > max {
                return Err(QueryError::BadSubnet { addr, len });
            }
            edns.options_mut()
                .insert(EdnsOption::Subnet(HSubnet::new(mask(addr, len), len, 0)));
        }
        msg.set_edns(edns);
    }
    msg.to_vec().map_err(|e| QueryError::Encode(e.to_string()))
}

/// `addr` with every bit past `len` cleared (RFC 7871 §6 requires it).
fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

/// The fixed 12-byte header of a DNS message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// Message id.
    pub id: u16,
    /// The 16 flag bits: QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode.
    pub flags: u16,
    /// Question count.
    pub qdcount: u16,
    /// Answer count.
    pub ancount: u16,
    /// Authority count.
    pub nscount: u16,
    /// Additional count.
    pub arcount: u16,
}

impl Header {
    /// Whether the QR bit says "response".
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    /// The opcode (0 = standard query).
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }

    /// The low 4 bits of the response code.
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }

    /// The flag bits as warts packs them (AA TC RD RA Z AD CD).
    pub fn model_flags(&self) -> DnsHeaderFlags {
        DnsHeaderFlags(((self.flags >> 4) & 0x7f) as u8)
    }
}

/// One entry of the question section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The name (no trailing dot; the root is empty).
    pub name: String,
    /// Type number.
    pub qtype: u16,
    /// Class number.
    pub qclass: u16,
}

/// One decoded resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rr {
    /// The record as the model holds it: class, type, owner, TTL, decoded data for the
    /// types warts decodes, the raw RDATA (names inside may be compression pointers into
    /// the message) and its presentation form (`10 mail.example.`) when hickory knows the
    /// type.
    pub rr: DnsRr,
    /// Why the RDATA could not be decoded, if it could not.
    pub error: Option<String>,
}

/// Where decoding stopped or what was wrong, with the byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DNS response at byte {offset} ({part}): {reason}")]
pub struct DecodeError {
    /// Offset into the message.
    pub offset: usize,
    /// Which part: `header`, `question`, `answer`, `authority`, `additional`, `trailer`.
    pub part: &'static str,
    /// What was wrong.
    pub reason: String,
}

/// Everything read from one response. Decoding never fails: `error` holds the first
/// problem and the sections hold what was read before decoding had to stop.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsResponse {
    /// The header, if the message had 12 bytes.
    pub header: Option<Header>,
    /// The question section.
    pub questions: Vec<Question>,
    /// The answer section.
    pub answers: Vec<Rr>,
    /// The authority section.
    pub authorities: Vec<Rr>,
    /// The additional section (including any OPT record, in place).
    pub additionals: Vec<Rr>,
    /// The first problem found, if any.
    pub error: Option<DecodeError>,
}

impl DnsResponse {
    /// The EDNS OPT record, if the response had one.
    pub fn opt(&self) -> Option<&Rr> {
        self.additionals.iter().find(|r| r.rr.rtype == rtype::OPT)
    }

    /// The full 12-bit response code (RFC 6891: OPT's TTL holds the upper 8 bits).
    pub fn extended_rcode(&self) -> Option<u16> {
        let low = u16::from(self.header?.rcode());
        let high = self.opt().map_or(0, |o| (o.rr.ttl >> 24) as u16);
        Some(high << 4 | low)
    }

    /// The NSID the server sent (EDNS option 3), if any.
    pub fn nsid(&self) -> Option<&[u8]> {
        match &self.opt()?.rr.data {
            Some(DnsRrData::Opt(opts)) => opts
                .iter()
                .find(|(c, _)| *c == 3)
                .map(|(_, d)| d.as_slice()),
            _ => None,
        }
    }
}

/// A name as the model writes it: presentation form, no trailing dot, root = "".
fn name_text(n: &Name) -> String {
    let mut s = n.to_ascii();
    if s.ends_with('.') {
        s.pop();
    }
    s
}

/// Decodes one response message. Never panics, never fails (see [`DnsResponse`]).
pub fn decode_response(msg: &[u8]) -> DnsResponse {
    let mut out = DnsResponse::default();
    if msg.len() < 12 {
        out.error = Some(DecodeError {
            offset: 0,
            part: "header",
            reason: format!("{} bytes is shorter than a DNS header (12)", msg.len()),
        });
        return out;
    }
    let be = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]);
    let header = Header {
        id: be(0),
        flags: be(2),
        qdcount: be(4),
        ancount: be(6),
        nscount: be(8),
        arcount: be(10),
    };
    out.header = Some(header);
    let mut d = BinDecoder::new(msg);
    if d.read_slice(12).is_err() {
        return out;
    }
    for _ in 0..header.qdcount {
        let at = d.index();
        match read_question(&mut d) {
            Ok(q) => out.questions.push(q),
            Err(reason) => {
                out.error = Some(DecodeError {
                    offset: at,
                    part: "question",
                    reason,
                });
                return out;
            }
        }
    }
    let sections = [
        ("answer", header.ancount),
        ("authority", header.nscount),
        ("additional", header.arcount),
    ];
    for (si, (part, count)) in sections.into_iter().enumerate() {
        for _ in 0..count {
            let at = d.index();
            match read_rr(msg, &mut d) {
                Ok(rr) => {
                    if let (Some(e), None) = (&rr.error, &out.error) {
                        out.error = Some(DecodeError {
                            offset: at,
                            part,
                            reason: e.clone(),
                        });
                    }
                    match si {
                        0 => out.answers.push(rr),
                        1 => out.authorities.push(rr),
                        _ => out.additionals.push(rr),
                    }
                }
                Err(reason) => {
                    out.error = Some(DecodeError {
                        offset: at,
                        part,
                        reason,
                    });
                    return out;
                }
            }
        }
    }
    if !d.is_empty() && out.error.is_none() {
        out.error = Some(DecodeError {
            offset: d.index(),
            part: "trailer",
            reason: format!("{} bytes follow the last record", d.len()),
        });
    }
    out
}

fn read_question(d: &mut BinDecoder<'_>) -> Result<Question, String> {
    let name = Name::read(d).map_err(|e| format!("bad name: {e}"))?;
    let qtype = d.read_u16().map_err(|e| e.to_string())?.unverified();
    let qclass = d.read_u16().map_err(|e| e.to_string())?.unverified();
    Ok(Question {
        name: name_text(&name),
        qtype,
        qclass,
    })
}

/// Reads one RR. `Err` means the framing is broken (nothing after it can be read);
/// an RDATA that does not decode gives `Ok` with `error` set.
fn read_rr<'a>(msg: &'a [u8], d: &mut BinDecoder<'a>) -> Result<Rr, String> {
    let owner = Name::read(d).map_err(|e| format!("bad owner name: {e}"))?;
    let mut fixed = [0u16; 5];
    for f in &mut fixed {
        *f = d
            .read_u16()
            .map_err(|_| "record header cut short".to_owned())?
            .unverified();
    }
    let [rtype, class, ttl_hi, ttl_lo, rdlen] = fixed;
    let ttl = u32::from(ttl_hi) << 16 | u32::from(ttl_lo);
    let start = d.index();
    let end = start + usize::from(rdlen);
    if end > msg.len() {
        return Err(format!(
            "RDLENGTH {rdlen} runs past the end of the message ({} bytes left)",
            msg.len() - start
        ));
    }
    let rdata = &msg[start..end];
    let mut rr = Rr {
        rr: DnsRr {
            class,
            rtype,
            name: Some(name_text(&owner)),
            ttl,
            data: None,
            rdata: rdata.to_vec(),
            ..DnsRr::default()
        },
        error: None,
    };
    // Presentation text from hickory (which also checks the RDATA), on a decoder that can
    // follow compression pointers anywhere in the message.
    if rtype != rtype::OPT && rdlen > 0 {
        let mut sub = BinDecoder::new(msg);
        if sub.read_slice(start).is_ok() {
            match RData::read(&mut sub, RecordType::from(rtype), Restrict::new(rdlen)) {
                Ok(rd) => {
                    let mut s = String::new();
                    if write!(s, "{rd}").is_ok() {
                        rr.rr.text = Some(s);
                    }
                }
                Err(e) => rr.error = Some(format!("{} RDATA: {e}", type_name(rtype))),
            }
        }
    }
    match model_data(msg, start, rdata, class, rtype) {
        Ok(data) => rr.rr.data = data,
        Err(e) => {
            rr.error.get_or_insert(e);
        }
    }
    // Skip to the end of the RDATA whatever the decoders did.
    *d = BinDecoder::new(msg);
    d.read_slice(end)
        .map_err(|_| "cannot skip RDATA".to_owned())?;
    Ok(rr)
}

/// The mnemonic of a type, or `TYPEn`.
pub fn type_name(t: u16) -> String {
    rtype::NAMES
        .iter()
        .find(|(c, _)| *c == t)
        .map_or_else(|| format!("TYPE{t}"), |(_, n)| (*n).to_owned())
}

/// The decoded data warts keeps for `class`/`rtype` (`None` for other types).
fn model_data(
    msg: &[u8],
    start: usize,
    rdata: &[u8],
    class: u16,
    rtype: u16,
) -> Result<Option<DnsRrData>, String> {
    let Some(kind) = vantage_model::rr_data_kind(class, rtype) else {
        return Ok(None);
    };
    let name_at = |off: usize| -> Result<(String, usize), String> {
        let mut sub = BinDecoder::new(msg);
        sub.read_slice(start + off)
            .map_err(|_| "name offset past the end".to_owned())?;
        let n = Name::read(&mut sub).map_err(|e| format!("bad name: {e}"))?;
        Ok((name_text(&n), sub.index() - start))
    };
    let tname = type_name(rtype);
    let data = match kind {
        "addr" => match rdata.len() {
            4 if rtype == rtype::A => DnsRrData::Addr(Addr::V4(Ipv4Addr::new(
                rdata[0], rdata[1], rdata[2], rdata[3],
            ))),
            16 if rtype == rtype::AAAA => {
                let mut b = [0u8; 16];
                b.copy_from_slice(rdata);
                DnsRrData::Addr(Addr::V6(Ipv6Addr::from(b)))
            }
            n => return Err(format!("{tname} RDATA of {n} bytes")),
        },
        "name" => {
            let (n, used) = name_at(0)?;
            if used != rdata.len() {
                return Err(format!("{tname} RDATA longer than its name"));
            }
            DnsRrData::Name(n)
        }
        "soa" => {
            let (mname, a) = name_at(0)?;
            let (rname, b) = name_at(a)?;
            let rest = rdata
                .get(b..)
                .filter(|r| r.len() == 20)
                .ok_or_else(|| "SOA RDATA does not end with exactly 5 32-bit numbers".to_owned())?;
            let n = |i: usize| u32::from_be_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
            DnsRrData::Soa(DnsSoa {
                mname,
                rname,
                serial: n(0),
                refresh: n(4),
                retry: n(8),
                expire: n(12),
                minimum: n(16),
            })
        }
        "mx" => {
            if rdata.len() < 3 {
                return Err("MX RDATA too short".to_owned());
            }
            let (exchange, used) = name_at(2)?;
            if used != rdata.len() {
                return Err("MX RDATA longer than its name".to_owned());
            }
            DnsRrData::Mx {
                preference: u16::from_be_bytes([rdata[0], rdata[1]]),
                exchange,
            }
        }
        "txt" => {
            let mut strs = Vec::new();
            let mut i = 0;
            while i < rdata.len() {
                let l = usize::from(rdata[i]);
                let s = rdata
                    .get(i + 1..i + 1 + l)
                    .ok_or_else(|| "TXT string runs past its RDATA".to_owned())?;
                strs.push(s.to_vec());
                i += 1 + l;
            }
            DnsRrData::Txt(strs)
        }
        "opt" => {
            let mut opts = Vec::new();
            let mut i = 0;
            while i < rdata.len() {
                let hdr = rdata
                    .get(i..i + 4)
                    .ok_or_else(|| "OPT option header cut short".to_owned())?;
                let code = u16::from_be_bytes([hdr[0], hdr[1]]);
                let len = usize::from(u16::from_be_bytes([hdr[2], hdr[3]]));
                let v = rdata
                    .get(i + 4..i + 4 + len)
                    .ok_or_else(|| "OPT option runs past its RDATA".to_owned())?;
                opts.push((code, v.to_vec()));
                i += 4 + len;
            }
            DnsRrData::Opt(opts)
        }
        "svcb" => {
            if rdata.len() < 3 {
                return Err(format!("{tname} RDATA too short"));
            }
            let priority = u16::from_be_bytes([rdata[0], rdata[1]]);
            let (target, mut i) = name_at(2)?;
            let mut params = Vec::new();
            while i < rdata.len() {
                let hdr = rdata
                    .get(i..i + 4)
                    .ok_or_else(|| format!("{tname} parameter header cut short"))?;
                let key = u16::from_be_bytes([hdr[0], hdr[1]]);
                let len = usize::from(u16::from_be_bytes([hdr[2], hdr[3]]));
                let v = rdata
                    .get(i + 4..i + 4 + len)
                    .ok_or_else(|| format!("{tname} parameter runs past its RDATA"))?;
                params.push((key, v.to_vec()));
                i += 4 + len;
            }
            DnsRrData::Svcb {
                priority,
                target: Some(target),
                params,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(data))
}

/// The mnemonic of a class (`IN`, `CH`), or `CLASSn`.
pub fn class_name(c: u16) -> String {
    match c {
        CLASS_IN => "IN".to_owned(),
        CLASS_CH => "CH".to_owned(),
        n => format!("CLASS{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn query_a_exact_bytes() {
        let req = DnsRequest::new("192.0.2.53".parse().unwrap(), "www.example.test", rtype::A);
        let q = build_query(&req, 0x1234).unwrap();
        assert_eq!(
            q,
            hex("1234 0100 0001 0000 0000 0000
                 03 777777 07 6578616d706c65 04 74657374 00 0001 0001")
        );
    }

    #[test]
    fn query_ch_txt_no_rd_exact_bytes() {
        let mut req = DnsRequest::new("192.0.2.53".parse().unwrap(), "version.bind", rtype::TXT);
        req.qclass = CLASS_CH;
        req.recursion_desired = false;
        let q = build_query(&req, 7).unwrap();
        assert_eq!(
            q,
            hex("0007 0000 0001 0000 0000 0000
                 07 76657273696f6e 04 62696e64 00 0010 0003")
        );
    }

    #[test]
    fn query_edns_nsid_ecs_do_exact_bytes() {
        let mut req = DnsRequest::new("192.0.2.53".parse().unwrap(), "example.test", rtype::SOA);
        req.edns = Some(Edns {
            udp_size: 1232,
            dnssec_ok: true,
            nsid: true,
            client_subnet: Some(("192.0.2.77".parse().unwrap(), 24)),
        });
        let q = build_query(&req, 0xbeef).unwrap();
        assert_eq!(
            q,
            hex("beef 0100 0001 0000 0000 0001
                 07 6578616d706c65 04 74657374 00 0006 0001
                 00 0029 04d0 00008000 000f
                 0003 0000
                 0008 0007 0001 18 00 c00002")
        );
    }

    #[test]
    fn query_ptr_v4_and_v6() {
        let req = DnsRequest::new("192.0.2.53".parse().unwrap(), "192.0.2.1", rtype::PTR);
        assert_eq!(req.wire_name(), "1.2.0.192.in-addr.arpa");
        let q = build_query(&req, 1).unwrap();
        assert_eq!(&q[12..13], &[1]);
        assert_eq!(&q[q.len() - 4..], &[0, 12, 0, 1]);
        assert_eq!(
            reverse_name("2001:db8::1".parse().unwrap()),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
        // A TXT query for an IP literal stays literal.
        let t = DnsRequest::new("192.0.2.53".parse().unwrap(), "192.0.2.1", rtype::TXT);
        assert_eq!(t.wire_name(), "192.0.2.1");
    }

    #[test]
    fn query_errors() {
        let mut req = DnsRequest::new("192.0.2.53".parse().unwrap(), &"a".repeat(70), rtype::A);
        assert!(matches!(
            build_query(&req, 1),
            Err(QueryError::BadName { .. })
        ));
        req.qname = "ok.test".into();
        req.edns = Some(Edns {
            client_subnet: Some(("192.0.2.1".parse().unwrap(), 33)),
            ..Edns::default()
        });
        assert!(matches!(
            build_query(&req, 1),
            Err(QueryError::BadSubnet { .. })
        ));
    }

    #[test]
    fn subnet_masking() {
        assert_eq!(
            mask("192.0.2.255".parse().unwrap(), 20),
            "192.0.0.0".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            mask("192.0.2.255".parse().unwrap(), 0),
            "0.0.0.0".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            mask("2001:db8::1".parse().unwrap(), 32),
            "2001:db8::".parse::<IpAddr>().unwrap()
        );
    }

    /// A response to `www.example.test A` built by hand: one compressed A answer, one NS in
    /// authority, an OPT with NSID "ns1".
    fn sample_response() -> Vec<u8> {
        hex("1234 8580 0001 0001 0001 0001
             03 777777 07 6578616d706c65 04 74657374 00 0001 0001
             c00c 0001 0001 0000012c 0004 c0000250
             c010 0002 0001 00000e10 0006 03 6e7331 c010
             00 0029 04d0 00000000 0007 0003 0003 6e7331")
    }

    #[test]
    fn decode_sample() {
        let r = decode_response(&sample_response());
        assert_eq!(r.error, None);
        let h = r.header.unwrap();
        assert_eq!(h.id, 0x1234);
        assert!(h.is_response());
        assert_eq!(h.rcode(), 0);
        assert_eq!(
            h.model_flags(),
            DnsHeaderFlags::AA | DnsHeaderFlags::RD | DnsHeaderFlags::RA
        );
        assert_eq!(
            r.questions,
            vec![Question {
                name: "www.example.test".into(),
                qtype: 1,
                qclass: 1
            }]
        );
        let a = &r.answers[0];
        assert_eq!(a.rr.name.as_deref(), Some("www.example.test"));
        assert_eq!(a.rr.ttl, 300);
        assert_eq!(
            a.rr.data,
            Some(DnsRrData::Addr("192.0.2.80".parse().unwrap()))
        );
        assert_eq!(a.rr.rdata, vec![192, 0, 2, 80]);
        assert_eq!(a.rr.text.as_deref(), Some("192.0.2.80"));
        let ns = &r.authorities[0];
        assert_eq!(ns.rr.name.as_deref(), Some("example.test"));
        assert_eq!(ns.rr.data, Some(DnsRrData::Name("ns1.example.test".into())));
        assert_eq!(ns.rr.text.as_deref(), Some("ns1.example.test."));
        let opt = r.opt().unwrap();
        assert_eq!(opt.rr.name.as_deref(), Some(""));
        assert_eq!(opt.rr.class, 1232);
        assert_eq!(
            opt.rr.data,
            Some(DnsRrData::Opt(vec![(3, b"ns1".to_vec())]))
        );
        assert_eq!(r.nsid(), Some(&b"ns1"[..]));
        assert_eq!(r.extended_rcode(), Some(0));
    }

    #[test]
    fn decode_every_cut_keeps_what_came_before() {
        let full = sample_response();
        for cut in 0..full.len() {
            let r = decode_response(&full[..cut]);
            let e = r
                .error
                .as_ref()
                .unwrap_or_else(|| panic!("cut {cut} decoded clean"));
            assert!(e.offset <= cut, "cut {cut}: {e}");
            if cut >= 50 {
                assert_eq!(r.answers.len(), 1, "cut {cut}");
            }
        }
        let mut longer = full.clone();
        longer.push(0);
        assert_eq!(decode_response(&longer).error.unwrap().part, "trailer");
    }

    #[test]
    fn decode_garbage() {
        for g in [&b""[..], b"\x12", b"garbage!garbage!garbage!", &[0xff; 64]] {
            let r = decode_response(g);
            assert!(r.error.is_some(), "{g:?}");
        }
        // A compression loop in the question.
        let looped = hex("0001 8000 0001 0000 0000 0000 c00c 0001 0001");
        let r = decode_response(&looped);
        assert_eq!(r.error.unwrap().part, "question");
    }

    #[test]
    fn decode_bad_rdata_keeps_record() {
        // An A record with 3 bytes of RDATA, then a good TXT and MX, SOA, SVCB.
        let msg = hex("0001 8400 0000 0005 0000 0000
                       00 0001 0001 00000001 0003 010203
                       00 0010 0001 00000002 0007 03616263 026465
                       00 000f 0001 00000003 0003 000a 00
                       00 0006 0001 00000004 0016 00 00 00000001 00000002 00000003 00000004 00000005
                       00 0040 0001 00000005 000a 0001 00 0001 0003 026832");
        let r = decode_response(&msg);
        assert_eq!(r.answers.len(), 5);
        assert_eq!(r.error.as_ref().unwrap().part, "answer");
        assert!(r.answers[0].error.is_some());
        assert_eq!(r.answers[0].rr.data, None);
        assert_eq!(
            r.answers[1].rr.data,
            Some(DnsRrData::Txt(vec![b"abc".to_vec(), b"de".to_vec()]))
        );
        assert_eq!(
            r.answers[2].rr.data,
            Some(DnsRrData::Mx {
                preference: 10,
                exchange: String::new()
            })
        );
        assert!(
            matches!(&r.answers[3].rr.data, Some(DnsRrData::Soa(s)) if s.minimum == 5 && s.serial == 1)
        );
        assert_eq!(
            r.answers[4].rr.data,
            Some(DnsRrData::Svcb {
                priority: 1,
                target: Some(String::new()),
                params: vec![(1, b"\x02h2".to_vec())]
            })
        );
    }

    #[test]
    fn decode_rdlength_past_end_stops() {
        let msg = hex("0001 8400 0000 0002 0000 0000 00 0001 0001 00000001 00ff 0102");
        let r = decode_response(&msg);
        assert!(r.answers.is_empty());
        assert!(r.error.unwrap().reason.contains("RDLENGTH"));
    }

    #[test]
    fn request_from_command_lines() {
        use vantage_command::{Command, Context};
        let ctx = Context::new(1).with_nameserver(Some([192, 0, 2, 53].into()));
        let spec = |line: &str| match Command::parse(line, &ctx).unwrap() {
            Command::Host(h) => h,
            other => panic!("{other:?}"),
        };
        let r = DnsRequest::from_spec(&spec("host www.example.test"));
        assert_eq!(
            (r.qtype, r.qclass, r.edns, r.default_server),
            (1, 1, None, true)
        );
        assert!(r.recursion_desired && !r.tcp);
        let r = DnsRequest::from_spec(&spec(
            "host -r -T -c CH -O nsid -O subnet=192.0.2.1/24 -O bufsize=4096 -O do -t CAA -s 198.51.100.1 -W 2 example.test",
        ));
        assert_eq!(r.qtype, rtype::CAA);
        assert_eq!(r.qclass, CLASS_CH);
        assert!(!r.recursion_desired && r.tcp && !r.default_server);
        assert_eq!(r.server, "198.51.100.1".parse::<IpAddr>().unwrap());
        assert_eq!(r.timeout, Duration::from_secs(2));
        assert_eq!(
            r.edns,
            Some(Edns {
                udp_size: 4096,
                dnssec_ok: true,
                nsid: true,
                client_subnet: Some(("192.0.2.1".parse().unwrap(), 24)),
            })
        );
        assert_eq!(r.ecs_text().as_deref(), Some("192.0.2.1/24"));
        let q = build_query(&r, 9).unwrap();
        // ECS address masked to the /24 on the wire.
        assert_eq!(&q[q.len() - 3..], &[192, 0, 2]);
        let r = DnsRequest::from_spec(&spec("host -O do -t DNSKEY example.test"));
        assert_eq!(
            r.edns.map(|e| (e.udp_size, e.dnssec_ok)),
            Some((1232, true))
        );
        let r = DnsRequest::from_spec(&spec("host 192.0.2.7"));
        assert_eq!(r.wire_name(), "7.2.0.192.in-addr.arpa");
    }

    #[test]
    fn type_names() {
        assert_eq!(rtype::from_name("caa"), Some(257));
        assert_eq!(rtype::from_name("TYPE99"), Some(99));
        assert_eq!(rtype::from_name("nope"), None);
        assert_eq!(type_name(33), "SRV");
        assert_eq!(type_name(999), "TYPE999");
        assert_eq!(class_name(3), "CH");
    }
}
