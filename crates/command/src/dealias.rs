//! `dealias`: alias resolution (spec `commands.md` §5): the probe-definition sub-language, the
//! seven methods with their target/definition shapes, option sets and defaults.

use std::net::IpAddr;
use std::time::Duration;

use crate::context::{Context, Setting};
use crate::emit::Line;
use crate::error::CommandError;
use crate::lex::{self, OptDef, Table};
use crate::value::{self, TimeUnit};

const OPTS: &[OptDef] = &[
    OptDef::str('@'),
    OptDef::num('f'),
    OptDef::str('m'),
    OptDef::num('o'),
    OptDef::str('O').repeatable(),
    OptDef::str('p').repeatable(),
    OptDef::num('q'),
    OptDef::str('r'),
    OptDef::str('S').repeatable(),
    OptDef::num('U'),
    OptDef::str('w'),
    OptDef::str('W'),
    OptDef::str('x').repeatable(),
];

/// dealias does not check repeats: the last value wins, `-O -p -S -x` accumulate.
pub(crate) const TABLE: Table = Table {
    command: "dealias",
    opts: OPTS,
    check_repeats: false,
};

const DEF_OPTS: &[OptDef] = &[
    OptDef::num('c'),
    OptDef::num('d'),
    OptDef::num('F'),
    OptDef::str('i'),
    OptDef::num('M'),
    OptDef::str('P'),
    OptDef::num('s'),
    OptDef::num('t'),
];

/// A probe definition: its own options, each at most once, and no target.
const DEF_TABLE: Table = Table {
    command: "dealias",
    opts: DEF_OPTS,
    check_repeats: true,
};

/// How a probe definition's packets are sent (`-P` inside `-p`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeMethod {
    /// UDP to a (probably closed) port (the default).
    Udp,
    /// UDP, destination port incremented per probe.
    UdpDport,
    /// TCP ACK.
    TcpAck,
    /// TCP ACK, source port incremented per probe.
    TcpAckSport,
    /// TCP SYN, source port incremented per probe.
    TcpSynSport,
    /// ICMP echo request.
    IcmpEcho,
}

impl ProbeMethod {
    /// Every method.
    pub const ALL: [ProbeMethod; 6] = [
        ProbeMethod::Udp,
        ProbeMethod::UdpDport,
        ProbeMethod::TcpAck,
        ProbeMethod::TcpAckSport,
        ProbeMethod::TcpSynSport,
        ProbeMethod::IcmpEcho,
    ];

    /// The method's name in the command language.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeMethod::Udp => "udp",
            ProbeMethod::UdpDport => "udp-dport",
            ProbeMethod::TcpAck => "tcp-ack",
            ProbeMethod::TcpAckSport => "tcp-ack-sport",
            ProbeMethod::TcpSynSport => "tcp-syn-sport",
            ProbeMethod::IcmpEcho => "icmp-echo",
        }
    }

    /// Reads a method name, ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }

    /// One of the TCP methods.
    pub fn is_tcp(self) -> bool {
        matches!(
            self,
            ProbeMethod::TcpAck | ProbeMethod::TcpAckSport | ProbeMethod::TcpSynSport
        )
    }

    /// One of the UDP methods.
    pub fn is_udp(self) -> bool {
        matches!(self, ProbeMethod::Udp | ProbeMethod::UdpDport)
    }

    /// ICMP echo.
    pub fn is_icmp(self) -> bool {
        self == ProbeMethod::IcmpEcho
    }

    /// For TCP methods, whether the probes carry SYN (else ACK).
    pub fn tcp_syn(self) -> bool {
        self == ProbeMethod::TcpSynSport
    }

    /// The smallest probe size for this method: IP header (20, or 40 for IPv6) plus 20 for
    /// TCP, or 8 + 2 for UDP and ICMP.
    pub fn min_size(self, v4: bool) -> u16 {
        let ip = if v4 { 20 } else { 40 };
        ip + if self.is_tcp() { 20 } else { 10 }
    }
}

/// One probe definition (`-p '<options>'`), resolved against its destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProbeDef {
    /// The address probed (`-i`, or a target address).
    pub dst: IpAddr,
    /// `-P`: how packets are sent.
    pub method: ProbeMethod,
    /// `-F`: the source port; for ICMP, the ICMP identifier (always the context's default
    /// sport, since `-F` is refused for ICMP).
    pub sport: Setting<u16>,
    /// `-d`: the destination port (1..=65535, default 33435; unused by ICMP).
    pub dport: u16,
    /// `-c`: the ICMP checksum to hold (ICMP only).
    pub icmp_sum: Option<u16>,
    /// `-M`: pseudo MTU: solicit fragmented replies (100..=65535).
    pub mtu: Option<u16>,
    /// `-s`: the probe size, IP header included (default: [`ProbeMethod::min_size`]).
    pub size: u16,
    /// `-t`: the TTL (default 255, or 64 for midarest and midardisc).
    pub ttl: u8,
}

/// A probe definition as written, before it meets its destination.
#[derive(Debug, Clone, Default)]
struct RawDef {
    icmp_sum: Option<u16>,
    dport: Option<u16>,
    sport: Option<u16>,
    dst: Option<IpAddr>,
    mtu: Option<u16>,
    method: Option<ProbeMethod>,
    size: Option<u16>,
    ttl: Option<u8>,
}

fn def_err(reason: impl Into<String>) -> CommandError {
    CommandError::option('p', reason)
}

