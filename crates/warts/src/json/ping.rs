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

fn statistics(o: &mut Out<'_>, p: &Ping) {
    let st = p.stats();
    o.ku(",\"statistics\":{\"replies\":", st.nreplies);
    let sent = u32::from(p.probes_sent);
    if sent > st.npending {
        o.s(",\"loss\":");
        let base = sent - st.npending;
        if st.nreplies == 0 {
            o.s("1");
        } else if st.nreplies >= base {
            o.s("0");
        } else {
            let loss = f64::from(base - st.nreplies) / f64::from(base);
            let _ = write!(o.b, "{loss:.2}");
        }
    }
    if let (Some(min), Some(max), Some(avg), Some(sd)) =
        (st.min_rtt, st.max_rtt, st.avg_rtt, st.stddev_rtt)
    {
        {
            o.s(",\"min\":");
            o.ms(min);
            o.s(",\"max\":");
            o.ms(max);
            o.s(",\"avg\":");
            o.ms(avg);
            o.s(",\"stddev\":");
            o.ms(sd);
        }
    }
    if st.ndups > 0 {
        o.ku(",\"ndups\":", st.ndups);
    }
    if st.nerrs > 0 {
        o.ku(",\"nerrs\":", st.nerrs);
    }
    if st.npending > 0 {
        o.ku(",\"npend\":", st.npending);
    }
    o.s("}");
}
