//! A deterministic simulated network and a driver for the engine, shared by
//! the integration tests.
//!
//! The network parses each probe the engine emits (with `vantage-wire`, so
//! the probe bytes are checked too), walks it along the configured path of
//! its destination and schedules the replies real routers and hosts would
//! send: time exceeded with a quote (optionally truncated, optionally with
//! MPLS extensions), echo and timestamp replies, port unreachables, TCP
//! SYN-ACK or RST, UDP answers. Hops can be silent, rate-less, looping, or
//! ECMP routers that hash on the flow fields (addresses, protocol and the
//! first four transport bytes), so Paris methods keep one path and classic
//! UDP/ICMP spread over several.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    clippy::too_many_arguments
)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant, SystemTime};

use vantage_command::{Command, Context};
use vantage_engine::{Engine, EngineConfig, Event, Handled, Measurement, MeasurementSpec, TaskId};
use vantage_wire::checksum;
use vantage_wire::icmp_ext::{self, MplsEntry, Object};
use vantage_wire::reply::{self, ReplyKind};

/// Our vantage point's addresses.
pub const SRC4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
pub const SRC6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 10));

pub fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

pub fn v6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, last))
}

/// How much of the transport header a router quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuoteLen {
    /// The whole probe.
    Full,
    /// The IP header and this many transport bytes.
    Transport(usize),
}

/// One router on a path.
#[derive(Clone, Debug)]
pub enum Hop {
    /// Answers with time exceeded from this address.
    Router(IpAddr),
    /// Answers with time exceeded and an MPLS label stack extension.
    Mpls(IpAddr, Vec<MplsEntry>),
    /// Drops the probe silently.
    Silent,
    /// An ECMP stage: one of these routers, chosen by the flow hash.
    Ecmp(Vec<IpAddr>),
    /// Answers with destination unreachable (this code) instead of forwarding.
    Unreach(IpAddr, u8),
    /// Branches of different lengths, one chosen by the flow hash; each
    /// branch is a list of routers taking one TTL each.
    Split(Vec<Vec<IpAddr>>),
}

/// The hops a flow with hash `h` meets: every [`Hop::Split`] replaced by the
/// routers of its chosen branch.
fn expand(hops: &[Hop], h: u64) -> Vec<Hop> {
    let mut out = Vec::new();
    for hop in hops {
        match hop {
            Hop::Split(branches) => {
                let b = &branches[(h % branches.len() as u64) as usize];
                out.extend(b.iter().map(|a| Hop::Router(*a)));
            }
            other => out.push(other.clone()),
        }
    }
    out
}

/// What the destination does with probes that reach it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DstMode {
    /// Answers by protocol: echo/timestamp reply, port unreachable for UDP,
    /// SYN-ACK for SYN, RST for other TCP.
    Answer,
    /// Like `Answer`, but TCP SYN gets RST-ACK and UDP gets a UDP reply.
    AnswerAlt,
    /// Never answers.
    Silent,
}

/// The route to one destination.
#[derive(Clone, Debug)]
pub struct Path {
    /// Routers at TTL 1, 2, ...
    pub hops: Vec<Hop>,
    /// What the destination (at TTL `hops.len() + 1`) does.
    pub dst_mode: DstMode,
    /// One-way delay per hop.
    pub per_hop: Duration,
    /// How much routers quote.
    pub quote: QuoteLen,
    /// Extra copies of every reply (duplicates).
    pub dups: usize,
    /// If set, the destination also answers time exceeded when the probe
    /// arrives with TTL exactly `hops.len() + 1`... no: when the probe TTL
    /// equals this value, the destination sends time exceeded from itself.
    pub dst_ttl_exceeded_at: Option<u8>,
}

impl Path {
    pub fn new(hops: Vec<Hop>) -> Self {
        Self {
            hops,
            dst_mode: DstMode::Answer,
            per_hop: Duration::from_millis(1),
            quote: QuoteLen::Full,
            dups: 0,
            dst_ttl_exceeded_at: None,
        }
    }
}

/// A packet in flight back to the engine.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    at: Instant,
    seq: u64,
    bytes: Vec<u8>,
}

