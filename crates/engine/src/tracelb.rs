//! The MDA traceroute (`tracelb`) state machine.
//!
//! The Multipath Detection Algorithm (Augustin, Friedman, Teixeira, "Multipath
//! tracing with Paris traceroute", E2EMON 2007 / "Measuring load-balanced
//! paths in the Internet", IMC 2007; stopping points refined by Veitch,
//! Augustin, Friedman, Teixeira, "Failure control in multipath route
//! tracing", INFOCOM 2009) finds every next hop of every interface on the
//! way to a destination, with a chosen confidence.
//!
//! Every probe belongs to a *flow*: a flow identifier varies exactly one
//! header field a load balancer hashes on, every other field stays
//! constant, so all probes of one flow follow one path:
//!
//! | method | flow identifier `f` | probe discriminator |
//! |---|---|---|
//! | udp-dport | UDP destination port `-d` + f | UDP checksum − 1 |
//! | udp-sport | UDP source port `-s` + f | UDP checksum − 1 |
//! | tcp-sport, tcp-ack-sport | TCP source port `-s` + f | TCP sequence − base |
//! | icmp-echo | ICMP checksum (`-d` + f, held through the payload) | echo sequence |
//!
//! Results record as a probe's flow id the varied field itself (the port, or
//! the ICMP checksum), as scamper does.
//!
//! The search goes level by level. At level `t` every *work item* (an
//! interface first seen at TTL `t`, or a run of unresponsive hops after one)
//! gets probes at TTL `t + 1` over flows already known to reach it at TTL `t`
//! (for the first level: any flow). With `k` distinct next hops seen, the item
//! is done once `n_k` flows through it have been probed at `t + 1` (answered
//! or given up after `-q` attempts); see [`stopping_point`]. When the known
//! flows through an interface run out, new flows are probed at TTL `t` until
//! some reach it (node control). Probes leave `-W` apart, many may be
//! outstanding, each waits `-w`. A branch ends at the destination (any reply
//! that is not a time exceeded, or a reply from the destination), after `-g`
//! unresponsive hops, and the whole measurement ends when every branch ended
//! or `-Q` probes were sent.
//!
//! An interface seen first at a lower TTL is not explored again when another
//! branch reaches it later (unequal branches merge there). An interface that
//! only node control found (the search from its predecessor stopped without
//! it, which the confidence level allows) gets one probe a hop earlier on one
//! of its flows, so that its link is known.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use vantage_command::{Confidence, TracelbMethod as CmdMethod, TracelbSpec};
use vantage_model::{
    Addr, IcmpExt, Timestamp, Tracelb, TracelbFlags, TracelbLink, TracelbMethod, TracelbNode,
    TracelbProbe, TracelbReply, TracelbReplyFlags,
};

use crate::Measurement;
use crate::demux::{FlowKey, FlowTable, IdPool};
use crate::error::{SendError, StartError};
use crate::packet::{L4Desc, ProbeDesc, QuotedL4, Rx, RxKind, icmp, proto, tcpflags};
use crate::ping::MAX_REPLIES_PER_PROBE;
use crate::rng::Rng;
use crate::task::{Ctx, FlowClaims, Machine, SendMeta, micros, tx_wall, wall_micros};

/// Stopping points for 95 % confidence: `N95[k - 1]` probes through an
/// interface with `k` next hops seen rule out a `k + 1`th. Published by
/// Veitch et al. 2009 (Table 1; the same values as Paris traceroute's MDA).
/// Each is the least `n` for which `n` probes spread uniformly over `k + 1`
/// next hops leave one of them unseen with probability at most 5 %
/// ([`stopping_point_by_coverage`] computes it; a test checks every entry).
const N95: [u16; 30] = [
    6, 11, 16, 21, 27, 33, 38, 44, 51, 57, 63, 70, 76, 83, 90, 96, 103, 110, 117, 124, 131, 138,
    145, 152, 159, 167, 174, 181, 189, 196,
];

/// Stopping points for 99 % confidence: the same rule with a miss
/// probability of at most 1 % (checked against the computation like N95).
const N99: [u16; 30] = [
    8, 15, 21, 28, 36, 43, 51, 58, 66, 74, 82, 90, 98, 106, 115, 123, 132, 140, 149, 157, 166, 175,
    183, 192, 201, 210, 219, 228, 237, 246,
];

/// How many flows through an interface must reach the next hop, with `k`
/// next hops seen, before no `k + 1`th is assumed.
pub(crate) fn stopping_point(confidence: Confidence, k: usize) -> u16 {
    let k = k.max(1);
    let (table, miss) = match confidence {
        Confidence::P95 => (&N95, 0.05),
        Confidence::P99 => (&N99, 0.01),
    };
    match table.get(k - 1) {
        Some(&n) => n,
        None => stopping_point_by_coverage(k + 1, miss),
    }
}

