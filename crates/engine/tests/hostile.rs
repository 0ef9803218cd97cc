//! Garbage and hostile packets never panic the engine and never match a
//! probe: random bytes, replies whose quote names someone else, replies for
//! probes never sent, duplicates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::*;
use proptest::prelude::*;
use vantage_engine::{Handled, Measurement, TaskId};

const DST4: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));
const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 9));

/// A world with a ping and two traces (UDP-paris and TCP) running.
fn world() -> Sim {
    let mut sim = Sim::new(1000);
    sim.net.keep_probes = true;
    let mut hops = routers4(3);
    hops.push(Hop::Silent);
    hops.push(Hop::Router(v4(10, 0, 0, 5)));
    sim.net.add_path(DST4, Path::new(hops));
    sim.start_cmd(1, "ping -c 5 -i 0.5 198.51.100.1");
    sim.start_cmd(2, "trace -w 1 198.51.100.1");
    sim.start_cmd(3, "trace -P tcp -w 1 198.51.100.1");
    sim.start_cmd(4, "ping -c 3 -i 0.5 -P udp 198.51.100.1");
    sim
}

fn clean_results() -> Vec<Measurement> {
    let mut sim = world();
    sim.run();
    (1..=4).map(|i| sim.results[&TaskId(i)].clone()).collect()
}

/// Runs the world, feeding `hostile` packets at the given offsets (ms), and
/// checks none matched and the results equal a clean run.
fn run_with(hostile: &[(u16, Vec<u8>)]) {
    let clean = clean_results();
    let mut sim = world();
    let mut plan: Vec<&(u16, Vec<u8>)> = hostile.iter().collect();
    plan.sort_by_key(|(t, _)| *t);
    for (t, bytes) in plan {
        let at = Duration::from_millis(u64::from(*t));
        if at > sim.elapsed() {
            sim.run_for(at.saturating_sub(sim.elapsed()));
        }
        let h = sim.receive(bytes);
        assert_ne!(h, Handled::Matched, "hostile packet matched: {bytes:02x?}");
    }
    sim.run();
    let got: Vec<Measurement> = (1..=4).map(|i| sim.results[&TaskId(i)].clone()).collect();
    assert_eq!(got, clean);
}

/// The bytes of a probe the world sends early on (the trace's first probe
/// and the ping's first probe), to build hostile variants from.
fn sample_probes() -> Vec<Vec<u8>> {
    let mut sim = world();
    sim.run_for(Duration::from_millis(1));
    sim.net.probes.iter().map(|(_, b)| b.clone()).collect()
}

fn set_quoted_addr(probe: &[u8], src: Option<IpAddr>, dst: Option<IpAddr>) -> Vec<u8> {
    let mut p = probe.to_vec();
    if let Some(IpAddr::V4(a)) = src {
        p[12..16].copy_from_slice(&a.octets());
    }
    if let Some(IpAddr::V4(a)) = dst {
        p[16..20].copy_from_slice(&a.octets());
    }
    p
}

