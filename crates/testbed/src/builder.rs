//! Describing a topology: nodes, links, routes and behaviours; validating the description
//! and turning it into a plan (addresses, routes, sysctls, `ip` and `iptables` scripts)
//! without touching the system.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::Error;
use crate::netns;
use crate::prefix::{IpPrefix, link_prefixes};
use crate::routing::Graph;
use crate::topology::{EngineSpec, Topology};

/// Longest node name accepted (interface names are `to-NODE`, at most 15 bytes).
pub const MAX_NODE_NAME: usize = 12;

/// Whether a node forwards packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// An end host: IPv4 and IPv6 forwarding off.
    Host,
    /// A Linux router: IPv4 and IPv6 forwarding on.
    Router,
}

/// ICMP error rate limiting on a node (Linux's own limiter, set through sysctls).
///
/// Linux limits ICMP errors per destination with a token bucket (one message per
/// `per_destination_ms`, bursts of up to six) and, on top, for the whole namespace
/// (`messages_per_sec`, bursts of `burst`). Which ICMP types are limited is the kernel's
/// default mask: destination unreachable, source quench, time exceeded, parameter problem
/// (IPv4) and every error type (IPv6). For IPv6 the kernel shortens the per-destination
/// gap when the route back to the destination is shorter than /128 (a quarter for a /64
/// route, a sixteenth for a default route), so IPv6 allows more than the figure says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpRateLimit {
    /// Minimum gap between errors to one destination, in ms (`icmp_ratelimit`).
    pub per_destination_ms: u32,
    /// Errors per second for the whole node (`icmp_msgs_per_sec`).
    pub messages_per_sec: u32,
    /// Burst allowance of the node-wide limit (`icmp_msgs_burst`).
    pub burst: u32,
}

impl IcmpRateLimit {
    /// Limits per destination only (the node-wide limit stays out of the way).
    pub fn per_destination(ms: u32) -> Self {
        Self {
            per_destination_ms: ms,
            messages_per_sec: UNLIMITED_MSGS_PER_SEC,
            burst: UNLIMITED_BURST,
        }
    }

    /// Limits the whole node to `per_sec` errors a second with bursts of `burst`.
    pub fn node_wide(per_sec: u32, burst: u32) -> Self {
        Self {
            per_destination_ms: 0,
            messages_per_sec: per_sec,
            burst,
        }
    }
}

/// Node-wide ICMP limit set on nodes without an [`IcmpRateLimit`]: high enough that tests
/// never meet it.
const UNLIMITED_MSGS_PER_SEC: u32 = 1_000_000;
const UNLIMITED_BURST: u32 = 100_000;

/// One node as described.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    name: String,
    kind: NodeKind,
    no_ttl_exceeded: bool,
    drop_all: bool,
    icmp_rate_limit: Option<IcmpRateLimit>,
    mpls_labels: Vec<u32>,
    sysctls: Vec<(String, String)>,
}

impl NodeSpec {
    /// The node's ICMP time-exceeded messages (IPv4 and IPv6) carry an RFC 4950 MPLS
    /// label stack with these labels, top first, as if it sat inside an MPLS tunnel. An
    /// NFQUEUE rule in its OUTPUT chain hands them to the [`crate::mpls`] rewriter.
    /// An empty list turns the rewriting off.
    pub fn mpls_labels(&mut self, labels: &[u32]) -> &mut Self {
        self.mpls_labels = labels.to_vec();
        self
    }

    /// The node never sends ICMP time exceeded (IPv4 type 11, IPv6 type 3): an `iptables`
    /// / `ip6tables` rule drops them in its OUTPUT chain, which every locally generated
    /// ICMP error passes. It still forwards, and still sends other errors.
    pub fn no_ttl_exceeded(&mut self) -> &mut Self {
        self.no_ttl_exceeded = true;
        self
    }

    /// The node drops everything addressed to it or through it (INPUT and FORWARD policy
    /// DROP, both families) and so answers nothing: no echo reply, no port unreachable, no
    /// RST. ARP and IPv6 neighbour discovery still work, so the upstream router sees a
    /// live neighbour and sends no "host unreachable" either.
    pub fn drop_all(&mut self) -> &mut Self {
        self.drop_all = true;
        self
    }

    /// Rate-limits the node's ICMP errors. Without this every node has the per-destination
    /// limiter off and a node-wide limit too high to meet, so tests are deterministic.
    pub fn icmp_rate_limit(&mut self, limit: IcmpRateLimit) -> &mut Self {
        self.icmp_rate_limit = Some(limit);
        self
    }

    /// Sets any sysctl in the node's namespace after the testbed's own, e.g.
    /// `("net.ipv4.ip_no_pmtu_disc", "1")`. Dots or slashes both work as separators.
    pub fn sysctl(&mut self, key: &str, value: &str) -> &mut Self {
        self.sysctls.push((key.replace('.', "/"), value.to_owned()));
        self
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Host or router.
    pub fn kind(&self) -> NodeKind {
        self.kind
    }
}

/// One link as described: a veth pair between two nodes.
#[derive(Debug, Clone)]
pub struct LinkSpec {
    a: String,
    b: String,
    name: Option<String>,
    ifname_a: Option<String>,
    ifname_b: Option<String>,
    v4: Option<IpPrefix>,
    v6: Option<IpPrefix>,
    delay_ab: Duration,
    delay_ba: Duration,
    delay_from_unknown: Option<String>,
}

impl LinkSpec {
    /// Names the link (default `A-B`, from its end nodes).
    pub fn name(&mut self, name: &str) -> &mut Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Names the interfaces at the first and second node (default `to-PEER`).
    pub fn ifnames(&mut self, a: &str, b: &str) -> &mut Self {
        self.ifname_a = Some(a.to_owned());
        self.ifname_b = Some(b.to_owned());
        self
    }

