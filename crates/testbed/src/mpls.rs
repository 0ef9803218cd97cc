//! MPLS label stacks on a router's ICMP time-exceeded messages (RFC 4950), added in user
//! space.
//!
//! Linux's MPLS forwarding sends no ICMP errors at all, so a testbed router "inside an
//! MPLS tunnel" is emulated: an `iptables -t mangle -A OUTPUT -p icmp --icmp-type 11 -j
//! NFQUEUE` rule (and its `ip6tables` twin for ICMPv6 type 3) hands every time-exceeded
//! message the router generates to an [`MplsQueue`], which rewrites it with
//! [`add_mpls_extension`]: the quote is cut or zero-padded as RFC 4884 asks (at least
//! 128 bytes, whole 32-bit words for ICMPv4 and 64-bit words for ICMPv6, the whole
//! message within 576 bytes for IPv4 and 1280 for IPv6), the length field set, an
//! extension structure with one MPLS incoming label stack object appended, and the ICMP
//! and IP checksums and lengths recomputed. The kernel then sends the new bytes instead.
//!
//! Everything else (other ICMP types, messages that already carry extensions, bytes that
//! do not parse) passes unchanged.

use vantage_wire::icmp_ext::{self, CLASS_MPLS, CTYPE_MPLS_INCOMING, MplsEntry, Object};
use vantage_wire::{icmpv4, icmpv6};

use crate::nfqueue::{self, CopyMode, Message, NFQA_CFG_F_FAIL_OPEN, NLM_F_REQUEST, Verdict};
use crate::queue::{EngineError, EngineThread, QueueSocket, Recv, StopSignal};

/// The NFQUEUE queue number the MPLS rewriter uses in its router's namespace (delay
/// queues count up from 0).
pub const MPLS_QUEUE: u16 = 1000;

/// Largest IPv4 ICMP error RFC 4884 wants (the whole datagram).
const MAX_V4_DATAGRAM: usize = 576;
/// Largest IPv6 ICMP error (the IPv6 minimum MTU).
const MAX_V6_DATAGRAM: usize = 1280;
const IPV4_PROTO_ICMP: u8 = 1;
const IPV6_NEXT_ICMPV6: u8 = 58;
const IPV6_HEADER_LEN: usize = 40;
const ICMP_HEADER_LEN: usize = 8;

/// The label stack a router reports, top first. The bottom-of-stack bit is set on the
/// last entry whatever the input says.
pub fn label_stack(labels: &[u32], ttl: u8) -> Vec<MplsEntry> {
    labels
        .iter()
        .enumerate()
        .map(|(i, &label)| MplsEntry {
            label: label & 0x000f_ffff,
            exp: 0,
            bottom_of_stack: i + 1 == labels.len(),
            ttl,
        })
        .collect()
}

/// Returns `packet` (an IPv4 or IPv6 datagram carrying an ICMP time-exceeded message)
/// rewritten to carry `labels` as an RFC 4950 MPLS label stack object, or `None` when it
/// is anything else, already has extensions, or does not parse. Never panics.
pub fn add_mpls_extension(packet: &[u8], labels: &[MplsEntry]) -> Option<Vec<u8>> {
    if labels.is_empty() {
        return None;
    }
    let mut payload = Vec::with_capacity(labels.len() * 4);
    for l in labels {
        payload.extend_from_slice(&l.to_bytes());
    }
    let object = Object {
        class_num: CLASS_MPLS,
        c_type: CTYPE_MPLS_INCOMING,
        payload: &payload,
    };
    let mut ext = vec![0u8; icmp_ext::buffer_len(&[object])];
    icmp_ext::emit(&[object], &mut ext).ok()?;
    match packet.first()? >> 4 {
        4 => rewrite_v4(packet, &ext),
        6 => rewrite_v6(packet, &ext),
        _ => None,
    }
}

/// The quote to keep: at most `room` bytes, rounded down to whole `word`s (never below
/// the 128 bytes RFC 4884 pads to; shorter quotes are padded by the emitter).
fn quote_limit(quote: &[u8], room: usize, word: usize) -> &[u8] {
    let room = (room / word * word).max(icmp_ext::LEGACY_OFFSET);
    &quote[..quote.len().min(room)]
}

