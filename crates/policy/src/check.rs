//! Judging commands and single packets against a policy.
//!
//! A command is checked field by field before any of its packets exists: type, method, IP
//! options and spoofing, TTL, payload, destination ports, then every address it would send
//! to. What a command cannot bound in advance (probes beyond its first pass, path-MTU
//! probes) is for [`Policy::check_packet`], which the probe applies to each packet.

use std::net::IpAddr;

use vantage_command::{
    Command, DealiasMethod, DealiasSpec, HostSpec, HttpSpec, PingMethod, PingSpec, ProbeDef,
    ProbeMethod, TraceMethod, TraceSpec, TracelbMethod, TracelbSpec, UdpprobeSpec,
};

use crate::error::Violation;
use crate::methods::{
    DealiasKind, HostTransport, HttpScheme, MeasurementType, MethodName, Methods,
};
use crate::policy::Policy;
use crate::ports::{self, PortRange};

/// The transport header of one packet, as [`Policy::check_packet`] needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// ICMP or ICMPv6.
    Icmp,
    /// UDP to this port.
    Udp {
        /// The destination port.
        dport: u16,
    },
    /// TCP to this port.
    Tcp {
        /// The destination port.
        dport: u16,
    },
}

/// The facts about one outgoing packet that the policy rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketFacts {
    /// The destination address.
    pub dst: IpAddr,
    /// The transport and its destination port.
    pub transport: Transport,
    /// The TTL / hop limit.
    pub ttl: u8,
    /// Bytes after the ICMP, UDP or TCP header.
    pub payload_len: usize,
    /// Whether the source address is not one of this host's.
    pub spoofed: bool,
    /// Whether the packet carries the IPv4 record-route option.
    pub record_route: bool,
    /// Whether the packet carries the IPv4 timestamp option.
    pub timestamp: bool,
}

const V4_HEADER: u16 = 20;
const V6_HEADER: u16 = 40;

fn ip_header(addr: IpAddr) -> u16 {
    if addr.is_ipv4() { V4_HEADER } else { V6_HEADER }
}

impl Policy {
    /// Whether the policy allows `cmd`; the error names the first rule it breaks.
    pub fn check(&self, cmd: &Command) -> Result<(), Violation> {
        let kind = cmd.kind().as_str();
        let Some(ty) = MeasurementType::of(cmd.kind()) else {
            return Err(Violation::Unsupported { kind });
        };
        if !self.config().measurements.types.contains(&ty) {
            return Err(Violation::MeasurementType { kind });
        }
        match cmd {
            Command::Ping(s) => self.check_ping(s)?,
            Command::Trace(s) => self.check_trace(s)?,
            Command::Tracelb(s) => self.check_tracelb(s)?,
            Command::Dealias(s) => self.check_dealias(s)?,
            Command::Host(s) => self.check_host(s)?,
            Command::Http(s) => self.check_http(s)?,
            Command::Udpprobe(s) => self.check_udpprobe(s)?,
            // sniff sends nothing: being allowed as a type is all it needs.
            Command::Sniff(_) => {}
            _ => return Err(Violation::Unsupported { kind }),
        }
        for addr in cmd.probed_addresses() {
            self.check_destination(addr)?;
        }
        Ok(())
    }

    /// Whether the policy allows one packet about to be sent: destination, port, TTL,
    /// payload, spoofing and IP options. The last line of defence, for what a command could
    /// not bound in advance.
    pub fn check_packet(&self, p: &PacketFacts) -> Result<(), Violation> {
        let o = &self.config().options;
        if p.spoofed && !o.spoof {
            return Err(Violation::Spoof);
        }
        if p.record_route && !o.record_route {
            return Err(Violation::RecordRoute);
        }
        if p.timestamp && !o.timestamp {
            return Err(Violation::Timestamp);
        }
        self.ttl(p.ttl, "")?;
        self.payload(u32::try_from(p.payload_len).unwrap_or(u32::MAX))?;
        match p.transport {
            Transport::Icmp => {}
            Transport::Udp { dport } => self.udp(&[PortRange::single(dport)])?,
            Transport::Tcp { dport } => self.tcp(&[PortRange::single(dport)])?,
        }
        self.check_destination(p.dst)
    }

    fn method<M: MethodName>(
        list: &Methods<M>,
        m: M,
        kind: &'static str,
        rule: &'static str,
    ) -> Result<(), Violation> {
        if list.allows(m) {
            Ok(())
        } else {
            Err(Violation::Method {
                kind,
                method: m.name(),
                rule,
            })
        }
    }

