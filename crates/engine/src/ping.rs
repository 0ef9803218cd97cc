//! The ping state machine.
//!
//! Probes go out `wait_probe` apart (measured from the previous probe's
//! actual transmission, so the shared pacer can only delay, never bunch
//! them). As in scamper, the measurement ends `wait_timeout` after the last
//! probe (late replies and duplicates until then are recorded), or as soon
//! as `-o` probes have a reply (of any kind), on a send error, or when halted.
//!
//! Matching (see also the crate documentation):
//! * ICMP methods: flow key (src, dst, identifier); the probe is
//!   `sequence − first sequence`. Echo/timestamp replies must come from the
//!   destination; quotes must quote our request type, source and destination.
//! * `udp-dport` / `*-sport` methods: the varying port gives the probe.
//! * fixed-port UDP/TCP methods: in an IPv4 quote the probe's IP-ID gives the
//!   probe; otherwise (IPv6, or a direct UDP/TCP reply) the most recent probe,
//!   as scamper does. Direct TCP replies must acknowledge our sequence number
//!   (SYN probes) or carry our acknowledgement number (ACK probes).

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use vantage_command::{PingMethod as CmdMethod, PingSpec, PingTimestamp};
use vantage_model::{
    Addr, IcmpTimestamps, Ping, PingFlags, PingIpTimestamps, PingMethod, PingReply, PingReplyFlags,
    PingStop, Timestamp,
};

use crate::Measurement;
use crate::demux::{FlowKey, FlowTable, IdPool};
use crate::error::{SendError, StartError};
use crate::packet::{L4Desc, ProbeDesc, QuotedL4, Rx, RxKind, icmp, proto, tcpflags};
use crate::rng::Rng;
use crate::task::{Ctx, FlowClaims, Machine, SendMeta, micros, tx_wall, wall_micros};

/// Replies recorded per probe at most; further duplicates are ignored so a
/// flood cannot grow a task without bound.
pub(crate) const MAX_REPLIES_PER_PROBE: u16 = 64;

#[derive(Clone, Copy, Debug)]
struct ProbeState {
    /// When the probe left, in microseconds after the task started.
    tx_us: u64,
    /// The wall-clock transmit time the I/O shell reported, in
    /// microseconds since the epoch (0: not reported).
    tx_wall_us: u64,
    ipid: u16,
    /// The transport checksum the probe carried (checked against quotes).
    csum: u16,
    replies: u16,
    answered: bool,
}

/// A reply, compactly (converted to the model's [`PingReply`] at the end).
#[derive(Clone, Debug)]
struct ReplyRec {
    probe: u16,
    from: IpAddr,
    rtt_us: u32,
    ttl: Option<u8>,
    tos: u8,
    size: u16,
    ipid: Option<u32>,
    proto: u8,
    icmp: Option<(u8, u8)>,
    tcp_flags: u8,
    nhmtu: u16,
    /// Rarely present parts, boxed to keep the common reply small.
    extra: Option<Box<ReplyExtra>>,
}

/// ICMP timestamps and IPv4 record-route/timestamp options of a reply.
#[derive(Clone, Debug, Default)]
struct ReplyExtra {
    icmp_ts: Option<IcmpTimestamps>,
    rr: Option<Vec<Addr>>,
    ip_ts: Option<PingIpTimestamps>,
}

/// One running ping.
pub(crate) struct PingTask {
    spec: PingSpec,
    src: IpAddr,
    start: Instant,
    start_wall: SystemTime,
    /// ICMP identifier, or the (first) source port.
    sport: u16,
    tcp_seq: u32,
    tcp_ack: u32,
    probes: Vec<ProbeState>,
    replies: Vec<ReplyRec>,
    next_send: Option<Instant>,
    end_at: Option<Instant>,
    answered: u16,
    since_progress: u16,
    claims: FlowClaims,
    stop: Option<PingStop>,
    stop_data: u8,
    errmsg: Option<String>,
}

