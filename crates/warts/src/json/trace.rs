//! Traceroute objects (json.md §4).

use vantage_model::{
    Addr, IcmpExt, PmtudNoteKind, Trace, TraceFlags, TraceHop, TracePmtud, TraceReplyFlags,
};

use super::out::{Out, ftime};
use super::{JsonOptions, name_or_code};

pub(crate) fn write(o: &mut Out<'_>, t: &Trace, opts: &JsonOptions) {
    o.ku(
        "{\"type\":\"trace\",\"version\":\"0.1\",\"userid\":",
        t.user_id,
    );
    o.s(",\"method\":");
    name_or_code(o, t.method.name(), u64::from(t.method.code()));
    if let Some(a) = &t.src {
        o.s(",\"src\":");
        o.addr(a);
    }
    o.s(",\"dst\":");
    o.addr(&t.dst);
    if let Some(a) = &t.rtr {
        o.s(",\"rtr\":");
        o.addr(a);
    }
    if t.method.is_udp() || t.method.is_tcp() {
        o.ku(",\"sport\":", t.sport);
        o.ku(",\"dport\":", t.dport);
    } else if t.flags.contains(TraceFlags::ICMP_CSUM_DPORT) {
        o.ku(",\"icmp_sum\":", t.dport);
    }
    o.s(",\"stop_reason\":\"");
    match t.stop_reason.name() {
        Some(n) => {
            for c in n.bytes() {
                o.b.push(c.to_ascii_uppercase());
            }
        }
        None => o.u(t.stop_reason.code()),
    }
    o.ku("\",\"stop_data\":", t.stop_data);
    if let Some(e) = &t.errmsg {
        o.s(",\"errmsg\":");
        o.esc(e.as_bytes());
    }
    o.ku(",\"start\":{\"sec\":", t.start.sec);
    o.ku(",\"usec\":", t.start.usec);
    o.s(",\"ftime\":\"");
    let secs = i64::from(t.start.sec);
    ftime(o, secs, opts.utc_offset(secs));
    let hop_count = t.effective_hop_count();
    o.ku("\"},\"hop_count\":", hop_count);
    o.ku(",\"attempts\":", t.attempts);
    o.ku(",\"hoplimit\":", t.hoplimit);
    o.ku(",\"firsthop\":", t.firsthop);
    o.ku(",\"wait\":", t.wait_timeout.as_secs());
    o.ku(",\"wait_probe\":", (t.wait_probe.as_millis() / 10) as u64);
    o.ku(",\"tos\":", t.tos);
    o.ku(",\"probe_size\":", t.probe_size);
    o.ku(",\"probe_count\":", t.probes_sent);
    if let Some(m) = t.list.as_ref().and_then(|l| l.monitor.as_ref()) {
        o.s(",\"monitor\":");
        o.esc(m.as_bytes());
    }
    if !t.flags.is_empty() {
        o.s(",\"flags\":");
        flags(o, t.flags);
    }
    let rxerr = t.flags.contains(TraceFlags::RXERR);
    let limit = u32::from(hop_count);
    let inner = t.hops.iter().filter(|h| u32::from(h.probe_ttl) <= limit);
    hop_array(o, ",\"hops\":[", inner, rxerr);
    let extra = t.hops.iter().filter(|h| u32::from(h.probe_ttl) > limit);
    hop_array(o, ",\"extra_hops\":[", extra, rxerr);
    if opts.live {
        let missing = unanswered(t);
        let inner = missing.iter().filter(|p| u32::from(p.0) <= limit);
        probe_array(o, ",\"no_hops\":[", inner, t.probe_size);
        let extra = missing.iter().filter(|p| u32::from(p.0) > limit);
        probe_array(o, ",\"extra_no_hops\":[", extra, t.probe_size);
    }
    if let Some(pm) = t.pmtud.as_ref().filter(|pm| pm.version == 2) {
        pmtud(o, t, pm, rxerr);
    }
    o.s("}");
}

/// Trace flag names; bits without a name print as `0x%08x`.
fn flags(o: &mut Out<'_>, f: TraceFlags) {
    o.s("[");
    let mut first = true;
    for bit in 0..32 {
        let v = 1u32 << bit;
        if f.bits() & v == 0 {
            continue;
        }
        if !first {
            o.s(",");
        }
        first = false;
        if let Some((_, name)) = TraceFlags::NAMED.iter().find(|(n, _)| n.bits() == v) {
            o.s("\"");
            o.s(name);
            o.s("\"");
        } else {
            o.s("\"0x");
            for shift in (0..8).rev() {
                let nib = (v >> (shift * 4)) & 0xf;
                o.b.push(b"0123456789abcdef"[nib as usize]);
            }
            o.s("\"");
        }
    }
    o.s("]");
}

