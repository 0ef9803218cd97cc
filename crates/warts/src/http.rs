//! HTTP records (type 15).

use std::time::Duration;

use vantage_model::{Http, HttpBuf, HttpBufType, HttpFlags, HttpStop, HttpType, Timestamp};

use crate::error::{DecodeErrorKind as K, WriteError};
use crate::prim::{DResult, Dec, EResult, Enc};

const ATTR_ECH_CONFIG: u8 = 1;
const ATTR_ECH_RETRY: u8 = 2;

pub(crate) fn decode(d: &mut Dec<'_, '_>) -> DResult<Http> {
    let mut p = d.params()?;
    let mut h = Http {
        list: None,
        cycle: None,
        user_id: 0,
        src: None,
        dst: None,
        sport: 0,
        dport: 0,
        start: Timestamp::default(),
        stop_reason: HttpStop::None,
        kind: HttpType::Https,
        host: String::new(),
        file: String::new(),
        headers: Vec::new(),
        hsrtt: Duration::ZERO,
        flags: HttpFlags::empty(),
        maxtime: Duration::ZERO,
        errmsg: None,
        ech_status: 0,
        ech_outer_sni: None,
        bufs: Vec::new(),
        ech_config_list: None,
        ech_retry_config: None,
        tls: None,
    };
    let mut dport = None;
    let mut bufc = 0u32;
    while let Some(f) = p.next_flag() {
        match f {
            1 => h.list = d.list()?,
            2 => h.cycle = d.cycle()?,
            3 => h.user_id = d.u32()?,
            4 => h.src = Some(d.saddr()?),
            5 => h.dst = Some(d.saddr()?),
            6 => h.sport = d.u16()?,
            7 => dport = Some(d.u16()?),
            8 => h.start = d.timeval()?,
            9 => h.stop_reason = HttpStop::from_code(d.u8()?),
            10 => h.kind = HttpType::from_code(d.u8()?),
            11 => h.host = d.string()?,
            12 => h.file = d.string()?,
            13 => {
                let n = d.u8()?;
                h.headers = (0..n).map(|_| d.string()).collect::<DResult<_>>()?;
            }
            14 => bufc = d.u32()?,
            15 => h.hsrtt = d.rtt()?,
            16 => h.flags = HttpFlags(d.u32()?),
            17 => {
                let t = d.timeval()?;
                h.maxtime = Duration::from_secs(u64::from(t.sec))
                    + Duration::from_micros(u64::from(t.usec));
            }
            18 => h.errmsg = Some(d.string()?),
            19 => h.ech_status = d.u8()?,
            20 => h.ech_outer_sni = Some(d.string()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    h.dport = match dport.or(h.kind.default_port()) {
        Some(v) => v,
        None => return Err(d.err(K::Missing("http dport (and the type has no default)"))),
    };
    for _ in 0..bufc {
        let mut p = d.params()?;
        let mut b = HttpBuf::default();
        let mut len = 0usize;
        while let Some(f) = p.next_flag() {
            match f {
                1 => {
                    let v = d.u8()?;
                    b.tx = v & 0x80 != 0;
                    b.kind = HttpBufType::from_code(v & 0x7f);
                }
                2 => b.ts = d.timeval()?,
                3 => len = usize::from(d.u16()?),
                4 => b.data = d.bytes(len)?.to_vec(),
                _ => break,
            }
        }
        d.finish(&p)?;
        h.bufs.push(b);
    }
    while d.remaining() >= 5 {
        let kind = d.u8()?;
        let len = d.u32()? as usize;
        let bytes = d.bytes(len)?;
        match kind {
            ATTR_ECH_CONFIG => h.ech_config_list = Some(bytes.to_vec()),
            ATTR_ECH_RETRY => h.ech_retry_config = Some(bytes.to_vec()),
            _ => {}
        }
    }
    Ok(h)
}

pub(crate) fn encode(e: &mut Enc, h: &Http, list: u32, cycle: u32) -> EResult<()> {
    // Seconds up to u32::MAX, any excess in the microseconds (as a file may hold).
    let maxtime_s = h.maxtime.as_secs().min(u64::from(u32::MAX));
    let maxtime_us = h.maxtime.as_micros() - u128::from(maxtime_s) * 1_000_000;
    let maxtime_us = u32::try_from(maxtime_us)
        .map_err(|_| e.range("maxtime", h.maxtime.as_secs(), u64::from(u32::MAX)))?;
    let maxtime_s = maxtime_s as u32;
    let mut p = e.params_begin(20);
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
        e.saddr(a);
    }
    if let Some(a) = &h.dst {
        p.set(5);
        e.saddr(a);
    }
    if h.sport != 0 {
        p.set(6);
        e.u16(h.sport);
    }
    if h.kind.default_port() != Some(h.dport) {
        p.set(7);
        e.u16(h.dport);
    }
    if !h.start.is_zero() {
        p.set(8);
        e.timeval(h.start);
    }
    if h.stop_reason.code() != 0 {
        p.set(9);
        e.u8(h.stop_reason.code());
    }
    if h.kind.code() != 0 {
        p.set(10);
        e.u8(h.kind.code());
    }
    p.set(11);
    e.string(&h.host);
    p.set(12);
    e.string(&h.file);
    if !h.headers.is_empty() {
        p.set(13);
        e.count8(h.headers.len(), "header count")?;
        for s in &h.headers {
            e.string(s);
        }
    }
    if !h.bufs.is_empty() {
        p.set(14);
        e.count32(h.bufs.len(), "buffer count")?;
    }
    if !h.hsrtt.is_zero() {
        p.set(15);
        e.rtt(h.hsrtt, "hsrtt")?;
    }
    if !h.flags.is_empty() {
        p.set(16);
        e.u32(h.flags.bits());
    }
    if !h.maxtime.is_zero() {
        p.set(17);
        e.timeval(Timestamp::new(maxtime_s, maxtime_us));
    }
    if let Some(m) = &h.errmsg {
        p.set(18);
        e.string(m);
    }
    if h.ech_status != 0 {
        p.set(19);
        e.u8(h.ech_status);
    }
    if let Some(s) = &h.ech_outer_sni {
        p.set(20);
        e.string(s);
    }
    e.params_end(p)?;
    for b in &h.bufs {
        let kind = b.kind.code();
        if kind > 0x7f {
            return Err(WriteError::OutOfRange {
                record: "http",
                field: "buffer type",
                value: u64::from(kind),
                max: 0x7f,
            });
        }
        let mut p = e.params_begin(4);
        if b.tx || kind != 0 {
            p.set(1);
            e.u8((u8::from(b.tx) << 7) | kind);
        }
        if !b.ts.is_zero() {
            p.set(2);
            e.timeval(b.ts);
        }
        if !b.data.is_empty() {
            p.set(3);
            e.count16(b.data.len(), "buffer length")?;
            p.set(4);
            e.buf.extend_from_slice(&b.data);
        }
        e.params_end(p)?;
    }
    for (kind, v) in [
        (ATTR_ECH_CONFIG, &h.ech_config_list),
        (ATTR_ECH_RETRY, &h.ech_retry_config),
    ] {
        if let Some(v) = v {
            e.u8(kind);
            e.count32(v.len(), "ECH attribute length")?;
            e.buf.extend_from_slice(v);
        }
    }
    Ok(())
}
