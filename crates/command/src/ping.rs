//! `ping`: options, defaults, validation and the probe-size model (spec `commands.md` §2).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::context::{Context, Setting};
use crate::emit::Line;
use crate::error::CommandError;
use crate::lex::{self, OptDef, Table};
use crate::value::{self, TimeUnit};

const OPTS: &[OptDef] = &[
    OptDef::num('A'),
    OptDef::num('b'),
    OptDef::str('B'),
    OptDef::num('c'),
    OptDef::str('C'),
    OptDef::num('d'),
    OptDef::num('F'),
    OptDef::str('i'),
    OptDef::num('m'),
    OptDef::num('M'),
    OptDef::num('o'),
    OptDef::str('O').repeatable(),
    OptDef::str('p'),
    OptDef::str('P'),
    OptDef::str('r'),
    OptDef::flag('R'),
    OptDef::num('s'),
    OptDef::str('S'),
    OptDef::str('T'),
    OptDef::num('U'),
    OptDef::str('W'),
    OptDef::num('y'),
    OptDef::str('z'),
];

pub(crate) const TABLE: Table = Table {
    command: "ping",
    opts: OPTS,
    check_repeats: true,
};

/// How ping probes are sent (`-P`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PingMethod {
    /// ICMP echo request (the default).
    IcmpEcho,
    /// ICMP timestamp request (IPv4 only).
    IcmpTime,
    /// TCP SYN to `dport`.
    TcpSyn,
    /// TCP ACK to `dport`.
    TcpAck,
    /// TCP ACK, source port incremented per probe.
    TcpAckSport,
    /// TCP SYN/ACK to `dport`.
    TcpSynAck,
    /// TCP RST to `dport`.
    TcpRst,
    /// TCP SYN, source port incremented per probe.
    TcpSynSport,
    /// UDP to `dport`.
    Udp,
    /// UDP, destination port incremented per probe.
    UdpDport,
    /// UDP, source port incremented per probe.
    UdpSport,
}

impl PingMethod {
    /// Every method, in the order the reference documents them.
    pub const ALL: [PingMethod; 11] = [
        PingMethod::IcmpEcho,
        PingMethod::IcmpTime,
        PingMethod::TcpSyn,
        PingMethod::TcpAck,
        PingMethod::TcpAckSport,
        PingMethod::TcpSynAck,
        PingMethod::TcpRst,
        PingMethod::TcpSynSport,
        PingMethod::Udp,
        PingMethod::UdpDport,
        PingMethod::UdpSport,
    ];

    /// The method's name in the command language (and in JSON output).
    pub fn as_str(self) -> &'static str {
        match self {
            PingMethod::IcmpEcho => "icmp-echo",
            PingMethod::IcmpTime => "icmp-time",
            PingMethod::TcpSyn => "tcp-syn",
            PingMethod::TcpAck => "tcp-ack",
            PingMethod::TcpAckSport => "tcp-ack-sport",
            PingMethod::TcpSynAck => "tcp-synack",
            PingMethod::TcpRst => "tcp-rst",
            PingMethod::TcpSynSport => "tcp-syn-sport",
            PingMethod::Udp => "udp",
            PingMethod::UdpDport => "udp-dport",
            PingMethod::UdpSport => "udp-sport",
        }
    }

    /// Reads a method name, ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }

    /// ICMP echo or timestamp.
    pub fn is_icmp(self) -> bool {
        matches!(self, PingMethod::IcmpEcho | PingMethod::IcmpTime)
    }

    /// One of the TCP methods.
    pub fn is_tcp(self) -> bool {
        matches!(
            self,
            PingMethod::TcpSyn
                | PingMethod::TcpAck
                | PingMethod::TcpAckSport
                | PingMethod::TcpSynAck
                | PingMethod::TcpRst
                | PingMethod::TcpSynSport
        )
    }

    /// One of the UDP methods.
    pub fn is_udp(self) -> bool {
        matches!(
            self,
            PingMethod::Udp | PingMethod::UdpDport | PingMethod::UdpSport
        )
    }

    /// The methods that change the source port with every probe.
    pub fn varies_sport(self) -> bool {
        matches!(
            self,
            PingMethod::TcpAckSport | PingMethod::TcpSynSport | PingMethod::UdpSport
        )
    }

    /// The methods whose packets carry SYN (and so may carry an MSS option).
    pub fn is_syn(self) -> bool {
        matches!(
            self,
            PingMethod::TcpSyn | PingMethod::TcpSynAck | PingMethod::TcpSynSport
        )
    }

    /// For TCP methods: whether `-A` sets the sequence number (SYN and RST probes) rather than
    /// the acknowledgement number.
    pub fn tcp_number_is_seq(self) -> bool {
        matches!(
            self,
            PingMethod::TcpSyn | PingMethod::TcpSynSport | PingMethod::TcpRst
        )
    }

    /// The payload size used when neither `-b`, `-B` nor `-s` says otherwise.
    pub fn default_payload_size(self) -> u16 {
        match self {
            PingMethod::IcmpEcho => 56,
            PingMethod::IcmpTime => 44,
            m if m.is_udp() => 12,
            _ => 0,
        }
    }

    /// The destination port (or first ICMP sequence number) when `-d` is absent.
    pub fn default_dport(self) -> u16 {
        if self.is_icmp() { 0 } else { 33435 }
    }
}