    /// Uses this IPv4 subnet (at most /30) instead of the automatic `10.H.L.0/24`.
    pub fn v4(&mut self, prefix: IpPrefix) -> &mut Self {
        self.v4 = Some(prefix);
        self
    }

    /// Uses this IPv6 subnet (at most /126) instead of the automatic `fd00:0:N::/64`.
    pub fn v6(&mut self, prefix: IpPrefix) -> &mut Self {
        self.v6 = Some(prefix);
        self
    }

    /// Delays packets by `delay` in each direction (ping RTT grows by twice `delay`).
    pub fn delay(&mut self, delay: Duration) -> &mut Self {
        self.delay_ab = delay;
        self.delay_ba = delay;
        self
    }

    /// Delays packets sent by `node` onto this link by `delay` (one way).
    pub fn delay_from(&mut self, node: &str, delay: Duration) -> &mut Self {
        if node == self.a {
            self.delay_ab = delay;
        } else if node == self.b {
            self.delay_ba = delay;
        } else {
            self.delay_from_unknown = Some(node.to_owned());
        }
        self
    }
}

#[derive(Debug, Clone)]
struct RouteSpec {
    node: String,
    dest: IpPrefix,
    via: Vec<String>,
}

/// Describes a testbed; [`TopologyBuilder::build`] makes it real.
///
/// ```no_run
/// use std::time::Duration;
/// use vantage_testbed::Topology;
///
/// let mut b = Topology::builder("demo");
/// b.host("vp");
/// b.router("r1").no_ttl_exceeded();
/// b.host("target");
/// b.link("vp", "r1").delay(Duration::from_millis(20));
/// b.link("r1", "target");
/// let topo = b.build()?; // routes are automatic; dropped = torn down
/// let out = topo.exec("vp", &["ping", "-c", "1", &topo.node("target")?.v4().unwrap().to_string()])?;
/// # Ok::<(), vantage_testbed::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TopologyBuilder {
    prefix: String,
    nodes: Vec<NodeSpec>,
    links: Vec<LinkSpec>,
    routes: Vec<RouteSpec>,
    auto_routes: bool,
    max_queue_len: u32,
}

/// One interface of a built node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Interface name inside the node's namespace.
    pub name: String,
    /// Name of the link it belongs to.
    pub link: String,
    /// The node at the other end.
    pub peer: String,
    /// Its IPv4 address.
    pub v4: Ipv4Addr,
    /// Its IPv6 address.
    pub v6: Ipv6Addr,
    /// The link's IPv4 subnet.
    pub prefix4: IpPrefix,
    /// The link's IPv6 subnet.
    pub prefix6: IpPrefix,
}

/// A next hop of a route.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NextHop {
    /// Gateway address.
    pub via: IpAddr,
    /// Interface to leave by.
    pub ifname: String,
}

/// A static route installed on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination prefix.
    pub dest: IpPrefix,
    /// Next hops; more than one is an equal-cost multipath route hashed on the L4 ports.
    pub nexthops: Vec<NextHop>,
}

/// A node of a built topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// Node name.
    pub name: String,
    /// Its namespace (`PREFIX-NAME`, under `/run/netns`).
    pub netns: String,
    /// Host or router.
    pub kind: NodeKind,
    /// Its interfaces, in link order.
    pub interfaces: Vec<Interface>,
    /// Its static routes (connected subnets not included).
    pub routes: Vec<Route>,
}

impl NodeInfo {
    /// The IPv4 address of its first interface (a host's address).
    pub fn v4(&self) -> Option<Ipv4Addr> {
        self.interfaces.first().map(|i| i.v4)
    }

    /// The IPv6 address of its first interface.
    pub fn v6(&self) -> Option<Ipv6Addr> {
        self.interfaces.first().map(|i| i.v6)
    }

    /// The interface on link `link`.
    pub fn interface_on(&self, link: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.link == link)
    }

    /// The interface toward `peer` (the first, if several links lead there).
    pub fn interface_toward(&self, peer: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.peer == peer)
    }
}

/// One end of a built link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Node name.
    pub node: String,
    /// Interface name inside the node.
    pub ifname: String,
    /// IPv4 address (host 1 of the subnet for the first end, host 2 for the second).
    pub v4: Ipv4Addr,
    /// IPv6 address (`::1` for the first end, `::2` for the second).
    pub v6: Ipv6Addr,
    /// Delay added to packets this end sends onto the link.
    pub delay_out: Duration,
}

/// A link of a built topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Link name.
    pub name: String,
    /// Its two ends, in the order they were given to [`TopologyBuilder::link`].
    pub ends: [Endpoint; 2],
    /// IPv4 subnet.
    pub prefix4: IpPrefix,
    /// IPv6 subnet.
    pub prefix6: IpPrefix,
}

impl LinkInfo {
    /// The end on node `node`.
    pub fn end(&self, node: &str) -> Option<&Endpoint> {
        self.ends.iter().find(|e| e.node == node)
    }
}

