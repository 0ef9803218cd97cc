//! Alias-resolution records (type 9).

use std::time::Duration;

use vantage_model::{
    Addr, AllyFlags, Dealias, DealiasMethod, DealiasProbe, DealiasProbedef, DealiasReply,
    DealiasReplyFlags, DealiasResult, MidardiscRound, PrefixscanFlags, ProbedefMethod,
    RadargunFlags, Timestamp,
};

use crate::error::{DecodeError, DecodeErrorKind as K, WriteError};
use crate::prim::{DResult, Dec, EResult, Enc, units};

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn secs(v: u8) -> Duration {
    Duration::from_secs(u64::from(v))
}

const fn default_proto(src: &Addr) -> u8 {
    if src.is_ipv6() { 58 } else { 1 }
}

pub(crate) fn decode(d: &mut Dec<'_, '_>) -> DResult<Dealias> {
    let mut p = d.params()?;
    let mut x = Dealias {
        list: None,
        cycle: None,
        user_id: 0,
        start: Timestamp::default(),
        method: DealiasMethod::Other(0),
        result: DealiasResult::None,
        errmsg: None,
        probedefs: Vec::new(),
        probes: Vec::new(),
    };
    let mut method = 0u8;
    let mut probec = 0u32;
    while let Some(f) = p.next_flag() {
        match f {
            1 => x.list = d.list()?,
            2 => x.cycle = d.cycle()?,
            3 => x.start = d.timeval()?,
            4 => method = d.u8()?,
            5 => x.result = DealiasResult::from_code(d.u8()?),
            6 => probec = d.u32()?,
            7 => x.user_id = d.u32()?,
            8 => x.errmsg = Some(d.string()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    let Some((m, defc)) = decode_method(d, method)? else {
        x.method = DealiasMethod::Other(method);
        return Ok(x);
    };
    x.method = m;
    // Counts come from the file: grow as records actually decode.
    for _ in 0..defc {
        let def = decode_probedef(d)?;
        x.probedefs.push(def);
    }
    for _ in 0..probec {
        let pr = decode_probe(d, &x.probedefs)?;
        x.probes.push(pr);
    }
    Ok(x)
}

/// Decodes the method block; returns the method and the number of probe
/// definitions that follow, or `None` for an unknown method.
fn decode_method(d: &mut Dec<'_, '_>, method: u8) -> DResult<Option<(DealiasMethod, u32)>> {
    if !(1..=7).contains(&method) {
        return Ok(None);
    }
    let mut p = d.params()?;
    let (m, defc) = match method {
        1 => {
            let (mut attempts, mut wait_timeout) = (0, 0);
            while let Some(f) = p.next_flag() {
                match f {
                    1 => attempts = d.u8()?,
                    2 => wait_timeout = d.u8()?,
                    _ => break,
                }
            }
            (
                DealiasMethod::Mercator {
                    attempts,
                    wait_timeout: secs(wait_timeout),
                },
                1,
            )
        }
        2 => {
            let (mut wp, mut wt, mut attempts, mut fudge, mut flags) = (0, 0, 0, 0, 0);
            while let Some(f) = p.next_flag() {
                match f {
                    1 => wp = d.u16()?,
                    2 => wt = d.u8()?,
                    3 => attempts = d.u8()?,
                    4 => fudge = d.u16()?,
                    5 => flags = d.u8()?,
                    _ => break,
                }
            }
            let m = DealiasMethod::Ally {
                wait_probe: ms(u64::from(wp)),
                wait_timeout: secs(wt),
                attempts,
                fudge,
                flags: AllyFlags(flags),
            };
            (m, 2)
        }
        3 => {
            let (mut defc, mut rounds, mut wp, mut wr, mut wt, mut flags) = (0, 0, 0, 0, 0, 0);
            while let Some(f) = p.next_flag() {
                match f {
                    1 => defc = d.u32()?,
                    2 => rounds = d.u16()?,
                    3 => wp = d.u16()?,
                    4 => wr = d.u32()?,
                    5 => wt = d.u8()?,
                    6 => flags = d.u8()?,
                    _ => break,
                }
            }
            let m = DealiasMethod::Radargun {
                rounds,
                wait_probe: ms(u64::from(wp)),
                wait_round: ms(u64::from(wr)),
                wait_timeout: secs(wt),
                flags: RadargunFlags(flags),
            };
            (m, defc)
        }
        4 => {
            let (mut a, mut b, mut ab, mut xs) = (None, None, None, Vec::new());
            let (
                mut prefix,
                mut attempts,
                mut fudge,
                mut wp,
                mut wt,
                mut defc,
                mut flags,
                mut replyc,
            ) = (0, 0, 0, 0, 0, 0u16, 0, 5);
            while let Some(f) = p.next_flag() {
                match f {
                    1 => a = Some(d.addr()?),
                    2 => b = Some(d.addr()?),
                    3 => ab = Some(d.addr()?),
                    4 => {
                        let n = d.u16()?;
                        xs = (0..n).map(|_| d.addr()).collect::<DResult<_>>()?;
                    }
                    5 => prefix = d.u8()?,
                    6 => attempts = d.u8()?,
                    7 => fudge = d.u16()?,
                    8 => wp = d.u16()?,
                    9 => wt = d.u8()?,
                    10 => defc = d.u16()?,
                    11 => flags = d.u8()?,
                    12 => replyc = d.u8()?,
                    _ => break,
                }
            }
            let m = DealiasMethod::Prefixscan {
                a,
                b,
                ab,
                xs,
                prefix,
                attempts,
                fudge,
                wait_probe: ms(u64::from(wp)),
                wait_timeout: secs(wt),
                flags: PrefixscanFlags(flags),
                replyc,
            };
            (m, u32::from(defc))
        }
        5 => {
            let (mut wp, mut limit, mut attempts) = (0, 0, 0);
            while let Some(f) = p.next_flag() {
                match f {
                    1 => wp = d.u16()?,
                    2 => limit = d.u16()?,
                    3 => attempts = d.u8()?,
                    _ => break,
                }
            }
            (
                DealiasMethod::Bump {
                    wait_probe: ms(u64::from(wp)),
                    bump_limit: limit,
                    attempts,
                },
                2,
            )
        }
        6 => {
            let (mut defc, mut rounds) = (0u16, 0);
            let (mut wp, mut wr, mut wt) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
            while let Some(f) = p.next_flag() {
                match f {
                    1 => defc = d.u16()?,
                    2 => rounds = d.u8()?,
                    3 => wp = d.rtt()?,
                    4 => wr = d.rtt()?,
                    5 => wt = d.rtt()?,
                    _ => break,
                }
            }
            (
                DealiasMethod::Midarest {
                    rounds,
                    wait_probe: wp,
                    wait_round: wr,
                    wait_timeout: wt,
                },
                u32::from(defc),
            )
        }
        _ => {
            let (mut defc, mut wt, mut schedule, mut startat) =
                (0u32, Duration::ZERO, Vec::new(), None);
            while let Some(f) = p.next_flag() {
                match f {
                    1 => defc = d.u32()?,
                    2 => wt = d.rtt()?,
                    3 => {
                        let n = d.u32()?;
                        for _ in 0..n {
                            let start = d.timeval()?;
                            let begin = d.u32()?;
                            let end = d.u32()?;
                            schedule.push(MidardiscRound { start, begin, end });
                        }
                    }
                    4 => startat = Some(d.timeval()?),
                    _ => break,
                }
            }
            (
                DealiasMethod::Midardisc {
                    wait_timeout: wt,
                    schedule,
                    startat,
                },
                defc,
            )
        }
    };
    d.finish(&p)?;
    Ok(Some((m, defc)))
}

fn decode_probedef(d: &mut Dec<'_, '_>) -> DResult<DealiasProbedef> {
    let mut p = d.params()?;
    let mut def = DealiasProbedef::default();
    let mut ports = None;
    let mut csum = None;
    while let Some(f) = p.next_flag() {
        match f {
            1 => def.dst = d.gid()?,
            2 => def.src = d.gid()?,
            3 => {
                d.u32()?;
            }
            4 => def.method = ProbedefMethod::from_code(d.u8()?),
            5 => def.ttl = d.u8()?,
            6 => def.tos = d.u8()?,
            7 => ports = Some((d.u16()?, d.u16()?)),
            8 => def.tcp_flags = d.u8()?,
            9 => def.icmp_id = d.u16()?,
            10 => def.dst = Some(d.addr()?),
            11 => def.src = Some(d.addr()?),
            12 => def.size = d.u16()?,
            13 => def.mtu = d.u16()?,
            14 => csum = Some(d.u16()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    if let Some((sport, dport)) = ports {
        if def.method.is_icmp() {
            // Legacy: the checksum travelled in the ports field.
            def.icmp_csum = dport;
        } else {
            def.sport = sport;
            def.dport = dport;
        }
    }
    if let Some(c) = csum {
        def.icmp_csum = c;
    }
    Ok(def)
}

fn decode_probe(d: &mut Dec<'_, '_>, defs: &[DealiasProbedef]) -> DResult<DealiasProbe> {
    let mut p = d.params()?;
    let mut pr = DealiasProbe::default();
    let mut replyc = 0u16;
    while let Some(f) = p.next_flag() {
        match f {
            1 => {
                let at = d.pos;
                pr.probedef = d.u32()?;
                if pr.probedef as usize >= defs.len() {
                    return Err(DecodeError::new(
                        at,
                        K::Invalid {
                            field: "dealias probe probedef id",
                            value: u64::from(pr.probedef),
                        },
                    ));
                }
            }
            2 => pr.tx = d.timeval()?,
            3 => replyc = d.u16()?,
            4 => pr.ipid = d.u16()?,
            5 => pr.seq = d.u32()?,
            _ => break,
        }
    }
    d.finish(&p)?;
    if defs.is_empty() {
        return Err(d.err(K::Invalid {
            field: "dealias probe without probe definitions",
            value: 0,
        }));
    }
    pr.replies = (0..replyc)
        .map(|_| decode_reply(d))
        .collect::<DResult<_>>()?;
    Ok(pr)
}

fn decode_reply(d: &mut Dec<'_, '_>) -> DResult<DealiasReply> {
    let mut p = d.params()?;
    let mut src = None;
    let mut r = DealiasReply {
        src: Addr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        rx: Timestamp::default(),
        ipid: 0,
        ttl: 0,
        size: 0,
        proto: 0,
        icmp_type: 0,
        icmp_code: 0,
        icmp_q_ttl: 0,
        icmp_exts: Vec::new(),
        tcp_flags: 0,
        flags: DealiasReplyFlags::empty(),
    };
    let mut proto = None;
    while let Some(f) = p.next_flag() {
        match f {
            1 => src = d.gid()?,
            2 => r.rx = d.timeval()?,
            3 => r.ipid = u32::from(d.u16()?),
            4 => r.ttl = d.u8()?,
            5 => {
                r.icmp_type = d.u8()?;
                r.icmp_code = d.u8()?;
            }
            6 => r.icmp_q_ttl = d.u8()?,
            7 => r.icmp_exts = d.icmpext()?,
            8 => proto = Some(d.u8()?),
            9 => r.tcp_flags = d.u8()?,
            10 => src = Some(d.addr()?),
            11 => r.ipid = d.u32()?,
            12 => r.flags = DealiasReplyFlags(d.u8()?),
            13 => r.size = d.u16()?,
            _ => break,
        }
    }
    d.finish(&p)?;
    r.src = src.ok_or_else(|| d.err(K::Missing("dealias reply src")))?;
    r.proto = proto.unwrap_or(default_proto(&r.src));
    Ok(r)
}

fn inconsistent(field: &'static str) -> WriteError {
    WriteError::Inconsistent {
        record: "dealias",
        field,
    }
}

pub(crate) fn encode(e: &mut Enc, x: &Dealias, list: u32, cycle: u32) -> EResult<()> {
    if let Some(n) = x.method.fixed_probedefs()
        && x.probedefs.len() != n
    {
        return Err(inconsistent("probedefs (wrong number for the method)"));
    }
    if matches!(x.method, DealiasMethod::Other(_)) && !x.probes.is_empty() {
        return Err(inconsistent("probes (method unknown)"));
    }
    let mut p = e.params_begin(8);
    p.set(1);
    e.u32(list);
    p.set(2);
    e.u32(cycle);
    p.set(3);
    e.timeval(x.start);
    p.set(4);
    e.u8(x.method.code());
    if x.result.code() != 0 {
        p.set(5);
        e.u8(x.result.code());
    }
    if !x.probes.is_empty() {
        p.set(6);
        e.count32(x.probes.len(), "probe count")?;
    }
    if x.user_id != 0 {
        p.set(7);
        e.u32(x.user_id);
    }
    if let Some(m) = &x.errmsg {
        p.set(8);
        e.string(m);
    }
    e.params_end(p)?;
    if matches!(x.method, DealiasMethod::Other(_)) {
        return Ok(());
    }
    encode_method(e, x)?;
    for (i, def) in x.probedefs.iter().enumerate() {
        encode_probedef(e, def, i)?;
    }
    for pr in &x.probes {
        let Some(def) = x.probedefs.get(pr.probedef as usize) else {
            return Err(inconsistent("probe probedef index"));
        };
        let mut p = e.params_begin(5);
        if pr.probedef != 0 {
            p.set(1);
            e.u32(pr.probedef);
        }
        p.set(2);
        e.timeval(pr.tx);
        if !pr.replies.is_empty() {
            p.set(3);
            e.count16(pr.replies.len(), "reply count")?;
        }
        if def.dst.is_some_and(|a| a.is_ipv4()) || pr.ipid != 0 {
            p.set(4);
            e.u16(pr.ipid);
        }
        if pr.seq != 0 {
            p.set(5);
            e.u32(pr.seq);
        }
        e.params_end(p)?;
        for r in &pr.replies {
            encode_reply(e, r)?;
        }
    }
    Ok(())
}

fn ms16(e: &Enc, d: Duration, field: &'static str) -> EResult<u16> {
    Ok(units(e, d, MS, 65535, field)? as u16)
}

fn s8(e: &Enc, d: Duration, field: &'static str) -> EResult<u8> {
    Ok(units(e, d, SEC, 255, field)? as u8)
}

fn encode_method(e: &mut Enc, x: &Dealias) -> EResult<()> {
    let defc = x.probedefs.len();
    match &x.method {
        DealiasMethod::Mercator {
            attempts,
            wait_timeout,
        } => {
            let wt = s8(e, *wait_timeout, "wait_timeout")?;
            let mut p = e.params_begin(2);
            p.set(1);
            e.u8(*attempts);
            p.set(2);
            e.u8(wt);
            e.params_end(p)
        }
        DealiasMethod::Ally {
            wait_probe,
            wait_timeout,
            attempts,
            fudge,
            flags,
        } => {
            let wp = ms16(e, *wait_probe, "wait_probe")?;
            let wt = s8(e, *wait_timeout, "wait_timeout")?;
            let mut p = e.params_begin(5);
            p.set(1);
            e.u16(wp);
            p.set(2);
            e.u8(wt);
            p.set(3);
            e.u8(*attempts);
            if *fudge != 0 {
                p.set(4);
                e.u16(*fudge);
            }
            if !flags.is_empty() {
                p.set(5);
                e.u8(flags.bits());
            }
            e.params_end(p)
        }
        DealiasMethod::Radargun {
            rounds,
            wait_probe,
            wait_round,
            wait_timeout,
            flags,
        } => {
            let wp = ms16(e, *wait_probe, "wait_probe")?;
            let wr = units(e, *wait_round, MS, u64::from(u32::MAX), "wait_round")? as u32;
            let wt = s8(e, *wait_timeout, "wait_timeout")?;
            let mut p = e.params_begin(6);
            p.set(1);
            e.count32(defc, "probedef count")?;
            p.set(2);
            e.u16(*rounds);
            p.set(3);
            e.u16(wp);
            p.set(4);
            e.u32(wr);
            p.set(5);
            e.u8(wt);
            if !flags.is_empty() {
                p.set(6);
                e.u8(flags.bits());
            }
            e.params_end(p)
        }
        DealiasMethod::Prefixscan {
            a,
            b,
            ab,
            xs,
            prefix,
            attempts,
            fudge,
            wait_probe,
            wait_timeout,
            flags,
            replyc,
        } => {
            let wp = ms16(e, *wait_probe, "wait_probe")?;
            let wt = s8(e, *wait_timeout, "wait_timeout")?;
            let mut p = e.params_begin(12);
            for (flag, v) in [(1, a), (2, b), (3, ab)] {
                if let Some(v) = v {
                    p.set(flag);
                    e.addr(v);
                }
            }
            if !xs.is_empty() {
                p.set(4);
                e.count16(xs.len(), "excluded address count")?;
                for a in xs {
                    e.addr(a);
                }
            }
            p.set(5);
            e.u8(*prefix);
            p.set(6);
            e.u8(*attempts);
            p.set(7);
            e.u16(*fudge);
            p.set(8);
            e.u16(wp);
            p.set(9);
            e.u8(wt);
            if defc > 0 {
                p.set(10);
                e.count16(defc, "probedef count")?;
            }
            if !flags.is_empty() {
                p.set(11);
                e.u8(flags.bits());
            }
            if *replyc != 5 {
                p.set(12);
                e.u8(*replyc);
            }
            e.params_end(p)
        }
        DealiasMethod::Bump {
            wait_probe,
            bump_limit,
            attempts,
        } => {
            let wp = ms16(e, *wait_probe, "wait_probe")?;
            let mut p = e.params_begin(3);
            p.set(1);
            e.u16(wp);
            p.set(2);
            e.u16(*bump_limit);
            p.set(3);
            e.u8(*attempts);
            e.params_end(p)
        }
        DealiasMethod::Midarest {
            rounds,
            wait_probe,
            wait_round,
            wait_timeout,
        } => {
            let mut p = e.params_begin(5);
            p.set(1);
            e.count16(defc, "probedef count")?;
            p.set(2);
            e.u8(*rounds);
            p.set(3);
            e.rtt(*wait_probe, "wait_probe")?;
            p.set(4);
            e.rtt(*wait_round, "wait_round")?;
            p.set(5);
            e.rtt(*wait_timeout, "wait_timeout")?;
            e.params_end(p)
        }
        DealiasMethod::Midardisc {
            wait_timeout,
            schedule,
            startat,
        } => {
            let mut p = e.params_begin(4);
            p.set(1);
            e.count32(defc, "probedef count")?;
            p.set(2);
            e.rtt(*wait_timeout, "wait_timeout")?;
            if !schedule.is_empty() {
                p.set(3);
                e.count32(schedule.len(), "schedule length")?;
                for r in schedule {
                    e.timeval(r.start);
                    e.u32(r.begin);
                    e.u32(r.end);
                }
            }
            if let Some(t) = startat {
                p.set(4);
                e.timeval(*t);
            }
            e.params_end(p)
        }
        DealiasMethod::Other(_) => Ok(()),
    }
}

fn encode_probedef(e: &mut Enc, def: &DealiasProbedef, id: usize) -> EResult<()> {
    let icmp = def.method.is_icmp();
    let tcp = def.method.is_tcp();
    if icmp && (def.sport != 0 || def.dport != 0) {
        return Err(inconsistent("probedef ports (ICMP method)"));
    }
    let mut p = e.params_begin(14);
    if id != 0 {
        p.set(3);
        e.count32(id, "probedef id")?;
    }
    p.set(4);
    e.u8(def.method.code());
    p.set(5);
    e.u8(def.ttl);
    if def.tos != 0 {
        p.set(6);
        e.u8(def.tos);
    }
    if tcp || def.method.is_udp() || def.sport != 0 || def.dport != 0 {
        p.set(7);
        e.u16(def.sport);
        e.u16(def.dport);
    }
    if tcp || def.tcp_flags != 0 {
        p.set(8);
        e.u8(def.tcp_flags);
    }
    if icmp || def.icmp_id != 0 {
        p.set(9);
        e.u16(def.icmp_id);
    }
    if let Some(a) = &def.dst {
        p.set(10);
        e.addr(a);
    }
    if let Some(a) = &def.src {
        p.set(11);
        e.addr(a);
    }
    if def.size != 0 {
        p.set(12);
        e.u16(def.size);
    }
    if def.mtu != 0 {
        p.set(13);
        e.u16(def.mtu);
    }
    if def.icmp_csum != 0 {
        p.set(14);
        e.u16(def.icmp_csum);
    }
    e.params_end(p)
}

fn encode_reply(e: &mut Enc, r: &DealiasReply) -> EResult<()> {
    let icmp = r.is_icmp();
    let ipid16 = r.src.is_ipv4() && r.ipid != 0 && r.ipid <= 0xffff;
    let mut p = e.params_begin(13);
    p.set(2);
    e.timeval(r.rx);
    if ipid16 {
        p.set(3);
        e.u16(r.ipid as u16);
    }
    p.set(4);
    e.u8(r.ttl);
    if icmp || r.icmp_type != 0 || r.icmp_code != 0 {
        p.set(5);
        e.u8(r.icmp_type);
        e.u8(r.icmp_code);
    }
    if icmp || r.icmp_q_ttl != 0 {
        p.set(6);
        e.u8(r.icmp_q_ttl);
    }
    if !r.icmp_exts.is_empty() {
        p.set(7);
        e.icmpext(&r.icmp_exts)?;
    }
    if r.proto != default_proto(&r.src) {
        p.set(8);
        e.u8(r.proto);
    }
    if r.is_tcp() || r.tcp_flags != 0 {
        p.set(9);
        e.u8(r.tcp_flags);
    }
    p.set(10);
    e.addr(&r.src);
    if !ipid16 && r.ipid != 0 {
        p.set(11);
        e.u32(r.ipid);
    }
    if !r.flags.is_empty() {
        p.set(12);
        e.u8(r.flags.bits());
    }
    if r.size != 0 {
        p.set(13);
        e.u16(r.size);
    }
    e.params_end(p)
}