impl RawDef {
    fn parse(text: &str) -> Result<RawDef, CommandError> {
        let lexed = lex::lex(&DEF_TABLE, text).map_err(|e| match e {
            CommandError::Syntax { detail, .. } => def_err(format!("bad probedef: {detail}")),
            other => other,
        })?;
        if !lexed.target.is_empty() {
            return Err(def_err(format!(
                "bad probedef: unexpected '{}'",
                lexed.target
            )));
        }
        lexed.check_repeats(&DEF_TABLE).map_err(|e| match e {
            CommandError::Repeated(c) => def_err(format!("repeated probedef option -{c}")),
            other => other,
        })?;
        let mut d = RawDef::default();
        for opt in &lexed.opts {
            let v = opt.value.as_deref();
            let num = |what: &str, lo: i64, hi: i64| match v.and_then(value::int_strict) {
                Some(n) if (lo..=hi).contains(&n) => Ok(n),
                _ => Err(def_err(format!(
                    "probedef -{}: {what} must be within {lo} - {hi}",
                    opt.letter
                ))),
            };
            match opt.letter {
                'c' => d.icmp_sum = Some(num("icmp checksum", 0, 65535)? as u16),
                'd' => d.dport = Some(num("dport", 1, 65535)? as u16),
                'F' => d.sport = Some(num("sport", 1, 65535)? as u16),
                'i' => {
                    d.dst = Some(v.and_then(value::ip).ok_or_else(|| {
                        def_err("probedef -i: destination must be an IP address")
                    })?);
                }
                'M' => d.mtu = Some(num("mtu", 100, 65535)? as u16),
                'P' => {
                    d.method = Some(v.and_then(ProbeMethod::from_name).ok_or_else(|| {
                        def_err(
                            "probedef -P: method must be udp, udp-dport, tcp-ack, \
                             tcp-ack-sport, tcp-syn-sport or icmp-echo",
                        )
                    })?);
                }
                's' => d.size = Some(num("size", 28, 65535)? as u16),
                't' => d.ttl = Some(num("ttl", 1, 255)? as u8),
                _ => return Err(def_err("bad probedef")),
            }
        }
        Ok(d)
    }

    /// The definition aimed at `dst` (its own `-i` when it has one).
    fn resolve(
        &self,
        dst: Option<IpAddr>,
        default_ttl: u8,
        ctx: &Context,
    ) -> Result<ProbeDef, CommandError> {
        let Some(dst) = self.dst.or(dst) else {
            return Err(def_err("probedef has no destination"));
        };
        let method = self.method.unwrap_or(ProbeMethod::Udp);
        if method.is_icmp() {
            if self.dport.is_some() || self.sport.is_some() {
                return Err(def_err("probedef -d and -F do not apply to icmp-echo"));
            }
        } else if self.icmp_sum.is_some() {
            return Err(def_err("probedef -c applies only to icmp-echo"));
        }
        let min = method.min_size(dst.is_ipv4());
        let size = self.size.unwrap_or(min);
        if size < min {
            return Err(def_err(format!(
                "probedef size must be at least {min} for {} over {}",
                method.as_str(),
                if dst.is_ipv4() { "IPv4" } else { "IPv6" }
            )));
        }
        Ok(ProbeDef {
            dst,
            method,
            sport: match self.sport {
                Some(p) => Setting::Given(p),
                None => Setting::Default(ctx.default_sport()),
            },
            dport: self.dport.unwrap_or(33435),
            icmp_sum: self.icmp_sum,
            mtu: self.mtu,
            size,
            ttl: self.ttl.unwrap_or(default_ttl),
        })
    }
}

impl ProbeDef {
    /// The definition as a `-p` parameter (unquoted), with `-i` when `with_dst`.
    fn to_param(&self, with_dst: bool, default_ttl: u8) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(c) = self.icmp_sum {
            parts.push(format!("-c {c}"));
        }
        if self.dport != 33435 {
            parts.push(format!("-d {}", self.dport));
        }
        if let Some(f) = self.sport.given() {
            parts.push(format!("-F {f}"));
        }
        if with_dst {
            parts.push(format!("-i {}", self.dst));
        }
        if let Some(m) = self.mtu {
            parts.push(format!("-M {m}"));
        }
        if self.method != ProbeMethod::Udp {
            parts.push(format!("-P {}", self.method.as_str()));
        }
        if self.size != self.method.min_size(self.dst.is_ipv4()) {
            parts.push(format!("-s {}", self.size));
        }
        if self.ttl != default_ttl {
            parts.push(format!("-t {}", self.ttl));
        }
        parts.join(" ")
    }

    /// Whether two definitions differ only in their destination.
    fn same_but_dst(&self, other: &ProbeDef) -> bool {
        ProbeDef {
            dst: other.dst,
            ..self.clone()
        } == *other
    }
}

/// mercator: one UDP probe to a closed port; the reply's source may be an alias.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mercator {
    /// The UDP probe definition, aimed at the one target.
    pub def: ProbeDef,
    /// `-q`: attempts (1..=3, default 3).
    pub attempts: u16,
    /// `-w`: reply timeout (whole seconds, default 5 s).
    pub wait_timeout: Duration,
}

/// ally: interleaved probes to two addresses, comparing IP-ID sequences.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ally {
    /// The two probe definitions (ids 0 and 1).
    pub defs: [ProbeDef; 2],
    /// `-q`: attempts (default 5).
    pub attempts: u16,
    /// `-W`: gap between probes (default 150 ms).
    pub wait_probe: Duration,
    /// `-w`: reply timeout (default 5 s).
    pub wait_timeout: Duration,
    /// `-f`: IP-ID fudge (default 200, or 0 with `inseq`).
    pub fudge: u16,
    /// `-O inseq`: IP-IDs must be strictly in sequence.
    pub inseq: bool,
    /// `-O nobs`: do not consider byte-swapped IP-IDs (always on for IPv6).
    pub nobs: bool,
}