/// A delayed link direction: queue `queue` in `node`'s namespace holds what leaves `ifname`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedDelay {
    pub node: usize,
    pub ifname: String,
    pub queue: u16,
    pub delay: Duration,
}

/// A validated, fully resolved topology: everything [`TopologyBuilder::build`] will do.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub prefix: String,
    pub nodes: Vec<NodeInfo>,
    pub specs: Vec<NodeSpec>,
    pub links: Vec<LinkInfo>,
    pub delays: Vec<PlannedDelay>,
    pub max_queue_len: u32,
}

impl TopologyBuilder {
    /// An empty description of testbed `prefix`. Its namespaces are named `PREFIX-NODE`;
    /// the prefix is 1 to 16 characters from `a-z`, `0-9`, `_` (see
    /// [`crate::unique_prefix`] for tests that run in parallel).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            nodes: Vec::new(),
            links: Vec::new(),
            routes: Vec::new(),
            auto_routes: true,
            max_queue_len: crate::delay::DEFAULT_MAX_QUEUE_LEN,
        }
    }

    fn node(&mut self, name: &str, kind: NodeKind) -> &mut NodeSpec {
        self.nodes.push(NodeSpec {
            name: name.to_owned(),
            kind,
            no_ttl_exceeded: false,
            drop_all: false,
            icmp_rate_limit: None,
            mpls_labels: Vec::new(),
            sysctls: Vec::new(),
        });
        let last = self.nodes.len() - 1;
        &mut self.nodes[last]
    }

    /// Adds an end host (1 to 12 characters from `a-z`, `0-9`, `_`).
    pub fn host(&mut self, name: &str) -> &mut NodeSpec {
        self.node(name, NodeKind::Host)
    }

    /// Adds a router (IPv4 and IPv6 forwarding on).
    pub fn router(&mut self, name: &str) -> &mut NodeSpec {
        self.node(name, NodeKind::Router)
    }

    /// Adds a link (a veth pair) between nodes `a` and `b`, with IPv4 and IPv6 addresses
    /// from the automatic plan (see [`crate::prefix::link_prefixes`]).
    pub fn link(&mut self, a: &str, b: &str) -> &mut LinkSpec {
        self.links.push(LinkSpec {
            a: a.to_owned(),
            b: b.to_owned(),
            name: None,
            ifname_a: None,
            ifname_b: None,
            v4: None,
            v6: None,
            delay_ab: Duration::ZERO,
            delay_ba: Duration::ZERO,
            delay_from_unknown: None,
        });
        let last = self.links.len() - 1;
        &mut self.links[last]
    }

    /// Adds a static route on `node` to `dest` via its neighbour `via` (the neighbour's
    /// address on their shared link is the gateway). Replaces an automatic route to the
    /// same destination.
    pub fn route(&mut self, node: &str, dest: IpPrefix, via: &str) -> &mut Self {
        self.ecmp_route(node, dest, &[via])
    }

    /// Adds an equal-cost multipath route on `node` to `dest` via several neighbours.
    /// Flows are spread by a hash of addresses and L4 ports.
    pub fn ecmp_route(&mut self, node: &str, dest: IpPrefix, via: &[&str]) -> &mut Self {
        self.routes.push(RouteSpec {
            node: node.to_owned(),
            dest,
            via: via.iter().map(|v| (*v).to_owned()).collect(),
        });
        self
    }

    /// Adds IPv4 and IPv6 default routes on `node` via neighbour `via`.
    pub fn default_route(&mut self, node: &str, via: &str) -> &mut Self {
        self.route(node, IpPrefix::DEFAULT_V4, via);
        self.route(node, IpPrefix::DEFAULT_V6, via)
    }

    /// Turns automatic routing on (the default) or off. When on, every router gets a route
    /// to every link subnet it is not on, along the paths with fewest hops, with every
    /// equal-cost next hop (ECMP); a host with one link gets default routes instead; a
    /// host with several links gets per-subnet routes. Paths never pass through a host.
    pub fn auto_routes(&mut self, on: bool) -> &mut Self {
        self.auto_routes = on;
        self
    }

    /// How many packets each delay queue may hold (default 16384).
    pub fn delay_queue_len(&mut self, packets: u32) -> &mut Self {
        self.max_queue_len = packets;
        self
    }

    /// Creates the namespaces, links, addresses, routes, rules and delay engines. On any
    /// error everything created so far is removed again.
    pub fn build(&self) -> Result<Topology, Error> {
        let plan = self.plan()?;
        Topology::create(&plan, true)
    }

    /// Creates the namespaces, links, addresses and routes, but starts no engine and
    /// loads no firewall rule: returns the handle and the engines to run elsewhere (a
    /// helper process that outlives this one). Start them, then call
    /// [`Topology::load_firewall`], then [`Topology::persist`]. Until then, dropping the
    /// handle removes everything, as with [`TopologyBuilder::build`].
    pub fn build_detached(&self) -> Result<(Topology, Vec<EngineSpec>), Error> {
        let plan = self.plan()?;
        let topo = Topology::create(&plan, false)?;
        Ok((topo, Topology::engine_specs(&plan)))
    }

    fn invalid(&self, reason: String) -> Error {
        Error::Invalid {
            prefix: self.prefix.clone(),
            reason,
        }
    }

    /// Validates the description and resolves it into a plan, touching nothing.
    pub(crate) fn plan(&self) -> Result<Plan, Error> {
        netns::check_prefix(&self.prefix)?;
        let index = self.check_nodes()?;
        let (links, ends) = self.resolve_links(&index)?;

        let mut nodes: Vec<NodeInfo> = self
            .nodes
            .iter()
            .map(|n| NodeInfo {
                name: n.name.clone(),
                netns: format!("{}-{}", self.prefix, n.name),
                kind: n.kind,
                interfaces: Vec::new(),
                routes: Vec::new(),
            })
            .collect();
        for (l, link) in links.iter().enumerate() {
            let (ia, ib) = ends[l];
            for (me, end, peer) in [
                (ia, &link.ends[0], &link.ends[1]),
                (ib, &link.ends[1], &link.ends[0]),
            ] {
                nodes[me].interfaces.push(Interface {
                    name: end.ifname.clone(),
                    link: link.name.clone(),
                    peer: peer.node.clone(),
                    v4: end.v4,
                    v6: end.v6,
                    prefix4: link.prefix4,
                    prefix6: link.prefix6,
                });
            }
        }
        let mut seen = HashMap::new();
        for node in &nodes {
            seen.clear();
            for iface in &node.interfaces {
                if let Some(link) = seen.insert(iface.name.clone(), iface.link.clone()) {
                    return Err(self.invalid(format!(
                        "node `{}` would have two interfaces named `{}` (links `{link}` and `{}`); \
                         name them with LinkSpec::ifnames",
                        node.name, iface.name, iface.link
                    )));
                }
            }
        }

        self.plan_routes(&index, &links, &ends, &mut nodes)?;

        let mut delays = Vec::new();
        let mut next_queue: HashMap<usize, u16> = HashMap::new();
        for (l, link) in links.iter().enumerate() {
            let (ia, ib) = ends[l];
            for (node, end) in [(ia, &link.ends[0]), (ib, &link.ends[1])] {
                if end.delay_out.is_zero() {
                    continue;
                }
                let q = next_queue.entry(node).or_insert(0);
                delays.push(PlannedDelay {
                    node,
                    ifname: end.ifname.clone(),
                    queue: *q,
                    delay: end.delay_out,
                });
                *q += 1;
            }
        }

        Ok(Plan {
            prefix: self.prefix.clone(),
            nodes,
            specs: self.nodes.clone(),
            links,
            delays,
            max_queue_len: self.max_queue_len,
        })
    }

    fn check_nodes(&self) -> Result<HashMap<&str, usize>, Error> {
        let mut index = HashMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let ok = !n.name.is_empty()
                && n.name.len() <= MAX_NODE_NAME
                && n.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(self.invalid(format!(
                    "node name `{}`: use 1 to {MAX_NODE_NAME} characters from a-z, 0-9 and _",
                    n.name
                )));
            }
            if index.insert(n.name.as_str(), i).is_some() {
                return Err(self.invalid(format!("node `{}` is defined twice", n.name)));
            }
        }
        Ok(index)
    }

    #[allow(clippy::type_complexity)]
    fn resolve_links(
        &self,
        index: &HashMap<&str, usize>,
    ) -> Result<(Vec<LinkInfo>, Vec<(usize, usize)>), Error> {
        if self.links.len() > usize::from(u16::MAX) + 1 {
            return Err(self.invalid("more than 65536 links".into()));
        }
        let mut links = Vec::new();
        let mut ends = Vec::new();
        let mut names = HashMap::new();
        for (l, spec) in self.links.iter().enumerate() {
            let lookup = |n: &str| {
                index.get(n).copied().ok_or_else(|| {
                    self.invalid(format!(
                        "link {}-{} names node `{n}`, which is not defined",
                        spec.a, spec.b
                    ))
                })
            };
            let (ia, ib) = (lookup(&spec.a)?, lookup(&spec.b)?);
            if ia == ib {
                return Err(self.invalid(format!("link from `{}` to itself", spec.a)));
            }
            if let Some(n) = &spec.delay_from_unknown {
                return Err(self.invalid(format!(
                    "delay_from(`{n}`) on link {}-{}: `{n}` is not an end of it",
                    spec.a, spec.b
                )));
            }
            let name = spec
                .name
                .clone()
                .unwrap_or_else(|| format!("{}-{}", spec.a, spec.b));
            if let Some(prev) = names.insert(name.clone(), l) {
                return Err(self.invalid(format!(
                    "links {prev} and {l} are both named `{name}`; name one with LinkSpec::name"
                )));
            }
            let ifname_a = spec
                .ifname_a
                .clone()
                .unwrap_or_else(|| format!("to-{}", spec.b));
            let ifname_b = spec
                .ifname_b
                .clone()
                .unwrap_or_else(|| format!("to-{}", spec.a));
            for ifname in [&ifname_a, &ifname_b] {
                let ok = !ifname.is_empty()
                    && ifname.len() <= 15
                    && ifname != "lo"
                    && ifname
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !ok {
                    return Err(self.invalid(format!(
                        "interface name `{ifname}`: use 1 to 15 characters from a-z, A-Z, 0-9, - and _"
                    )));
                }
            }
            let (auto4, auto6) = link_prefixes(l as u16);
            let prefix4 = spec.v4.unwrap_or(auto4);
            let prefix6 = spec.v6.unwrap_or(auto6);
            if !prefix4.is_ipv4() || prefix4.prefix_len() > 30 {
                return Err(self.invalid(format!(
                    "link `{name}`: IPv4 subnet {prefix4} must be IPv4 and /30 or shorter"
                )));
            }
            if prefix6.is_ipv4() || prefix6.prefix_len() > 126 {
                return Err(self.invalid(format!(
                    "link `{name}`: IPv6 subnet {prefix6} must be IPv6 and /126 or shorter"
                )));
            }
            let host = |p: IpPrefix, n| p.host(n).unwrap_or(p.addr());
            let end = |node: &str, ifname: String, n: u128, delay_out| Endpoint {
                node: node.to_owned(),
                ifname,
                v4: match host(prefix4, n) {
                    IpAddr::V4(a) => a,
                    IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
                },
                v6: match host(prefix6, n) {
                    IpAddr::V6(a) => a,
                    IpAddr::V4(_) => Ipv6Addr::UNSPECIFIED,
                },
                delay_out,
            };
            links.push(LinkInfo {
                name,
                ends: [
                    end(&spec.a, ifname_a, 1, spec.delay_ab),
                    end(&spec.b, ifname_b, 2, spec.delay_ba),
                ],
                prefix4,
                prefix6,
            });
            ends.push((ia, ib));
        }
        for (i, x) in links.iter().enumerate() {
            for y in &links[i + 1..] {
                for (p, q) in [(x.prefix4, y.prefix4), (x.prefix6, y.prefix6)] {
                    if p.contains(q.addr()) || q.contains(p.addr()) {
                        return Err(self.invalid(format!(
                            "links `{}` and `{}` have overlapping subnets {p} and {q}",
                            x.name, y.name
                        )));
                    }
                }
            }
        }
        Ok((links, ends))
    }

    fn plan_routes(
        &self,
        index: &HashMap<&str, usize>,
        links: &[LinkInfo],
        ends: &[(usize, usize)],
        nodes: &mut [NodeInfo],
    ) -> Result<(), Error> {
        // Per node: destination -> next hops, ordered for stable output.
        let mut table: Vec<BTreeMap<IpPrefix, Vec<NextHop>>> = vec![BTreeMap::new(); nodes.len()];
        let hop = |node: usize, link: usize, v4: bool| -> NextHop {
            let (a, _) = ends[link];
            let (me, peer) = if a == node {
                (&links[link].ends[0], &links[link].ends[1])
            } else {
                (&links[link].ends[1], &links[link].ends[0])
            };
            NextHop {
                via: if v4 {
                    IpAddr::V4(peer.v4)
                } else {
                    IpAddr::V6(peer.v6)
                },
                ifname: me.ifname.clone(),
            }
        };
        if self.auto_routes {
            let routers: Vec<bool> = self
                .nodes
                .iter()
                .map(|n| n.kind == NodeKind::Router)
                .collect();
            let graph = Graph {
                routers: &routers,
                links: ends,
            };
            for node in 0..nodes.len() {
                let own: Vec<usize> = (0..ends.len())
                    .filter(|&l| ends[l].0 == node || ends[l].1 == node)
                    .collect();
                if !routers[node] && own.len() == 1 {
                    table[node].insert(IpPrefix::DEFAULT_V4, vec![hop(node, own[0], true)]);
                    table[node].insert(IpPrefix::DEFAULT_V6, vec![hop(node, own[0], false)]);
                    continue;
                }
                for route in graph.routes_of(node) {
                    for v4 in [true, false] {
                        let dest = if v4 {
                            links[route.dest].prefix4
                        } else {
                            links[route.dest].prefix6
                        };
                        let hops = route.via.iter().map(|&(l, _)| hop(node, l, v4)).collect();
                        table[node].insert(dest, hops);
                    }
                }
            }
        }
        for spec in &self.routes {
            let node = *index
                .get(spec.node.as_str())
                .ok_or_else(|| self.invalid(format!("route on `{}`: no such node", spec.node)))?;
            if spec.via.is_empty() {
                return Err(self.invalid(format!(
                    "route on `{}` to {} has no next hop",
                    spec.node, spec.dest
                )));
            }
            let mut hops = Vec::new();
            for via in &spec.via {
                let link = (0..ends.len()).find(|&l| {
                    let (a, b) = ends[l];
                    (a == node && self.nodes[b].name == *via)
                        || (b == node && self.nodes[a].name == *via)
                });
                let Some(link) = link else {
                    return Err(self.invalid(format!(
                        "route on `{}` to {} via `{via}`: `{via}` is not a neighbour of `{}`",
                        spec.node, spec.dest, spec.node
                    )));
                };
                hops.push(hop(node, link, spec.dest.is_ipv4()));
            }
            table[node].insert(spec.dest, hops);
        }
        for (node, routes) in nodes.iter_mut().zip(table) {
            node.routes = routes
                .into_iter()
                .map(|(dest, nexthops)| Route { dest, nexthops })
                .collect();
        }
        Ok(())
    }
}

