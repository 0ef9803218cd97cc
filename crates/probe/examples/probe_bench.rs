//! Whole-prober figures for `bench/probe.sh`: run it as root inside the namespace that
//! holds the prober's end of a link to a target (the script builds one).
//!
//! ```text
//! probe_bench rate PPS SECONDS DST [SEND_BATCH]   highest loss-free rate: pings at PPS
//! probe_bench tasks N COUNT INTERVAL PPS DST      N concurrent pings of COUNT probes
//! probe_bench burst N PPS DST [OPTS]              N one-probe pings to one destination
//! ```
//!
//! Each prints one line of `key=value` figures: probes sent, replies, loss, the kernel's
//! receive-buffer drops, the achieved rate, CPU seconds (user + system of this process,
//! which on a veth link includes the kernel's work for the target's side) and peak RSS.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use vantage_model::Record;
use vantage_probe::{Prober, ProberConfig, ProberHandle, ProberStats, Results};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a = |i: usize| -> &str {
        args.get(i).map_or_else(
            || {
                eprintln!("usage: see the comment at the top of probe_bench.rs");
                std::process::exit(2)
            },
            String::as_str,
        )
    };
    let num = |i: usize| -> u64 { a(i).parse().expect("a number") };
    match a(0) {
        "rate" => {
            let pps = num(1) as u32;
            let seconds = num(2);
            let batch = args.get(4).map_or(1, |b| b.parse().unwrap());
            rate(pps, seconds, a(3), batch);
        }
        "tasks" => tasks(num(1), num(2), a(3), num(4) as u32, a(5)),
        "burst" => burst(
            num(1),
            num(2) as u32,
            a(3),
            &args.get(4..).unwrap_or_default().join(" "),
        ),
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}

fn start(pps: u32, batch: usize) -> (ProberHandle, Results, vantage_probe::ProberThread) {
    let config = ProberConfig {
        send_batch: batch,
        ..ProberConfig::with_pps(pps)
    };
    Prober::spawn(config).expect("prober")
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which is in parentheses).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line (11 and 12 here).
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// Peak resident set size in kB.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Collects `n` results; returns (probes sent, replies) over the pings.
fn collect(results: &mut Results, n: u64) -> (u64, u64) {
    let (mut sent, mut replies) = (0u64, 0u64);
    for _ in 0..n {
        let mut out = results.blocking_recv().expect("prober running");
        while out.partial {
            out = results.blocking_recv().expect("prober running");
        }
        if let Ok(Record::Ping(p)) = out.result {
            sent += u64::from(p.probes_sent);
            replies += u64::from(p.stats().nreplies);
        } else {
            eprintln!("task failed: {:?}", out.result.err());
        }
    }
    (sent, replies)
}

fn report(label: &str, st: &ProberStats, sent: u64, replies: u64, extra: &str) {
    let loss = sent.saturating_sub(replies);
    let pct = if sent == 0 {
        0.0
    } else {
        loss as f64 * 100.0 / sent as f64
    };
    println!(
        "{label} sent={sent} replies={replies} loss={loss} ({pct:.3}%) socket_drops={} \
         send_errors={} unmatched={} {extra} peak_rss_kb={}",
        st.socket_drops,
        st.send_errors,
        st.unmatched,
        peak_rss_kb()
    );
}

/// Pings `dst` at `pps` for about `seconds`: enough pings of one probe per millisecond
/// that their demand is four times the pacer's rate (timers fire late, and a ping's
/// next probe waits for the pacer), so the pacer sets the rate. The rate is measured over
/// the middle of the run from the sent counter.
fn rate(pps: u32, seconds: u64, dst: &str, batch: usize) {
    let (handle, mut results, thread) = start(pps, batch);
    let ntasks = (u64::from(pps) * 4 / 1000).max(1);
    let count = (u64::from(pps) * seconds / ntasks).clamp(1, 65_535);
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    for _ in 0..ntasks {
        handle
            .submit_line(&format!("ping -c {count} -i 0.001 -W 1 {dst}"))
            .unwrap();
    }
    // Sample the sent counter between 20% and 80% of the nominal run.
    let total = ntasks * count;
    let nominal = Duration::from_secs_f64(total as f64 / f64::from(pps));
    std::thread::sleep(nominal / 5);
    let (s1, i1) = (handle.stats().sent, Instant::now());
    std::thread::sleep(nominal * 3 / 5);
    let (s2, i2) = (handle.stats().sent, Instant::now());
    let measured = (s2 - s1) as f64 / (i2 - i1).as_secs_f64();
    let (sent, replies) = collect(&mut results, ntasks);
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let st = handle.stats();
    drop(handle);
    thread.join().unwrap();
    let per_100k = cpu * 100_000.0 / sent.max(1) as f64;
    report(
        &format!("rate target_pps={pps} send_batch={batch}"),
        &st,
        sent,
        replies,
        &format!(
            "achieved_pps={measured:.0} wall_s={wall:.2} cpu_s={cpu:.2} cpu_s_per_100k={per_100k:.3}"
        ),
    );
}

/// `n` pings of `count` probes `interval` seconds apart, all running at once.
fn tasks(n: u64, count: u64, interval: &str, pps: u32, dst: &str) {
    let (handle, mut results, thread) = start(pps, 1);
    let t0 = Instant::now();
    for _ in 0..n {
        handle
            .submit_line(&format!("ping -c {count} -i {interval} {dst}"))
            .unwrap();
    }
    // Peak concurrency: wait until every task has started.
    while handle.stats().tasks_started < n {
        std::thread::sleep(Duration::from_millis(10));
    }
    let running = handle.stats().tasks_running;
    let (sent, replies) = collect(&mut results, n);
    let st = handle.stats();
    drop(handle);
    thread.join().unwrap();
    report(
        &format!("tasks n={n} count={count} interval={interval} pps={pps}"),
        &st,
        sent,
        replies,
        &format!(
            "running_at_peak={running} wall_s={:.2}",
            t0.elapsed().as_secs_f64()
        ),
    );
}

/// `n` one-probe pings to one destination with extra options `opts`, submitted at once:
/// the time until the last result. Like scamper's, a ping ends `-W` (default 1 s) after
/// its last probe even when every probe was answered; `-o 1` ends it at the reply.
fn burst(n: u64, pps: u32, dst: &str, opts: &str) {
    let (handle, mut results, thread) = start(pps, 1);
    let t0 = Instant::now();
    for _ in 0..n {
        handle
            .submit_line(&format!("ping -c 1 {opts} {dst}"))
            .unwrap();
    }
    let (sent, replies) = collect(&mut results, n);
    let wall = t0.elapsed().as_secs_f64();
    let st = handle.stats();
    drop(handle);
    thread.join().unwrap();
    report(
        &format!("burst n={n} pps={pps} options=[{opts}]"),
        &st,
        sent,
        replies,
        &format!("wall_s={wall:.3}"),
    );
}
