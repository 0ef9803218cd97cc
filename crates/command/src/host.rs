//! `host`: DNS queries (spec `commands.md` §6).

use std::net::IpAddr;
use std::time::Duration;

use crate::context::{Context, Setting};
use crate::emit::Line;
use crate::error::CommandError;
use crate::lex::{self, OptDef, Table};
use crate::value::{self, TimeUnit};

const OPTS: &[OptDef] = &[
    OptDef::str('c'),
    OptDef::str('O').repeatable(),
    OptDef::flag('r'),
    OptDef::num('R'),
    OptDef::str('s'),
    OptDef::str('t'),
    OptDef::flag('T'),
    OptDef::num('U'),
    OptDef::str('W'),
];

pub(crate) const TABLE: Table = Table {
    command: "host",
    opts: OPTS,
    check_repeats: true,
};

/// The query type (`-t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Reverse lookup of an IP literal.
    Ptr,
    /// Mail exchanger.
    Mx,
    /// Name servers.
    Ns,
    /// Start of authority.
    Soa,
    /// Text.
    Txt,
    /// Service binding.
    Svcb,
    /// HTTPS service binding.
    Https,
    /// Canonical name (a Vantage extension: scamper refuses it).
    Cname,
    /// Service location (a Vantage extension).
    Srv,
    /// Certification authority authorization (a Vantage extension).
    Caa,
    /// Delegation signer (a Vantage extension).
    Ds,
    /// DNSSEC key (a Vantage extension).
    Dnskey,
    /// Any record (a Vantage extension).
    Any,
}

impl QueryType {
    /// Every type.
    pub const ALL: [QueryType; 15] = [
        QueryType::A,
        QueryType::Aaaa,
        QueryType::Ptr,
        QueryType::Mx,
        QueryType::Ns,
        QueryType::Soa,
        QueryType::Txt,
        QueryType::Svcb,
        QueryType::Https,
        QueryType::Cname,
        QueryType::Srv,
        QueryType::Caa,
        QueryType::Ds,
        QueryType::Dnskey,
        QueryType::Any,
    ];

    /// The type's mnemonic.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryType::A => "A",
            QueryType::Aaaa => "AAAA",
            QueryType::Ptr => "PTR",
            QueryType::Mx => "MX",
            QueryType::Ns => "NS",
            QueryType::Soa => "SOA",
            QueryType::Txt => "TXT",
            QueryType::Svcb => "SVCB",
            QueryType::Https => "HTTPS",
            QueryType::Cname => "CNAME",
            QueryType::Srv => "SRV",
            QueryType::Caa => "CAA",
            QueryType::Ds => "DS",
            QueryType::Dnskey => "DNSKEY",
            QueryType::Any => "ANY",
        }
    }

    /// The type's number in DNS messages.
    pub fn code(self) -> u16 {
        match self {
            QueryType::A => 1,
            QueryType::Ns => 2,
            QueryType::Soa => 6,
            QueryType::Ptr => 12,
            QueryType::Mx => 15,
            QueryType::Txt => 16,
            QueryType::Aaaa => 28,
            QueryType::Svcb => 64,
            QueryType::Https => 65,
            QueryType::Cname => 5,
            QueryType::Srv => 33,
            QueryType::Caa => 257,
            QueryType::Ds => 43,
            QueryType::Dnskey => 48,
            QueryType::Any => 255,
        }
    }

    /// Reads a mnemonic, ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name))
    }

    /// Whether an IP literal is refused as the name for this type (every type but PTR, which
    /// needs one, and TXT, which takes either).
    fn refuses_ip(self) -> bool {
        !matches!(self, QueryType::Ptr | QueryType::Txt)
    }
}

/// The query class (`-c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryClass {
    /// `IN`, the Internet (the default).
    In,
    /// `CH` / `CHAOS`.
    Chaos,
}

impl QueryClass {
    /// The class's number in DNS messages.
    pub fn code(self) -> u16 {
        match self {
            QueryClass::In => 1,
            QueryClass::Chaos => 3,
        }
    }
}

/// An EDNS client-subnet option (`-O subnet=<prefix>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientSubnet {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length (at most 32 for IPv4, 128 for IPv6).
    pub len: u8,
}