/// The least number of probes that, spread uniformly at random over
/// `hops` next hops, have left at least one of them unseen with probability
/// at most `miss` (the MDA's hypothesis test). Computed by following the
/// distribution of the number of distinct hops seen, probe by probe: every
/// term is a probability, so nothing cancels as an inclusion-exclusion sum
/// would.
pub(crate) fn stopping_point_by_coverage(hops: usize, miss: f64) -> u16 {
    let k = hops.max(1);
    #[allow(clippy::cast_precision_loss)] // hop counts are far below 2^52
    let kf = k as f64;
    // seen[j]: probability that exactly j distinct hops have been seen.
    let mut seen = vec![0.0f64; k + 1];
    seen[0] = 1.0;
    for n in 1..=u16::MAX {
        for j in (1..=k).rev() {
            #[allow(clippy::cast_precision_loss)]
            let (same, new) = (j as f64 / kf, (kf - (j as f64 - 1.0)) / kf);
            seen[j] = seen[j] * same + seen[j - 1] * new;
        }
        seen[0] = 0.0;
        if 1.0 - seen[k] <= miss {
            return n;
        }
    }
    u16::MAX
}

/// At most this many new flows are tried at one TTL to reach interfaces
/// there (node control), so a rarely chosen interface cannot eat `-Q`.
const MAX_NEW_FLOWS_PER_TTL: usize = 512;

/// What one flow met at one TTL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Obs {
    /// A probe is outstanding (or queued for another attempt).
    Pending,
    /// This interface answered.
    Resp(IpAddr),
    /// Every attempt went unanswered.
    Silent,
}

#[derive(Clone, Debug)]
struct ReplyRec {
    from: IpAddr,
    rx: SystemTime,
    ttl: Option<u8>,
    ipid: u16,
    icmp: Option<(u8, u8, u8, u8)>,
    tcp_flags: Option<u8>,
    ext: Vec<IcmpExt>,
}

#[derive(Clone, Debug)]
struct ProbeState {
    ttl: u8,
    flow: u16,
    attempt: u8,
    csum: u16,
    tx_us: u64,
    tx_wall_us: u64,
    outstanding: bool,
    replies: Vec<ReplyRec>,
}

/// A work item of the current level.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    /// Before the first hop: every flow goes through it.
    Root,
    /// An interface at the level's TTL.
    Node(IpAddr),
    /// Unresponsive hops after `origin` (`None`: the root).
    Star(Option<IpAddr>),
}

/// One running MDA traceroute.
pub(crate) struct TracelbTask {
    spec: TracelbSpec,
    src: IpAddr,
    start: Instant,
    start_wall: SystemTime,
    sport: u16,
    dport: u16,
    tcp_base: u32,
    payload: Vec<u8>,
    probes: Vec<ProbeState>,
    /// Per flow: what it met at each TTL probed.
    paths: Vec<BTreeMap<u8, Obs>>,
    /// (ttl, flow, attempt) to send again.
    retries: Vec<(u8, u16, u8)>,
    /// The level: items at this TTL are explored at `level + 1`.
    level: u8,
    /// New flows tried per TTL for node control.
    new_flows: HashMap<u8, usize>,
    /// Interfaces that end a branch (the destination, unreachables).
    terminal: Vec<IpAddr>,
    last_tx: Option<Instant>,
    claims: FlowClaims,
    done: bool,
    errmsg: Option<String>,
}

impl TracelbTask {
    /// Prepares an MDA traceroute; the first probe is due at `now`.
    pub fn new(
        spec: TracelbSpec,
        src: IpAddr,
        now: Instant,
        wall: SystemTime,
        pool: &mut IdPool,
        flows: &FlowTable,
        rng: &mut Rng,
    ) -> Result<Self, StartError> {
        if spec.rtr.is_some() {
            return Err(StartError::Unsupported(
                "tracelb -r (first-hop router address)",
            ));
        }
        if spec.ptr {
            return Err(StartError::Unsupported("tracelb -O ptr"));
        }
        let dst = spec.dst;
        let dport = spec.dport;
        let sport = match spec.sport.given() {
            Some(p) if p != 0 => p,
            _ if spec.method == CmdMethod::IcmpEcho => pool.icmp_id(flows, src, dst),
            _ if spec.method.is_tcp() => {
                pool.ports(64, |p| FlowKey::tcp(src, dst, p, dport), flows)
            }
            _ => pool.ports(1, |p| FlowKey::udp(src, dst, p, dport), flows),
        };
        let ip_hdr: usize = if dst.is_ipv4() { 20 } else { 40 };
        let l4_hdr: usize = if spec.method.is_tcp() { 20 } else { 8 };
        // at least two payload bytes to hold a checksum
        let payload = vec![0; usize::from(spec.probe_size).saturating_sub(ip_hdr + l4_hdr)];
        let payload = if !spec.method.is_tcp() && payload.len() < 2 {
            vec![0; 2]
        } else {
            payload
        };
        let level = spec.first_hop.max(1) - 1;
        Ok(Self {
            src,
            start: now,
            start_wall: wall,
            sport,
            dport,
            tcp_base: rng.next_u32(),
            payload,
            probes: Vec::new(),
            paths: Vec::new(),
            retries: Vec::new(),
            level,
            new_flows: HashMap::new(),
            terminal: Vec::new(),
            last_tx: None,
            claims: FlowClaims::default(),
            done: false,
            errmsg: None,
            spec,
        })
    }