/// radargun: rounds of probes to every definition, IP-ID time series.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Radargun {
    /// The probe definitions after pairing each given definition with each target (ids in
    /// this order).
    pub defs: Vec<ProbeDef>,
    /// `-q`: rounds (default 30).
    pub rounds: u16,
    /// `-W`: gap between probes (default 150 ms).
    pub wait_probe: Duration,
    /// `-r`: time per round (default `wait_probe` × number of definitions).
    pub wait_round: Duration,
    /// `-w`: reply timeout (default 5 s).
    pub wait_timeout: Duration,
    /// `-O shuffle`: shuffle the probe order each round.
    pub shuffle: bool,
}

/// prefixscan: find an alias of `a` inside `b/prefix_len`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Prefixscan {
    /// The address whose alias is sought.
    pub a: IpAddr,
    /// The network scanned.
    pub b: IpAddr,
    /// Its prefix length (24..=31 for IPv4, 120..=127 for IPv6).
    pub prefix_len: u8,
    /// The probe definition (its destination is `a`; the scan substitutes addresses).
    pub def: ProbeDef,
    /// `-x`: addresses not to probe.
    pub exclude: Vec<IpAddr>,
    /// `-q`: attempts (default 2).
    pub attempts: u16,
    /// `-o`: replies to wait for (3..=255, default 5).
    pub replyc: u8,
    /// `-W`: gap between probes (default 1 s).
    pub wait_probe: Duration,
    /// `-w`: reply timeout (default 5 s).
    pub wait_timeout: Duration,
    /// `-f`: IP-ID fudge (default 200, or 0 with `inseq`).
    pub fudge: u16,
    /// `-O inseq`.
    pub inseq: bool,
    /// `-O nobs`.
    pub nobs: bool,
}

/// bump: try to bump a router's IP-ID counter through one address and see it via another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bump {
    /// The two probe definitions, each with its IPv4 `-i`.
    pub defs: [ProbeDef; 2],
    /// `-q`: attempts (default 3).
    pub attempts: u16,
    /// `-f`: bump limit (default 30).
    pub bump_limit: u16,
    /// `-W`: gap between probes (default 1 s).
    pub wait_probe: Duration,
}

/// midarest: MIDAR's estimation stage over IPv4 targets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Midarest {
    /// The given probe definitions (without destination: each is sent to every target);
    /// each entry's `dst` is the first target.
    pub defs: Vec<ProbeDef>,
    /// The IPv4 targets.
    pub targets: Vec<IpAddr>,
    /// `-q`: rounds (default 30).
    pub rounds: u16,
    /// `-W`: gap between probes (default: `wait_round` / number of definitions × targets).
    pub wait_probe: Duration,
    /// `-r`: time per round (default 10 s, or `wait_probe` × definitions × targets with `-W`).
    pub wait_round: Duration,
    /// `-w`: reply timeout (default 1 s).
    pub wait_timeout: Duration,
    /// `-O shuffle`.
    pub shuffle: bool,
}

impl Midarest {
    /// How many probes one round sends: definitions × targets.
    pub fn probes_per_round(&self) -> u32 {
        (self.defs.len() * self.targets.len()) as u32
    }
}

/// One round of a midardisc schedule (`-S <offset>:<begin>:<end>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MidarRound {
    /// When the round starts, relative to the measurement's start.
    pub offset: Duration,
    /// The first probe definition of the round.
    pub begin: u32,
    /// The last probe definition of the round.
    pub end: u32,
}

/// midardisc: MIDAR's discovery stage on a fixed schedule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Midardisc {
    /// The probe definitions, each with its `-i`.
    pub defs: Vec<ProbeDef>,
    /// `-S`: the rounds (at least 2).
    pub schedule: Vec<MidarRound>,
    /// `-@`: absolute start time, since the Unix epoch (`None` = when the task starts).
    pub start_at: Option<Duration>,
    /// `-w`: reply timeout (default 1 s).
    pub wait_timeout: Duration,
}

/// The alias-resolution method (`-m`) and everything specific to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DealiasMethod {
    /// `mercator` (the default).
    Mercator(Mercator),
    /// `ally`.
    Ally(Ally),
    /// `radargun`.
    Radargun(Radargun),
    /// `prefixscan`.
    Prefixscan(Prefixscan),
    /// `bump`.
    Bump(Bump),
    /// `midarest`.
    Midarest(Midarest),
    /// `midardisc`.
    Midardisc(Midardisc),
}

impl DealiasMethod {
    /// The method's name in the command language.
    pub fn name(&self) -> &'static str {
        match self {
            DealiasMethod::Mercator(_) => "mercator",
            DealiasMethod::Ally(_) => "ally",
            DealiasMethod::Radargun(_) => "radargun",
            DealiasMethod::Prefixscan(_) => "prefixscan",
            DealiasMethod::Bump(_) => "bump",
            DealiasMethod::Midarest(_) => "midarest",
            DealiasMethod::Midardisc(_) => "midardisc",
        }
    }
}

/// A validated `dealias` command.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DealiasSpec {
    /// The method and its parameters.
    pub method: DealiasMethod,
    /// `-U`: user id recorded in the result.
    pub user_id: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MethodName {
    Mercator,
    Ally,
    Radargun,
    Prefixscan,
    Bump,
    Midarest,
    Midardisc,
}