/// The IPv4 timestamp option to put in probes (`-T`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PingTimestamp {
    /// `tsonly`: timestamps only.
    TsOnly,
    /// `tsandaddr`: each router records its address and a timestamp.
    TsAndAddr,
    /// `tsprespec=a,b,...`: only the listed (1 to 4) routers record a timestamp.
    Prespec(Vec<Ipv4Addr>),
}

impl PingTimestamp {
    /// Bytes the option adds to the IPv4 header.
    pub fn header_bytes(&self) -> u16 {
        match self {
            PingTimestamp::TsOnly => 40,
            PingTimestamp::TsAndAddr => 36,
            PingTimestamp::Prespec(a) => 8 * a.len() as u16 + 4,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("tsonly") {
            return Some(PingTimestamp::TsOnly);
        }
        if s.eq_ignore_ascii_case("tsandaddr") {
            return Some(PingTimestamp::TsAndAddr);
        }
        let (key, list) = s.split_once('=')?;
        if !key.eq_ignore_ascii_case("tsprespec") {
            return None;
        }
        let addrs: Vec<Ipv4Addr> = list
            .split(',')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        (1..=4)
            .contains(&addrs.len())
            .then_some(PingTimestamp::Prespec(addrs))
    }

    fn to_param(&self) -> String {
        match self {
            PingTimestamp::TsOnly => "tsonly".to_owned(),
            PingTimestamp::TsAndAddr => "tsandaddr".to_owned(),
            PingTimestamp::Prespec(a) => {
                let list: Vec<String> = a.iter().map(ToString::to_string).collect();
                format!("tsprespec={}", list.join(","))
            }
        }
    }
}

/// The `-O` options of ping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PingOptions {
    /// `dl`: take receive timestamps from the datalink.
    pub dl: bool,
    /// `dltx`: transmit through the datalink.
    pub dltx: bool,
    /// `mss=N`: put a TCP MSS option with this value in SYN probes.
    pub mss: Option<u16>,
    /// `nosrc`: when spoofing, do not embed the real source address in the probe.
    pub nosrc: bool,
    /// `raw`: send TCP probes over a raw IPv4 socket.
    pub raw: bool,
    /// `sockrx`: receive replies from the socket rather than the datalink.
    pub sockrx: bool,
    /// `spoof`: send from the `-S` address, which is not ours.
    pub spoof: bool,
    /// `tbt`: too-big trick, solicit fragmented replies (IPv6, needs `-M`).
    pub tbt: bool,
}

