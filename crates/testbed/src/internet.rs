//! The emulated Internet: vantage points around the world, a routed core, and targets.
//!
//! ```text
//!  vp_nz -- gw_nz --(120 ms)--+                       +-- core2a --+
//!  vp_us -- gw_us --(  2 ms)--+                       |            |
//!  vp_de -- gw_de --( 25 ms)--+-- core1 --(ECMP)------+            +-- core3 --(20 ms)-- mpls
//!  vp_jp -- gw_jp --( 80 ms)--+    |  |               |            |                     |
//!  vp_br -- gw_br --( 60 ms)--+    |  |               +-- core2b --+                (MPLS labels)
//!                                  |  +-- ns1 (near nameserver)                          |
//!                                  +-- ctrl (controller)                              silent
//!                                                                               (no time exceeded)
//!                                                                                        |
//!            target (answers pings) --+                                               ratelim
//!            web (HTTP, HTTPS, h2) ---+                                          (ICMP rate limit)
//!            udp (UDP echo, port 7) --+-- dc ------------------------------------------+
//!            dark (answers nothing) --+
//!            ns2 (far nameserver) ----+
//! ```
//!
//! Every VP sits behind its own gateway; the gateway's uplink to `core1` carries the
//! VP's access delay (the figure is the round-trip time it adds, half in each
//! direction), so a VP's first hop is close and the jump comes at hop 2, as on a long
//! international link. Between `core1` and `core3` two equal-cost paths (`core2a`,
//! `core2b`) are chosen per flow (hash of addresses and ports). The `core3`-`mpls` link is
//! a long-haul link ([`InternetOptions::core_rtt`]). `mpls` reports an RFC 4950 label
//! stack in its time-exceeded messages, `silent` sends none, and `ratelim` limits its
//! ICMP errors. Everything behind `dc` is the far side: a VP's traceroute to `target`
//! has 9 hops; `ns1` is 3 hops from every VP and `ns2` 9 hops, behind the long-haul link.
//!
//! # Address plan
//!
//! Only 10.0.0.0/8 and the ULA range fd00::/8, and only inside the testbed's namespaces
//! (every testbed has the same plan; their namespaces keep them apart). Each link is a
//! /24 and a /64; its first node (as listed) is `.1` / `::1`, the second `.2` / `::2`.
//!
//! | links | IPv4 | IPv6 | `.1` | `.2` |
//! |---|---|---|---|---|
//! | VP *i* access (1 = first VP) | 10.1.*i*.0/24 | fd00:1:*i*::/64 | VP | gateway |
//! | gateway *i* uplink (delayed) | 10.2.*i*.0/24 | fd00:2:*i*::/64 | gateway | core1 |
//! | core *n* (table below) | 10.3.*n*.0/24 | fd00:3:*n*::/64 | first | second |
//! | host *n* (table below) | 10.4.*n*.0/24 | fd00:4:*n*::/64 | router | host |
//!
//! Core links: 1 core1-core2a, 2 core1-core2b, 3 core2a-core3, 4 core2b-core3,
//! 5 core3-mpls (long haul), 6 mpls-silent, 7 silent-ratelim, 8 ratelim-dc.
//! Host links: 1 core1-ctrl, 2 core1-ns1, 3 dc-target, 4 dc-web, 5 dc-udp, 6 dc-dark,
//! 7 dc-ns2. So `ctrl` is 10.4.1.2 / fd00:4:1::2, `target` 10.4.3.2 / fd00:4:3::2 (see
//! [`addr`]), and VP *i* is 10.1.*i*.1 / fd00:1:*i*::1.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use crate::Error;
use crate::builder::{IcmpRateLimit, TopologyBuilder};
use crate::prefix::IpPrefix;
use crate::topology::Topology;

