//! MDA traceroute (tracelb) objects (json.md §8).

use std::collections::BTreeSet;

use vantage_model::{Addr, Tracelb, TracelbLink, TracelbProbe, TracelbReply};

use super::out::{Out, ftime};
use super::trace::icmpext;
use super::{JsonOptions, name_or_code};

pub(crate) fn write(o: &mut Out<'_>, t: &Tracelb, opts: &JsonOptions) {
    o.ku(
        "{\"type\":\"tracelb\", \"version\":\"0.1\", \"userid\":",
        t.user_id,
    );
    o.s(", \"method\":");
    name_or_code(o, t.method.name(), u64::from(t.method.code()));
    if let Some(a) = &t.src {
        o.s(", \"src\":");
        o.addr(a);
    }
    o.s(", \"dst\":");
    o.addr(&t.dst);
    if let Some(a) = &t.rtr {
        o.s(", \"rtr\":");
        o.addr(a);
    }
    if t.method.is_udp() || t.method.is_tcp() {
        o.ku(", \"sport\":", t.sport);
        o.ku(", \"dport\":", t.dport);
    }
    o.ku(", \"start\":{\"sec\":", t.start.sec);
    o.ku(", \"usec\":", t.start.usec);
    o.s(", \"ftime\":\"");
    let secs = i64::from(t.start.sec);
    ftime(o, secs, opts.utc_offset(secs));
    o.s("\"}");
    o.ku(", \"probe_size\":", t.probe_size);
    o.ku(", \"firsthop\":", t.firsthop);
    o.ku(", \"attempts\":", t.attempts);
    o.ku(", \"confidence\":", t.confidence);
    o.ku(", \"tos\":", t.tos);
    o.ku(", \"gaplimit\":", t.gaplimit);
    o.ku(", \"wait_timeout\":", t.wait_timeout.as_secs());
    o.ku(", \"wait_probe\":", (t.wait_probe.as_millis() / 10) as u64);
    o.ku(", \"probec\":", t.probes_sent);
    o.ku(", \"probec_max\":", t.max_probes);
    o.ku(", \"nodec\":", t.nodes.len() as u64);
    o.ku(", \"linkc\":", t.links.len() as u64);
    if let Some(e) = &t.errmsg {
        o.s(",\"errmsg\":");
        o.esc(e.as_bytes());
    }
    if let Some(m) = t.list.as_ref().and_then(|l| l.monitor.as_ref()) {
        o.s(",\"monitor\":");
        o.esc(m.as_bytes());
    }
    let mut first = true;
    for (i, node) in t.nodes.iter().enumerate() {
        let Ok(idx) = u16::try_from(i) else { break };
        let links: Vec<&TracelbLink> = t.node_links(idx).collect();
        if links.is_empty() {
            continue;
        }
        o.s(if first { ", \"nodes\":[" } else { "," });
        first = false;
        o.s("{\"addr\":");
        node_addr(o, node.addr.as_ref());
        if let Some(n) = &node.name {
            o.s(", \"name\":");
            o.esc(n.as_bytes());
        }
        if let Some(q) = node.q_ttl {
            o.ku(", \"q_ttl\":", q);
        }
        o.ku(", \"linkc\":", links.len() as u64);
        o.s(", \"links\":[");
        if let [link] = links.as_slice() {
            chain(o, t, link);
        } else {
            o.s("[");
            for (j, link) in links.iter().enumerate() {
                if j > 0 {
                    o.s(",");
                }
                let to = to_addr(t, link);
                o.s("{");
                if let Some(a) = to {
                    o.s("\"addr\":");
                    o.addr(a);
                    o.s(", ");
                }
                o.s("\"probes\":[");
                let set = link.probesets.first().map_or(&[][..], Vec::as_slice);
                probes(o, set.iter(), to);
                o.s("]}");
            }
            o.s("]");
        }
        o.s("]}");
    }
    if !first {
        o.s("]");
    }
    o.s("}");
}

fn node_addr(o: &mut Out<'_>, a: Option<&Addr>) {
    match a {
        Some(a) => o.addr(a),
        None => o.s("\"*\""),
    }
}

/// The address of a link's far node, if it has one.
fn to_addr<'t>(t: &'t Tracelb, link: &TracelbLink) -> Option<&'t Addr> {
    link.to
        .and_then(|i| t.nodes.get(usize::from(i)))
        .and_then(|n| n.addr.as_ref())
}