impl Plan {
    /// `ip -batch` lines, run in the root namespace, that create every veth pair with its
    /// ends directly in their namespaces.
    pub fn link_script(&self) -> String {
        let mut s = String::new();
        for link in &self.links {
            let ns = |node: &str| format!("{}-{}", self.prefix, node);
            let [a, b] = &link.ends;
            let _ = writeln!(
                s,
                "link add {} netns {} type veth peer name {} netns {}",
                a.ifname,
                ns(&a.node),
                b.ifname,
                ns(&b.node)
            );
        }
        s
    }

    /// `ip -batch` lines, run in node `i`'s namespace, that bring loopback up and address
    /// its interfaces and bring them up.
    pub fn address_script(&self, i: usize) -> String {
        let mut s = String::from("link set lo up\n");
        for iface in &self.nodes[i].interfaces {
            let _ = writeln!(
                s,
                "addr add {}/{} dev {}",
                iface.v4,
                iface.prefix4.prefix_len(),
                iface.name
            );
            let _ = writeln!(
                s,
                "addr add {}/{} dev {} nodad",
                iface.v6,
                iface.prefix6.prefix_len(),
                iface.name
            );
            let _ = writeln!(s, "link set {} up", iface.name);
        }
        s
    }

    /// `ip -batch` lines, run in node `i`'s namespace, that install its routes.
    pub fn route_script(&self, i: usize) -> String {
        let mut s = String::new();
        for route in &self.nodes[i].routes {
            let _ = write!(s, "route add {}", route.dest);
            if let [hop] = route.nexthops.as_slice() {
                let _ = write!(s, " via {} dev {}", hop.via, hop.ifname);
            } else {
                for hop in &route.nexthops {
                    let _ = write!(s, " nexthop via {} dev {}", hop.via, hop.ifname);
                }
            }
            s.push('\n');
        }
        s
    }

