//! The traceroute state machine.
//!
//! Hops are probed from the first TTL upwards, at most `-N` (squeries) hops
//! with a probe outstanding at once (1 by default: strictly hop by hop).
//! Each hop gets up to `-q` attempts, each waiting `-w` for a reply; without
//! `-Q` the first reply completes the hop. `-W` spaces any two probes of the
//! trace, `-H` any two probes of the same hop.
//!
//! Stop rules, checked on every reply (with `-Q`: when the hop completes),
//! in this order, as scamper does:
//! 1. an ICMP port unreachable for a UDP or TCP trace: completed;
//! 2. any other ICMP destination unreachable: unreach (stop data = code);
//! 3. an echo reply for an ICMP trace: completed;
//! 4. an ICMPv6 packet too big: icmp (stop data = type);
//! 5. a loop (the address answered at a non-adjacent TTL before; `-l`
//!    such loops stop the trace, 0 disables the check): loop;
//! 6. time exceeded from the destination itself (unless `-T`): completed;
//! 7. any TCP reply for a TCP trace (and any UDP reply for a UDP trace):
//!    completed.
//!
//! When a hop completes without a stop: reaching the hop limit (`-m`, else
//! 255) stops with hoplimit; `-g` consecutive hops without any reply stop
//! with gaplimit, after last-ditch probes (TTL 255) with `-G 2`.
//!
//! Probe discriminators inside a task's flow (see the crate documentation):
//! classic UDP varies the destination port, UDP-paris the UDP checksum (or
//! with `-O const-payload` the IPv4 IP-ID / IPv6 flow label), ICMP methods
//! the echo sequence number (ICMP-paris keeps the checksum constant), TCP
//! methods the TCP sequence number (TCP-ack also the acknowledgement).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use vantage_command::{GapAction as CmdGap, TraceMethod as CmdMethod, TraceSpec};
use vantage_model::{
    Addr, GapAction, IcmpExt, Timestamp, Trace, TraceFlags, TraceHop, TraceMethod, TraceReplyFlags,
    TraceStop,
};

use crate::Measurement;
use crate::demux::{FlowKey, FlowTable, IdPool};
use crate::error::{SendError, StartError};
use crate::packet::{L4Desc, ProbeDesc, QuotedL4, Rx, RxKind, icmp, proto, tcpflags};
use crate::ping::MAX_REPLIES_PER_PROBE;
use crate::rng::Rng;
use crate::task::{Ctx, FlowClaims, Machine, SendMeta, micros, tx_wall, wall_micros};

/// At most this many probes per trace (the discriminators are 16-bit).
const MAX_PROBES: usize = 65_000;

#[derive(Clone, Copy, Debug)]
struct ProbeState {
    ttl: u8,
    attempt: u8,
    /// The transport checksum the probe carried (checked against quotes).
    csum: u16,
    /// When the probe left, in microseconds after the task started.
    tx_us: u64,
    /// The wall-clock transmit time the I/O shell reported, in
    /// microseconds since the epoch (0: not reported).
    tx_wall_us: u64,
    lastditch: bool,
    replies: u16,
}

/// When something may happen: now, or at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum When {
    Now,
    At(Instant),
}

