//! `trace`: options, defaults, validation and the probe-size model (spec `commands.md` §3).

use std::net::IpAddr;
use std::time::Duration;

use crate::context::{Context, Setting};
use crate::emit::Line;
use crate::error::CommandError;
use crate::lex::{self, OptDef, Table};
use crate::value::{self, TimeUnit};

const OPTS: &[OptDef] = &[
    OptDef::num('c'),
    OptDef::str('d'),
    OptDef::num('f'),
    OptDef::num('g'),
    OptDef::num('G'),
    OptDef::str('H'),
    OptDef::num('l'),
    OptDef::num('m'),
    OptDef::flag('M'),
    OptDef::num('N'),
    OptDef::num('o'),
    OptDef::str('O').repeatable(),
    OptDef::str('p'),
    OptDef::str('P'),
    OptDef::num('q'),
    OptDef::flag('Q'),
    OptDef::str('r'),
    OptDef::num('s'),
    OptDef::str('S'),
    OptDef::str('t'),
    OptDef::flag('T'),
    OptDef::num('U'),
    OptDef::str('w'),
    OptDef::str('W'),
    OptDef::num('y'),
    OptDef::str('z').repeatable(),
    OptDef::str('Z'),
];

pub(crate) const TABLE: Table = Table {
    command: "trace",
    opts: OPTS,
    check_repeats: true,
};

/// How traceroute probes are sent (`-P`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceMethod {
    /// UDP with a constant flow identifier (the default).
    UdpParis,
    /// Classic UDP: the destination port increases per probe.
    Udp,
    /// Classic ICMP echo.
    Icmp,
    /// ICMP echo with a constant checksum (flow identifier).
    IcmpParis,
    /// TCP SYN.
    Tcp,
    /// TCP ACK.
    TcpAck,
}

impl TraceMethod {
    /// Every method.
    pub const ALL: [TraceMethod; 6] = [
        TraceMethod::UdpParis,
        TraceMethod::Udp,
        TraceMethod::Icmp,
        TraceMethod::IcmpParis,
        TraceMethod::Tcp,
        TraceMethod::TcpAck,
    ];

    /// The method's name in the command language.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceMethod::UdpParis => "udp-paris",
            TraceMethod::Udp => "udp",
            TraceMethod::Icmp => "icmp",
            TraceMethod::IcmpParis => "icmp-paris",
            TraceMethod::Tcp => "tcp",
            TraceMethod::TcpAck => "tcp-ack",
        }
    }

    /// Reads a method name, ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }

    /// TCP SYN or TCP ACK.
    pub fn is_tcp(self) -> bool {
        matches!(self, TraceMethod::Tcp | TraceMethod::TcpAck)
    }

    /// ICMP or ICMP-paris.
    pub fn is_icmp(self) -> bool {
        matches!(self, TraceMethod::Icmp | TraceMethod::IcmpParis)
    }
}

/// `-c`: the confidence that every interface of a hop was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Confidence {
    /// 95 %.
    P95,
    /// 99 %.
    P99,
}

impl Confidence {
    /// The percentage.
    pub fn percent(self) -> u8 {
        match self {
            Confidence::P95 => 95,
            Confidence::P99 => 99,
        }
    }
}

/// `-G`: what to do after `-g` consecutive unresponsive hops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GapAction {
    /// 1: stop the trace (the default).
    Stop,
    /// 2: send last-ditch probes to the destination, then stop.
    LastDitch,
}

impl GapAction {
    /// The number used on the command line and in results.
    pub fn code(self) -> u8 {
        match self {
            GapAction::Stop => 1,
            GapAction::LastDitch => 2,
        }
    }
}

/// The `-O` options of trace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TraceOptions {
    /// `back`: probe with decreasing TTL from `-m`.
    pub back: bool,
    /// `const-payload`: keep the payload constant.
    pub const_payload: bool,
    /// `dl`: take timestamps from the datalink.
    pub dl: bool,
    /// `dtree-noback`: doubletree does not probe backwards.
    pub dtree_noback: bool,
    /// `ptr`: look up PTR names of hop addresses.
    pub ptr: bool,
    /// `raw`: send TCP probes over a raw IPv4 socket.
    pub raw: bool,
}

