//! Host (DNS) objects (json.md §6).

use vantage_model::{CLASS_CH, CLASS_IN, DnsRr, DnsRrData, Host, HostQuery, HostStop, RR_TYPES};

use super::out::Out;

fn class(o: &mut Out<'_>, c: u16) {
    match c {
        CLASS_IN => o.s("\"IN\""),
        CLASS_CH => o.s("\"CH\""),
        n => {
            o.s("\"");
            o.u(n);
            o.s("\"");
        }
    }
}

fn rtype(o: &mut Out<'_>, t: u16) {
    o.s("\"");
    match RR_TYPES.iter().find(|(code, _)| *code == t) {
        Some((_, name)) => o.s(name),
        None => o.u(t),
    }
    o.s("\"");
}

/// Response code names as scamper prints them (12..=15 come out as glibc's
/// `(null)`; 19 is `BADMODEBADNAME`, two names run together in scamper).
fn rcode(o: &mut Out<'_>, rc: u8) {
    const NAMES: [&str; 23] = [
        "NoError",
        "FormErr",
        "ServFail",
        "NXDomain",
        "NotImp",
        "Refused",
        "YXDomain",
        "YXRRSet",
        "NXRRSet",
        "NotAuth",
        "NotZone",
        "DSOTYPENI",
        "(null)",
        "(null)",
        "(null)",
        "(null)",
        "BADVERS",
        "BADKEY",
        "BADTIME",
        "BADMODEBADNAME",
        "BADALG",
        "BADTRUNC",
        "BADCOOKIE",
    ];
    o.s("\"");
    match NAMES.get(usize::from(rc)) {
        Some(n) => o.s(n),
        None => o.u(rc),
    }
    o.s("\"");
}

pub(crate) fn write(o: &mut Out<'_>, h: &Host) {
    o.s("{\"type\":\"host\", \"version\":\"0.1\"");
    if let Some(a) = &h.src {
        o.s(", \"src\":");
        o.addr(a);
    }
    o.s(", \"dst\":");
    o.addr(&h.dst);
    o.ku(", \"userid\":", h.user_id);
    o.s(", \"start\":");
    o.tv(h.start, false);
    if let Some(e) = &h.errmsg {
        o.s(",\"errmsg\":");
        o.esc(e.as_bytes());
    }
    if !h.flags.is_empty() {
        o.s(", \"flags\":");
        o.names(h.flags.names(), ", ");
    }
    o.ku(", \"wait\":", h.wait_timeout.as_millis() as u64);
    o.ku(", \"retries\":", h.retries);
    o.s(", \"stop\":\"");
    match h.stop_reason {
        HostStop::Other(n) => o.u(n),
        s => {
            for c in s.name().unwrap_or("").bytes() {
                o.b.push(c.to_ascii_uppercase());
            }
        }
    }
    o.s("\"");
    if let Some(q) = &h.qname {
        o.s(", \"qname\":");
        o.esc(q.as_bytes());
    }
    o.s(", \"qclass\":");
    class(o, h.qclass);
    o.s(", \"qtype\":");
    rtype(o, h.qtype);
    o.ku(", \"qcount\":", h.queries.len() as u64);
    if let Some(e) = &h.ecs {
        o.s(", \"ecs\":");
        o.raw_str(e);
    }
    if let Some(m) = h.list.as_ref().and_then(|l| l.monitor.as_ref()) {
        o.s(",\"monitor\":");
        o.esc(m.as_bytes());
    }
    o.s(", \"queries\":[");
    for (i, q) in h.queries.iter().enumerate() {
        if i > 0 {
            o.s(",");
        }
        query(o, q);
    }
    o.s("]}");
}

