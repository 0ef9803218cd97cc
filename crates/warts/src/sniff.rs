//! Packet capture records (type 13).

use std::time::Duration;

use vantage_model::{Addr, Sniff, SniffPacket, SniffStop, Timestamp};

use crate::error::{DecodeError, DecodeErrorKind as K, WriteError};
use crate::prim::{DResult, Dec, EResult, Enc, units};

pub(crate) fn decode(d: &mut Dec<'_, '_>) -> DResult<Sniff> {
    let mut p = d.params()?;
    let mut s = Sniff {
        list: None,
        cycle: None,
        user_id: 0,
        src: Addr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        start: Timestamp::default(),
        finish: Timestamp::default(),
        stop_reason: SniffStop::None,
        limit_pkt_count: 0,
        limit_time: Duration::ZERO,
        icmp_id: 0,
        errmsg: None,
        packets: Vec::new(),
    };
    let mut src = None;
    let mut pktc = 0u32;
    while let Some(f) = p.next_flag() {
        match f {
            1 => s.list = d.list()?,
            2 => s.cycle = d.cycle()?,
            3 => s.user_id = d.u32()?,
            4 => src = Some(d.addr()?),
            5 => s.start = d.timeval()?,
            6 => s.finish = d.timeval()?,
            7 => s.stop_reason = SniffStop::from_code(d.u8()?),
            8 => s.limit_pkt_count = d.u32()?,
            9 => s.limit_time = Duration::from_secs(u64::from(d.u16()?)),
            10 => pktc = d.u32()?,
            11 => s.icmp_id = d.u16()?,
            12 => s.errmsg = Some(d.string()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    s.src = src.ok_or_else(|| d.err(K::Missing("sniff src")))?;
    // Each packet takes at least 4 bytes: don't trust pktc for the allocation.
    s.packets
        .reserve(pktc.min(d.remaining() as u32 / 4) as usize);
    for _ in 0..pktc {
        let mut p = d.params()?;
        let mut pkt = SniffPacket::default();
        let mut len = 0usize;
        let mut len_at = d.pos;
        while let Some(f) = p.next_flag() {
            match f {
                1 => pkt.ts = d.timeval()?,
                2 => {
                    len_at = d.pos;
                    len = usize::from(d.u16()?);
                }
                3 => pkt.data = d.bytes(len)?.to_vec(),
                _ => break,
            }
        }
        d.finish(&p)?;
        if pkt.data.is_empty() {
            return Err(DecodeError::new(
                len_at,
                K::Invalid {
                    field: "sniff packet length",
                    value: 0,
                },
            ));
        }
        s.packets.push(pkt);
    }
    Ok(s)
}

pub(crate) fn encode(e: &mut Enc, s: &Sniff, list: u32, cycle: u32) -> EResult<()> {
    let limit_time = units(e, s.limit_time, Duration::from_secs(1), 65535, "limit_time")? as u16;
    let mut p = e.params_begin(12);
    if list != 0 {
        p.set(1);
        e.u32(list);
    }
    if cycle != 0 {
        p.set(2);
        e.u32(cycle);
    }
    if s.user_id != 0 {
        p.set(3);
        e.u32(s.user_id);
    }
    p.set(4);
    e.addr(&s.src);
    p.set(5);
    e.timeval(s.start);
    p.set(6);
    e.timeval(s.finish);
    p.set(7);
    e.u8(s.stop_reason.code());
    p.set(8);
    e.u32(s.limit_pkt_count);
    p.set(9);
    e.u16(limit_time);
    p.set(10);
    e.count32(s.packets.len(), "packet count")?;
    p.set(11);
    e.u16(s.icmp_id);
    if let Some(m) = &s.errmsg {
        p.set(12);
        e.string(m);
    }
    e.params_end(p)?;
    for pkt in &s.packets {
        if pkt.data.is_empty() {
            return Err(WriteError::Inconsistent {
                record: "sniff",
                field: "packet data (empty)",
            });
        }
        let mut p = e.params_begin(3);
        p.set(1);
        e.timeval(pkt.ts);
        p.set(2);
        e.count16(pkt.data.len(), "packet length")?;
        p.set(3);
        e.buf.extend_from_slice(&pkt.data);
        e.params_end(p)?;
    }
    Ok(())
}