/// Fixed addresses of the emulated Internet (see the module's address plan).
pub mod addr {
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// The controller host (IPv4).
    pub const CTRL_V4: Ipv4Addr = Ipv4Addr::new(10, 4, 1, 2);
    /// The controller host (IPv6).
    pub const CTRL_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 4, 1, 0, 0, 0, 0, 2);
    /// The near nameserver `ns1` (IPv4).
    pub const NS1_V4: Ipv4Addr = Ipv4Addr::new(10, 4, 2, 2);
    /// The near nameserver `ns1` (IPv6).
    pub const NS1_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 4, 2, 0, 0, 0, 0, 2);
    /// The host that answers pings (IPv4).
    pub const TARGET_V4: Ipv4Addr = Ipv4Addr::new(10, 4, 3, 2);
    /// The host that answers pings (IPv6).
    pub const TARGET_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 4, 3, 0, 0, 0, 0, 2);
    /// The web server (IPv4).
    pub const WEB_V4: Ipv4Addr = Ipv4Addr::new(10, 4, 4, 2);
    /// The web server (IPv6).
    pub const WEB_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 4, 4, 0, 0, 0, 0, 2);
    /// The UDP echo server (IPv4).
    pub const UDP_V4: Ipv4Addr = Ipv4Addr::new(10, 4, 5, 2);
    /// The UDP echo server (IPv6).
    pub const UDP_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 4, 5, 0, 0, 0, 0, 2);
    /// The host that answers nothing (IPv4).
    pub const DARK_V4: Ipv4Addr = Ipv4Addr::new(10, 4, 6, 2);
    /// The host that answers nothing (IPv6).
    pub const DARK_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 4, 6, 0, 0, 0, 0, 2);
    /// The far nameserver `ns2` (IPv4).
    pub const NS2_V4: Ipv4Addr = Ipv4Addr::new(10, 4, 7, 2);
    /// The far nameserver `ns2` (IPv6).
    pub const NS2_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 4, 7, 0, 0, 0, 0, 2);
    /// The MPLS router as seen from core3 (IPv4; its time exceeded comes from here).
    pub const MPLS_V4: Ipv4Addr = Ipv4Addr::new(10, 3, 5, 2);
    /// The MPLS router as seen from core3 (IPv6).
    pub const MPLS_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 3, 5, 0, 0, 0, 0, 2);
    /// core1 as seen from the gateways' side is 10.2.*i*.2; core3 via core2a (IPv4).
    pub const CORE3_VIA_2A_V4: Ipv4Addr = Ipv4Addr::new(10, 3, 3, 2);
    /// core3 via core2b (IPv4).
    pub const CORE3_VIA_2B_V4: Ipv4Addr = Ipv4Addr::new(10, 3, 4, 2);
    /// The silent router as seen from mpls (IPv4).
    pub const SILENT_V4: Ipv4Addr = Ipv4Addr::new(10, 3, 6, 2);
    /// The rate-limiting router as seen from silent (IPv4).
    pub const RATELIM_V4: Ipv4Addr = Ipv4Addr::new(10, 3, 7, 2);
    /// The rate-limiting router as seen from silent (IPv6).
    pub const RATELIM_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 3, 7, 0, 0, 0, 0, 2);
    /// The data-centre router as seen from ratelim (IPv4).
    pub const DC_V4: Ipv4Addr = Ipv4Addr::new(10, 3, 8, 2);

    /// VP number `i` (1-based, in [`super::InternetOptions::vps`] order), IPv4.
    pub fn vp_v4(i: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 1, i, 1)
    }

    /// VP number `i`, IPv6.
    pub fn vp_v6(i: u8) -> Ipv6Addr {
        Ipv6Addr::new(0xfd00, 1, u16::from(i), 0, 0, 0, 0, 1)
    }

    /// VP `i`'s gateway, its first hop (IPv4).
    pub fn gw_v4(i: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 1, i, 2)
    }

    /// VP `i`'s gateway, its first hop (IPv6).
    pub fn gw_v6(i: u8) -> Ipv6Addr {
        Ipv6Addr::new(0xfd00, 1, u16::from(i), 0, 0, 0, 0, 2)
    }

    /// core1 as seen from VP `i`'s gateway, its second hop (IPv4).
    pub fn core1_v4(i: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 2, i, 2)
    }

    /// core1 as seen from VP `i`'s gateway (IPv6).
    pub fn core1_v6(i: u8) -> Ipv6Addr {
        Ipv6Addr::new(0xfd00, 2, u16::from(i), 0, 0, 0, 0, 2)
    }
}

/// The routers of the core, in path order from the VPs' side.
pub const CORE_ROUTERS: [&str; 8] = [
    "core1", "core2a", "core2b", "core3", "mpls", "silent", "ratelim", "dc",
];