/// The simulated network.
#[derive(Default)]
pub struct Net {
    pub paths: HashMap<IpAddr, Path>,
    queue: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    ipid: u16,
    /// Every probe seen: (time, bytes).
    pub probes: Vec<(Instant, Vec<u8>)>,
    /// Keep probe bytes (costly with many probes).
    pub keep_probes: bool,
    /// Count of probes seen.
    pub probe_count: u64,
    /// Probes per destination TTL for ECMP inspection: (dst, ttl) -> routers seen.
    pub ecmp_seen: HashMap<(IpAddr, u8), Vec<IpAddr>>,
}

pub struct ProbeInfo<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub proto: u8,
    pub transport: &'a [u8],
    pub header_len: usize,
}

pub fn parse_probe(bytes: &[u8]) -> ProbeInfo<'_> {
    if bytes[0] >> 4 == 4 {
        let hl = usize::from(bytes[0] & 0xf) * 4;
        ProbeInfo {
            src: IpAddr::V4(Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15])),
            dst: IpAddr::V4(Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19])),
            ttl: bytes[8],
            proto: bytes[9],
            transport: &bytes[hl..],
            header_len: hl,
        }
    } else {
        let a: [u8; 16] = bytes[8..24].try_into().unwrap();
        let b: [u8; 16] = bytes[24..40].try_into().unwrap();
        ProbeInfo {
            src: IpAddr::V6(Ipv6Addr::from(a)),
            dst: IpAddr::V6(Ipv6Addr::from(b)),
            ttl: bytes[7],
            proto: bytes[6],
            transport: &bytes[40..],
            header_len: 40,
        }
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// An IP packet around `payload`.
pub fn ip_packet(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ttl: u8,
    ipid: u16,
    payload: &[u8],
) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = (20 + payload.len()) as u16;
            let mut h = vec![0x45, 0];
            h.extend_from_slice(&total.to_be_bytes());
            h.extend_from_slice(&ipid.to_be_bytes());
            h.extend_from_slice(&[0, 0, ttl, proto, 0, 0]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            let c = checksum::checksum(&h);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            h.extend_from_slice(payload);
            h
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut h = vec![0x60, 0, 0, 0];
            h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            h.extend_from_slice(&[proto, ttl]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            h.extend_from_slice(payload);
            h
        }
        _ => panic!("mixed families"),
    }
}