/// A validated `host` command with every default filled in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostSpec {
    /// The name asked about (one trailing `.` removed), or the IP literal for PTR.
    pub qname: String,
    /// `-t`: the query type (default PTR for an IP literal, else A).
    pub qtype: QueryType,
    /// `-c`: the query class.
    pub qclass: QueryClass,
    /// `-r`: clear the recursion-desired bit.
    pub no_recurse: bool,
    /// `-R`: retries (0..=3).
    pub retries: u8,
    /// `-s`: the server; by default the context's nameserver (exempt from the do-not-probe
    /// check).
    pub server: Setting<IpAddr>,
    /// `-T`: query over TCP.
    pub tcp: bool,
    /// `-U`: user id recorded in the result.
    pub user_id: u32,
    /// `-W`: timeout (1 ms granularity, 1..=5 s, default 5 s).
    pub wait: Duration,
    /// `-O nsid`: ask for the server's NSID.
    pub nsid: bool,
    /// `-O subnet=`: an EDNS client subnet.
    pub subnet: Option<ClientSubnet>,
    /// `-O bufsize=N` (a Vantage extension): the EDNS UDP payload size to advertise
    /// (512..=65535); `None` sends EDNS only when another EDNS option needs it.
    pub bufsize: Option<u16>,
    /// `-O do` (a Vantage extension): set the EDNS DNSSEC-OK bit.
    pub dnssec_ok: bool,
}

impl HostSpec {
    /// Parses the options and name of a `host` command (the text after `host `).
    pub fn parse(rest: &str, ctx: &Context) -> Result<Self, CommandError> {
        let lexed = lex::lex(&TABLE, rest)?;
        lexed.check_repeats(&TABLE)?;
        let mut qtype = None;
        let mut server = None;
        let mut s = HostSpec {
            qname: String::new(),
            qtype: QueryType::A,
            qclass: QueryClass::In,
            no_recurse: false,
            retries: 0,
            server: Setting::Default(IpAddr::from([0, 0, 0, 0])),
            tcp: false,
            user_id: 0,
            wait: Duration::from_secs(5),
            nsid: false,
            subnet: None,
            bufsize: None,
            dnssec_ok: false,
        };
        for opt in &lexed.opts {
            let v = opt.value.as_deref();
            let num = |what: &str, lo: i64, hi: i64| {
                value::ranged(opt.letter, v, what, lo, hi, value::int_strict)
            };
            match opt.letter {
                'c' => {
                    let c = v.unwrap_or_default();
                    s.qclass = if c.eq_ignore_ascii_case("IN") {
                        QueryClass::In
                    } else if c.eq_ignore_ascii_case("CH") || c.eq_ignore_ascii_case("CHAOS") {
                        QueryClass::Chaos
                    } else {
                        return Err(CommandError::option('c', "class must be IN, CH or CHAOS"));
                    };
                }
                'O' => {
                    let o = v.unwrap_or_default();
                    if o.eq_ignore_ascii_case("nsid") {
                        s.nsid = true;
                    } else if o.eq_ignore_ascii_case("do") {
                        s.dnssec_ok = true;
                    } else if let Some(n) = o
                        .get(..8)
                        .filter(|k| k.eq_ignore_ascii_case("bufsize="))
                        .map(|_| &o[8..])
                    {
                        s.bufsize =
                            Some(n.parse::<u16>().ok().filter(|n| *n >= 512).ok_or_else(|| {
                                CommandError::option(
                                    'O',
                                    format!("bufsize must be 512..65535, not '{n}'"),
                                )
                            })?);
                    } else if let Some(p) = o
                        .get(..7)
                        .filter(|k| k.eq_ignore_ascii_case("subnet="))
                        .map(|_| &o[7..])
                    {
                        s.subnet = Some(subnet(p).ok_or_else(|| {
                            CommandError::option(
                                'O',
                                format!("subnet must be <address>[/<length>], not '{p}'"),
                            )
                        })?);
                    } else {
                        return Err(CommandError::option(
                            'O',
                            format!(
                                "unknown option '{o}' (known: nsid, subnet=<prefix>, bufsize=<n>, do)"
                            ),
                        ));
                    }
                }
                'r' => s.no_recurse = true,
                'R' => s.retries = num("retries", 0, 3)? as u8,
                's' => {
                    server = Some(v.and_then(value::ip).ok_or_else(|| {
                        CommandError::option('s', "server must be an IP address")
                    })?);
                }
                't' => {
                    qtype = Some(v.and_then(QueryType::from_name).ok_or_else(|| {
                        CommandError::option(
                            't',
                            "type must be A, AAAA, PTR, MX, NS, SOA, TXT, SVCB, HTTPS, CNAME, SRV, CAA, DS, DNSKEY or ANY",
                        )
                    })?);
                }
                'T' => s.tcp = true,
                'U' => s.user_id = num("userid", 0, u32::MAX.into())? as u32,
                'W' => {
                    s.wait = value::time_ranged(
                        'W',
                        v,
                        TimeUnit::Seconds,
                        "wait",
                        Duration::from_secs(1),
                        Duration::from_secs(5),
                    )?;
                    if !s.wait.subsec_nanos().is_multiple_of(1_000_000) {
                        return Err(CommandError::option('W', "wait must be whole milliseconds"));
                    }
                }
                _ => return Err(CommandError::syntax("host", "unhandled option")),
            }
        }
        let name = lexed.target;
        if name.is_empty() {
            return Err(CommandError::MissingTarget {
                what: "name to look up",
            });
        }
        if name.contains(lex::is_space) {
            return Err(CommandError::Invalid(format!("invalid name '{name}'")));
        }
        let is_ip = value::ip(name).is_some();
        let qtype = qtype.unwrap_or(if is_ip { QueryType::Ptr } else { QueryType::A });
        if qtype == QueryType::Ptr && !is_ip {
            return Err(CommandError::option(
                't',
                "PTR needs an IP address to look up",
            ));
        }
        if is_ip && qtype.refuses_ip() {
            return Err(CommandError::option(
                't',
                format!("{} needs a name, not an IP address", qtype.as_str()),
            ));
        }
        s.qname = if is_ip || name == "." {
            name.to_owned()
        } else {
            let stripped = name.strip_suffix('.').unwrap_or(name);
            if name.contains("..") || stripped.is_empty() || stripped.starts_with('.') {
                return Err(CommandError::Invalid(format!("invalid name '{name}'")));
            }
            stripped.to_owned()
        };
        s.qtype = qtype;
        if s.tcp && s.retries > 0 {
            return Err(CommandError::option('R', "retries cannot be used with -T"));
        }
        s.server = match (server, ctx.nameserver) {
            (Some(a), _) => Setting::Given(a),
            (None, Some(a)) => Setting::Default(a),
            (None, None) => {
                return Err(CommandError::option(
                    's',
                    "no nameserver configured: give one with -s",
                ));
            }
        };
        Ok(s)
    }