/// The end hosts other than VPs: (node, host-link number, role).
pub const HOSTS: [(&str, u8, &str); 7] = [
    (
        "ctrl",
        1,
        "controller (vantage controller; VPs dial in here)",
    ),
    ("ns1", 2, "authoritative DNS, near (3 hops from every VP)"),
    ("target", 3, "answers pings, nothing else"),
    ("web", 4, "nginx: HTTP/1.1 on 80, HTTPS with HTTP/2 on 443"),
    ("udp", 5, "UDP echo on port 7"),
    ("dark", 6, "unresponsive: drops everything"),
    (
        "ns2",
        7,
        "authoritative DNS, far (9 hops, behind the long-haul link)",
    ),
];

/// One vantage point: where it is and what the controller says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct VpSpec {
    /// Node name in the testbed (1 to 12 characters from a-z, 0-9, _), e.g. `vp_nz`. Its
    /// gateway is `gw_` + the name without a leading `vp_`.
    pub node: String,
    /// Monitor name the probe announces (`[A-Za-z0-9.-]`, at most 254 characters), the
    /// key of the metadata file.
    pub name: String,
    /// Short name (metadata `shortname`).
    pub shortname: String,
    /// ISO 3166 country code, lower case (metadata `cc`).
    pub cc: String,
    /// State or region code (metadata `st`), if any.
    pub st: Option<String>,
    /// Place name (metadata `place`).
    pub place: String,
    /// Nearest airport code (metadata `iata`).
    pub iata: String,
    /// Latitude in degrees, north positive.
    pub latitude: f64,
    /// Longitude in degrees, east positive.
    pub longitude: f64,
    /// AS number of its IPv4 prefix (metadata `asn4`).
    pub asn4: u32,
    /// AS number of its IPv6 prefix (metadata `asn6`).
    pub asn6: u32,
    /// Free-form tags (metadata `tag`, one line each).
    pub tags: Vec<String>,
    /// Round-trip time its access adds (half in each direction of its gateway's uplink).
    pub access_rtt: Duration,
}

impl VpSpec {
    /// The gateway node's name: `gw_` + the node name without a leading `vp_`, cut to 12.
    pub fn gateway(&self) -> String {
        let base = self.node.strip_prefix("vp_").unwrap_or(&self.node);
        let mut g = format!("gw_{base}");
        g.truncate(crate::builder::MAX_NODE_NAME);
        g
    }
}

#[allow(clippy::too_many_arguments)]
fn vp(
    node: &str,
    short: &str,
    cc: &str,
    st: &str,
    place: &str,
    iata: &str,
    (latitude, longitude): (f64, f64),
    (asn4, asn6): (u32, u32),
    tags: &[&str],
    rtt_ms: u64,
) -> VpSpec {
    VpSpec {
        node: node.to_owned(),
        name: format!("{short}.vp.example.test"),
        shortname: short.to_owned(),
        cc: cc.to_owned(),
        st: Some(st.to_owned()),
        place: place.to_owned(),
        iata: iata.to_owned(),
        latitude,
        longitude,
        asn4,
        asn6,
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        access_rtt: Duration::from_millis(rtt_ms),
    }
}

/// The five standard VPs: Auckland, San Diego, Frankfurt, Tokyo, Sao Paulo, with
/// documentation AS numbers (RFC 5398) and access round-trip times from 2 to 120 ms.
pub fn default_vps() -> Vec<VpSpec> {
    vec![
        vp(
            "vp_nz",
            "akl-nz",
            "nz",
            "AUK",
            "Auckland",
            "AKL",
            (-36.8485, 174.7633),
            (64496, 64496),
            &["os:linux", "access:fibre", "continent:oceania"],
            120,
        ),
        vp(
            "vp_us",
            "san-us",
            "us",
            "CA",
            "San Diego",
            "SAN",
            (32.7157, -117.1611),
            (64497, 64497),
            &["os:linux", "access:datacentre", "continent:north-america"],
            2,
        ),
        vp(
            "vp_de",
            "fra-de",
            "de",
            "HE",
            "Frankfurt",
            "FRA",
            (50.1109, 8.6821),
            (64498, 64498),
            &["os:linux", "access:datacentre", "continent:europe"],
            25,
        ),
        vp(
            "vp_jp",
            "nrt-jp",
            "jp",
            "13",
            "Tokyo",
            "NRT",
            (35.6762, 139.6503),
            (64499, 65536),
            &["os:linux", "access:dsl", "continent:asia"],
            80,
        ),
        vp(
            "vp_br",
            "gru-br",
            "br",
            "SP",
            "Sao Paulo",
            "GRU",
            (-23.5505, -46.6333),
            (64500, 64500),
            &["os:linux", "access:cable", "continent:south-america"],
            60,
        ),
    ]
}

