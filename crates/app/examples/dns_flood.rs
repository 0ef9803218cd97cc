//! DNS queries per second that one probe sustains against nsd with no loss.
//!
//! Builds a two-host testbed (`cli` -- `srv`, network namespaces), starts nsd in `srv` with
//! a one-record zone, and in `cli` runs `host` measurements (`vantage_app::host::run_request`,
//! one UDP socket each, as the probe runs them) on one current-thread tokio runtime, paced
//! by the engine's token-bucket `Pacer` through the `Pacing` hook, at increasing rates for
//! two seconds each. It prints, per rate, what was sent and answered, and at the end the
//! highest rate with no loss. Needs root and the `nsd` package.
//!
//! ```sh
//! sudo cargo run --release -p vantage-app --example dns_flood [MAX_RATE]
//! ```

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use vantage_app::dns::{DnsRequest, rtype};
use vantage_app::{AppEnv, NoPacing, Pacing, host};
use vantage_model::HostStop;
use vantage_testbed::{Topology, is_root, unique_prefix};

/// The probe's shared budget, as the probe would wire it: the engine's pacer behind the
/// `Pacing` hook.
struct EnginePacer(Mutex<vantage_engine::Pacer>);

impl Pacing for EnginePacer {
    async fn permit(&self) {
        loop {
            let next = {
                let mut p = self
                    .0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = Instant::now();
                if p.try_acquire(now) {
                    return;
                }
                p.next_ready(now)
            };
            tokio::time::sleep_until(next.into()).await;
        }
    }
}

fn start_nsd(
    topo: &Topology,
    srv: IpAddr,
    dir: &std::path::Path,
) -> anyhow::Result<vantage_testbed::ProcessGuard> {
    std::fs::write(
        dir.join("z.zone"),
        "$ORIGIN example.test.\n$TTL 300\n\
         @ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n\
         www IN A 192.0.2.80\n",
    )?;
    let d = dir.display();
    let conf = format!(
        "server:\n  ip-address: {srv}\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"{d}\"\n\
         \x20 zonelistfile: \"{d}/zl\"\n  database: \"\"\n  pidfile: \"{d}/pid\"\n\
         \x20 xfrdfile: \"{d}/xfrd\"\n  xfrdir: \"{d}\"\n  logfile: \"{d}/log\"\n  server-count: 1\n\
         \x20 rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\n\
         remote-control:\n  control-enable: no\nzone:\n  name: example.test\n  zonefile: z.zone\n"
    );
    let conf_path = dir.join("nsd.conf");
    std::fs::write(&conf_path, conf)?;
    let conf_arg = conf_path.to_string_lossy().into_owned();
    Ok(topo.spawn("srv", &["nsd", "-d", "-c", conf_arg.as_str()])?)
}

/// Sends `rate` queries per second for `secs` seconds; returns (sent, answered, elapsed,
/// the first failure).
async fn round(server: IpAddr, rate: u32, secs: u32) -> (u32, u32, Duration, Option<String>) {
    let pacer = EnginePacer(Mutex::new(
        vantage_engine::Pacer::new(rate, vantage_engine::Pacer::default_burst(rate))
            .unwrap_or_else(|e| panic!("rate {rate}: {e}")),
    ));
    let total = rate * secs;
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for _ in 0..total {
        pacer.permit().await;
        let mut req = DnsRequest::new(server, "www.example.test", rtype::A);
        req.timeout = Duration::from_secs(2);
        tasks.push(tokio::spawn(async move {
            let run = host::run_request(&req, &AppEnv::new(NoPacing)).await;
            match run.host.stop_reason {
                HostStop::Done => None,
                s => Some(format!("{s}: {}", run.host.errmsg.unwrap_or_default())),
            }
        }));
    }
    let elapsed = start.elapsed();
    let mut answered = 0;
    let mut failure = None;
    for t in tasks {
        match t.await {
            Ok(None) => answered += 1,
            Ok(Some(f)) => {
                failure.get_or_insert(f);
            }
            Err(e) => {
                failure.get_or_insert(e.to_string());
            }
        }
    }
    (total, answered, elapsed, failure)
}

fn main() -> anyhow::Result<()> {
    if !is_root() {
        eprintln!("dns_flood needs root (it builds network namespaces)");
        return Ok(());
    }
    let max: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(64_000);
    let mut b = Topology::builder(&unique_prefix("vaf"));
    b.host("cli");
    b.host("srv");
    b.link("cli", "srv");
    let topo = b.build()?;
    let srv = IpAddr::V4(topo.addr4("srv", "cli-srv")?);
    let dir = tempfile::tempdir()?;
    let _nsd = start_nsd(&topo, srv, dir.path())?;
    let rt = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    // Wait for nsd.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ok = topo.run_in("cli", || {
            rt().map(|r| {
                r.block_on(async {
                    let mut q = DnsRequest::new(srv, "www.example.test", rtype::A);
                    q.timeout = Duration::from_millis(300);
                    host::run_request(&q, &AppEnv::new(NoPacing))
                        .await
                        .host
                        .stop_reason
                        == HostStop::Done
                })
            })
        })??;
        if ok {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "nsd did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "{:>8} {:>8} {:>8} {:>7} {:>10}",
        "rate", "sent", "answered", "loss%", "sent/s"
    );
    let mut best = 0;
    let mut rate = 1000;
    while rate <= max {
        let (sent, answered, elapsed, failure) =
            topo.run_in("cli", || rt().map(|r| r.block_on(round(srv, rate, 2))))??;
        let loss = f64::from(sent - answered) * 100.0 / f64::from(sent);
        let achieved = f64::from(sent) / elapsed.as_secs_f64();
        println!("{rate:>8} {sent:>8} {answered:>8} {loss:>7.2} {achieved:>10.0}");
        if answered == sent {
            best = rate;
        } else {
            println!("first failure: {}", failure.unwrap_or_default());
            break;
        }
        rate *= 2;
    }
    println!(
        "highest rate with no loss: {best} queries/s (one probe, one current-thread runtime, nsd with one server process)"
    );
    Ok(())
}