/// A validated `ping` command with every default filled in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PingSpec {
    /// The address to ping.
    pub dst: IpAddr,
    /// `-S`: the source address (ours, or a spoofed one with `-O spoof`).
    pub src: Option<IpAddr>,
    /// `-r`: the first-hop router to send through.
    pub rtr: Option<IpAddr>,
    /// `-P`: how probes are sent.
    pub method: PingMethod,
    /// `-c`: how many probes to send (1..=65535, default 4).
    pub attempts: u16,
    /// `-b` / `-s` / `-B`: bytes of payload after the ICMP/UDP/TCP header.
    pub payload_size: u16,
    /// `-B`: the exact payload bytes (at most 1000).
    pub payload: Option<Vec<u8>>,
    /// `-p`: a pattern repeated to fill the payload (1 to 16 bytes).
    pub pattern: Option<Vec<u8>>,
    /// `-C`: the ICMP checksum every probe must have (ICMP methods only).
    pub icmp_sum: Option<u16>,
    /// `-d`: destination port (UDP/TCP), or the first ICMP sequence number.
    pub dport: u16,
    /// `-F`: source port (UDP/TCP) or ICMP identifier. 0 lets the OS choose.
    pub sport: Setting<u16>,
    /// `-i`: the gap between probes (1 ms..=20 s, default 1 s).
    pub wait_probe: Duration,
    /// `-W`: how long to wait for replies after the last probe (1 ms..=255 s; default 1 s,
    /// or `-i` when that is longer).
    pub wait_timeout: Duration,
    /// `-m`: the probes' TTL / hop limit (default 64).
    pub ttl: u8,
    /// `-M`: pseudo path MTU: answer replies larger than this with a packet-too-big.
    /// 0 = off.
    pub pmtu: u16,
    /// `-o`: stop after this many replies; 0 = send all probes.
    pub stop_count: u16,
    /// `-O`: options.
    pub options: PingOptions,
    /// `-R`: IPv4 record-route option.
    pub record_route: bool,
    /// `-A`: the TCP acknowledgement number (ACK-type methods) or sequence number
    /// (SYN/RST-type methods); `None` lets the engine choose at random.
    pub tcp_number: Option<u32>,
    /// The size of each probe, IP header included: [`PingSpec::header_size`] + payload.
    pub probe_size: u16,
    /// `-T`: IPv4 timestamp option.
    pub timestamp: Option<PingTimestamp>,
    /// `-U`: user id recorded in the result.
    pub user_id: u32,
    /// `-y`: report in-progress results every this many packets (0..=20; 0 = never).
    pub stream: u8,
    /// `-z`: the IP TOS / traffic class byte.
    pub tos: u8,
}

const MAX_PAYLOAD: usize = 1000;
const MAX_PATTERN_DIGITS: usize = 32;

impl PingSpec {
    /// A ping of `dst` with every default, as `ping <dst>` would give.
    pub fn new(dst: IpAddr, ctx: &Context) -> Self {
        let method = PingMethod::IcmpEcho;
        let mut spec = PingSpec {
            dst,
            src: None,
            rtr: None,
            method,
            attempts: 4,
            payload_size: method.default_payload_size(),
            payload: None,
            pattern: None,
            icmp_sum: None,
            dport: method.default_dport(),
            sport: Setting::Default(default_sport(method, 4, ctx)),
            wait_probe: Duration::from_secs(1),
            wait_timeout: Duration::from_secs(1),
            ttl: 64,
            pmtu: 0,
            stop_count: 0,
            options: PingOptions::default(),
            record_route: false,
            tcp_number: None,
            probe_size: 0,
            timestamp: None,
            user_id: 0,
            stream: 0,
            tos: 0,
        };
        spec.probe_size = spec.header_size() + spec.payload_size;
        spec
    }