/// Fills in the transport checksum at `at` (pseudo-header for all but ICMPv4).
pub fn fix_checksum(src: IpAddr, dst: IpAddr, proto: u8, msg: &mut [u8], at: usize) {
    msg[at] = 0;
    msg[at + 1] = 0;
    let mut s = checksum::sum(msg);
    if proto != 1 {
        s = checksum::combine(
            s,
            checksum::pseudo_header(src, dst, proto, msg.len() as u32),
        );
    }
    let mut c = checksum::finish(s);
    if proto == 17 && c == 0 {
        c = 0xffff;
    }
    msg[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

/// An ICMP(v6) message from `from` to `to`: type, code, the four header
/// bytes after the checksum, and the body.
pub fn icmp_packet(
    from: IpAddr,
    to: IpAddr,
    ty: u8,
    code: u8,
    word: [u8; 4],
    body: &[u8],
    ttl: u8,
    ipid: u16,
) -> Vec<u8> {
    let proto = if from.is_ipv6() { 58 } else { 1 };
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(&word);
    m.extend_from_slice(body);
    fix_checksum(from, to, proto, &mut m, 2);
    ip_packet(from, to, proto, ttl, ipid, &m)
}

/// An ICMP error quoting `probe` as a router sees it (TTL 1).
pub fn icmp_error(
    router: IpAddr,
    probe: &[u8],
    ty: u8,
    code: u8,
    quote: QuoteLen,
    mpls: Option<&[MplsEntry]>,
    ipid: u16,
) -> Vec<u8> {
    let p = parse_probe(probe);
    let v6 = router.is_ipv6();
    let mut q = probe.to_vec();
    // the router received it with TTL 1
    if v6 {
        q[7] = 1;
    } else {
        q[8] = 1;
        q[10] = 0;
        q[11] = 0;
        let c = checksum::checksum(&q[..p.header_len]);
        q[10..12].copy_from_slice(&c.to_be_bytes());
    }
    if let QuoteLen::Transport(n) = quote {
        q.truncate((p.header_len + n).min(q.len()));
    }
    let mut word = [0u8; 4];
    if let Some(entries) = mpls {
        // RFC 4884: pad the quote to 128 bytes, length field in words
        q.resize(128.max(q.len().next_multiple_of(8)), 0);
        if v6 {
            word[0] = (q.len() / 8) as u8;
        } else {
            word[1] = (q.len() / 4) as u8;
        }
        let payload: Vec<u8> = entries.iter().flat_map(MplsEntry::to_bytes).collect();
        let objs = [Object {
            class_num: 1,
            c_type: 1,
            payload: &payload,
        }];
        let mut ext = vec![0u8; icmp_ext::buffer_len(&objs)];
        icmp_ext::emit(&objs, &mut ext).unwrap();
        q.extend_from_slice(&ext);
    }
    icmp_packet(router, p.src, ty, code, word, &q, 250, ipid)
}

fn flow_hash(p: &ProbeInfo<'_>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    };
    for b in match p.src {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    } {
        eat(b);
    }
    for b in match p.dst {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    } {
        eat(b);
    }
    eat(p.proto);
    for &b in p.transport.iter().take(4) {
        eat(b);
    }
    h
}

/// Copies the probe's IPv4 options into `reply` (whose header has none),
/// filled in as the routers of `route` (then the destination) would: record
/// route stores addresses, timestamps-only stores 1000, 1001, ...
pub fn with_recorded_options(reply: &[u8], opts: &[u8], route: &[IpAddr]) -> Vec<u8> {
    let mut o = opts.to_vec();
    if o.len() >= 4 && (o[0] == 7 || o[0] == 68) {
        let len = usize::from(o[1]).min(o.len());
        // record route and timestamps-only take 4 bytes per hop, the others 8
        let tsonly_or_rr = o[0] == 7 || o[3].trailing_zeros() >= 4;
        let step = if tsonly_or_rr { 4 } else { 8 };
        let mut ptr = usize::from(o[2]);
        for (i, a) in route.iter().enumerate() {
            let IpAddr::V4(a) = a else { continue };
            if ptr + step - 1 > len {
                break;
            }
            let at = ptr - 1;
            if o[0] == 7 {
                o[at..at + 4].copy_from_slice(&a.octets());
            } else {
                o[at..at + 4].copy_from_slice(&(1000 + i as u32).to_be_bytes());
            }
            ptr += step;
        }
        o[2] = ptr as u8;
    }
    let hl = 20 + o.len();
    let mut out = reply[..20].to_vec();
    out.extend_from_slice(&o);
    out.extend_from_slice(&reply[20..]);
    out[0] = 0x40 | (hl / 4) as u8;
    let total = out.len() as u16;
    out[2..4].copy_from_slice(&total.to_be_bytes());
    out[10] = 0;
    out[11] = 0;
    let c = checksum::checksum(&out[..hl]);
    out[10..12].copy_from_slice(&c.to_be_bytes());
    out
}

impl Net {
    /// The router addresses on the way to `dst`, then `dst` itself.
    fn route_addrs(&self, dst: IpAddr) -> Vec<IpAddr> {
        let mut v: Vec<IpAddr> = self.paths[&dst]
            .hops
            .iter()
            .filter_map(|h| match h {
                Hop::Router(a) | Hop::Mpls(a, _) | Hop::Unreach(a, _) => Some(*a),
                _ => None,
            })
            .collect();
        v.push(dst);
        v
    }

    pub fn add_path(&mut self, dst: IpAddr, path: Path) {
        self.paths.insert(dst, path);
    }

    fn next_ipid(&mut self) -> u16 {
        self.ipid = self.ipid.wrapping_add(1);
        self.ipid
    }

    /// Queues `bytes` for delivery to the engine at `at`.
    pub fn deliver(&mut self, at: Instant, bytes: Vec<u8>) {
        self.seq += 1;
        self.queue.push(Reverse(InFlight {
            at,
            seq: self.seq,
            bytes,
        }));
    }

    /// The next delivery time.
    pub fn next_time(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse(f)| f.at)
    }

    /// Pops a packet due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.queue.peek().is_some_and(|Reverse(f)| f.at <= now) {
            self.queue.pop().map(|Reverse(f)| f.bytes)
        } else {
            None
        }
    }

    /// A probe leaves the engine at `now`.
    pub fn inject(&mut self, now: Instant, probe: &[u8]) {
        self.probe_count += 1;
        if self.keep_probes {
            self.probes.push((now, probe.to_vec()));
        }
        // the probe must be well-formed with a valid checksum
        let parsed = if probe[0] >> 4 == 4 {
            reply::parse_ipv4(probe)
        } else {
            reply::parse_ipv6(probe)
        };
        let parsed = parsed.expect("engine emitted an unparseable probe");
        assert!(parsed.verify_checksum(), "probe checksum does not verify");
        let p = parse_probe(probe);
        let Some(mut path) = self.paths.get(&p.dst).cloned() else {
            return;
        };
        path.hops = expand(&path.hops, flow_hash(&p));
        let ttl = p.ttl;
        let hops = path.hops.len();
        let rtt = |n: usize| path.per_hop * (2 * n as u32);
        let mut out: Vec<(Duration, Vec<u8>)> = Vec::new();
        if usize::from(ttl) <= hops {
            let at = usize::from(ttl);
            // walk: an unreach hop before the TTL runs out stops the probe
            for (i, h) in path.hops.iter().enumerate().take(at) {
                if let Hop::Unreach(a, code) = h {
                    let ty = if a.is_ipv6() { 1 } else { 3 };
                    let id = self.next_ipid();
                    out.push((
                        rtt(i + 1),
                        icmp_error(*a, probe, ty, *code, path.quote, None, id),
                    ));
                    break;
                }
                if i + 1 < at {
                    continue;
                }
                let ty = if p.dst.is_ipv6() { 3 } else { 11 };
                let id = self.next_ipid();
                match h {
                    Hop::Router(a) => {
                        out.push((rtt(at), icmp_error(*a, probe, ty, 0, path.quote, None, id)));
                    }
                    Hop::Mpls(a, e) => out.push((
                        rtt(at),
                        icmp_error(*a, probe, ty, 0, path.quote, Some(e), id),
                    )),
                    Hop::Ecmp(alts) => {
                        let a = alts[(flow_hash(&p) % alts.len() as u64) as usize];
                        self.ecmp_seen.entry((p.dst, ttl)).or_default().push(a);
                        out.push((rtt(at), icmp_error(a, probe, ty, 0, path.quote, None, id)));
                    }
                    Hop::Silent | Hop::Unreach(..) | Hop::Split(_) => {}
                }
            }
        } else {
            // past every router: check for unreach on the way
            let unreach = path.hops.iter().enumerate().find_map(|(i, h)| match h {
                Hop::Unreach(a, c) => Some((i, *a, *c)),
                _ => None,
            });
            if let Some((i, a, code)) = unreach {
                let ty = if a.is_ipv6() { 1 } else { 3 };
                let id = self.next_ipid();
                out.push((
                    rtt(i + 1),
                    icmp_error(a, probe, ty, code, path.quote, None, id),
                ));
            } else if path.dst_ttl_exceeded_at == Some(ttl) {
                let ty = if p.dst.is_ipv6() { 3 } else { 11 };
                let id = self.next_ipid();
                out.push((
                    rtt(hops + 1),
                    icmp_error(p.dst, probe, ty, 0, path.quote, None, id),
                ));
            } else if let Some(r) = self.answer(&p, probe, path.dst_mode) {
                out.push((rtt(hops + 1), r));
            }
        }
        for (d, bytes) in out {
            for _ in 0..path.dups {
                self.deliver(now + d + Duration::from_micros(10), bytes.clone());
            }
            self.deliver(now + d, bytes);
        }
    }

    /// What the destination answers.
    fn answer(&mut self, p: &ProbeInfo<'_>, probe: &[u8], mode: DstMode) -> Option<Vec<u8>> {
        if mode == DstMode::Silent {
            return None;
        }
        let alt = mode == DstMode::AnswerAlt;
        let t = p.transport;
        let (me, them) = (p.dst, p.src);
        let id = self.next_ipid();
        match p.proto {
            1 | 58 => {
                let v6 = p.proto == 58;
                match (v6, t[0]) {
                    (false, 8) | (true, 128) => {
                        let ty = if v6 { 129 } else { 0 };
                        let reply =
                            icmp_packet(me, them, ty, 0, [t[4], t[5], t[6], t[7]], &t[8..], 60, id);
                        if !v6 && p.header_len > 20 {
                            let route = self.route_addrs(p.dst);
                            return Some(with_recorded_options(
                                &reply,
                                &probe[20..p.header_len],
                                &route,
                            ));
                        }
                        Some(reply)
                    }
                    (false, 13) => {
                        let mut body = t[8..20].to_vec();
                        body[4..8].copy_from_slice(&1234u32.to_be_bytes());
                        body[8..12].copy_from_slice(&1235u32.to_be_bytes());
                        Some(icmp_packet(
                            me,
                            them,
                            14,
                            0,
                            [t[4], t[5], t[6], t[7]],
                            &body,
                            60,
                            id,
                        ))
                    }
                    _ => None,
                }
            }
            17 => {
                if alt {
                    let mut u = vec![t[2], t[3], t[0], t[1], 0, 12, 0, 0, 1, 2, 3, 4];
                    fix_checksum(me, them, 17, &mut u, 6);
                    Some(ip_packet(me, them, 17, 60, id, &u))
                } else {
                    let (ty, code) = if p.dst.is_ipv6() { (1, 4) } else { (3, 3) };
                    Some(icmp_error(me, probe, ty, code, QuoteLen::Full, None, id))
                }
            }
            6 => {
                let seq = be32(t, 4);
                let ack = be32(t, 8);
                let flags = t[13];
                let (rseq, rack, rflags) = if flags & 0x02 != 0 && flags & 0x10 == 0 {
                    // SYN
                    if alt {
                        (0, seq.wrapping_add(1), 0x14)
                    } else {
                        (7777, seq.wrapping_add(1), 0x12)
                    }
                } else if flags & 0x10 != 0 {
                    (ack, 0, 0x04)
                } else {
                    return None;
                };
                let mut s = vec![t[2], t[3], t[0], t[1]];
                s.extend_from_slice(&rseq.to_be_bytes());
                s.extend_from_slice(&rack.to_be_bytes());
                s.extend_from_slice(&[0x50, rflags, 0xff, 0xff, 0, 0, 0, 0]);
                fix_checksum(me, them, 6, &mut s, 16);
                Some(ip_packet(me, them, 6, 60, id, &s))
            }
            _ => None,
        }
    }
}