    fn obs(&self, flow: u16, ttl: u8) -> Option<Obs> {
        self.paths.get(usize::from(flow))?.get(&ttl).copied()
    }

    /// The smallest TTL at which each interface answered.
    fn min_ttls(&self) -> HashMap<IpAddr, u8> {
        let mut m: HashMap<IpAddr, u8> = HashMap::new();
        for (&t, o) in self.paths.iter().flat_map(|p| p.iter()) {
            if let Obs::Resp(a) = *o {
                let e = m.entry(a).or_insert(t);
                *e = (*e).min(t);
            }
        }
        m
    }

    /// The last interface before the unresponsive run ending at `ttl` of
    /// `flow`, and the length of the run; `None` when the flow was not
    /// probed at every TTL in between.
    fn star_origin(&self, flow: u16, ttl: u8) -> Option<(Option<IpAddr>, u8)> {
        let root = self.spec.first_hop.max(1) - 1;
        let mut t = ttl;
        let mut gap = 0u8;
        loop {
            if t == root {
                return Some((None, gap));
            }
            match self.obs(flow, t)? {
                Obs::Silent => gap += 1,
                Obs::Resp(a) => return Some((Some(a), gap)),
                Obs::Pending => return None,
            }
            t -= 1;
        }
    }

    /// The work items of the current level, each with its flows.
    fn items(&self) -> Vec<(Item, Vec<u16>)> {
        let t = self.level;
        let root = self.spec.first_hop.max(1) - 1;
        if t == root {
            let all = (0..self.paths.len()).filter_map(|f| u16::try_from(f).ok());
            return vec![(Item::Root, all.collect())];
        }
        let min_ttl = self.min_ttls();
        let mut items: Vec<(Item, Vec<u16>)> = Vec::new();
        for f in 0..self.paths.len() {
            let Ok(f16) = u16::try_from(f) else { break };
            let item = match self.obs(f16, t) {
                Some(Obs::Resp(a)) => {
                    if self.terminal.contains(&a) || min_ttl.get(&a) != Some(&t) {
                        continue;
                    }
                    Item::Node(a)
                }
                Some(Obs::Silent) => match self.star_origin(f16, t) {
                    Some((origin, gap)) if gap < self.spec.gap_limit.max(1) => {
                        if origin.is_some_and(|a| self.terminal.contains(&a)) {
                            continue;
                        }
                        Item::Star(origin)
                    }
                    _ => continue,
                },
                _ => continue,
            };
            if let Some(e) = items.iter_mut().find(|(i, _)| *i == item) {
                e.1.push(f16);
            } else {
                items.push((item, vec![f16]));
            }
        }
        items
    }

    fn budget_left(&self) -> bool {
        self.probes.len() < usize::from(self.spec.max_probes)
    }

    /// The next probe to send at the current level: (ttl, flow, attempt),
    /// where a flow equal to `paths.len()` is a new one.
    fn plan(&self) -> Option<(u8, u16, u8)> {
        if self.done || !self.budget_left() {
            return None;
        }
        if let Some(&r) = self.retries.first() {
            return Some(r);
        }
        let t = self.level;
        let next = t.checked_add(1)?;
        let new_flow = u16::try_from(self.paths.len()).ok();
        let first = self.spec.first_hop.max(1);
        for (item, flows) in self.items() {
            // an interface only node control found (the search through its
            // predecessor missed it): one probe a hop earlier on one of its
            // flows reveals where it hangs
            if matches!(item, Item::Node(_))
                && t > first
                && !flows.iter().any(|&f| self.obs(f, t - 1).is_some())
                && let Some(&f) = flows.first()
            {
                return Some((t - 1, f, 0));
            }
            let mut resolved = 0usize;
            let mut pending = 0usize;
            let mut seen: Vec<IpAddr> = Vec::new();
            let mut unprobed = None;
            for &f in &flows {
                match self.obs(f, next) {
                    Some(Obs::Pending) => pending += 1,
                    Some(Obs::Resp(a)) => {
                        resolved += 1;
                        if !seen.contains(&a) {
                            seen.push(a);
                        }
                    }
                    Some(Obs::Silent) => resolved += 1,
                    None => {
                        if unprobed.is_none() {
                            unprobed = Some(f);
                        }
                    }
                }
            }
            let need = usize::from(stopping_point(self.spec.confidence, seen.len()));
            if resolved >= need || resolved + pending >= need {
                continue;
            }
            if let Some(f) = unprobed {
                return Some((next, f, 0));
            }
            match item {
                Item::Root => return new_flow.map(|f| (next, f, 0)),
                Item::Node(_) => {
                    // node control: look for more flows through this
                    // interface, a few at a time
                    let tried = self.new_flows.get(&t).copied().unwrap_or(0);
                    let in_flight = self
                        .paths
                        .iter()
                        .filter(|p| p.get(&t) == Some(&Obs::Pending))
                        .count();
                    if tried < MAX_NEW_FLOWS_PER_TTL && in_flight < need - resolved - pending {
                        return new_flow.map(|f| (t, f, 0));
                    }
                }
                Item::Star(_) => {}
            }
        }
        None
    }

