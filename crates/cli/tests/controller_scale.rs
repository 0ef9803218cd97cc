//! A figure (ignored test; `bench/controller.sh` runs it in release): the
//! resident memory a `vantage controller` process spends per connected VP,
//! with 10,000 simulated plaintext VP links on loopback. Each link is a raw
//! TCP connection that sends the remote protocol's MASTER_NEW (made by
//! `vantage_proto`'s `VpLink`) and then stays open, reading what the
//! controller sends. The assertion is about behaviour: all of them are listed
//! on the mux.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use vantage_proto::remote::{Magic, VpLink};

const BIN: &str = env!("CARGO_BIN_EXE_vantage");

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(format!("VANTAGE_BENCH_{name}"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Kills the controller when the test ends, however it ends.
struct Ctl(Child);

impl Drop for Ctl {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn vm_rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// Raises RLIMIT_NOFILE (soft and, with CAP_SYS_RESOURCE, hard) to `want`, or
/// the soft limit to the hard one; the controller spawned afterwards inherits
/// it. Returns the soft limit in force.
fn raise_nofile(want: u64) -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let cur = getrlimit(Resource::Nofile);
    let hard = cur.maximum.unwrap_or(u64::MAX);
    let target = if setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(want),
            maximum: Some(want.max(hard)),
        },
    )
    .is_ok()
    {
        want
    } else {
        let soft = want.min(hard);
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(soft),
                maximum: cur.maximum,
            },
        );
        soft
    };
    getrlimit(Resource::Nofile).current.unwrap_or(target)
}

/// One simulated VP: connect, say MASTER_NEW, then read until the end.
async fn fake_vp(
    addr: std::net::SocketAddr,
    i: u32,
    greeted: Arc<AtomicUsize>,
    gate: Arc<tokio::sync::Semaphore>,
) -> Option<()> {
    let permit = gate.acquire_owned().await.unwrap();
    let mut magic = [0u8; 8];
    magic[..4].copy_from_slice(&std::process::id().to_be_bytes());
    magic[4..].copy_from_slice(&i.to_be_bytes());
    let mut link = VpLink::new(Magic::new(magic), Some(format!("vp{i}.scale.test"))).unwrap();
    link.connect(Instant::now()).unwrap();
    let mut hello = Vec::new();
    while let Some(f) = link.poll_transmit(Instant::now()) {
        f.encode_into(&mut hello).unwrap();
    }
    let s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut sent = 0;
    while sent < hello.len() {
        s.writable().await.unwrap();
        match s.try_write(&hello[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("VP {i}: write failed: {e}"),
        }
    }
    let mut buf = [0u8; 512];
    // MASTER_ID: the controller took the VP; the next handshake may start.
    while !read_some(&s, &mut buf).await? {}
    greeted.fetch_add(1, Ordering::Relaxed);
    drop(permit);
    loop {
        read_some(&s, &mut buf).await?;
    }
}

/// One read: `Some(true)` when bytes came, `Some(false)` on a spurious
/// wake-up, `None` at the end of the connection.
async fn read_some(s: &tokio::net::TcpStream, buf: &mut [u8]) -> Option<bool> {
    s.readable().await.ok()?;
    match s.try_read(buf) {
        Ok(0) => None,
        Ok(_) => Some(true),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Some(false),
        Err(_) => None,
    }
}

#[test]
#[ignore = "a figure: controller RSS per connected VP with 10,000 VP links (run in release: bench/controller.sh)"]
fn controller_rss_per_vp() {
    #[allow(clippy::cast_possible_truncation)]
    let n = knob("VPS", 10_000) as u32;
    let limit = raise_nofile(65_536);
    // Each process (this one, the controller) holds one end of every link.
    assert!(
        limit >= u64::from(n) + 500,
        "RLIMIT_NOFILE is {limit}: too low for {n} links (raising the hard limit needs CAP_SYS_RESOURCE)"
    );
    if limit < 65_536 {
        eprintln!(
            "note: RLIMIT_NOFILE raised only to {limit} (the hard limit; no CAP_SYS_RESOURCE)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let mux = dir.path().join("mux");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let ctl = Ctl(Command::new(BIN)
        .args(["controller", "--plaintext", "--listen", &listen, "--mux"])
        .arg(&mux)
        // Nothing is sent on the links for the whole test: no silence timeouts.
        .args(["--keepalive", "600s", "--silence", "1200s"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap());
    let pid = ctl.0.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    let client = loop {
        if let Ok(c) = vantage_client::MuxClient::connect(&mux) {
            break c;
        }
        assert!(
            Instant::now() < deadline,
            "the controller never opened its mux"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let nofile = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .to_owned();
    std::thread::sleep(Duration::from_millis(300));
    let before = vm_rss_kib(pid);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr: std::net::SocketAddr = listen.parse().unwrap();
    let greeted = Arc::new(AtomicUsize::new(0));
    // At most 256 handshakes in flight, so the listen backlog never overflows.
    let gate = Arc::new(tokio::sync::Semaphore::new(256));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..n {
        tasks.push(rt.spawn(fake_vp(addr, i, Arc::clone(&greeted), Arc::clone(&gate))));
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while client.vps().len() < n as usize {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} VPs listed ({} greeted)",
            client.vps().len(),
            greeted.load(Ordering::Relaxed)
        );
        let _ = client.next_vp_event(Some(Duration::from_millis(200)));
    }
    let listed_after = start.elapsed();
    assert_eq!(greeted.load(Ordering::Relaxed), n as usize);
    std::thread::sleep(Duration::from_millis(500));
    let after = vm_rss_kib(pid);
    let fds = open_fds(pid);
    // A second client sees them all at once (the VP list a new client gets).
    let t = Instant::now();
    let c2 = vantage_client::MuxClient::connect(&mux).unwrap();
    assert_eq!(c2.vps().len(), n as usize);
    let list_time = t.elapsed();
    drop(c2);

    #[allow(clippy::cast_precision_loss)]
    let per_vp = (after.saturating_sub(before)) as f64 * 1024.0 / f64::from(n);
    eprintln!("FIGURE controller fd limit: {nofile}; {fds} fds open with {n} VPs");
    eprintln!(
        "FIGURE controller VmRSS: {before} KiB before, {after} KiB with {n} VPs listed = {:.1} KB ({:.1} KiB) per VP",
        per_vp / 1000.0,
        per_vp / 1024.0
    );
    eprintln!(
        "FIGURE {n} VPs connected and listed on the mux in {:.2} s; a new mux client got the list of {n} in {:.3} s",
        listed_after.as_secs_f64(),
        list_time.as_secs_f64()
    );
    drop(client);
    drop(ctl);
    for t in tasks {
        t.abort();
    }
    rt.shutdown_background();
}
