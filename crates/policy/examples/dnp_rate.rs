//! Prints how fast a large do-not-probe list loads and answers, and how fast commands are
//! checked. Run with `cargo run --release -p vantage-policy --example dnp_rate`.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Instant;

use vantage_command::{Command, Context};
use vantage_policy::{DnpList, Policy};

fn main() {
    let n: u32 = 2_000_000;
    let mut text = String::new();
    for i in 0..n / 2 {
        let a = Ipv4Addr::from_bits(i.wrapping_mul(2_654_435_761));
        let _ = writeln!(text, "{a}/32");
        let b = Ipv6Addr::from_bits(u128::from(i.wrapping_mul(40_503)) << 80 | 0x2000 << 112);
        let _ = writeln!(text, "{b}/48");
    }
    let t = Instant::now();
    let list = match DnpList::parse(&text, Path::new("generated")) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    let load = t.elapsed();
    println!(
        "parsed {} prefixes ({} MB of text) in {:.2} s: {:.0} prefixes/s",
        list.len(),
        text.len() / 1_000_000,
        load.as_secs_f64(),
        f64::from(n) / load.as_secs_f64()
    );

    let lookups = 5_000_000u32;
    let t = Instant::now();
    let mut hits = 0u32;
    for i in 0..lookups {
        let a = IpAddr::V4(Ipv4Addr::from_bits(i.wrapping_mul(2_246_822_519)));
        hits += u32::from(list.lookup(std::hint::black_box(a)).is_some());
    }
    let took = t.elapsed().as_secs_f64();
    println!(
        "{lookups} IPv4 lookups in {took:.2} s: {:.1} M lookups/s ({hits} hits)",
        f64::from(lookups) / took / 1e6
    );

    let policy = Policy::default();
    let ctx = Context::new(1);
    let cmds: Vec<Command> = [
        "ping -P udp 8.8.8.8",
        "trace -m 30 2a00:1450::1",
        "tracelb 1.1.1.1",
    ]
    .iter()
    .filter_map(|l| Command::parse(l, &ctx).ok())
    .collect();
    let rounds = 1_000_000u32;
    let t = Instant::now();
    let mut ok = 0u32;
    for i in 0..rounds {
        ok += u32::from(
            std::hint::black_box(&policy)
                .check(std::hint::black_box(&cmds[i as usize % cmds.len()]))
                .is_ok(),
        );
    }
    let took = t.elapsed().as_secs_f64();
    println!(
        "{rounds} command checks in {took:.2} s: {:.2} M checks/s ({ok} allowed)",
        f64::from(rounds) / took / 1e6
    );
}