fn unsupported(spec: &PingSpec) -> Option<&'static str> {
    if spec.options.spoof {
        return Some("ping -O spoof (source spoofing)");
    }
    if spec.options.tbt {
        return Some("ping -O tbt (too-big trick)");
    }
    if spec.pmtu != 0 {
        return Some("ping -M (pseudo path MTU)");
    }
    None
}

impl PingTask {
    /// Prepares a ping; the first probe is due at `now`.
    pub fn new(
        spec: PingSpec,
        src: IpAddr,
        now: Instant,
        wall: SystemTime,
        pool: &mut IdPool,
        flows: &FlowTable,
        rng: &mut Rng,
    ) -> Result<Self, StartError> {
        if let Some(what) = unsupported(&spec) {
            return Err(StartError::Unsupported(what));
        }
        if spec.method == CmdMethod::IcmpTime && spec.dst.is_ipv6() {
            return Err(StartError::Unsupported(
                "ping -P icmp-time over IPv6 (ICMPv6 has no timestamp request)",
            ));
        }
        let dst = spec.dst;
        let method = spec.method;
        let sport = match spec.sport.given() {
            Some(p) if p != 0 => p,
            _ if method.is_icmp() => pool.icmp_id(flows, src, dst),
            _ => {
                let width = if method.varies_sport() {
                    spec.attempts
                } else {
                    1
                };
                let dport = spec.dport;
                if method.is_tcp() {
                    pool.ports(width, |p| FlowKey::tcp(src, dst, p, dport), flows)
                } else {
                    pool.ports(width, |p| FlowKey::udp(src, dst, p, dport), flows)
                }
            }
        };
        let (tcp_seq, tcp_ack) = if method.is_tcp() {
            let number = spec.tcp_number.unwrap_or_else(|| rng.next_u32());
            if method.tcp_number_is_seq() {
                (number, 0)
            } else {
                (rng.next_u32(), number)
            }
        } else {
            (0, 0)
        };
        // the options are rebuilt for every probe; check once that they can be
        crate::convert::ping_ip_options(&spec).map_err(|e| StartError::Probe(e.to_string()))?;
        Ok(Self {
            spec,
            src,
            start: now,
            start_wall: wall,
            sport,
            tcp_seq,
            tcp_ack,
            probes: Vec::new(),
            replies: Vec::new(),
            next_send: Some(now),
            end_at: None,
            answered: 0,
            since_progress: 0,
            claims: FlowClaims::default(),
            stop: None,
            stop_data: 0,
            errmsg: None,
        })
    }

    fn wall_at(&self, t: Instant) -> SystemTime {
        self.start_wall + t.saturating_duration_since(self.start)
    }

    /// The probe's wall-clock transmit time: as reported, else estimated
    /// from the monotonic clock.
    fn tx_wall(&self, p: &ProbeState) -> SystemTime {
        tx_wall(self.start_wall, p.tx_us, p.tx_wall_us)
    }

    fn method(&self) -> CmdMethod {
        self.spec.method
    }

    /// Source port of probe `i` (or the ICMP identifier).
    fn sport_of(&self, i: u16) -> u16 {
        if self.method().varies_sport() {
            self.sport.wrapping_add(i)
        } else {
            self.sport
        }
    }

    /// Destination port of probe `i` (or ICMP sequence number).
    fn dport_of(&self, i: u16) -> u16 {
        if self.method() == CmdMethod::UdpDport || self.method().is_icmp() {
            self.spec.dport.wrapping_add(i)
        } else {
            self.spec.dport
        }
    }

    fn flow_of(&self, i: u16) -> FlowKey {
        let (src, dst) = (self.src, self.spec.dst);
        let m = self.method();
        if m.is_icmp() {
            FlowKey::icmp(src, dst, self.sport)
        } else if m.is_tcp() {
            FlowKey::tcp(src, dst, self.sport_of(i), self.dport_of(i))
        } else {
            FlowKey::udp(src, dst, self.sport_of(i), self.dport_of(i))
        }
    }