/// A validated `trace` command with every default filled in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceSpec {
    /// The address to trace to.
    pub dst: IpAddr,
    /// `-S`: the source address.
    pub src: Option<IpAddr>,
    /// `-r`: the first-hop router to send through.
    pub rtr: Option<IpAddr>,
    /// `-P`: how probes are sent.
    pub method: TraceMethod,
    /// `-c`: probe each hop until this confidence that all interfaces were seen.
    pub confidence: Option<Confidence>,
    /// `-d`: base destination port (UDP/TCP); for icmp-paris, the ICMP checksum. Default
    /// 33435, or the context's default sport for icmp-paris.
    pub dport: Setting<u16>,
    /// `-f`: first TTL (1..=255, default 1).
    pub first_hop: u8,
    /// `-g`: consecutive unresponsive hops before the gap action (1..=255, default 5).
    pub gap_limit: u8,
    /// `-G`: the gap action.
    pub gap_action: GapAction,
    /// `-H`: least time between probes with the same TTL (at most 2 s, default 0).
    pub hold_time: Duration,
    /// `-l`: loops tolerated before stopping; 0 = no loop check (default 1).
    pub loops: u8,
    /// `-m`: the largest TTL; 0 = no limit (default).
    pub max_ttl: u8,
    /// `-M`: path-MTU discovery after the trace.
    pub pmtud: bool,
    /// `-N`: hops that may have a probe outstanding at once (1..=255, default 1).
    pub squeries: u8,
    /// `-o`: IPv6 fragment offset (0..=8190, default 0).
    pub offset: u16,
    /// `-O`: options.
    pub options: TraceOptions,
    /// `-p`: the base payload (empty = none).
    pub payload: Vec<u8>,
    /// `-q`: attempts per hop (1..=20, default 2).
    pub attempts: u8,
    /// `-Q`: send all attempts whatever the replies.
    pub all_attempts: bool,
    /// `-s`: source port, or ICMP identifier (default: the context's default sport).
    pub sport: Setting<u16>,
    /// `-t`: the IP TOS / traffic class byte.
    pub tos: u8,
    /// `-T`: a TTL-expired message from the destination does not count as reaching it.
    pub ttl_expired_not_reached: bool,
    /// `-U`: user id recorded in the result.
    pub user_id: u32,
    /// `-w`: how long to wait for each probe's reply (whole seconds, 1..=10, default 5).
    pub wait_timeout: Duration,
    /// `-W`: least gap between probes (multiple of 10 ms, at most 2 s, default 0).
    pub wait_probe: Duration,
    /// `-y`: stream in-progress results every this many packets (0 = never).
    pub stream: u8,
    /// `-z`: doubletree global stop set addresses.
    pub gss: Vec<IpAddr>,
    /// `-Z`: doubletree local stop set name.
    pub lss: Option<String>,
    /// The size of each probe, IP header included (see [`TraceSpec::compute_probe_size`]).
    pub probe_size: u16,
}

impl TraceSpec {
    /// A trace to `dst` with every default, as `trace <dst>` would give.
    pub fn new(dst: IpAddr, ctx: &Context) -> Self {
        let mut spec = TraceSpec {
            dst,
            src: None,
            rtr: None,
            method: TraceMethod::UdpParis,
            confidence: None,
            dport: Setting::Default(33435),
            first_hop: 1,
            gap_limit: 5,
            gap_action: GapAction::Stop,
            hold_time: Duration::ZERO,
            loops: 1,
            max_ttl: 0,
            pmtud: false,
            squeries: 1,
            offset: 0,
            options: TraceOptions::default(),
            payload: Vec::new(),
            attempts: 2,
            all_attempts: false,
            sport: Setting::Default(ctx.default_sport()),
            tos: 0,
            ttl_expired_not_reached: false,
            user_id: 0,
            wait_timeout: Duration::from_secs(5),
            wait_probe: Duration::ZERO,
            stream: 0,
            gss: Vec::new(),
            lss: None,
            probe_size: 0,
        };
        spec.probe_size = spec.compute_probe_size().unwrap_or(u16::MAX);
        spec
    }

