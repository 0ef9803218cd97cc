//! The ready-made topology of the prober's integration tests.
//!
//! ```text
//!                                      +-- r3a --+
//!   vp ---- r1 ---- r2 ---(ECMP)-------+         +---- r4 ---- target
//!                    |                 +-- r3b --+      |
//!                    |                                  +---- blackhole (drops all)
//!                    +---- silent (no TTL exceeded) ---- behind
//! ```
//!
//! | link | # | IPv4 subnet | IPv6 subnet | `.1` / `::1` | `.2` / `::2` |
//! |---|---|---|---|---|---|
//! | `vp-r1` (access, optional delay) | 0 | 10.0.0.0/24 | fd00::/64 | vp | r1 |
//! | `r1-r2` | 1 | 10.0.1.0/24 | fd00:0:1::/64 | r1 | r2 |
//! | `r2-r3a` | 2 | 10.0.2.0/24 | fd00:0:2::/64 | r2 | r3a |
//! | `r2-r3b` | 3 | 10.0.3.0/24 | fd00:0:3::/64 | r2 | r3b |
//! | `r3a-r4` | 4 | 10.0.4.0/24 | fd00:0:4::/64 | r3a | r4 |
//! | `r3b-r4` | 5 | 10.0.5.0/24 | fd00:0:5::/64 | r3b | r4 |
//! | `r4-target` | 6 | 10.0.6.0/24 | fd00:0:6::/64 | r4 | target |
//! | `r2-silent` | 7 | 10.0.7.0/24 | fd00:0:7::/64 | r2 | silent |
//! | `silent-behind` | 8 | 10.0.8.0/24 | fd00:0:8::/64 | silent | behind |
//! | `r4-blackhole` | 9 | 10.0.9.0/24 | fd00:0:9::/64 | r4 | blackhole |
//!
//! Routing is automatic: r2 reaches r4's side over both r3a and r3b and r4 reaches r2's
//! side over both (ECMP, hashed on addresses and L4 ports), everything else has one path.
//! An IPv4 ICMP error carries the address of the interface the probe came in on, so a
//! traceroute from vp to target sees, hop by hop: 10.0.0.2, 10.0.1.2, 10.0.2.2 or
//! 10.0.3.2, 10.0.4.2 or 10.0.5.2, then 10.0.6.2 ([`addr::HOPS_V4_TO_TARGET`]). IPv6
//! errors carry the address of the interface the error leaves by, which is the same
//! except at r4, whose way back is itself ECMP (either r4 address may appear).

use std::time::Duration;

use crate::Error;
use crate::builder::TopologyBuilder;
use crate::topology::Topology;

/// The addresses of the standard topology (see the module table).
pub mod addr {
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// vp's IPv4 address.
    pub const VP_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    /// vp's IPv6 address.
    pub const VP_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
    /// r1 as seen from vp (IPv4).
    pub const R1_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    /// r1 as seen from vp (IPv6).
    pub const R1_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
    /// r2 as seen from r1 (IPv4).
    pub const R2_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
    /// r2 as seen from r1 (IPv6).
    pub const R2_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 1, 0, 0, 0, 0, 2);
    /// r3a as seen from r2 (IPv4).
    pub const R3A_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
    /// r3a as seen from r2 (IPv6).
    pub const R3A_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 2, 0, 0, 0, 0, 2);
    /// r3b as seen from r2 (IPv4).
    pub const R3B_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 3, 2);
    /// r3b as seen from r2 (IPv6).
    pub const R3B_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 3, 0, 0, 0, 0, 2);
    /// r4 as seen from r3a (IPv4).
    pub const R4_VIA_R3A_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 4, 2);
    /// r4 as seen from r3a (IPv6).
    pub const R4_VIA_R3A_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 4, 0, 0, 0, 0, 2);
    /// r4 as seen from r3b (IPv4).
    pub const R4_VIA_R3B_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 5, 2);
    /// r4 as seen from r3b (IPv6).
    pub const R4_VIA_R3B_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 5, 0, 0, 0, 0, 2);
    /// The target host (IPv4).
    pub const TARGET_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 6, 2);
    /// The target host (IPv6).
    pub const TARGET_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 6, 0, 0, 0, 0, 2);
    /// The silent router as seen from r2 (IPv4).
    pub const SILENT_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 7, 2);
    /// The silent router as seen from r2 (IPv6).
    pub const SILENT_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 7, 0, 0, 0, 0, 2);
    /// The host behind the silent router (IPv4).
    pub const BEHIND_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 8, 2);
    /// The host behind the silent router (IPv6).
    pub const BEHIND_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 8, 0, 0, 0, 0, 2);
    /// The host that drops everything (IPv4).
    pub const BLACKHOLE_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 9, 2);
    /// The host that drops everything (IPv6).
    pub const BLACKHOLE_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 9, 0, 0, 0, 0, 2);

    /// The IPv4 addresses a traceroute from vp to target may see, hop by hop (hops 3 and
    /// 4 depend on the ECMP hash of the flow).
    pub const HOPS_V4_TO_TARGET: [&[Ipv4Addr]; 5] = [
        &[R1_V4],
        &[R2_V4],
        &[R3A_V4, R3B_V4],
        &[R4_VIA_R3A_V4, R4_VIA_R3B_V4],
        &[TARGET_V4],
    ];

    /// The IPv6 addresses a traceroute from vp to target may see, hop by hop.
    pub const HOPS_V6_TO_TARGET: [&[Ipv6Addr]; 5] = [
        &[R1_V6],
        &[R2_V6],
        &[R3A_V6, R3B_V6],
        &[R4_VIA_R3A_V6, R4_VIA_R3B_V6],
        &[TARGET_V6],
    ];
}