    fn ttl(&self, ttl: u8, note: &'static str) -> Result<(), Violation> {
        let max = self.config().options.max_ttl;
        if ttl > max {
            return Err(Violation::Ttl { ttl, max, note });
        }
        Ok(())
    }

    /// A measurement that probes every `every` sends 1/`every` packets per second on its
    /// own: more than `rate.pps` is refused rather than silently slowed down.
    fn interval(&self, kind: &'static str, every: std::time::Duration) -> Result<(), Violation> {
        let max = self.config().rate.pps;
        let nanos = every.as_nanos().max(1);
        let pps = 1_000_000_000u128.div_ceil(nanos);
        if pps > u128::from(max) {
            return Err(Violation::Rate {
                kind,
                interval_ms: u64::try_from(every.as_millis()).unwrap_or(u64::MAX),
                pps: u64::try_from(pps).unwrap_or(u64::MAX),
                max,
            });
        }
        Ok(())
    }

    fn payload(&self, bytes: u32) -> Result<(), Violation> {
        let max = self.config().payload.max_bytes;
        if bytes > max {
            return Err(Violation::Payload { bytes, max });
        }
        Ok(())
    }

    fn ports(&self, proto: &'static str, want: &[PortRange]) -> Result<(), Violation> {
        let allowed = if proto == "tcp" {
            &self.config().ports.tcp
        } else {
            &self.config().ports.udp
        };
        for r in want {
            if let Some(port) = ports::first_outside(allowed, *r) {
                let used = (want.len() > 1 || r.first != r.last).then_some(*r);
                return Err(Violation::Port { proto, port, used });
            }
        }
        Ok(())
    }

    fn tcp(&self, want: &[PortRange]) -> Result<(), Violation> {
        self.ports("tcp", want)
    }

    fn udp(&self, want: &[PortRange]) -> Result<(), Violation> {
        self.ports("udp", want)
    }

    fn options(&self, spoof: bool, record_route: bool, timestamp: bool) -> Result<(), Violation> {
        let o = &self.config().options;
        if spoof && !o.spoof {
            return Err(Violation::Spoof);
        }
        if record_route && !o.record_route {
            return Err(Violation::RecordRoute);
        }
        if timestamp && !o.timestamp {
            return Err(Violation::Timestamp);
        }
        Ok(())
    }

    fn check_ping(&self, s: &PingSpec) -> Result<(), Violation> {
        let m = &self.config().measurements;
        Self::method(
            &m.ping.methods,
            s.method,
            "ping",
            "measurements.ping.methods",
        )?;
        self.options(s.options.spoof, s.record_route, s.timestamp.is_some())?;
        self.interval("ping", s.wait_probe)?;
        self.ttl(s.ttl, "")?;
        self.payload(u32::from(s.payload_size))?;
        if s.method.is_tcp() {
            self.tcp(&[PortRange::single(s.dport)])?;
        } else if s.method == PingMethod::UdpDport {
            self.udp(&ports::counting(s.dport, u32::from(s.attempts)))?;
        } else if s.method.is_udp() {
            self.udp(&[PortRange::single(s.dport)])?;
        }
        Ok(())
    }

    fn check_trace(&self, s: &TraceSpec) -> Result<(), Violation> {
        let m = &self.config().measurements;
        Self::method(
            &m.trace.methods,
            s.method,
            "trace",
            "measurements.trace.methods",
        )?;
        let (top, note) = if s.max_ttl == 0 {
            (u8::MAX, "; trace without -m may reach ttl 255, give -m")
        } else {
            (s.max_ttl, "")
        };
        self.ttl(top.max(s.first_hop), note)?;
        self.payload(s.payload.len() as u32)?;
        let dport = s.dport.get();
        match s.method {
            TraceMethod::Udp => {
                // One port per probe of a full pass: every hop, every attempt.
                let hops = u32::from(top.max(s.first_hop) - s.first_hop) + 1;
                self.udp(&ports::counting(dport, hops * u32::from(s.attempts)))?;
            }
            TraceMethod::UdpParis => self.udp(&[PortRange::single(dport)])?,
            TraceMethod::Tcp | TraceMethod::TcpAck => self.tcp(&[PortRange::single(dport)])?,
            TraceMethod::Icmp | TraceMethod::IcmpParis => {}
        }
        Ok(())
    }