    /// The canonical command line for this spec. It parses back to an equal spec.
    pub fn to_command_string(&self) -> String {
        let mut l = Line::new("host");
        l.flag('r', self.no_recurse).flag('T', self.tcp);
        if self.qclass == QueryClass::Chaos {
            l.str('c', "CH");
        }
        if self.nsid {
            l.str('O', "nsid");
        }
        if let Some(s) = self.subnet {
            l.str('O', &format!("subnet={}/{}", s.addr, s.len));
        }
        if let Some(n) = self.bufsize {
            l.str('O', &format!("bufsize={n}"));
        }
        if self.dnssec_ok {
            l.str('O', "do");
        }
        l.num_unless('R', self.retries, 0);
        if let Some(s) = self.server.given() {
            l.str('s', &s.to_string());
        }
        let default_type = if value::ip(&self.qname).is_some() {
            QueryType::Ptr
        } else {
            QueryType::A
        };
        if self.qtype != default_type {
            l.str('t', self.qtype.as_str());
        }
        l.num_unless('U', self.user_id, 0).time_unless(
            'W',
            self.wait,
            Duration::from_secs(5),
            TimeUnit::Seconds,
        );
        l.finish(&self.qname)
    }

    /// The addresses the query goes to that a do-not-probe policy checks: the server, unless
    /// it is the configured default nameserver (which is exempt).
    pub fn probed_addresses(&self) -> Vec<IpAddr> {
        self.server.given().into_iter().collect()
    }
}

/// `<address>[/<length>]`.
fn subnet(s: &str) -> Option<ClientSubnet> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr = value::ip(a)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) if !l.is_empty() && l.bytes().all(|c| c.is_ascii_digit()) => l.parse().ok()?,
        Some(_) => return None,
    };
    (len <= max).then_some(ClientSubnet { addr, len })
}