/// The engine plus the network plus a fake clock.
pub struct Sim {
    pub engine: Engine,
    pub net: Net,
    pub base: Instant,
    pub base_wall: SystemTime,
    pub now: Instant,
    pub results: HashMap<TaskId, Measurement>,
    pub finish_order: Vec<TaskId>,
    pub progress: Vec<(TaskId, Measurement)>,
    /// Transmission times (offsets from `base`).
    pub tx_times: Vec<Duration>,
    pub handled: Vec<Handled>,
    /// Times the engine asked to be woken at or before the current time.
    pub stalls: u64,
    /// Deliver ICMPv6 replies without their IPv6 header (`handle_icmpv6`).
    pub icmpv6_bare: bool,
    /// Keep every result in `results` (the scale example turns this off).
    pub keep_results: bool,
    /// Tasks finished.
    pub finished: usize,
    /// Ping replies in finished results.
    pub replies_total: usize,
    buf: Vec<u8>,
}

impl Sim {
    pub fn new(rate: u32) -> Self {
        let cfg = EngineConfig {
            rate,
            burst: 0,
            seed: 42,
        };
        Self::with_config(cfg)
    }

    pub fn with_config(cfg: EngineConfig) -> Self {
        let base = Instant::now();
        Self {
            engine: Engine::new(cfg).unwrap(),
            net: Net::default(),
            base,
            base_wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            now: base,
            results: HashMap::new(),
            finish_order: Vec::new(),
            progress: Vec::new(),
            tx_times: Vec::new(),
            handled: Vec::new(),
            stalls: 0,
            keep_results: true,
            icmpv6_bare: false,
            finished: 0,
            replies_total: 0,
            buf: Vec::new(),
        }
    }

