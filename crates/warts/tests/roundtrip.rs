//! Property tests: model -> warts -> model is the identity for every record
//! type, within the value ranges warts can hold.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use proptest::collection::vec;
use proptest::option::of as opt;
use proptest::prelude::*;
use vantage_model::*;
use vantage_warts::{Reader, Writer};

fn addr() -> impl Strategy<Value = Addr> {
    prop_oneof![
        6 => any::<[u8; 4]>().prop_map(|b| Addr::V4(Ipv4Addr::from(b))),
        3 => any::<[u8; 16]>().prop_map(|b| Addr::V6(Ipv6Addr::from(b))),
        1 => any::<[u8; 6]>().prop_map(Addr::Ethernet),
        1 => any::<[u8; 8]>().prop_map(Addr::Firewire),
    ]
}

/// A few distinct addresses, so references get exercised.
fn addr_from(pool: Vec<Addr>) -> impl Strategy<Value = Addr> {
    proptest::sample::select(pool)
}

fn pool() -> impl Strategy<Value = Vec<Addr>> {
    vec(addr(), 1..6)
}

fn text() -> impl Strategy<Value = String> {
    "[ -~]{0,24}"
}

fn ts() -> impl Strategy<Value = Timestamp> {
    (any::<u32>(), 0u32..1_000_000).prop_map(|(s, u)| Timestamp::new(s, u))
}

fn micros(max: u64) -> impl Strategy<Value = Duration> {
    (0..=max).prop_map(Duration::from_micros)
}

fn units(unit: Duration, max: u32) -> impl Strategy<Value = Duration> {
    (0..=max).prop_map(move |n| unit * n)
}

fn secs_us(max_s: u64) -> impl Strategy<Value = Duration> {
    (0..=max_s, 0u64..1_000_000)
        .prop_map(|(s, us)| Duration::from_secs(s) + Duration::from_micros(us))
}

fn list() -> impl Strategy<Value = Arc<List>> {
    (any::<u32>(), text(), opt(text()), opt(text())).prop_map(|(id, name, descr, monitor)| {
        Arc::new(List {
            id,
            name,
            descr,
            monitor,
        })
    })
}

fn cycle() -> impl Strategy<Value = Arc<Cycle>> {
    (
        list(),
        any::<u32>(),
        any::<u32>(),
        opt(any::<u32>()),
        opt(text()),
    )
        .prop_map(|(list, id, start_time, stop_time, hostname)| {
            Arc::new(Cycle {
                list,
                id,
                start_time,
                stop_time,
                hostname,
            })
        })
}