impl When {
    fn due(self, now: Instant) -> bool {
        match self {
            Self::Now => true,
            Self::At(t) => t <= now,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct HopState {
    ttl: u8,
    sent: u8,
    outstanding: Option<u32>,
    replied: bool,
    last_tx: Option<Instant>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReplyKind {
    Icmp {
        icmp_type: u8,
        code: u8,
        quote: Option<(u8, u16, u8)>,
        nhmtu: u16,
    },
    Tcp {
        flags: u8,
    },
    Udp,
}

#[derive(Clone, Debug)]
struct ReplyRec {
    probe: u32,
    from: IpAddr,
    rx: SystemTime,
    ttl: Option<u8>,
    tos: u8,
    size: u16,
    ipid: u16,
    kind: ReplyKind,
    ext: Vec<IcmpExt>,
}

impl ReplyRec {
    fn is_icmp(&self, v6: bool, t4: u8, t6: u8) -> bool {
        matches!(self.kind, ReplyKind::Icmp { icmp_type, .. } if icmp_type == if v6 { t6 } else { t4 })
    }
}

/// One running traceroute.
pub(crate) struct TraceTask {
    spec: TraceSpec,
    src: IpAddr,
    start: Instant,
    start_wall: SystemTime,
    sport: u16,
    dport: u16,
    tcp_base: u32,
    payload: Vec<u8>,
    max_ttl: u8,
    probes: Vec<ProbeState>,
    replies: Vec<ReplyRec>,
    lastditch: Option<Vec<ReplyRec>>,
    /// Last-ditch phase: attempts sent and the outstanding one.
    ld_sent: u8,
    ld_outstanding: Option<u32>,
    window: VecDeque<HopState>,
    next_ttl: u16,
    replied_ttls: [u64; 4],
    loopc: u8,
    since_progress: u16,
    last_tx: Option<Instant>,
    hop_count: u8,
    claims: FlowClaims,
    stop: Option<(TraceStop, u8)>,
    stop_hop: u8,
    errmsg: Option<String>,
}

fn unsupported(spec: &TraceSpec) -> Option<&'static str> {
    if spec.pmtud {
        return Some("trace -M (path MTU discovery)");
    }
    if spec.confidence.is_some() {
        return Some("trace -c (confidence probing)");
    }
    if spec.doubletree() {
        return Some("trace -z/-Z (doubletree)");
    }
    if spec.options.back {
        return Some("trace -O back");
    }
    if spec.offset != 0 {
        return Some("trace -o (IPv6 fragment offset)");
    }
    None
}

impl TraceTask {
    /// Prepares a traceroute; the first probe is due at `now`.
    pub fn new(
        spec: TraceSpec,
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
        let dst = spec.dst;
        let method = spec.method;
        let dport = spec.dport.get();
        let sport = match spec.sport.given() {
            Some(p) if p != 0 => p,
            _ if method.is_icmp() => pool.icmp_id(flows, src, dst),
            _ if method.is_tcp() => pool.ports(1, |p| FlowKey::tcp(src, dst, p, dport), flows),
            _ => pool.ports(1, |p| FlowKey::udp(src, dst, p, dport), flows),
        };
        let ip_hdr: usize = if dst.is_ipv4() { 20 } else { 40 };
        let l4_hdr: usize = if method.is_tcp() { 20 } else { 8 };
        let payload = if spec.payload.is_empty() {
            vec![0; usize::from(spec.probe_size).saturating_sub(ip_hdr + l4_hdr)]
        } else {
            spec.payload.clone()
        };
        let max_ttl = if spec.max_ttl == 0 { 255 } else { spec.max_ttl };
        let mut task = Self {
            src,
            start: now,
            start_wall: wall,
            sport,
            dport,
            tcp_base: rng.next_u32(),
            payload,
            max_ttl,
            probes: Vec::new(),
            replies: Vec::new(),
            lastditch: None,
            ld_sent: 0,
            ld_outstanding: None,
            window: VecDeque::new(),
            next_ttl: u16::from(spec.first_hop.max(1)),
            replied_ttls: [0; 4],
            loopc: 0,
            since_progress: 0,
            last_tx: None,
            hop_count: 0,
            claims: FlowClaims::default(),
            stop: None,
            stop_hop: 0,
            errmsg: None,
            spec,
        };
        task.fill_window();
        Ok(task)
    }

    fn method(&self) -> CmdMethod {
        self.spec.method
    }

    /// The probe's wall-clock transmit time: as reported, else estimated
    /// from the monotonic clock.
    fn tx_wall(&self, p: &ProbeState) -> SystemTime {
        tx_wall(self.start_wall, p.tx_us, p.tx_wall_us)
    }

    /// When probe `k` stops waiting for a reply.
    fn deadline(&self, k: u32) -> Instant {
        let tx = self.probes.get(k as usize).map_or(0, |p| p.tx_us);
        self.start + Duration::from_micros(tx) + self.spec.wait_timeout
    }

    fn paris_by_ip(&self) -> bool {
        self.method() == CmdMethod::UdpParis && self.spec.options.const_payload
    }

    fn hop_done(&self, h: &HopState) -> bool {
        let all_sent = h.sent >= self.spec.attempts && h.outstanding.is_none();
        if self.spec.all_attempts {
            all_sent
        } else {
            h.replied || all_sent
        }
    }

    fn stop_with(&mut self, reason: TraceStop, data: u8, hop: u8) {
        if self.stop.is_none() {
            self.stop = Some((reason, data));
            self.stop_hop = hop;
        }
        self.window.clear();
        self.ld_outstanding = None;
    }

    fn in_lastditch(&self) -> bool {
        self.lastditch.is_some()
    }

    fn set_replied(&mut self, ttl: u8) {
        self.replied_ttls[usize::from(ttl / 64)] |= 1 << (ttl % 64);
    }

    fn has_replied(&self, ttl: u8) -> bool {
        self.replied_ttls[usize::from(ttl / 64)] & (1 << (ttl % 64)) != 0
    }

    fn fill_window(&mut self) {
        if self.stop.is_some() || self.in_lastditch() {
            return;
        }
        while self.window.len() < usize::from(self.spec.squeries.max(1))
            && self.next_ttl <= u16::from(self.max_ttl)
        {
            let ttl = self.next_ttl as u8;
            self.window.push_back(HopState {
                ttl,
                sent: 0,
                outstanding: None,
                replied: false,
                last_tx: None,
            });
            self.next_ttl += 1;
        }
    }

    /// When hop `h` may get its next probe (`None`: it needs none).
    fn hop_ready_at(&self, h: &HopState) -> Option<When> {
        if h.outstanding.is_some()
            || h.sent >= self.spec.attempts
            || (!self.spec.all_attempts && h.replied)
        {
            return None;
        }
        let hold = h.last_tx.map(|t| t + self.spec.hold_time);
        let gap = self.last_tx.map(|t| t + self.spec.wait_probe);
        Some(match (hold, gap) {
            (Some(a), Some(b)) => When::At(a.max(b)),
            (Some(a), None) | (None, Some(a)) => When::At(a),
            (None, None) => When::Now,
        })
    }

    /// When the next probe could go, and which window index (or
    /// `usize::MAX` for last-ditch) it is for.
    fn next_send(&self) -> Option<(When, usize)> {
        if self.stop.is_some() {
            return None;
        }
        if self.in_lastditch() {
            if self.ld_outstanding.is_some() || self.ld_sent >= self.spec.attempts {
                return None;
            }
            let at = self
                .last_tx
                .map_or(When::Now, |t| When::At(t + self.spec.wait_probe));
            return Some((at, usize::MAX));
        }
        let mut best: Option<(When, usize)> = None;
        for (i, h) in self.window.iter().enumerate() {
            if let Some(at) = self.hop_ready_at(h)
                && best.is_none_or(|(b, _)| at < b)
            {
                best = Some((at, i));
            }
        }
        best
    }

    fn flow_of(&self, k: u32) -> FlowKey {
        let (src, dst) = (self.src, self.spec.dst);
        match self.method() {
            CmdMethod::Icmp | CmdMethod::IcmpParis => FlowKey::icmp(src, dst, self.sport),
            CmdMethod::Udp => FlowKey::udp(src, dst, self.sport, self.dport.wrapping_add(k as u16)),
            CmdMethod::UdpParis => FlowKey::udp(src, dst, self.sport, self.dport),
            CmdMethod::Tcp | CmdMethod::TcpAck => FlowKey::tcp(src, dst, self.sport, self.dport),
        }
    }

    fn probe_desc(&self, k: u32, ttl: u8, ipid: u16) -> ProbeDesc<'_> {
        let payload = &self.payload[..];
        let k16 = k as u16;
        let mut ipid = ipid;
        let mut flow_label = 0;
        let l4 = match self.method() {
            CmdMethod::Udp => L4Desc::Udp {
                sport: self.sport,
                dport: self.dport.wrapping_add(k16),
                payload,
                csum: None,
            },
            CmdMethod::UdpParis if self.paris_by_ip() => {
                ipid = k16.wrapping_add(1);
                flow_label = k + 1;
                L4Desc::Udp {
                    sport: self.sport,
                    dport: self.dport,
                    payload,
                    csum: None,
                }
            }
            CmdMethod::UdpParis => L4Desc::Udp {
                sport: self.sport,
                dport: self.dport,
                payload,
                csum: Some(k16.wrapping_add(1)),
            },
            CmdMethod::Icmp => L4Desc::Echo {
                id: self.sport,
                seq: k16,
                payload,
                csum: None,
            },
            CmdMethod::IcmpParis => L4Desc::Echo {
                id: self.sport,
                seq: k16,
                payload,
                csum: Some(self.dport),
            },
            CmdMethod::Tcp => L4Desc::Tcp {
                sport: self.sport,
                dport: self.dport,
                seq: self.tcp_base.wrapping_add(k),
                ack: 0,
                flags: tcpflags::SYN,
                window: 65535,
                mss: None,
                payload: &[],
            },
            CmdMethod::TcpAck => L4Desc::Tcp {
                sport: self.sport,
                dport: self.dport,
                seq: self.tcp_base.wrapping_add(k),
                ack: self.tcp_base.wrapping_add(k),
                flags: tcpflags::ACK,
                window: 65535,
                mss: None,
                payload: &[],
            },
        };
        ProbeDesc {
            src: self.src,
            dst: self.spec.dst,
            ttl,
            tos: self.spec.tos,
            ipid,
            flow_label,
            ip_options: &[],
            l4,
        }
    }

    fn index(&self, k: u32) -> Option<u32> {
        (usize::try_from(k).is_ok_and(|k| k < self.probes.len())).then_some(k)
    }

    /// The probe `rx` answers, after checking every field it carries.
    fn match_probe(&self, rx: &Rx<'_>) -> Option<u32> {
        let dst = self.spec.dst;
        if rx.dst != self.src {
            return None;
        }
        let m = self.method();
        match &rx.kind {
            RxKind::EchoReply { id, seq } => (m.is_icmp() && rx.src == dst && *id == self.sport)
                .then(|| self.index(u32::from(*seq)))?,
            RxKind::TimestampReply { .. } => None,
            RxKind::Tcp {
                sport,
                dport,
                seq,
                ack,
                flags,
            } => {
                if !m.is_tcp() || rx.src != dst || *sport != self.dport || *dport != self.sport {
                    return None;
                }
                if m == CmdMethod::Tcp {
                    if flags & tcpflags::ACK == 0 {
                        return None;
                    }
                    self.index(ack.wrapping_sub(1).wrapping_sub(self.tcp_base))
                } else {
                    self.index(seq.wrapping_sub(self.tcp_base))
                }
            }
            RxKind::Udp { sport, dport } => {
                if !matches!(m, CmdMethod::Udp | CmdMethod::UdpParis)
                    || rx.src != dst
                    || *dport != self.sport
                {
                    return None;
                }
                if m == CmdMethod::Udp {
                    self.index(u32::from(sport.wrapping_sub(self.dport)))
                } else if *sport == self.dport {
                    self.probes
                        .len()
                        .checked_sub(1)
                        .and_then(|k| u32::try_from(k).ok())
                } else {
                    None
                }
            }
            RxKind::Error { quote: q, .. } => {
                if q.src != self.src || q.dst != dst {
                    return None;
                }
                let (k, quoted_csum) = match q.l4 {
                    QuotedL4::Icmp {
                        icmp_type,
                        csum,
                        id,
                        seq,
                        ..
                    } if m.is_icmp() => {
                        let (want_proto, want_type) = if dst.is_ipv6() {
                            (proto::ICMPV6, icmp::V6_ECHO_REQUEST)
                        } else {
                            (proto::ICMP, icmp::V4_ECHO_REQUEST)
                        };
                        if q.proto != want_proto || icmp_type != want_type || id != self.sport {
                            return None;
                        }
                        if m == CmdMethod::IcmpParis && csum != self.dport {
                            return None;
                        }
                        (u32::from(seq), Some(csum))
                    }
                    QuotedL4::Udp { sport, dport, csum } if q.proto == proto::UDP => {
                        if sport != self.sport {
                            return None;
                        }
                        let k = match m {
                            CmdMethod::Udp => u32::from(dport.wrapping_sub(self.dport)),
                            CmdMethod::UdpParis if dport == self.dport => {
                                let d = if !self.paris_by_ip() {
                                    u32::from(csum)
                                } else if dst.is_ipv4() {
                                    u32::from(q.ipid)
                                } else {
                                    q.flow_label
                                };
                                d.checked_sub(1)?
                            }
                            _ => return None,
                        };
                        (k, Some(csum))
                    }
                    QuotedL4::Tcp {
                        sport,
                        dport,
                        seq: Some(seq),
                    } if m.is_tcp() && q.proto == proto::TCP => {
                        if sport != self.sport || dport != self.dport {
                            return None;
                        }
                        (seq.wrapping_sub(self.tcp_base), None)
                    }
                    _ => return None,
                };
                self.index(k)
                    .filter(|&k| quoted_csum.is_none_or(|c| self.probes[k as usize].csum == c))
            }
        }
    }

    fn record(k: u32, rx: &Rx<'_>) -> ReplyRec {
        let kind = match &rx.kind {
            RxKind::Tcp { flags, .. } => ReplyKind::Tcp { flags: *flags },
            RxKind::Udp { .. } => ReplyKind::Udp,
            RxKind::Error {
                icmp_type,
                code,
                nhmtu,
                quote,
                ..
            } => {
                let ptb = if rx.src.is_ipv6() {
                    *icmp_type == icmp::V6_PACKET_TOO_BIG
                } else {
                    *icmp_type == icmp::V4_UNREACH && *code == icmp::V4_FRAG_NEEDED
                };
                ReplyKind::Icmp {
                    icmp_type: *icmp_type,
                    code: *code,
                    quote: Some((quote.ttl, quote.total_len, quote.tos)),
                    nhmtu: if ptb { *nhmtu } else { 0 },
                }
            }
            _ => {
                let (t, c) = rx.icmp_type_code().unwrap_or((0, 0));
                ReplyKind::Icmp {
                    icmp_type: t,
                    code: c,
                    quote: None,
                    nhmtu: 0,
                }
            }
        };
        ReplyRec {
            probe: k,
            from: rx.src,
            rx: rx.time,
            ttl: rx.ttl,
            tos: rx.tos,
            size: rx.size,
            ipid: rx.ipid.map_or(0, |v| v as u16),
            kind,
            ext: rx.extensions(),
        }
    }

    fn probe_ttl(&self, r: &ReplyRec) -> u8 {
        self.probes.get(r.probe as usize).map_or(0, |p| p.ttl)
    }

    /// scamper's loop rule for reply number `idx` of `self.replies`.
    fn is_loop(&mut self, idx: usize) -> bool {
        let r = &self.replies[idx];
        let ttl = self.probe_ttl(r);
        if ttl <= self.spec.first_hop {
            return false;
        }
        let addr = r.from;
        let seen_here = self.replies[..idx]
            .iter()
            .any(|o| o.from == addr && self.probe_ttl(o) == ttl);
        if seen_here {
            return false;
        }
        let mut found: Option<u8> = None;
        for o in &self.replies {
            let t = self.probe_ttl(o);
            if t == ttl || o.from != addr || self.probes[o.probe as usize].lastditch {
                continue;
            }
            if found.is_none_or(|f| t < f) {
                found = Some(t);
            }
        }
        let Some(t) = found else { return false };
        if t.abs_diff(ttl) == 1 {
            return false;
        }
        self.loopc = self.loopc.saturating_add(1);
        self.loopc >= self.spec.loops
    }

    /// The stop reason reply `idx` gives, if any (scamper's order).
    fn stop_reason(&mut self, idx: usize) -> Option<(TraceStop, u8)> {
        let v6 = self.spec.dst.is_ipv6();
        let m = self.method();
        let r = &self.replies[idx];
        let icmp_tc = match r.kind {
            ReplyKind::Icmp {
                icmp_type, code, ..
            } => Some((icmp_type, code)),
            _ => None,
        };
        let unreach = r.is_icmp(v6, icmp::V4_UNREACH, icmp::V6_UNREACH);
        let port_unreach = unreach
            && icmp_tc.is_some_and(|(_, c)| {
                c == if v6 {
                    icmp::V6_PORT_UNREACH
                } else {
                    icmp::V4_PORT_UNREACH
                }
            });
        if port_unreach && !m.is_icmp() {
            return Some((TraceStop::Completed, 0));
        }
        if unreach {
            return Some((TraceStop::Unreach, icmp_tc.map_or(0, |(_, c)| c)));
        }
        if r.is_icmp(v6, icmp::V4_ECHO_REPLY, icmp::V6_ECHO_REPLY) {
            return m.is_icmp().then_some((TraceStop::Completed, 0));
        }
        if v6 && r.is_icmp(v6, 0, icmp::V6_PACKET_TOO_BIG) {
            return Some((TraceStop::Icmp, icmp::V6_PACKET_TOO_BIG));
        }
        let ttl_exp = r.is_icmp(v6, icmp::V4_TIME_EXCEEDED, icmp::V6_TIME_EXCEEDED);
        let from_dst = r.from == self.spec.dst;
        let is_tcp = matches!(r.kind, ReplyKind::Tcp { .. });
        let is_udp = matches!(r.kind, ReplyKind::Udp);
        if self.spec.loops != 0 && self.is_loop(idx) {
            return Some((TraceStop::Loop, 0));
        }
        if ttl_exp && !self.spec.ttl_expired_not_reached && from_dst {
            return Some((TraceStop::Completed, 0));
        }
        if (m.is_tcp() && is_tcp) || (!m.is_tcp() && !m.is_icmp() && is_udp) {
            return Some((TraceStop::Completed, 0));
        }
        None
    }

    /// Pops completed hops off the front of the window, in TTL order, and
    /// applies the per-hop stop rules.
    fn advance(&mut self) {
        while let Some(front) = self.window.front().copied() {
            if self.stop.is_some() || !self.hop_done(&front) {
                break;
            }
            self.window.pop_front();
            let ttl = front.ttl;
            if self.spec.all_attempts {
                let idxs: Vec<usize> = (0..self.replies.len())
                    .filter(|&i| {
                        let p = &self.probes[self.replies[i].probe as usize];
                        p.ttl == ttl && !p.lastditch
                    })
                    .collect();
                for i in idxs {
                    if let Some((reason, data)) = self.stop_reason(i) {
                        self.stop_with(reason, data, ttl);
                        return;
                    }
                }
            }
            if ttl >= self.max_ttl {
                self.stop_with(TraceStop::Hoplimit, 0, ttl);
                return;
            }
            let first = self.spec.first_hop.max(1);
            let gap = (first..=ttl)
                .rev()
                .take_while(|&t| !self.has_replied(t))
                .count();
            if gap >= usize::from(self.spec.gap_limit.max(1)) {
                if self.spec.gap_action == CmdGap::LastDitch {
                    self.window.clear();
                    self.lastditch = Some(Vec::new());
                } else {
                    self.stop_with(TraceStop::Gaplimit, 0, ttl);
                }
                return;
            }
        }
        self.fill_window();
        if self.window.is_empty() && !self.in_lastditch() && self.stop.is_none() {
            // no TTL left to probe (cannot happen with a validated spec)
            let ttl = self.hop_count;
            self.stop_with(TraceStop::Hoplimit, 0, ttl);
        }
    }

    fn to_model_hop(&self, r: &ReplyRec) -> TraceHop {
        let p = &self.probes[r.probe as usize];
        let tx = self.tx_wall(p);
        let rtt = r.rx.duration_since(tx).unwrap_or(Duration::ZERO);
        let rtt = Duration::from_micros(u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX));
        let mut h = TraceHop::new(
            Addr::from(r.from),
            p.ttl,
            p.attempt,
            self.spec.probe_size,
            rtt,
        );
        h.tx = Some(Timestamp::from_system_time(tx));
        let mut flags = TraceReplyFlags::empty();
        if let Some(t) = r.ttl {
            h.reply_ttl = t;
            flags.set(TraceReplyFlags::REPLY_TTL, true);
        }
        h.reply_tos = r.tos;
        h.reply_size = r.size;
        if self.spec.dst.is_ipv4() {
            h.reply_ipid = r.ipid;
        }
        match r.kind {
            ReplyKind::Icmp {
                icmp_type,
                code,
                quote,
                nhmtu,
            } => {
                h.icmp_type = icmp_type;
                h.icmp_code = code;
                if let Some((q_ttl, q_len, q_tos)) = quote {
                    h.icmp_q_ttl = q_ttl;
                    h.icmp_q_ipl = q_len;
                    h.icmp_q_tos = q_tos;
                }
                h.nhmtu = nhmtu;
            }
            ReplyKind::Tcp { flags: f } => {
                h.tcp_flags = f;
                flags.set(TraceReplyFlags::TCP, true);
            }
            ReplyKind::Udp => flags.set(TraceReplyFlags::UDP, true),
        }
        h.flags = flags;
        h.icmp_exts.clone_from(&r.ext);
        h
    }
}

fn model_method(m: CmdMethod) -> TraceMethod {
    match m {
        CmdMethod::UdpParis => TraceMethod::UdpParis,
        CmdMethod::Udp => TraceMethod::Udp,
        CmdMethod::Icmp => TraceMethod::IcmpEcho,
        CmdMethod::IcmpParis => TraceMethod::IcmpEchoParis,
        CmdMethod::Tcp => TraceMethod::Tcp,
        CmdMethod::TcpAck => TraceMethod::TcpAck,
    }
}

impl Machine for TraceTask {
    fn poll_send(
        &mut self,
        now: Instant,
        ctx: &mut Ctx<'_>,
        buf: &mut Vec<u8>,
    ) -> Option<SendMeta> {
        if self.claims.is_blocked() {
            return None;
        }
        self.fill_window();
        let (at, which) = self.next_send()?;
        if !at.due(now) {
            return None;
        }
        if self.probes.len() >= MAX_PROBES {
            self.errmsg = Some("too many probes for one traceroute".to_owned());
            self.stop_with(TraceStop::Error, 0, 0);
            return None;
        }
        let k = u32::try_from(self.probes.len()).ok()?;
        let key = self.flow_of(k);
        if !ctx.claim(key, &mut self.claims) {
            return None;
        }
        let lastditch = which == usize::MAX;
        let (ttl, attempt) = if lastditch {
            (255, self.ld_sent)
        } else {
            let h = &self.window[which];
            (h.ttl, h.sent)
        };
        let ipid = ctx.next_ipid();
        if let Err(e) = crate::convert::build(&self.probe_desc(k, ttl, ipid), buf) {
            self.errmsg = Some(format!("could not build probe with TTL {ttl}: {e}"));
            self.stop_with(TraceStop::Error, 0, ttl);
            return None;
        }
        self.probes.push(ProbeState {
            ttl,
            attempt,
            csum: crate::convert::transport_checksum(buf),
            tx_us: micros(now.saturating_duration_since(self.start)),
            tx_wall_us: 0,
            lastditch,
            replies: 0,
        });
        self.last_tx = Some(now);
        if lastditch {
            self.ld_sent += 1;
            self.ld_outstanding = Some(k);
        } else {
            let h = &mut self.window[which];
            h.sent += 1;
            h.outstanding = Some(k);
            h.last_tx = Some(now);
            self.hop_count = self.hop_count.max(ttl);
        }
        Some(SendMeta {
            probe: k,
            dst: self.spec.dst,
        })
    }