    fn outstanding(&self) -> bool {
        !self.retries.is_empty() || self.probes.iter().any(|p| p.outstanding)
    }

    /// Moves to the next level when the current one has nothing left to
    /// send or wait for; ends the measurement when no branch goes on.
    fn advance(&mut self) {
        while !self.done {
            if self.outstanding() {
                return;
            }
            if !self.budget_left() {
                self.done = true;
                return;
            }
            if self.plan().is_some() {
                return;
            }
            if self.level == u8::MAX {
                self.done = true;
                return;
            }
            self.level += 1;
            if self.items().is_empty() {
                self.done = true;
            }
        }
    }

    fn flow_key(&self, flow: u16) -> FlowKey {
        let (src, dst) = (self.src, self.spec.dst);
        match self.spec.method {
            CmdMethod::UdpDport => {
                FlowKey::udp(src, dst, self.sport, self.dport.wrapping_add(flow))
            }
            CmdMethod::UdpSport => {
                FlowKey::udp(src, dst, self.sport.wrapping_add(flow), self.dport)
            }
            CmdMethod::TcpSport | CmdMethod::TcpAckSport => {
                FlowKey::tcp(src, dst, self.sport.wrapping_add(flow), self.dport)
            }
            CmdMethod::IcmpEcho => FlowKey::icmp(src, dst, self.sport),
        }
    }

    /// The header field value that makes flow `flow` (what results record as
    /// its flow id, as scamper does): the varied port, or the ICMP checksum.
    fn flow_field(&self, flow: u16) -> u16 {
        match self.spec.method {
            CmdMethod::UdpDport => self.dport.wrapping_add(flow),
            CmdMethod::UdpSport | CmdMethod::TcpSport | CmdMethod::TcpAckSport => {
                self.sport.wrapping_add(flow)
            }
            CmdMethod::IcmpEcho => self.icmp_csum(flow),
        }
    }

    /// The ICMP checksum that identifies flow `flow` (never 0 or 0xffff).
    fn icmp_csum(&self, flow: u16) -> u16 {
        let c = self.dport.wrapping_add(flow);
        if c == 0 || c == 0xffff { 1 } else { c }
    }

