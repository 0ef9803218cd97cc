//! The vantage point policy: what the people hosting a vantage point (VP) allow it to do,
//! declared in a TOML file, and the judgement of every command against it.
//!
//! * [`Policy::load`] reads a policy file (`vantage probe --policy FILE`); a bad file is an
//!   error naming the line, column and key ([`PolicyError`]), never a silent default.
//!   [`Policy::default`] is the documented default policy (conservative: no http, udpprobe or
//!   sniff, no spoofing or IP options, no special-purpose destinations, 100 packets/s).
//! * [`Policy::check`] judges a parsed [`vantage_command::Command`] before any packet exists;
//!   a refusal is a [`Violation`] whose text names the rule broken
//!   (`policy: port 22 not in ports.tcp`). [`Policy::check_packet`] judges one packet, for
//!   what a command cannot bound in advance. [`Policy`] is also a
//!   [`vantage_command::DestinationCheck`].
//! * [`Policy::effective_pps`] and [`Policy::effective_max_tasks`] cap what a probe runs at.
//! * [`DoNotProbe`] is the reloadable do-not-probe list (millions of prefixes, one binary
//!   search per lookup; a bad reload keeps the old list).
//! * [`Policy::canonical_hash`], [`Policy::publication`] / [`Policy::to_json`] identify and
//!   publish the policy; [`Policy::explain`] describes it in plain language.
//!
//! ```
//! use vantage_command::{Command, Context};
//! use vantage_policy::Policy;
//!
//! let policy = Policy::from_toml(
//!     "[measurements]\ntypes = [\"ping\"]\n[measurements.ping]\nmethods = [\"icmp-echo\"]\n",
//!     "example",
//!     None,
//! )?;
//! let ctx = Context::new(1);
//! let ok = Command::parse("ping 192.0.2.1", &ctx).unwrap();
//! let err = policy.check(&ok).unwrap_err(); // documentation space: denied by default
//! assert_eq!(
//!     err.to_string(),
//!     "policy: destination 192.0.2.1 is in denied prefix 192.0.2.0/24 (destinations.deny \
//!      default: documentation (TEST-NET-1), RFC 5737; list it in destinations.allow to permit it)"
//! );
//! let syn = Command::parse("ping -P tcp-syn 8.8.8.8", &ctx).unwrap();
//! assert_eq!(
//!     policy.check(&syn).unwrap_err().to_string(),
//!     "policy: method tcp-syn of ping not allowed (measurements.ping.methods)"
//! );
//! assert_eq!(policy.effective_pps(10_000), 100);
//! # Ok::<(), vantage_policy::PolicyError>(())
//! ```
//!
//! The file format, with a complete example, is in `docs/policy.md`.
//!
//! What this crate is not: it sends nothing and paces nothing. The probe applies the checks,
//! the rate ceiling and reloads (on a signal or a timer); the controller relays
//! publications. Its only I/O is reading the policy file and the do-not-probe list.

mod check;
mod config;
mod dnp;
mod error;
mod explain;
mod locate;
mod methods;
mod policy;
mod ports;
mod prefix;
mod special;
mod table;

#[doc(hidden)]
pub mod fuzzing;

pub use check::{PacketFacts, Transport};
pub use config::{
    DealiasTable, Destinations, DoNotProbeFile, Measurements, MethodTable, Options, Payload,
    PolicyConfig, Ports, Rate,
};
pub use dnp::{DnpError, DnpList, DnpMatch, DoNotProbe};
pub use error::{PolicyError, Violation};
pub use methods::{DealiasKind, HostTransport, HttpScheme, MeasurementType, MethodName, Methods};
pub use policy::{DnpSummary, FORMAT, Policy, Publication, PublishedBlock};
pub use ports::{PortRange, PortRangeError};
pub use prefix::{Prefix, PrefixError};
pub use special::{Category, DEFAULT_DENY, SpecialBlock};
