//! Scale figures for the engine, against the simulated network of the tests:
//! N concurrent pings to ONE destination at a given packet rate, driven by a
//! fake clock. Prints simulated duration, wall-clock processing rate and the
//! process's peak resident set size (from /proc, Linux only).
//!
//! `cargo run --release -p vantage-engine --example engine_scale -- [N] [RATE] [PROBES]`
//! (defaults: 10000 pings, 10000 pps, 4 probes each).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Path, Sim, routers4, v4};

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(10_000);
    let rate = args.get(1).copied().unwrap_or(10_000) as u32;
    let probes = args.get(2).copied().unwrap_or(4);
    let dst = v4(198, 51, 100, 1);
    let mut sim = Sim::new(rate);
    sim.keep_results = false;
    let mut path = Path::new(routers4(4));
    path.per_hop = Duration::from_millis(2);
    sim.net.add_path(dst, path);
    let rss0 = rss_kib("VmRSS:");
    let wall = Instant::now();
    for id in 0..n {
        sim.start_cmd(id, &format!("ping -c {probes} -i 1 {dst}"));
    }
    let rss_started = rss_kib("VmRSS:");
    // run in slices, sampling memory while everything is in flight
    let mut peak = 0;
    let mut running_peak = 0;
    while !sim.engine.is_idle() || sim.net.next_time().is_some() {
        sim.run_for(Duration::from_millis(250));
        peak = peak.max(rss_kib("VmRSS:"));
        running_peak = running_peak.max(sim.engine.stats().tasks);
    }
    let took = wall.elapsed();
    let replies = sim.replies_total;
    assert_eq!(sim.finished as u64, n);
    let st = sim.engine.stats();
    println!("tasks {n}, {probes} probes each, rate {rate} pps, one destination");
    println!(
        "simulated duration      {:.3} s",
        sim.elapsed().as_secs_f64()
    );
    println!(
        "first probe of each     by {:.3} s",
        sim.tx_times[n as usize - 1].as_secs_f64()
    );
    println!(
        "probes sent / matched   {} / {} (unmatched {})",
        st.probes_sent, st.matched, st.unmatched
    );
    println!("replies recorded        {replies}");
    println!("tasks running at once   {running_peak}");
    println!(
        "wall clock              {:.3} s ({:.0} probe+reply pairs/s)",
        took.as_secs_f64(),
        st.probes_sent as f64 / took.as_secs_f64()
    );
    println!(
        "RSS before / started / peak  {} / {} / {} KiB (peak VmHWM {} KiB)",
        rss0,
        rss_started,
        peak,
        rss_kib("VmHWM:")
    );
}