/// Choices for the emulated Internet.
#[derive(Debug, Clone, PartialEq)]
pub struct InternetOptions {
    /// The vantage points (at least one, at most 254), in address-plan order.
    pub vps: Vec<VpSpec>,
    /// Round-trip time of the long-haul `core3`-`mpls` link (zero: no delay).
    pub core_rtt: Duration,
    /// The MPLS labels `mpls` reports in its time-exceeded messages, top first (empty:
    /// a plain router).
    pub mpls_labels: Vec<u32>,
    /// How `ratelim` limits its ICMP errors.
    pub icmp_rate_limit: IcmpRateLimit,
    /// The DNS zone both nameservers serve.
    pub zone: String,
}

impl Default for InternetOptions {
    fn default() -> Self {
        Self {
            vps: default_vps(),
            core_rtt: Duration::from_millis(20),
            mpls_labels: vec![18_005, 24_001],
            icmp_rate_limit: IcmpRateLimit::per_destination(1000),
            zone: "example.test".to_owned(),
        }
    }
}

fn subnet(a: u8, b: u8) -> (IpPrefix, IpPrefix) {
    let v4 = IpAddr::V4(Ipv4Addr::new(10, a, b, 0));
    let v6 = IpAddr::V6(Ipv6Addr::new(
        0xfd00,
        u16::from(a),
        u16::from(b),
        0,
        0,
        0,
        0,
        0,
    ));
    // Both are network addresses of the right length, so neither call can fail; the
    // fallback is never used.
    (
        IpPrefix::new(v4, 24).unwrap_or(IpPrefix::DEFAULT_V4),
        IpPrefix::new(v6, 64).unwrap_or(IpPrefix::DEFAULT_V6),
    )
}

fn check_options(prefix: &str, options: &InternetOptions) -> Result<(), Error> {
    let invalid = |reason: String| Error::Invalid {
        prefix: prefix.to_owned(),
        reason,
    };
    if options.vps.is_empty() || options.vps.len() > 254 {
        return Err(invalid(format!(
            "the emulated Internet needs 1 to 254 VPs, not {}",
            options.vps.len()
        )));
    }
    for v in &options.vps {
        let ok_name = !v.name.is_empty()
            && v.name.len() <= 254
            && v.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !ok_name {
            return Err(invalid(format!(
                "VP monitor name `{}`: use 1 to 254 characters from A-Z, a-z, 0-9, . and -",
                v.name
            )));
        }
        let fields = [&v.shortname, &v.cc, &v.place, &v.iata]
            .into_iter()
            .chain(v.st.iter())
            .chain(v.tags.iter());
        for f in fields {
            if f.contains(['\n', '\r']) || f.trim().is_empty() {
                return Err(invalid(format!(
                    "VP `{}`: metadata value `{f}` is empty or spans lines",
                    v.name
                )));
            }
        }
        if !(-90.0..=90.0).contains(&v.latitude) || !(-180.0..=180.0).contains(&v.longitude) {
            return Err(invalid(format!(
                "VP `{}`: latitude/longitude {},{} out of range",
                v.name, v.latitude, v.longitude
            )));
        }
    }
    let zone_ok = !options.zone.is_empty()
        && options
            .zone
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !zone_ok {
        return Err(invalid(format!(
            "DNS zone `{}`: use dot-separated labels of letters, digits and -",
            options.zone
        )));
    }
    Ok(())
}