impl MethodName {
    fn parse(s: &str) -> Option<Self> {
        [
            ("mercator", MethodName::Mercator),
            ("ally", MethodName::Ally),
            ("radargun", MethodName::Radargun),
            ("prefixscan", MethodName::Prefixscan),
            ("bump", MethodName::Bump),
            ("midarest", MethodName::Midarest),
            ("midardisc", MethodName::Midardisc),
        ]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, m)| m)
    }

    fn as_str(self) -> &'static str {
        match self {
            MethodName::Mercator => "mercator",
            MethodName::Ally => "ally",
            MethodName::Radargun => "radargun",
            MethodName::Prefixscan => "prefixscan",
            MethodName::Bump => "bump",
            MethodName::Midarest => "midarest",
            MethodName::Midardisc => "midardisc",
        }
    }

    /// The options (besides `-m -p -U`) the method uses.
    fn allowed(self) -> &'static str {
        match self {
            MethodName::Mercator => "qw",
            MethodName::Ally => "WwqfO",
            MethodName::Radargun => "qWrwO",
            MethodName::Prefixscan => "qoWwfxO",
            MethodName::Bump => "qfW",
            MethodName::Midarest => "qwWrO",
            MethodName::Midardisc => "S@w",
        }
    }
}

/// Everything given, before the method decides what it means.
#[derive(Default)]
struct Given {
    start_at: Option<Duration>,
    fudge: Option<u16>,
    method: Option<MethodName>,
    replyc: Option<u8>,
    inseq: bool,
    shuffle: bool,
    nobs: bool,
    defs: Vec<RawDef>,
    attempts: Option<u16>,
    wait_round: Option<Duration>,
    schedule: Vec<String>,
    user_id: u32,
    wait_timeout: Option<Duration>,
    wait_probe: Option<Duration>,
    exclude: Vec<String>,
    letters: Vec<char>,
}

fn invalid(reason: impl Into<String>) -> CommandError {
    CommandError::Invalid(reason.into())
}

impl DealiasSpec {
    /// Parses the options and targets of a `dealias` command (the text after `dealias `).
    pub fn parse(rest: &str, ctx: &Context) -> Result<Self, CommandError> {
        let lexed = lex::lex(&TABLE, rest)?;
        let mut g = Given::default();
        for opt in &lexed.opts {
            let v = opt.value.as_deref();
            let num = |what: &str, lo: i64, hi: i64| {
                value::ranged(opt.letter, v, what, lo, hi, value::int_strict)
            };
            if !g.letters.contains(&opt.letter) {
                g.letters.push(opt.letter);
            }
            match opt.letter {
                '@' => {
                    g.start_at = Some(
                        v.and_then(|t| value::time(t, TimeUnit::Seconds))
                            .ok_or_else(|| {
                                CommandError::option(
                                    '@',
                                    "start time must be seconds since the epoch",
                                )
                            })?,
                    );
                }
                'f' => g.fudge = Some(num("fudge", 1, 65535)? as u16),
                'm' => {
                    g.method = Some(v.and_then(MethodName::parse).ok_or_else(|| {
                        CommandError::option(
                            'm',
                            "method must be mercator, ally, radargun, prefixscan, bump, \
                             midarest or midardisc",
                        )
                    })?);
                }
                'o' => g.replyc = Some(num("replyc", 3, 255)? as u8),
                'O' => match v.unwrap_or_default().to_ascii_lowercase().as_str() {
                    "inseq" => g.inseq = true,
                    "shuffle" => g.shuffle = true,
                    "nobs" => g.nobs = true,
                    _ => {
                        return Err(CommandError::option(
                            'O',
                            format!(
                                "unknown option '{}' (known: inseq, shuffle, nobs)",
                                v.unwrap_or_default()
                            ),
                        ));
                    }
                },
                'p' => g.defs.push(RawDef::parse(v.unwrap_or_default())?),
                'q' => g.attempts = Some(num("attempts", 1, 500)? as u16),
                'r' => {
                    g.wait_round = Some(value::time_ranged(
                        'r',
                        v,
                        TimeUnit::Millis,
                        "wait-round",
                        Duration::from_millis(1),
                        Duration::from_secs(180),
                    )?);
                }
                'S' => g.schedule.push(v.unwrap_or_default().to_owned()),
                'U' => g.user_id = num("userid", 0, u32::MAX.into())? as u32,
                'w' => {
                    let w = value::time_ranged(
                        'w',
                        v,
                        TimeUnit::Seconds,
                        "wait-timeout",
                        Duration::from_secs(1),
                        Duration::from_secs(255),
                    )?;
                    if w.subsec_nanos() != 0 {
                        return Err(CommandError::option(
                            'w',
                            "wait-timeout must be whole seconds",
                        ));
                    }
                    g.wait_timeout = Some(w);
                }
                'W' => {
                    let w = value::time_ranged(
                        'W',
                        v,
                        TimeUnit::Millis,
                        "wait-probe",
                        Duration::from_millis(1),
                        Duration::from_millis(65535),
                    )?;
                    if !w.subsec_nanos().is_multiple_of(1_000_000) {
                        return Err(CommandError::option(
                            'W',
                            "wait-probe must be whole milliseconds",
                        ));
                    }
                    g.wait_probe = Some(w);
                }
                'x' => g.exclude.push(v.unwrap_or_default().to_owned()),
                _ => return Err(CommandError::syntax("dealias", "unhandled option")),
            }
        }
        let method = g.method.unwrap_or(MethodName::Mercator);
        for &letter in &g.letters {
            if !matches!(letter, 'm' | 'p' | 'U') && !method.allowed().contains(letter) {
                return Err(CommandError::option(
                    letter,
                    format!("not used by {}", method.as_str()),
                ));
            }
        }
        let targets: Vec<&str> = lexed
            .target
            .split(lex::is_space)
            .filter(|t| !t.is_empty())
            .collect();
        let method = match method {
            MethodName::Mercator => mercator(&g, &targets, ctx)?,
            MethodName::Ally => ally(&g, &targets, ctx)?,
            MethodName::Radargun => radargun(&g, &targets, ctx)?,
            MethodName::Prefixscan => prefixscan(&g, &targets, ctx)?,
            MethodName::Bump => bump(&g, &targets, ctx)?,
            MethodName::Midarest => midarest(&g, &targets, ctx)?,
            MethodName::Midardisc => midardisc(&g, &targets, ctx)?,
        };
        Ok(DealiasSpec {
            method,
            user_id: g.user_id,
        })
    }

