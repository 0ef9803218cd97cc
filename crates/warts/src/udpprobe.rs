//! udpprobe records (type 16).

use std::time::Duration;

use vantage_model::{
    Timestamp, Udpprobe, UdpprobeFlags, UdpprobeProbe, UdpprobeReply, UdpprobeStop,
};

use crate::error::{DecodeErrorKind as K, WriteError};
use crate::prim::{DResult, Dec, EResult, Enc};

pub(crate) fn decode(d: &mut Dec<'_, '_>) -> DResult<Udpprobe> {
    let mut p = d.params()?;
    let mut u = Udpprobe {
        list: None,
        cycle: None,
        user_id: 0,
        src: None,
        dst: None,
        sport: 0,
        dport: 0,
        start: Timestamp::default(),
        wait_timeout: Duration::ZERO,
        wait_probe: Duration::ZERO,
        flags: UdpprobeFlags::empty(),
        stop_reason: UdpprobeStop::None,
        payload: Vec::new(),
        probe_count: 1,
        stop_count: 0,
        errmsg: None,
        probes: Vec::new(),
    };
    let mut p0_sport = 0u16;
    let mut p0_replies = 0u8;
    let mut sent = 1u8;
    let mut len = 0usize;
    while let Some(f) = p.next_flag() {
        match f {
            1 => u.list = d.list()?,
            2 => u.cycle = d.cycle()?,
            3 => u.user_id = d.u32()?,
            4 => u.src = Some(d.saddr()?),
            5 => u.dst = Some(d.saddr()?),
            6 => p0_sport = d.u16()?,
            7 => u.dport = d.u16()?,
            8 => u.start = d.timeval()?,
            9 => u.wait_timeout = d.rtt()?,
            10 => u.flags = UdpprobeFlags(d.u8()?),
            11 => u.stop_reason = UdpprobeStop::from_code(d.u8()?),
            12 => len = usize::from(d.u16()?),
            13 => u.payload = d.bytes(len)?.to_vec(),
            14 => p0_replies = d.u8()?,
            15 => u.probe_count = d.u8()?,
            16 => sent = d.u8()?,
            17 => u.stop_count = d.u8()?,
            18 => u.sport = d.u16()?,
            19 => u.wait_probe = d.rtt()?,
            20 => u.errmsg = Some(d.string()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    if sent == 0 {
        if p0_replies != 0 || p0_sport != 0 {
            return Err(d.err(K::Invalid {
                field: "udpprobe probe 0 data with no probe sent",
                value: 0,
            }));
        }
        return Ok(u);
    }
    let replies = (0..p0_replies)
        .map(|_| decode_reply(d))
        .collect::<DResult<_>>()?;
    u.probes.push(UdpprobeProbe {
        tx: u.start,
        sport: p0_sport,
        replies,
    });
    let mut counts = Vec::with_capacity(usize::from(sent));
    for _ in 1..sent {
        let mut p = d.params()?;
        let mut pr = UdpprobeProbe::default();
        let mut rc = 0u8;
        while let Some(f) = p.next_flag() {
            match f {
                1 => pr.tx = d.timeval()?,
                2 => pr.sport = d.u16()?,
                3 => rc = d.u8()?,
                _ => break,
            }
        }
        d.finish(&p)?;
        counts.push(rc);
        u.probes.push(pr);
    }
    for (pr, rc) in u.probes[1..].iter_mut().zip(counts) {
        pr.replies = (0..rc).map(|_| decode_reply(d)).collect::<DResult<_>>()?;
    }
    Ok(u)
}

fn decode_reply(d: &mut Dec<'_, '_>) -> DResult<UdpprobeReply> {
    let mut p = d.params()?;
    let mut r = UdpprobeReply::default();
    let mut len = 0usize;
    while let Some(f) = p.next_flag() {
        match f {
            1 => r.rx = d.timeval()?,
            2 => len = usize::from(d.u16()?),
            3 => r.data = d.bytes(len)?.to_vec(),
            4 => r.ifname = Some(d.ifname()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    Ok(r)
}

pub(crate) fn encode(e: &mut Enc, u: &Udpprobe, list: u32, cycle: u32) -> EResult<()> {
    let sent =
        u8::try_from(u.probes.len()).map_err(|_| e.range("probes", u.probes.len() as u64, 255))?;
    if u.probes.first().is_some_and(|p| p.tx != u.start) {
        return Err(WriteError::Inconsistent {
            record: "udpprobe",
            field: "probes[0].tx (warts stores it as the start time)",
        });
    }
    let p0 = u.probes.first();
    let mut p = e.params_begin(20);
    if list != 0 {
        p.set(1);
        e.u32(list);
    }
    if cycle != 0 {
        p.set(2);
        e.u32(cycle);
    }
    if u.user_id != 0 {
        p.set(3);
        e.u32(u.user_id);
    }
    if let Some(a) = &u.src {
        p.set(4);
        e.saddr(a);
    }
    if let Some(a) = &u.dst {
        p.set(5);
        e.saddr(a);
    }
    if let Some(p0) = p0 {
        p.set(6);
        e.u16(p0.sport);
    }
    if u.dport != 0 {
        p.set(7);
        e.u16(u.dport);
    }
    if !u.start.is_zero() {
        p.set(8);
        e.timeval(u.start);
    }
    if !u.wait_timeout.is_zero() {
        p.set(9);
        e.rtt(u.wait_timeout, "wait_timeout")?;
    }
    if !u.flags.is_empty() {
        p.set(10);
        e.u8(u.flags.bits());
    }
    if u.stop_reason.code() != 0 {
        p.set(11);
        e.u8(u.stop_reason.code());
    }
    if !u.payload.is_empty() {
        p.set(12);
        e.count16(u.payload.len(), "payload length")?;
        p.set(13);
        e.buf.extend_from_slice(&u.payload);
    }
    if let Some(p0) = p0
        && !p0.replies.is_empty()
    {
        p.set(14);
        e.count8(p0.replies.len(), "probe 0 reply count")?;
    }
    if u.probe_count != 1 {
        p.set(15);
        e.u8(u.probe_count);
    }
    if sent != 1 {
        p.set(16);
        e.u8(sent);
    }
    if u.stop_count != 0 {
        p.set(17);
        e.u8(u.stop_count);
    }
    if u.sport != 0 {
        p.set(18);
        e.u16(u.sport);
    }
    if !u.wait_probe.is_zero() {
        p.set(19);
        e.rtt(u.wait_probe, "wait_probe")?;
    }
    if let Some(m) = &u.errmsg {
        p.set(20);
        e.string(m);
    }
    e.params_end(p)?;
    if let Some(p0) = p0 {
        for r in &p0.replies {
            encode_reply(e, r)?;
        }
    }
    for pr in u.probes.iter().skip(1) {
        let mut p = e.params_begin(3);
        p.set(1);
        e.timeval(pr.tx);
        p.set(2);
        e.u16(pr.sport);
        if !pr.replies.is_empty() {
            p.set(3);
            e.count8(pr.replies.len(), "probe reply count")?;
        }
        e.params_end(p)?;
    }
    for pr in u.probes.iter().skip(1) {
        for r in &pr.replies {
            encode_reply(e, r)?;
        }
    }
    Ok(())
}

fn encode_reply(e: &mut Enc, r: &UdpprobeReply) -> EResult<()> {
    let mut p = e.params_begin(4);
    if !r.rx.is_zero() {
        p.set(1);
        e.timeval(r.rx);
    }
    if !r.data.is_empty() {
        p.set(2);
        e.count16(r.data.len(), "reply length")?;
        p.set(3);
        e.buf.extend_from_slice(&r.data);
    }
    if let Some(n) = &r.ifname {
        p.set(4);
        e.ifname(n);
    }
    e.params_end(p)
}
