//! The emulated Internet: network namespaces, veth links, routers, user-space delay,
//! services, and the `vantage testbed up|status|down` machinery.
//!
//! Two layers:
//!
//! * **Topologies for tests.** A [`TopologyBuilder`] describes hosts and routers, the
//!   links between them (veth pairs with IPv4 and IPv6 addresses from 10.0.0.0/8 and
//!   fd00::/8, only ever inside the testbed's own namespaces), static and equal-cost
//!   multipath routes, per-link delay and per-node behaviours (no ICMP time exceeded, ICMP
//!   rate limits, drop everything, MPLS label stacks on time exceeded).
//!   [`TopologyBuilder::build`] returns a [`Topology`] handle that runs commands,
//!   processes and Rust closures inside nodes, looks up addresses, and deletes everything
//!   it made when dropped, also when a test panics. [`standard`] is the small topology of
//!   the prober's tests; [`internet::internet_topology`] is the emulated Internet (five
//!   VPs around the world, a routed core, targets) without services.
//! * **Persistent testbeds for people.** [`persistent::up`] builds the emulated Internet
//!   under a prefix with its services (`nsd` on two nameservers, `nginx` with HTTP/1.1,
//!   HTTP/2 and TLS, a UDP echo), a VP metadata file and commands started per node
//!   (hooks: `vantage controller`, `vantage probe`), and returns, leaving it running; the
//!   engines then live in a helper process ([`daemon`]). [`persistent::status`] and
//!   [`persistent::down`] look at and remove it, also after a failed `up` or killed
//!   processes. `examples/testbed.rs` is a command-line front end; `docs/testbed.md` the
//!   user's guide.
//!
//! ```no_run
//! use vantage_testbed::{standard, unique_prefix};
//!
//! let topo = standard::standard_topology(&unique_prefix("vt"))?;
//! let out = topo.exec("vp", &["ping", "-c", "1", &standard::addr::TARGET_V4.to_string()])?;
//! assert!(out.success());
//! # Ok::<(), vantage_testbed::Error>(())
//! ```
//!
//! How it works: namespaces, veth pairs, addresses and routes are made with `ip`
//! (iproute2); sysctls are written from a thread that joined the namespace; firewall
//! rules are loaded with `iptables-restore` / `ip6tables-restore`; link delay, since this
//! kernel has no `netem`, is an NFQUEUE rule plus the [`delay`] engine, and MPLS
//! extensions an NFQUEUE rule on the router's own time-exceeded messages plus the
//! [`mpls`] rewriter; both speak the nfnetlink-queue protocol themselves ([`nfqueue`]).
//! Namespaces are named `PREFIX-NODE`, so testbeds with different prefixes coexist.
//!
//! What it is not: not a packet simulator (real kernels forward every packet), not a
//! general network manager (it assumes it owns the namespaces of its prefix), and not
//! usable without root (CAP_NET_ADMIN). It needs the Debian packages `iproute2` and
//! `iptables`; persistent testbeds also `nsd`, `nginx` and `openssl`. It has no `unsafe`
//! code: syscalls go through `nix`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod builder;
pub mod daemon;
pub mod delay;
pub mod internet;
pub mod mpls;
pub mod netns;
pub mod nfqueue;
pub mod persistent;
pub mod prefix;
pub mod process;
mod queue;
mod routing;
pub mod services;
pub mod standard;
pub mod topology;

pub use builder::{
    Endpoint, IcmpRateLimit, Interface, LinkInfo, LinkSpec, NextHop, NodeInfo, NodeKind, NodeSpec,
    Route, TopologyBuilder,
};
pub use delay::{DelayConfig, DelayEngine, DelayError, DelayStats};
pub use mpls::{MplsConfig, MplsEngine, MplsStats};
pub use netns::{NetnsError, down, down_stale, is_root, unique_prefix};
pub use prefix::{IpPrefix, PrefixError};
pub use process::{CommandOutput, ProcessGuard};
pub use queue::{EngineError, StopSignal, Stopper, stop_channel};
pub use standard::{StandardOptions, standard_topology, standard_topology_with};
pub use topology::{EngineSpec, IfStats, Topology};

