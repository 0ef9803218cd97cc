//! Ping objects (json.md §2).

use std::io::Write as _;
use std::time::Duration;

use vantage_model::{Ping, PingFlags, PingMethod, PingReply, PingReplyFlags};

use super::out::Out;
use super::{JsonOptions, name_or_code};

/// Whole seconds and the microsecond part of a duration.
fn split(d: Duration) -> (u64, u32) {
    (d.as_secs(), d.subsec_micros())
}

pub(crate) fn write(o: &mut Out<'_>, p: &Ping, opts: &JsonOptions) {
    o.s("{\"type\":\"ping\",\"version\":\"0.4\",\"method\":");
    name_or_code(o, p.method.name(), u64::from(p.method.code()));
    if let Some(a) = &p.src {
        o.s(",\"src\":");
        o.addr(a);
    }
    o.s(",\"dst\":");
    o.addr(&p.dst);
    if let Some(a) = &p.rtr {
        o.s(",\"rtr\":");
        o.addr(a);
    }
    o.s(",\"start\":");
    o.tv(p.start, false);
    o.s(",\"stop_reason\":");
    name_or_code(o, p.stop_reason.name(), u64::from(p.stop_reason.code()));
    o.ku(",\"stop_data\":", p.stop_data);
    if let Some(e) = &p.errmsg {
        o.s(",\"errmsg\":");
        o.esc(e.as_bytes());
    }
    o.ku(",\"ping_sent\":", p.probes_sent);
    o.ku(",\"probe_size\":", p.probe_size);
    o.ku(",\"userid\":", p.user_id);
    o.ku(",\"ttl\":", p.ttl);
    o.ku(",\"tos\":", p.tos);
    let (ws, wus) = split(p.wait_probe);
    o.ku(",\"wait\":", ws);
    if wus != 0 {
        o.ku(",\"wait_us\":", wus);
    }
    let (ts, tus) = split(p.wait_timeout);
    o.ku(",\"timeout\":", ts);
    if tus != 0 {
        o.ku(",\"timeout_us\":", tus);
    }
    if p.method.is_udp() || p.method.is_tcp() {
        o.ku(",\"sport\":", p.sport);
        o.ku(",\"dport\":", p.dport);
    }
    if p.method.is_tcp() {
        o.ku(",\"tcp_seq\":", p.tcp_seq);
        o.ku(",\"tcp_ack\":", p.tcp_ack);
    }
    if !p.data.is_empty() {
        o.s(if p.flags.contains(PingFlags::PAYLOAD) {
            ",\"payload\":"
        } else {
            ",\"pattern\":"
        });
        o.hex(&p.data);
    }
    if !p.flags.is_empty() {
        o.s(",\"flags\":");
        o.names(p.flags.names(), ",");
    }
    if p.method.is_icmp() && p.flags.contains(PingFlags::ICMPSUM) {
        o.ku(",\"icmp_csum\":", p.icmp_csum);
    }
    if !p.tsps.is_empty() {
        // sc_warts2json writes these without commas (invalid JSON); we write
        // a valid array (a documented deviation).
        o.s(",\"probe_tsps\":[");
        for (i, a) in p.tsps.iter().enumerate() {
            if i > 0 {
                o.s(",");
            }
            o.addr(a);
        }
        o.s("]");
    }
    if let Some(m) = p.list.as_ref().and_then(|l| l.monitor.as_ref()) {
        o.s(",\"monitor\":");
        o.esc(m.as_bytes());
    }
    o.s(",\"responses\":[");
    for (i, r) in p.replies.iter().enumerate() {
        if i > 0 {
            o.s(",");
        }
        reply(o, p, r);
    }
    o.s("],\"no_responses\":[");
    if opts.live {
        no_responses(o, p);
    }
    o.s("]");
    statistics(o, p);
    o.s("}");
}