    fn stop_now(&mut self, reason: PingStop) {
        if self.stop.is_none() {
            self.stop = Some(reason);
        }
        self.next_send = None;
        self.end_at = None;
    }

    fn latest(&self) -> Option<u16> {
        u16::try_from(self.probes.len().checked_sub(1)?).ok()
    }

    fn index(&self, i: u16) -> Option<u16> {
        (usize::from(i) < self.probes.len()).then_some(i)
    }

    /// For fixed-port methods: in an IPv4 quote, the probe with the quoted
    /// IP-ID (no such probe: no match); otherwise the latest probe.
    fn by_ipid(&self, ipid: Option<u16>) -> Option<u16> {
        match (ipid, self.spec.dst.is_ipv4()) {
            (Some(id), true) => {
                let i = self.probes.iter().rposition(|p| p.ipid == id)?;
                u16::try_from(i).ok()
            }
            _ => self.latest(),
        }
    }

    /// Which probe a UDP/TCP exchange with ports (ours, theirs) belongs to.
    fn port_probe(&self, ours: u16, theirs: u16, ipid: Option<u16>) -> Option<u16> {
        let m = self.method();
        if m.varies_sport() {
            if theirs != self.spec.dport {
                return None;
            }
            self.index(ours.wrapping_sub(self.sport))
        } else if m == CmdMethod::UdpDport {
            if ours != self.sport {
                return None;
            }
            self.index(theirs.wrapping_sub(self.spec.dport))
        } else {
            if ours != self.sport || theirs != self.spec.dport {
                return None;
            }
            self.by_ipid(ipid)
        }
    }

    /// Whether a direct TCP reply carries the numbers our probe asks for.
    fn tcp_numbers_ok(&self, seq: u32, ack: u32, flags: u8) -> bool {
        match self.method() {
            CmdMethod::TcpSyn | CmdMethod::TcpSynSport => {
                flags & tcpflags::ACK != 0 && ack == self.tcp_seq.wrapping_add(1)
            }
            CmdMethod::TcpAck | CmdMethod::TcpAckSport | CmdMethod::TcpSynAck => {
                seq == self.tcp_ack || (flags & tcpflags::ACK != 0 && ack == self.tcp_seq)
            }
            _ => true,
        }
    }

    /// The probe `rx` answers, after checking every field it carries.
    fn match_probe(&self, rx: &Rx<'_>) -> Option<u16> {
        let dst = self.spec.dst;
        if rx.dst != self.src {
            return None;
        }
        let m = self.method();
        match &rx.kind {
            RxKind::EchoReply { id, seq } => {
                (m == CmdMethod::IcmpEcho && rx.src == dst && *id == self.sport)
                    .then(|| self.index(seq.wrapping_sub(self.spec.dport)))?
            }
            RxKind::TimestampReply { id, seq, .. } => {
                (m == CmdMethod::IcmpTime && rx.src == dst && *id == self.sport)
                    .then(|| self.index(seq.wrapping_sub(self.spec.dport)))?
            }
            RxKind::Udp { sport, dport } => {
                (m.is_udp() && rx.src == dst).then(|| self.port_probe(*dport, *sport, None))?
            }
            RxKind::Tcp {
                sport,
                dport,
                seq,
                ack,
                flags,
            } => (m.is_tcp() && rx.src == dst && self.tcp_numbers_ok(*seq, *ack, *flags))
                .then(|| self.port_probe(*dport, *sport, None))?,
            RxKind::Error { quote: q, .. } => {
                if q.src != self.src || q.dst != dst {
                    return None;
                }
                match q.l4 {
                    QuotedL4::Icmp {
                        icmp_type,
                        id,
                        seq,
                        csum,
                        ..
                    } if m.is_icmp() => {
                        let (want_proto, want_type) = match (dst.is_ipv6(), m) {
                            (true, _) => (proto::ICMPV6, icmp::V6_ECHO_REQUEST),
                            (false, CmdMethod::IcmpTime) => (proto::ICMP, icmp::V4_TIMESTAMP),
                            (false, _) => (proto::ICMP, icmp::V4_ECHO_REQUEST),
                        };
                        if q.proto != want_proto || icmp_type != want_type || id != self.sport {
                            return None;
                        }
                        self.index(seq.wrapping_sub(self.spec.dport))
                            .filter(|&i| self.probes[usize::from(i)].csum == csum)
                    }
                    QuotedL4::Udp { sport, dport, csum } if m.is_udp() && q.proto == proto::UDP => {
                        self.port_probe(sport, dport, Some(q.ipid))
                            .filter(|&i| self.probes[usize::from(i)].csum == csum)
                    }
                    QuotedL4::Tcp { sport, dport, seq } if m.is_tcp() && q.proto == proto::TCP => {
                        if seq.is_some_and(|s| s != self.tcp_seq) {
                            return None;
                        }
                        self.port_probe(sport, dport, Some(q.ipid))
                    }
                    _ => None,
                }
            }
        }
    }

