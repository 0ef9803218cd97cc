//! Ping records (type 7).

use std::time::Duration;

use vantage_model::{
    Addr, IcmpTimestamps, Ping, PingFlags, PingIpTimestamps, PingMethod, PingReply, PingReplyFlags,
    PingStop, Timestamp,
};

use crate::error::DecodeErrorKind as K;
use crate::prim::{DResult, Dec, EResult, Enc, split_secs_u8};

const fn default_proto(dst: &Addr) -> u8 {
    if dst.is_ipv6() { 58 } else { 1 }
}

pub(crate) fn decode(d: &mut Dec<'_, '_>) -> DResult<Box<Ping>> {
    let mut p = d.params()?;
    // Built in place in its box: the struct is large and records are many.
    let mut ping = Box::new(Ping::new(
        Addr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        Timestamp::default(),
    ));
    ping.attempts = 0;
    ping.probe_size = 0;
    ping.ttl = 0;
    let mut dst = None;
    let mut wait_s = 0u8;
    let mut wait_us = 0u32;
    let mut timeout_s = None;
    let mut timeout_us = 0u32;
    let mut flags8 = None;
    let mut flags32 = None;
    let mut data_len = 0usize;
    while let Some(f) = p.next_flag() {
        match f {
            1 => ping.list = d.list()?,
            2 => ping.cycle = d.cycle()?,
            3 => ping.src = d.gid()?,
            4 => dst = d.gid()?,
            5 => ping.start = d.timeval()?,
            6 => ping.stop_reason = PingStop::from_code(d.u8()?),
            7 => ping.stop_data = d.u8()?,
            8 => data_len = usize::from(d.u16()?),
            9 => ping.data = d.bytes(data_len)?.to_vec(),
            10 => ping.attempts = d.u16()?,
            11 => ping.probe_size = d.u16()?,
            12 => wait_s = d.u8()?,
            13 => ping.ttl = d.u8()?,
            14 => ping.stop_count = d.u16()?,
            15 => ping.probes_sent = d.u16()?,
            16 => ping.method = PingMethod::from_code(d.u8()?),
            17 => ping.sport = d.u16()?,
            18 => ping.dport = d.u16()?,
            19 => ping.user_id = d.u32()?,
            20 => ping.src = Some(d.addr()?),
            21 => dst = Some(d.addr()?),
            22 => flags8 = Some(d.u8()?),
            23 => ping.tos = d.u8()?,
            24 => {
                let n = d.u8()?;
                ping.tsps = (0..n).map(|_| d.addr()).collect::<DResult<_>>()?;
            }
            25 => ping.icmp_csum = d.u16()?,
            26 => ping.pmtu = d.u16()?,
            27 => timeout_s = Some(d.u8()?),
            28 => wait_us = d.u32()?,
            29 => ping.tcp_ack = d.u32()?,
            30 => flags32 = Some(d.u32()?),
            31 => ping.tcp_seq = d.u32()?,
            32 => ping.rtr = Some(d.saddr()?),
            33 => timeout_us = d.u32()?,
            34 => ping.errmsg = Some(d.string()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    ping.dst = dst.ok_or_else(|| d.err(K::Missing("ping dst")))?;
    ping.flags = PingFlags(flags32.unwrap_or(u32::from(flags8.unwrap_or(0))));
    ping.wait_probe =
        Duration::from_secs(u64::from(wait_s)) + Duration::from_micros(u64::from(wait_us));
    ping.wait_timeout = Duration::from_secs(u64::from(timeout_s.unwrap_or(wait_s)))
        + Duration::from_micros(u64::from(timeout_us));

    let n = d.u16()?;
    ping.replies.reserve_exact(usize::from(n));
    let (dst, sent) = (ping.dst, ping.probes_sent);
    for _ in 0..n {
        ping.replies.push(PingReply::new(0, dst, Duration::ZERO));
        if let Some(r) = ping.replies.last_mut() {
            decode_reply(d, r, dst, sent)?;
        }
    }
    Ok(ping)
}

/// Decodes one reply into `r` (freshly made by `PingReply::new`).
fn decode_reply(d: &mut Dec<'_, '_>, r: &mut PingReply, dst: Addr, sent: u16) -> DResult<()> {
    let mut p = d.params()?;
    let mut from = None;
    r.reply_proto = default_proto(&dst);
    let mut probe_id = None;
    let mut ipid16 = false;
    while let Some(f) = p.next_flag() {
        match f {
            1 => from = d.gid()?,
            2 => r.flags = PingReplyFlags(d.u8()?),
            3 => r.reply_ttl = d.u8()?,
            4 => r.reply_size = d.u16()?,
            5 => {
                r.icmp_type = d.u8()?;
                r.icmp_code = d.u8()?;
            }
            6 => r.rtt = d.rtt()?,
            7 => {
                let at = d.pos;
                let id = d.u16()?;
                if id >= sent {
                    return Err(crate::error::DecodeError::new(
                        at,
                        K::Invalid {
                            field: "ping reply probe id (not below probes sent)",
                            value: u64::from(id),
                        },
                    ));
                }
                probe_id = Some(id);
            }
            8 => {
                r.reply_ipid = u32::from(d.u16()?);
                ipid16 = true;
            }
            9 => r.probe_ipid = d.u16()?,
            10 => r.reply_proto = d.u8()?,
            11 => r.tcp_flags = d.u8()?,
            12 => from = Some(d.addr()?),
            13 => {
                let n = d.u8()?;
                r.rr = Some((0..n).map(|_| d.addr()).collect::<DResult<_>>()?);
            }
            14 => {
                let tsc = d.u8()?;
                let at = d.pos;
                let ipc = d.u8()?;
                if ipc != 0 && ipc != tsc {
                    return Err(crate::error::DecodeError::new(
                        at,
                        K::Invalid {
                            field: "ping reply IP timestamp address count",
                            value: u64::from(ipc),
                        },
                    ));
                }
                let timestamps = (0..tsc).map(|_| d.u32()).collect::<DResult<_>>()?;
                let addrs = (0..ipc).map(|_| d.addr()).collect::<DResult<_>>()?;
                r.ip_ts = Some(PingIpTimestamps { timestamps, addrs });
            }
            15 => {
                // scamper 20211212 writes the 32-bit IPv6 IP-ID field (as 0)
                // next to the 16-bit one on IPv4 replies: the 16-bit one wins.
                let ipid32 = d.u32()?;
                if !ipid16 {
                    r.reply_ipid = ipid32;
                }
            }
            16 => r.tx = Some(d.timeval()?),
            17 => {
                let originate = d.u32()?;
                let receive = d.u32()?;
                let transmit = d.u32()?;
                r.icmp_ts = Some(IcmpTimestamps {
                    originate,
                    receive,
                    transmit,
                });
            }
            18 => r.probe_sport = d.u16()?,
            19 => r.reply_tos = d.u8()?,
            20 => r.ifname = Some(d.ifname()?),
            21 => r.nhmtu = d.u16()?,
            _ => break,
        }
    }
    d.finish(&p)?;
    r.from = from.ok_or_else(|| d.err(K::Missing("ping reply from")))?;
    r.probe_id = probe_id.ok_or_else(|| d.err(K::Missing("ping reply probe id")))?;
    Ok(())
}

pub(crate) fn encode(e: &mut Enc, ping: &Ping, list: u32, cycle: u32) -> EResult<()> {
    let (wait_s, wait_us) = split_secs_u8(e, ping.wait_probe, "wait_probe")?;
    let (timeout_s, timeout_us) = split_secs_u8(e, ping.wait_timeout, "wait_timeout")?;
    let flags = ping.flags.bits();
    let mut p = e.params_begin(34);
    if list != 0 {
        p.set(1);
        e.u32(list);
    }
    if cycle != 0 {
        p.set(2);
        e.u32(cycle);
    }
    p.set(5);
    e.timeval(ping.start);
    p.set(6);
    e.u8(ping.stop_reason.code());
    p.set(7);
    e.u8(ping.stop_data);
    if !ping.data.is_empty() {
        p.set(8);
        e.count16(ping.data.len(), "data length")?;
        p.set(9);
        e.buf.extend_from_slice(&ping.data);
    }
    p.set(10);
    e.u16(ping.attempts);
    p.set(11);
    e.u16(ping.probe_size);
    p.set(12);
    e.u8(wait_s);
    p.set(13);
    e.u8(ping.ttl);
    if ping.stop_count != 0 {
        p.set(14);
        e.u16(ping.stop_count);
    }
    p.set(15);
    e.u16(ping.probes_sent);
    if ping.method.code() != 0 {
        p.set(16);
        e.u8(ping.method.code());
    }
    if ping.sport != 0 {
        p.set(17);
        e.u16(ping.sport);
    }
    if ping.dport != 0 {
        p.set(18);
        e.u16(ping.dport);
    }
    if ping.user_id != 0 {
        p.set(19);
        e.u32(ping.user_id);
    }
    if let Some(src) = &ping.src {
        p.set(20);
        e.addr(src);
    }
    p.set(21);
    e.addr(&ping.dst);
    if flags & 0xff != 0 {
        p.set(22);
        e.u8((flags & 0xff) as u8);
    }
    if ping.tos != 0 {
        p.set(23);
        e.u8(ping.tos);
    }
    if !ping.tsps.is_empty() {
        p.set(24);
        e.count8(ping.tsps.len(), "tsps count")?;
        for a in &ping.tsps {
            e.addr(a);
        }
    }
    if ping.icmp_csum != 0 {
        p.set(25);
        e.u16(ping.icmp_csum);
    }
    if ping.pmtu != 0 {
        p.set(26);
        e.u16(ping.pmtu);
    }
    if timeout_s != wait_s {
        p.set(27);
        e.u8(timeout_s);
    }
    if wait_us != 0 {
        p.set(28);
        e.u32(wait_us);
    }
    if ping.tcp_ack != 0 {
        p.set(29);
        e.u32(ping.tcp_ack);
    }
    if flags > 0xff {
        p.set(30);
        e.u32(flags);
    }
    if ping.tcp_seq != 0 {
        p.set(31);
        e.u32(ping.tcp_seq);
    }
    if let Some(rtr) = &ping.rtr {
        p.set(32);
        e.saddr(rtr);
    }
    if timeout_us != 0 {
        p.set(33);
        e.u32(timeout_us);
    }
    if let Some(m) = &ping.errmsg {
        p.set(34);
        e.string(m);
    }
    e.params_end(p)?;

    e.count16(ping.replies.len(), "reply count")?;
    for r in &ping.replies {
        if r.probe_id >= ping.probes_sent {
            return Err(crate::error::WriteError::Inconsistent {
                record: "ping",
                field: "reply probe_id (must be below probes_sent)",
            });
        }
        encode_reply(e, ping, r)?;
    }
    Ok(())
}

fn encode_reply(e: &mut Enc, ping: &Ping, r: &PingReply) -> EResult<()> {
    let v4 = ping.dst.is_ipv4();
    let v6 = ping.dst.is_ipv6();
    let mut p = e.params_begin(21);
    if !r.flags.is_empty() {
        p.set(2);
        e.u8(r.flags.bits());
    }
    if r.flags.contains(PingReplyFlags::REPLY_TTL) || r.reply_ttl != 0 {
        p.set(3);
        e.u8(r.reply_ttl);
    }
    p.set(4);
    e.u16(r.reply_size);
    if r.is_icmp() || r.icmp_type != 0 || r.icmp_code != 0 {
        p.set(5);
        e.u8(r.icmp_type);
        e.u8(r.icmp_code);
    }
    p.set(6);
    e.rtt(r.rtt, "reply rtt")?;
    p.set(7);
    e.u16(r.probe_id);
    let ipid_valid = r.flags.contains(PingReplyFlags::REPLY_IPID) || r.reply_ipid != 0;
    let ipid16 = v4 && ipid_valid && r.reply_ipid <= 0xffff;
    if ipid16 {
        p.set(8);
        e.u16(r.reply_ipid as u16);
    }
    if (v4 && r.flags.contains(PingReplyFlags::PROBE_IPID)) || r.probe_ipid != 0 {
        p.set(9);
        e.u16(r.probe_ipid);
    }
    if !ping.method.is_icmp() || r.reply_proto != default_proto(&ping.dst) {
        p.set(10);
        e.u8(r.reply_proto);
    }
    if r.is_tcp() || r.tcp_flags != 0 {
        p.set(11);
        e.u8(r.tcp_flags);
    }
    p.set(12);
    e.addr(&r.from);
    if let Some(rr) = &r.rr {
        p.set(13);
        e.count8(rr.len(), "record-route count")?;
        for a in rr {
            e.addr(a);
        }
    }
    if let Some(ts) = &r.ip_ts {
        if !ts.addrs.is_empty() && ts.addrs.len() != ts.timestamps.len() {
            return Err(crate::error::WriteError::Inconsistent {
                record: "ping",
                field: "ip_ts.addrs (must be empty or as long as timestamps)",
            });
        }
        p.set(14);
        e.count8(ts.timestamps.len(), "IP timestamp count")?;
        e.count8(ts.addrs.len(), "IP timestamp address count")?;
        for t in &ts.timestamps {
            e.u32(*t);
        }
        for a in &ts.addrs {
            e.addr(a);
        }
    }
    if !ipid16 && ((v6 && ipid_valid) || r.reply_ipid != 0) {
        p.set(15);
        e.u32(r.reply_ipid);
    }
    if let Some(tx) = r.tx {
        p.set(16);
        e.timeval(tx);
    }
    if let Some(ts) = &r.icmp_ts {
        p.set(17);
        e.u32(ts.originate);
        e.u32(ts.receive);
        e.u32(ts.transmit);
    }
    if r.probe_sport != 0 {
        p.set(18);
        e.u16(r.probe_sport);
    }
    if r.reply_tos != 0 {
        p.set(19);
        e.u8(r.reply_tos);
    }
    if let Some(name) = &r.ifname {
        p.set(20);
        e.ifname(name);
    }
    if r.is_icmp_ptb() || r.nhmtu != 0 {
        p.set(21);
        e.u16(r.nhmtu);
    }
    e.params_end(p)
}