/// `key` + the hops + `]`, or nothing when there are none.
fn hop_array<'h>(
    o: &mut Out<'_>,
    key: &str,
    hops: impl Iterator<Item = &'h TraceHop>,
    rxerr: bool,
) {
    let mut any = false;
    for h in hops {
        o.s(if any { "," } else { key });
        any = true;
        hop(o, h, rxerr);
    }
    if any {
        o.s("]");
    }
}

pub(crate) fn hop(o: &mut Out<'_>, h: &TraceHop, rxerr: bool) {
    o.s("{\"addr\":");
    o.addr(&h.addr);
    if let Some(n) = &h.name {
        o.s(",\"name\":");
        o.esc(n.as_bytes());
    }
    o.ku(",\"probe_ttl\":", h.probe_ttl);
    o.ku(",\"probe_id\":", u32::from(h.probe_id) + 1);
    o.ku(",\"probe_size\":", h.probe_size);
    if let Some(tx) = h.tx.filter(|t| t.sec != 0) {
        o.s(",\"tx\":");
        o.tv(tx, false);
    }
    o.s(",\"rtt\":");
    o.ms(h.rtt);
    o.ku(",\"reply_ttl\":", h.reply_ttl);
    o.ku(",\"reply_tos\":", h.reply_tos);
    let fl = [
        (TraceReplyFlags::DL_TX, "\"dltxts\""),
        (TraceReplyFlags::DL_RX, "\"dlrxts\""),
        (TraceReplyFlags::SOCK_RX, "\"sockrxts\""),
    ];
    if fl.iter().any(|(f, _)| h.flags.contains(*f)) {
        o.s(",\"flags\":[");
        let mut first = true;
        for (f, n) in fl {
            if h.flags.contains(f) {
                if !first {
                    o.s(",");
                }
                first = false;
                o.s(n);
            }
        }
        o.s("]");
    }
    if !rxerr {
        o.ku(",\"reply_ipid\":", h.reply_ipid);
        o.ku(",\"reply_size\":", h.reply_size);
    }
    if h.is_icmp() {
        o.ku(",\"icmp_type\":", h.icmp_type);
        o.ku(",\"icmp_code\":", h.icmp_code);
        if h.is_icmp_quoting() && !rxerr {
            o.ku(",\"icmp_q_ttl\":", h.icmp_q_ttl);
            o.ku(",\"icmp_q_ipl\":", h.icmp_q_ipl);
            o.ku(",\"icmp_q_tos\":", h.icmp_q_tos);
        }
        if h.is_icmp_ptb() {
            // The key really is `icmp_nhmtu:` in scamper's output.
            o.ku(",\"icmp_nhmtu:\":", h.nhmtu);
        }
    } else if h.is_tcp() {
        o.ku(",\"tcp_flags\":", h.tcp_flags);
    }
    icmpext(o, &h.icmp_exts);
    o.s("}");
}

/// `,"icmpext":[...]` (shared by trace and tracelb), nothing if empty.
pub(crate) fn icmpext(o: &mut Out<'_>, exts: &[IcmpExt]) {
    if exts.is_empty() {
        return;
    }
    o.s(",\"icmpext\":[");
    for (i, e) in exts.iter().enumerate() {
        if i > 0 {
            o.s(",");
        }
        o.ku("{\"ie_cn\":", e.class);
        o.ku(",\"ie_ct\":", e.ctype);
        o.ku(",\"ie_dl\":", e.data.len() as u64);
        if e.is_mpls() {
            o.s(",\"mpls_labels\":[");
            for (j, l) in e.mpls_labels().enumerate() {
                if j > 0 {
                    o.s(",");
                }
                o.ku("{\"mpls_ttl\":", l.ttl);
                o.ku(",\"mpls_s\":", u8::from(l.s));
                o.ku(",\"mpls_exp\":", l.exp);
                o.ku(",\"mpls_label\":", l.label);
                o.s("}");
            }
            o.s("]");
        }
        o.s("}");
    }
    o.s("]");
}

/// (ttl, 0-based attempt) of the probes that got no reply, reconstructed
/// for live output: warts and the model keep replies only, so this assumes
/// `attempts` probes at each TTL without a reply and, at TTLs with replies,
/// one probe per attempt before the last one answered (every attempt with
/// `all-attempts`). At most `probes_sent - answered probes` are listed.
fn unanswered(t: &Trace) -> Vec<(u8, u8)> {
    let mut out = Vec::new();
    let first = t.firsthop.max(1);
    let last = u8::try_from(t.hop_count.min(255)).unwrap_or(u8::MAX);
    let mut answered_probes = 0u32;
    for ttl in first..=last {
        let ids: Vec<u8> = {
            let mut v: Vec<u8> = t
                .hops
                .iter()
                .filter(|h| h.probe_ttl == ttl)
                .map(|h| h.probe_id)
                .collect();
            v.dedup();
            v
        };
        answered_probes += ids.len() as u32;
        let sent = if ids.is_empty() || t.flags.contains(TraceFlags::ALL_ATTEMPTS) {
            t.attempts.max(1)
        } else {
            ids.iter().copied().max().unwrap_or(0).saturating_add(1)
        };
        for id in 0..sent {
            if !ids.contains(&id) {
                out.push((ttl, id));
            }
        }
    }
    let budget = u32::from(t.probes_sent).saturating_sub(answered_probes) as usize;
    out.truncate(budget);
    out
}

