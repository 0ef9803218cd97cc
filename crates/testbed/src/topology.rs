//! A built testbed: the handle that owns its namespaces, delay engines and teardown.

use std::ffi::OsStr;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::Error;
use crate::builder::{LinkInfo, NodeInfo, Plan, TopologyBuilder};
use crate::delay::{DelayConfig, DelayEngine, DelayStats};
use crate::mpls::{MPLS_QUEUE, MplsConfig, MplsEngine};
use crate::netns::{self, NetnsError};
use crate::process::{CommandOutput, ProcessGuard};

/// How long [`TopologyBuilder::build`] waits for every interface to report carrier.
const LINK_UP_TIMEOUT: Duration = Duration::from_secs(10);

/// Packet and byte counters of one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IfStats {
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
}

/// One user-space engine a testbed needs: what [`Topology`] runs on its own threads, or
/// what a detached helper process runs for a persistent testbed (see
/// [`TopologyBuilder::build_detached`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineSpec {
    /// Delay one link direction.
    Delay(DelayConfig),
    /// Add MPLS label stacks to a router's time-exceeded messages.
    Mpls(MplsConfig),
}

#[derive(Debug)]
enum RunningEngine {
    Delay(DelayEngine),
    Mpls(MplsEngine),
}

/// A running testbed. Dropping it (also while a test panics) stops its delay engines,
/// kills every process in its namespaces and deletes the namespaces (and with them every
/// veth). [`Topology::down`] does the same and reports errors.
#[derive(Debug)]
pub struct Topology {
    prefix: String,
    nodes: Vec<NodeInfo>,
    links: Vec<LinkInfo>,
    engines: Vec<RunningEngine>,
    created: Vec<String>,
    /// Firewall scripts not loaded yet (detached builds): (namespace, tool, script).
    pending_firewall: Vec<(String, &'static str, String)>,
}

impl Topology {
    /// Starts describing testbed `prefix` (see [`TopologyBuilder::new`]).
    pub fn builder(prefix: &str) -> TopologyBuilder {
        TopologyBuilder::new(prefix)
    }

    /// The engines a plan needs.
    pub(crate) fn engine_specs(plan: &Plan) -> Vec<EngineSpec> {
        let mut specs: Vec<EngineSpec> = plan
            .delays
            .iter()
            .map(|d| {
                let mut config =
                    DelayConfig::new(Some(plan.nodes[d.node].netns.clone()), d.queue, d.delay);
                config.max_queue_len = plan.max_queue_len;
                EngineSpec::Delay(config)
            })
            .collect();
        for (node, labels) in plan.mpls() {
            specs.push(EngineSpec::Mpls(MplsConfig {
                netns: Some(plan.nodes[node].netns.clone()),
                queue: MPLS_QUEUE,
                labels,
            }));
        }
        specs
    }

    /// Makes a plan real. The handle exists from the first step on, so an error on the way
    /// tears down whatever was already made. With `in_process` the engines run on threads
    /// of this process and the firewall rules are loaded; without, both are left to the
    /// caller ([`Topology::load_firewall`]).
    pub(crate) fn create(plan: &Plan, in_process: bool) -> Result<Self, Error> {
        netns::require_tool("ip", "iproute2")?;
        if plan.needs_firewall() {
            netns::require_tool("iptables-restore", "iptables")?;
            netns::require_tool("ip6tables-restore", "iptables")?;
        }
        let leftovers = netns::with_prefix(&plan.prefix)?;
        if !leftovers.is_empty() {
            return Err(Error::Leftovers {
                prefix: plan.prefix.clone(),
                names: leftovers.join(", "),
            });
        }
        let mut topo = Self {
            prefix: plan.prefix.clone(),
            nodes: plan.nodes.clone(),
            links: plan.links.clone(),
            engines: Vec::new(),
            created: Vec::new(),
            pending_firewall: Vec::new(),
        };
        for node in &plan.nodes {
            // Recorded only once made: a namespace someone else made in the meantime
            // makes this fail, and must not be deleted by our teardown.
            netns::create(&node.netns)?;
            topo.created.push(node.netns.clone());
        }
        for (i, node) in plan.nodes.iter().enumerate() {
            netns::write_sysctls(&node.netns, &plan.sysctls(i))?;
        }
        let links = plan.link_script();
        if !links.is_empty() {
            netns::run_ip(&["-batch", "-"], Some(&links))?;
        }
        for (i, node) in plan.nodes.iter().enumerate() {
            let script = plan.address_script(i);
            netns::run_ip(&["-n", &node.netns, "-batch", "-"], Some(&script))?;
        }
        topo.wait_links_up()?;
        for (i, node) in plan.nodes.iter().enumerate() {
            let script = plan.route_script(i);
            if !script.is_empty() {
                netns::run_ip(&["-n", &node.netns, "-batch", "-"], Some(&script))?;
            }
        }
        for (i, node) in plan.nodes.iter().enumerate() {
            for (v6, tool) in [(false, "iptables-restore"), (true, "ip6tables-restore")] {
                if let Some(script) = plan.firewall_script(i, v6) {
                    topo.pending_firewall
                        .push((node.netns.clone(), tool, script));
                }
            }
        }
        if in_process {
            for spec in Self::engine_specs(plan) {
                topo.engines.push(match spec {
                    EngineSpec::Delay(config) => RunningEngine::Delay(DelayEngine::start(config)?),
                    EngineSpec::Mpls(config) => RunningEngine::Mpls(MplsEngine::start(config)?),
                });
            }
            topo.load_firewall()?;
        }
        Ok(topo)
    }