    /// The sysctls of node `i`, as (path under /proc/sys, value), in the order to write.
    pub fn sysctls(&self, i: usize) -> Vec<(String, String)> {
        let spec = &self.specs[i];
        let mut v: Vec<(String, String)> = Vec::new();
        let mut set = |k: &str, val: String| v.push((k.to_owned(), val));
        // Forwarding first: writing ip_forward resets some per-device settings.
        let fwd = u8::from(spec.kind == NodeKind::Router).to_string();
        set("net/ipv4/ip_forward", fwd.clone());
        set("net/ipv6/conf/all/forwarding", fwd.clone());
        set("net/ipv6/conf/default/forwarding", fwd);
        // Asymmetric (ECMP) paths must not be dropped by reverse-path filtering.
        set("net/ipv4/conf/all/rp_filter", "0".into());
        set("net/ipv4/conf/default/rp_filter", "0".into());
        // Addresses usable at once: no duplicate address detection, no autoconfiguration.
        set("net/ipv6/conf/all/accept_dad", "0".into());
        set("net/ipv6/conf/default/accept_dad", "0".into());
        set("net/ipv6/conf/all/accept_ra", "0".into());
        set("net/ipv6/conf/default/accept_ra", "0".into());
        // ECMP hashes on addresses and L4 ports.
        set("net/ipv4/fib_multipath_hash_policy", "1".into());
        set("net/ipv6/fib_multipath_hash_policy", "1".into());
        // ICMP errors come from the interface the offending packet arrived on.
        set("net/ipv4/icmp_errors_use_inbound_ifaddr", "1".into());
        let limit = spec.icmp_rate_limit.unwrap_or(IcmpRateLimit {
            per_destination_ms: 0,
            messages_per_sec: UNLIMITED_MSGS_PER_SEC,
            burst: UNLIMITED_BURST,
        });
        set(
            "net/ipv4/icmp_ratelimit",
            limit.per_destination_ms.to_string(),
        );
        set(
            "net/ipv6/icmp/ratelimit",
            limit.per_destination_ms.to_string(),
        );
        set(
            "net/ipv4/icmp_msgs_per_sec",
            limit.messages_per_sec.to_string(),
        );
        set("net/ipv4/icmp_msgs_burst", limit.burst.to_string());
        v.extend(spec.sysctls.iter().cloned());
        v
    }