    /// The canonical command line for this spec. It parses back to an equal spec.
    pub fn to_command_string(&self) -> String {
        let mut l = Line::new("dealias");
        let mut targets: Vec<String> = Vec::new();
        match &self.method {
            DealiasMethod::Mercator(m) => {
                l.num_unless('q', m.attempts, 3);
                l.time_unless(
                    'w',
                    m.wait_timeout,
                    Duration::from_secs(5),
                    TimeUnit::Seconds,
                );
                push_def_unless_default(&mut l, &m.def);
                targets.push(m.def.dst.to_string());
            }
            DealiasMethod::Ally(a) => {
                l.str('m', "ally");
                if a.fudge != if a.inseq { 0 } else { 200 } {
                    l.num('f', a.fudge);
                }
                if a.inseq {
                    l.str('O', "inseq");
                }
                if a.nobs && a.defs[0].dst.is_ipv4() {
                    l.str('O', "nobs");
                }
                if a.defs[0].same_but_dst(&a.defs[1]) {
                    push_def_unless_default(&mut l, &a.defs[0]);
                    targets.extend(a.defs.iter().map(|d| d.dst.to_string()));
                } else {
                    for d in &a.defs {
                        push_def(&mut l, d, true, 255);
                    }
                }
                l.num_unless('q', a.attempts, 5);
                l.time_unless(
                    'w',
                    a.wait_timeout,
                    Duration::from_secs(5),
                    TimeUnit::Seconds,
                );
                l.time_unless(
                    'W',
                    a.wait_probe,
                    Duration::from_millis(150),
                    TimeUnit::Millis,
                );
            }
            DealiasMethod::Radargun(r) => {
                l.str('m', "radargun");
                if r.shuffle {
                    l.str('O', "shuffle");
                }
                for d in &r.defs {
                    push_def(&mut l, d, true, 255);
                }
                l.num_unless('q', r.rounds, 30);
                l.time_unless(
                    'r',
                    r.wait_round,
                    r.wait_probe * r.defs.len() as u32,
                    TimeUnit::Millis,
                );
                l.time_unless(
                    'w',
                    r.wait_timeout,
                    Duration::from_secs(5),
                    TimeUnit::Seconds,
                );
                l.time_unless(
                    'W',
                    r.wait_probe,
                    Duration::from_millis(150),
                    TimeUnit::Millis,
                );
            }
            DealiasMethod::Prefixscan(p) => {
                l.str('m', "prefixscan");
                if p.fudge != if p.inseq { 0 } else { 200 } {
                    l.num('f', p.fudge);
                }
                l.num_unless('o', p.replyc, 5);
                if p.inseq {
                    l.str('O', "inseq");
                }
                if p.nobs {
                    l.str('O', "nobs");
                }
                push_def(&mut l, &p.def, false, 255);
                l.num_unless('q', p.attempts, 2);
                l.time_unless(
                    'w',
                    p.wait_timeout,
                    Duration::from_secs(5),
                    TimeUnit::Seconds,
                );
                l.time_unless('W', p.wait_probe, Duration::from_secs(1), TimeUnit::Millis);
                for x in &p.exclude {
                    l.str('x', &x.to_string());
                }
                targets.push(p.a.to_string());
                targets.push(format!("{}/{}", p.b, p.prefix_len));
            }
            DealiasMethod::Bump(b) => {
                l.str('m', "bump");
                l.num_unless('f', b.bump_limit, 30);
                for d in &b.defs {
                    push_def(&mut l, d, true, 255);
                }
                l.num_unless('q', b.attempts, 3);
                l.time_unless('W', b.wait_probe, Duration::from_secs(1), TimeUnit::Millis);
            }
            DealiasMethod::Midarest(m) => {
                l.str('m', "midarest");
                if m.shuffle {
                    l.str('O', "shuffle");
                }
                for d in &m.defs {
                    push_def(&mut l, d, false, 64);
                }
                l.num_unless('q', m.rounds, 30);
                midarest_waits(&mut l, m);
                l.time_unless(
                    'w',
                    m.wait_timeout,
                    Duration::from_secs(1),
                    TimeUnit::Seconds,
                );
                targets.extend(m.targets.iter().map(ToString::to_string));
            }
            DealiasMethod::Midardisc(m) => {
                if let Some(at) = m.start_at {
                    l.str('@', &value::time_param(at, TimeUnit::Seconds));
                }
                l.str('m', "midardisc");
                for d in &m.defs {
                    push_def(&mut l, d, true, 64);
                }
                for r in &m.schedule {
                    l.str(
                        'S',
                        &format!(
                            "{}:{}:{}",
                            value::time_param(r.offset, TimeUnit::Seconds),
                            r.begin,
                            r.end
                        ),
                    );
                }
                l.time_unless(
                    'w',
                    m.wait_timeout,
                    Duration::from_secs(1),
                    TimeUnit::Seconds,
                );
            }
        }
        l.num_unless('U', self.user_id, 0);
        l.finish(&targets.join(" "))
    }

    /// Every address this measurement would send packets to (for prefixscan, every address
    /// of the scanned prefix that is not excluded).
    pub fn probed_addresses(&self) -> Vec<IpAddr> {
        match &self.method {
            DealiasMethod::Mercator(m) => vec![m.def.dst],
            DealiasMethod::Ally(a) => a.defs.iter().map(|d| d.dst).collect(),
            DealiasMethod::Radargun(r) => r.defs.iter().map(|d| d.dst).collect(),
            DealiasMethod::Bump(b) => b.defs.iter().map(|d| d.dst).collect(),
            DealiasMethod::Midarest(m) => m.targets.clone(),
            DealiasMethod::Midardisc(m) => m.defs.iter().map(|d| d.dst).collect(),
            DealiasMethod::Prefixscan(p) => {
                let mut out = vec![p.a];
                out.extend(prefix_members(p.b, p.prefix_len).filter(|x| !p.exclude.contains(x)));
                out
            }
        }
    }
}