fn rewrite_v4(packet: &[u8], ext: &[u8]) -> Option<Vec<u8>> {
    let ip = vantage_wire::ipv4::Packet::new_checked(packet).ok()?;
    let hl = ip.header_len();
    let total = usize::from(ip.total_len());
    if u8::from(ip.protocol()) != IPV4_PROTO_ICMP || total < hl || total > packet.len() {
        return None;
    }
    if ip.frag_offset() != 0 || ip.more_frags() {
        return None;
    }
    let icmp_bytes = &packet[hl..total];
    let icmp = icmpv4::Packet::new_checked(icmp_bytes).ok()?;
    if icmp.msg_type() != icmpv4::Message::TimeExceeded || icmp.ext_length() != 0 {
        return None;
    }
    let quote = icmp.data();
    let room = MAX_V4_DATAGRAM.saturating_sub(hl + ICMP_HEADER_LEN + ext.len());
    let repr = icmpv4::Repr::TimeExceeded {
        code: icmp.msg_code(),
        quote: quote_limit(quote, room, 4),
        extensions: Some(ext),
    };
    let new_total = hl + repr.buffer_len();
    let mut out = vec![0u8; new_total];
    out[..hl].copy_from_slice(&packet[..hl]);
    {
        let mut msg = icmpv4::Packet::new_checked(&mut out[hl..]).ok()?;
        repr.emit(&mut msg).ok()?;
    }
    let mut ip = vantage_wire::ipv4::Packet::new_checked(&mut out[..]).ok()?;
    ip.set_total_len(u16::try_from(new_total).ok()?);
    ip.fill_checksum();
    Some(out)
}

fn rewrite_v6(packet: &[u8], ext: &[u8]) -> Option<Vec<u8>> {
    let ip = vantage_wire::ipv6::Packet::new_checked(packet).ok()?;
    // Only the plain layout the kernel uses for its own errors: no extension headers.
    if u8::from(ip.next_header()) != IPV6_NEXT_ICMPV6 {
        return None;
    }
    let end = IPV6_HEADER_LEN + usize::from(ip.payload_len());
    if end > packet.len() {
        return None;
    }
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let icmp = icmpv6::Packet::new_checked(&packet[IPV6_HEADER_LEN..end]).ok()?;
    if icmp.msg_type() != icmpv6::Message::TimeExceeded || icmp.ext_length() != 0 {
        return None;
    }
    let room = MAX_V6_DATAGRAM.saturating_sub(IPV6_HEADER_LEN + ICMP_HEADER_LEN + ext.len());
    let repr = icmpv6::Repr::TimeExceeded {
        code: icmp.msg_code(),
        quote: quote_limit(icmp.data(), room, 8),
        extensions: Some(ext),
    };
    let icmp_len = repr.buffer_len();
    let mut out = vec![0u8; IPV6_HEADER_LEN + icmp_len];
    out[..IPV6_HEADER_LEN].copy_from_slice(&packet[..IPV6_HEADER_LEN]);
    {
        let mut msg = icmpv6::Packet::new_checked(&mut out[IPV6_HEADER_LEN..]).ok()?;
        repr.emit(&mut msg, src, dst).ok()?;
    }
    let mut ip = vantage_wire::ipv6::Packet::new_checked(&mut out[..]).ok()?;
    ip.set_payload_len(u16::try_from(icmp_len).ok()?);
    Some(out)
}

/// Where to rewrite and what to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MplsConfig {
    /// Name of the router's namespace; `None` for the calling thread's.
    pub netns: Option<String>,
    /// NFQUEUE queue number ([`MPLS_QUEUE`] in testbeds).
    pub queue: u16,
    /// The label values reported, top of the stack first.
    pub labels: Vec<u32>,
}

/// Counters of one rewriter run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MplsStats {
    /// Packets the kernel queued.
    pub packets: u64,
    /// Packets sent on with an MPLS extension.
    pub rewritten: u64,
    /// Packets sent on unchanged.
    pub unchanged: u64,
    /// Times the socket buffer overflowed (those packets passed unchanged, fail-open).
    pub overruns: u64,
}

