//! Writes 1,000,000 ping records to a temporary file, then reads them back and
//! prints records/s and MB/s (decode only, framing only, and write).
//!
//! `cargo run --release -p vantage-warts --example bench_read [N]`

use std::error::Error;
use std::fs::File;
use std::io::BufWriter;
use std::time::{Duration, Instant};

use vantage_model::{
    Addr, Ping, PingMethod, PingReply, PingReplyFlags, PingStop, Record, Timestamp,
};
use vantage_warts::{Reader, TypeFilter, Writer};

fn sample(i: u32) -> Ping {
    let dst = Addr::V4(std::net::Ipv4Addr::from(0x0a05_0000 | (i & 0xffff)));
    let start = Timestamp::new(1_795_749_597 + i / 1000, (i % 1000) * 1000);
    let mut p = Ping::new(dst, start);
    p.src = Some("10.1.2.2".parse().unwrap_or(dst));
    p.method = PingMethod::IcmpEcho;
    p.stop_reason = PingStop::Done;
    p.attempts = 1;
    p.probes_sent = 1;
    p.sport = 9379;
    let mut r = PingReply::new(0, dst, Duration::from_micros(20_211 + u64::from(i % 997)));
    r.flags = PingReplyFlags::REPLY_TTL | PingReplyFlags::REPLY_IPID | PingReplyFlags::PROBE_IPID;
    r.reply_ttl = 59;
    r.reply_size = 84;
    r.reply_ipid = i & 0xffff;
    r.probe_ipid = (i >> 3) as u16;
    r.tx = Some(start.plus(Duration::from_micros(11)));
    r.ifname = Some("eth0".to_owned());
    p.replies.push(r);
    p
}

fn main() -> Result<(), Box<dyn Error>> {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.warts");

    let pings: Vec<Ping> = (0..1000).map(sample).collect();
    let t = Instant::now();
    let mut w = Writer::new(BufWriter::with_capacity(256 * 1024, File::create(&path)?));
    for i in 0..n {
        w.write_ping(&pings[(i % 1000) as usize])?;
    }
    w.into_inner()?
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    let wt = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(&path)?.len() as f64;
    println!(
        "write: {n} ping records, {:.1} MB in {wt:.3} s: {:.0} records/s, {:.1} MB/s",
        size / 1e6,
        f64::from(n) / wt,
        size / 1e6 / wt
    );

    // Warm the page cache, then time a full decode.
    std::fs::read(&path)?;
    let t = Instant::now();
    let mut count = 0u32;
    let mut replies = 0usize;
    for rec in Reader::new(File::open(&path)?) {
        if let Record::Ping(p) = rec? {
            count += 1;
            replies += p.replies.len();
        }
    }
    let rt = t.elapsed().as_secs_f64();
    assert_eq!(count, n);
    println!(
        "read (decode every ping): {count} records ({replies} replies) in {rt:.3} s: {:.0} records/s, {:.1} MB/s",
        f64::from(count) / rt,
        size / 1e6 / rt
    );

    let t = Instant::now();
    let mut r = Reader::new(File::open(&path)?);
    r.set_filter(Some(TypeFilter::none()));
    let skipped = r.count();
    let ft = t.elapsed().as_secs_f64();
    println!(
        "walk (framing only, records skipped): {n} records in {ft:.3} s: {:.0} records/s, {:.1} MB/s ({skipped} returned)",
        f64::from(n) / ft,
        size / 1e6 / ft
    );
    Ok(())
}
