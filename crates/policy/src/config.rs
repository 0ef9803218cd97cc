//! The policy file's model: one struct per TOML section, each with conservative defaults.
//! Unknown keys are errors, never ignored.

use serde::{Deserialize, Deserializer, Serialize};
use vantage_command::{PingMethod, ProbeMethod, TraceMethod, TracelbMethod};

use crate::methods::{
    DealiasKind, HostTransport, HttpScheme, MeasurementType, MethodName, Methods,
};
use crate::ports::{self, PortRange};
use crate::prefix::Prefix;

/// A whole policy file. Every section and key may be left out; what is left out takes the
/// documented default (see `docs/policy.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// `[measurements]`: which measurement types run, with which methods.
    pub measurements: Measurements,
    /// `[rate]`: packet rate and concurrency ceilings.
    pub rate: Rate,
    /// `[destinations]`: which addresses may be probed.
    pub destinations: Destinations,
    /// `[ports]`: which TCP and UDP destination ports may be used.
    pub ports: Ports,
    /// `[payload]`: how much payload a probe may carry.
    pub payload: Payload,
    /// `[options]`: IP options, spoofing and the TTL ceiling.
    pub options: Options,
    /// `[do_not_probe]`: the do-not-probe list file.
    pub do_not_probe: DoNotProbeFile,
}

impl PolicyConfig {
    /// Sorts every list into canonical order and drops repeats, so that two files saying the
    /// same thing give equal configs (and equal hashes).
    pub fn normalize(&mut self) {
        let m = &mut self.measurements;
        m.types.sort_unstable();
        m.types.dedup();
        m.ping.methods.normalize();
        m.trace.methods.normalize();
        m.tracelb.methods.normalize();
        m.dealias.methods.normalize();
        m.dealias.probe_methods.normalize();
        m.host.methods.normalize();
        m.http.methods.normalize();
        for list in [&mut self.destinations.allow, &mut self.destinations.deny] {
            list.sort_unstable();
            list.dedup();
        }
        ports::normalize(&mut self.ports.tcp);
        ports::normalize(&mut self.ports.udp);
    }
}

/// `[measurements]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Measurements {
    /// `types`: the measurement types allowed. Default: ping, trace, tracelb, dealias, host.
    pub types: Vec<MeasurementType>,
    /// `[measurements.ping]`.
    pub ping: MethodTable<PingMethod>,
    /// `[measurements.trace]`.
    pub trace: MethodTable<TraceMethod>,
    /// `[measurements.tracelb]`.
    pub tracelb: MethodTable<TracelbMethod>,
    /// `[measurements.dealias]`.
    pub dealias: DealiasTable,
    /// `[measurements.host]`: methods `udp`, `tcp`.
    pub host: MethodTable<HostTransport>,
    /// `[measurements.http]`: methods `http`, `https`.
    pub http: MethodTable<HttpScheme>,
}

impl Default for Measurements {
    fn default() -> Self {
        Measurements {
            types: vec![
                MeasurementType::Ping,
                MeasurementType::Trace,
                MeasurementType::Tracelb,
                MeasurementType::Dealias,
                MeasurementType::Host,
            ],
            ping: MethodTable::default(),
            trace: MethodTable::default(),
            tracelb: MethodTable::default(),
            dealias: DealiasTable::default(),
            host: MethodTable::default(),
            http: MethodTable::default(),
        }
    }
}

/// `[measurements.<type>]` for a type with one list of methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    default,
    bound(serialize = "M: MethodName", deserialize = "M: MethodName")
)]
pub struct MethodTable<M: MethodName> {
    /// `methods`: the methods allowed. Default: all of them.
    pub methods: Methods<M>,
}

impl<M: MethodName> Default for MethodTable<M> {
    fn default() -> Self {
        MethodTable {
            methods: Methods::all(),
        }
    }
}

/// `[measurements.dealias]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DealiasTable {
    /// `methods`: the alias-resolution methods allowed (`-m`). Default: all.
    pub methods: Methods<DealiasKind>,
    /// `probe_methods`: how probe definitions may send (`-p '-P ...'`). Default: all.
    pub probe_methods: Methods<ProbeMethod>,
}