/// The probe sets of a node's only link: a summary per intermediate hop,
/// then the far node with the last set's probes.
fn chain(o: &mut Out<'_>, t: &Tracelb, link: &TracelbLink) {
    let n = link.probesets.len();
    for (k, set) in link.probesets.iter().enumerate() {
        if k > 0 {
            o.s(",");
        }
        o.s("[");
        if k + 1 < n {
            summary(o, set);
        } else {
            match to_addr(t, link) {
                Some(a) => {
                    o.s("{\"addr\":");
                    o.addr(a);
                    o.s(", \"probes\":[");
                    probes(o, set.iter(), Some(a));
                    o.s("]}");
                }
                None => o.s("{\"addr\":\"*\"}"),
            }
        }
        o.s("]");
    }
}

/// One intermediate probe set: each replying address (sorted) with the
/// probes it answered, then `*` if some flow got no reply at all.
fn summary(o: &mut Out<'_>, set: &[TracelbProbe]) {
    let addrs: BTreeSet<&Addr> = set
        .iter()
        .flat_map(|p| p.replies.iter().map(|r| &r.from))
        .collect();
    if addrs.is_empty() {
        o.s("{\"addr\":\"*\"}");
        return;
    }
    for (i, a) in addrs.iter().enumerate() {
        if i > 0 {
            o.s(", ");
        }
        o.s("{\"addr\":");
        o.addr(a);
        o.s(", \"probes\":[");
        let answered = set
            .iter()
            .filter(|p| p.replies.iter().any(|r| &r.from == *a));
        probes(o, answered, Some(a));
        o.s("]}");
    }
    let flows: BTreeSet<u16> = set.iter().map(|p| p.flowid).collect();
    let silent_flow = flows.iter().any(|f| {
        set.iter()
            .filter(|p| p.flowid == *f)
            .all(|p| p.replies.is_empty())
    });
    if silent_flow {
        o.s(", {\"addr\":\"*\"}");
    }
}

/// Probes, with `replyc` and `replies` restricted to replies from `from`
/// (every reply when `from` is `None`).
fn probes<'p>(o: &mut Out<'_>, set: impl Iterator<Item = &'p TracelbProbe>, from: Option<&Addr>) {
    for (i, p) in set.enumerate() {
        if i > 0 {
            o.s(",");
        }
        let matches = |r: &&TracelbReply| from.is_none_or(|a| &r.from == a);
        let replyc = p.replies.iter().filter(matches).count();
        o.s("{\"tx\":");
        o.tv(p.tx, true);
        o.ku(", \"replyc\":", replyc as u64);
        o.ku(", \"ttl\":", p.ttl);
        o.ku(", \"attempt\":", p.attempt);
        o.ku(", \"flowid\":", p.flowid);
        if replyc > 0 {
            o.s(", \"replies\":[");
            for (j, r) in p.replies.iter().filter(matches).enumerate() {
                if j > 0 {
                    o.s(",");
                }
                reply(o, p, r);
            }
            o.s("]");
        }
        o.s("}");
    }
}

fn reply(o: &mut Out<'_>, p: &TracelbProbe, r: &TracelbReply) {
    o.s("{\"rx\":");
    o.tv(r.rx, true);
    o.ku(", \"ttl\":", r.ttl);
    o.s(", \"rtt\":");
    o.ms(r.rx.since(p.tx));
    if r.from.is_ipv4() {
        o.ku(", \"ipid\":", r.ipid);
    }
    if r.is_tcp() {
        o.ku(", \"tcp_flags\":", r.tcp_flags);
    } else {
        o.ku(", \"icmp_type\":", r.icmp_type);
        o.ku(", \"icmp_code\":", r.icmp_code);
        o.ku(", \"icmp_q_tos\":", r.icmp_q_tos);
        let quoting = match r.from {
            Addr::V6(_) => r.icmp_type == 1 || r.icmp_type == 3,
            _ => r.icmp_type == 3 || r.icmp_type == 11,
        };
        if quoting {
            o.ku(", \"icmp_q_ttl\":", r.icmp_q_ttl);
        }
    }
    icmpext(o, &r.icmp_exts);
    o.s("}");
}
