//! Measurement types and the method names a policy may list for each.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use vantage_command::{CommandKind, PingMethod, ProbeMethod, TraceMethod, TracelbMethod};

/// A measurement type a vantage point may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MeasurementType {
    /// `ping`.
    Ping,
    /// `trace`.
    Trace,
    /// `tracelb` (MDA traceroute).
    Tracelb,
    /// `dealias` (alias resolution).
    Dealias,
    /// `host` (DNS queries).
    Host,
    /// `http` (HTTP and HTTPS requests).
    Http,
    /// `udpprobe` (UDP requests with an application payload).
    Udpprobe,
    /// `sniff` (packet capture on the vantage point).
    Sniff,
}

impl MeasurementType {
    /// Every type, in the order policies list them.
    pub const ALL: [MeasurementType; 8] = [
        MeasurementType::Ping,
        MeasurementType::Trace,
        MeasurementType::Tracelb,
        MeasurementType::Dealias,
        MeasurementType::Host,
        MeasurementType::Http,
        MeasurementType::Udpprobe,
        MeasurementType::Sniff,
    ];

    /// The command word.
    pub fn as_str(self) -> &'static str {
        match self {
            MeasurementType::Ping => "ping",
            MeasurementType::Trace => "trace",
            MeasurementType::Tracelb => "tracelb",
            MeasurementType::Dealias => "dealias",
            MeasurementType::Host => "host",
            MeasurementType::Http => "http",
            MeasurementType::Udpprobe => "udpprobe",
            MeasurementType::Sniff => "sniff",
        }
    }

    /// The type of a command kind; `None` for the command words Vantage does not run.
    pub fn of(kind: CommandKind) -> Option<MeasurementType> {
        Self::ALL.into_iter().find(|t| t.as_str() == kind.as_str())
    }

    /// What the type does, for a host reading an explanation.
    pub fn describe(self) -> &'static str {
        match self {
            MeasurementType::Ping => "ping (echo-style reachability and delay probes)",
            MeasurementType::Trace => "trace (traceroute)",
            MeasurementType::Tracelb => "tracelb (traceroute exploring load-balanced paths)",
            MeasurementType::Dealias => {
                "dealias (alias resolution: which addresses share a router)"
            }
            MeasurementType::Host => "host (DNS queries)",
            MeasurementType::Http => "http (web requests, HTTP and HTTPS)",
            MeasurementType::Udpprobe => "udpprobe (UDP requests with an application payload)",
            MeasurementType::Sniff => "sniff (capture of ICMP packets arriving at this host)",
        }
    }
}

/// The dealias method (`dealias -m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DealiasKind {
    /// `mercator`.
    Mercator,
    /// `ally`.
    Ally,
    /// `radargun`.
    Radargun,
    /// `prefixscan`.
    Prefixscan,
    /// `bump`.
    Bump,
    /// `midarest`.
    Midarest,
    /// `midardisc`.
    Midardisc,
}

/// The transport of a DNS query (`host`, `-T` for TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostTransport {
    /// Over UDP (the default).
    Udp,
    /// Over TCP.
    Tcp,
}

/// The scheme of an `http` URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpScheme {
    /// `http://`.
    Http,
    /// `https://`.
    Https,
}

/// A closed set of method names, as listed in `measurements.<type>.methods`.
pub trait MethodName: Copy + Eq + 'static {
    /// What a bad name was meant to be, for errors ("ping method").
    const WHAT: &'static str;
    /// Every method, in canonical order.
    fn all() -> &'static [Self];
    /// The name in the command language.
    fn name(self) -> &'static str;

    /// Reads a name, ignoring case.
    fn from_name(s: &str) -> Option<Self> {
        Self::all()
            .iter()
            .copied()
            .find(|m| m.name().eq_ignore_ascii_case(s))
    }

    /// The position in [`MethodName::all`], for sorting.
    fn rank(self) -> usize {
        Self::all()
            .iter()
            .position(|m| *m == self)
            .unwrap_or(usize::MAX)
    }
}