/// The probe's ports (or ICMP id and sequence) as a reply or unanswered
/// probe shows them.
fn ports(o: &mut Out<'_>, p: &Ping, seq: u16, probe_sport: u16) {
    let seq = u32::from(seq);
    if p.method.is_icmp() {
        o.ku(",\"icmp_id\":", p.sport);
        o.ku(",\"icmp_seq\":", u32::from(p.dport) + seq);
        return;
    }
    let (ks, kd) = if p.method.is_udp() {
        (",\"udp_sport\":", ", \"udp_dport\":")
    } else if p.method.is_tcp() {
        (",\"tcp_sport\":", ", \"tcp_dport\":")
    } else {
        return;
    };
    let sport = if probe_sport != 0 {
        u32::from(probe_sport)
    } else if p.method.varies_sport() {
        u32::from(p.sport) + seq
    } else {
        u32::from(p.sport)
    };
    let dport = if p.method == PingMethod::UdpDport {
        u32::from(p.dport) + seq
    } else {
        u32::from(p.dport)
    };
    o.ku(ks, sport);
    o.ku(kd, dport);
}

fn reply(o: &mut Out<'_>, p: &Ping, r: &PingReply) {
    o.s("{\"from\":");
    o.addr(&r.from);
    o.ku(",\"reply_size\":", r.reply_size);
    o.ku(",\"reply_ttl\":", r.reply_ttl);
    o.ku(",\"seq\":", r.probe_id);
    let tx = r.tx.filter(|t| !t.is_zero());
    if let Some(t) = tx {
        o.s(",\"tx\":");
        o.tv(t, false);
    }
    ports(o, p, r.probe_id, r.probe_sport);
    if r.flags.contains(PingReplyFlags::PROBE_IPID) {
        o.ku(",\"probe_ipid\":", r.probe_ipid);
    }
    o.s(",\"reply_proto\":");
    match r.reply_proto {
        _ if r.is_icmp() => o.s("\"icmp\""),
        6 => o.s("\"tcp\""),
        17 => o.s("\"udp\""),
        n => o.u(n),
    }
    if let Some(ifname) = &r.ifname {
        o.s(",\"ifname\":");
        o.raw_str(ifname);
    }
    let dltx = r.flags.contains(PingReplyFlags::DL_TX);
    let dlrx = r.flags.contains(PingReplyFlags::DL_RX);
    if dltx || dlrx {
        o.s(",\"reply_flags\":[");
        if dltx {
            o.s("\"dltxts\"");
        }
        if dlrx {
            o.s(if dltx { ",\"dlrxts\"" } else { "\"dlrxts\"" });
        }
        o.s("]");
    }
    if let Some(t) = tx {
        o.s(",\"rx\":");
        o.tv(t.plus(r.rtt), false);
    }
    o.s(",\"rtt\":");
    o.ms(r.rtt);
    if r.from.is_ipv4() {
        o.ku(",\"reply_ipid\":", r.reply_ipid & 0xffff);
    } else if r.from.is_ipv6() && r.flags.contains(PingReplyFlags::REPLY_IPID) {
        o.ku(",\"reply_ipid\":", r.reply_ipid);
    }
    if r.flags.contains(PingReplyFlags::REPLY_TOS) {
        o.ku(",\"reply_tos\":", r.reply_tos);
    }
    if r.is_icmp() {
        o.ku(",\"icmp_type\":", r.icmp_type);
        o.ku(",\"icmp_code\":", r.icmp_code);
        if r.is_icmp_ptb() {
            o.ku(",\"icmp_nhmtu\":", r.nhmtu);
        }
    } else if r.is_tcp() {
        o.ku(",\"tcp_flags\":", r.tcp_flags);
    }
    if let Some(rr) = &r.rr {
        o.s(",\"RR\":[");
        for (i, a) in rr.iter().enumerate() {
            if i > 0 {
                o.s(",");
            }
            o.addr(a);
        }
        o.s("]");
    }
    if let Some(ts) = &r.ip_ts {
        if p.flags.contains(PingFlags::TSONLY) {
            o.s(",\"tsonly\":[");
            for (i, t) in ts.timestamps.iter().enumerate() {
                if i > 0 {
                    o.s(",");
                }
                o.u(*t);
            }
        } else {
            o.s(",\"tsandaddr\":[");
            for (i, t) in ts.timestamps.iter().enumerate() {
                if i > 0 {
                    o.s(",");
                }
                o.ku("{\"ts\":", *t);
                if let Some(a) = ts.addrs.get(i) {
                    o.s(",\"ip\":");
                    o.addr(a);
                }
                o.s("}");
            }
        }
        o.s("]");
    }
    o.s("}");
}