    /// Bytes of every header before the payload, per the probe-size model: IP header (20 +
    /// options, or 40), the embedded real source when spoofing, then the ICMP (8, or 20 for
    /// timestamp requests), TCP (20, +4 with MSS) or UDP (8) header.
    pub fn header_size(&self) -> u16 {
        let v4 = self.dst.is_ipv4();
        let mut size: u16 = if v4 {
            let options = if self.record_route {
                40
            } else {
                self.timestamp
                    .as_ref()
                    .map_or(0, PingTimestamp::header_bytes)
            };
            20 + options
        } else {
            40
        };
        if self.options.spoof
            && !self.options.nosrc
            && !matches!(self.method, PingMethod::TcpSynAck | PingMethod::TcpRst)
        {
            size += if v4 { 4 } else { 16 };
        }
        size += match self.method {
            PingMethod::IcmpEcho => 8,
            PingMethod::IcmpTime => 20,
            m if m.is_tcp() => 20 + if self.options.mss.is_some() { 4 } else { 0 },
            _ => 8,
        };
        size
    }

    /// Parses the options and target of a `ping` command (the text after `ping `).
    pub fn parse(rest: &str, ctx: &Context) -> Result<Self, CommandError> {
        parse(rest, ctx)
    }

    /// The canonical command line for this spec: options that differ from their defaults,
    /// in letter order, then the destination. It parses back to an equal spec.
    pub fn to_command_string(&self) -> String {
        let mut l = Line::new("ping");
        if let Some(a) = self.tcp_number {
            l.num('A', a);
        }
        match &self.payload {
            Some(p) => {
                l.str('B', &value::to_hex(p));
            }
            None => {
                l.num_unless('b', self.payload_size, self.method.default_payload_size());
            }
        }
        l.num_unless('c', self.attempts, 4);
        if let Some(c) = self.icmp_sum {
            l.num('C', c);
        }
        l.num_unless('d', self.dport, self.method.default_dport());
        if let Some(f) = self.sport.given() {
            l.num('F', f);
        }
        l.time_unless(
            'i',
            self.wait_probe,
            Duration::from_secs(1),
            TimeUnit::Seconds,
        );
        l.num_unless('m', self.ttl, 64);
        l.num_unless('M', self.pmtu, 0);
        l.num_unless('o', self.stop_count, 0);
        let o = &self.options;
        for (on, name) in [
            (o.dl, "dl"),
            (o.dltx, "dltx"),
            (o.nosrc, "nosrc"),
            (o.raw, "raw"),
            (o.sockrx, "sockrx"),
            (o.spoof, "spoof"),
            (o.tbt, "tbt"),
        ] {
            if on {
                l.str('O', name);
            }
        }
        if let Some(mss) = o.mss {
            l.str('O', &format!("mss={mss}"));
        }
        if let Some(p) = &self.pattern {
            l.str('p', &value::to_hex(p));
        }
        if self.method != PingMethod::IcmpEcho {
            l.str('P', self.method.as_str());
        }
        if let Some(r) = self.rtr {
            l.str('r', &r.to_string());
        }
        l.flag('R', self.record_route);
        if let Some(s) = self.src {
            l.str('S', &s.to_string());
        }
        if let Some(t) = &self.timestamp {
            l.str('T', &t.to_param());
        }
        l.num_unless('U', self.user_id, 0);
        l.time_unless(
            'W',
            self.wait_timeout,
            Duration::from_secs(1).max(self.wait_probe),
            TimeUnit::Seconds,
        );
        l.num_unless('y', self.stream, 0);
        l.num_unless('z', self.tos, 0);
        l.finish(&self.dst.to_string())
    }

    /// Every address this ping would send packets to.
    pub fn probed_addresses(&self) -> Vec<IpAddr> {
        vec![self.dst]
    }
}

/// The default source port / ICMP id: `pid16` for ICMP, else the context's default sport,
/// lowered for the `*-sport` methods so that `sport + attempts - 1` stays within 65535.
fn default_sport(method: PingMethod, attempts: u16, ctx: &Context) -> u16 {
    if method.is_icmp() {
        return ctx.pid16();
    }
    let sport = ctx.default_sport();
    if method.varies_sport() {
        let highest = 65536 - u32::from(attempts);
        return sport.min(highest as u16);
    }
    sport
}