fn query(o: &mut Out<'_>, q: &HostQuery) {
    o.ku("{\"id\":", q.id);
    o.ku(", \"ancount\":", q.an.len() as u64);
    o.ku(", \"nscount\":", q.ns.len() as u64);
    o.ku(", \"arcount\":", q.ar.len() as u64);
    o.s(", \"tx\":");
    o.tv(q.tx, false);
    if q.has_response() {
        o.s(", \"rx\":");
        o.tv(q.rx, false);
        o.s(", \"rcode\":");
        rcode(o, q.rcode);
        o.s(", \"flags\":[");
        let mut first = true;
        for bit in 0..8 {
            let v = 1u8 << bit;
            if q.flags.bits() & v == 0 {
                continue;
            }
            if !first {
                o.s(",");
            }
            first = false;
            o.s(match v {
                0x01 => "\"CD\"",
                0x02 => "\"AD\"",
                0x04 => "\"Z\"",
                0x08 => "\"RA\"",
                0x10 => "\"RD\"",
                0x20 => "\"TC\"",
                0x40 => "\"AA\"",
                _ => "\"0x80\"",
            });
        }
        o.s("]");
    }
    for (key, rrs) in [
        (", \"an\":[", &q.an),
        (", \"ns\":[", &q.ns),
        (", \"ar\":[", &q.ar),
    ] {
        if rrs.is_empty() {
            continue;
        }
        o.s(key);
        for (i, rr) in rrs.iter().enumerate() {
            if i > 0 {
                o.s(",");
            }
            resource(o, rr);
        }
        o.s("]");
    }
    // Vantage extensions (never in warts, so absent for records read from a file).
    if let Some(e) = &q.error {
        o.s(", \"error\":");
        o.esc(e.as_bytes());
    }
    if let Some(r) = &q.response {
        o.s(", \"response\":");
        o.hex(r);
    }
    o.s("}");
}

fn resource(o: &mut Out<'_>, rr: &DnsRr) {
    o.s("{\"class\":");
    class(o, rr.class);
    o.s(", \"type\":");
    rtype(o, rr.rtype);
    o.ku(", \"ttl\":", rr.ttl);
    if let Some(n) = &rr.name {
        o.s(", \"name\":");
        o.esc(n.as_bytes());
    }
    match &rr.data {
        Some(DnsRrData::Addr(a)) => {
            o.s(", \"address\":");
            o.addr(a);
        }
        Some(DnsRrData::Name(n)) => {
            o.s(match rr.rtype {
                2 => ", \"nsdname\":",
                5 => ", \"cname\":",
                _ => ", \"ptrdname\":",
            });
            o.esc(n.as_bytes());
        }
        Some(DnsRrData::Mx {
            preference,
            exchange,
        }) => {
            o.ku(", \"preference\":", *preference);
            o.s(", \"exchange\":");
            o.esc(exchange.as_bytes());
        }
        Some(DnsRrData::Soa(s)) => {
            o.s(", \"mname\":");
            o.esc(s.mname.as_bytes());
            o.s(", \"rname\":");
            o.esc(s.rname.as_bytes());
            o.ku(", \"serial\":", s.serial);
            o.ku(", \"refresh\":", s.refresh);
            o.ku(", \"retry\":", s.retry);
            o.ku(", \"expire\":", s.expire);
            o.ku(", \"minimum\":", s.minimum);
        }
        Some(DnsRrData::Txt(strs)) => {
            o.ku(", \"strc\":", strs.len() as u64);
            o.s(", \"strs\":[");
            for (i, s) in strs.iter().enumerate() {
                if i > 0 {
                    o.s(", ");
                }
                o.esc(s);
            }
            o.s("]");
        }
        Some(DnsRrData::Opt(_) | DnsRrData::Svcb { .. }) | None => {}
    }
    // Vantage extensions: presentation text, and the raw RDATA of types warts does not
    // decode.
    if let Some(t) = &rr.text {
        o.s(", \"text\":");
        o.esc(t.as_bytes());
    }
    if rr.data.is_none() && !rr.rdata.is_empty() {
        o.s(", \"rdata\":");
        o.hex(&rr.rdata);
    }
    o.s("}");
}