    fn probe_desc(&self, k: u32, ttl: u8, flow: u16, ipid: u16) -> ProbeDesc<'_> {
        let payload = &self.payload[..];
        let k16 = k as u16;
        let l4 = match self.spec.method {
            CmdMethod::UdpDport => L4Desc::Udp {
                sport: self.sport,
                dport: self.dport.wrapping_add(flow),
                payload,
                csum: Some(k16.wrapping_add(1)),
            },
            CmdMethod::UdpSport => L4Desc::Udp {
                sport: self.sport.wrapping_add(flow),
                dport: self.dport,
                payload,
                csum: Some(k16.wrapping_add(1)),
            },
            CmdMethod::IcmpEcho => L4Desc::Echo {
                id: self.sport,
                seq: k16,
                payload,
                csum: Some(self.icmp_csum(flow)),
            },
            CmdMethod::TcpSport | CmdMethod::TcpAckSport => {
                let seq = self.tcp_base.wrapping_add(k);
                let ack_method = self.spec.method == CmdMethod::TcpAckSport;
                L4Desc::Tcp {
                    sport: self.sport.wrapping_add(flow),
                    dport: self.dport,
                    seq,
                    ack: if ack_method { seq } else { 0 },
                    flags: if ack_method {
                        tcpflags::ACK
                    } else {
                        tcpflags::SYN
                    },
                    window: 65535,
                    mss: None,
                    payload: &[],
                }
            }
        };
        ProbeDesc {
            src: self.src,
            dst: self.spec.dst,
            ttl,
            tos: self.spec.tos,
            ipid,
            flow_label: 0,
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
        let m = self.spec.method;
        let k = match &rx.kind {
            RxKind::EchoReply { id, seq } => {
                if m != CmdMethod::IcmpEcho || rx.src != dst || *id != self.sport {
                    return None;
                }
                self.index(u32::from(*seq))?
            }
            RxKind::TimestampReply { .. } => return None,
            RxKind::Tcp {
                sport,
                dport,
                seq,
                ack,
                flags,
            } => {
                if !m.is_tcp() || rx.src != dst || *sport != self.dport {
                    return None;
                }
                let k = if m == CmdMethod::TcpSport {
                    if flags & tcpflags::ACK == 0 {
                        return None;
                    }
                    self.index(ack.wrapping_sub(1).wrapping_sub(self.tcp_base))?
                } else {
                    self.index(seq.wrapping_sub(self.tcp_base))?
                };
                let p = &self.probes[k as usize];
                if flow_of_port(*dport, self.sport) != p.flow {
                    return None;
                }
                k
            }
            RxKind::Udp { sport, dport } => {
                if !matches!(m, CmdMethod::UdpDport | CmdMethod::UdpSport) || rx.src != dst {
                    return None;
                }
                // a UDP answer carries no discriminator: the latest probe of its flow
                let flow = if m == CmdMethod::UdpDport {
                    if *dport != self.sport {
                        return None;
                    }
                    flow_of_port(*sport, self.dport)
                } else {
                    if *sport != self.dport {
                        return None;
                    }
                    flow_of_port(*dport, self.sport)
                };
                let k = self.probes.iter().rposition(|p| p.flow == flow)?;
                u32::try_from(k).ok()?
            }
            RxKind::Error { quote: q, .. } => {
                if q.src != self.src || q.dst != dst {
                    return None;
                }
                let (k, flow, csum) = match q.l4 {
                    QuotedL4::Icmp {
                        icmp_type,
                        csum,
                        id,
                        seq,
                        ..
                    } if m == CmdMethod::IcmpEcho => {
                        let (want_proto, want_type) = if dst.is_ipv6() {
                            (proto::ICMPV6, icmp::V6_ECHO_REQUEST)
                        } else {
                            (proto::ICMP, icmp::V4_ECHO_REQUEST)
                        };
                        if q.proto != want_proto || icmp_type != want_type || id != self.sport {
                            return None;
                        }
                        (u32::from(seq), None, Some(csum))
                    }
                    QuotedL4::Udp { sport, dport, csum }
                        if q.proto == proto::UDP
                            && matches!(m, CmdMethod::UdpDport | CmdMethod::UdpSport) =>
                    {
                        let flow = if m == CmdMethod::UdpDport {
                            if sport != self.sport {
                                return None;
                            }
                            flow_of_port(dport, self.dport)
                        } else {
                            if dport != self.dport {
                                return None;
                            }
                            flow_of_port(sport, self.sport)
                        };
                        (u32::from(csum).checked_sub(1)?, Some(flow), Some(csum))
                    }
                    QuotedL4::Tcp {
                        sport,
                        dport,
                        seq: Some(seq),
                    } if m.is_tcp() && q.proto == proto::TCP => {
                        if dport != self.dport {
                            return None;
                        }
                        (
                            seq.wrapping_sub(self.tcp_base),
                            Some(flow_of_port(sport, self.sport)),
                            None,
                        )
                    }
                    _ => return None,
                };
                let k = self.index(k)?;
                let p = &self.probes[k as usize];
                if flow.is_some_and(|f| f != p.flow) || csum.is_some_and(|c| c != p.csum) {
                    return None;
                }
                k
            }
        };
        Some(k)
    }

    fn record(rx: &Rx<'_>) -> ReplyRec {
        let (icmp, tcp_flags) = match &rx.kind {
            RxKind::Tcp { flags, .. } => (None, Some(*flags)),
            RxKind::Udp { .. } => (None, None),
            RxKind::Error {
                icmp_type,
                code,
                quote,
                ..
            } => (Some((*icmp_type, *code, quote.ttl, quote.tos)), None),
            _ => {
                let (t, c) = rx.icmp_type_code().unwrap_or((0, 0));
                (Some((t, c, 0, 0)), None)
            }
        };
        ReplyRec {
            from: rx.src,
            rx: rx.time,
            ttl: rx.ttl,
            ipid: rx.ipid.map_or(0, |v| v as u16),
            icmp,
            tcp_flags,
            ext: rx.extensions(),
        }
    }

    /// Whether a reply ends its branch: anything but a time exceeded from a
    /// router, and anything from the destination.
    fn is_terminal(&self, r: &ReplyRec) -> bool {
        if r.from == self.spec.dst {
            return true;
        }
        let te = if self.spec.dst.is_ipv4() {
            icmp::V4_TIME_EXCEEDED
        } else {
            icmp::V6_TIME_EXCEEDED
        };
        !matches!(r.icmp, Some((t, ..)) if t == te)
    }