    /// Whether doubletree is on (`-z` or `-Z` given); its first hop is `first_hop`.
    pub fn doubletree(&self) -> bool {
        !self.gss.is_empty() || self.lss.is_some()
    }

    /// Whether `dport` is the ICMP checksum to hold constant (icmp-paris).
    pub fn icmp_csum_dport(&self) -> bool {
        self.method == TraceMethod::IcmpParis
    }

    /// The probe size model: IPv4 TCP 40, IPv4 without payload 44, IPv4 with payload 28 +
    /// payload; IPv6 with a fragment offset 52 + payload, IPv6 without payload or TCP 60,
    /// else 48 + payload. `None` when that exceeds 65535.
    pub fn compute_probe_size(&self) -> Option<u16> {
        let len = self.payload.len();
        let size = if self.dst.is_ipv4() {
            if self.method.is_tcp() {
                40
            } else if len == 0 {
                44
            } else {
                28 + len
            }
        } else if self.offset != 0 {
            52 + len
        } else if len == 0 || self.method.is_tcp() {
            60
        } else {
            48 + len
        };
        u16::try_from(size).ok()
    }

    /// Parses the options and target of a `trace` command (the text after `trace `).
    pub fn parse(rest: &str, ctx: &Context) -> Result<Self, CommandError> {
        parse(rest, ctx)
    }

    /// The canonical command line for this spec. It parses back to an equal spec.
    pub fn to_command_string(&self) -> String {
        let mut l = Line::new("trace");
        l.flag('M', self.pmtud)
            .flag('Q', self.all_attempts)
            .flag('T', self.ttl_expired_not_reached);
        if let Some(c) = self.confidence {
            l.num('c', c.percent());
        }
        if let Some(d) = self.dport.given() {
            l.num('d', d);
        }
        l.num_unless('f', self.first_hop, 1)
            .num_unless('g', self.gap_limit, 5)
            .num_unless('G', self.gap_action.code(), 1)
            .time_unless('H', self.hold_time, Duration::ZERO, TimeUnit::Seconds)
            .num_unless('l', self.loops, 1)
            .num_unless('m', self.max_ttl, 0)
            .num_unless('N', self.squeries, 1)
            .num_unless('o', self.offset, 0);
        let o = &self.options;
        for (on, name) in [
            (o.back, "back"),
            (o.const_payload, "const-payload"),
            (o.dl, "dl"),
            (o.dtree_noback, "dtree-noback"),
            (o.ptr, "ptr"),
            (o.raw, "raw"),
        ] {
            if on {
                l.str('O', name);
            }
        }
        if !self.payload.is_empty() {
            l.str('p', &value::to_hex(&self.payload));
        }
        if self.method != TraceMethod::UdpParis {
            l.str('P', self.method.as_str());
        }
        l.num_unless('q', self.attempts, 2);
        if let Some(r) = self.rtr {
            l.str('r', &r.to_string());
        }
        if let Some(s) = self.sport.given() {
            l.num('s', s);
        }
        if let Some(s) = self.src {
            l.str('S', &s.to_string());
        }
        l.num_unless('t', self.tos, 0)
            .num_unless('U', self.user_id, 0)
            .time_unless(
                'w',
                self.wait_timeout,
                Duration::from_secs(5),
                TimeUnit::Seconds,
            )
            .time_unless('W', self.wait_probe, Duration::ZERO, TimeUnit::TenMillis)
            .num_unless('y', self.stream, 0);
        for a in &self.gss {
            l.str('z', &a.to_string());
        }
        if let Some(z) = &self.lss {
            l.str('Z', z);
        }
        l.finish(&self.dst.to_string())
    }

    /// Every address this trace would send packets to.
    pub fn probed_addresses(&self) -> Vec<IpAddr> {
        vec![self.dst]
    }
}