    fn wants_send(&self, now: Instant) -> bool {
        if self.claims.is_blocked() || self.stop.is_some() {
            return false;
        }
        let pending_fill = !self.in_lastditch()
            && self.window.len() < usize::from(self.spec.squeries.max(1))
            && self.next_ttl <= u16::from(self.max_ttl);
        if pending_fill && self.last_tx.is_none_or(|t| t + self.spec.wait_probe <= now) {
            return true;
        }
        self.next_send().is_some_and(|(at, _)| at.due(now))
    }

    fn next_deadline(&self, now: Instant) -> Option<Instant> {
        if self.stop.is_some() {
            return None;
        }
        let mut best: Option<Instant> = None;
        let mut take = |t: Instant| best = Some(best.map_or(t, |b: Instant| b.min(t)));
        // a due probe waits in the engine's ready queue, not on a timer
        if !self.claims.is_blocked()
            && let Some((When::At(t), _)) = self.next_send()
            && t > now
        {
            take(t);
        }
        for h in &self.window {
            if let Some(k) = h.outstanding {
                take(self.deadline(k));
            }
        }
        if let Some(k) = self.ld_outstanding {
            take(self.deadline(k));
        }
        best
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.stop.is_some() {
            return;
        }
        if let Some(k) = self.ld_outstanding
            && self.deadline(k) <= now
        {
            self.ld_outstanding = None;
            if self.ld_sent >= self.spec.attempts {
                self.stop_with(TraceStop::Gaplimit, 0, 0);
                return;
            }
        }
        for i in 0..self.window.len() {
            if let Some(k) = self.window[i].outstanding
                && self.deadline(k) <= now
            {
                self.window[i].outstanding = None;
            }
        }
        self.advance();
    }