/// A bound NFQUEUE queue whose time-exceeded messages get an MPLS label stack.
#[derive(Debug)]
pub struct MplsQueue {
    sock: QueueSocket,
    labels: Vec<MplsEntry>,
}

impl MplsQueue {
    /// Enters `config.netns` (on the calling thread, which stays there) and binds the
    /// queue, asking for whole packets.
    pub fn open(config: &MplsConfig) -> Result<Self, EngineError> {
        let sock = QueueSocket::open(
            config.netns.as_deref(),
            config.queue,
            (CopyMode::Packet, 0xffff),
            1024,
            (NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN),
        )?;
        Ok(Self {
            sock,
            labels: label_stack(&config.labels, 1),
        })
    }

    /// Rewrites packets until `stop` fires; returns the counters.
    pub fn serve(&mut self, stop: &StopSignal) -> Result<MplsStats, EngineError> {
        let mut stats = MplsStats::default();
        let queue = self.sock.queue();
        loop {
            let ready = self.sock.wait(stop, None)?;
            if ready.stop && stop.fired() {
                return Ok(stats);
            }
            if !ready.net {
                continue;
            }
            loop {
                let n = match self.sock.recv()? {
                    Recv::Data(n) => n,
                    Recv::Empty => break,
                    Recv::Overrun => {
                        stats.overruns += 1;
                        continue;
                    }
                };
                let datagram = self.sock.buf[..n].to_vec();
                for item in nfqueue::parse(&datagram) {
                    let (_, Message::Packet(p)) = item? else {
                        continue;
                    };
                    stats.packets += 1;
                    let new = p
                        .payload
                        .and_then(|bytes| add_mpls_extension(bytes, &self.labels));
                    if new.is_some() {
                        stats.rewritten += 1;
                    } else {
                        stats.unchanged += 1;
                    }
                    self.sock.send(
                        &Message::Verdict {
                            queue,
                            id: p.id,
                            verdict: Verdict::Accept,
                            batch: false,
                            payload: new.as_deref(),
                        },
                        NLM_F_REQUEST,
                    )?;
                }
            }
        }
    }
}

/// An MPLS rewriter served on its own thread; stopped and joined on drop.
#[derive(Debug)]
pub struct MplsEngine(EngineThread<MplsStats>);

impl MplsEngine {
    /// Starts a thread that opens the queue (see [`MplsQueue::open`]) and serves it.
    /// Returns once the queue is bound, or with the reason it could not be.
    pub fn start(config: MplsConfig) -> Result<Self, EngineError> {
        let queue = config.queue;
        EngineThread::start(
            format!("mpls-q{queue}"),
            queue,
            move || MplsQueue::open(&config),
            |q: &mut MplsQueue, stop| q.serve(stop),
        )
        .map(Self)
    }

