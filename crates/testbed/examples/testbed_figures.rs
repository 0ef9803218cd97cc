//! Whole-system figures for the testbed (run as root, one at a time; not a test):
//!
//! ```text
//! cargo run -p vantage-testbed --example testbed_figures --release
//! ```
//!
//! Prints how long the standard topology takes to build and tear down, and how many
//! packets per second the user-space delay engine carries across a delayed link, with
//! loss and reordering counts. Rates, not verdicts: nothing here passes or fails.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use vantage_testbed::{Topology, is_root, standard, unique_prefix};

fn main() -> anyhow_free::Result {
    if !is_root() {
        eprintln!("testbed_figures: needs root (network namespaces); nothing measured");
        return Ok(());
    }
    build_and_teardown()?;
    for delay_ms in [0u64, 10, 50] {
        delay_throughput(Duration::from_millis(delay_ms), 50_000)?;
    }
    Ok(())
}

/// A tiny stand-in for anyhow, so the example needs no extra dependency.
mod anyhow_free {
    pub type Result = std::result::Result<(), Box<dyn std::error::Error>>;
}

fn build_and_teardown() -> anyhow_free::Result {
    const ROUNDS: u32 = 3;
    let mut build = Duration::ZERO;
    let mut down = Duration::ZERO;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let topo = standard::standard_topology(&unique_prefix("fig"))?;
        build += t.elapsed();
        let t = Instant::now();
        topo.down()?;
        down += t.elapsed();
    }
    println!(
        "standard topology (10 namespaces, 10 links): build {:?}, teardown {:?} (mean of {ROUNDS})",
        build / ROUNDS,
        down / ROUNDS
    );
    Ok(())
}

fn delay_throughput(delay: Duration, n: u32) -> anyhow_free::Result {
    let mut b = Topology::builder(&unique_prefix("fig"));
    b.host("a");
    b.host("b");
    let link = b.link("a", "b");
    if !delay.is_zero() {
        link.delay_from("a", delay);
    }
    let topo = b.build()?;
    let dst = SocketAddr::new(topo.node("b")?.v4().ok_or("b has no address")?.into(), 5000);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let receiver = topo.spawn_thread_in("b", move || -> std::io::Result<(Vec<u32>, Instant)> {
        let sock = UdpSocket::bind(dst)?;
        nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::RcvBufForce, &(32 << 20))
            .map_err(std::io::Error::from)?;
        sock.set_read_timeout(Some(Duration::from_secs(2)))?;
        let _ = ready_tx.send(());
        let mut seqs = Vec::with_capacity(n as usize);
        let mut buf = [0u8; 64];
        let mut last = Instant::now();
        while seqs.len() < n as usize {
            match sock.recv(&mut buf) {
                Ok(4) => {
                    seqs.push(u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]));
                    last = Instant::now();
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok((seqs, last))
    })?;
    ready_rx.recv()?;
    let start = Instant::now();
    topo.run_in("a", move || -> std::io::Result<()> {
        let sock = UdpSocket::bind("0.0.0.0:0")?;
        // Queued packets stay charged to the sending socket: a big send buffer lets the
        // engine, not the sender, set the pace.
        nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::SndBufForce, &(32 << 20))
            .map_err(std::io::Error::from)?;
        for seq in 0..n {
            sock.send_to(&seq.to_be_bytes(), dst)?;
        }
        Ok(())
    })??;
    let sent = start.elapsed();
    let (seqs, last) = receiver.join().map_err(|_| "receiver panicked")???;
    let stats = topo.down()?;
    let reordered = seqs.windows(2).filter(|w| w[0] > w[1]).count();
    let span = last.saturating_duration_since(start);
    println!(
        "delay {:>3} ms: sent {n} in {sent:.2?} ({:.0}/s), received {} ({:.0}/s over {span:.2?}), \
         lost {}, reordered {reordered}, engine {:?}",
        delay.as_millis(),
        f64::from(n) / sent.as_secs_f64(),
        seqs.len(),
        seqs.len() as f64 / span.as_secs_f64(),
        n as usize - seqs.len(),
        stats.first()
    );
    Ok(())
}
