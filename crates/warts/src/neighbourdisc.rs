//! Neighbour discovery records (type 10).

use std::time::Duration;

use vantage_model::{
    Neighbourdisc, NeighbourdiscFlags, NeighbourdiscMethod, NeighbourdiscProbe, NeighbourdiscReply,
    Timestamp,
};

use crate::error::DecodeErrorKind as K;
use crate::prim::{DResult, Dec, EResult, Enc, units};

pub(crate) fn decode(d: &mut Dec<'_, '_>) -> DResult<Neighbourdisc> {
    let mut p = d.params()?;
    let mut x = Neighbourdisc {
        list: None,
        cycle: None,
        user_id: 0,
        ifname: None,
        start: Timestamp::default(),
        method: NeighbourdiscMethod::Unset,
        wait_timeout: Duration::ZERO,
        flags: NeighbourdiscFlags::empty(),
        attempts: 0,
        replyc: 0,
        src_ip: None,
        src_mac: None,
        dst_ip: None,
        dst_mac: None,
        errmsg: None,
        probes: Vec::new(),
    };
    let mut probec = 0u16;
    while let Some(f) = p.next_flag() {
        match f {
            1 => x.list = d.list()?,
            2 => x.cycle = d.cycle()?,
            3 => x.user_id = d.u32()?,
            4 => x.ifname = Some(d.string()?),
            5 => x.start = d.timeval()?,
            6 => x.method = NeighbourdiscMethod::from_code(d.u8()?),
            7 => x.wait_timeout = Duration::from_millis(u64::from(d.u16()?)),
            8 => x.flags = NeighbourdiscFlags(d.u8()?),
            9 => x.attempts = d.u16()?,
            10 => x.replyc = d.u16()?,
            11 => x.src_ip = Some(d.addr()?),
            12 => x.src_mac = Some(d.addr()?),
            13 => x.dst_ip = Some(d.addr()?),
            14 => x.dst_mac = Some(d.addr()?),
            15 => probec = d.u16()?,
            16 => x.errmsg = Some(d.string()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    for _ in 0..probec {
        let mut p = d.params()?;
        let mut pr = NeighbourdiscProbe::default();
        let mut rxc = 0u16;
        while let Some(f) = p.next_flag() {
            match f {
                1 => pr.tx = d.timeval()?,
                2 => rxc = d.u16()?,
                _ => break,
            }
        }
        d.finish(&p)?;
        for _ in 0..rxc {
            let mut p = d.params()?;
            let mut rx = Timestamp::default();
            let mut mac = None;
            while let Some(f) = p.next_flag() {
                match f {
                    1 => rx = d.timeval()?,
                    2 => mac = Some(d.addr()?),
                    _ => break,
                }
            }
            d.finish(&p)?;
            let mac = mac.ok_or_else(|| d.err(K::Missing("neighbourdisc reply mac")))?;
            pr.replies.push(NeighbourdiscReply { rx, mac });
        }
        x.probes.push(pr);
    }
    Ok(x)
}

pub(crate) fn encode(e: &mut Enc, x: &Neighbourdisc, list: u32, cycle: u32) -> EResult<()> {
    let wait = units(
        e,
        x.wait_timeout,
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
    if x.user_id != 0 {
        p.set(3);
        e.u32(x.user_id);
    }
    if let Some(s) = &x.ifname {
        p.set(4);
        e.string(s);
    }
    p.set(5);
    e.timeval(x.start);
    p.set(6);
    e.u8(x.method.code());
    p.set(7);
    e.u16(wait);
    p.set(8);
    e.u8(x.flags.bits());
    p.set(9);
    e.u16(x.attempts);
    p.set(10);
    e.u16(x.replyc);
    for (flag, a) in [
        (11, &x.src_ip),
        (12, &x.src_mac),
        (13, &x.dst_ip),
        (14, &x.dst_mac),
    ] {
        if let Some(a) = a {
            p.set(flag);
            e.addr(a);
        }
    }
    p.set(15);
    e.count16(x.probes.len(), "probe count")?;
    if let Some(s) = &x.errmsg {
        p.set(16);
        e.string(s);
    }
    e.params_end(p)?;
    for pr in &x.probes {
        let mut p = e.params_begin(2);
        p.set(1);
        e.timeval(pr.tx);
        if !pr.replies.is_empty() {
            p.set(2);
            e.count16(pr.replies.len(), "reply count")?;
        }
        e.params_end(p)?;
        for r in &pr.replies {
            let mut p = e.params_begin(2);
            p.set(1);
            e.timeval(r.rx);
            p.set(2);
            e.addr(&r.mac);
            e.params_end(p)?;
        }
    }
    Ok(())
}