fn lc() -> impl Strategy<Value = (Option<Arc<List>>, Option<Arc<Cycle>>)> {
    (opt(list()), opt(cycle()))
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

fn exts() -> impl Strategy<Value = Vec<IcmpExt>> {
    vec(
        (any::<u8>(), any::<u8>(), bytes(12)).prop_map(|(class, ctype, data)| IcmpExt {
            class,
            ctype,
            data,
        }),
        0..3,
    )
}

fn ping_reply(pool: Vec<Addr>, sent: u16) -> impl Strategy<Value = PingReply> {
    let a = addr_from(pool.clone());
    (
        (
            0..sent,
            a,
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            any::<u32>(),
            any::<u8>(),
        ),
        (
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            micros(u64::from(u32::MAX)),
            opt(ts()),
            any::<u16>(),
            any::<u16>(),
        ),
        (
            any::<u16>(),
            opt(vec(addr_from(pool.clone()), 0..4)),
            opt((vec(any::<u32>(), 0..4), any::<bool>())),
            opt(any::<[u32; 3]>()),
            opt("[a-z0-9]{1,6}"),
            vec(addr_from(pool), 4),
        ),
    )
        .prop_map(|(a, b, c)| {
            let (probe_id, from, flags, reply_ttl, reply_tos, reply_size, reply_ipid, reply_proto) =
                a;
            let (icmp_type, icmp_code, tcp_flags, rtt, tx, probe_ipid, probe_sport) = b;
            let (nhmtu, rr, ip_ts, icmp_ts, ifname, ts_addrs) = c;
            PingReply {
                probe_id,
                from,
                flags: PingReplyFlags(flags),
                reply_ttl,
                reply_tos,
                reply_size,
                reply_ipid,
                reply_proto,
                icmp_type,
                icmp_code,
                tcp_flags,
                rtt,
                tx,
                probe_ipid,
                probe_sport,
                nhmtu,
                rr,
                ip_ts: ip_ts.map(|(timestamps, with_addrs)| PingIpTimestamps {
                    addrs: if with_addrs {
                        ts_addrs[..timestamps.len()].to_vec()
                    } else {
                        Vec::new()
                    },
                    timestamps,
                }),
                icmp_ts: icmp_ts.map(|[originate, receive, transmit]| IcmpTimestamps {
                    originate,
                    receive,
                    transmit,
                }),
                ifname,
            }
        })
}

fn ping() -> impl Strategy<Value = Ping> {
    (pool(), 1u16..6).prop_flat_map(|(pool, sent)| {
        (
            (
                lc(),
                any::<u32>(),
                opt(addr_from(pool.clone())),
                addr_from(pool.clone()),
                opt(addr()),
                ts(),
            ),
            (
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
                any::<u32>(),
                bytes(20),
                any::<u16>(),
                any::<u16>(),
            ),
            (
                secs_us(255),
                secs_us(255),
                any::<u8>(),
                any::<u8>(),
                any::<u16>(),
                any::<u16>(),
                any::<u16>(),
            ),
            (
                any::<u16>(),
                any::<u16>(),
                any::<u32>(),
                any::<u32>(),
                vec(addr_from(pool.clone()), 0..3),
                opt(text()),
            ),
            vec(ping_reply(pool, sent), 0..5),
        )
            .prop_map(move |(a, b, c, d, replies)| {
                let ((list, cycle), user_id, src, dst, rtr, start) = a;
                let (stop, stop_data, method, flags, data, attempts, probe_size) = b;
                let (wait_probe, wait_timeout, ttl, tos, stop_count, sport, dport) = c;
                let (icmp_csum, pmtu, tcp_seq, tcp_ack, tsps, errmsg) = d;
                let mut replies = replies;
                replies.sort_by_key(|r| r.probe_id);
                Ping {
                    list,
                    cycle,
                    user_id,
                    src,
                    dst,
                    rtr,
                    start,
                    stop_reason: PingStop::from_code(stop),
                    stop_data,
                    method: PingMethod::from_code(method),
                    flags: PingFlags(flags),
                    data,
                    attempts,
                    probe_size,
                    wait_probe,
                    wait_timeout,
                    ttl,
                    tos,
                    stop_count,
                    probes_sent: sent,
                    sport,
                    dport,
                    icmp_csum,
                    pmtu,
                    tcp_seq,
                    tcp_ack,
                    tsps,
                    errmsg,
                    replies,
                }
            })
    })
}

fn trace_hop(pool: Vec<Addr>) -> impl Strategy<Value = TraceHop> {
    (
        (
            addr_from(pool),
            opt(text()),
            1u8..=40,
            any::<u8>(),
            any::<u16>(),
            opt(ts()),
            micros(u64::from(u32::MAX)),
        ),
        (
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
        ),
        (
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            any::<u8>(),
            exts(),
        ),
    )
        .prop_map(|(a, b, c)| {
            let (addr, name, probe_ttl, probe_id, probe_size, tx, rtt) = a;
            let (flags, reply_ttl, reply_tos, reply_ipid, reply_size, icmp_type, icmp_code) = b;
            let (icmp_q_ipl, icmp_q_ttl, icmp_q_tos, nhmtu, tcp_flags, icmp_exts) = c;
            TraceHop {
                addr,
                name,
                probe_ttl,
                probe_id,
                probe_size,
                tx,
                rtt,
                flags: TraceReplyFlags(flags),
                reply_ttl,
                reply_tos,
                reply_ipid,
                reply_size,
                icmp_type,
                icmp_code,
                icmp_q_ipl,
                icmp_q_ttl,
                icmp_q_tos,
                nhmtu,
                tcp_flags,
                icmp_exts,
            }
        })
}

fn trace() -> impl Strategy<Value = Trace> {
    pool().prop_flat_map(|pool| {
        let pmtud = (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            vec(trace_hop(pool.clone()), 0..3),
            vec((any::<u8>(), any::<u16>(), opt(0u16..3)), 0..3),
        )
            .prop_map(|(version, if_mtu, path_mtu, out_mtu, hops, notes)| {
                let n = hops.len() as u16;
                let notes = notes
                    .into_iter()
                    .map(|(k, nhmtu, hop)| PmtudNote {
                        kind: PmtudNoteKind::from_code(k),
                        nhmtu,
                        hop: hop.filter(|h| *h < n),
                    })
                    .collect();
                TracePmtud {
                    version,
                    if_mtu,
                    path_mtu,
                    out_mtu,
                    hops,
                    notes,
                }
            });
        let dt = (
            any::<u8>(),
            opt(addr_from(pool.clone())),
            opt(addr_from(pool.clone())),
            opt(text()),
            any::<u8>(),
        )
            .prop_map(
                |(firsthop, lss_stop, gss_stop, lss_name, flags)| TraceDoubletree {
                    firsthop,
                    lss_stop,
                    gss_stop,
                    lss_name,
                    flags: DoubletreeFlags(flags),
                },
            );
        (
            (
                lc(),
                any::<u32>(),
                opt(addr_from(pool.clone())),
                addr_from(pool.clone()),
                opt(addr()),
                ts(),
            ),
            (
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
                any::<u32>(),
                any::<u8>(),
                any::<u8>(),
                1u8..=255,
            ),
            (
                any::<u16>(),
                any::<u16>(),
                any::<u16>(),
                any::<u8>(),
                units(Duration::from_secs(1), 255),
            ),
            (
                units(Duration::from_millis(10), 255),
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
            ),
            (
                0u16..=255,
                any::<u8>(),
                any::<u16>(),
                any::<u16>(),
                any::<u8>(),
                opt(text()),
            ),
            (
                vec(trace_hop(pool.clone()), 0..8),
                opt(pmtud),
                opt(vec(trace_hop(pool), 0..3)),
                opt(dt),
            ),
        )
            .prop_map(|(a, b, c, d, e, f)| {
                let ((list, cycle), user_id, src, dst, rtr, start) = a;
                let (stop, stop_data, method, flags, attempts, hoplimit, firsthop) = b;
                let (probe_size, sport, dport, tos, wait_timeout) = c;
                let (wait_probe, loops, loopaction, gaplimit, gapaction, confidence) = d;
                let (hop_count, stop_hop, probes_sent, offset, squeries, errmsg) = e;
                let (mut hops, pmtud, lastditch, doubletree) = f;
                hops.sort_by_key(|h| h.probe_ttl);
                let max_ttl = hops
                    .iter()
                    .map(|h| u16::from(h.probe_ttl))
                    .max()
                    .unwrap_or(0);
                Trace {
                    list,
                    cycle,
                    user_id,
                    src,
                    dst,
                    rtr,
                    start,
                    stop_reason: TraceStop::from_code(stop),
                    stop_data,
                    method: TraceMethod::from_code(method),
                    flags: TraceFlags(flags),
                    attempts,
                    hoplimit,
                    firsthop,
                    probe_size,
                    sport,
                    dport,
                    tos,
                    wait_timeout,
                    wait_probe,
                    loops,
                    loopaction,
                    gaplimit,
                    gapaction: GapAction::from_code(gapaction),
                    confidence,
                    hop_count: hop_count.max(max_ttl),
                    stop_hop,
                    probes_sent,
                    offset,
                    squeries,
                    errmsg,
                    hops,
                    pmtud,
                    lastditch,
                    doubletree,
                }
            })
    })
}

fn tracelb_reply(pool: Vec<Addr>) -> impl Strategy<Value = TracelbReply> {
    (
        (
            addr_from(pool),
            ts(),
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
        ),
        (
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            exts(),
        ),
    )
        .prop_map(
            |(
                (from, rx, ipid, ttl, flags),
                (icmp_type, icmp_code, icmp_q_ttl, icmp_q_tos, tcp_flags, icmp_exts),
            )| {
                TracelbReply {
                    from,
                    rx,
                    ipid,
                    ttl,
                    flags: TracelbReplyFlags(flags),
                    icmp_type,
                    icmp_code,
                    icmp_q_ttl,
                    icmp_q_tos,
                    tcp_flags,
                    icmp_exts,
                }
            },
        )
}

fn tracelb() -> impl Strategy<Value = Tracelb> {
    (pool(), 1u16..6).prop_flat_map(|(pool, nodec)| {
        let probe = (
            ts(),
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            vec(tracelb_reply(pool.clone()), 0..3),
        )
            .prop_map(|(tx, flowid, ttl, attempt, replies)| TracelbProbe {
                tx,
                flowid,
                ttl,
                attempt,
                replies,
            });
        let link = (0..nodec, opt(0..nodec), vec(vec(probe, 0..3), 0..3)).prop_map(
            |(from, to, probesets)| TracelbLink {
                from,
                to,
                probesets,
            },
        );
        let node = (opt(addr_from(pool.clone())), opt(text()), opt(any::<u8>()))
            .prop_map(|(addr, name, q_ttl)| TracelbNode { addr, name, q_ttl });
        (
            (
                lc(),
                any::<u32>(),
                opt(addr_from(pool.clone())),
                addr_from(pool),
                opt(addr()),
                ts(),
                any::<u8>(),
            ),
            (
                any::<u16>(),
                any::<u16>(),
                any::<u16>(),
                any::<u8>(),
                units(Duration::from_secs(1), 255),
            ),
            (
                units(Duration::from_millis(10), 255),
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
            ),
            (any::<u32>(), any::<u32>(), any::<u8>(), opt(text())),
            (vec(node, usize::from(nodec)), vec(link, 0..5)),
        )
            .prop_map(|(a, b, c, d, e)| {
                let ((list, cycle), user_id, src, dst, rtr, start, method) = a;
                let (sport, dport, probe_size, firsthop, wait_timeout) = b;
                let (wait_probe, attempts, confidence, tos, gaplimit) = c;
                let (probes_sent, max_probes, flags, errmsg) = d;
                let (nodes, links) = e;
                Tracelb {
                    list,
                    cycle,
                    user_id,
                    src,
                    dst,
                    rtr,
                    start,
                    method: TracelbMethod::from_code(method),
                    sport,
                    dport,
                    probe_size,
                    firsthop,
                    wait_timeout,
                    wait_probe,
                    attempts,
                    confidence,
                    tos,
                    gaplimit,
                    probes_sent,
                    max_probes,
                    flags: TracelbFlags(flags),
                    errmsg,
                    nodes,
                    links,
                }
            })
    })
}

fn dealias_method(pool: Vec<Addr>) -> impl Strategy<Value = DealiasMethod> {
    let ms16 = || units(Duration::from_millis(1), 65535);
    let s8 = || units(Duration::from_secs(1), 255);
    let rtt = || micros(u64::from(u32::MAX));
    prop_oneof![
        (any::<u8>(), s8()).prop_map(|(attempts, wait_timeout)| DealiasMethod::Mercator {
            attempts,
            wait_timeout
        }),
        (ms16(), s8(), any::<u8>(), any::<u16>(), any::<u8>()).prop_map(
            |(wp, wt, attempts, fudge, flags)| {
                DealiasMethod::Ally {
                    wait_probe: wp,
                    wait_timeout: wt,
                    attempts,
                    fudge,
                    flags: AllyFlags(flags),
                }
            }
        ),
        (
            any::<u16>(),
            ms16(),
            units(Duration::from_millis(1), u32::MAX),
            s8(),
            any::<u8>()
        )
            .prop_map(|(rounds, wait_probe, wait_round, wait_timeout, flags)| {
                DealiasMethod::Radargun {
                    rounds,
                    wait_probe,
                    wait_round,
                    wait_timeout,
                    flags: RadargunFlags(flags),
                }
            }),
        (
            (
                opt(addr_from(pool.clone())),
                opt(addr_from(pool.clone())),
                opt(addr_from(pool.clone()))
            ),
            vec(addr_from(pool), 0..3),
            (
                any::<u8>(),
                any::<u8>(),
                any::<u16>(),
                ms16(),
                s8(),
                any::<u8>(),
                any::<u8>()
            ),
        )
            .prop_map(
                |(
                    (a, b, ab),
                    xs,
                    (prefix, attempts, fudge, wait_probe, wait_timeout, flags, replyc),
                )| {
                    DealiasMethod::Prefixscan {
                        a,
                        b,
                        ab,
                        xs,
                        prefix,
                        attempts,
                        fudge,
                        wait_probe,
                        wait_timeout,
                        flags: PrefixscanFlags(flags),
                        replyc,
                    }
                }
            ),
        (ms16(), any::<u16>(), any::<u8>()).prop_map(|(wait_probe, bump_limit, attempts)| {
            DealiasMethod::Bump {
                wait_probe,
                bump_limit,
                attempts,
            }
        }),
        (any::<u8>(), rtt(), rtt(), rtt()).prop_map(
            |(rounds, wait_probe, wait_round, wait_timeout)| {
                DealiasMethod::Midarest {
                    rounds,
                    wait_probe,
                    wait_round,
                    wait_timeout,
                }
            }
        ),
        (
            rtt(),
            vec((ts(), any::<u32>(), any::<u32>()), 0..3),
            opt(ts())
        )
            .prop_map(|(wait_timeout, s, startat)| {
                DealiasMethod::Midardisc {
                    wait_timeout,
                    schedule: s
                        .into_iter()
                        .map(|(start, begin, end)| MidardiscRound { start, begin, end })
                        .collect(),
                    startat,
                }
            }),
        (8u8..=255).prop_map(DealiasMethod::Other),
    ]
}

fn dealias() -> impl Strategy<Value = Dealias> {
    pool().prop_flat_map(|pool| {
        let def = (
            (
                opt(addr_from(pool.clone())),
                opt(addr_from(pool.clone())),
                0u8..8,
                any::<u8>(),
                any::<u8>(),
            ),
            (
                any::<u16>(),
                any::<u16>(),
                any::<u16>(),
                any::<u16>(),
                any::<u8>(),
                any::<u16>(),
                any::<u16>(),
            ),
        )
            .prop_map(
                |(
                    (dst, src, method, ttl, tos),
                    (size, mtu, sport, dport, tcp_flags, icmp_id, icmp_csum),
                )| {
                    let method = ProbedefMethod::from_code(method);
                    let (sport, dport) = if method.is_icmp() {
                        (0, 0)
                    } else {
                        (sport, dport)
                    };
                    DealiasProbedef {
                        dst,
                        src,
                        method,
                        ttl,
                        tos,
                        size,
                        mtu,
                        sport,
                        dport,
                        tcp_flags,
                        icmp_id,
                        icmp_csum,
                    }
                },
            );
        let reply = (
            (
                addr_from(pool.clone()),
                ts(),
                any::<u32>(),
                any::<u8>(),
                any::<u16>(),
                any::<u8>(),
            ),
            (
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
                exts(),
                any::<u8>(),
                any::<u8>(),
            ),
        )
            .prop_map(
                |(
                    (src, rx, ipid, ttl, size, proto),
                    (icmp_type, icmp_code, icmp_q_ttl, icmp_exts, tcp_flags, flags),
                )| {
                    DealiasReply {
                        src,
                        rx,
                        ipid,
                        ttl,
                        size,
                        proto,
                        icmp_type,
                        icmp_code,
                        icmp_q_ttl,
                        icmp_exts,
                        tcp_flags,
                        flags: DealiasReplyFlags(flags),
                    }
                },
            );
        let probe = (
            any::<u32>(),
            ts(),
            any::<u16>(),
            any::<u32>(),
            vec(reply, 0..3),
        )
            .prop_map(|(probedef, tx, ipid, seq, replies)| DealiasProbe {
                probedef,
                tx,
                ipid,
                seq,
                replies,
            });
        (
            lc(),
            any::<u32>(),
            ts(),
            dealias_method(pool),
            any::<u8>(),
            opt(text()),
            vec(def, 0..4),
            vec(probe, 0..5),
        )
            .prop_map(
                |(
                    (list, cycle),
                    user_id,
                    start,
                    method,
                    result,
                    errmsg,
                    mut probedefs,
                    mut probes,
                )| {
                    if let Some(n) = method.fixed_probedefs() {
                        probedefs.resize_with(n, DealiasProbedef::default);
                    }
                    if probedefs.is_empty() {
                        probes.clear();
                    }
                    let n = probedefs.len() as u32;
                    for p in &mut probes {
                        p.probedef %= n.max(1);
                    }
                    Dealias {
                        list,
                        cycle,
                        user_id,
                        start,
                        method,
                        result: DealiasResult::from_code(result),
                        errmsg,
                        probedefs,
                        probes,
                    }
                },
            )
    })
}

fn rr(pool: Vec<Addr>) -> impl Strategy<Value = DnsRr> {
    let pairs = || vec((any::<u16>(), bytes(6)), 0..3);
    let data = prop_oneof![
        (addr_from(pool), prop_oneof![Just(1u16), Just(28)]).prop_map(|(a, t)| (
            CLASS_IN,
            t,
            DnsRrData::Addr(a)
        )),
        (text(), prop_oneof![Just(2u16), Just(5), Just(12)]).prop_map(|(n, t)| (
            CLASS_IN,
            t,
            DnsRrData::Name(n)
        )),
        (text(), text(), any::<[u32; 5]>()).prop_map(|(mname, rname, v)| {
            let [serial, refresh, retry, expire, minimum] = v;
            (
                CLASS_IN,
                6,
                DnsRrData::Soa(DnsSoa {
                    mname,
                    rname,
                    serial,
                    refresh,
                    retry,
                    expire,
                    minimum,
                }),
            )
        }),
        (any::<u16>(), text()).prop_map(|(preference, exchange)| (
            CLASS_IN,
            15,
            DnsRrData::Mx {
                preference,
                exchange
            }
        )),
        (
            vec(bytes(30), 0..3),
            prop_oneof![Just(CLASS_IN), Just(CLASS_CH)]
        )
            .prop_map(|(s, c)| (c, 16, DnsRrData::Txt(s))),
        (pairs(), any::<u16>()).prop_map(|(o, c)| (c, 41, DnsRrData::Opt(o))),
        (
            any::<u16>(),
            opt(text()),
            pairs(),
            prop_oneof![Just(64u16), Just(65)]
        )
            .prop_map(|(priority, target, params, t)| (
                CLASS_IN,
                t,
                DnsRrData::Svcb {
                    priority,
                    target,
                    params
                }
            )),
    ];
    (
        opt(data),
        any::<u16>(),
        any::<u16>(),
        opt(text()),
        any::<u32>(),
    )
        .prop_map(|(data, class, rtype, name, ttl)| match data {
            Some((class, rtype, data)) => DnsRr {
                class,
                rtype,
                name,
                ttl,
                data: Some(data),
                ..DnsRr::default()
            },
            None => DnsRr {
                class,
                rtype,
                name,
                ttl,
                data: None,
                ..DnsRr::default()
            },
        })
}

fn host() -> impl Strategy<Value = Host> {
    pool().prop_flat_map(|pool| {
        let q = (
            (ts(), ts(), any::<u16>(), any::<u8>(), any::<u8>()),
            (
                vec(rr(pool.clone()), 0..3),
                vec(rr(pool.clone()), 0..2),
                vec(rr(pool.clone()), 0..2),
            ),
        )
            .prop_map(|((tx, rx, id, rcode, flags), (an, ns, ar))| HostQuery {
                tx,
                rx,
                id,
                rcode,
                flags: DnsHeaderFlags(flags),
                an,
                ns,
                ar,
                ..HostQuery::default()
            });
        (
            (
                lc(),
                any::<u32>(),
                opt(addr_from(pool.clone())),
                addr_from(pool),
                ts(),
                any::<u16>(),
            ),
            (
                units(Duration::from_millis(1), 65535),
                any::<u8>(),
                any::<u8>(),
                any::<u16>(),
                any::<u16>(),
            ),
            (opt(text()), opt(text()), opt(text()), vec(q, 0..3)),
        )
            .prop_map(|(a, b, c)| {
                let ((list, cycle), user_id, src, dst, start, flags) = a;
                let (wait_timeout, stop, retries, qtype, qclass) = b;
                let (qname, ecs, errmsg, queries) = c;
                Host {
                    list,
                    cycle,
                    user_id,
                    src,
                    dst,
                    start,
                    flags: HostFlags(flags),
                    wait_timeout,
                    stop_reason: HostStop::from_code(stop),
                    retries,
                    qtype,
                    qclass,
                    qname,
                    ecs,
                    errmsg,
                    queries,
                }
            })
    })
}

fn http() -> impl Strategy<Value = Http> {
    let buf = (any::<bool>(), 0u8..128, ts(), bytes(40)).prop_map(|(tx, k, ts, data)| HttpBuf {
        tx,
        kind: HttpBufType::from_code(k),
        ts,
        data,
    });
    (
        (
            lc(),
            any::<u32>(),
            opt(addr()),
            opt(addr()),
            any::<u16>(),
            any::<u16>(),
            ts(),
            any::<u8>(),
            0u8..4,
        ),
        (
            text(),
            text(),
            vec(text(), 0..3),
            micros(u64::from(u32::MAX)),
            any::<u32>(),
            secs_us(u64::from(u32::MAX)),
        ),
        (
            opt(text()),
            any::<u8>(),
            opt(text()),
            vec(buf, 0..4),
            opt(bytes(10)),
            opt(bytes(10)),
        ),
    )
        .prop_map(|(a, b, c)| {
            let ((list, cycle), user_id, src, dst, sport, dport, start, stop, kind) = a;
            let (host, file, headers, hsrtt, flags, maxtime) = b;
            let (errmsg, ech_status, ech_outer_sni, bufs, ech_config_list, ech_retry_config) = c;
            Http {
                list,
                cycle,
                user_id,
                src,
                dst,
                sport,
                dport,
                start,
                stop_reason: HttpStop::from_code(stop),
                kind: HttpType::from_code(kind),
                host,
                file,
                headers,
                hsrtt,
                flags: HttpFlags(flags),
                maxtime,
                errmsg,
                ech_status,
                ech_outer_sni,
                bufs,
                ech_config_list,
                ech_retry_config,
                tls: None,
            }
        })
}

fn udpprobe() -> impl Strategy<Value = Udpprobe> {
    let reply =
        (ts(), bytes(20), opt("[a-z0-9]{1,5}")).prop_map(|(rx, data, ifname)| UdpprobeReply {
            rx,
            data,
            ifname,
            ..UdpprobeReply::default()
        });
    let probe = (ts(), any::<u16>(), vec(reply, 0..3))
        .prop_map(|(tx, sport, replies)| UdpprobeProbe { tx, sport, replies });
    (
        (
            lc(),
            any::<u32>(),
            opt(addr()),
            opt(addr()),
            any::<u16>(),
            any::<u16>(),
            ts(),
        ),
        (
            micros(u64::from(u32::MAX)),
            micros(u64::from(u32::MAX)),
            any::<u8>(),
            any::<u8>(),
            bytes(20),
        ),
        (any::<u8>(), any::<u8>(), opt(text()), vec(probe, 0..4)),
    )
        .prop_map(|(a, b, c)| {
            let ((list, cycle), user_id, src, dst, sport, dport, start) = a;
            let (wait_timeout, wait_probe, flags, stop, payload) = b;
            let (probe_count, stop_count, errmsg, mut probes) = c;
            if let Some(p0) = probes.first_mut() {
                p0.tx = start;
            }
            Udpprobe {
                list,
                cycle,
                user_id,
                src,
                dst,
                sport,
                dport,
                start,
                wait_timeout,
                wait_probe,
                flags: UdpprobeFlags(flags),
                stop_reason: UdpprobeStop::from_code(stop),
                payload,
                probe_count,
                stop_count,
                errmsg,
                probes,
            }
        })
}

fn sniff() -> impl Strategy<Value = Sniff> {
    let pkt = (ts(), vec(any::<u8>(), 1..40)).prop_map(|(ts, data)| SniffPacket { ts, data });
    (
        (lc(), any::<u32>(), addr(), ts(), ts(), any::<u8>()),
        (
            any::<u32>(),
            units(Duration::from_secs(1), 65535),
            any::<u16>(),
            opt(text()),
            vec(pkt, 0..4),
        ),
    )
        .prop_map(|(a, b)| {
            let ((list, cycle), user_id, src, start, finish, stop) = a;
            let (limit_pkt_count, limit_time, icmp_id, errmsg, packets) = b;
            Sniff {
                list,
                cycle,
                user_id,
                src,
                start,
                finish,
                stop_reason: SniffStop::from_code(stop),
                limit_pkt_count,
                limit_time,
                icmp_id,
                errmsg,
                packets,
            }
        })
}

fn neighbourdisc() -> impl Strategy<Value = Neighbourdisc> {
    let reply = (ts(), addr()).prop_map(|(rx, mac)| NeighbourdiscReply { rx, mac });
    let probe =
        (ts(), vec(reply, 0..3)).prop_map(|(tx, replies)| NeighbourdiscProbe { tx, replies });
    (
        (
            lc(),
            any::<u32>(),
            opt(text()),
            ts(),
            any::<u8>(),
            units(Duration::from_millis(1), 65535),
        ),
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            opt(addr()),
            opt(addr()),
            opt(addr()),
            opt(addr()),
        ),
        (opt(text()), vec(probe, 0..4)),
    )
        .prop_map(|(a, b, c)| {
            let ((list, cycle), user_id, ifname, start, method, wait_timeout) = a;
            let (flags, attempts, replyc, src_ip, src_mac, dst_ip, dst_mac) = b;
            let (errmsg, probes) = c;
            Neighbourdisc {
                list,
                cycle,
                user_id,
                ifname,
                start,
                method: NeighbourdiscMethod::from_code(method),
                wait_timeout,
                flags: NeighbourdiscFlags(flags),
                attempts,
                replyc,
                src_ip,
                src_mac,
                dst_ip,
                dst_mac,
                errmsg,
                probes,
            }
        })
}

fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        ping().prop_map(|x| Record::Ping(Box::new(x))).boxed(),
        trace().prop_map(|x| Record::Trace(Box::new(x))).boxed(),
        tracelb().prop_map(|x| Record::Tracelb(Box::new(x))).boxed(),
        dealias().prop_map(|x| Record::Dealias(Box::new(x))).boxed(),
        host().prop_map(|x| Record::Host(Box::new(x))).boxed(),
        http().prop_map(|x| Record::Http(Box::new(x))).boxed(),
        udpprobe()
            .prop_map(|x| Record::Udpprobe(Box::new(x)))
            .boxed(),
        sniff().prop_map(|x| Record::Sniff(Box::new(x))).boxed(),
        neighbourdisc()
            .prop_map(|x| Record::Neighbourdisc(Box::new(x)))
            .boxed(),
    ]
}

/// Writes the records, reads them back, drops the list/cycle records the writer
/// added, and returns the measurements.
fn round_trip(recs: &[Record]) -> Vec<Record> {
    let mut w = Writer::new(Vec::new());
    for r in recs {
        w.write_record(r).unwrap();
    }
    let bytes = w.into_inner().unwrap();
    Reader::new(&bytes[..])
        .map(Result::unwrap)
        .filter(|r| {
            !matches!(
                r,
                Record::List(_)
                    | Record::CycleDef(_)
                    | Record::CycleStart(_)
                    | Record::CycleStop(_)
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ping_round_trip(x in ping()) {
        let r = Record::Ping(Box::new(x));
        prop_assert_eq!(round_trip(std::slice::from_ref(&r)), vec![r]);
    }

    #[test]
    fn trace_round_trip(x in trace()) {
        let r = Record::Trace(Box::new(x));
        prop_assert_eq!(round_trip(std::slice::from_ref(&r)), vec![r]);
    }

    #[test]
    fn tracelb_round_trip(x in tracelb()) {
        let r = Record::Tracelb(Box::new(x));
        prop_assert_eq!(round_trip(std::slice::from_ref(&r)), vec![r]);
    }

    #[test]
    fn dealias_round_trip(x in dealias()) {
        let r = Record::Dealias(Box::new(x));
        prop_assert_eq!(round_trip(std::slice::from_ref(&r)), vec![r]);
    }

    #[test]
    fn host_round_trip(x in host()) {
        let r = Record::Host(Box::new(x));
        prop_assert_eq!(round_trip(std::slice::from_ref(&r)), vec![r]);
    }

    #[test]
    fn http_round_trip(x in http()) {
        let r = Record::Http(Box::new(x));
        prop_assert_eq!(round_trip(std::slice::from_ref(&r)), vec![r]);
    }

    #[test]
    fn udpprobe_round_trip(x in udpprobe()) {
        let r = Record::Udpprobe(Box::new(x));
        prop_assert_eq!(round_trip(std::slice::from_ref(&r)), vec![r]);
    }

    #[test]
    fn sniff_round_trip(x in sniff()) {
        let r = Record::Sniff(Box::new(x));
        prop_assert_eq!(round_trip(std::slice::from_ref(&r)), vec![r]);
    }

    #[test]
    fn neighbourdisc_round_trip(x in neighbourdisc()) {
        let r = Record::Neighbourdisc(Box::new(x));
        prop_assert_eq!(round_trip(std::slice::from_ref(&r)), vec![r]);
    }

    /// Several records in one stream share lists and cycles by value.
    #[test]
    fn mixed_stream_round_trip(recs in vec(record(), 0..6)) {
        prop_assert_eq!(round_trip(&recs), recs);
    }
}