    /// Loads the firewall rules (ICMP behaviours, NFQUEUE rules) not loaded yet. A
    /// detached build calls this once its helper process has bound every queue, so that
    /// no packet passes a delayed link undelayed.
    pub fn load_firewall(&mut self) -> Result<(), Error> {
        for (ns, tool, script) in std::mem::take(&mut self.pending_firewall) {
            netns::run_ip(&["netns", "exec", &ns, tool], Some(&script))?;
        }
        Ok(())
    }

    /// Gives up ownership of the namespaces: the testbed stays up after this handle is
    /// gone, and its teardown is someone else's job (e.g. [`crate::down`] or
    /// [`crate::persistent::down`]). Engines running on this process's threads stop.
    pub fn persist(mut self) -> Vec<String> {
        let names = std::mem::take(&mut self.created);
        self.engines.clear();
        names
    }

    /// Waits until every interface of every node has carrier (both veth ends up and the
    /// kernel's link watcher done), so the first packets of a test are not lost.
    fn wait_links_up(&self) -> Result<(), Error> {
        let deadline = Instant::now() + LINK_UP_TIMEOUT;
        for node in &self.nodes {
            loop {
                let out = netns::run_ip(&["-n", &node.netns, "-o", "link", "show"], None)?;
                let down: Vec<&str> = out
                    .lines()
                    .filter(|l| !l.contains(" lo:") && !l.contains("state UP"))
                    .filter_map(|l| l.split(':').nth(1).map(str::trim))
                    .collect();
                if down.is_empty() {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(Error::NotUp(format!(
                        "{} in namespace {}",
                        down.join(", "),
                        node.netns
                    )));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        Ok(())
    }

    /// The testbed's prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Every node, in the order they were added.
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    /// Every link, in the order they were added.
    pub fn links(&self) -> &[LinkInfo] {
        &self.links
    }

    /// Node `name`.
    pub fn node(&self, name: &str) -> Result<&NodeInfo, Error> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| Error::UnknownNode {
                prefix: self.prefix.clone(),
                node: name.to_owned(),
            })
    }

    /// Link `name`.
    pub fn link(&self, name: &str) -> Result<&LinkInfo, Error> {
        self.links
            .iter()
            .find(|l| l.name == name)
            .ok_or_else(|| Error::UnknownLink {
                prefix: self.prefix.clone(),
                link: name.to_owned(),
            })
    }

    /// The (first) link between nodes `a` and `b`.
    pub fn link_between(&self, a: &str, b: &str) -> Result<&LinkInfo, Error> {
        self.links
            .iter()
            .find(|l| l.end(a).is_some() && l.end(b).is_some() && a != b)
            .ok_or_else(|| Error::NoLinkBetween {
                prefix: self.prefix.clone(),
                a: a.to_owned(),
                b: b.to_owned(),
            })
    }

    /// The namespace of node `name` (for `ip netns exec`, `ip -n`).
    pub fn netns(&self, node: &str) -> Result<&str, Error> {
        Ok(&self.node(node)?.netns)
    }

    fn end_on(&self, node: &str, link: &str) -> Result<&crate::builder::Endpoint, Error> {
        let l = self.link(link)?;
        l.end(node).ok_or_else(|| Error::NotOnLink {
            node: node.to_owned(),
            link: link.to_owned(),
        })
    }

    /// The IPv4 address of `node` on link `link`.
    pub fn addr4(&self, node: &str, link: &str) -> Result<Ipv4Addr, Error> {
        Ok(self.end_on(node, link)?.v4)
    }

    /// The IPv6 address of `node` on link `link`.
    pub fn addr6(&self, node: &str, link: &str) -> Result<Ipv6Addr, Error> {
        Ok(self.end_on(node, link)?.v6)
    }

    fn exec_command<S: AsRef<OsStr>>(
        &self,
        node: &str,
        args: &[S],
    ) -> Result<(Command, String), Error> {
        let ns = self.netns(node)?;
        if args.is_empty() {
            return Err(Error::NoCommand(node.to_owned()));
        }
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns]).args(args);
        let mut line = format!("ip netns exec {ns}");
        for a in args {
            line.push(' ');
            line.push_str(&a.as_ref().to_string_lossy());
        }
        Ok((cmd, line))
    }