    fn probe_desc<'a>(
        &self,
        i: u16,
        ipid: u16,
        now: Instant,
        payload: &'a [u8],
        ip_options: &'a [u8],
    ) -> ProbeDesc<'a> {
        let spec = &self.spec;
        let l4 = match spec.method {
            CmdMethod::IcmpEcho => L4Desc::Echo {
                id: self.sport,
                seq: self.dport_of(i),
                payload,
                csum: spec.icmp_sum,
            },
            CmdMethod::IcmpTime => L4Desc::Timestamp {
                id: self.sport,
                seq: self.dport_of(i),
                originate: ms_since_midnight(self.wall_at(now)),
                payload,
                csum: spec.icmp_sum,
            },
            m if m.is_udp() => L4Desc::Udp {
                sport: self.sport_of(i),
                dport: self.dport_of(i),
                payload,
                csum: None,
            },
            m => {
                let flags = match m {
                    CmdMethod::TcpSyn | CmdMethod::TcpSynSport => tcpflags::SYN,
                    CmdMethod::TcpSynAck => tcpflags::SYN | tcpflags::ACK,
                    CmdMethod::TcpRst => tcpflags::RST,
                    _ => tcpflags::ACK,
                };
                L4Desc::Tcp {
                    sport: self.sport_of(i),
                    dport: self.dport_of(i),
                    seq: self.tcp_seq,
                    ack: self.tcp_ack,
                    flags,
                    window: 65535,
                    mss: spec.options.mss,
                    payload,
                }
            }
        };
        ProbeDesc {
            src: self.src,
            dst: spec.dst,
            ttl: spec.ttl,
            tos: spec.tos,
            ipid,
            flow_label: 0,
            ip_options,
            l4,
        }
    }

    fn reply_record(probe: u16, rtt_us: u32, rx: &Rx<'_>) -> ReplyRec {
        let (icmp, nhmtu, icmp_ts) = match rx.kind {
            RxKind::Error {
                icmp_type,
                code,
                nhmtu,
                ..
            } => {
                let ptb = if rx.src.is_ipv6() {
                    icmp_type == icmp::V6_PACKET_TOO_BIG
                } else {
                    icmp_type == icmp::V4_UNREACH && code == icmp::V4_FRAG_NEEDED
                };
                (Some((icmp_type, code)), if ptb { nhmtu } else { 0 }, None)
            }
            RxKind::TimestampReply {
                originate,
                receive,
                transmit,
                ..
            } => (
                rx.icmp_type_code(),
                0,
                Some(IcmpTimestamps {
                    originate,
                    receive,
                    transmit,
                }),
            ),
            _ => (rx.icmp_type_code(), 0, None),
        };
        let tcp_flags = if let RxKind::Tcp { flags, .. } = rx.kind {
            flags
        } else {
            0
        };
        let crate::convert::OptionRecords { rr, ts } =
            crate::convert::ip_option_records(rx.ip_options);
        let ip_ts = ts.map(|entries| PingIpTimestamps {
            timestamps: entries.iter().map(|e| e.1).collect(),
            addrs: entries.iter().filter_map(|e| e.0.map(Addr::from)).collect(),
        });
        let rr = rr.map(|a| a.into_iter().map(Addr::from).collect());
        let extra = (icmp_ts.is_some() || rr.is_some() || ip_ts.is_some())
            .then(|| Box::new(ReplyExtra { icmp_ts, rr, ip_ts }));
        ReplyRec {
            probe,
            from: rx.src,
            rtt_us,
            ttl: rx.ttl,
            tos: rx.tos,
            size: rx.size,
            ipid: rx.ipid,
            proto: rx.proto(),
            icmp,
            tcp_flags,
            nhmtu,
            extra,
        }
    }

    fn to_model_reply(&self, r: &ReplyRec) -> PingReply {
        let p = &self.probes[usize::from(r.probe)];
        let tx = self.tx_wall(p);
        let rtt = Duration::from_micros(u64::from(r.rtt_us));
        let mut out = PingReply::new(r.probe, Addr::from(r.from), rtt);
        let mut flags = PingReplyFlags::empty();
        if let Some(ttl) = r.ttl {
            out.reply_ttl = ttl;
            flags.set(PingReplyFlags::REPLY_TTL, true);
        }
        out.reply_tos = r.tos;
        flags.set(PingReplyFlags::REPLY_TOS, true);
        if let Some(id) = r.ipid {
            out.reply_ipid = id;
            flags.set(PingReplyFlags::REPLY_IPID, true);
        }
        if self.spec.dst.is_ipv4() {
            out.probe_ipid = p.ipid;
            flags.set(PingReplyFlags::PROBE_IPID, true);
        }
        out.flags = flags;
        out.reply_size = r.size;
        out.reply_proto = r.proto;
        if let Some((t, c)) = r.icmp {
            out.icmp_type = t;
            out.icmp_code = c;
        }
        out.tcp_flags = r.tcp_flags;
        out.nhmtu = r.nhmtu;
        if let Some(x) = r.extra.as_deref() {
            out.icmp_ts = x.icmp_ts;
            out.rr.clone_from(&x.rr);
            out.ip_ts.clone_from(&x.ip_ts);
        }
        out.tx = Some(Timestamp::from_system_time(tx));
        if self.method().varies_sport() {
            out.probe_sport = self.sport_of(r.probe);
        }
        out
    }
}