/// Why a testbed operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The description is inconsistent; the reason says what to change.
    #[error("invalid topology `{prefix}`: {reason}")]
    Invalid {
        /// The testbed prefix.
        prefix: String,
        /// What is wrong.
        reason: String,
    },
    /// A namespace or tool operation failed.
    #[error(transparent)]
    Netns(#[from] NetnsError),
    /// A delay engine failed.
    #[error(transparent)]
    Delay(#[from] DelayError),
    /// Namespaces of this prefix exist already.
    #[error(
        "namespaces of testbed `{prefix}` already exist ({names}); remove them with \
         `vantage_testbed::down(\"{prefix}\")` (or `ip netns del NAME`), or pick another prefix"
    )]
    Leftovers {
        /// The testbed prefix.
        prefix: String,
        /// The namespaces found.
        names: String,
    },
    /// No node of that name.
    #[error("testbed `{prefix}` has no node `{node}`")]
    UnknownNode {
        /// The testbed prefix.
        prefix: String,
        /// The name asked for.
        node: String,
    },
    /// No link of that name.
    #[error(
        "testbed `{prefix}` has no link `{link}` (links are named `A-B` unless named explicitly)"
    )]
    UnknownLink {
        /// The testbed prefix.
        prefix: String,
        /// The name asked for.
        link: String,
    },
    /// No link between two nodes.
    #[error("testbed `{prefix}` has no link between `{a}` and `{b}`")]
    NoLinkBetween {
        /// The testbed prefix.
        prefix: String,
        /// One node.
        a: String,
        /// The other.
        b: String,
    },
    /// A node is not an end of a link.
    #[error("node `{node}` is not an end of link `{link}`")]
    NotOnLink {
        /// The node.
        node: String,
        /// The link.
        link: String,
    },
    /// An empty command line.
    #[error("no command given to run in node `{0}`")]
    NoCommand(String),
    /// Interfaces that never got carrier.
    #[error("interfaces did not come up: {0}")]
    NotUp(String),
    /// Building a testbed needs root.
    #[error("building a testbed needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); run as root")]
    NotRoot,
    /// A file or directory of the testbed's state could not be written or read.
    #[error("testbed state `{path}`: {source}")]
    State {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The state directory of this prefix exists already.
    #[error(
        "testbed `{prefix}` exists already ({path}); check it with `status`, remove it with \
         `down {prefix}`, or pick another prefix"
    )]
    Exists {
        /// The testbed prefix.
        prefix: String,
        /// Its state directory.
        path: String,
    },
    /// The helper process (delay and MPLS engines, UDP echo) did not start.
    #[error("the testbed helper process failed: {0}")]
    Daemon(String),
    /// A service (nsd, nginx) did not start.
    #[error("service `{name}` did not start: {reason}")]
    Service {
        /// The service.
        name: String,
        /// What happened.
        reason: String,
    },
    /// A hook is invalid or could not start.
    #[error("hook `{name}`: {reason}")]
    Hook {
        /// The hook's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Interface counters could not be read.
    #[error("cannot read the counters of `{ifname}` in node `{node}`: {reason}")]
    Stats {
        /// The node.
        node: String,
        /// The interface.
        ifname: String,
        /// What went wrong.
        reason: String,
    },
}

/// Fuzz entry points (used by `fuzz/fuzz_targets/` and by the corpus replay test).
#[doc(hidden)]
pub mod fuzzing {
    use crate::{mpls, nfqueue};
    use vantage_wire::{icmpv4, icmpv6};