/// The emulated Internet's description, to build as is, extend first, or build detached.
pub fn internet_builder(prefix: &str, options: &InternetOptions) -> Result<TopologyBuilder, Error> {
    check_options(prefix, options)?;
    let mut b = TopologyBuilder::new(prefix);
    for v in &options.vps {
        b.host(&v.node);
        b.router(&v.gateway());
    }
    for r in CORE_ROUTERS {
        let spec = b.router(r);
        match r {
            "mpls" => {
                spec.mpls_labels(&options.mpls_labels);
            }
            "silent" => {
                spec.no_ttl_exceeded();
            }
            "ratelim" => {
                spec.icmp_rate_limit(options.icmp_rate_limit);
            }
            _ => {}
        }
    }
    for (host, _, _) in HOSTS {
        let spec = b.host(host);
        if host == "dark" {
            spec.drop_all();
        }
    }
    for (i, v) in options.vps.iter().enumerate() {
        let n = (i + 1) as u8;
        let (v4, v6) = subnet(1, n);
        b.link(&v.node, &v.gateway()).v4(v4).v6(v6);
        let (v4, v6) = subnet(2, n);
        let half = v.access_rtt / 2;
        b.link(&v.gateway(), "core1").v4(v4).v6(v6).delay(half);
    }
    let core = [
        ("core1", "core2a"),
        ("core1", "core2b"),
        ("core2a", "core3"),
        ("core2b", "core3"),
        ("core3", "mpls"),
        ("mpls", "silent"),
        ("silent", "ratelim"),
        ("ratelim", "dc"),
    ];
    for (n, (a, z)) in core.iter().enumerate() {
        let (v4, v6) = subnet(3, n as u8 + 1);
        let link = b.link(a, z).v4(v4).v6(v6);
        if *a == "core3" {
            link.delay(options.core_rtt / 2);
        }
    }
    for (host, n, _) in HOSTS {
        let router = if n <= 2 { "core1" } else { "dc" };
        let (v4, v6) = subnet(4, n);
        b.link(router, host).v4(v4).v6(v6);
    }
    Ok(b)
}

/// Builds the emulated Internet with its engines on this process's threads, without
/// services (no DNS, web or UDP servers; see [`crate::persistent::up`] for the whole
/// thing). Dropping the handle removes it.
pub fn internet_topology(prefix: &str, options: &InternetOptions) -> Result<Topology, Error> {
    internet_builder(prefix, options)?.build()
}

/// The VP metadata file the controller reads (`-m`; see the remote protocol spec): one
/// `MONITOR ATTRIBUTE VALUE` line per attribute, `tag` once per tag, `#` comments.
pub fn metadata_file(vps: &[VpSpec]) -> String {
    let mut s = String::from(
        "# Vantage testbed VP metadata: <monitor name> <attribute> <value>\n\
         # (written by vantage-testbed; the controller reads it with -m and on SIGHUP)\n",
    );
    for v in vps {
        let mut line = |attr: &str, value: &str| {
            let _ = writeln!(s, "{} {attr} {value}", v.name);
        };
        line("shortname", &v.shortname);
        line("asn4", &v.asn4.to_string());
        line("asn6", &v.asn6.to_string());
        line("cc", &v.cc);
        if let Some(st) = &v.st {
            line("st", st);
        }
        line("place", &v.place);
        line("iata", &v.iata);
        line("latlong", &format!("{:.4},{:.4}", v.latitude, v.longitude));
        for t in &v.tags {
            line("tag", t);
        }
    }
    s
}