/// Milliseconds since midnight UTC (the ICMP timestamp format).
fn ms_since_midnight(t: SystemTime) -> u32 {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    ((d.as_secs() % 86_400) * 1000 + u64::from(d.subsec_millis())) as u32
}

/// Writes the probe payload into `out`: `-B` bytes, or `-p` repeated, or
/// zeros, of the spec's payload size.
fn fill_payload(spec: &PingSpec, out: &mut Vec<u8>) {
    let len = usize::from(spec.payload_size);
    out.clear();
    if let Some(p) = &spec.payload {
        out.extend_from_slice(p);
    } else if let Some(pat) = spec.pattern.as_ref().filter(|p| !p.is_empty()) {
        out.extend(pat.iter().copied().cycle().take(len));
    }
    out.resize(len, 0);
}

fn model_method(m: CmdMethod) -> PingMethod {
    match m {
        CmdMethod::IcmpEcho => PingMethod::IcmpEcho,
        CmdMethod::IcmpTime => PingMethod::IcmpTime,
        CmdMethod::TcpSyn => PingMethod::TcpSyn,
        CmdMethod::TcpAck => PingMethod::TcpAck,
        CmdMethod::TcpAckSport => PingMethod::TcpAckSport,
        CmdMethod::TcpSynAck => PingMethod::TcpSynack,
        CmdMethod::TcpRst => PingMethod::TcpRst,
        CmdMethod::TcpSynSport => PingMethod::TcpSynSport,
        CmdMethod::Udp => PingMethod::Udp,
        CmdMethod::UdpDport => PingMethod::UdpDport,
        CmdMethod::UdpSport => PingMethod::UdpSport,
    }
}