fn parse(rest: &str, ctx: &Context) -> Result<TraceSpec, CommandError> {
    let lexed = lex::lex(&TABLE, rest)?;
    lexed.check_repeats(&TABLE)?;
    // Options are checked one by one first; the destination is needed by some of them, so
    // the spec is built on a placeholder destination and fixed up afterwards.
    let mut s = TraceSpec::new(IpAddr::from([0, 0, 0, 0]), ctx);
    let mut dport = None;
    let mut sport = None;
    let mut offset_given = false;
    let mut src = None;
    let mut rtr = None;
    let mut gss_raw: Vec<String> = Vec::new();
    for opt in &lexed.opts {
        let v = opt.value.as_deref();
        let num = |what: &str, lo: i64, hi: i64| {
            value::ranged(opt.letter, v, what, lo, hi, value::int_strict)
        };
        let strnum = |what: &str, lo: i64, hi: i64| {
            value::ranged(opt.letter, v, what, lo, hi, value::int_prefix)
        };
        match opt.letter {
            'c' => {
                s.confidence = Some(match num("confidence", 0, 255)? {
                    95 => Confidence::P95,
                    99 => Confidence::P99,
                    _ => return Err(CommandError::option('c', "confidence must be 95 or 99")),
                });
            }
            'd' => dport = Some(strnum("dport", 1, 65535)? as u16),
            'f' => s.first_hop = num("firsthop", 1, 255)? as u8,
            'g' => s.gap_limit = num("gaplimit", 1, 255)? as u8,
            'G' => {
                s.gap_action = if num("gapaction", 1, 2)? == 1 {
                    GapAction::Stop
                } else {
                    GapAction::LastDitch
                };
            }
            'H' => {
                s.hold_time = value::time_ranged(
                    'H',
                    v,
                    TimeUnit::Seconds,
                    "wait-probe-hop",
                    Duration::ZERO,
                    Duration::from_secs(2),
                )?;
            }
            'l' => s.loops = num("loops", 0, 255)? as u8,
            'm' => s.max_ttl = num("maxttl", 0, 255)? as u8,
            'M' => s.pmtud = true,
            'N' => s.squeries = num("squeries", 1, 255)? as u8,
            'o' => {
                s.offset = num("offset", 0, 8190)? as u16;
                offset_given = true;
            }
            'O' => trace_option(&mut s.options, v.unwrap_or_default())?,
            'p' => {
                s.payload = v
                    .filter(|p| !p.is_empty())
                    .and_then(value::hex_even)
                    .ok_or_else(|| {
                        CommandError::option(
                            'p',
                            "payload must be a non-empty even number of hex digits",
                        )
                    })?;
            }
            'P' => {
                s.method = v.and_then(TraceMethod::from_name).ok_or_else(|| {
                    CommandError::option(
                        'P',
                        "method must be UDP-paris, UDP, ICMP, ICMP-paris, TCP or TCP-ack",
                    )
                })?;
            }
            'q' => s.attempts = num("attempts", 1, 20)? as u8,
            'Q' => s.all_attempts = true,
            'r' => rtr = v.map(str::to_owned),
            's' => sport = Some(num("sport", 0, 65535)? as u16),
            'S' => src = v.map(str::to_owned),
            't' => s.tos = strnum("tos", 0, 255)? as u8,
            'T' => s.ttl_expired_not_reached = true,
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
                    Duration::ZERO,
                    Duration::from_secs(2),
                )?;
                if !s.wait_probe.as_micros().is_multiple_of(10_000) {
                    return Err(CommandError::option(
                        'W',
                        "wait-probe must be a multiple of 10ms",
                    ));
                }
            }
            'y' => s.stream = num("stream", 0, 20)? as u8,
            'z' => {
                gss_raw.push(v.unwrap_or_default().to_owned());
                if gss_raw.len() >= 65535 {
                    return Err(CommandError::option('z', "too many gss entries"));
                }
            }
            'Z' => {
                let name = v.unwrap_or_default();
                if name.is_empty() {
                    return Err(CommandError::option('Z', "lss name must not be empty"));
                }
                s.lss = Some(name.to_owned());
            }
            _ => return Err(CommandError::syntax("trace", "unhandled option")),
        }
    }
    if lexed.target.is_empty() {
        return Err(CommandError::MissingTarget {
            what: "address to trace",
        });
    }
    let dst = value::ip(lexed.target).ok_or(CommandError::InvalidDestination)?;
    s.dst = dst;
    s.src = src
        .as_deref()
        .map(|a| value::ip_same_family('S', Some(a), "source address", dst))
        .transpose()?;
    s.rtr = rtr
        .as_deref()
        .map(|a| value::ip_same_family('r', Some(a), "router address", dst))
        .transpose()?;
    s.gss = gss_raw
        .iter()
        .map(|a| value::ip_same_family('z', Some(a), "gss entry", dst))
        .collect::<Result<_, _>>()?;
    s.sport = match sport {
        Some(p) => Setting::Given(p),
        None => Setting::Default(ctx.default_sport()),
    };
    s.dport = match dport {
        Some(p) => Setting::Given(p),
        None if s.method == TraceMethod::IcmpParis => Setting::Default(ctx.default_sport()),
        None => Setting::Default(33435),
    };
    check(&s, offset_given)?;
    s.probe_size = s.compute_probe_size().ok_or_else(|| {
        CommandError::option('p', "payload makes the probe larger than 65535 bytes")
    })?;
    Ok(s)
}