/// Choices for the standard topology.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StandardOptions {
    /// Delay added in each direction of vp's access link (`vp-r1`).
    pub access_delay: Option<Duration>,
}

/// The standard topology's description, to build as is or to extend first.
pub fn standard_builder(prefix: &str, options: &StandardOptions) -> TopologyBuilder {
    let mut b = TopologyBuilder::new(prefix);
    b.host("vp");
    for r in ["r1", "r2", "r3a", "r3b", "r4"] {
        b.router(r);
    }
    b.router("silent").no_ttl_exceeded();
    b.host("target");
    b.host("behind");
    b.host("blackhole").drop_all();
    let access = b.link("vp", "r1");
    if let Some(d) = options.access_delay {
        access.delay(d);
    }
    b.link("r1", "r2");
    b.link("r2", "r3a");
    b.link("r2", "r3b");
    b.link("r3a", "r4");
    b.link("r3b", "r4");
    b.link("r4", "target");
    b.link("r2", "silent");
    b.link("silent", "behind");
    b.link("r4", "blackhole");
    b
}

/// Builds the standard topology with no delay.
pub fn standard_topology(prefix: &str) -> Result<Topology, Error> {
    standard_topology_with(prefix, &StandardOptions::default())
}

/// Builds the standard topology with `options`.
pub fn standard_topology_with(prefix: &str, options: &StandardOptions) -> Result<Topology, Error> {
    standard_builder(prefix, options).build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn documented_addresses_match_the_plan() {
        let plan = standard_builder("std", &StandardOptions::default())
            .plan()
            .unwrap();
        let end = |link: &str, node: &str| {
            let l = plan.links.iter().find(|l| l.name == link).unwrap();
            let e = l.end(node).unwrap();
            (e.v4, e.v6)
        };
        assert_eq!(end("vp-r1", "vp"), (addr::VP_V4, addr::VP_V6));
        assert_eq!(end("vp-r1", "r1"), (addr::R1_V4, addr::R1_V6));
        assert_eq!(end("r1-r2", "r2"), (addr::R2_V4, addr::R2_V6));
        assert_eq!(end("r2-r3a", "r3a"), (addr::R3A_V4, addr::R3A_V6));
        assert_eq!(end("r2-r3b", "r3b"), (addr::R3B_V4, addr::R3B_V6));
        assert_eq!(
            end("r3a-r4", "r4"),
            (addr::R4_VIA_R3A_V4, addr::R4_VIA_R3A_V6)
        );
        assert_eq!(
            end("r3b-r4", "r4"),
            (addr::R4_VIA_R3B_V4, addr::R4_VIA_R3B_V6)
        );
        assert_eq!(
            end("r4-target", "target"),
            (addr::TARGET_V4, addr::TARGET_V6)
        );
        assert_eq!(
            end("r2-silent", "silent"),
            (addr::SILENT_V4, addr::SILENT_V6)
        );
        assert_eq!(
            end("silent-behind", "behind"),
            (addr::BEHIND_V4, addr::BEHIND_V6)
        );
        assert_eq!(
            end("r4-blackhole", "blackhole"),
            (addr::BLACKHOLE_V4, addr::BLACKHOLE_V6)
        );
    }

    #[test]
    fn ecmp_between_r2_and_r4_only() {
        let plan = standard_builder("std", &StandardOptions::default())
            .plan()
            .unwrap();
        let routes = |node: &str| &plan.nodes.iter().find(|n| n.name == node).unwrap().routes;
        let r2 = routes("r2");
        let to_target = r2
            .iter()
            .find(|r| r.dest.contains(IpAddr::V4(addr::TARGET_V4)))
            .unwrap();
        assert_eq!(to_target.nexthops.len(), 2);
        let to_target6 = r2
            .iter()
            .find(|r| r.dest.contains(IpAddr::V6(addr::TARGET_V6)))
            .unwrap();
        assert_eq!(to_target6.nexthops.len(), 2);
        let r4 = routes("r4");
        let to_vp = r4
            .iter()
            .find(|r| r.dest.contains(IpAddr::V4(addr::VP_V4)))
            .unwrap();
        assert_eq!(to_vp.nexthops.len(), 2);
        for node in ["r1", "r3a", "r3b", "silent"] {
            assert!(routes(node).iter().all(|r| r.nexthops.len() == 1), "{node}");
        }
        let r1 = routes("r1");
        assert!(
            r1.iter()
                .any(|r| r.dest.contains(IpAddr::V4(addr::BEHIND_V4)))
        );
        // Hosts have default routes only.
        assert_eq!(routes("vp").len(), 2);
        assert!(routes("vp").iter().all(|r| r.dest.is_default()));
        // The delay option puts a queue on both ends of the access link.
        let plan = standard_builder(
            "std",
            &StandardOptions {
                access_delay: Some(Duration::from_millis(30)),
            },
        )
        .plan()
        .unwrap();
        assert_eq!(plan.delays.len(), 2);
    }
}
