//! The last line of defence: every packet the engine hands the shell is judged against the
//! VP policy right before the send system call (`vantage_policy::Policy::check_packet`).
//!
//! A command was already judged as a whole before it started; this catches what a command
//! cannot bound in advance (probes beyond a first pass, a do-not-probe list reloaded while
//! a task runs) and any mistake between the command check and the packet. A refused packet
//! is not sent, is counted by rule, and its task ends with an error naming the rule.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vantage_policy::{PacketFacts, Policy, Transport, Violation};
use vantage_wire::ipv4::{self, Ipv4Option};
use vantage_wire::{IpProtocol, ipv6, tcp, udp};

/// How long a "this address is local" answer is trusted.
const LOCAL_CACHE_TTL: Duration = Duration::from_secs(5);

/// The transport protocol of a packet, for the audit counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    Icmp,
    Udp,
    Tcp,
    Other,
}

/// Why the bytes of a packet could not be read as an IP packet (the packet is not sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreadable(pub(crate) String);

/// The facts the policy looks at, read from a complete IPv4 or IPv6 packet. `is_local`
/// says whether a source address is one of this host's (anything else is spoofed).
pub(crate) fn packet_facts(
    bytes: &[u8],
    mut is_local: impl FnMut(IpAddr) -> bool,
) -> Result<(PacketFacts, Proto), Unreadable> {
    let bad = |what: &str| Unreadable(what.to_owned());
    let version = bytes.first().map(|b| b >> 4);
    let (src, dst, ttl, protocol, l4, record_route, timestamp) = match version {
        Some(4) => {
            let p = ipv4::Packet::new_checked(bytes).map_err(|e| bad(&e.to_string()))?;
            let (mut rr, mut ts) = (false, false);
            for o in p.option_iter() {
                match o.map_err(|e| bad(&e.to_string()))? {
                    Ipv4Option::RecordRoute { .. } => rr = true,
                    Ipv4Option::Timestamp { .. } => ts = true,
                    _ => {}
                }
            }
            (
                IpAddr::V4(p.src_addr()),
                IpAddr::V4(p.dst_addr()),
                p.ttl(),
                p.protocol(),
                {
                    let hl = p.header_len();
                    let end = usize::from(p.total_len()).clamp(hl, bytes.len());
                    &bytes[hl..end]
                },
                rr,
                ts,
            )
        }
        Some(6) => {
            let p = ipv6::Packet::new_checked(bytes).map_err(|e| bad(&e.to_string()))?;
            let end = (40 + usize::from(p.payload_len())).min(bytes.len());
            let payload = &bytes[40..end];
            let upper = ipv6::walk_extension_headers(p.next_header(), payload)
                .map_err(|e| bad(&e.to_string()))?;
            (
                IpAddr::V6(p.src_addr()),
                IpAddr::V6(p.dst_addr()),
                p.hop_limit(),
                upper.protocol,
                payload.get(upper.offset..).unwrap_or(&[]),
                false,
                false,
            )
        }
        _ => return Err(bad("not an IPv4 or IPv6 packet")),
    };
    let (transport, proto, header) = match protocol {
        IpProtocol::Icmp | IpProtocol::Icmpv6 => (Transport::Icmp, Proto::Icmp, 8),
        IpProtocol::Udp => {
            let u = udp::Packet::new_checked(l4).map_err(|e| bad(&e.to_string()))?;
            (
                Transport::Udp {
                    dport: u.dst_port(),
                },
                Proto::Udp,
                8,
            )
        }
        IpProtocol::Tcp => {
            let t = tcp::Packet::new_checked(l4).map_err(|e| bad(&e.to_string()))?;
            let dport = t.dst_port();
            (Transport::Tcp { dport }, Proto::Tcp, t.header_len())
        }
        // Nothing the engine builds; judged on its addresses, TTL and size.
        _ => (Transport::Icmp, Proto::Other, 0),
    };
    let facts = PacketFacts {
        dst,
        transport,
        ttl,
        payload_len: l4.len().saturating_sub(header),
        // A link-local IPv6 source needs its interface to be bound to; the kernel refuses
        // one that is not on the link anyway.
        spoofed: !src.is_loopback() && !is_link_local(src) && !is_local(src),
        record_route,
        timestamp,
    };
    Ok((facts, proto))
}

fn is_link_local(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(_) => false,
        IpAddr::V6(v) => v.is_unicast_link_local(),
    }
}

