//! `tracelb`: MDA traceroute options, defaults and validation (spec `commands.md` §4).

use std::net::IpAddr;
use std::time::Duration;

use crate::context::{Context, Setting};
use crate::emit::Line;
use crate::error::CommandError;
use crate::lex::{self, OptDef, Table};
use crate::trace::Confidence;
use crate::value::{self, TimeUnit};

const OPTS: &[OptDef] = &[
    OptDef::num('c'),
    OptDef::num('d'),
    OptDef::num('f'),
    OptDef::num('g'),
    OptDef::str('O').repeatable(),
    OptDef::str('P'),
    OptDef::num('q'),
    OptDef::num('Q'),
    OptDef::str('r'),
    OptDef::num('s'),
    OptDef::num('t'),
    OptDef::num('U'),
    OptDef::str('w'),
    OptDef::str('W'),
];

pub(crate) const TABLE: Table = Table {
    command: "tracelb",
    opts: OPTS,
    check_repeats: true,
};

/// How MDA probes are sent (`-P`); each varies one header field to explore paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TracelbMethod {
    /// UDP, the destination port varies (the default).
    UdpDport,
    /// ICMP echo, the checksum varies.
    IcmpEcho,
    /// UDP, the source port varies.
    UdpSport,
    /// TCP SYN, the source port varies.
    TcpSport,
    /// TCP ACK, the source port varies.
    TcpAckSport,
}

impl TracelbMethod {
    /// Every method.
    pub const ALL: [TracelbMethod; 5] = [
        TracelbMethod::UdpDport,
        TracelbMethod::IcmpEcho,
        TracelbMethod::UdpSport,
        TracelbMethod::TcpSport,
        TracelbMethod::TcpAckSport,
    ];

    /// The method's name in the command language.
    pub fn as_str(self) -> &'static str {
        match self {
            TracelbMethod::UdpDport => "udp-dport",
            TracelbMethod::IcmpEcho => "icmp-echo",
            TracelbMethod::UdpSport => "udp-sport",
            TracelbMethod::TcpSport => "tcp-sport",
            TracelbMethod::TcpAckSport => "tcp-ack-sport",
        }
    }

    /// Reads a method name, ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }

    /// TCP SYN or ACK.
    pub fn is_tcp(self) -> bool {
        matches!(self, TracelbMethod::TcpSport | TracelbMethod::TcpAckSport)
    }
}

/// A validated `tracelb` command with every default filled in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TracelbSpec {
    /// The address to trace to.
    pub dst: IpAddr,
    /// `-r`: the first-hop router to send through.
    pub rtr: Option<IpAddr>,
    /// `-P`: how probes are sent.
    pub method: TracelbMethod,
    /// `-c`: confidence that all next hops were found (default 95 %).
    pub confidence: Confidence,
    /// `-d`: base destination port (1..=65535, default 33435).
    pub dport: u16,
    /// `-f`: first TTL (1..=254, default 1).
    pub first_hop: u8,
    /// `-g`: unresponsive hops before a branch stops (1..=5, default 3).
    pub gap_limit: u8,
    /// `-O ptr`: look up PTR names of hop addresses.
    pub ptr: bool,
    /// `-q`: attempts per probe (1..=5, default 2).
    pub attempts: u8,
    /// `-Q`: most probes to send in total (50..=65535, default 3000).
    pub max_probes: u16,
    /// `-s`: base source port (1..=65535, default: the context's default sport).
    pub sport: Setting<u16>,
    /// `-t`: the IP TOS / traffic class byte.
    pub tos: u8,
    /// `-U`: user id recorded in the result.
    pub user_id: u32,
    /// `-w`: how long to wait for a reply (whole seconds, 1..=10, default 5).
    pub wait_timeout: Duration,
    /// `-W`: gap between probes (multiple of 10 ms, 150 ms..=2 s, default 250 ms).
    pub wait_probe: Duration,
    /// The size of each probe: IPv4 TCP 40, other IPv4 44, IPv6 60.
    pub probe_size: u16,
}

impl TracelbSpec {
    /// An MDA trace to `dst` with every default, as `tracelb <dst>` would give.
    pub fn new(dst: IpAddr, ctx: &Context) -> Self {
        let mut s = TracelbSpec {
            dst,
            rtr: None,
            method: TracelbMethod::UdpDport,
            confidence: Confidence::P95,
            dport: 33435,
            first_hop: 1,
            gap_limit: 3,
            ptr: false,
            attempts: 2,
            max_probes: 3000,
            sport: Setting::Default(ctx.default_sport()),
            tos: 0,
            user_id: 0,
            wait_timeout: Duration::from_secs(5),
            wait_probe: Duration::from_millis(250),
            probe_size: 0,
        };
        s.probe_size = s.compute_probe_size();
        s
    }

    /// The probe size model: IPv4 TCP 40, other IPv4 44, IPv6 60.
    pub fn compute_probe_size(&self) -> u16 {
        if self.dst.is_ipv6() {
            60
        } else if self.method.is_tcp() {
            40
        } else {
            44
        }
    }