/// Every address of `net/len` (len close to the full width, so at most 256).
fn prefix_members(net: IpAddr, len: u8) -> impl Iterator<Item = IpAddr> {
    let (base, bits, v4) = match net {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32u32, true),
        IpAddr::V6(a) => (u128::from(a), 128u32, false),
    };
    let host_bits = bits - u32::from(len);
    let first = base & !((1u128 << host_bits) - 1);
    (0..(1u128 << host_bits)).map(move |i| {
        let x = first + i;
        if v4 {
            IpAddr::from(std::net::Ipv4Addr::from(x as u32))
        } else {
            IpAddr::from(std::net::Ipv6Addr::from(x))
        }
    })
}

fn push_def(l: &mut Line, d: &ProbeDef, with_dst: bool, default_ttl: u8) {
    let p = d.to_param(with_dst, default_ttl);
    l.str('p', &p);
}

/// Like [`push_def`] for a definition that may be left out when it is all defaults.
fn push_def_unless_default(l: &mut Line, d: &ProbeDef) {
    let p = d.to_param(false, 255);
    if !p.is_empty() {
        l.str('p', &p);
    }
}

/// Writes midarest's `-r`/`-W` so that they read back to the same pair.
fn midarest_waits(l: &mut Line, m: &Midarest) {
    let n = m.probes_per_round().max(1);
    let derived_probe = m.wait_round / n;
    let r_ok = m.wait_round >= Duration::from_millis(1) && m.wait_round <= Duration::from_secs(180);
    let w_ok = m.wait_probe >= Duration::from_millis(1)
        && m.wait_probe <= Duration::from_millis(65535)
        && m.wait_probe.subsec_nanos().is_multiple_of(1_000_000);
    if m.wait_probe == derived_probe && m.wait_round == Duration::from_secs(10) {
        return;
    }
    if m.wait_probe == derived_probe && r_ok {
        l.time_unless('r', m.wait_round, Duration::ZERO, TimeUnit::Millis);
    } else if m.wait_round == m.wait_probe * n && w_ok {
        l.time_unless('W', m.wait_probe, Duration::ZERO, TimeUnit::Millis);
    } else {
        l.time_unless('r', m.wait_round, Duration::ZERO, TimeUnit::Millis);
        l.time_unless('W', m.wait_probe, Duration::ZERO, TimeUnit::Millis);
    }
}

fn addrs(targets: &[&str]) -> Result<Vec<IpAddr>, CommandError> {
    targets
        .iter()
        .map(|t| value::ip(t).ok_or(CommandError::InvalidDestination))
        .collect()
}

fn same_family(defs: &[ProbeDef]) -> Result<(), CommandError> {
    if defs
        .windows(2)
        .any(|w| w[0].dst.is_ipv4() != w[1].dst.is_ipv4())
    {
        return Err(invalid("probe definitions must all be IPv4 or all IPv6"));
    }
    Ok(())
}

fn fudge(g: &Given) -> Result<u16, CommandError> {
    if g.inseq {
        if g.fudge.is_some() {
            return Err(CommandError::option('f', "cannot be used with -O inseq"));
        }
        return Ok(0);
    }
    Ok(g.fudge.unwrap_or(200))
}

fn option_only(g: &Given, allowed: &[&str], method: &str) -> Result<(), CommandError> {
    for (on, name) in [(g.inseq, "inseq"), (g.shuffle, "shuffle"), (g.nobs, "nobs")] {
        if on && !allowed.contains(&name) {
            return Err(CommandError::option(
                'O',
                format!("{name} is not used by {method}"),
            ));
        }
    }
    Ok(())
}

fn mercator(g: &Given, targets: &[&str], ctx: &Context) -> Result<DealiasMethod, CommandError> {
    let dsts = addrs(targets)?;
    let [dst] = dsts.as_slice() else {
        return Err(if dsts.is_empty() {
            CommandError::MissingTarget {
                what: "address to dealias",
            }
        } else {
            invalid("mercator takes exactly one address")
        });
    };
    if g.defs.len() > 1 {
        return Err(def_err("mercator takes at most one probedef"));
    }
    let raw = g.defs.first().cloned().unwrap_or_default();
    if raw.dst.is_some() {
        return Err(def_err("mercator's probedef cannot have -i"));
    }
    let def = raw.resolve(Some(*dst), 255, ctx)?;
    if def.method != ProbeMethod::Udp {
        return Err(def_err("mercator needs a udp probedef"));
    }
    let attempts = g.attempts.unwrap_or(3);
    if attempts > 3 {
        return Err(CommandError::option(
            'q',
            "attempts must be within 1 - 3 for mercator",
        ));
    }
    Ok(DealiasMethod::Mercator(Mercator {
        def,
        attempts,
        wait_timeout: g.wait_timeout.unwrap_or(Duration::from_secs(5)),
    }))
}