/// The policy and a cache of which source addresses are this host's.
pub(crate) struct Guard {
    policy: Arc<Policy>,
    local: HashMap<IpAddr, bool>,
    since: Instant,
}

impl Guard {
    pub(crate) fn new(policy: Arc<Policy>) -> Self {
        Self {
            policy,
            local: HashMap::new(),
            since: Instant::now(),
        }
    }

    /// Judges one packet: its protocol when it may go, the rule it breaks when not.
    pub(crate) fn check(&mut self, bytes: &[u8]) -> Result<Proto, Refusal> {
        if self.since.elapsed() > LOCAL_CACHE_TTL {
            self.local.clear();
            self.since = Instant::now();
        }
        let local = &mut self.local;
        let (facts, proto) = packet_facts(bytes, |a| {
            *local
                .entry(a)
                .or_insert_with(|| vantage_sys::route::is_local_address(a))
        })
        .map_err(Refusal::Unreadable)?;
        self.policy.check_packet(&facts).map_err(Refusal::Policy)?;
        Ok(proto)
    }
}

/// Why the guard stopped a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    Policy(Violation),
    Unreadable(Unreadable),
}

impl Refusal {
    /// The policy key counted in the audit (`packet` for an unreadable packet).
    pub(crate) fn rule(&self) -> &'static str {
        match self {
            Refusal::Policy(v) => v.rule(),
            Refusal::Unreadable(_) => "packet",
        }
    }

    /// The task's error message.
    pub(crate) fn message(&self) -> String {
        match self {
            Refusal::Policy(v) => format!("{v}; the packet was not sent"),
            Refusal::Unreadable(u) => {
                format!("policy: packet could not be checked ({}); not sent", u.0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn v4(src: [u8; 4], dst: [u8; 4], ttl: u8, proto: u8, opts: &[u8], l4: &[u8]) -> Vec<u8> {
        let hl = 20 + opts.len();
        let mut b = vec![0u8; hl];
        b[0] = 0x40 | u8::try_from(hl / 4).unwrap();
        let total = u16::try_from(hl + l4.len()).unwrap();
        b[2..4].copy_from_slice(&total.to_be_bytes());
        b[8] = ttl;
        b[9] = proto;
        b[12..16].copy_from_slice(&src);
        b[16..20].copy_from_slice(&dst);
        b[20..].copy_from_slice(opts);
        b.extend_from_slice(l4);
        b
    }

    #[test]
    fn reads_what_the_policy_needs_from_ipv4() {
        let mut udp = vec![0u8; 8 + 12];
        udp[2..4].copy_from_slice(&33435u16.to_be_bytes());
        let p = v4([10, 0, 0, 1], [192, 0, 2, 9], 17, 17, &[], &udp);
        let (f, proto) = packet_facts(&p, |_| true).unwrap();
        assert_eq!(proto, Proto::Udp);
        assert_eq!(f.dst, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)));
        assert_eq!(f.transport, Transport::Udp { dport: 33435 });
        assert_eq!((f.ttl, f.payload_len), (17, 12));
        assert!(!f.spoofed && !f.record_route && !f.timestamp);

        // Record route (kind 7, length 39) and a foreign source.
        let mut rr = vec![7u8, 39, 4];
        rr.resize(39, 0);
        rr.push(0);
        let icmp = [8u8, 0, 0, 0, 0, 1, 0, 1, 0xaa, 0xbb];
        let p = v4([198, 51, 100, 1], [192, 0, 2, 9], 64, 1, &rr, &icmp);
        let (f, proto) = packet_facts(&p, |_| false).unwrap();
        assert_eq!(proto, Proto::Icmp);
        assert!(f.record_route && f.spoofed && !f.timestamp);
        assert_eq!(f.payload_len, 2);

        let mut tcp = vec![0u8; 24];
        tcp[2..4].copy_from_slice(&22u16.to_be_bytes());
        tcp[12] = 6 << 4;
        let p = v4([127, 0, 0, 1], [192, 0, 2, 9], 64, 6, &[], &tcp);
        let (f, _) = packet_facts(&p, |_| false).unwrap();
        assert_eq!(f.transport, Transport::Tcp { dport: 22 });
        assert_eq!(f.payload_len, 0);
        assert!(!f.spoofed, "loopback is always ours");

        // A transport header cut short is refused, not guessed at.
        let p = v4([10, 0, 0, 1], [192, 0, 2, 9], 17, 17, &[], &[0u8; 3]);
        assert!(packet_facts(&p, |_| true).is_err());
        let p = v4([10, 0, 0, 1], [192, 0, 2, 9], 17, 6, &[], &[0u8; 16]);
        assert!(packet_facts(&p, |_| true).is_err());
    }

    #[test]
    fn reads_ipv6_and_refuses_garbage() {
        let mut b = vec![0u8; 40];
        b[0] = 0x60;
        b[4..6].copy_from_slice(&8u16.to_be_bytes());
        b[6] = 17;
        b[7] = 3;
        b[23] = 1; // ::1 as source
        b[24] = 0x20;
        b[25] = 0x01;
        b[26] = 0x0d;
        b[27] = 0xb8;
        b.extend_from_slice(&[0, 1, 0, 53, 0, 8, 0, 0]);
        let (f, proto) = packet_facts(&b, |_| false).unwrap();
        assert_eq!(proto, Proto::Udp);
        assert_eq!(f.transport, Transport::Udp { dport: 53 });
        assert_eq!((f.ttl, f.payload_len, f.spoofed), (3, 0, false));
        b[8] = 0xfe; // fe80::1 as source
        b[9] = 0x80;
        b[23] = 1;
        assert!(!packet_facts(&b, |_| false).unwrap().0.spoofed);
        b[8] = 0x20; // 2001::1: not ours
        b[9] = 0x01;
        assert!(packet_facts(&b, |_| false).unwrap().0.spoofed);
        assert!(packet_facts(&[0x45, 0], |_| true).is_err());
        assert!(packet_facts(&[], |_| true).is_err());
        assert!(packet_facts(&[0x10; 40], |_| true).is_err());
    }

    #[test]
    fn the_guard_names_the_rule() {
        let policy = Policy::from_toml(
            "[destinations]\nallow = [\"127.0.0.0/8\"]\n[options]\nmax_ttl = 16\n",
            "text",
            None,
        )
        .unwrap();
        let mut g = Guard::new(Arc::new(policy));
        let icmp = [8u8, 0, 0, 0, 0, 1, 0, 1];
        let ok = v4([127, 0, 0, 1], [127, 0, 0, 2], 16, 1, &[], &icmp);
        assert_eq!(g.check(&ok), Ok(Proto::Icmp));
        let high = v4([127, 0, 0, 1], [127, 0, 0, 2], 17, 1, &[], &icmp);
        let r = g.check(&high).unwrap_err();
        assert_eq!(r.rule(), "options.max_ttl");
        assert!(
            r.message().starts_with("policy: ttl 17 above max_ttl 16"),
            "{}",
            r.message()
        );
        let far = v4([127, 0, 0, 1], [192, 0, 2, 1], 5, 1, &[], &icmp);
        assert_eq!(g.check(&far).unwrap_err().rule(), "destinations.allow");
        let spoofed = v4([192, 0, 2, 55], [127, 0, 0, 2], 5, 1, &[], &icmp);
        assert_eq!(g.check(&spoofed).unwrap_err().rule(), "options.spoof");
        assert_eq!(g.check(&[1, 2, 3]).unwrap_err().rule(), "packet");
    }

    /// Figure, not a check: what the packet check costs per packet (run with
    /// `cargo test -p vantage-probe --release --lib -- --ignored --nocapture guard_cost`).
    #[test]
    #[ignore = "a figure, not a check"]
    fn guard_cost() {
        use std::fmt::Write as _;
        let mut dnp = String::new();
        for i in 0u32..100_000 {
            let _ = writeln!(
                dnp,
                "{}/32",
                Ipv4Addr::from_bits(i.wrapping_mul(2_654_435_761))
            );
        }
        let list = vantage_policy::DnpList::parse(&dnp, std::path::Path::new("x")).unwrap();
        let policy = Policy::from_toml("[destinations]\nallow = [\"127.0.0.0/8\"]\n", "t", None)
            .unwrap()
            .with_do_not_probe(Arc::new(vantage_policy::DoNotProbe::with_list("x", list)));
        let mut g = Guard::new(Arc::new(policy));
        let mut udp = vec![0u8; 8 + 12];
        udp[2..4].copy_from_slice(&33435u16.to_be_bytes());
        let p = v4([127, 0, 0, 1], [127, 0, 0, 2], 17, 17, &[], &udp);
        let n = 1_000_000u32;
        let start = Instant::now();
        for _ in 0..n {
            assert!(g.check(std::hint::black_box(&p)).is_ok());
        }
        let per = start.elapsed() / n;
        println!("packet check: {per:?} per packet (100k-prefix do-not-probe list)");
    }
}