    fn handle_reply(&mut self, _now: Instant, rx: &Rx<'_>) -> bool {
        if self.stop.is_some() {
            return false;
        }
        let Some(k) = self.match_probe(rx) else {
            return false;
        };
        let rec = Self::record(k, rx);
        let p = &mut self.probes[k as usize];
        if p.replies >= MAX_REPLIES_PER_PROBE {
            return false;
        }
        p.replies += 1;
        let (ttl, lastditch) = (p.ttl, p.lastditch);
        self.since_progress = self.since_progress.saturating_add(1);
        if lastditch {
            if let Some(ld) = self.lastditch.as_mut() {
                ld.push(rec);
            }
            self.stop_with(TraceStop::Gaplimit, 0, 0);
            return true;
        }
        self.replies.push(rec);
        self.set_replied(ttl);
        if self.in_lastditch() {
            return true;
        }
        let idx = self.replies.len() - 1;
        let pos = self.window.iter().position(|h| h.ttl == ttl);
        let deferred = self.spec.all_attempts && pos.is_some();
        if !deferred && let Some((reason, data)) = self.stop_reason(idx) {
            self.stop_with(reason, data, ttl);
            return true;
        }
        if let Some(pos) = pos {
            let h = &mut self.window[pos];
            h.replied = true;
            if !self.spec.all_attempts || h.outstanding == Some(k) {
                h.outstanding = None;
            }
        }
        self.advance();
        true
    }