    /// The `iptables-restore` (`v6 == false`) or `ip6tables-restore` input for node `i`,
    /// or `None` when the node needs no rules in that family.
    pub fn firewall_script(&self, i: usize, v6: bool) -> Option<String> {
        let spec = &self.specs[i];
        let delays: Vec<&PlannedDelay> = self.delays.iter().filter(|d| d.node == i).collect();
        let mpls = !spec.mpls_labels.is_empty();
        if !spec.no_ttl_exceeded && !spec.drop_all && delays.is_empty() && !mpls {
            return None;
        }
        let mut s = String::new();
        if spec.no_ttl_exceeded || spec.drop_all {
            s.push_str("*filter\n");
            let policy = if spec.drop_all { "DROP" } else { "ACCEPT" };
            let _ = writeln!(s, ":INPUT {policy} [0:0]");
            let _ = writeln!(s, ":FORWARD {policy} [0:0]");
            s.push_str(":OUTPUT ACCEPT [0:0]\n");
            if spec.drop_all && v6 {
                // Neighbour solicitation and advertisement, so the node stays reachable
                // at the link layer (as ARP does for IPv4, which iptables never sees).
                for t in [135, 136] {
                    let _ = writeln!(
                        s,
                        "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type {t} -j ACCEPT"
                    );
                }
            }
            if spec.no_ttl_exceeded {
                if v6 {
                    s.push_str("-A OUTPUT -p ipv6-icmp -m icmp6 --icmpv6-type 3 -j DROP\n");
                } else {
                    s.push_str("-A OUTPUT -p icmp -m icmp --icmp-type 11 -j DROP\n");
                }
            }
            s.push_str("COMMIT\n");
        }
        if !delays.is_empty() || mpls {
            s.push_str("*mangle\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n");
            if mpls {
                let q = crate::mpls::MPLS_QUEUE;
                if v6 {
                    let _ = writeln!(
                        s,
                        "-A OUTPUT -p ipv6-icmp -m icmp6 --icmpv6-type 3 -j NFQUEUE --queue-num {q} --queue-bypass"
                    );
                } else {
                    let _ = writeln!(
                        s,
                        "-A OUTPUT -p icmp -m icmp --icmp-type 11 -j NFQUEUE --queue-num {q} --queue-bypass"
                    );
                }
            }
            if v6 && !delays.is_empty() {
                // Neighbour discovery is not delayed, as ARP (which iptables never sees)
                // is not: otherwise the first packet over a delayed IPv6 link would wait
                // an extra round trip for its neighbour's address.
                for t in [135, 136] {
                    let _ = writeln!(
                        s,
                        "-A POSTROUTING -p ipv6-icmp -m icmp6 --icmpv6-type {t} -j ACCEPT"
                    );
                }
            }
            for d in delays {
                let _ = writeln!(
                    s,
                    "-A POSTROUTING -o {} -j NFQUEUE --queue-num {} --queue-bypass",
                    d.ifname, d.queue
                );
            }
            s.push_str("COMMIT\n");
        }
        Some(s)
    }

