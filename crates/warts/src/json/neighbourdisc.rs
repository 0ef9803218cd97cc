//! Neighbour discovery objects. json.md has no template for these; the
//! layout follows `sc_warts2json`'s output in the test vectors.

use vantage_model::{Neighbourdisc, Timestamp};

use super::name_or_code;
use super::out::Out;

pub(crate) fn write(o: &mut Out<'_>, n: &Neighbourdisc) {
    o.s("{\"type\":\"neighbourdisc\", \"version\":\"0.1\", \"method\":");
    name_or_code(o, n.method.name(), u64::from(n.method.code()));
    for (key, a) in [
        (", \"src_ip\":", &n.src_ip),
        (", \"src_mac\":", &n.src_mac),
        (", \"dst_ip\":", &n.dst_ip),
        (", \"dst_mac\":", &n.dst_mac),
    ] {
        if let Some(a) = a {
            o.s(key);
            o.addr(a);
        }
    }
    if let Some(i) = &n.ifname {
        o.s(", \"ifname\":");
        o.raw_str(i);
    }
    o.ku(", \"userid\":", n.user_id);
    o.ku(", \"attempts\":", n.attempts);
    o.ku(", \"stop_count\":", n.replyc);
    o.s(", \"start\":");
    o.tv(n.start, true);
    o.s(", \"wait_timeout\":");
    o.tv(
        Timestamp::new(
            u32::try_from(n.wait_timeout.as_secs()).unwrap_or(u32::MAX),
            n.wait_timeout.subsec_micros(),
        ),
        true,
    );
    if !n.flags.is_empty() {
        o.s(", \"flags\":");
        o.names(n.flags.names(), ",");
    }
    if let Some(e) = &n.errmsg {
        o.s(", \"errmsg\":");
        o.esc(e.as_bytes());
    }
    if let Some(m) = n.list.as_ref().and_then(|l| l.monitor.as_ref()) {
        o.s(", \"monitor\":");
        o.esc(m.as_bytes());
    }
    o.s(", \"probes\":[");
    for (i, p) in n.probes.iter().enumerate() {
        if i > 0 {
            o.s(",");
        }
        o.s("{\"tx\":");
        o.tv(p.tx, true);
        o.ku(", \"replyc\":", p.replies.len() as u64);
        o.s(", \"replies\":[");
        for (j, r) in p.replies.iter().enumerate() {
            if j > 0 {
                o.s(",");
            }
            o.s("{\"rx\":");
            o.tv(r.rx, true);
            o.s(", \"mac\":");
            o.addr(&r.mac);
            o.s("}");
        }
        o.s("]}");
    }
    o.s("]}");
}