    pub fn wall(&self, t: Instant) -> SystemTime {
        self.base_wall + t.duration_since(self.base)
    }

    pub fn elapsed(&self) -> Duration {
        self.now.duration_since(self.base)
    }

    /// Parses `cmd` (process id 0x1234) and starts it.
    pub fn start_cmd(&mut self, id: u64, cmd: &str) {
        let c = Command::parse(cmd, &Context::new(0x1234)).unwrap_or_else(|e| panic!("{cmd}: {e}"));
        let spec = MeasurementSpec::try_from(c).unwrap();
        self.start(id, spec);
    }

    pub fn start(&mut self, id: u64, spec: MeasurementSpec) {
        let src = if spec.dst().is_ipv4() { SRC4 } else { SRC6 };
        let wall = self.wall(self.now);
        self.engine
            .start(TaskId(id), spec, src, self.now, wall)
            .unwrap();
    }

    /// Delivers a packet to the engine now.
    pub fn receive(&mut self, bytes: &[u8]) -> Handled {
        let wall = self.wall(self.now);
        let h = self.engine.handle_packet(self.now, wall, bytes);
        self.handled.push(h);
        h
    }

    fn pump(&mut self) {
        while let Some(b) = self.net.pop_due(self.now) {
            let wall = self.wall(self.now);
            let h = if self.icmpv6_bare && b[0] >> 4 == 6 && b[6] == 58 {
                // as a Linux raw ICMPv6 socket delivers it
                let src: [u8; 16] = b[8..24].try_into().unwrap();
                let dst: [u8; 16] = b[24..40].try_into().unwrap();
                self.engine.handle_icmpv6(
                    self.now,
                    wall,
                    src.into(),
                    dst.into(),
                    Some(b[7]),
                    &b[40..],
                )
            } else {
                self.engine.handle_packet(self.now, wall, &b)
            };
            self.handled.push(h);
        }
        self.engine.handle_timeout(self.now);
        let mut buf = std::mem::take(&mut self.buf);
        while let Some(tx) = self.engine.poll_transmit(self.now, &mut buf) {
            self.engine.on_sent(tx.probe, Ok(self.wall(self.now)));
            self.tx_times.push(self.now.duration_since(self.base));
            assert_eq!(parse_probe(&buf).dst, tx.dst);
            self.net.inject(self.now, &buf);
        }
        self.buf = buf;
        while let Some(ev) = self.engine.poll_event() {
            match ev {
                Event::Finished { task, result } => {
                    self.finished += 1;
                    if let Measurement::Ping(p) = &result {
                        self.replies_total += p.replies.len();
                    }
                    if self.keep_results {
                        self.finish_order.push(task);
                        let dup = self.results.insert(task, result).is_some();
                        assert!(!dup, "task {task} finished twice");
                    }
                }
                Event::Progress { task, result } => self.progress.push((task, result)),
                _ => {}
            }
        }
    }