impl MethodName for PingMethod {
    const WHAT: &'static str = "ping method";
    fn all() -> &'static [Self] {
        &PingMethod::ALL
    }
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl MethodName for TraceMethod {
    const WHAT: &'static str = "trace method";
    fn all() -> &'static [Self] {
        &TraceMethod::ALL
    }
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl MethodName for TracelbMethod {
    const WHAT: &'static str = "tracelb method";
    fn all() -> &'static [Self] {
        &TracelbMethod::ALL
    }
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl MethodName for ProbeMethod {
    const WHAT: &'static str = "dealias probe method";
    fn all() -> &'static [Self] {
        &ProbeMethod::ALL
    }
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl MethodName for DealiasKind {
    const WHAT: &'static str = "dealias method";
    fn all() -> &'static [Self] {
        &[
            DealiasKind::Mercator,
            DealiasKind::Ally,
            DealiasKind::Radargun,
            DealiasKind::Prefixscan,
            DealiasKind::Bump,
            DealiasKind::Midarest,
            DealiasKind::Midardisc,
        ]
    }
    fn name(self) -> &'static str {
        match self {
            DealiasKind::Mercator => "mercator",
            DealiasKind::Ally => "ally",
            DealiasKind::Radargun => "radargun",
            DealiasKind::Prefixscan => "prefixscan",
            DealiasKind::Bump => "bump",
            DealiasKind::Midarest => "midarest",
            DealiasKind::Midardisc => "midardisc",
        }
    }
}

impl MethodName for HostTransport {
    const WHAT: &'static str = "host method";
    fn all() -> &'static [Self] {
        &[HostTransport::Udp, HostTransport::Tcp]
    }
    fn name(self) -> &'static str {
        match self {
            HostTransport::Udp => "udp",
            HostTransport::Tcp => "tcp",
        }
    }
}

impl MethodName for HttpScheme {
    const WHAT: &'static str = "http method";
    fn all() -> &'static [Self] {
        &[HttpScheme::Http, HttpScheme::Https]
    }
    fn name(self) -> &'static str {
        match self {
            HttpScheme::Http => "http",
            HttpScheme::Https => "https",
        }
    }
}

/// A list of allowed methods; written in policy files as an array of names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Methods<M: MethodName>(pub Vec<M>);

impl<M: MethodName> Methods<M> {
    /// Every method of the type.
    pub fn all() -> Self {
        Methods(M::all().to_vec())
    }

    /// Whether `m` is listed.
    pub fn allows(&self, m: M) -> bool {
        self.0.contains(&m)
    }

    /// Sorts into canonical order and drops repeats.
    pub(crate) fn normalize(&mut self) {
        self.0.sort_by_key(|m| m.rank());
        self.0.dedup();
    }

    /// The names, comma separated.
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(|m| m.name()).collect();
        names.join(", ")
    }
}

impl<M: MethodName> Default for Methods<M> {
    fn default() -> Self {
        Self::all()
    }
}

impl<M: MethodName> Serialize for Methods<M> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|m| m.name()))
    }
}

/// One method name; its own type so that a bad name's error points at that array element.
struct Named<M>(M);

impl<'de, M: MethodName> Deserialize<'de> for Named<M> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<M>(PhantomData<M>);
        impl<M: MethodName> Visitor<'_> for V<M> {
            type Value = Named<M>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a {} name", M::WHAT)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Named<M>, E> {
                M::from_name(v).map(Named).ok_or_else(|| {
                    let names: Vec<&str> = M::all().iter().map(|m| m.name()).collect();
                    E::custom(format!(
                        "unknown {} `{v}`, expected one of {}",
                        M::WHAT,
                        names.join(", ")
                    ))
                })
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

impl<'de, M: MethodName> Deserialize<'de> for Methods<M> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<M>(PhantomData<M>);
        impl<'de, M: MethodName> Visitor<'de> for V<M> {
            type Value = Methods<M>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an array of {} names", M::WHAT)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Methods<M>, A::Error> {
                let mut out = Vec::new();
                while let Some(Named(m)) = seq.next_element::<Named<M>>()? {
                    out.push(m);
                }
                Ok(Methods(out))
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_type_maps() {
        for t in MeasurementType::ALL {
            let kind = CommandKind::from_word(t.as_str());
            assert_eq!(kind.and_then(MeasurementType::of), Some(t));
        }
        assert_eq!(MeasurementType::of(CommandKind::Tbit), None);
    }

    #[test]
    fn names_round_trip() {
        fn check<M: MethodName + fmt::Debug>() {
            for m in M::all() {
                assert_eq!(M::from_name(&m.name().to_uppercase()), Some(*m));
            }
        }
        check::<PingMethod>();
        check::<TraceMethod>();
        check::<TracelbMethod>();
        check::<ProbeMethod>();
        check::<DealiasKind>();
        check::<HostTransport>();
        check::<HttpScheme>();
    }

    #[test]
    fn normalize_orders_and_dedups() {
        let mut m = Methods(vec![PingMethod::Udp, PingMethod::IcmpEcho, PingMethod::Udp]);
        m.normalize();
        assert_eq!(m.names(), "icmp-echo, udp");
    }
}
