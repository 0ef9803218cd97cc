//! The two kinds of failure: a policy that cannot be loaded, and a command the policy refuses.

use std::net::IpAddr;
use std::path::PathBuf;

use crate::dnp::DnpError;
use crate::ports::PortRange;
use crate::prefix::Prefix;

/// Why a policy could not be loaded. The probe stops at start on any of these: a bad policy
/// never turns into a default one.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy file could not be read.
    #[error("cannot read policy file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key, or a value of the wrong type or range.
    #[error("policy {origin} line {line}, column {column}{}: {message}", key_text(.key.as_deref()))]
    Syntax {
        /// Where the text came from (`file /etc/vantage/policy.toml`, or `text`).
        origin: String,
        /// The line, counting from 1.
        line: usize,
        /// The column (in characters), counting from 1.
        column: usize,
        /// The dotted key the error is about (`rate.pps`, `destinations.deny[2]`), when known.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The do-not-probe list named by `do_not_probe.file` could not be read or parsed.
    #[error("policy {origin} line {line}, key do_not_probe.file: {error}")]
    DoNotProbe {
        /// Where the policy text came from.
        origin: String,
        /// The line of the `file` key.
        line: usize,
        /// What went wrong with the list.
        #[source]
        error: Box<DnpError>,
    },
    /// A published policy document is not one this version can read.
    #[error("published policy: {0}")]
    Publication(String),
}

fn key_text(key: Option<&str>) -> String {
    key.map(|k| format!(", key {k}")).unwrap_or_default()
}

/// A rule of the policy that a command (or one packet) breaks. Its text names the rule by
/// its key in the policy file, so that a researcher knows what was refused and the host
/// knows which line to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// The measurement type is not in `measurements.types`.
    #[error("policy: measurement type {kind} not allowed (measurements.types)")]
    MeasurementType {
        /// The command word.
        kind: &'static str,
    },
    /// A command this version of the policy does not know how to judge; refused to be safe.
    #[error("policy: {kind} commands are not covered by this policy and are refused")]
    Unsupported {
        /// The command word.
        kind: &'static str,
    },
    /// The method is not in the type's method list.
    #[error("policy: method {method} of {kind} not allowed ({rule})")]
    Method {
        /// The command word.
        kind: &'static str,
        /// The method's name.
        method: &'static str,
        /// The list it is missing from (`measurements.ping.methods`).
        rule: &'static str,
    },
    /// The destination is inside a prefix of `destinations.deny`.
    #[error("policy: destination {addr} is in denied prefix {prefix} (destinations.deny)")]
    Denied {
        /// The destination.
        addr: IpAddr,
        /// The most specific denied prefix holding it.
        prefix: Prefix,
    },
    /// The destination is special-purpose space of the built-in deny list, and no allow entry
    /// names it.
    #[error(
        "policy: destination {addr} is in denied prefix {prefix} (destinations.deny default: {name}, {rfc}; list it in destinations.allow to permit it)"
    )]
    DefaultDenied {
        /// The destination.
        addr: IpAddr,
        /// The most specific built-in block holding it.
        prefix: Prefix,
        /// The block's registry name.
        name: &'static str,
        /// The RFC defining the block.
        rfc: &'static str,
    },
    /// The destination is outside every prefix of `destinations.allow`.
    #[error("policy: destination {addr} is not in any prefix of destinations.allow")]
    NotAllowed {
        /// The destination.
        addr: IpAddr,
    },
    /// The destination is in the do-not-probe list.
    #[error(
        "policy: destination {addr} is in the do-not-probe list (prefix {prefix}, line {line} of {file}) (do_not_probe.file)"
    )]
    DoNotProbe {
        /// The destination.
        addr: IpAddr,
        /// The most specific listed prefix holding it.
        prefix: Prefix,
        /// Its line in the list.
        line: u32,
        /// The list file.
        file: String,
    },
    /// A probe's TTL would exceed `options.max_ttl`.
    #[error("policy: ttl {ttl} above max_ttl {max} (options.max_ttl{note})")]
    Ttl {
        /// The largest TTL the command may use.
        ttl: u8,
        /// The ceiling.
        max: u8,
        /// Why the TTL is what it is, when the command did not say it (starts with "; ").
        note: &'static str,
    },
    /// A destination port is outside `ports.tcp` or `ports.udp`.
    #[error("policy: port {port} not in ports.{proto}{}", span_text(*.used))]
    Port {
        /// `tcp` or `udp`.
        proto: &'static str,
        /// The first port used that the list does not hold.
        port: u16,
        /// The ports the command uses, when more than one (the part that wraps past 65535
        /// is a range of its own).
        used: Option<PortRange>,
    },
    /// A probe's payload exceeds `payload.max_bytes`.
    #[error("policy: payload of {bytes} bytes above payload.max_bytes {max}")]
    Payload {
        /// The payload size.
        bytes: u32,
        /// The ceiling.
        max: u32,
    },
    /// Spoofed sources are not allowed.
    #[error("policy: spoofed source not allowed (options.spoof)")]
    Spoof,
    /// The IPv4 record-route option is not allowed.
    #[error("policy: IP record-route option not allowed (options.record_route)")]
    RecordRoute,
    /// The IPv4 timestamp option is not allowed.
    #[error("policy: IP timestamp option not allowed (options.timestamp)")]
    Timestamp,
    /// One measurement alone would send faster than the whole vantage point may.
    #[error(
        "policy: {kind} probing every {interval_ms} ms is {pps} packets/s, above rate.pps {max} (rate.pps)"
    )]
    Rate {
        /// The command word.
        kind: &'static str,
        /// Its interval between probes, in milliseconds.
        interval_ms: u64,
        /// The rate that makes, rounded up.
        pps: u64,
        /// The ceiling.
        max: u32,
    },
}

fn span_text(used: Option<PortRange>) -> String {
    used.map(|r| format!(" (the command uses ports {r})"))
        .unwrap_or_default()
}

impl Violation {
    /// The policy key of the rule broken (`options.spoof`, `destinations.deny`, ...).
    pub fn rule(&self) -> &'static str {
        match self {
            Violation::MeasurementType { .. } | Violation::Unsupported { .. } => {
                "measurements.types"
            }
            Violation::Method { rule, .. } => rule,
            Violation::Denied { .. } | Violation::DefaultDenied { .. } => "destinations.deny",
            Violation::NotAllowed { .. } => "destinations.allow",
            Violation::DoNotProbe { .. } => "do_not_probe.file",
            Violation::Ttl { .. } => "options.max_ttl",
            Violation::Port { proto: "tcp", .. } => "ports.tcp",
            Violation::Port { .. } => "ports.udp",
            Violation::Payload { .. } => "payload.max_bytes",
            Violation::Spoof => "options.spoof",
            Violation::RecordRoute => "options.record_route",
            Violation::Timestamp => "options.timestamp",
            Violation::Rate { .. } => "rate.pps",
        }
    }
}