    fn tx_wall(&self, p: &ProbeState) -> SystemTime {
        tx_wall(self.start_wall, p.tx_us, p.tx_wall_us)
    }

    fn deadline(&self, p: &ProbeState) -> Instant {
        self.start + Duration::from_micros(p.tx_us) + self.spec.wait_timeout
    }

    fn model_probe(&self, p: &ProbeState) -> TracelbProbe {
        TracelbProbe {
            tx: Timestamp::from_system_time(self.tx_wall(p)),
            flowid: self.flow_field(p.flow),
            ttl: p.ttl,
            attempt: p.attempt,
            replies: p
                .replies
                .iter()
                .map(|r| {
                    let mut flags = TracelbReplyFlags::empty();
                    let mut out = TracelbReply {
                        from: Addr::from(r.from),
                        rx: Timestamp::from_system_time(r.rx),
                        ipid: if self.spec.dst.is_ipv4() { r.ipid } else { 0 },
                        ttl: 0,
                        flags,
                        icmp_type: 0,
                        icmp_code: 0,
                        icmp_q_ttl: 0,
                        icmp_q_tos: 0,
                        tcp_flags: 0,
                        icmp_exts: r.ext.clone(),
                    };
                    if let Some(t) = r.ttl {
                        out.ttl = t;
                        flags.set(TracelbReplyFlags::REPLY_TTL, true);
                    }
                    if let Some((t, c, qt, qtos)) = r.icmp {
                        out.icmp_type = t;
                        out.icmp_code = c;
                        out.icmp_q_ttl = qt;
                        out.icmp_q_tos = qtos;
                    }
                    if let Some(f) = r.tcp_flags {
                        out.tcp_flags = f;
                        flags.set(TracelbReplyFlags::TCP, true);
                    }
                    out.flags = flags;
                    out
                })
                .collect(),
        }
    }

