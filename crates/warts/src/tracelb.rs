//! MDA traceroute records (type 8).

use std::time::Duration;

use vantage_model::{
    Addr, Timestamp, Tracelb, TracelbFlags, TracelbLink, TracelbMethod, TracelbNode, TracelbProbe,
    TracelbReply, TracelbReplyFlags,
};

use crate::error::{DecodeError, DecodeErrorKind as K, WriteError};
use crate::prim::{DResult, Dec, EResult, Enc, units};

pub(crate) fn decode(d: &mut Dec<'_, '_>) -> DResult<Tracelb> {
    let mut p = d.params()?;
    let mut t = Tracelb {
        list: None,
        cycle: None,
        user_id: 0,
        src: None,
        dst: Addr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        rtr: None,
        start: Timestamp::default(),
        method: TracelbMethod::from_code(0),
        sport: 0,
        dport: 0,
        probe_size: 0,
        firsthop: 0,
        wait_timeout: Duration::ZERO,
        wait_probe: Duration::ZERO,
        attempts: 0,
        confidence: 0,
        tos: 0,
        gaplimit: 0,
        probes_sent: 0,
        max_probes: 0,
        flags: TracelbFlags::empty(),
        errmsg: None,
        nodes: Vec::new(),
        links: Vec::new(),
    };
    let mut dst = None;
    let mut nodec = 0u16;
    let mut linkc = 0u16;
    while let Some(f) = p.next_flag() {
        match f {
            1 => t.list = d.list()?,
            2 => t.cycle = d.cycle()?,
            3 => t.src = d.gid()?,
            4 => dst = d.gid()?,
            5 => t.start = d.timeval()?,
            6 => t.sport = d.u16()?,
            7 => t.dport = d.u16()?,
            8 => t.probe_size = d.u16()?,
            9 => t.method = TracelbMethod::from_code(d.u8()?),
            10 => t.firsthop = d.u8()?,
            11 => t.wait_timeout = Duration::from_secs(u64::from(d.u8()?)),
            12 => t.wait_probe = Duration::from_millis(10 * u64::from(d.u8()?)),
            13 => t.attempts = d.u8()?,
            14 => t.confidence = d.u8()?,
            15 => t.tos = d.u8()?,
            16 => nodec = d.u16()?,
            17 => linkc = d.u16()?,
            18 => t.probes_sent = d.u32()?,
            19 => t.max_probes = d.u32()?,
            20 => t.gaplimit = d.u8()?,
            21 => t.src = Some(d.addr()?),
            22 => dst = Some(d.addr()?),
            23 => t.user_id = d.u32()?,
            24 => t.flags = TracelbFlags(d.u8()?),
            25 => t.rtr = Some(d.saddr()?),
            26 => t.errmsg = Some(d.string()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    t.dst = dst.ok_or_else(|| d.err(K::Missing("tracelb dst")))?;

    let mut want_links = Vec::with_capacity(usize::from(nodec));
    for _ in 0..nodec {
        let (node, lc) = decode_node(d)?;
        t.nodes.push(node);
        want_links.push(lc);
    }
    let mut have_links = vec![0u16; usize::from(nodec)];
    for _ in 0..linkc {
        let at = d.pos;
        let link = decode_link(d)?;
        let bad = |v: u16| {
            DecodeError::new(
                at,
                K::Invalid {
                    field: "tracelb link node index",
                    value: u64::from(v),
                },
            )
        };
        if link.from >= nodec {
            return Err(bad(link.from));
        }
        if let Some(to) = link.to
            && to >= nodec
        {
            return Err(bad(to));
        }
        have_links[usize::from(link.from)] += 1;
        t.links.push(link);
    }
    if let Some(i) = (0..usize::from(nodec)).find(|&i| have_links[i] != want_links[i]) {
        return Err(d.err(K::Invalid {
            field: "tracelb node link count",
            value: u64::from(want_links[i]),
        }));
    }
    Ok(t)
}

fn decode_node(d: &mut Dec<'_, '_>) -> DResult<(TracelbNode, u16)> {
    let mut p = d.params()?;
    let mut n = TracelbNode::default();
    let mut flags = 0u8;
    let mut q_ttl = 0u8;
    let mut linkc = 0u16;
    while let Some(f) = p.next_flag() {
        match f {
            1 => n.addr = d.gid()?,
            2 => flags = d.u8()?,
            3 => linkc = d.u16()?,
            4 => q_ttl = d.u8()?,
            5 => n.addr = Some(d.addr()?),
            6 => n.name = Some(d.string()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    n.q_ttl = (flags & 0x01 != 0).then_some(q_ttl);
    Ok((n, linkc))
}

fn decode_link(d: &mut Dec<'_, '_>) -> DResult<TracelbLink> {
    let mut p = d.params()?;
    let mut l = TracelbLink::default();
    let mut hopc = 0u8;
    while let Some(f) = p.next_flag() {
        match f {
            1 => l.from = d.u16()?,
            2 => l.to = Some(d.u16()?),
            3 => hopc = d.u8()?,
            _ => break,
        }
    }
    d.finish(&p)?;
    for _ in 0..hopc {
        let mut p = d.params()?;
        let mut probec = 0u16;
        while let Some(f) = p.next_flag() {
            match f {
                1 => probec = d.u16()?,
                _ => break,
            }
        }
        d.finish(&p)?;
        let set = (0..probec)
            .map(|_| decode_probe(d))
            .collect::<DResult<Vec<_>>>()?;
        l.probesets.push(set);
    }
    Ok(l)
}

fn decode_probe(d: &mut Dec<'_, '_>) -> DResult<TracelbProbe> {
    let mut p = d.params()?;
    let mut pr = TracelbProbe::default();
    let mut rxc = 0u16;
    while let Some(f) = p.next_flag() {
        match f {
            1 => pr.tx = d.timeval()?,
            2 => pr.flowid = d.u16()?,
            3 => pr.ttl = d.u8()?,
            4 => pr.attempt = d.u8()?,
            5 => rxc = d.u16()?,
            _ => break,
        }
    }
    d.finish(&p)?;
    pr.replies = (0..rxc).map(|_| decode_reply(d)).collect::<DResult<_>>()?;
    Ok(pr)
}

fn decode_reply(d: &mut Dec<'_, '_>) -> DResult<TracelbReply> {
    let mut p = d.params()?;
    let mut from = None;
    let mut r = TracelbReply {
        from: Addr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        rx: Timestamp::default(),
        ipid: 0,
        ttl: 0,
        flags: TracelbReplyFlags::empty(),
        icmp_type: 0,
        icmp_code: 0,
        icmp_q_ttl: 0,
        icmp_q_tos: 0,
        tcp_flags: 0,
        icmp_exts: Vec::new(),
    };
    while let Some(f) = p.next_flag() {
        match f {
            1 => r.rx = d.timeval()?,
            2 => r.ipid = d.u16()?,
            3 => r.ttl = d.u8()?,
            4 => r.flags = TracelbReplyFlags(d.u8()?),
            5 => {
                r.icmp_type = d.u8()?;
                r.icmp_code = d.u8()?;
            }
            6 => r.tcp_flags = d.u8()?,
            7 => r.icmp_exts = d.icmpext()?,
            8 => r.icmp_q_ttl = d.u8()?,
            9 => r.icmp_q_tos = d.u8()?,
            10 => from = d.gid()?,
            11 => from = Some(d.addr()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    r.from = from.ok_or_else(|| d.err(K::Missing("tracelb reply from")))?;
    Ok(r)
}

pub(crate) fn encode(e: &mut Enc, t: &Tracelb, list: u32, cycle: u32) -> EResult<()> {
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
    let nodec = t.nodes.len();
    if t.links
        .iter()
        .any(|l| usize::from(l.from) >= nodec || l.to.is_some_and(|to| usize::from(to) >= nodec))
    {
        return Err(WriteError::Inconsistent {
            record: "tracelb",
            field: "link node index",
        });
    }
    let mut p = e.params_begin(26);
    p.set(1);
    e.u32(list);
    p.set(2);
    e.u32(cycle);
    p.set(5);
    e.timeval(t.start);
    p.set(6);
    e.u16(t.sport);
    p.set(7);
    e.u16(t.dport);
    p.set(8);
    e.u16(t.probe_size);
    p.set(9);
    e.u8(t.method.code());
    p.set(10);
    e.u8(t.firsthop);
    p.set(11);
    e.u8(wait);
    p.set(12);
    e.u8(wait_probe);
    p.set(13);
    e.u8(t.attempts);
    p.set(14);
    e.u8(t.confidence);
    p.set(15);
    e.u8(t.tos);
    p.set(16);
    e.count16(nodec, "node count")?;
    p.set(17);
    e.count16(t.links.len(), "link count")?;
    p.set(18);
    e.u32(t.probes_sent);
    p.set(19);
    e.u32(t.max_probes);
    p.set(20);
    e.u8(t.gaplimit);
    if let Some(a) = &t.src {
        p.set(21);
        e.addr(a);
    }
    p.set(22);
    e.addr(&t.dst);
    if t.user_id != 0 {
        p.set(23);
        e.u32(t.user_id);
    }
    if !t.flags.is_empty() {
        p.set(24);
        e.u8(t.flags.bits());
    }
    if let Some(a) = &t.rtr {
        p.set(25);
        e.saddr(a);
    }
    if let Some(m) = &t.errmsg {
        p.set(26);
        e.string(m);
    }
    e.params_end(p)?;

    let mut linkc = vec![0usize; nodec];
    for l in &t.links {
        linkc[usize::from(l.from)] += 1;
    }
    for (n, lc) in t.nodes.iter().zip(&linkc) {
        let mut p = e.params_begin(6);
        p.set(2);
        e.u8(u8::from(n.q_ttl.is_some()));
        p.set(3);
        e.count16(*lc, "node link count")?;
        if let Some(q) = n.q_ttl {
            p.set(4);
            e.u8(q);
        }
        if let Some(a) = &n.addr {
            p.set(5);
            e.addr(a);
        }
        if let Some(name) = &n.name {
            p.set(6);
            e.string(name);
        }
        e.params_end(p)?;
    }
    for l in &t.links {
        let mut p = e.params_begin(3);
        p.set(1);
        e.u16(l.from);
        if let Some(to) = l.to {
            p.set(2);
            e.u16(to);
        }
        p.set(3);
        e.count8(l.probesets.len(), "link hop count")?;
        e.params_end(p)?;
        for set in &l.probesets {
            let mut p = e.params_begin(1);
            p.set(1);
            e.count16(set.len(), "probe set size")?;
            e.params_end(p)?;
            for pr in set {
                encode_probe(e, pr)?;
            }
        }
    }
    Ok(())
}

fn encode_probe(e: &mut Enc, pr: &TracelbProbe) -> EResult<()> {
    let mut p = e.params_begin(5);
    p.set(1);
    e.timeval(pr.tx);
    p.set(2);
    e.u16(pr.flowid);
    p.set(3);
    e.u8(pr.ttl);
    p.set(4);
    e.u8(pr.attempt);
    p.set(5);
    e.count16(pr.replies.len(), "probe reply count")?;
    e.params_end(p)?;
    for r in &pr.replies {
        let tcp = r.is_tcp();
        let mut p = e.params_begin(11);
        p.set(1);
        e.timeval(r.rx);
        p.set(2);
        e.u16(r.ipid);
        if r.flags.contains(TracelbReplyFlags::REPLY_TTL) || r.ttl != 0 {
            p.set(3);
            e.u8(r.ttl);
        }
        p.set(4);
        e.u8(r.flags.bits());
        if !tcp || r.icmp_type != 0 || r.icmp_code != 0 {
            p.set(5);
            e.u8(r.icmp_type);
            e.u8(r.icmp_code);
        }
        if tcp || r.tcp_flags != 0 {
            p.set(6);
            e.u8(r.tcp_flags);
        }
        if !r.icmp_exts.is_empty() {
            p.set(7);
            e.icmpext(&r.icmp_exts)?;
        }
        if !tcp || r.icmp_q_ttl != 0 {
            p.set(8);
            e.u8(r.icmp_q_ttl);
        }
        if !tcp || r.icmp_q_tos != 0 {
            p.set(9);
            e.u8(r.icmp_q_tos);
        }
        p.set(11);
        e.addr(&r.from);
        e.params_end(p)?;
    }
    Ok(())
}
