//! Figures for the controller (ignored tests: `bench/controller.sh` runs them
//! in release): the relay's command and result rates through the mux to one
//! VP, and the delay a synchronous ping adds beyond one controller <-> VP round
//! trip on a delayed link (with TCP_NODELAY checked on the link's sockets).
//! They print numbers; their assertions are about behaviour only (every
//! result arrives, NODELAY is set). Loopback and unix sockets only.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{Env, FakeVp, VpOpts, WAIT, ping, result, wait_vps};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vantage_client::{Event, Outcome};

/// `VANTAGE_BENCH_<name>` from the environment, or `default`.
fn knob(name: &str, default: u64) -> u64 {
    std::env::var(format!("VANTAGE_BENCH_{name}"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore = "a figure: commands/s and results/s through the mux to one VP (run in release: bench/controller.sh)"]
fn relay_rates() {
    let n = knob("RELAY_N", 50_000);
    let env = Env::plaintext(Duration::from_secs(60), None);
    let vp = env.vp(VpOpts::named("fast"));
    vp.established();
    let c = env.client();
    wait_vps(&c, 1);
    let ch = c.open(c.vps()[0].id).unwrap();
    // Warm up: the channel is open and answering.
    ch.send("ping 192.0.2.1").unwrap();
    result(ch.next_result(Some(WAIT)).unwrap());

    let start = Instant::now();
    for i in 0..n {
        ch.submit(&format!(
            "ping 10.{}.{}.{}",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        ))
        .unwrap();
    }
    let submitted = start.elapsed();
    let (mut accepted, mut results) = (0, 0);
    let (mut last_accept, mut last_result) = (Duration::ZERO, Duration::ZERO);
    while results < n {
        match ch.next_event(Some(WAIT)).expect("relay stalled") {
            Event::Accepted { .. } => {
                accepted += 1;
                last_accept = start.elapsed();
            }
            Event::Outcome(Outcome::Result(r)) => {
                assert!(r.task.is_some(), "result attributed to its task");
                results += 1;
                last_result = start.elapsed();
            }
            Event::Outcome(Outcome::Failed(f)) => panic!("task failed: {f:?}"),
            Event::Ended(e) => panic!("channel ended: {e:?}"),
            Event::More | Event::Meta(_) => {}
        }
    }
    assert_eq!(accepted, n, "every command accepted");
    #[allow(clippy::cast_precision_loss)]
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    eprintln!(
        "FIGURE relay: {n} ping commands to one fake VP over one channel (client, mux, controller and fake VP in this process, 2 cores):"
    );
    eprintln!(
        "FIGURE relay: submitted in {:.3} s; last accepted at {:.3} s = {:.0} commands/s; last result at {:.3} s = {:.0} results/s",
        submitted.as_secs_f64(),
        last_accept.as_secs_f64(),
        rate(last_accept),
        last_result.as_secs_f64(),
        rate(last_result)
    );
}

/// A TCP proxy on loopback that holds every chunk `delay` before forwarding
/// it (each direction), with std threads: tokio's timer has 1 ms steps.
/// Records how late each chunk really left (beyond `delay`).
struct DelayProxy {
    addr: SocketAddr,
    late: Arc<Mutex<Vec<Duration>>>,
    /// The proxy's connection to the target (local port), once made.
    upstream_port: Arc<Mutex<Option<u16>>>,
}

impl DelayProxy {
    fn start(target: SocketAddr, delay: Duration) -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let late = Arc::new(Mutex::new(Vec::new()));
        let upstream_port = Arc::new(Mutex::new(None));
        let (lt, up) = (Arc::clone(&late), Arc::clone(&upstream_port));
        std::thread::spawn(move || {
            for a in l.incoming() {
                let Ok(a) = a else { return };
                let Ok(b) = TcpStream::connect(target) else {
                    return;
                };
                a.set_nodelay(true).unwrap();
                b.set_nodelay(true).unwrap();
                *up.lock().unwrap() = Some(b.local_addr().unwrap().port());
                pump(a.try_clone().unwrap(), b.try_clone().unwrap(), delay, &lt);
                pump(b, a, delay, &lt);
            }
        });
        Self {
            addr,
            late,
            upstream_port,
        }
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration, late: &Arc<Mutex<Vec<Duration>>>) {
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx
                        .send((Instant::now() + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    let late = Arc::clone(late);
    std::thread::spawn(move || {
        while let Ok((at, bytes)) = rx.recv() {
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            late.lock()
                .unwrap()
                .push(Instant::now().saturating_duration_since(at));
            if to.write_all(&bytes).is_err() {
                let _ = to.shutdown(std::net::Shutdown::Both);
                return;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

/// The fd number, in this process, of the TCP socket from `local` to
/// `remote` (both on 127.0.0.1), found through /proc.
fn socket_fd(local: u16, remote: u16) -> Option<RawFd> {
    let tcp = std::fs::read_to_string("/proc/self/net/tcp").ok()?;
    let want = (
        format!("0100007F:{local:04X}"),
        format!("0100007F:{remote:04X}"),
    );
    let inode = tcp.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 9 && f[1] == want.0 && f[2] == want.1).then(|| f[9].to_owned())
    })?;
    let link = format!("socket:[{inode}]");
    std::fs::read_dir("/proc/self/fd").ok()?.find_map(|e| {
        let e = e.ok()?;
        (std::fs::read_link(e.path()).ok()?.to_str()? == link)
            .then(|| e.file_name().to_str()?.parse().ok())
            .flatten()
    })
}

/// TCP_NODELAY of fd `fd` in this process (a duplicate through pidfd_getfd,
/// so that no unsafe fd borrowing is needed).
fn nodelay(fd: RawFd) -> bool {
    use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};
    let pidfd = pidfd_open(getpid(), PidfdFlags::empty()).unwrap();
    let dup = pidfd_getfd(&pidfd, fd, PidfdGetfdFlags::empty()).unwrap();
    rustix::net::sockopt::tcp_nodelay(&dup).unwrap()
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// `samples` synchronous pings (send, wait for the acceptance, wait for the
/// result) on a new channel to the VP named `name`; their durations, sorted.
fn sync_pings(env: &Env, name: &str, samples: usize) -> Vec<Duration> {
    let c = env.client();
    wait_vps(&c, 1);
    let ch = c.open(c.find_vp(name).unwrap().id).unwrap();
    let mut times = Vec::new();
    for i in 0..samples + 5 {
        let dst = format!("192.0.2.{}", i % 250 + 1);
        let t0 = Instant::now();
        ch.send(&format!("ping {dst}")).unwrap();
        let r = result(ch.next_result(Some(WAIT)).unwrap());
        let dt = t0.elapsed();
        assert_eq!(ping(&r).dst.to_string(), dst);
        if i >= 5 {
            times.push(dt);
        }
    }
    times.sort();
    times
}

#[test]
#[ignore = "a figure: the delay a synchronous ping adds beyond one controller <-> VP round trip (run in release: bench/controller.sh)"]
fn sync_ping_overhead() {
    let d = Duration::from_micros(knob("DELAY_US", 5_000));
    #[allow(clippy::cast_possible_truncation)]
    let samples = knob("SAMPLES", 50) as usize;
    let env = Env::plaintext(Duration::from_secs(60), None);

    // Baseline: the VP straight on loopback.
    let direct = env.vp(VpOpts::named("direct"));
    direct.established();
    let base = sync_pings(&env, "direct", samples);
    direct.kill();

    // The VP behind the proxy: every byte between it and the controller waits
    // `d` each way, so a command's round trip to the VP costs 2d.
    let proxy = DelayProxy::start(env.addr, d);
    let vp: FakeVp = FakeVp::spawn(env.rt(), proxy.addr, VpOpts::named("delayed"));
    vp.established();
    let c = env.client();
    // Wait for the direct VP to depart or be listed as a zombie: find by name.
    let deadline = Instant::now() + WAIT;
    while c.find_vp("delayed").is_none() {
        assert!(Instant::now() < deadline, "delayed VP not listed");
        let _ = c.next_vp_event(Some(Duration::from_millis(100)));
    }
    let times = sync_pings(&env, "delayed", samples);

    // TCP_NODELAY on the link's sockets in this process: the controller's
    // side (accepted from the proxy) and the fake VP's side (to the proxy).
    let up = proxy
        .upstream_port
        .lock()
        .unwrap()
        .expect("proxy connected");
    let ctl_fd = socket_fd(env.addr.port(), up).expect("controller's socket for the VP link");
    assert!(nodelay(ctl_fd), "controller's VP socket has TCP_NODELAY");
    let vp_fd = std::fs::read_to_string("/proc/self/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let remote = format!("0100007F:{:04X}", proxy.addr.port());
            (f.len() > 2 && f[2] == remote)
                .then(|| u16::from_str_radix(f[1].rsplit(':').next().unwrap(), 16).unwrap())
        })
        .and_then(|local| socket_fd(local, proxy.addr.port()))
        .expect("fake VP's socket to the proxy");
    assert!(nodelay(vp_fd), "fake VP's socket has TCP_NODELAY");

    let mut late = proxy.late.lock().unwrap().clone();
    late.sort();
    let over = |t: Duration| t.saturating_sub(2 * d);
    eprintln!(
        "FIGURE sync ping, VP on loopback: median {:.3} ms, p90 {:.3} ms ({samples} samples)",
        percentile(&base, 50).as_secs_f64() * 1e3,
        percentile(&base, 90).as_secs_f64() * 1e3,
    );
    eprintln!(
        "FIGURE sync ping, VP behind a {:.1} ms each-way proxy: median {:.3} ms, p90 {:.3} ms; overhead beyond 2 x {:.1} ms: median {:.3} ms, p90 {:.3} ms",
        d.as_secs_f64() * 1e3,
        percentile(&times, 50).as_secs_f64() * 1e3,
        percentile(&times, 90).as_secs_f64() * 1e3,
        d.as_secs_f64() * 1e3,
        over(percentile(&times, 50)).as_secs_f64() * 1e3,
        over(percentile(&times, 90)).as_secs_f64() * 1e3,
    );
    eprintln!(
        "FIGURE the proxy itself forwards late by median {:.3} ms, p90 {:.3} ms per hop (thread wake-up; included in the overhead above, twice)",
        percentile(&late, 50).as_secs_f64() * 1e3,
        percentile(&late, 90).as_secs_f64() * 1e3,
    );
    eprintln!("FIGURE TCP_NODELAY: set on the controller's VP socket and on the fake VP's socket");
    drop(vp);
}