fn ally(g: &Given, targets: &[&str], ctx: &Context) -> Result<DealiasMethod, CommandError> {
    option_only(g, &["inseq", "nobs"], "ally")?;
    let dsts = addrs(targets)?;
    let defs: Vec<ProbeDef> = match (dsts.len(), g.defs.len()) {
        (2, 0 | 1) => {
            let raw = g.defs.first().cloned().unwrap_or_default();
            if raw.dst.is_some() {
                return Err(def_err(
                    "ally's probedef cannot have -i when addresses are given",
                ));
            }
            dsts.iter()
                .map(|d| raw.resolve(Some(*d), 255, ctx))
                .collect::<Result<_, _>>()?
        }
        (2, 2) => {
            if g.defs.iter().any(|d| d.dst.is_some()) {
                return Err(def_err(
                    "ally's probedefs cannot have -i when addresses are given",
                ));
            }
            g.defs
                .iter()
                .zip(&dsts)
                .map(|(r, d)| r.resolve(Some(*d), 255, ctx))
                .collect::<Result<_, _>>()?
        }
        (0, 2) => {
            if g.defs.iter().any(|d| d.dst.is_none()) {
                return Err(def_err("ally without addresses needs -i in both probedefs"));
            }
            g.defs
                .iter()
                .map(|r| r.resolve(None, 255, ctx))
                .collect::<Result<_, _>>()?
        }
        _ => {
            return Err(invalid(
                "ally needs two addresses (with 0, 1 or 2 probedefs) or two probedefs with -i",
            ));
        }
    };
    same_family(&defs)?;
    let v6 = defs[0].dst.is_ipv6();
    let fudge = fudge(g)?;
    let Ok(defs) = <[ProbeDef; 2]>::try_from(defs) else {
        return Err(invalid("ally needs exactly two probedefs"));
    };
    Ok(DealiasMethod::Ally(Ally {
        defs,
        attempts: g.attempts.unwrap_or(5),
        wait_probe: g.wait_probe.unwrap_or(Duration::from_millis(150)),
        wait_timeout: g.wait_timeout.unwrap_or(Duration::from_secs(5)),
        fudge,
        inseq: g.inseq,
        nobs: g.nobs || v6,
    }))
}

/// Pairs each definition with each address (definition-major order).
fn cross(
    raws: &[RawDef],
    dsts: &[IpAddr],
    ttl: u8,
    ctx: &Context,
) -> Result<Vec<ProbeDef>, CommandError> {
    if raws.iter().any(|r| r.dst.is_some()) {
        return Err(def_err("probedefs cannot have -i when addresses are given"));
    }
    let mut out = Vec::with_capacity(raws.len() * dsts.len());
    for r in raws {
        for d in dsts {
            out.push(r.resolve(Some(*d), ttl, ctx)?);
        }
    }
    Ok(out)
}

fn radargun(g: &Given, targets: &[&str], ctx: &Context) -> Result<DealiasMethod, CommandError> {
    option_only(g, &["shuffle"], "radargun")?;
    let dsts = addrs(targets)?;
    let defs = match (dsts.len(), g.defs.len()) {
        (n, 0 | 1) if n >= 2 => {
            let raw = g.defs.first().cloned().unwrap_or_default();
            cross(&[raw], &dsts, 255, ctx)?
        }
        (n, k) if n >= 1 && k >= 2 => cross(&g.defs, &dsts, 255, ctx)?,
        (0, k) if k >= 2 => {
            if g.defs.iter().any(|d| d.dst.is_none()) {
                return Err(def_err(
                    "radargun without addresses needs -i in every probedef",
                ));
            }
            g.defs
                .iter()
                .map(|r| r.resolve(None, 255, ctx))
                .collect::<Result<_, _>>()?
        }
        _ => {
            return Err(invalid(
                "radargun needs two or more addresses with one probedef, addresses with two or \
                 more probedefs, or two or more probedefs with -i",
            ));
        }
    };
    same_family(&defs)?;
    let wait_probe = g.wait_probe.unwrap_or(Duration::from_millis(150));
    let n = u32::try_from(defs.len()).map_err(|_| invalid("too many probedefs"))?;
    let wait_round = match g.wait_round {
        Some(r) => r,
        None => wait_probe
            .checked_mul(n)
            .ok_or_else(|| invalid("too many probedefs"))?,
    };
    Ok(DealiasMethod::Radargun(Radargun {
        defs,
        rounds: g.attempts.unwrap_or(30),
        wait_probe,
        wait_round,
        wait_timeout: g.wait_timeout.unwrap_or(Duration::from_secs(5)),
        shuffle: g.shuffle,
    }))
}

fn prefixscan(g: &Given, targets: &[&str], ctx: &Context) -> Result<DealiasMethod, CommandError> {
    option_only(g, &["inseq", "nobs"], "prefixscan")?;
    let [a, b] = targets else {
        return Err(invalid("prefixscan needs '<address> <prefix>/<length>'"));
    };
    let a = value::ip(a).ok_or(CommandError::InvalidDestination)?;
    let (b, len) = b.split_once('/').ok_or(CommandError::InvalidDestination)?;
    let b = value::ip(b).ok_or(CommandError::InvalidDestination)?;
    if a.is_ipv4() != b.is_ipv4() {
        return Err(invalid(
            "prefixscan's address and prefix must be the same family",
        ));
    }
    let range = if a.is_ipv4() { 24..=31 } else { 120..=127 };
    let prefix_len = len
        .parse::<u8>()
        .ok()
        .filter(|l| len.bytes().all(|c| c.is_ascii_digit()) && range.contains(l))
        .ok_or_else(|| {
            invalid(format!(
                "prefixscan's prefix length must be within {} - {}",
                range.start(),
                range.end()
            ))
        })?;
    let [raw] = g.defs.as_slice() else {
        return Err(def_err("prefixscan needs exactly one probedef"));
    };
    if raw.dst.is_some() {
        return Err(def_err("prefixscan's probedef cannot have -i"));
    }
    let def = raw.resolve(Some(a), 255, ctx)?;
    let exclude = g
        .exclude
        .iter()
        .map(|x| value::ip_same_family('x', Some(x), "excluded address", a))
        .collect::<Result<_, _>>()?;
    Ok(DealiasMethod::Prefixscan(Prefixscan {
        a,
        b,
        prefix_len,
        def,
        exclude,
        attempts: g.attempts.unwrap_or(2),
        replyc: g.replyc.unwrap_or(5),
        wait_probe: g.wait_probe.unwrap_or(Duration::from_secs(1)),
        wait_timeout: g.wait_timeout.unwrap_or(Duration::from_secs(5)),
        fudge: fudge(g)?,
        inseq: g.inseq,
        nobs: g.nobs,
    }))
}