    /// Runs until nothing is left to do or `limit` of simulated time passed.
    pub fn run_for(&mut self, limit: Duration) {
        let end = self.now + limit;
        loop {
            self.pump();
            let next = match (self.engine.poll_timeout(), self.net.next_time()) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            let next = if next <= self.now {
                self.stalls += 1;
                self.now + Duration::from_micros(1)
            } else {
                next
            };
            if next > end {
                self.now = end;
                self.pump();
                break;
            }
            self.now = next;
        }
    }

    pub fn run(&mut self) {
        self.run_for(Duration::from_secs(3600));
    }

    pub fn ping(&self, id: u64) -> &vantage_model::Ping {
        match self.results.get(&TaskId(id)) {
            Some(Measurement::Ping(p)) => p,
            other => panic!("task {id}: no ping result: {other:?}"),
        }
    }

    pub fn tracelb(&self, id: u64) -> &vantage_model::Tracelb {
        match self.results.get(&TaskId(id)) {
            Some(Measurement::Tracelb(t)) => t,
            other => panic!("task {id}: no tracelb result: {other:?}"),
        }
    }

    pub fn trace(&self, id: u64) -> &vantage_model::Trace {
        match self.results.get(&TaskId(id)) {
            Some(Measurement::Trace(t)) => t,
            other => panic!("task {id}: no trace result: {other:?}"),
        }
    }
}

/// The addresses of the first reply at each TTL of a trace, `None` for TTLs
/// without replies, from firsthop to hop_count.
pub fn hop_addrs(t: &vantage_model::Trace) -> Vec<Option<String>> {
    (t.firsthop..=t.hop_count as u8)
        .map(|ttl| t.first_hop_at(ttl).map(|h| h.addr.to_string()))
        .collect()
}

pub fn routers4(n: u8) -> Vec<Hop> {
    (1..=n).map(|i| Hop::Router(v4(10, 0, 0, i))).collect()
}

pub fn routers6(n: u16) -> Vec<Hop> {
    (1..=n).map(|i| Hop::Router(v6(i))).collect()
}

/// Decodes ReplyKind of a packet (for assertions on what the sim sent).
pub fn kind_of(bytes: &[u8]) -> ReplyKind {
    let r = if bytes[0] >> 4 == 4 {
        reply::parse_ipv4(bytes)
    } else {
        reply::parse_ipv6(bytes)
    };
    r.unwrap().kind
}
