//! Traceroute records (type 6).

use std::time::Duration;

use vantage_model::{
    Addr, DoubletreeFlags, GapAction, PmtudNote, PmtudNoteKind, Timestamp, Trace, TraceDoubletree,
    TraceFlags, TraceHop, TraceMethod, TracePmtud, TraceReplyFlags, TraceStop,
};

use crate::error::{DecodeError, DecodeErrorKind as K, WriteError};
use crate::prim::{DResult, Dec, EResult, Enc, units};

const ATTR_PMTUD: u16 = 1;
const ATTR_LASTDITCH: u16 = 2;
const ATTR_DOUBLETREE: u16 = 3;

pub(crate) fn decode(d: &mut Dec<'_, '_>) -> DResult<Trace> {
    let mut p = d.params()?;
    let mut t = Trace::new(
        Addr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        Timestamp::default(),
    );
    t.method = TraceMethod::from_code(0);
    t.attempts = 0;
    t.probe_size = 0;
    t.wait_timeout = Duration::ZERO;
    t.loops = 0;
    t.gaplimit = 0;
    t.gapaction = GapAction::from_code(0);
    t.confidence = 0;
    let mut dst = None;
    let mut flags8 = None;
    let mut flags32 = None;
    let mut firsthop = 0u8;
    let mut hop_count = 0u16;
    while let Some(f) = p.next_flag() {
        match f {
            1 => t.list = d.list()?,
            2 => t.cycle = d.cycle()?,
            3 => t.src = d.gid()?,
            4 => dst = d.gid()?,
            5 => t.start = d.timeval()?,
            6 => t.stop_reason = TraceStop::from_code(d.u8()?),
            7 => t.stop_data = d.u8()?,
            8 => flags8 = Some(d.u8()?),
            9 => t.attempts = d.u8()?,
            10 => t.hoplimit = d.u8()?,
            11 => t.method = TraceMethod::from_code(d.u8()?),
            12 => t.probe_size = d.u16()?,
            13 => t.sport = d.u16()?,
            14 => t.dport = d.u16()?,
            15 => firsthop = d.u8()?,
            16 => t.tos = d.u8()?,
            17 => t.wait_timeout = Duration::from_secs(u64::from(d.u8()?)),
            18 => t.loops = d.u8()?,
            19 => hop_count = d.u16()?,
            20 => t.gaplimit = d.u8()?,
            21 => t.gapaction = GapAction::from_code(d.u8()?),
            22 => t.loopaction = d.u8()?,
            23 => t.probes_sent = d.u16()?,
            24 => t.wait_probe = Duration::from_millis(10 * u64::from(d.u8()?)),
            25 => t.confidence = d.u8()?,
            26 => t.src = Some(d.addr()?),
            27 => dst = Some(d.addr()?),
            28 => t.user_id = d.u32()?,
            29 => t.offset = d.u16()?,
            30 => t.rtr = Some(d.saddr()?),
            31 => t.squeries = d.u8()?,
            32 => flags32 = Some(d.u32()?),
            33 => t.stop_hop = d.u8()?,
            34 => t.errmsg = Some(d.string()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    t.dst = dst.ok_or_else(|| d.err(K::Missing("trace dst")))?;
    t.flags = TraceFlags(flags32.unwrap_or(u32::from(flags8.unwrap_or(0))));
    t.firsthop = if firsthop == 0 { 1 } else { firsthop };

    let n = d.u16()?;
    t.hops.reserve_exact(usize::from(n));
    let mut max_ttl = 0u8;
    for _ in 0..n {
        let at = d.pos;
        let h = decode_hop(d, t.probe_size)?;
        if h.probe_ttl < max_ttl {
            return Err(DecodeError::new(
                at,
                K::Invalid {
                    field: "trace hop probe ttl (decreasing)",
                    value: u64::from(h.probe_ttl),
                },
            ));
        }
        max_ttl = h.probe_ttl;
        t.hops.push(h);
    }
    if hop_count == 0 {
        hop_count = u16::from(max_ttl);
    }
    if hop_count > 255 || hop_count < u16::from(max_ttl) {
        return Err(d.err(K::Invalid {
            field: "trace hop count",
            value: u64::from(hop_count),
        }));
    }
    t.hop_count = hop_count;

    // Optional attributes, ended by a zero header (old files may just end).
    while d.remaining() >= 2 {
        let hdr = d.u16()?;
        if hdr == 0 {
            break;
        }
        let kind = hdr >> 12;
        let len = usize::from(hdr & 0x0fff);
        let end = d.pos + len;
        if end > d.b.len() {
            return Err(d.err(K::Short {
                needed: end - d.b.len(),
            }));
        }
        match kind {
            ATTR_PMTUD => t.pmtud = Some(decode_pmtud(d, t.probe_size)?),
            ATTR_LASTDITCH => {
                let p = d.params()?;
                d.finish(&p)?;
                let n = d.u16()?;
                let hops = (0..n)
                    .map(|_| decode_hop(d, t.probe_size))
                    .collect::<DResult<_>>()?;
                t.lastditch = Some(hops);
            }
            ATTR_DOUBLETREE => t.doubletree = Some(decode_doubletree(d)?),
            _ => {}
        }
        if d.pos > end {
            return Err(d.err(K::Invalid {
                field: "trace attribute length",
                value: len as u64,
            }));
        }
        d.pos = end;
    }
    Ok(t)
}

fn decode_hop(d: &mut Dec<'_, '_>, _trace_probe_size: u16) -> DResult<TraceHop> {
    let mut p = d.params()?;
    let mut addr = None;
    let mut h = TraceHop::new(
        Addr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        0,
        0,
        0,
        Duration::ZERO,
    );
    let mut q_ipl = None;
    while let Some(f) = p.next_flag() {
        match f {
            1 => addr = d.gid()?,
            2 => h.probe_ttl = d.u8()?,
            3 => h.reply_ttl = d.u8()?,
            4 => h.flags = TraceReplyFlags(d.u8()?),
            5 => h.probe_id = d.u8()?,
            6 => h.rtt = d.rtt()?,
            7 => {
                h.icmp_type = d.u8()?;
                h.icmp_code = d.u8()?;
            }
            8 => h.probe_size = d.u16()?,
            9 => h.reply_size = d.u16()?,
            10 => h.reply_ipid = d.u16()?,
            11 => h.reply_tos = d.u8()?,
            12 => h.nhmtu = d.u16()?,
            13 => q_ipl = Some(d.u16()?),
            14 => h.icmp_q_ttl = d.u8()?,
            15 => h.tcp_flags = d.u8()?,
            16 => h.icmp_q_tos = d.u8()?,
            17 => h.icmp_exts = d.icmpext()?,
            18 => addr = Some(d.addr()?),
            19 => h.tx = Some(d.timeval()?),
            20 => h.name = Some(d.string()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    h.addr = addr.ok_or_else(|| d.err(K::Missing("trace hop addr")))?;
    if h.probe_ttl == 0 {
        return Err(d.err(K::Missing("trace hop probe ttl")));
    }
    h.icmp_q_ipl = q_ipl.unwrap_or(h.probe_size);
    Ok(h)
}

fn decode_pmtud(d: &mut Dec<'_, '_>, probe_size: u16) -> DResult<TracePmtud> {
    let mut p = d.params()?;
    let mut pm = TracePmtud {
        version: 1,
        ..TracePmtud::default()
    };
    let mut notec = 0u8;
    while let Some(f) = p.next_flag() {
        match f {
            1 => pm.if_mtu = d.u16()?,
            2 => pm.path_mtu = d.u16()?,
            3 => pm.out_mtu = d.u16()?,
            4 => pm.version = d.u8()?,
            5 => notec = d.u8()?,
            _ => break,
        }
    }
    d.finish(&p)?;
    let n = d.u16()?;
    pm.hops = (0..n)
        .map(|_| decode_hop(d, probe_size))
        .collect::<DResult<_>>()?;
    for _ in 0..notec {
        let mut p = d.params()?;
        let mut note = PmtudNote::default();
        while let Some(f) = p.next_flag() {
            match f {
                1 => note.kind = PmtudNoteKind::from_code(d.u8()?),
                2 => note.nhmtu = d.u16()?,
                3 => {
                    let at = d.pos;
                    let i = d.u16()?;
                    if usize::from(i) >= pm.hops.len() {
                        return Err(DecodeError::new(
                            at,
                            K::Invalid {
                                field: "pmtud note hop index",
                                value: u64::from(i),
                            },
                        ));
                    }
                    note.hop = Some(i);
                }
                _ => break,
            }
        }
        d.finish(&p)?;
        pm.notes.push(note);
    }
    Ok(pm)
}

fn decode_doubletree(d: &mut Dec<'_, '_>) -> DResult<TraceDoubletree> {
    let mut p = d.params()?;
    let mut dt = TraceDoubletree::default();
    while let Some(f) = p.next_flag() {
        match f {
            1 => dt.lss_stop = d.gid()?,
            2 => dt.gss_stop = d.gid()?,
            3 => dt.firsthop = d.u8()?,
            4 => dt.lss_stop = Some(d.addr()?),
            5 => dt.gss_stop = Some(d.addr()?),
            6 => dt.lss_name = Some(d.string()?),
            7 => dt.flags = DoubletreeFlags(d.u8()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    Ok(dt)
}

pub(crate) fn encode(e: &mut Enc, t: &Trace, list: u32, cycle: u32) -> EResult<()> {
    let flags = t.flags.bits();
    let wait = units(
        e,
        t.wait_timeout,
        Duration::from_secs(1),
        255,
        "wait_timeout",
    )? as u8;
    let wait_probe = units(
        e,
        t.wait_probe,
        Duration::from_millis(10),
        255,
        "wait_probe",
    )? as u8;
    if t.hop_count > 255 {
        return Err(e.range("hop_count", u64::from(t.hop_count), 255));
    }
    let max_ttl = t.hops.iter().map(|h| h.probe_ttl).max().unwrap_or(0);
    if t.hop_count < u16::from(max_ttl) || t.hops.iter().any(|h| h.probe_ttl == 0) {
        return Err(WriteError::Inconsistent {
            record: "trace",
            field: "hop_count (below the highest probe ttl) or a probe_ttl of 0",
        });
    }
    if t.hops.windows(2).any(|w| w[1].probe_ttl < w[0].probe_ttl) {
        return Err(WriteError::Inconsistent {
            record: "trace",
            field: "hops (must be ordered by probe_ttl)",
        });
    }
    let mut p = e.params_begin(34);
    p.set(1);
    e.u32(list);
    p.set(2);
    e.u32(cycle);
    p.set(5);
    e.timeval(t.start);
    p.set(6);
    e.u8(t.stop_reason.code());
    p.set(7);
    e.u8(t.stop_data);
    if flags & 0xff != 0 {
        p.set(8);
        e.u8((flags & 0xff) as u8);
    }
    p.set(9);
    e.u8(t.attempts);
    p.set(10);
    e.u8(t.hoplimit);
    p.set(11);
    e.u8(t.method.code());
    p.set(12);
    e.u16(t.probe_size);
    p.set(13);
    e.u16(t.sport);
    p.set(14);
    e.u16(t.dport);
    p.set(15);
    e.u8(t.firsthop);
    p.set(16);
    e.u8(t.tos);
    p.set(17);
    e.u8(wait);
    p.set(18);
    e.u8(t.loops);
    p.set(19);
    e.u16(t.hop_count);
    p.set(20);
    e.u8(t.gaplimit);
    p.set(21);
    e.u8(t.gapaction.code());
    p.set(22);
    e.u8(t.loopaction);
    p.set(23);
    e.u16(t.probes_sent);
    p.set(24);
    e.u8(wait_probe);
    p.set(25);
    e.u8(t.confidence);
    if let Some(src) = &t.src {
        p.set(26);
        e.addr(src);
    }
    p.set(27);
    e.addr(&t.dst);
    if t.user_id != 0 {
        p.set(28);
        e.u32(t.user_id);
    }
    if t.offset != 0 {
        p.set(29);
        e.u16(t.offset);
    }
    if let Some(rtr) = &t.rtr {
        p.set(30);
        e.saddr(rtr);
    }
    if t.squeries != 1 {
        p.set(31);
        e.u8(t.squeries);
    }
    if flags > 0xff {
        p.set(32);
        e.u32(flags);
    }
    if t.stop_hop != 0 {
        p.set(33);
        e.u8(t.stop_hop);
    }
    if let Some(m) = &t.errmsg {
        p.set(34);
        e.string(m);
    }
    e.params_end(p)?;

    e.count16(t.hops.len(), "hop record count")?;
    for h in &t.hops {
        encode_hop(e, h, t.probe_size)?;
    }
    if let Some(pm) = &t.pmtud {
        let at = attr_begin(e);
        encode_pmtud(e, pm, t.probe_size)?;
        attr_end(e, at, ATTR_PMTUD)?;
    }
    if let Some(ld) = &t.lastditch {
        let at = attr_begin(e);
        e.u8(0);
        e.count16(ld.len(), "last-ditch hop count")?;
        for h in ld {
            if h.probe_ttl == 0 {
                return Err(WriteError::Inconsistent {
                    record: "trace",
                    field: "last-ditch probe_ttl of 0",
                });
            }
            encode_hop(e, h, t.probe_size)?;
        }
        attr_end(e, at, ATTR_LASTDITCH)?;
    }
    if let Some(dt) = &t.doubletree {
        let at = attr_begin(e);
        encode_doubletree(e, dt)?;
        attr_end(e, at, ATTR_DOUBLETREE)?;
    }
    e.u16(0);
    Ok(())
}

fn attr_begin(e: &mut Enc) -> usize {
    let at = e.buf.len();
    e.u16(0);
    at
}

fn attr_end(e: &mut Enc, at: usize, kind: u16) -> EResult<()> {
    let len = e.buf.len() - at - 2;
    if len > 0x0fff {
        return Err(e.range("attribute length", len as u64, 0x0fff));
    }
    let hdr = (kind << 12) | len as u16;
    e.buf[at..at + 2].copy_from_slice(&hdr.to_be_bytes());
    Ok(())
}

fn encode_hop(e: &mut Enc, h: &TraceHop, trace_probe_size: u16) -> EResult<()> {
    let quoting = h.is_icmp_quoting();
    let mut p = e.params_begin(20);
    p.set(2);
    e.u8(h.probe_ttl);
    p.set(3);
    e.u8(h.reply_ttl);
    p.set(4);
    e.u8(h.flags.bits());
    p.set(5);
    e.u8(h.probe_id);
    p.set(6);
    e.rtt(h.rtt, "hop rtt")?;
    if h.is_icmp() || h.icmp_type != 0 || h.icmp_code != 0 {
        p.set(7);
        e.u8(h.icmp_type);
        e.u8(h.icmp_code);
    }
    p.set(8);
    e.u16(h.probe_size);
    p.set(9);
    e.u16(h.reply_size);
    if h.reply_ipid != 0 {
        p.set(10);
        e.u16(h.reply_ipid);
    }
    p.set(11);
    e.u8(h.reply_tos);
    if h.is_icmp_ptb() || h.nhmtu != 0 {
        p.set(12);
        e.u16(h.nhmtu);
    }
    if (quoting && h.icmp_q_ipl != trace_probe_size) || h.icmp_q_ipl != h.probe_size {
        p.set(13);
        e.u16(h.icmp_q_ipl);
    }
    if h.icmp_q_ttl != 1 {
        p.set(14);
        e.u8(h.icmp_q_ttl);
    }
    if h.is_tcp() || h.tcp_flags != 0 {
        p.set(15);
        e.u8(h.tcp_flags);
    }
    if quoting || h.icmp_q_tos != 0 {
        p.set(16);
        e.u8(h.icmp_q_tos);
    }
    if !h.icmp_exts.is_empty() {
        p.set(17);
        e.icmpext(&h.icmp_exts)?;
    }
    p.set(18);
    e.addr(&h.addr);
    if let Some(tx) = h.tx {
        p.set(19);
        e.timeval(tx);
    }
    if let Some(name) = &h.name {
        p.set(20);
        e.string(name);
    }
    e.params_end(p)
}

fn encode_pmtud(e: &mut Enc, pm: &TracePmtud, probe_size: u16) -> EResult<()> {
    let mut p = e.params_begin(5);
    if pm.if_mtu != 0 {
        p.set(1);
        e.u16(pm.if_mtu);
    }
    if pm.path_mtu != 0 {
        p.set(2);
        e.u16(pm.path_mtu);
    }
    if pm.out_mtu != 0 {
        p.set(3);
        e.u16(pm.out_mtu);
    }
    p.set(4);
    e.u8(pm.version);
    if !pm.notes.is_empty() {
        p.set(5);
        e.count8(pm.notes.len(), "pmtud note count")?;
    }
    e.params_end(p)?;
    e.count16(pm.hops.len(), "pmtud hop count")?;
    for h in &pm.hops {
        if h.probe_ttl == 0 {
            return Err(WriteError::Inconsistent {
                record: "trace",
                field: "pmtud hop probe_ttl of 0",
            });
        }
        encode_hop(e, h, probe_size)?;
    }
    for n in &pm.notes {
        let mut p = e.params_begin(3);
        if n.kind.code() != 0 {
            p.set(1);
            e.u8(n.kind.code());
        }
        if n.nhmtu != 0 {
            p.set(2);
            e.u16(n.nhmtu);
        }
        if let Some(i) = n.hop {
            if usize::from(i) >= pm.hops.len() {
                return Err(WriteError::Inconsistent {
                    record: "trace",
                    field: "pmtud note hop index",
                });
            }
            p.set(3);
            e.u16(i);
        }
        e.params_end(p)?;
    }
    Ok(())
}

fn encode_doubletree(e: &mut Enc, dt: &TraceDoubletree) -> EResult<()> {
    let mut p = e.params_begin(7);
    p.set(3);
    e.u8(dt.firsthop);
    if let Some(a) = &dt.lss_stop {
        p.set(4);
        e.addr(a);
    }
    if let Some(a) = &dt.gss_stop {
        p.set(5);
        e.addr(a);
    }
    if let Some(n) = &dt.lss_name {
        p.set(6);
        e.string(n);
    }
    if !dt.flags.is_empty() {
        p.set(7);
        e.u8(dt.flags.bits());
    }
    e.params_end(p)
}