/// Writes [`metadata_file`] to `path`.
pub fn write_metadata_file(path: &Path, vps: &[VpSpec]) -> std::io::Result<()> {
    std::fs::write(path, metadata_file(vps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_the_documented_plan() {
        let plan = internet_builder("inet", &InternetOptions::default())
            .unwrap()
            .plan()
            .unwrap();
        let node = |n: &str| plan.nodes.iter().find(|x| x.name == n).unwrap();
        assert_eq!(node("ctrl").v4(), Some(addr::CTRL_V4));
        assert_eq!(node("ctrl").v6(), Some(addr::CTRL_V6));
        assert_eq!(node("ns1").v4(), Some(addr::NS1_V4));
        assert_eq!(node("ns2").v6(), Some(addr::NS2_V6));
        assert_eq!(node("target").v4(), Some(addr::TARGET_V4));
        assert_eq!(node("web").v6(), Some(addr::WEB_V6));
        assert_eq!(node("udp").v4(), Some(addr::UDP_V4));
        assert_eq!(node("dark").v4(), Some(addr::DARK_V4));
        assert_eq!(node("vp_nz").v4(), Some(addr::vp_v4(1)));
        assert_eq!(node("vp_br").v6(), Some(addr::vp_v6(5)));
        let end = |link: &str, n: &str| {
            let l = plan.links.iter().find(|l| l.name == link).unwrap();
            (l.end(n).unwrap().v4, l.end(n).unwrap().v6)
        };
        assert_eq!(
            end("vp_de-gw_de", "gw_de"),
            (addr::gw_v4(3), addr::gw_v6(3))
        );
        assert_eq!(
            end("gw_jp-core1", "core1"),
            (addr::core1_v4(4), addr::core1_v6(4))
        );
        assert_eq!(end("core3-mpls", "mpls"), (addr::MPLS_V4, addr::MPLS_V6));
        assert_eq!(end("core2a-core3", "core3").0, addr::CORE3_VIA_2A_V4);
        assert_eq!(end("core2b-core3", "core3").0, addr::CORE3_VIA_2B_V4);
        assert_eq!(end("mpls-silent", "silent").0, addr::SILENT_V4);
        assert_eq!(
            end("silent-ratelim", "ratelim"),
            (addr::RATELIM_V4, addr::RATELIM_V6)
        );
        assert_eq!(end("ratelim-dc", "dc").0, addr::DC_V4);
    }

    #[test]
    fn delays_ecmp_and_behaviours() {
        let options = InternetOptions::default();
        let plan = internet_builder("inet", &options).unwrap().plan().unwrap();
        // Two delay queues per VP uplink plus two on the long-haul link.
        assert_eq!(plan.delays.len(), 2 * options.vps.len() + 2);
        let nz = plan.links.iter().find(|l| l.name == "gw_nz-core1").unwrap();
        assert_eq!(nz.ends[0].delay_out, Duration::from_millis(60));
        assert_eq!(nz.ends[1].delay_out, Duration::from_millis(60));
        let core1 = plan.nodes.iter().find(|n| n.name == "core1").unwrap();
        let to_target = core1
            .routes
            .iter()
            .find(|r| r.dest.contains(IpAddr::V4(addr::TARGET_V4)))
            .unwrap();
        assert_eq!(to_target.nexthops.len(), 2);
        assert_eq!(plan.mpls().len(), 1);
        let mpls = plan.nodes.iter().position(|n| n.name == "mpls").unwrap();
        assert!(
            plan.firewall_script(mpls, false)
                .unwrap()
                .contains("--icmp-type 11 -j NFQUEUE --queue-num 1000")
        );
        let silent = plan.nodes.iter().position(|n| n.name == "silent").unwrap();
        assert!(
            plan.firewall_script(silent, true)
                .unwrap()
                .contains("--icmpv6-type 3 -j DROP")
        );
        let ratelim = plan.nodes.iter().position(|n| n.name == "ratelim").unwrap();
        assert!(
            plan.sysctls(ratelim)
                .contains(&("net/ipv4/icmp_ratelimit".to_owned(), "1000".to_owned()))
        );
        // Access delays differ from a few ms to over 100 ms.
        let rtts: Vec<_> = options.vps.iter().map(|v| v.access_rtt).collect();
        assert!(rtts.iter().any(|r| *r <= Duration::from_millis(5)));
        assert!(rtts.iter().any(|r| *r > Duration::from_millis(100)));
    }

    #[test]
    fn metadata_file_has_every_attribute() {
        let vps = default_vps();
        let text = metadata_file(&vps);
        assert!(text.contains("akl-nz.vp.example.test asn4 64496\n"));
        assert!(text.contains("akl-nz.vp.example.test latlong -36.8485,174.7633\n"));
        assert!(text.contains("san-us.vp.example.test place San Diego\n"));
        assert!(text.contains("gru-br.vp.example.test tag continent:south-america\n"));
        assert!(text.contains("nrt-jp.vp.example.test asn6 65536\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.splitn(3, ' ').count() == 3, "{line}");
        }
        let names: std::collections::BTreeSet<_> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        assert_eq!(names.len(), 5);
    }

    #[test]
    fn bad_options_are_explained() {
        let mut o = InternetOptions::default();
        o.vps[0].name = "bad name".into();
        let err = internet_builder("inet", &o).unwrap_err().to_string();
        assert!(err.contains("monitor name"), "{err}");
        let mut o = InternetOptions::default();
        o.vps.clear();
        assert!(internet_builder("inet", &o).is_err());
        let mut o = InternetOptions::default();
        o.vps[1].place = "two\nlines".into();
        assert!(internet_builder("inet", &o).is_err());
        let o = InternetOptions {
            zone: "bad..zone".into(),
            ..InternetOptions::default()
        };
        assert!(internet_builder("inet", &o).is_err());
    }
}