impl Machine for PingTask {
    fn poll_send(
        &mut self,
        now: Instant,
        ctx: &mut Ctx<'_>,
        buf: &mut Vec<u8>,
    ) -> Option<SendMeta> {
        if !self.wants_send(now) {
            return None;
        }
        let i = u16::try_from(self.probes.len()).ok()?;
        let key = self.flow_of(i);
        if !ctx.claim(key, &mut self.claims) {
            return None;
        }
        let ipid = ctx.next_ipid();
        fill_payload(&self.spec, ctx.scratch);
        let opts = crate::convert::ping_ip_options(&self.spec)
            .unwrap_or_else(|_| vantage_wire::OptionBytes::new());
        let desc = self.probe_desc(i, ipid, now, ctx.scratch, opts.as_bytes());
        let built = crate::convert::build(&desc, buf);
        if let Err(e) = built {
            self.errmsg = Some(format!("could not build probe {i}: {e}"));
            self.stop_now(PingStop::Error);
            return None;
        }
        if self.probes.capacity() == 0 {
            self.probes
                .reserve_exact(usize::from(self.spec.attempts).min(64));
        }
        self.probes.push(ProbeState {
            tx_us: micros(now.saturating_duration_since(self.start)),
            tx_wall_us: 0,
            ipid,
            csum: crate::convert::transport_checksum(buf),
            replies: 0,
            answered: false,
        });
        if self.probes.len() < usize::from(self.spec.attempts) {
            self.next_send = Some(now + self.spec.wait_probe);
        } else {
            self.next_send = None;
            self.end_at = Some(now + self.spec.wait_timeout);
        }
        Some(SendMeta {
            probe: u32::from(i),
            dst: self.spec.dst,
        })
    }

    fn wants_send(&self, now: Instant) -> bool {
        self.stop.is_none() && !self.claims.is_blocked() && self.next_send.is_some_and(|t| t <= now)
    }

