//! DNS records (type 14).

use std::time::Duration;

use vantage_model::{
    Addr, DnsHeaderFlags, DnsRr, DnsRrData, DnsSoa, Host, HostFlags, HostQuery, HostStop,
    Timestamp, rr_data_kind,
};

use crate::error::{DecodeError, DecodeErrorKind as K, WriteError};
use crate::prim::{DResult, Dec, EResult, Enc, units};

const DT_ADDR: u16 = 1;
const DT_STR: u16 = 2;
const DT_SOA: u16 = 3;
const DT_MX: u16 = 4;
const DT_TXT: u16 = 5;
const DT_OPT: u16 = 6;
const DT_SVCB: u16 = 7;

pub(crate) fn decode(d: &mut Dec<'_, '_>) -> DResult<Host> {
    let mut p = d.params()?;
    let mut h = Host {
        list: None,
        cycle: None,
        user_id: 0,
        src: None,
        dst: Addr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        start: Timestamp::default(),
        flags: HostFlags::empty(),
        wait_timeout: Duration::ZERO,
        stop_reason: HostStop::None,
        retries: 0,
        qtype: 0,
        qclass: 0,
        qname: None,
        ecs: None,
        errmsg: None,
        queries: Vec::new(),
    };
    let mut dst = None;
    let mut qcount = 0u8;
    while let Some(f) = p.next_flag() {
        match f {
            1 => h.list = d.list()?,
            2 => h.cycle = d.cycle()?,
            3 => h.user_id = d.u32()?,
            4 => h.src = Some(d.addr()?),
            5 => dst = Some(d.addr()?),
            6 => h.start = d.timeval()?,
            7 => h.flags = HostFlags(d.u16()?),
            8 => h.wait_timeout = Duration::from_millis(u64::from(d.u16()?)),
            9 => h.stop_reason = HostStop::from_code(d.u8()?),
            10 => h.retries = d.u8()?,
            11 => h.qtype = d.u16()?,
            12 => h.qclass = d.u16()?,
            13 => h.qname = Some(d.string()?),
            14 => qcount = d.u8()?,
            15 => h.ecs = Some(d.string()?),
            16 => h.errmsg = Some(d.string()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    h.dst = dst.ok_or_else(|| d.err(K::Missing("host dst")))?;
    for _ in 0..qcount {
        let mut p = d.params()?;
        let mut q = HostQuery::default();
        let (mut an, mut ns, mut ar) = (0u16, 0u16, 0u16);
        while let Some(f) = p.next_flag() {
            match f {
                1 => q.tx = d.timeval()?,
                2 => q.rx = d.timeval()?,
                3 => q.id = d.u16()?,
                4 => an = d.u16()?,
                5 => ns = d.u16()?,
                6 => ar = d.u16()?,
                7 => q.rcode = d.u8()?,
                8 => q.flags = DnsHeaderFlags(d.u8()?),
                _ => break,
            }
        }
        d.finish(&p)?;
        q.an = (0..an).map(|_| decode_rr(d)).collect::<DResult<_>>()?;
        q.ns = (0..ns).map(|_| decode_rr(d)).collect::<DResult<_>>()?;
        q.ar = (0..ar).map(|_| decode_rr(d)).collect::<DResult<_>>()?;
        h.queries.push(q);
    }
    Ok(h)
}

fn decode_rr(d: &mut Dec<'_, '_>) -> DResult<DnsRr> {
    let mut p = d.params()?;
    let mut rr = DnsRr::default();
    let mut data_at = None;
    while let Some(f) = p.next_flag() {
        match f {
            1 => rr.class = d.u16()?,
            2 => rr.rtype = d.u16()?,
            3 => rr.name = Some(d.string()?),
            4 => rr.ttl = d.u32()?,
            5 => {
                data_at = Some(d.pos);
                rr.data = Some(decode_rr_data(d)?);
            }
            _ => break,
        }
    }
    d.finish(&p)?;
    if let (Some(at), Some(data)) = (data_at, &rr.data)
        && rr_data_kind(rr.class, rr.rtype) != Some(data.kind())
    {
        return Err(DecodeError::new(
            at,
            K::Invalid {
                field: "DNS RR data type for its class/type",
                value: u64::from(rr.rtype),
            },
        ));
    }
    Ok(rr)
}

fn pairs16(d: &mut Dec<'_, '_>, n: u16) -> DResult<Vec<(u16, Vec<u8>)>> {
    (0..n)
        .map(|_| {
            let k = d.u16()?;
            let len = d.u16()?;
            Ok((k, d.bytes(usize::from(len))?.to_vec()))
        })
        .collect()
}

fn decode_rr_data(d: &mut Dec<'_, '_>) -> DResult<DnsRrData> {
    let at = d.pos;
    let dt = d.u16()?;
    Ok(match dt {
        DT_ADDR => DnsRrData::Addr(d.addr()?),
        DT_STR => DnsRrData::Name(d.string()?),
        DT_SOA => {
            let mut p = d.params()?;
            let (mut mname, mut rname) = (None, None);
            let mut soa = DnsSoa::default();
            while let Some(f) = p.next_flag() {
                match f {
                    1 => mname = Some(d.string()?),
                    2 => rname = Some(d.string()?),
                    3 => soa.serial = d.u32()?,
                    4 => soa.refresh = d.u32()?,
                    5 => soa.retry = d.u32()?,
                    6 => soa.expire = d.u32()?,
                    7 => soa.minimum = d.u32()?,
                    _ => break,
                }
            }
            d.finish(&p)?;
            soa.mname = mname.ok_or_else(|| d.err(K::Missing("SOA mname")))?;
            soa.rname = rname.ok_or_else(|| d.err(K::Missing("SOA rname")))?;
            DnsRrData::Soa(soa)
        }
        DT_MX => {
            let mut p = d.params()?;
            let (mut preference, mut exchange) = (0, None);
            while let Some(f) = p.next_flag() {
                match f {
                    1 => preference = d.u16()?,
                    2 => exchange = Some(d.string()?),
                    _ => break,
                }
            }
            d.finish(&p)?;
            let exchange = exchange.ok_or_else(|| d.err(K::Missing("MX exchange")))?;
            DnsRrData::Mx {
                preference,
                exchange,
            }
        }
        DT_TXT => {
            let mut p = d.params()?;
            let mut count = 0u16;
            let mut strs = Vec::new();
            while let Some(f) = p.next_flag() {
                match f {
                    1 => count = d.u16()?,
                    2 => {
                        for _ in 0..count {
                            let n = d.u8()?;
                            strs.push(d.bytes(usize::from(n))?.to_vec());
                        }
                    }
                    _ => break,
                }
            }
            d.finish(&p)?;
            DnsRrData::Txt(strs)
        }
        DT_OPT => {
            let mut p = d.params()?;
            let mut count = 0u16;
            let mut elems = Vec::new();
            while let Some(f) = p.next_flag() {
                match f {
                    1 => count = d.u16()?,
                    2 => elems = pairs16(d, count)?,
                    _ => break,
                }
            }
            d.finish(&p)?;
            DnsRrData::Opt(elems)
        }
        DT_SVCB => {
            let mut p = d.params()?;
            let (mut priority, mut target, mut count, mut params) = (0, None, 0u16, Vec::new());
            while let Some(f) = p.next_flag() {
                match f {
                    1 => priority = d.u16()?,
                    2 => target = Some(d.string()?),
                    3 => count = d.u16()?,
                    4 => params = pairs16(d, count)?,
                    _ => break,
                }
            }
            d.finish(&p)?;
            DnsRrData::Svcb {
                priority,
                target,
                params,
            }
        }
        _ => {
            return Err(DecodeError::new(
                at,
                K::Invalid {
                    field: "DNS RR data type",
                    value: u64::from(dt),
                },
            ));
        }
    })
}

pub(crate) fn encode(e: &mut Enc, h: &Host, list: u32, cycle: u32) -> EResult<()> {
    let timeout = units(
        e,
        h.wait_timeout,
        Duration::from_millis(1),
        65535,
        "wait_timeout",
    )? as u16;
    let mut p = e.params_begin(16);
    if list != 0 {
        p.set(1);
        e.u32(list);
    }
    if cycle != 0 {
        p.set(2);
        e.u32(cycle);
    }
    if h.user_id != 0 {
        p.set(3);
        e.u32(h.user_id);
    }
    if let Some(a) = &h.src {
        p.set(4);
        e.addr(a);
    }
    p.set(5);
    e.addr(&h.dst);
    p.set(6);
    e.timeval(h.start);
    if !h.flags.is_empty() {
        p.set(7);
        e.u16(h.flags.bits());
    }
    if timeout != 0 {
        p.set(8);
        e.u16(timeout);
    }
    if h.stop_reason.code() != 0 {
        p.set(9);
        e.u8(h.stop_reason.code());
    }
    if h.retries != 0 {
        p.set(10);
        e.u8(h.retries);
    }
    if h.qtype != 0 {
        p.set(11);
        e.u16(h.qtype);
    }
    if h.qclass != 0 {
        p.set(12);
        e.u16(h.qclass);
    }
    if let Some(s) = &h.qname {
        p.set(13);
        e.string(s);
    }
    if !h.queries.is_empty() {
        p.set(14);
        e.count8(h.queries.len(), "query count")?;
    }
    if let Some(s) = &h.ecs {
        p.set(15);
        e.string(s);
    }
    if let Some(s) = &h.errmsg {
        p.set(16);
        e.string(s);
    }
    e.params_end(p)?;
    for q in &h.queries {
        let mut p = e.params_begin(8);
        if !q.tx.is_zero() {
            p.set(1);
            e.timeval(q.tx);
        }
        if !q.rx.is_zero() {
            p.set(2);
            e.timeval(q.rx);
        }
        if q.id != 0 {
            p.set(3);
            e.u16(q.id);
        }
        for (flag, sec, name) in [
            (4, &q.an, "answer count"),
            (5, &q.ns, "authority count"),
            (6, &q.ar, "additional count"),
        ] {
            if !sec.is_empty() {
                p.set(flag);
                e.count16(sec.len(), name)?;
            }
        }
        if q.rcode != 0 {
            p.set(7);
            e.u8(q.rcode);
        }
        if !q.flags.is_empty() {
            p.set(8);
            e.u8(q.flags.bits());
        }
        e.params_end(p)?;
        for rr in q.an.iter().chain(&q.ns).chain(&q.ar) {
            encode_rr(e, rr)?;
        }
    }
    Ok(())
}

fn encode_rr(e: &mut Enc, rr: &DnsRr) -> EResult<()> {
    if let Some(data) = &rr.data
        && rr_data_kind(rr.class, rr.rtype) != Some(data.kind())
    {
        return Err(WriteError::Inconsistent {
            record: "host",
            field: "RR data (does not match its class/type)",
        });
    }
    let mut p = e.params_begin(5);
    if rr.class != 0 {
        p.set(1);
        e.u16(rr.class);
    }
    if rr.rtype != 0 {
        p.set(2);
        e.u16(rr.rtype);
    }
    if let Some(n) = &rr.name {
        p.set(3);
        e.string(n);
    }
    if rr.ttl != 0 {
        p.set(4);
        e.u32(rr.ttl);
    }
    if let Some(data) = &rr.data {
        p.set(5);
        encode_rr_data(e, data)?;
    }
    e.params_end(p)
}

fn encode_pairs(e: &mut Enc, v: &[(u16, Vec<u8>)], field: &'static str) -> EResult<()> {
    for (k, b) in v {
        e.u16(*k);
        e.count16(b.len(), field)?;
        e.buf.extend_from_slice(b);
    }
    Ok(())
}

fn encode_rr_data(e: &mut Enc, data: &DnsRrData) -> EResult<()> {
    match data {
        DnsRrData::Addr(a) => {
            e.u16(DT_ADDR);
            e.addr(a);
        }
        DnsRrData::Name(s) => {
            e.u16(DT_STR);
            e.string(s);
        }
        DnsRrData::Soa(soa) => {
            e.u16(DT_SOA);
            let mut p = e.params_begin(7);
            p.set(1);
            e.string(&soa.mname);
            p.set(2);
            e.string(&soa.rname);
            for (flag, v) in [
                (3, soa.serial),
                (4, soa.refresh),
                (5, soa.retry),
                (6, soa.expire),
                (7, soa.minimum),
            ] {
                if v != 0 {
                    p.set(flag);
                    e.u32(v);
                }
            }
            e.params_end(p)?;
        }
        DnsRrData::Mx {
            preference,
            exchange,
        } => {
            e.u16(DT_MX);
            let mut p = e.params_begin(2);
            if *preference != 0 {
                p.set(1);
                e.u16(*preference);
            }
            p.set(2);
            e.string(exchange);
            e.params_end(p)?;
        }
        DnsRrData::Txt(strs) => {
            e.u16(DT_TXT);
            let mut p = e.params_begin(2);
            if !strs.is_empty() {
                p.set(1);
                e.count16(strs.len(), "TXT string count")?;
                p.set(2);
                for s in strs {
                    e.count8(s.len(), "TXT string length")?;
                    e.buf.extend_from_slice(s);
                }
            }
            e.params_end(p)?;
        }
        DnsRrData::Opt(elems) => {
            e.u16(DT_OPT);
            let mut p = e.params_begin(2);
            if !elems.is_empty() {
                p.set(1);
                e.count16(elems.len(), "OPT element count")?;
                p.set(2);
                encode_pairs(e, elems, "OPT element length")?;
            }
            e.params_end(p)?;
        }
        DnsRrData::Svcb {
            priority,
            target,
            params,
        } => {
            e.u16(DT_SVCB);
            let mut p = e.params_begin(4);
            if *priority != 0 {
                p.set(1);
                e.u16(*priority);
            }
            if let Some(t) = target {
                p.set(2);
                e.string(t);
            }
            if !params.is_empty() {
                p.set(3);
                e.count16(params.len(), "SVCB param count")?;
                p.set(4);
                encode_pairs(e, params, "SVCB param length")?;
            }
            e.params_end(p)?;
        }
    }
    Ok(())
}