    /// The probes flow `f` sent at `ttl`, in order (`index`: probe indices by
    /// flow and TTL).
    fn probes_of(
        &self,
        index: &HashMap<(u16, u8), Vec<usize>>,
        f: u16,
        ttl: u8,
    ) -> Vec<TracelbProbe> {
        index
            .get(&(f, ttl))
            .map(|v| {
                v.iter()
                    .map(|&i| self.model_probe(&self.probes[i]))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Nodes and links from what every flow met.
    fn graph(&self) -> (Vec<TracelbNode>, Vec<TracelbLink>) {
        // nodes: by first TTL, then first flow that met them
        let mut firsts: Vec<(u8, usize, IpAddr)> = Vec::new();
        for (f, path) in self.paths.iter().enumerate() {
            for (&t, o) in path {
                if let Obs::Resp(a) = *o {
                    match firsts.iter_mut().find(|e| e.2 == a) {
                        Some(e) if (t, f) < (e.0, e.1) => {
                            e.0 = t;
                            e.1 = f;
                        }
                        Some(_) => {}
                        None => firsts.push((t, f, a)),
                    }
                }
            }
        }
        firsts.sort_unstable();
        let index_of = |a: IpAddr| {
            firsts
                .iter()
                .position(|e| e.2 == a)
                .and_then(|i| u16::try_from(i).ok())
        };
        let nodes = firsts
            .iter()
            .map(|&(_, _, a)| {
                let mut q: Option<u8> = None;
                let mut consistent = true;
                for p in &self.probes {
                    for r in p.replies.iter().filter(|r| r.from == a) {
                        if let Some((_, _, qt, _)) = r.icmp {
                            match q {
                                None => q = Some(qt),
                                Some(x) if x != qt => consistent = false,
                                Some(_) => {}
                            }
                        }
                    }
                }
                TracelbNode {
                    addr: Some(Addr::from(a)),
                    name: None,
                    q_ttl: if consistent { q } else { None },
                }
            })
            .collect::<Vec<_>>();
        // links: (from, to) -> probe sets per hop
        let mut index: HashMap<(u16, u8), Vec<usize>> = HashMap::new();
        for (i, p) in self.probes.iter().enumerate() {
            index.entry((p.flow, p.ttl)).or_default().push(i);
        }
        let mut links: Vec<TracelbLink> = Vec::new();
        let gap_limit = self.spec.gap_limit.max(1);
        for (f, path) in self.paths.iter().enumerate() {
            let Ok(f16) = u16::try_from(f) else { break };
            let mut prev: Option<(u8, IpAddr)> = None;
            let mut last_t: Option<u8> = None;
            for (&t, o) in path {
                if last_t.is_some_and(|l| l + 1 != t) {
                    prev = None;
                }
                last_t = Some(t);
                match *o {
                    Obs::Resp(a) => {
                        if let Some((pt, pa)) = prev
                            && pa != a
                            && !self.terminal.contains(&pa)
                            && let (Some(from), Some(to)) = (index_of(pa), index_of(a))
                        {
                            let sets: Vec<Vec<TracelbProbe>> = (pt + 1..=t)
                                .map(|h| self.probes_of(&index, f16, h))
                                .collect();
                            add_link(&mut links, from, Some(to), sets);
                        }
                        prev = Some((t, a));
                    }
                    Obs::Silent => {
                        if let Some((pt, pa)) = prev
                            && t - pt == gap_limit
                            && !self.terminal.contains(&pa)
                            && let Some(from) = index_of(pa)
                        {
                            let sets: Vec<Vec<TracelbProbe>> = (pt + 1..=t)
                                .map(|h| self.probes_of(&index, f16, h))
                                .collect();
                            add_link(&mut links, from, None, sets);
                        }
                    }
                    Obs::Pending => prev = None,
                }
            }
        }
        links.sort_by_key(|l| (l.from, l.to.map_or(u32::MAX, u32::from)));
        (nodes, links)
    }
}

fn add_link(
    links: &mut Vec<TracelbLink>,
    from: u16,
    to: Option<u16>,
    sets: Vec<Vec<TracelbProbe>>,
) {
    if let Some(l) = links.iter_mut().find(|l| l.from == from && l.to == to) {
        if l.probesets.len() == sets.len() {
            for (have, add) in l.probesets.iter_mut().zip(sets) {
                have.extend(add);
            }
        }
        return;
    }
    links.push(TracelbLink {
        from,
        to,
        probesets: sets,
    });
}

/// The flow a port names.
fn flow_of_port(port: u16, base: u16) -> u16 {
    port.wrapping_sub(base)
}

fn model_method(m: CmdMethod) -> TracelbMethod {
    match m {
        CmdMethod::UdpDport => TracelbMethod::UdpDport,
        CmdMethod::IcmpEcho => TracelbMethod::IcmpEcho,
        CmdMethod::UdpSport => TracelbMethod::UdpSport,
        CmdMethod::TcpSport => TracelbMethod::TcpSport,
        CmdMethod::TcpAckSport => TracelbMethod::TcpAckSport,
    }
}

impl Machine for TracelbTask {
    fn poll_send(
        &mut self,
        now: Instant,
        ctx: &mut Ctx<'_>,
        buf: &mut Vec<u8>,
    ) -> Option<SendMeta> {
        if self.claims.is_blocked() || self.done {
            return None;
        }
        if self.last_tx.is_some_and(|t| t + self.spec.wait_probe > now) {
            return None;
        }
        let (ttl, flow, attempt) = self.plan()?;
        let k = u32::try_from(self.probes.len()).ok()?;
        if k >= u32::from(u16::MAX) {
            self.done = true;
            return None;
        }
        if !ctx.claim(self.flow_key(flow), &mut self.claims) {
            return None;
        }
        let ipid = ctx.next_ipid();
        if let Err(e) = crate::convert::build(&self.probe_desc(k, ttl, flow, ipid), buf) {
            self.errmsg = Some(format!("could not build probe with TTL {ttl}: {e}"));
            self.done = true;
            return None;
        }
        if attempt > 0 {
            self.retries.retain(|r| *r != (ttl, flow, attempt));
        }
        if usize::from(flow) == self.paths.len() {
            self.paths.push(BTreeMap::new());
            if ttl == self.level {
                *self.new_flows.entry(ttl).or_default() += 1;
            }
        }
        self.paths[usize::from(flow)].insert(ttl, Obs::Pending);
        self.probes.push(ProbeState {
            ttl,
            flow,
            attempt,
            csum: crate::convert::transport_checksum(buf),
            tx_us: micros(now.saturating_duration_since(self.start)),
            tx_wall_us: 0,
            outstanding: true,
            replies: Vec::new(),
        });
        self.last_tx = Some(now);
        Some(SendMeta {
            probe: k,
            dst: self.spec.dst,
        })
    }

    fn wants_send(&self, now: Instant) -> bool {
        if self.claims.is_blocked() || self.done {
            return false;
        }
        self.last_tx.is_none_or(|t| t + self.spec.wait_probe <= now) && self.plan().is_some()
    }

    fn next_deadline(&self, now: Instant) -> Option<Instant> {
        if self.done {
            return None;
        }
        let mut best: Option<Instant> = None;
        let mut take = |t: Instant| best = Some(best.map_or(t, |b: Instant| b.min(t)));
        if !self.claims.is_blocked()
            && let Some(t) = self.last_tx.map(|t| t + self.spec.wait_probe)
            && t > now
            && self.plan().is_some()
        {
            take(t);
        }
        for p in self.probes.iter().filter(|p| p.outstanding) {
            take(self.deadline(p));
        }
        best
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.done {
            return;
        }
        for i in 0..self.probes.len() {
            let p = &self.probes[i];
            if !p.outstanding || self.deadline(p) > now {
                continue;
            }
            let (ttl, flow, attempt) = (p.ttl, p.flow, p.attempt);
            self.probes[i].outstanding = false;
            if self.obs(flow, ttl) != Some(Obs::Pending) {
                continue;
            }
            if attempt + 1 < self.spec.attempts {
                self.retries.push((ttl, flow, attempt + 1));
            } else if let Some(path) = self.paths.get_mut(usize::from(flow)) {
                path.insert(ttl, Obs::Silent);
            }
        }
        self.advance();
    }

    fn handle_reply(&mut self, _now: Instant, rx: &Rx<'_>) -> bool {
        if self.done {
            return false;
        }
        let Some(k) = self.match_probe(rx) else {
            return false;
        };
        let rec = Self::record(rx);
        let terminal = self.is_terminal(&rec);
        let from = rec.from;
        let p = &mut self.probes[k as usize];
        if p.replies.len() >= usize::from(MAX_REPLIES_PER_PROBE) {
            return false;
        }
        p.replies.push(rec);
        p.outstanding = false;
        let (ttl, flow) = (p.ttl, p.flow);
        if terminal && !self.terminal.contains(&from) {
            self.terminal.push(from);
        }
        if let Some(path) = self.paths.get_mut(usize::from(flow))
            && matches!(path.get(&ttl), Some(Obs::Pending | Obs::Silent))
        {
            path.insert(ttl, Obs::Resp(from));
            self.retries.retain(|r| (r.0, r.1) != (ttl, flow));
            // a later attempt still outstanding no longer matters
            for q in &mut self.probes {
                if q.flow == flow && q.ttl == ttl {
                    q.outstanding = false;
                }
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
                self.errmsg = Some(e.message);
                self.done = true;
            }
        }
    }

    fn halt(&mut self) {
        self.done = true;
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn claims(&self) -> &FlowClaims {
        &self.claims
    }

    fn claims_mut(&mut self) -> &mut FlowClaims {
        &mut self.claims
    }

    fn progress_due(&mut self) -> bool {
        false
    }

    fn result(&self) -> Measurement {
        let spec = &self.spec;
        let (nodes, links) = self.graph();
        let t = Tracelb {
            list: None,
            cycle: None,
            user_id: spec.user_id,
            src: Some(Addr::from(self.src)),
            dst: Addr::from(spec.dst),
            rtr: None,
            start: Timestamp::from_system_time(self.start_wall),
            method: model_method(spec.method),
            sport: self.sport,
            dport: self.dport,
            probe_size: spec.probe_size,
            firsthop: spec.first_hop,
            wait_timeout: spec.wait_timeout,
            wait_probe: spec.wait_probe,
            attempts: spec.attempts,
            confidence: spec.confidence.percent(),
            tos: spec.tos,
            gaplimit: spec.gap_limit,
            probes_sent: u32::try_from(self.probes.len()).unwrap_or(u32::MAX),
            max_probes: u32::from(spec.max_probes),
            flags: TracelbFlags::empty(),
            errmsg: self.errmsg.clone(),
            nodes,
            links,
        };
        Measurement::Tracelb(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopping_points_follow_the_published_tables() {
        let n95: Vec<u16> = (1..=10)
            .map(|k| stopping_point(Confidence::P95, k))
            .collect();
        assert_eq!(n95, [6, 11, 16, 21, 27, 33, 38, 44, 51, 57]);
        let n99: Vec<u16> = (1..=5)
            .map(|k| stopping_point(Confidence::P99, k))
            .collect();
        assert_eq!(n99, [8, 15, 21, 28, 36]);
        assert_eq!(stopping_point(Confidence::P95, 0), 6);
        assert!(stopping_point(Confidence::P95, 40) > stopping_point(Confidence::P95, 30));
        assert!(stopping_point(Confidence::P99, 1000) > 1000);
    }

    #[test]
    fn both_tables_are_the_coverage_computation() {
        for (k, (&n95, &n99)) in N95.iter().zip(&N99).enumerate() {
            assert_eq!(
                stopping_point_by_coverage(k + 2, 0.05),
                n95,
                "95 %, k = {}",
                k + 1
            );
            assert_eq!(
                stopping_point_by_coverage(k + 2, 0.01),
                n99,
                "99 %, k = {}",
                k + 1
            );
        }
        // Beyond the tables the computation goes on, growing with k.
        assert!(stopping_point(Confidence::P95, 31) > N95[29]);
        assert!(stopping_point(Confidence::P99, 31) > N99[29]);
    }
}