fn probe_array<'p>(
    o: &mut Out<'_>,
    key: &str,
    probes: impl Iterator<Item = &'p (u8, u8)>,
    size: u16,
) {
    let mut any = false;
    for (ttl, id) in probes {
        o.s(if any { "," } else { key });
        any = true;
        o.ku("{\"probe_ttl\":", *ttl);
        o.ku(",\"probe_id\":", u32::from(*id) + 1);
        o.ku(",\"probe_size\":", size);
        o.s("}");
    }
    if any {
        o.s("]");
    }
}

/// Whether two addresses share a /30 (IPv4) or /126 (IPv6).
fn same_p2p_link(a: &Addr, b: &Addr) -> bool {
    match (a, b) {
        (Addr::V4(x), Addr::V4(y)) => u32::from(*x) >> 2 == u32::from(*y) >> 2,
        (Addr::V6(x), Addr::V6(y)) => u128::from(*x) >> 2 == u128::from(*y) >> 2,
        _ => false,
    }
}

/// The inferred TTL of the hop a PMTUD note's reply came from.
fn note_dist(t: &Trace, reply: &TraceHop, from_ttl: u8) -> Option<u8> {
    if let Some(h) = t
        .hops
        .iter()
        .find(|h| h.probe_ttl >= from_ttl && h.addr == reply.addr)
    {
        return Some(h.probe_ttl);
    }
    if !reply.is_icmp_quoting() {
        return None;
    }
    let mut d = reply.probe_ttl.checked_sub(reply.icmp_q_ttl)?;
    if d > 0 {
        let at = t.first_hop_at(d);
        if at.is_some_and(|h| same_p2p_link(&h.addr, &reply.addr)) {
            d -= 1;
        }
    }
    (d > 0).then_some(d)
}

fn pmtud(o: &mut Out<'_>, t: &Trace, pm: &TracePmtud, rxerr: bool) {
    o.ku(",\"pmtud\":{\"if_mtu\":", pm.if_mtu);
    let out_mtu = if pm.out_mtu != 0 {
        pm.out_mtu
    } else {
        pm.if_mtu
    };
    o.ku(",\"out_mtu\":", out_mtu);
    o.ku(",\"path_mtu\":", pm.path_mtu);
    // Probes are reconstructed from replies: consecutive replies with the
    // same (ttl, attempt, size) answer one probe.
    let mut probec = 0u32;
    let mut prev: Option<(u8, u8, u16)> = None;
    for h in &pm.hops {
        let key = (h.probe_ttl, h.probe_id, h.probe_size);
        if prev != Some(key) {
            probec += 1;
            prev = Some(key);
        }
    }
    o.ku(",\"probec\":", probec);
    o.ku(",\"notec\":", pm.notes.len() as u64);
    let suppress = pm.out_mtu != 0
        && pm
            .notes
            .first()
            .is_some_and(|n| !(n.kind == PmtudNoteKind::Silence && n.hop.is_none()));
    if !pm.notes.is_empty() && !suppress {
        o.s(",\"notes\":[");
        let mut from_ttl = 1u8;
        for (i, n) in pm.notes.iter().enumerate() {
            if i > 0 {
                o.s(",");
            }
            o.ku("{\"nhmtu\":", n.nhmtu);
            let reply = n.hop.and_then(|i| pm.hops.get(usize::from(i)));
            if let Some(idx) = n.hop {
                o.ku(",\"hop_id\":", idx);
            }
            if let Some(d) = reply.and_then(|r| note_dist(t, r, from_ttl)) {
                o.ku(",\"dist\":", d);
                from_ttl = d;
            }
            o.s(",\"type\":");
            let kind = match n.kind {
                PmtudNoteKind::Ptb => Some("ptb"),
                PmtudNoteKind::PtbBad => Some("ptb-bad"),
                PmtudNoteKind::Silence => Some("silence"),
                _ => None,
            };
            name_or_code(o, kind, u64::from(n.kind.code()));
            if let Some(r) = reply {
                if r.is_icmp_ptb() {
                    o.ku(",\"icmp_nhmtu\":", r.nhmtu);
                }
                o.s(",\"addr\":");
                o.addr(&r.addr);
            }
            o.s("}");
        }
        o.s("]");
    }
    hop_array(o, ",\"hops\":[", pm.hops.iter(), rxerr);
    o.s("}");
}