/// `[rate]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rate {
    /// `pps`: packets per second, all measurements together (1 to 1000000). Default 100.
    #[serde(deserialize_with = "de_pps")]
    pub pps: u32,
    /// `max_tasks`: measurements running at once (1 to 1000000). Default 100.
    #[serde(deserialize_with = "de_max_tasks")]
    pub max_tasks: u32,
}

impl Default for Rate {
    fn default() -> Self {
        Rate {
            pps: 100,
            max_tasks: 100,
        }
    }
}

/// `[destinations]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Destinations {
    /// `allow`: a destination must be inside one of these. A special-purpose block of the
    /// built-in deny list is allowed only where an allow entry lies inside it (names it
    /// explicitly). Default: `0.0.0.0/0` and `::/0`, which lift none of the built-in list.
    pub allow: Vec<Prefix>,
    /// `deny`: never probed, whatever `allow` says. Default: empty.
    pub deny: Vec<Prefix>,
}

impl Default for Destinations {
    fn default() -> Self {
        Destinations {
            allow: vec![Prefix::v4([0; 4], 0), Prefix::v6([0; 8], 0)],
            deny: Vec::new(),
        }
    }
}

/// `[ports]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ports {
    /// `tcp`: TCP destination ports allowed. Default `1-65535`.
    pub tcp: Vec<PortRange>,
    /// `udp`: UDP destination ports allowed. Default `1-65535`.
    pub udp: Vec<PortRange>,
}

impl Default for Ports {
    fn default() -> Self {
        let all = PortRange {
            first: 1,
            last: u16::MAX,
        };
        Ports {
            tcp: vec![all],
            udp: vec![all],
        }
    }
}

/// `[payload]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Payload {
    /// `max_bytes`: bytes a probe may carry after its ICMP, UDP or TCP header (0 to 65535).
    /// Default 1400, which keeps every probe within a 1500-byte MTU.
    #[serde(deserialize_with = "de_max_bytes")]
    pub max_bytes: u32,
}

impl Default for Payload {
    fn default() -> Self {
        Payload { max_bytes: 1400 }
    }
}

/// `[options]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// `spoof`: probes may carry a source address that is not this host's. Default false.
    pub spoof: bool,
    /// `record_route`: probes may carry the IPv4 record-route option. Default false.
    pub record_route: bool,
    /// `timestamp`: probes may carry the IPv4 timestamp option. Default false.
    pub timestamp: bool,
    /// `max_ttl`: the largest TTL / hop limit a probe may have (1 to 255). Default 255.
    #[serde(deserialize_with = "de_max_ttl")]
    pub max_ttl: u8,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            spoof: false,
            record_route: false,
            timestamp: false,
            max_ttl: u8::MAX,
        }
    }
}

/// `[do_not_probe]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DoNotProbeFile {
    /// `file`: a do-not-probe list (one prefix per line); relative paths are relative to the
    /// policy file's folder. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

fn in_range<'de, D: Deserializer<'de>>(
    d: D,
    lo: u64,
    hi: u64,
    key: &'static str,
) -> Result<u64, D::Error> {
    struct V {
        lo: u64,
        hi: u64,
        key: &'static str,
    }
    impl V {
        fn check<E: serde::de::Error>(&self, v: i128) -> Result<u64, E> {
            match u64::try_from(v) {
                Ok(n) if (self.lo..=self.hi).contains(&n) => Ok(n),
                _ => Err(E::custom(format!(
                    "{} must be within {} - {}, not {v}",
                    self.key, self.lo, self.hi
                ))),
            }
        }
    }
    impl serde::de::Visitor<'_> for V {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "an integer within {} - {}", self.lo, self.hi)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
            self.check(i128::from(v))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
            self.check(i128::from(v))
        }
    }
    d.deserialize_any(V { lo, hi, key })
}

fn de_pps<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    in_range(d, 1, 1_000_000, "pps").map(|v| v as u32)
}

fn de_max_tasks<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    in_range(d, 1, 1_000_000, "max_tasks").map(|v| v as u32)
}

fn de_max_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    in_range(d, 0, 65_535, "max_bytes").map(|v| v as u32)
}

fn de_max_ttl<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    in_range(d, 1, 255, "max_ttl").map(|v| v as u8)
}