    /// Runs a command inside `node` and waits for it. A non-zero exit is not an error:
    /// look at [`CommandOutput::status`].
    pub fn exec<S: AsRef<OsStr>>(&self, node: &str, args: &[S]) -> Result<CommandOutput, Error> {
        let (mut cmd, line) = self.exec_command(node, args)?;
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|source| NetnsError::Spawn {
                command: line,
                source,
            })?;
        Ok(CommandOutput::from_output(&out))
    }

    /// Starts a long-running command inside `node` in its own process group, stdout and
    /// stderr piped (read them, or they fill up), stdin closed. The guard kills the
    /// group when dropped; the topology kills whatever is left in its namespaces.
    pub fn spawn<S: AsRef<OsStr>>(&self, node: &str, args: &[S]) -> Result<ProcessGuard, Error> {
        self.spawn_with(node, args, true)
    }

    /// Like [`Topology::spawn`] with stdout and stderr discarded.
    pub fn spawn_quiet<S: AsRef<OsStr>>(
        &self,
        node: &str,
        args: &[S],
    ) -> Result<ProcessGuard, Error> {
        self.spawn_with(node, args, false)
    }

    fn spawn_with<S: AsRef<OsStr>>(
        &self,
        node: &str,
        args: &[S],
        piped: bool,
    ) -> Result<ProcessGuard, Error> {
        let (mut cmd, line) = self.exec_command(node, args)?;
        let out = || if piped { Stdio::piped() } else { Stdio::null() };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out())
            .stderr(out())
            .process_group(0)
            .spawn()
            .map_err(|source| NetnsError::Spawn {
                command: line.clone(),
                source,
            })?;
        Ok(ProcessGuard::new(child, line))
    }

    /// Runs `f` on a fresh thread that has joined `node`'s network namespace, and returns
    /// its result: sockets `f` opens live in the node. A panic in `f` is passed on.
    pub fn run_in<T, F>(&self, node: &str, f: F) -> Result<T, Error>
    where
        T: Send,
        F: FnOnce() -> T + Send,
    {
        Ok(netns::run_in(self.netns(node)?, f)?)
    }

    /// Starts `f` on a thread inside `node`'s network namespace and returns at once. Join
    /// it before dropping the topology if it must finish cleanly (the namespace is deleted
    /// by name on teardown; the thread keeps it alive unnamed until it ends).
    pub fn spawn_thread_in<T, F>(
        &self,
        node: &str,
        f: F,
    ) -> Result<JoinHandle<Result<T, Error>>, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let ns = self.netns(node)?.to_owned();
        std::thread::Builder::new()
            .name(format!("in-{ns}"))
            .spawn(move || {
                netns::enter(&ns)?;
                Ok(f())
            })
            .map_err(|e| Error::Netns(NetnsError::Thread(e)))
    }

    /// The counters of interface `ifname` of `node`.
    pub fn if_stats(&self, node: &str, ifname: &str) -> Result<IfStats, Error> {
        let base = format!("/sys/class/net/{ifname}/statistics");
        let files =
            ["rx_packets", "tx_packets", "rx_bytes", "tx_bytes"].map(|f| format!("{base}/{f}"));
        let mut args = vec!["cat".to_owned()];
        args.extend(files);
        let out = self.exec(node, &args)?;
        let bad = |reason: String| Error::Stats {
            node: node.to_owned(),
            ifname: ifname.to_owned(),
            reason,
        };
        if !out.success() {
            return Err(bad(out.stderr.trim().to_owned()));
        }
        let nums: Vec<u64> = out
            .stdout
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|e| bad(format!("{e}")))?;
        match nums.as_slice() {
            &[rx_packets, tx_packets, rx_bytes, tx_bytes] => Ok(IfStats {
                rx_packets,
                tx_packets,
                rx_bytes,
                tx_bytes,
            }),
            _ => Err(bad(format!("unexpected output `{}`", out.stdout.trim()))),
        }
    }

    /// Tears the testbed down now, reporting the first error, and returns the counters of
    /// its delay engines.
    pub fn down(mut self) -> Result<Vec<DelayStats>, Error> {
        self.teardown()
    }

    fn teardown(&mut self) -> Result<Vec<DelayStats>, Error> {
        let mut first_err: Option<Error> = None;
        let mut stats = Vec::new();
        for engine in self.engines.drain(..) {
            let result = match engine {
                RunningEngine::Delay(e) => e.stop().map(Some),
                RunningEngine::Mpls(e) => e.stop().map(|_| None),
            };
            match result {
                Ok(Some(s)) => stats.push(s),
                Ok(None) => {}
                Err(e) => {
                    first_err.get_or_insert(e.into());
                }
            }
        }
        for name in self.created.drain(..).rev() {
            if let Err(e) = netns::destroy(&name) {
                // Already gone (or never made, after a failed build step) is fine.
                if netns::path(&name).exists() {
                    first_err.get_or_insert(e.into());
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(stats),
        }
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("vantage-testbed: tearing down `{}`: {e}", self.prefix);
        }
    }
}
