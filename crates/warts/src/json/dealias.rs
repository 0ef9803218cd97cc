//! Dealias (alias resolution) objects (json.md §10).

use std::time::Duration;

use vantage_model::{Addr, Dealias, DealiasMethod, DealiasProbe, DealiasProbedef, DealiasReply};
use vantage_model::{DealiasReplyFlags, ProbedefMethod};

use super::name_or_code;
use super::out::Out;

/// Whether scamper writes JSON for this dealias (not for the MIDAR methods
/// nor for methods it does not know).
pub(crate) fn supported(d: &Dealias) -> bool {
    matches!(
        d.method,
        DealiasMethod::Mercator { .. }
            | DealiasMethod::Ally { .. }
            | DealiasMethod::Radargun { .. }
            | DealiasMethod::Prefixscan { .. }
            | DealiasMethod::Bump { .. }
    )
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A flag array: each set bit by `names` (bit 0 first), else the bit value.
fn flag_array(o: &mut Out<'_>, bits: u8, names: &[&str]) {
    o.s(", \"flags\":[");
    let mut first = true;
    for bit in 0..8 {
        let v = 1u8 << bit;
        if bits & v == 0 {
            continue;
        }
        if !first {
            o.s(",");
        }
        first = false;
        match names.get(bit) {
            Some(n) => {
                o.s("\"");
                o.s(n);
                o.s("\"");
            }
            None => o.u(v),
        }
    }
    o.s("]");
}

fn prefix(o: &mut Out<'_>, key: &str, a: &Addr, len: u8) {
    o.s(key);
    o.s("\"");
    o.addr_bare(a);
    o.s("/");
    o.u(len);
    o.s("\"");
}

pub(crate) fn write(o: &mut Out<'_>, d: &Dealias) {
    o.s("{\"type\":\"dealias\",\"version\":\"0.2\",\"method\":");
    name_or_code(o, d.method.name(), u64::from(d.method.code()));
    o.ku(", \"userid\":", d.user_id);
    o.s(", \"result\":");
    name_or_code(o, d.result.name(), u64::from(d.result.code()));
    o.s(", \"start\":");
    o.tv(d.start, true);
    if let Some(e) = &d.errmsg {
        o.s(",\"errmsg\":");
        o.esc(e.as_bytes());
    }
    match &d.method {
        DealiasMethod::Mercator {
            attempts,
            wait_timeout,
        } => {
            o.ku(", \"attempts\":", *attempts);
            o.ku(", \"wait_timeout\":", wait_timeout.as_secs());
        }
        DealiasMethod::Ally {
            wait_probe,
            wait_timeout,
            attempts,
            fudge,
            flags,
        } => {
            o.ku(", \"wait_probe\":", ms(*wait_probe));
            o.ku(", \"wait_timeout\":", wait_timeout.as_secs());
            o.ku(", \"attempts\":", *attempts);
            o.ku(", \"fudge\":", *fudge);
            if !flags.is_empty() {
                flag_array(o, flags.bits(), &["nobs"]);
            }
        }
        DealiasMethod::Radargun {
            rounds,
            wait_probe,
            wait_round,
            wait_timeout,
            flags,
        } => {
            o.ku(", \"attempts\":", *rounds);
            o.ku(", \"wait_probe\":", ms(*wait_probe));
            // scamper prints the round wait through a 16-bit field.
            o.ku(", \"wait_round\":", ms(*wait_round) & 0xffff);
            o.ku(", \"wait_timeout\":", wait_timeout.as_secs());
            if !flags.is_empty() {
                // Bit 0x01 (shuffle) is printed as "nobs" by scamper.
                flag_array(o, flags.bits(), &["nobs"]);
            }
        }
        DealiasMethod::Prefixscan {
            a,
            b,
            ab,
            xs,
            prefix: plen,
            attempts,
            fudge,
            wait_probe,
            wait_timeout,
            flags,
            replyc,
        } => {
            if let Some(a) = a {
                o.s(", \"a\":");
                o.addr(a);
            }
            if let Some(b) = b {
                prefix(o, ", \"b\":", b, *plen);
            }
            if let Some(ab) = ab {
                prefix(o, ", \"ab\":", ab, *plen);
            }
            if !xs.is_empty() {
                o.s(", \"xs\":[");
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        o.s(",");
                    }
                    o.addr(x);
                }
                o.s("]");
            }
            o.ku(", \"attempts\":", *attempts);
            o.ku(", \"replyc\":", *replyc);
            o.ku(", \"fudge\":", *fudge);
            o.ku(", \"wait_probe\":", ms(*wait_probe));
            o.ku(", \"wait_timeout\":", wait_timeout.as_secs());
            if !flags.is_empty() {
                flag_array(o, flags.bits(), &["nobs", "csa"]);
            }
        }
        DealiasMethod::Bump {
            wait_probe,
            bump_limit,
            attempts,
        } => {
            o.ku(", \"wait_probe\":", ms(*wait_probe));
            o.ku(", \"bump_limit\":", *bump_limit);
            o.ku(", \"attempts\":", *attempts);
        }
        DealiasMethod::Midarest { .. }
        | DealiasMethod::Midardisc { .. }
        | DealiasMethod::Other(_) => {}
    }
    if let Some(m) = d.list.as_ref().and_then(|l| l.monitor.as_ref()) {
        o.s(",\"monitor\":");
        o.esc(m.as_bytes());
    }
    o.s(", \"probedefs\":[");
    for (i, def) in d.probedefs.iter().enumerate() {
        if i > 0 {
            o.s(", ");
        }
        probedef(o, i, def);
    }
    o.s("], \"probes\":[");
    for (i, p) in d.probes.iter().enumerate() {
        if i > 0 {
            o.s(", ");
        }
        probe(o, d, p);
    }
    o.s("]}");
}