    fn next_deadline(&self, now: Instant) -> Option<Instant> {
        if self.stop.is_some() {
            return None;
        }
        // a due probe waits in the engine's ready queue, not on a timer
        let send = if self.claims.is_blocked() {
            None
        } else {
            self.next_send.filter(|&t| t > now)
        };
        match (send, self.end_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.end_at.is_some_and(|t| t <= now) {
            self.stop_now(PingStop::Done);
        }
    }

    fn handle_reply(&mut self, _now: Instant, rx: &Rx<'_>) -> bool {
        if self.stop.is_some() {
            return false;
        }
        let Some(i) = self.match_probe(rx) else {
            return false;
        };
        let sent = self.tx_wall(&self.probes[usize::from(i)]);
        let rtt = rx.time.duration_since(sent).unwrap_or(Duration::ZERO);
        let rec = Self::reply_record(i, u32::try_from(micros(rtt)).unwrap_or(u32::MAX), rx);
        if self.replies.capacity() == 0 {
            self.replies
                .reserve_exact(usize::from(self.spec.attempts).min(64));
        }
        let p = &mut self.probes[usize::from(i)];
        if p.replies >= MAX_REPLIES_PER_PROBE {
            return false;
        }
        p.replies += 1;
        if !p.answered {
            p.answered = true;
            self.answered += 1;
        }
        self.replies.push(rec);
        self.since_progress = self.since_progress.saturating_add(1);
        if self.spec.stop_count != 0 && self.answered >= self.spec.stop_count {
            self.stop_now(PingStop::Done);
        }
        true
    }

    fn on_sent(&mut self, probe: u32, result: Result<SystemTime, SendError>) {
        let Some(p) = usize::try_from(probe)
            .ok()
            .and_then(|i| self.probes.get_mut(i))
        else {
            return;
        };
        match result {
            Ok(t) => {
                p.tx_wall_us = wall_micros(t);
            }
            Err(e) => {
                // the probe never left: forget it
                if usize::try_from(probe).is_ok_and(|i| i + 1 == self.probes.len()) {
                    self.probes.pop();
                }
                self.stop_data = u8::try_from(e.errno).unwrap_or(u8::MAX);
                self.errmsg = Some(e.message);
                self.stop_now(PingStop::Error);
            }
        }
    }

    fn halt(&mut self) {
        self.stop_now(PingStop::Halted);
    }

    fn is_done(&self) -> bool {
        self.stop.is_some()
    }

    fn claims(&self) -> &FlowClaims {
        &self.claims
    }

    fn claims_mut(&mut self) -> &mut FlowClaims {
        &mut self.claims
    }

    fn progress_due(&mut self) -> bool {
        let every = u16::from(self.spec.stream);
        if every == 0 || self.stop.is_some() || self.since_progress < every {
            return false;
        }
        self.since_progress = 0;
        true
    }

    fn result(&self) -> Measurement {
        let spec = &self.spec;
        let mut p = Ping::new(
            Addr::from(spec.dst),
            Timestamp::from_system_time(self.start_wall),
        );
        p.user_id = spec.user_id;
        p.src = Some(Addr::from(self.src));
        p.rtr = spec.rtr.map(Addr::from);
        p.stop_reason = self.stop.unwrap_or(PingStop::InProgress);
        p.stop_data = self.stop_data;
        p.method = model_method(spec.method);
        let mut flags = PingFlags::empty();
        flags.set(PingFlags::V4RR, spec.record_route);
        flags.set(
            PingFlags::TSONLY,
            spec.timestamp == Some(PingTimestamp::TsOnly),
        );
        flags.set(
            PingFlags::TSANDADDR,
            spec.timestamp == Some(PingTimestamp::TsAndAddr),
        );
        flags.set(PingFlags::PAYLOAD, spec.payload.is_some());
        flags.set(PingFlags::ICMPSUM, spec.icmp_sum.is_some());
        flags.set(PingFlags::DL, spec.options.dl);
        flags.set(PingFlags::DLTX, spec.options.dltx);
        flags.set(PingFlags::SOCKRX, spec.options.sockrx);
        flags.set(PingFlags::RAW, spec.options.raw);
        flags.set(PingFlags::NOSRC, spec.options.nosrc);
        p.flags = flags;
        p.data = spec
            .payload
            .clone()
            .or_else(|| spec.pattern.clone())
            .unwrap_or_default();
        p.attempts = spec.attempts;
        p.probe_size = spec.probe_size;
        p.wait_probe = spec.wait_probe;
        p.wait_timeout = spec.wait_timeout;
        p.ttl = spec.ttl;
        p.tos = spec.tos;
        p.stop_count = spec.stop_count;
        p.probes_sent = u16::try_from(self.probes.len()).unwrap_or(u16::MAX);
        p.sport = self.sport;
        p.dport = spec.dport;
        p.icmp_csum = spec.icmp_sum.unwrap_or(0);
        p.pmtu = spec.pmtu;
        p.tcp_seq = self.tcp_seq;
        p.tcp_ack = self.tcp_ack;
        if let Some(PingTimestamp::Prespec(a)) = &spec.timestamp {
            p.tsps = a.iter().map(|x| Addr::from(*x)).collect();
        }
        p.errmsg.clone_from(&self.errmsg);
        let mut order: Vec<&ReplyRec> = self.replies.iter().collect();
        order.sort_by_key(|r| r.probe); // stable: arrival order within a probe
        p.replies = order.into_iter().map(|r| self.to_model_reply(r)).collect();
        Measurement::Ping(p)
    }
}

#[cfg(test)]
mod size_tests {
    /// Per-probe and per-reply state is what 10,000 concurrent pings cost:
    /// keep it small.
    #[test]
    fn per_task_state_stays_small() {
        assert!(size_of::<super::ProbeState>() <= 24);
        assert!(size_of::<super::ReplyRec>() <= 56);
        assert!(size_of::<super::PingTask>() <= 512);
    }
}