fn bump(g: &Given, targets: &[&str], ctx: &Context) -> Result<DealiasMethod, CommandError> {
    if !targets.is_empty() {
        return Err(invalid(
            "bump takes no addresses: give them with -i in the probedefs",
        ));
    }
    let [d0, d1] = g.defs.as_slice() else {
        return Err(def_err("bump needs exactly two probedefs"));
    };
    let mut defs = Vec::with_capacity(2);
    for raw in [d0, d1] {
        if !raw.dst.is_some_and(|d| d.is_ipv4()) {
            return Err(def_err("bump's probedefs need an IPv4 -i"));
        }
        defs.push(raw.resolve(None, 255, ctx)?);
    }
    let Ok(defs) = <[ProbeDef; 2]>::try_from(defs) else {
        return Err(def_err("bump needs exactly two probedefs"));
    };
    Ok(DealiasMethod::Bump(Bump {
        defs,
        attempts: g.attempts.unwrap_or(3),
        bump_limit: g.fudge.unwrap_or(30),
        wait_probe: g.wait_probe.unwrap_or(Duration::from_secs(1)),
    }))
}

fn midarest(g: &Given, targets: &[&str], ctx: &Context) -> Result<DealiasMethod, CommandError> {
    option_only(g, &["shuffle"], "midarest")?;
    let dsts = addrs(targets)?;
    if dsts.is_empty() {
        return Err(CommandError::MissingTarget {
            what: "address to dealias",
        });
    }
    if dsts.iter().any(IpAddr::is_ipv6) {
        return Err(invalid("midarest needs IPv4 addresses"));
    }
    if g.defs.len() < 2 {
        return Err(def_err("midarest needs two or more probedefs"));
    }
    // Validate every pairing; keep the definitions themselves aimed at the first target.
    cross(&g.defs, &dsts, 64, ctx)?;
    let defs: Vec<ProbeDef> = g
        .defs
        .iter()
        .map(|r| r.resolve(Some(dsts[0]), 64, ctx))
        .collect::<Result<_, _>>()?;
    let n = u32::try_from(defs.len() * dsts.len()).map_err(|_| invalid("too many probes"))?;
    let (wait_round, wait_probe) = match g.wait_probe {
        None => {
            let round = g.wait_round.unwrap_or(Duration::from_secs(10));
            (round, round / n)
        }
        Some(w) => {
            let total = w.checked_mul(n).ok_or_else(|| invalid("too many probes"))?;
            match g.wait_round {
                Some(r) if total > r => {
                    return Err(CommandError::option(
                        'W',
                        format!(
                            "wait-probe x {n} probes per round must not exceed wait-round ({})",
                            value::time_human(r)
                        ),
                    ));
                }
                Some(r) => (r, w),
                None => (total, w),
            }
        }
    };
    Ok(DealiasMethod::Midarest(Midarest {
        defs,
        targets: dsts,
        rounds: g.attempts.unwrap_or(30),
        wait_probe,
        wait_round,
        wait_timeout: g.wait_timeout.unwrap_or(Duration::from_secs(1)),
        shuffle: g.shuffle,
    }))
}

fn midardisc(g: &Given, targets: &[&str], ctx: &Context) -> Result<DealiasMethod, CommandError> {
    if !targets.is_empty() {
        return Err(invalid(
            "midardisc takes no addresses: give them with -i in the probedefs",
        ));
    }
    if g.defs.len() < 2 || g.defs.iter().any(|d| d.dst.is_none()) {
        return Err(def_err(
            "midardisc needs two or more probedefs, each with -i",
        ));
    }
    let defs: Vec<ProbeDef> = g
        .defs
        .iter()
        .map(|r| r.resolve(None, 64, ctx))
        .collect::<Result<_, _>>()?;
    same_family(&defs)?;
    let n = defs.len() as u64;
    let mut schedule: Vec<MidarRound> = Vec::with_capacity(g.schedule.len());
    for s in &g.schedule {
        let bad = || {
            CommandError::option(
                'S',
                format!("round '{s}' must be <offset-seconds>:<begin>:<end>"),
            )
        };
        let mut parts = s.split(':');
        let (Some(off), Some(begin), Some(end), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let offset = value::time(off, TimeUnit::Seconds).ok_or_else(bad)?;
        let index = |x: &str| {
            x.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| x.parse::<u32>().ok())
                .flatten()
        };
        let (Some(begin), Some(end)) = (index(begin), index(end)) else {
            return Err(bad());
        };
        if u64::from(begin) >= n || begin > end || u64::from(end) > n {
            return Err(CommandError::option(
                'S',
                format!("round '{s}' needs begin < {n} and begin <= end <= {n}"),
            ));
        }
        if let Some(prev) = schedule.last()
            && (offset <= prev.offset || begin < prev.begin || end < prev.end)
        {
            return Err(CommandError::option(
                'S',
                format!(
                    "round '{s}' must start later than the one before and not move its \
                         begin or end backwards"
                ),
            ));
        }
        schedule.push(MidarRound { offset, begin, end });
    }
    if schedule.len() < 2 {
        return Err(CommandError::option(
            'S',
            "midardisc needs two or more rounds",
        ));
    }
    Ok(DealiasMethod::Midardisc(Midardisc {
        defs,
        schedule,
        start_at: g.start_at,
        wait_timeout: g.wait_timeout.unwrap_or(Duration::from_secs(1)),
    }))
}
