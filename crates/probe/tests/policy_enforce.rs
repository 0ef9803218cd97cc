//! The probe enforces a VP policy on its control socket: a command the policy refuses is
//! answered `ERR command not accepted: policy: ...` (naming the rule) and never reaches the
//! prober; an allowed one runs. The prober lives in a fresh network namespace and pings
//! only its 127.0.0.1; the test skips (passes with a note) when not root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use vantage_model::Record;
use vantage_policy::Policy;
use vantage_probe::{ControlServer, Prober, ProberConfig};

const POLICY: &str = "[measurements]\ntypes = [\"ping\"]\n[measurements.ping]\n\
                      methods = [\"icmp-echo\"]\n[destinations]\nallow = [\"127.0.0.0/8\"]\n";

fn is_root() -> bool {
    let has = |c| caps::has_cap(None, caps::CapSet::Effective, c).unwrap_or(false);
    has(caps::Capability::CAP_NET_RAW) && has(caps::Capability::CAP_SYS_ADMIN)
}

/// Splits a session's output into its protocol lines (DATA payloads left out) and the
/// records of its DATA payloads, in order.
fn parse(all: &[u8]) -> (Vec<String>, Vec<Record>) {
    let mut dec = vantage_warts::Decoder::new();
    let mut rest = all;
    let mut lines = Vec::new();
    let mut records = Vec::new();
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let line = std::str::from_utf8(&rest[..nl]).unwrap().to_owned();
        rest = &rest[nl + 1..];
        if let Some(h) = line.strip_prefix("DATA ") {
            let len: usize = h.split(' ').next().unwrap().parse().unwrap();
            dec.push(&vantage_proto::control::uu::decode(&rest[..len]).unwrap());
            rest = &rest[len..];
            while let Some(r) = dec.next_record().unwrap() {
                records.push(r);
            }
        }
        lines.push(line);
    }
    (lines, records)
}

#[test]
fn a_policy_refuses_what_it_forbids_and_runs_what_it_allows() {
    if !is_root() {
        eprintln!("skipped: needs root (a network namespace and raw sockets)");
        return;
    }
    let policy = Arc::new(Policy::from_toml(POLICY, "text", None).unwrap());
    // The prober's thread starts in the (fresh, lo up) namespace of the thread spawning it.
    let (handle, results) = vantage_sys::netns::in_new_netns(|| {
        let (handle, results, _t) = Prober::spawn(ProberConfig::with_pps(1000)).unwrap();
        (handle, results)
    })
    .unwrap();
    let server = ControlServer::new(handle, results, 1000)
        .unwrap()
        .with_policy(policy)
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        rt.block_on(async move {
            let a = tokio::net::UnixStream::from_std(a).unwrap();
            server.serve_stream(a, "pair:0".into()).await
        })
    });
    b.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut w = b.try_clone().unwrap();
    w.write_all(
        b"get pps\nset pps 5000\nattach\ntrace 127.0.0.1\nping -P udp 127.0.0.1\n\
          ping -c 1 127.0.0.1\ndone\n",
    )
    .unwrap();
    let mut all = Vec::new();
    BufReader::new(b).read_to_end(&mut all).unwrap();
    let (lines, records) = parse(&all);
    let replies: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| !l.starts_with("DATA ") && *l != "MORE")
        .collect();
    // The policy's rate.pps (100 by default) caps the probe's 1000 and any `set pps`.
    assert_eq!(replies[0], "OK pps 100", "{replies:?}");
    assert_eq!(replies[1], "OK pps 100", "{replies:?}");
    assert_eq!(replies[2], "OK", "{replies:?}");
    assert!(
        replies[3].starts_with("ERR command not accepted: policy: ")
            && replies[3].contains("measurements.types"),
        "{replies:?}"
    );
    assert!(
        replies[4].starts_with("ERR command not accepted: policy: ")
            && replies[4].contains("measurements.ping.methods"),
        "{replies:?}"
    );
    assert_eq!(replies[5], "OK id-1", "{replies:?}");
    assert_eq!(replies[6], "OK", "{replies:?}");
    let pings: Vec<_> = records
        .iter()
        .filter_map(|r| match r {
            Record::Ping(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(pings.len(), 1, "only the allowed ping ran: {records:?}");
    assert_eq!(pings[0].dst.to_string(), "127.0.0.1");
    assert_eq!(pings[0].replies.len(), 1, "{:?}", pings[0]);
}