fn probedef(o: &mut Out<'_>, id: usize, def: &DealiasProbedef) {
    o.ku("{\"id\":", id as u64);
    if let Some(a) = &def.src {
        o.s(", \"src\":");
        o.addr(a);
    }
    if let Some(a) = &def.dst {
        o.s(", \"dst\":");
        o.addr(a);
    }
    o.ku(", \"ttl\":", def.ttl);
    o.ku(", \"size\":", def.size);
    o.s(", \"method\":");
    let name = match def.method {
        ProbedefMethod::Unset | ProbedefMethod::Other(_) => None,
        m => m.name(),
    };
    name_or_code(o, name, u64::from(def.method.code()));
    if def.method.is_icmp() {
        o.ku(", \"icmp_id\":", def.icmp_id);
        o.ku(", \"icmp_csum\":", def.icmp_csum);
    } else if def.method.is_udp() {
        o.ku(", \"udp_sport\":", def.sport);
        o.ku(", \"udp_dport\":", def.dport);
    } else if def.method.is_tcp() {
        o.ku(", \"tcp_sport\":", def.sport);
        o.ku(", \"tcp_dport\":", def.dport);
        o.ku(", \"tcp_flags\":", def.tcp_flags);
    }
    if def.mtu != 0 {
        o.ku(", \"mtu\":", def.mtu);
    }
    o.s("}");
}

fn probe(o: &mut Out<'_>, d: &Dealias, p: &DealiasProbe) {
    o.ku("{\"probedef_id\":", p.probedef);
    o.ku(",\"seq\":", p.seq);
    o.s(",\"tx\":");
    o.tv(p.tx, false);
    let def = usize::try_from(p.probedef)
        .ok()
        .and_then(|i| d.probedefs.get(i));
    if def.and_then(|x| x.dst.as_ref()).is_some_and(Addr::is_ipv4) {
        o.ku(", \"ipid\":", p.ipid);
    }
    o.s(", \"replies\":[");
    for (i, r) in p.replies.iter().enumerate() {
        if i > 0 {
            o.s(", ");
        }
        reply(o, r);
    }
    o.s("]}");
}

fn reply(o: &mut Out<'_>, r: &DealiasReply) {
    o.s("{\"src\":");
    o.addr(&r.src);
    o.s(",\"rx\":");
    o.tv(r.rx, false);
    o.ku(",\"ttl\":", r.ttl);
    if r.size != 0 {
        o.ku(", \"size\":", r.size);
    }
    if r.flags.contains(DealiasReplyFlags::IPID32) {
        o.ku(", \"ipid\":", r.ipid);
    } else if r.src.is_ipv4() {
        o.ku(", \"ipid\":", r.ipid & 0xffff);
    }
    o.ku(", \"proto\":", r.proto);
    if r.is_icmp() {
        o.ku(", \"icmp_type\":", r.icmp_type);
        o.ku(", \"icmp_code\":", r.icmp_code);
        let quoting = match r.src {
            Addr::V6(_) => (1..=3).contains(&r.icmp_type),
            _ => r.icmp_type == 3 || r.icmp_type == 11,
        };
        if quoting {
            o.ku(", \"icmp_q_ttl\":", r.icmp_q_ttl);
        }
    } else if r.is_tcp() {
        o.ku(", \"tcp_flags\":", r.tcp_flags);
    }
    o.s("}");
}