/// The options as given, before defaults and cross-checks.
#[derive(Default)]
struct Given {
    tcp_number: Option<u32>,
    payload_size: Option<u16>,
    payload: Option<Vec<u8>>,
    attempts: Option<u16>,
    icmp_sum: Option<u16>,
    dport: Option<u16>,
    sport: Option<u16>,
    wait_probe: Option<Duration>,
    ttl: Option<u8>,
    pmtu: Option<u16>,
    stop_count: Option<u16>,
    options: PingOptions,
    pattern: Option<Vec<u8>>,
    method: Option<PingMethod>,
    rtr: Option<String>,
    record_route: bool,
    probe_size: Option<u16>,
    src: Option<String>,
    timestamp: Option<PingTimestamp>,
    user_id: Option<u32>,
    wait_timeout: Option<Duration>,
    stream: Option<u8>,
    tos: Option<u8>,
}

fn parse(rest: &str, ctx: &Context) -> Result<PingSpec, CommandError> {
    let lexed = lex::lex(&TABLE, rest)?;
    lexed.check_repeats(&TABLE)?;
    let mut g = Given::default();
    for opt in &lexed.opts {
        let v = opt.value.as_deref();
        let num = |what: &str, lo: i64, hi: i64| {
            value::ranged(opt.letter, v, what, lo, hi, value::int_strict)
        };
        match opt.letter {
            'A' => g.tcp_number = Some(num("tcp number", 0, u32::MAX.into())? as u32),
            'b' => g.payload_size = Some(num("payload size", 0, 65535)? as u16),
            'B' => {
                let bytes = v
                    .and_then(value::hex_even)
                    .filter(|b| !b.is_empty() && b.len() <= MAX_PAYLOAD)
                    .ok_or_else(|| {
                        CommandError::option(
                            'B',
                            format!(
                                "payload must be an even number of hex digits, 1 to {MAX_PAYLOAD} bytes"
                            ),
                        )
                    })?;
                g.payload = Some(bytes);
            }
            'c' => g.attempts = Some(num("attempts", 1, 65535)? as u16),
            'C' => {
                g.icmp_sum =
                    Some(
                        value::ranged('C', v, "icmp checksum", 0, 65535, value::int_strict)? as u16,
                    );
            }
            'd' => g.dport = Some(num("dport", 0, 65535)? as u16),
            'F' => g.sport = Some(num("sport", 0, 65535)? as u16),
            'i' => {
                g.wait_probe = Some(value::time_ranged(
                    'i',
                    v,
                    TimeUnit::Seconds,
                    "wait-probe",
                    Duration::from_millis(1),
                    Duration::from_secs(20),
                )?);
            }
            'm' => g.ttl = Some(num("ttl", 1, 255)? as u8),
            'M' => g.pmtu = Some(num("pmtu", 0, 65535)? as u16),
            'o' => g.stop_count = Some(num("reply count", 0, 65535)? as u16),
            'O' => ping_option(&mut g.options, v.unwrap_or_default())?,
            'p' => {
                let bytes = v
                    .filter(|s| !s.is_empty() && s.len() <= MAX_PATTERN_DIGITS)
                    .and_then(value::hex_any)
                    .ok_or_else(|| {
                        CommandError::option(
                            'p',
                            format!("pattern must be 1 to {MAX_PATTERN_DIGITS} hex digits"),
                        )
                    })?;
                g.pattern = Some(bytes);
            }
            'P' => {
                g.method = Some(v.and_then(PingMethod::from_name).ok_or_else(|| {
                    CommandError::option(
                        'P',
                        "method must be icmp-echo, icmp-time, tcp-syn, tcp-ack, tcp-ack-sport, \
                         tcp-synack, tcp-rst, tcp-syn-sport, udp, udp-dport or udp-sport",
                    )
                })?);
            }
            'r' => g.rtr = v.map(str::to_owned),
            'R' => g.record_route = true,
            's' => g.probe_size = Some(num("probe size", 0, 65535)? as u16),
            'S' => g.src = v.map(str::to_owned),
            'T' => {
                g.timestamp = Some(v.and_then(PingTimestamp::parse).ok_or_else(|| {
                    CommandError::option(
                        'T',
                        "timestamp option must be tsonly, tsandaddr or \
                         tsprespec=<1 to 4 IPv4 addresses, comma separated>",
                    )
                })?);
            }
            'U' => g.user_id = Some(num("userid", 0, u32::MAX.into())? as u32),
            'W' => {
                g.wait_timeout = Some(value::time_ranged(
                    'W',
                    v,
                    TimeUnit::Seconds,
                    "wait-timeout",
                    Duration::from_millis(1),
                    Duration::from_secs(255),
                )?);
            }
            'y' => g.stream = Some(num("stream", 0, 20)? as u8),
            'z' => {
                g.tos = Some(value::ranged('z', v, "tos", 0, 255, value::int_strict)? as u8);
            }
            _ => return Err(CommandError::syntax("ping", "unhandled option")),
        }
    }
    if lexed.target.is_empty() {
        return Err(CommandError::MissingTarget {
            what: "address to ping",
        });
    }
    let dst = value::ip(lexed.target).ok_or(CommandError::InvalidDestination)?;
    resolve(g, dst, ctx)
}