fn trace_option(o: &mut TraceOptions, v: &str) -> Result<(), CommandError> {
    match v.to_ascii_lowercase().as_str() {
        "back" => o.back = true,
        "const-payload" => o.const_payload = true,
        "dl" => o.dl = true,
        "dtree-noback" => o.dtree_noback = true,
        "ptr" => o.ptr = true,
        "raw" => o.raw = true,
        _ => {
            return Err(CommandError::option(
                'O',
                format!(
                    "unknown option '{v}' (known: back, const-payload, dl, dtree-noback, ptr, \
                     raw)"
                ),
            ));
        }
    }
    Ok(())
}

/// The rules that involve several options.
fn check(s: &TraceSpec, offset_given: bool) -> Result<(), CommandError> {
    let v4 = s.dst.is_ipv4();
    if s.options.back {
        if s.doubletree() {
            return Err(CommandError::option(
                'O',
                "back cannot be used with doubletree",
            ));
        }
        if s.max_ttl == 0 {
            return Err(CommandError::option('O', "back needs -m"));
        }
    }
    if s.max_ttl != 0 && s.first_hop > s.max_ttl {
        return Err(CommandError::option(
            'f',
            format!("firsthop must not exceed maxttl ({})", s.max_ttl),
        ));
    }
    if s.squeries > s.gap_limit {
        return Err(CommandError::option(
            'N',
            format!("squeries must not exceed gaplimit ({})", s.gap_limit),
        ));
    }
    if s.pmtud {
        if s.first_hop > 1 {
            return Err(CommandError::option(
                'M',
                "cannot be used with firsthop > 1",
            ));
        }
        if s.doubletree() {
            return Err(CommandError::option('M', "cannot be used with doubletree"));
        }
        if s.method.is_tcp() {
            return Err(CommandError::option('M', "cannot be used with TCP methods"));
        }
    }
    if s.confidence.is_some() && s.all_attempts {
        return Err(CommandError::option('c', "cannot be used with -Q"));
    }
    if s.method.is_tcp() {
        if !s.payload.is_empty() {
            return Err(CommandError::option(
                'p',
                "TCP methods cannot carry a payload",
            ));
        }
        if s.squeries > 1 {
            return Err(CommandError::option('N', "TCP methods need squeries 1"));
        }
    }
    if s.options.raw && !(v4 && s.method.is_tcp()) {
        return Err(CommandError::option(
            'O',
            "raw needs an IPv4 destination and a TCP method",
        ));
    }
    if offset_given && v4 {
        return Err(CommandError::option(
            'o',
            "fragment offset needs an IPv6 destination",
        ));
    }
    Ok(())
}