#[test]
fn crafted_replies_with_wrong_fields_never_match() {
    let probes = sample_probes();
    let r = v4(10, 0, 0, 1);
    let mut hostile = Vec::new();
    for probe in &probes {
        let info = parse_probe(probe);
        // quote naming another source, another destination
        let bad_src = set_quoted_addr(probe, Some(OTHER), None);
        let bad_dst = set_quoted_addr(probe, None, Some(OTHER));
        hostile.push((1, icmp_error(r, &bad_src, 11, 0, QuoteLen::Full, None, 1)));
        hostile.push((1, icmp_error(r, &bad_dst, 11, 0, QuoteLen::Full, None, 2)));
        // the right quote, sent to an address that is not ours
        let mut to_other = icmp_error(r, probe, 11, 0, QuoteLen::Full, None, 3);
        to_other[16..20].copy_from_slice(&[192, 0, 2, 99]);
        to_other[10..12].copy_from_slice(&[0, 0]);
        let c = vantage_wire::checksum::checksum(&to_other[..20]);
        to_other[10..12].copy_from_slice(&c.to_be_bytes());
        hostile.push((1, to_other));
        // a quote of the protocol's wrong type
        let mut wrong_proto = probe.clone();
        wrong_proto[9] = if info.proto == 17 { 6 } else { 17 };
        hostile.push((
            1,
            icmp_error(r, &wrong_proto, 11, 0, QuoteLen::Full, None, 4),
        ));
        // a discriminator for a probe never sent
        let mut unsent = probe.clone();
        match info.proto {
            17 => unsent[info.header_len + 6..info.header_len + 8]
                .copy_from_slice(&999u16.to_be_bytes()),
            6 => unsent[info.header_len + 4] ^= 0x80,
            1 => unsent[info.header_len + 6..info.header_len + 8]
                .copy_from_slice(&999u16.to_be_bytes()),
            _ => {}
        }
        hostile.push((1, icmp_error(r, &unsent, 11, 0, QuoteLen::Full, None, 5)));
        // a quote too short to say anything
        hostile.push((
            1,
            icmp_error(r, probe, 11, 0, QuoteLen::Transport(2), None, 6),
        ));
        if info.proto == 1 {
            let t = info.transport;
            let id = [t[4], t[5]];
            // echo reply for an unsent sequence number
            hostile.push((
                2,
                icmp_packet(DST4, SRC4, 0, 0, [id[0], id[1], 0, 200], &[0; 8], 60, 7),
            ));
            // echo reply for a sent one, from a third party
            hostile.push((
                2,
                icmp_packet(
                    OTHER,
                    SRC4,
                    0,
                    0,
                    [id[0], id[1], t[6], t[7]],
                    &[0; 8],
                    60,
                    8,
                ),
            ));
            // an echo *request* looking like ours (raw sockets see our own probes)
            hostile.push((2, probe.clone()));
        }
        if info.proto == 6 {
            let t = info.transport;
            // RST/ACK from the target with the wrong acknowledgement
            let mut s = vec![
                t[2], t[3], t[0], t[1], 0, 0, 0, 0, 1, 2, 3, 4, 0x50, 0x14, 0, 0, 0, 0, 0, 0,
            ];
            fix_checksum(DST4, SRC4, 6, &mut s, 16);
            hostile.push((3, ip_packet(DST4, SRC4, 6, 60, 9, &s)));
        }
        // a corrupted checksum on a genuine-looking reply
        let mut bad_sum = icmp_error(r, probe, 11, 0, QuoteLen::Full, None, 10);
        let n = bad_sum.len();
        bad_sum[n - 1] ^= 0xff;
        hostile.push((1, bad_sum));
    }
    assert!(hostile.len() > 20);
    run_with(&hostile);
}

#[test]
fn replayed_replies_do_not_move_to_other_probes() {
    // every reply arrives twice: the copy stays with its probe
    let mut sim = Sim::new(1000);
    let mut path = Path::new(routers4(2));
    path.dups = 1;
    sim.net.add_path(DST4, path);
    sim.start_cmd(1, "trace -q 2 198.51.100.1");
    sim.start_cmd(2, "ping -c 4 -i 0.2 -P tcp-syn 198.51.100.1");
    sim.run();
    let t = sim.trace(1);
    assert_eq!(t.stop_reason, vantage_model::TraceStop::Completed);
    let keys: Vec<(u8, u8)> = t.hops.iter().map(|h| (h.probe_ttl, h.probe_id)).collect();
    assert_eq!(keys, vec![(1, 0), (1, 0), (2, 0), (2, 0), (3, 0)]);
    let p = sim.ping(2);
    let ids: Vec<u16> = p.replies.iter().map(|r| r.probe_id).collect();
    assert_eq!(ids, vec![0, 0, 1, 1, 2, 2, 3, 3]);
}

fn garbage() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // anything
        proptest::collection::vec(any::<u8>(), 0..120),
        // an IPv4 header to us with a random body
        (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..100)).prop_map(|(proto, body)| {
            let proto = [1, 6, 17, proto][usize::from(proto % 4)];
            ip_packet(OTHER, SRC4, proto, 64, 1, &body)
        }),
        // an ICMP error to us quoting a random packet from us to the target,
        // with ports below the engine's pool and identifiers it never uses
        (0u8..3, 1u16..32768, any::<u16>(), any::<[u8; 12]>()).prop_map(
            |(kind, port, word, rest)| {
                let (proto, l4): (u8, Vec<u8>) = match kind {
                    0 => (
                        17,
                        [
                            &port.to_be_bytes()[..],
                            &33435u16.to_be_bytes(),
                            &[0, 20],
                            &word.to_be_bytes(),
                            &rest,
                        ]
                        .concat(),
                    ),
                    1 => (
                        6,
                        [
                            &port.to_be_bytes()[..],
                            &[0, 80],
                            &word.to_be_bytes(),
                            &rest,
                        ]
                        .concat(),
                    ),
                    _ => (
                        1,
                        [&[8u8, 0, 0, 0][..], &[0, 1], &word.to_be_bytes(), &rest].concat(),
                    ),
                };
                let quoted = ip_packet(SRC4, DST4, proto, 1, 5, &l4);
                icmp_error(v4(10, 0, 0, 2), &quoted, 11, 0, QuoteLen::Full, None, 3)
            }
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn garbage_never_matches_and_changes_nothing(
        packets in proptest::collection::vec((0u16..4000, garbage()), 1..40)
    ) {
        run_with(&packets);
    }
}