    fn check_tracelb(&self, s: &TracelbSpec) -> Result<(), Violation> {
        let m = &self.config().measurements;
        Self::method(
            &m.tracelb.methods,
            s.method,
            "tracelb",
            "measurements.tracelb.methods",
        )?;
        self.ttl(u8::MAX, "; tracelb has no TTL limit and may reach ttl 255")?;
        let l4 = if s.method.is_tcp() { 20 } else { 8 };
        self.payload(u32::from(
            s.probe_size.saturating_sub(ip_header(s.dst) + l4),
        ))?;
        match s.method {
            // The destination port names the flow: one per flow, at most one flow per probe.
            TracelbMethod::UdpDport => {
                self.udp(&ports::counting(s.dport, u32::from(s.max_probes)))?;
            }
            TracelbMethod::UdpSport => self.udp(&[PortRange::single(s.dport)])?,
            TracelbMethod::TcpSport | TracelbMethod::TcpAckSport => {
                self.tcp(&[PortRange::single(s.dport)])?;
            }
            TracelbMethod::IcmpEcho => {}
        }
        Ok(())
    }

    fn check_dealias(&self, s: &DealiasSpec) -> Result<(), Violation> {
        let m = &self.config().measurements.dealias;
        let (kind, defs, probes): (DealiasKind, &[ProbeDef], u32) = match &s.method {
            DealiasMethod::Mercator(x) => (
                DealiasKind::Mercator,
                std::slice::from_ref(&x.def),
                u32::from(x.attempts),
            ),
            DealiasMethod::Ally(x) => (DealiasKind::Ally, &x.defs[..], u32::from(x.attempts)),
            DealiasMethod::Radargun(x) => (DealiasKind::Radargun, &x.defs[..], u32::from(x.rounds)),
            DealiasMethod::Prefixscan(x) => {
                let width = if x.b.is_ipv4() { 32 } else { 128 };
                let members = 1u32 << (width - u32::from(x.prefix_len)).min(16);
                (
                    DealiasKind::Prefixscan,
                    std::slice::from_ref(&x.def),
                    u32::from(x.attempts).saturating_mul(members + 1),
                )
            }
            DealiasMethod::Bump(x) => (
                DealiasKind::Bump,
                &x.defs[..],
                u32::from(x.attempts).saturating_mul(u32::from(x.bump_limit).max(1)),
            ),
            DealiasMethod::Midarest(x) => (
                DealiasKind::Midarest,
                &x.defs[..],
                u32::from(x.rounds).saturating_mul(x.targets.len() as u32),
            ),
            DealiasMethod::Midardisc(x) => {
                (DealiasKind::Midardisc, &x.defs[..], x.schedule.len() as u32)
            }
        };
        Self::method(&m.methods, kind, "dealias", "measurements.dealias.methods")?;
        for d in defs {
            Self::method(
                &m.probe_methods,
                d.method,
                "dealias",
                "measurements.dealias.probe_methods",
            )?;
            self.ttl(d.ttl, "")?;
            let l4 = if d.method.is_tcp() { 20 } else { 8 };
            self.payload(u32::from(d.size.saturating_sub(ip_header(d.dst) + l4)))?;
            match d.method {
                ProbeMethod::Udp => self.udp(&[PortRange::single(d.dport)])?,
                ProbeMethod::UdpDport => self.udp(&ports::counting(d.dport, probes.max(1)))?,
                ProbeMethod::TcpAck | ProbeMethod::TcpAckSport | ProbeMethod::TcpSynSport => {
                    self.tcp(&[PortRange::single(d.dport)])?;
                }
                ProbeMethod::IcmpEcho => {}
            }
        }
        Ok(())
    }

    fn check_host(&self, s: &HostSpec) -> Result<(), Violation> {
        let m = &self.config().measurements;
        let t = if s.tcp {
            HostTransport::Tcp
        } else {
            HostTransport::Udp
        };
        Self::method(&m.host.methods, t, "host", "measurements.host.methods")?;
        let dns = [PortRange::single(53)];
        if s.tcp {
            self.tcp(&dns)
        } else {
            self.udp(&dns)
        }
    }

    fn check_http(&self, s: &HttpSpec) -> Result<(), Violation> {
        let m = &self.config().measurements;
        let scheme = if s.url.https {
            HttpScheme::Https
        } else {
            HttpScheme::Http
        };
        Self::method(&m.http.methods, scheme, "http", "measurements.http.methods")?;
        self.tcp(&[PortRange::single(s.url.port)])
    }

    fn check_udpprobe(&self, s: &UdpprobeSpec) -> Result<(), Violation> {
        self.payload(s.payload.len() as u32)?;
        self.udp(&[PortRange::single(s.dport)])
    }
}