    /// Rewrites `data` (an IP packet from the kernel) with an MPLS label stack. Whatever
    /// the bytes, nothing panics; a rewritten packet has valid lengths and checksums,
    /// carries the labels, and is left alone by a second pass.
    pub fn mpls_rewrite(data: &[u8]) {
        let labels = mpls::label_stack(&[18_005, 24_001], 1);
        let Some(out) = mpls::add_mpls_extension(data, &labels) else {
            return;
        };
        assert!(mpls::add_mpls_extension(&out, &labels).is_none());
        let ext = if out[0] >> 4 == 4 {
            let ip = vantage_wire::ipv4::Packet::new_checked(&out[..]).expect("IPv4 header");
            assert!(ip.verify_checksum(), "IPv4 checksum");
            assert_eq!(usize::from(ip.total_len()), out.len());
            let icmp = icmpv4::Packet::new_checked(&out[ip.header_len()..]).expect("ICMP");
            assert!(icmp.verify_checksum(), "ICMP checksum");
            assert!(out.len() <= 576 || icmp.quote_and_extensions().0.len() == 128);
            icmp.quote_and_extensions().1.map(|e| e.as_bytes().to_vec())
        } else {
            let ip = vantage_wire::ipv6::Packet::new_checked(&out[..]).expect("IPv6 header");
            assert_eq!(usize::from(ip.payload_len()) + 40, out.len());
            let icmp = icmpv6::Packet::new_checked(&out[40..]).expect("ICMPv6");
            assert!(
                icmp.verify_checksum(ip.src_addr(), ip.dst_addr()),
                "ICMPv6 checksum"
            );
            icmp.quote_and_extensions().1.map(|e| e.as_bytes().to_vec())
        };
        let ext = ext.expect("no extension structure after the rewrite");
        let ext = vantage_wire::icmp_ext::Extensions::new_checked(&ext).expect("extension");
        assert!(ext.verify_checksum());
        let entries: Vec<_> = ext
            .objects()
            .filter_map(Result::ok)
            .filter_map(|o| o.mpls_entries().map(Iterator::collect::<Vec<_>>))
            .flatten()
            .collect();
        assert_eq!(entries, labels);
    }

    /// Parses `data` as a netlink datagram from the NFQUEUE subsystem; every message that
    /// parses must survive emit -> parse unchanged.
    pub fn nfqueue_messages(data: &[u8]) {
        for item in nfqueue::parse(data) {
            let Ok((hdr, msg)) = item else { break };
            let mut buf = Vec::new();
            nfqueue::emit(&msg, hdr, &mut buf);
            let again: Vec<_> = nfqueue::parse(&buf).collect();
            assert_eq!(again, vec![Ok((hdr, msg))], "emit -> parse changed {msg:?}");
        }
    }
}

#[cfg(test)]
mod fuzz_corpus {
    use std::path::Path;

    /// Replays every file of `fuzz/corpus/testbed_mpls/` (IP packets captured in a
    /// testbed) through the fuzz body; the named time-exceeded seeds must be rewritten.
    #[test]
    fn replay_mpls_corpus() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/testbed_mpls");
        let labels = crate::mpls::label_stack(&[18_005, 24_001], 1);
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            crate::fuzzing::mpls_rewrite(&data);
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("time-exceeded-") {
                assert!(
                    crate::mpls::add_mpls_extension(&data, &labels).is_some(),
                    "{name} was not rewritten"
                );
            }
            if name.starts_with("with-mpls-") || name.starts_with("echo-") {
                assert!(
                    crate::mpls::add_mpls_extension(&data, &labels).is_none(),
                    "{name}"
                );
            }
            count += 1;
        }
        assert!(
            count >= 4,
            "corpus at {} has only {count} files",
            dir.display()
        );
    }

    /// Replays every file of `fuzz/corpus/testbed_nfqueue/` (datagrams captured from the
    /// kernel) through the fuzz body, and checks that each one decodes cleanly.
    #[test]
    fn replay_nfqueue_corpus() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/testbed_nfqueue");
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            crate::fuzzing::nfqueue_messages(&data);
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            // libFuzzer names what it adds by content hash; the named seeds are real
            // kernel datagrams and must decode without error.
            let is_hash = name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit());
            if !is_hash && !name.starts_with("crash-") {
                for item in crate::nfqueue::parse(&data) {
                    assert!(item.is_ok(), "{name}: {item:?}");
                }
            }
            count += 1;
        }
        assert!(
            count >= 5,
            "corpus at {} has only {count} files",
            dir.display()
        );
    }
}