/// Live output: the probes that got no reply. The model keeps no per-probe
/// record for them, so only the sequence number and ports are known.
fn no_responses(o: &mut Out<'_>, p: &Ping) {
    let mut answered = vec![false; usize::from(p.probes_sent)];
    for r in &p.replies {
        if let Some(slot) = answered.get_mut(usize::from(r.probe_id)) {
            *slot = true;
        }
    }
    let mut first = true;
    for (seq, _) in (0..p.probes_sent).zip(&answered).filter(|(_, a)| !**a) {
        if !first {
            o.s(",");
        }
        first = false;
        o.ku("{\"seq\":", seq);
        ports(o, p, seq, 0);
        o.s("}");
    }
}

/// Ping statistics as scamper computes them (see [`Ping::stats`], which
/// this matches), without allocating when the replies are in probe order, as
/// warts stores them.
#[derive(Debug, Default, PartialEq, Eq)]
struct Stats {
    replies: u32,
    ndups: u32,
    nerrs: u32,
    npend: u32,
    /// min, max, avg, stddev in microseconds, when there are target replies.
    rtts: Option<(u64, u64, u64, u64)>,
}

fn stats(p: &Ping) -> Stats {
    let sorted = p.replies.windows(2).all(|w| w[0].probe_id <= w[1].probe_id);
    if !sorted {
        let st = p.stats();
        let us = |d: Option<Duration>| d.map_or(0, |d| d.as_micros() as u64);
        return Stats {
            replies: st.nreplies,
            ndups: st.ndups,
            nerrs: st.nerrs,
            npend: st.npending,
            rtts: st.min_rtt.map(|_| {
                (
                    us(st.min_rtt),
                    us(st.max_rtt),
                    us(st.avg_rtt),
                    us(st.stddev_rtt),
                )
            }),
        };
    }
    let mut st = Stats::default();
    let (mut min, mut max, mut sum, mut n) = (u64::MAX, 0u64, 0u128, 0u64);
    let mut last_pending = None;
    let mut last_target = None;
    for r in &p.replies {
        if r.flags.contains(PingReplyFlags::PENDING) && last_pending != Some(r.probe_id) {
            st.npend += 1;
            last_pending = Some(r.probe_id);
        }
        if !p.is_from_target(r) {
            st.nerrs += 1;
            continue;
        }
        let us = u64::try_from(r.rtt.as_micros()).unwrap_or(u64::MAX);
        min = min.min(us);
        max = max.max(us);
        sum += u128::from(us);
        n += 1;
        if last_target == Some(r.probe_id) && r.probe_id < p.probes_sent {
            st.ndups += 1;
        } else {
            st.replies += 1;
        }
        last_target = Some(r.probe_id);
    }
    if n > 0 {
        let avg = sum / u128::from(n);
        let mut var = 0u128;
        for r in &p.replies {
            if p.is_from_target(r) {
                let us = r.rtt.as_micros();
                var += us.abs_diff(avg).pow(2);
            }
        }
        var /= u128::from(n);
        st.rtts = Some((min, max, avg as u64, isqrt(var) as u64));
    }
    st
}

