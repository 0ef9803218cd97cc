//! Udpprobe objects (json.md §9).

use vantage_model::{Timestamp, Udpprobe};

use super::name_or_code;
use super::out::Out;

pub(crate) fn write(o: &mut Out<'_>, u: &Udpprobe) {
    o.s("{\"type\":\"udpprobe\", \"version\":\"0.1\"");
    if let Some(a) = &u.src {
        o.s(", \"src\":");
        o.addr(a);
    }
    if let Some(a) = &u.dst {
        o.s(", \"dst\":");
        o.addr(a);
    }
    o.ku(", \"userid\":", u.user_id);
    o.s(", \"start\":");
    o.tv(u.start, true);
    o.ku(", \"sport\":", u.sport);
    o.ku(", \"dport\":", u.dport);
    o.ku(", \"wait_timeout\":{\"sec\":", u.wait_timeout.as_secs());
    o.ku(", \"usec\":", u.wait_timeout.subsec_micros());
    o.s("}");
    if !u.flags.is_empty() {
        o.s(", \"flags\":");
        o.names(u.flags.names(), ", ");
    }
    o.s(", \"stop_reason\":");
    name_or_code(o, u.stop_reason.name(), u64::from(u.stop_reason.code()));
    if let Some(e) = &u.errmsg {
        o.s(",\"errmsg\":");
        o.esc(e.as_bytes());
    }
    if !u.payload.is_empty() {
        o.s(", \"data\":");
        o.hex(&u.payload);
    }
    o.ku(", \"len\":", u.payload.len() as u64);
    o.ku(", \"probe_count\":", u.probe_count);
    o.ku(", \"probe_sent\":", u.probes.len() as u64);
    o.ku(", \"stop_count\":", u.stop_count);
    if let Some(m) = u.list.as_ref().and_then(|l| l.monitor.as_ref()) {
        o.s(",\"monitor\":");
        o.esc(m.as_bytes());
    }
    o.s(", \"probes\":[");
    for (i, p) in u.probes.iter().enumerate() {
        if i > 0 {
            o.s(",");
        }
        o.s("{\"tx\":");
        o.tv(p.tx, true);
        o.ku(", \"sport\":", p.sport);
        o.ku(", \"replyc\":", p.replies.len() as u64);
        o.s(", \"replies\":[");
        for (j, r) in p.replies.iter().enumerate() {
            if j > 0 {
                o.s(", ");
            }
            o.s("{\"rx\":");
            o.tv(r.rx, true);
            o.s(", \"rtt\":");
            let rtt = r.rx.since(p.tx);
            o.tv(
                Timestamp::new(
                    u32::try_from(rtt.as_secs()).unwrap_or(u32::MAX),
                    rtt.subsec_micros(),
                ),
                true,
            );
            o.ku(", \"len\":", r.data.len() as u64);
            if !r.data.is_empty() {
                o.s(", \"data\":");
                o.hex(&r.data);
            }
            if let Some(ifn) = &r.ifname {
                o.s(", \"ifname\":");
                o.raw_str(ifn);
            }
            // Vantage extension: the sender (not in warts).
            if let Some(a) = &r.src {
                o.s(", \"src\":");
                o.addr(a);
                o.ku(", \"sport\":", r.sport);
            }
            o.s("}");
        }
        o.s("]}");
    }
    o.s("]}");
}