    /// Stops the rewriter and returns its counters.
    pub fn stop(self) -> Result<MplsStats, EngineError> {
        self.0.stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use vantage_wire::ipv4;

    fn labels() -> Vec<MplsEntry> {
        label_stack(&[18_005, 24_001], 1)
    }

    /// A time exceeded as Linux sends it: IPv4 header, ICMP header, quote of `quote_len`.
    fn v4_time_exceeded(quote_len: usize) -> Vec<u8> {
        let quote: Vec<u8> = (0..quote_len).map(|i| i as u8).collect();
        let repr = icmpv4::Repr::TimeExceeded {
            code: 0,
            quote: &quote,
            extensions: None,
        };
        let total = 20 + repr.buffer_len();
        let mut b = vec![0u8; total];
        b[0] = 0x45;
        b[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        b[8] = 64;
        b[9] = 1;
        b[12..16].copy_from_slice(&Ipv4Addr::new(10, 2, 4, 2).octets());
        b[16..20].copy_from_slice(&Ipv4Addr::new(10, 1, 1, 1).octets());
        repr.emit(&mut icmpv4::Packet::new_checked(&mut b[20..]).unwrap())
            .unwrap();
        ipv4::Packet::new_checked(&mut b[..])
            .unwrap()
            .fill_checksum();
        b
    }

    #[test]
    fn v4_gets_a_label_stack_and_valid_checksums() {
        let orig = v4_time_exceeded(84);
        let new = add_mpls_extension(&orig, &labels()).unwrap();
        let ip = ipv4::Packet::new_checked(&new[..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(usize::from(ip.total_len()), new.len());
        let icmp = icmpv4::Packet::new_checked(&new[20..]).unwrap();
        assert!(icmp.verify_checksum());
        // 128-byte quote (32 words), then the extension.
        assert_eq!(icmp.ext_length(), 32);
        let (quote, ext) = icmp.quote_and_extensions();
        assert_eq!(quote.len(), 128);
        assert_eq!(&quote[..84], &orig[28..]);
        assert!(quote[84..].iter().all(|&b| b == 0));
        let ext = ext.unwrap();
        assert!(ext.verify_checksum());
        let objs: Vec<_> = ext.objects().collect::<Result<_, _>>().unwrap();
        assert_eq!(objs.len(), 1);
        let entries: Vec<_> = objs[0].mpls_entries().unwrap().collect();
        assert_eq!(entries, labels());
        assert!(entries[1].bottom_of_stack && !entries[0].bottom_of_stack);
        // A second pass leaves it alone.
        assert_eq!(add_mpls_extension(&new, &labels()), None);
    }

    #[test]
    fn long_v4_quotes_are_cut_to_576_bytes() {
        let orig = v4_time_exceeded(548);
        let new = add_mpls_extension(&orig, &labels()).unwrap();
        assert!(new.len() <= 576, "{}", new.len());
        let icmp = icmpv4::Packet::new_checked(&new[20..]).unwrap();
        let (quote, ext) = icmp.quote_and_extensions();
        assert_eq!(quote.len() % 4, 0);
        assert_eq!(quote, &orig[28..28 + quote.len()]);
        assert!(ext.is_some());
    }

    #[test]
    fn v6_gets_a_label_stack() {
        let src: Ipv6Addr = "fd00:2:4::2".parse().unwrap();
        let dst: Ipv6Addr = "fd00:1:1::1".parse().unwrap();
        let quote = [0x60u8; 104];
        let repr = icmpv6::Repr::TimeExceeded {
            code: 0,
            quote: &quote,
            extensions: None,
        };
        let mut b = vec![0u8; 40 + repr.buffer_len()];
        b[0] = 0x60;
        b[4..6].copy_from_slice(&(repr.buffer_len() as u16).to_be_bytes());
        b[6] = 58;
        b[7] = 64;
        b[8..24].copy_from_slice(&src.octets());
        b[24..40].copy_from_slice(&dst.octets());
        repr.emit(
            &mut icmpv6::Packet::new_checked(&mut b[40..]).unwrap(),
            src,
            dst,
        )
        .unwrap();
        let new = add_mpls_extension(&b, &labels()).unwrap();
        let icmp = icmpv6::Packet::new_checked(&new[40..]).unwrap();
        assert!(icmp.verify_checksum(src, dst));
        assert_eq!(icmp.ext_length(), 16);
        assert_eq!(
            usize::from(u16::from_be_bytes([new[4], new[5]])),
            new.len() - 40
        );
        let (q, ext) = icmp.quote_and_extensions();
        assert_eq!(&q[..104], &quote[..]);
        let entries: Vec<_> = ext
            .unwrap()
            .objects()
            .next()
            .unwrap()
            .unwrap()
            .mpls_entries()
            .unwrap()
            .collect();
        assert_eq!(entries, labels());
    }

    #[test]
    fn other_packets_pass_unchanged() {
        let mut echo = v4_time_exceeded(84);
        echo[20] = 0; // echo reply
        assert_eq!(add_mpls_extension(&echo, &labels()), None);
        assert_eq!(add_mpls_extension(&[], &labels()), None);
        assert_eq!(add_mpls_extension(&[0x45; 10], &labels()), None);
        assert_eq!(add_mpls_extension(&v4_time_exceeded(84), &[]), None);
        let mut cut = v4_time_exceeded(84);
        cut.truncate(40);
        assert_eq!(add_mpls_extension(&cut, &labels()), None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..700)) {
            if let Some(new) = add_mpls_extension(&bytes, &labels()) {
                proptest::prop_assert!(add_mpls_extension(&new, &labels()).is_none());
            }
        }
    }
}