/// The integer square root (floor).
fn isqrt(v: u128) -> u128 {
    let mut x = (v as f64).sqrt() as u128;
    while x * x > v {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= v {
        x += 1;
    }
    x
}

/// `num / den` (0 < num < den) with two decimals, as C's `printf("%.2f")`
/// prints the double nearest to it: the binary value rounded exactly, ties
/// to even.
fn fixed2(o: &mut Out<'_>, num: u32, den: u32) {
    let d = f64::from(num) / f64::from(den);
    let bits = d.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let mant = u128::from((bits & ((1u64 << 52) - 1)) | (1u64 << 52));
    // d = mant / 2^shift; for 0 < d < 1 the shift is at least 53.
    let shift = 1075 - exp;
    if !(1..120).contains(&shift) {
        let _ = write!(o.b, "{d:.2}");
        return;
    }
    let scaled = mant * 100;
    let mut q = scaled >> shift;
    let rem = scaled & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    if rem > half || (rem == half && q & 1 == 1) {
        q += 1;
    }
    o.u((q / 100) as u64);
    o.s(".");
    o.padded((q % 100) as u64, 2);
}

fn statistics(o: &mut Out<'_>, p: &Ping) {
    let st = stats(p);
    o.ku(",\"statistics\":{\"replies\":", st.replies);
    let sent = u32::from(p.probes_sent);
    if sent > st.npend {
        o.s(",\"loss\":");
        let base = sent - st.npend;
        if st.replies == 0 {
            o.s("1");
        } else if st.replies >= base {
            o.s("0");
        } else {
            fixed2(o, base - st.replies, base);
        }
    }
    if let Some((min, max, avg, sd)) = st.rtts {
        o.s(",\"min\":");
        o.ms(Duration::from_micros(min));
        o.s(",\"max\":");
        o.ms(Duration::from_micros(max));
        o.s(",\"avg\":");
        o.ms(Duration::from_micros(avg));
        o.s(",\"stddev\":");
        o.ms(Duration::from_micros(sd));
    }
    if st.ndups > 0 {
        o.ku(",\"ndups\":", st.ndups);
    }
    if st.nerrs > 0 {
        o.ku(",\"nerrs\":", st.nerrs);
    }
    if st.npend > 0 {
        o.ku(",\"npend\":", st.npend);
    }
    o.s("}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use vantage_model::{Addr, PingMethod, PingReply, Timestamp};

    #[test]
    fn two_decimals_like_printf() {
        for den in 1..=400u32 {
            for num in 1..den {
                let mut v = Vec::new();
                fixed2(&mut Out { b: &mut v }, num, den);
                let d = f64::from(num) / f64::from(den);
                assert_eq!(
                    String::from_utf8(v).unwrap(),
                    format!("{d:.2}"),
                    "{num}/{den}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn stats_match_the_model(
            replies in proptest::collection::vec((0u16..8, 0u64..100_000, any::<bool>(), 0u8..4), 0..12),
            sent in 0u16..10,
            method in 0u8..11,
            sort in any::<bool>(),
        ) {
            let dst: Addr = "192.0.2.1".parse().unwrap();
            let mut p = Ping::new(dst, Timestamp::new(1, 0));
            p.method = PingMethod::from_code(method);
            p.probes_sent = sent;
            for (id, rtt, pending, kind) in replies {
                let mut r = PingReply::new(id, dst, Duration::from_micros(rtt));
                (r.reply_proto, r.icmp_type, r.icmp_code) =
                    [(1, 0, 0), (1, 3, 3), (6, 0, 0), (1, 11, 0)][usize::from(kind)];
                if pending {
                    r.flags |= PingReplyFlags::PENDING;
                }
                p.replies.push(r);
            }
            if sort {
                p.replies.sort_by_key(|r| r.probe_id);
            }
            let model = p.stats();
            let ours = stats(&p);
            prop_assert_eq!(ours.replies, model.nreplies);
            prop_assert_eq!(ours.ndups, model.ndups);
            prop_assert_eq!(ours.nerrs, model.nerrs);
            prop_assert_eq!(ours.npend, model.npending);
            let us = |d: Option<Duration>| d.map(|d| d.as_micros() as u64);
            prop_assert_eq!(ours.rtts.map(|r| r.0), us(model.min_rtt));
            prop_assert_eq!(ours.rtts.map(|r| r.1), us(model.max_rtt));
            prop_assert_eq!(ours.rtts.map(|r| r.2), us(model.avg_rtt));
            prop_assert_eq!(ours.rtts.map(|r| r.3), us(model.stddev_rtt));
        }
    }
}