fn ping_option(o: &mut PingOptions, v: &str) -> Result<(), CommandError> {
    let lower = v.to_ascii_lowercase();
    match lower.as_str() {
        "dl" => o.dl = true,
        "dltx" => o.dltx = true,
        "nosrc" => o.nosrc = true,
        "raw" => o.raw = true,
        "sockrx" => o.sockrx = true,
        "spoof" => o.spoof = true,
        "tbt" => o.tbt = true,
        _ => {
            let Some(n) = lower.strip_prefix("mss=") else {
                return Err(CommandError::option(
                    'O',
                    format!(
                        "unknown option '{v}' (known: dl, dltx, mss=<n>, nosrc, raw, sockrx, \
                         spoof, tbt)"
                    ),
                ));
            };
            let mss = value::ranged('O', Some(n), "mss", 0, 65535, value::int_strict)?;
            o.mss = Some(mss as u16);
        }
    }
    Ok(())
}

fn resolve(g: Given, dst: IpAddr, ctx: &Context) -> Result<PingSpec, CommandError> {
    let v4 = dst.is_ipv4();
    let method = g.method.unwrap_or(PingMethod::IcmpEcho);
    let attempts = g.attempts.unwrap_or(4);
    let src = g
        .src
        .as_deref()
        .map(|s| value::ip_same_family('S', Some(s), "source address", dst))
        .transpose()?;
    let rtr = g
        .rtr
        .as_deref()
        .map(|s| value::ip_same_family('r', Some(s), "router address", dst))
        .transpose()?;

    if method == PingMethod::IcmpTime && !v4 {
        return Err(CommandError::option(
            'P',
            "icmp-time needs an IPv4 destination",
        ));
    }
    if g.options.mss.is_some() && !method.is_syn() {
        return Err(CommandError::option(
            'O',
            "mss= needs a SYN method (tcp-syn, tcp-synack, tcp-syn-sport)",
        ));
    }
    if g.options.raw && !(v4 && method.is_tcp()) {
        return Err(CommandError::option(
            'O',
            "raw needs an IPv4 destination and a TCP method",
        ));
    }
    if g.options.spoof && src.is_none() {
        return Err(CommandError::option(
            'O',
            "spoof needs the address to spoof in -S",
        ));
    }
    if g.record_route && !v4 {
        return Err(CommandError::option(
            'R',
            "record route needs an IPv4 destination",
        ));
    }
    if g.timestamp.is_some() {
        if !v4 {
            return Err(CommandError::option(
                'T',
                "timestamps need an IPv4 destination",
            ));
        }
        if g.record_route {
            return Err(CommandError::option('T', "cannot be used together with -R"));
        }
    }
    if g.pattern.is_some() && g.payload.is_some() {
        return Err(CommandError::option('p', "cannot be used together with -B"));
    }
    if let Some(p) = &g.payload
        && g.payload_size.is_some_and(|b| usize::from(b) != p.len())
    {
        return Err(CommandError::option(
            'b',
            format!(
                "payload size must equal the {} bytes given with -B",
                p.len()
            ),
        ));
    }

    let mut spec = PingSpec {
        dst,
        src,
        rtr,
        method,
        attempts,
        payload_size: 0,
        payload: g.payload,
        pattern: g.pattern,
        icmp_sum: g.icmp_sum,
        dport: g.dport.unwrap_or(method.default_dport()),
        sport: match g.sport {
            Some(s) => Setting::Given(s),
            None => Setting::Default(default_sport(method, attempts, ctx)),
        },
        wait_probe: g.wait_probe.unwrap_or(Duration::from_secs(1)),
        wait_timeout: Duration::ZERO,
        ttl: g.ttl.unwrap_or(64),
        pmtu: g.pmtu.unwrap_or(0),
        stop_count: g.stop_count.unwrap_or(0),
        options: g.options,
        record_route: g.record_route,
        tcp_number: g.tcp_number,
        probe_size: 0,
        timestamp: g.timestamp,
        user_id: g.user_id.unwrap_or(0),
        stream: g.stream.unwrap_or(0),
        tos: g.tos.unwrap_or(0),
    };
    spec.wait_timeout = g
        .wait_timeout
        .unwrap_or_else(|| Duration::from_secs(1).max(spec.wait_probe));

    // Sizes: -B fixes the payload; -s fixes the total; -b fixes the payload; else defaults.
    let header = spec.header_size();
    spec.payload_size = if let Some(p) = &spec.payload {
        p.len() as u16
    } else if let Some(b) = g.payload_size {
        b
    } else if let Some(s) = g.probe_size {
        s.checked_sub(header).ok_or_else(|| {
            CommandError::option('s', format!("probe size must be at least {header} bytes"))
        })?
    } else {
        method.default_payload_size()
    };
    let total = u32::from(header) + u32::from(spec.payload_size);
    if let Some(s) = g.probe_size
        && u32::from(s) != total
    {
        return Err(CommandError::option(
            's',
            format!(
                "probe size must be {header} header bytes plus the {} payload bytes",
                spec.payload_size
            ),
        ));
    }
    spec.probe_size = u16::try_from(total).map_err(|_| {
        CommandError::option(
            'b',
            format!("payload size must be at most {} bytes", 65535 - header),
        )
    })?;

    if spec.icmp_sum.is_some() {
        if !method.is_icmp() {
            return Err(CommandError::option('C', "needs an ICMP method"));
        }
        if spec.payload_size < 2 {
            return Err(CommandError::option(
                'C',
                "needs a payload of at least 2 bytes",
            ));
        }
    }
    if spec.options.tbt {
        if v4 {
            return Err(CommandError::option('O', "tbt needs an IPv6 destination"));
        }
        if spec.pmtu == 0 {
            return Err(CommandError::option('O', "tbt needs -M"));
        }
        if spec.pmtu >= spec.probe_size {
            return Err(CommandError::option(
                'M',
                format!(
                    "pmtu must be smaller than the probe size ({}) for tbt",
                    spec.probe_size
                ),
            ));
        }
    }
    if spec.pmtu != 0 && spec.options.sockrx {
        return Err(CommandError::option('M', "cannot be used with -O sockrx"));
    }
    let last = |first: u16| u32::from(first) + u32::from(attempts) - 1;
    if method.varies_sport() && last(spec.sport.get()) > 65535 {
        return Err(CommandError::option(
            'F',
            format!(
                "sport + attempts - 1 must not exceed 65535 for {}",
                method.as_str()
            ),
        ));
    }
    if method == PingMethod::UdpDport && last(spec.dport) > 65535 {
        return Err(CommandError::option(
            'd',
            "dport + attempts - 1 must not exceed 65535 for udp-dport",
        ));
    }
    Ok(spec)
}
