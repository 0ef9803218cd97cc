//! Helper for `bench/warts.sh`: writes synthetic warts files and times
//! reading them.
//!
//! - `warts_bench gen-ping N FILE`: N pings (4 probes, mostly answered)
//! - `warts_bench gen-trace N FILE`: N traceroutes (udp-paris, 8..=16 hops)
//! - `warts_bench read FILE`: decodes every record, prints the count

use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use vantage_model::{
    Addr, Cycle, List, Ping, PingMethod, PingReply, PingReplyFlags, PingStop, Timestamp, Trace,
    TraceHop, TraceMethod, TraceReplyFlags, TraceStop,
};
use vantage_warts::Writer;

struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn v4(&mut self) -> Addr {
        Addr::V4(Ipv4Addr::from(
            0x0a00_0000 | (self.next() as u32 & 0x00ff_ffff),
        ))
    }
}

fn ping(g: &mut Gen, i: u64, list: &Arc<List>, cycle: &Arc<Cycle>) -> Ping {
    let dst = g.v4();
    let start = Timestamp::new(1_700_000_000 + (i / 1000) as u32, (i % 1000) as u32 * 1000);
    let mut p = Ping::new(dst, start);
    p.list = Some(Arc::clone(list));
    p.cycle = Some(Arc::clone(cycle));
    p.src = Some(Addr::V4(Ipv4Addr::new(192, 0, 2, 10)));
    p.method = PingMethod::IcmpEcho;
    p.stop_reason = PingStop::Done;
    p.attempts = 4;
    p.probes_sent = 4;
    p.sport = 4660;
    for id in 0..4u16 {
        if g.below(8) == 0 {
            continue;
        }
        let mut r = PingReply::new(id, dst, Duration::from_micros(5000 + g.below(200_000)));
        r.flags = PingReplyFlags::REPLY_TTL
            | PingReplyFlags::REPLY_IPID
            | PingReplyFlags::PROBE_IPID
            | PingReplyFlags::REPLY_TOS;
        r.reply_ttl = 40 + g.below(20) as u8;
        r.reply_size = 84;
        r.reply_ipid = g.below(65536) as u32;
        r.probe_ipid = g.below(65536) as u16;
        r.tx = Some(start.plus(Duration::from_secs(u64::from(id))));
        r.ifname = Some("eth0".to_owned());
        p.replies.push(r);
    }
    p
}

fn trace(g: &mut Gen, i: u64, list: &Arc<List>, cycle: &Arc<Cycle>) -> Trace {
    let dst = g.v4();
    let start = Timestamp::new(1_700_000_000 + (i / 100) as u32, (i % 100) as u32 * 10_000);
    let mut t = Trace::new(dst, start);
    t.list = Some(Arc::clone(list));
    t.cycle = Some(Arc::clone(cycle));
    t.src = Some(Addr::V4(Ipv4Addr::new(192, 0, 2, 10)));
    t.method = TraceMethod::UdpParis;
    t.stop_reason = TraceStop::Completed;
    t.sport = 41000;
    t.dport = 33435;
    let hops = 8 + g.below(9) as u8;
    t.hop_count = u16::from(hops);
    let mut sent = 0u16;
    for ttl in 1..=hops {
        sent += 1;
        let silent = ttl != hops && g.below(10) == 0;
        if silent {
            sent += 1;
            continue;
        }
        let addr = if ttl == hops { dst } else { g.v4() };
        let rtt = Duration::from_micros(1000 * u64::from(ttl) + g.below(20_000));
        let mut h = TraceHop::new(addr, ttl, 0, t.probe_size, rtt);
        h.flags = TraceReplyFlags::REPLY_TTL;
        h.reply_ttl = 255 - ttl;
        h.reply_tos = 0xc0;
        h.reply_ipid = g.below(65536) as u16;
        h.reply_size = 56;
        h.tx = Some(start.plus(Duration::from_millis(u64::from(ttl) * 20)));
        if ttl == hops {
            h.icmp_type = 3;
            h.icmp_code = 3;
        } else {
            h.icmp_type = 11;
        }
        t.hops.push(h);
    }
    t.probes_sent = sent;
    t
}

fn generate(kind: &str, n: u64, path: &str) -> anyhow::Result<()> {
    let list = Arc::new(List::new(1, "bench"));
    let cycle = Arc::new(Cycle {
        list: Arc::clone(&list),
        id: 1,
        start_time: 1_700_000_000,
        stop_time: None,
        hostname: Some("bench".to_owned()),
    });
    let file = std::fs::File::create(path).with_context(|| format!("creating {path}"))?;
    let mut w = Writer::new(BufWriter::with_capacity(1 << 20, file));
    w.write_cycle_start(&cycle)?;
    let mut g = Gen(0x0123_4567_89ab_cdef);
    for i in 0..n {
        match kind {
            "ping" => w.write_ping(&ping(&mut g, i, &list, &cycle))?,
            _ => w.write_trace(&trace(&mut g, i, &list, &cycle))?,
        }
    }
    let mut stopped = Cycle::clone(&cycle);
    stopped.stop_time = Some(1_700_100_000);
    w.write_cycle_stop(&Arc::new(stopped))?;
    w.into_inner()?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["gen-ping", n, path] => generate("ping", n.parse()?, path),
        ["gen-trace", n, path] => generate("trace", n.parse()?, path),
        ["read", path] => {
            let mut n = 0u64;
            for r in vantage_warts::open(path)? {
                r?;
                n += 1;
            }
            println!("{n}");
            Ok(())
        }
        _ => bail!("usage: warts_bench gen-ping N FILE | gen-trace N FILE | read FILE"),
    }
}