    /// Parses the options and target of a `tracelb` command (the text after `tracelb `).
    pub fn parse(rest: &str, ctx: &Context) -> Result<Self, CommandError> {
        let lexed = lex::lex(&TABLE, rest)?;
        lexed.check_repeats(&TABLE)?;
        let mut s = TracelbSpec::new(IpAddr::from([0, 0, 0, 0]), ctx);
        let mut rtr = None;
        for opt in &lexed.opts {
            let v = opt.value.as_deref();
            let num = |what: &str, lo: i64, hi: i64| {
                value::ranged(opt.letter, v, what, lo, hi, value::int_strict)
            };
            match opt.letter {
                'c' => {
                    s.confidence = match num("confidence", 0, 255)? {
                        95 => Confidence::P95,
                        99 => Confidence::P99,
                        _ => {
                            return Err(CommandError::option('c', "confidence must be 95 or 99"));
                        }
                    };
                }
                'd' => s.dport = num("dport", 1, 65535)? as u16,
                'f' => s.first_hop = num("firsthop", 1, 254)? as u8,
                'g' => s.gap_limit = num("gaplimit", 1, 5)? as u8,
                'O' => {
                    let o = v.unwrap_or_default();
                    if !o.eq_ignore_ascii_case("ptr") {
                        return Err(CommandError::option(
                            'O',
                            format!("unknown option '{o}' (known: ptr)"),
                        ));
                    }
                    s.ptr = true;
                }
                'P' => {
                    s.method = v.and_then(TracelbMethod::from_name).ok_or_else(|| {
                        CommandError::option(
                            'P',
                            "method must be udp-dport, icmp-echo, udp-sport, tcp-sport or \
                             tcp-ack-sport",
                        )
                    })?;
                }
                'q' => s.attempts = num("attempts", 1, 5)? as u8,
                'Q' => s.max_probes = num("maxprobec", 50, 65535)? as u16,
                'r' => rtr = v.map(str::to_owned),
                's' => s.sport = Setting::Given(num("sport", 1, 65535)? as u16),
                't' => s.tos = num("tos", 0, 255)? as u8,
                'U' => s.user_id = num("userid", 0, u32::MAX.into())? as u32,
                'w' => {
                    s.wait_timeout = value::time_ranged(
                        'w',
                        v,
                        TimeUnit::Seconds,
                        "wait-timeout",
                        Duration::from_secs(1),
                        Duration::from_secs(10),
                    )?;
                    if s.wait_timeout.subsec_nanos() != 0 {
                        return Err(CommandError::option(
                            'w',
                            "wait-timeout must be whole seconds",
                        ));
                    }
                }
                'W' => {
                    s.wait_probe = value::time_ranged(
                        'W',
                        v,
                        TimeUnit::TenMillis,
                        "wait-probe",
                        Duration::from_millis(150),
                        Duration::from_secs(2),
                    )?;
                    if !s.wait_probe.as_micros().is_multiple_of(10_000) {
                        return Err(CommandError::option(
                            'W',
                            "wait-probe must be a multiple of 10ms",
                        ));
                    }
                }
                _ => return Err(CommandError::syntax("tracelb", "unhandled option")),
            }
        }
        if lexed.target.is_empty() {
            return Err(CommandError::MissingTarget {
                what: "address to tracelb",
            });
        }
        let dst = value::ip(lexed.target).ok_or(CommandError::InvalidDestination)?;
        s.dst = dst;
        s.rtr = rtr
            .as_deref()
            .map(|a| value::ip_same_family('r', Some(a), "router address", dst))
            .transpose()?;
        if dst.is_ipv6() && s.method.is_tcp() {
            return Err(CommandError::option(
                'P',
                "TCP methods need an IPv4 destination",
            ));
        }
        s.probe_size = s.compute_probe_size();
        Ok(s)
    }

    /// The canonical command line for this spec. It parses back to an equal spec.
    pub fn to_command_string(&self) -> String {
        let mut l = Line::new("tracelb");
        l.num_unless('c', self.confidence.percent(), 95)
            .num_unless('d', self.dport, 33435)
            .num_unless('f', self.first_hop, 1)
            .num_unless('g', self.gap_limit, 3);
        if self.ptr {
            l.str('O', "ptr");
        }
        if self.method != TracelbMethod::UdpDport {
            l.str('P', self.method.as_str());
        }
        l.num_unless('q', self.attempts, 2)
            .num_unless('Q', self.max_probes, 3000);
        if let Some(r) = self.rtr {
            l.str('r', &r.to_string());
        }
        if let Some(s) = self.sport.given() {
            l.num('s', s);
        }
        l.num_unless('t', self.tos, 0)
            .num_unless('U', self.user_id, 0)
            .time_unless(
                'w',
                self.wait_timeout,
                Duration::from_secs(5),
                TimeUnit::Seconds,
            )
            .time_unless(
                'W',
                self.wait_probe,
                Duration::from_millis(250),
                TimeUnit::TenMillis,
            );
        l.finish(&self.dst.to_string())
    }

    /// Every address this measurement would send packets to.
    pub fn probed_addresses(&self) -> Vec<IpAddr> {
        vec![self.dst]
    }
}
