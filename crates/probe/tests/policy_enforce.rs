//! The probe enforces a VP policy on its control socket: a command the policy refuses is
//! answered `ERR command not accepted: policy: ...` (naming the rule) and never reaches the
//! prober; an allowed one runs. The prober lives in a fresh network namespace and pings
//! only its 127.0.0.1; the test skips (passes with a note) when not root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{pings, policy_server, session, skip_without_netns};
use vantage_policy::Policy;
use vantage_probe::{Prober, ProberConfig};

const POLICY: &str = "[measurements]\ntypes = [\"ping\"]\n[measurements.ping]\n\
                      methods = [\"icmp-echo\"]\n[destinations]\nallow = [\"127.0.0.0/8\"]\n";

#[test]
fn a_policy_refuses_what_it_forbids_and_runs_what_it_allows() {
    if skip_without_netns() {
        return;
    }
    let policy = Arc::new(Policy::from_toml(POLICY, "text", None).unwrap());
    // The prober's thread starts in the (fresh, lo up) namespace of the thread spawning it.
    let (handle, results) = vantage_sys::netns::in_new_netns(|| {
        let (handle, results, _t) = Prober::spawn(ProberConfig::with_pps(1000)).unwrap();
        (handle, results)
    })
    .unwrap();
    let server = policy_server(handle, results, 1000, policy);
    let (replies, records) = session(
        &server,
        "get pps\nset pps 5000\nattach\ntrace 127.0.0.1\nping -P udp 127.0.0.1\n\
         ping -c 1 127.0.0.1\ndone\n",
    );
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
    let pings = pings(&records);
    assert_eq!(pings.len(), 1, "only the allowed ping ran: {records:?}");
    assert_eq!(pings[0].dst.to_string(), "127.0.0.1");
    assert_eq!(pings[0].replies.len(), 1, "{:?}", pings[0]);
}