    fn on_sent(&mut self, probe: u32, result: Result<SystemTime, SendError>) {
        let Some(p) = self.probes.get_mut(probe as usize) else {
            return;
        };
        match result {
            Ok(t) => {
                p.tx_wall_us = wall_micros(t);
            }
            Err(e) => {
                let ttl = p.ttl;
                self.errmsg = Some(e.message);
                self.stop_with(
                    TraceStop::Error,
                    u8::try_from(e.errno).unwrap_or(u8::MAX),
                    ttl,
                );
            }
        }
    }

    fn halt(&mut self) {
        self.stop_with(TraceStop::Halted, 0, 0);
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
        let mut t = Trace::new(
            Addr::from(spec.dst),
            Timestamp::from_system_time(self.start_wall),
        );
        t.user_id = spec.user_id;
        t.src = Some(Addr::from(self.src));
        t.rtr = spec.rtr.map(Addr::from);
        let (reason, data) = self.stop.unwrap_or((TraceStop::InProgress, 0));
        t.stop_reason = reason;
        t.stop_data = data;
        t.method = model_method(spec.method);
        let mut flags = TraceFlags::empty();
        flags.set(TraceFlags::ALL_ATTEMPTS, spec.all_attempts);
        flags.set(TraceFlags::IGNORE_TTL_DST, spec.ttl_expired_not_reached);
        flags.set(TraceFlags::ICMP_CSUM_DPORT, spec.icmp_csum_dport());
        flags.set(TraceFlags::CONST_PAYLOAD, spec.options.const_payload);
        flags.set(TraceFlags::DL, spec.options.dl);
        flags.set(TraceFlags::PTR, spec.options.ptr);
        flags.set(TraceFlags::RAW, spec.options.raw);
        t.flags = flags;
        t.attempts = spec.attempts;
        t.hoplimit = spec.max_ttl;
        t.firsthop = spec.first_hop;
        t.probe_size = spec.probe_size;
        t.sport = self.sport;
        t.dport = self.dport;
        t.tos = spec.tos;
        t.wait_timeout = spec.wait_timeout;
        t.wait_probe = spec.wait_probe;
        t.loops = spec.loops;
        t.gaplimit = spec.gap_limit;
        t.gapaction = match spec.gap_action {
            CmdGap::Stop => GapAction::Stop,
            CmdGap::LastDitch => GapAction::LastDitch,
        };
        t.confidence = spec
            .confidence
            .map_or(0, vantage_command::Confidence::percent);
        t.hop_count = u16::from(self.hop_count);
        t.stop_hop = if self.stop_hop == self.hop_count {
            0
        } else {
            self.stop_hop
        };
        t.probes_sent = u16::try_from(self.probes.len()).unwrap_or(u16::MAX);
        t.squeries = spec.squeries;
        t.errmsg.clone_from(&self.errmsg);
        let mut order: Vec<&ReplyRec> = self.replies.iter().collect();
        order.sort_by_key(|r| {
            let p = &self.probes[r.probe as usize];
            (p.ttl, p.attempt)
        });
        t.hops = order.into_iter().map(|r| self.to_model_hop(r)).collect();
        t.lastditch = self
            .lastditch
            .as_ref()
            .map(|ld| ld.iter().map(|r| self.to_model_hop(r)).collect());
        Measurement::Trace(t)
    }
}