    /// The MPLS rewriters to run: (node index, labels).
    pub fn mpls(&self) -> Vec<(usize, Vec<u32>)> {
        self.specs
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.mpls_labels.is_empty())
            .map(|(i, s)| (i, s.mpls_labels.clone()))
            .collect()
    }

    /// True when any node needs `iptables`.
    pub fn needs_firewall(&self) -> bool {
        (0..self.nodes.len()).any(|i| self.firewall_script(i, false).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> TopologyBuilder {
        let mut b = TopologyBuilder::new("t1");
        b.host("vp");
        b.router("r1").no_ttl_exceeded();
        b.router("r2a");
        b.router("r2b");
        b.router("r3");
        b.host("dst").drop_all();
        b.link("vp", "r1").delay(Duration::from_millis(5));
        b.link("r1", "r2a");
        b.link("r1", "r2b");
        b.link("r2a", "r3");
        b.link("r2b", "r3")
            .delay_from("r3", Duration::from_millis(7));
        b.link("r3", "dst");
        b
    }

    #[test]
    fn addresses_follow_the_plan() {
        let plan = small().plan().unwrap();
        let vp = &plan.nodes[0];
        assert_eq!(vp.netns, "t1-vp");
        assert_eq!(vp.interfaces[0].name, "to-r1");
        assert_eq!(vp.v4(), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(vp.v6(), Some("fd00::1".parse().unwrap()));
        let dst = &plan.nodes[5];
        assert_eq!(dst.v4(), Some(Ipv4Addr::new(10, 0, 5, 2)));
        assert_eq!(dst.v6(), Some("fd00:0:5::2".parse().unwrap()));
        assert_eq!(plan.links[4].name, "r2b-r3");
        assert_eq!(
            plan.links[4].end("r3").unwrap().delay_out,
            Duration::from_millis(7)
        );
        assert_eq!(plan.links[4].end("r2b").unwrap().delay_out, Duration::ZERO);
    }

    #[test]
    fn scripts() {
        let plan = small().plan().unwrap();
        assert_eq!(
            plan.link_script().lines().next().unwrap(),
            "link add to-r1 netns t1-vp type veth peer name to-vp netns t1-r1"
        );
        assert_eq!(
            plan.address_script(0),
            "link set lo up\naddr add 10.0.0.1/24 dev to-r1\naddr add fd00::1/64 dev to-r1 nodad\nlink set to-r1 up\n"
        );
        assert_eq!(
            plan.route_script(0),
            "route add 0.0.0.0/0 via 10.0.0.2 dev to-r1\nroute add ::/0 via fd00::2 dev to-r1\n"
        );
        let r1 = plan.route_script(1);
        assert!(
            r1.contains(
                "route add 10.0.5.0/24 nexthop via 10.0.1.2 dev to-r2a nexthop via 10.0.2.2 dev to-r2b\n"
            ),
            "{r1}"
        );
        assert!(
            r1.contains(
                "route add fd00:0:5::/64 nexthop via fd00:0:1::2 dev to-r2a nexthop via fd00:0:2::2 dev to-r2b\n"
            ),
            "{r1}"
        );
        assert!(
            r1.contains("route add 10.0.3.0/24 via 10.0.1.2 dev to-r2a\n"),
            "{r1}"
        );
    }

    #[test]
    fn firewall_rules() {
        let plan = small().plan().unwrap();
        // vp: delay queue only
        assert_eq!(
            plan.firewall_script(0, false).unwrap(),
            "*mangle\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
             -A POSTROUTING -o to-r1 -j NFQUEUE --queue-num 0 --queue-bypass\nCOMMIT\n"
        );
        // r1: no time exceeded, plus its delay queue toward vp
        let r1 = plan.firewall_script(1, true).unwrap();
        assert!(r1.contains("-A OUTPUT -p ipv6-icmp -m icmp6 --icmpv6-type 3 -j DROP\n"));
        // IPv6 neighbour discovery skips the delay queue.
        let nd = r1.find("--icmpv6-type 135 -j ACCEPT").unwrap();
        assert!(nd < r1.find("-j NFQUEUE").unwrap(), "{r1}");
        assert!(r1.contains(":INPUT ACCEPT"));
        assert!(r1.contains("-o to-vp -j NFQUEUE --queue-num 0"));
        let r1v4 = plan.firewall_script(1, false).unwrap();
        assert!(r1v4.contains("-A OUTPUT -p icmp -m icmp --icmp-type 11 -j DROP\n"));
        // r3: one delay queue (toward r2b)
        assert!(
            plan.firewall_script(4, false)
                .unwrap()
                .contains("-o to-r2b -j NFQUEUE --queue-num 0")
        );
        // dst drops everything but neighbour discovery
        let dst6 = plan.firewall_script(5, true).unwrap();
        assert!(dst6.contains(":INPUT DROP"));
        assert!(dst6.contains("--icmpv6-type 135 -j ACCEPT"));
        assert!(!plan.firewall_script(5, false).unwrap().contains("135"));
        // r2a: nothing
        assert_eq!(plan.firewall_script(2, false), None);
        assert_eq!(plan.delays.len(), 3);
    }

    #[test]
    fn sysctls_by_kind() {
        let mut b = small();
        b.router("lim")
            .icmp_rate_limit(IcmpRateLimit::per_destination(250))
            .sysctl("net.ipv4.ip_no_pmtu_disc", "1");
        b.link("lim", "r3");
        let plan = b.plan().unwrap();
        let get = |i: usize, k: &str| {
            plan.sysctls(i)
                .into_iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v)
        };
        assert_eq!(get(0, "net/ipv4/ip_forward").as_deref(), Some("0"));
        assert_eq!(get(1, "net/ipv4/ip_forward").as_deref(), Some("1"));
        assert_eq!(get(1, "net/ipv6/conf/all/forwarding").as_deref(), Some("1"));
        assert_eq!(get(1, "net/ipv4/icmp_ratelimit").as_deref(), Some("0"));
        assert_eq!(get(6, "net/ipv4/icmp_ratelimit").as_deref(), Some("250"));
        assert_eq!(get(6, "net/ipv6/icmp/ratelimit").as_deref(), Some("250"));
        assert_eq!(get(6, "net/ipv4/ip_no_pmtu_disc").as_deref(), Some("1"));
    }

    #[test]
    fn explicit_routes_replace_automatic_ones() {
        let mut b = small();
        b.route("r1", "10.0.5.0/24".parse().unwrap(), "r2b");
        let plan = b.plan().unwrap();
        let r1 = plan.route_script(1);
        assert!(
            r1.contains("route add 10.0.5.0/24 via 10.0.2.2 dev to-r2b\n"),
            "{r1}"
        );
        assert_eq!(r1.matches("10.0.5.0/24").count(), 1);
        let mut b = small();
        b.auto_routes(false).default_route("vp", "r1");
        let plan = b.plan().unwrap();
        assert_eq!(plan.route_script(1), "");
        assert_eq!(plan.nodes[0].routes.len(), 2);
    }

    #[test]
    fn invalid_descriptions_are_explained() {
        let msg = |b: &TopologyBuilder| b.plan().unwrap_err().to_string();
        let mut b = TopologyBuilder::new("Bad-Prefix");
        b.host("a");
        assert!(msg(&b).contains("invalid testbed prefix"));

        let mut b = TopologyBuilder::new("t");
        b.host("a");
        b.host("a");
        assert!(msg(&b).contains("defined twice"));

        let mut b = TopologyBuilder::new("t");
        b.host("averyverylongname");
        assert!(msg(&b).contains("node name"));

        let mut b = TopologyBuilder::new("t");
        b.host("a");
        b.link("a", "b");
        assert!(msg(&b).contains("`b`, which is not defined"));

        let mut b = TopologyBuilder::new("t");
        b.host("a");
        b.router("r");
        b.link("a", "r");
        b.link("a", "r");
        assert!(msg(&b).contains("both named `a-r`"));

        let mut b = TopologyBuilder::new("t");
        b.host("a");
        b.router("r");
        b.link("a", "r");
        b.link("a", "r").name("second");
        assert!(msg(&b).contains("two interfaces named `to-r`"));

        let mut b = TopologyBuilder::new("t");
        b.host("a");
        b.router("r");
        b.link("a", "r").delay_from("x", Duration::from_millis(1));
        assert!(msg(&b).contains("not an end"));

        let mut b = TopologyBuilder::new("t");
        b.host("a");
        b.router("r");
        b.host("c");
        b.link("a", "r");
        b.link("r", "c").v4("10.0.0.0/30".parse().unwrap());
        assert!(msg(&b).contains("overlapping"));

        let mut b = TopologyBuilder::new("t");
        b.host("a");
        b.router("r");
        b.link("a", "r").v4("10.9.0.0/31".parse().unwrap());
        assert!(msg(&b).contains("/30 or shorter"));

        let mut b = TopologyBuilder::new("t");
        b.host("a");
        b.router("r");
        b.host("c");
        b.link("a", "r");
        b.route("a", IpPrefix::DEFAULT_V4, "c");
        assert!(msg(&b).contains("not a neighbour"));
    }
}
