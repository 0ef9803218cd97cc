//! The measurement command language: text to typed measurement specifications and back.
//!
//! A probe receives lines such as `ping -c 3 -P udp 192.0.2.1` on its control socket (spec
//! `control-protocol.md` §5); the Python module and the CLI write them. This crate is the one
//! parser of that language and the one writer of it:
//!
//! * [`Command::parse`] turns a line into a [`Command`] holding a typed spec ([`PingSpec`],
//!   [`TraceSpec`], ...) with every default filled in and every validation rule of
//!   `shared/spec/commands.md` applied. Its [`CommandError`] displays exactly the reason a
//!   probe sends after `ERR command not accepted: `.
//! * [`Command::to_command_string`] writes a spec back as a canonical line that parses to an
//!   equal spec.
//! * Defaults that depend on the prober (the source port derived from its process id) come
//!   from a [`Context`], so parsing is deterministic.
//! * The do-not-probe policy plugs in through [`DestinationCheck`] ([`Command::parse_checked`]).
//!
//! ```
//! use vantage_command::{Command, Context, PingMethod};
//!
//! let ctx = Context::new(4242); // the prober's process id
//! let Command::Ping(ping) = Command::parse("ping -c 3 -P udp 192.0.2.1", &ctx)? else {
//!     unreachable!()
//! };
//! assert_eq!((ping.attempts, ping.method, ping.probe_size), (3, PingMethod::Udp, 40));
//! assert_eq!(ping.to_command_string(), "ping -c 3 -P udp 192.0.2.1");
//!
//! let err = Command::parse("ping -c 0 192.0.2.1", &ctx).unwrap_err();
//! assert_eq!(err.to_string(), "-c failed: attempts must be within 1 - 65535");
//! # Ok::<(), vantage_command::CommandError>(())
//! ```
//!
//! Layers: `lex` is the generic tokenizer every command shares (command word,
//! clustered flags, NUM/STR parameters, quoting, target = rest of line); `value` converts
//! parameters (numbers with base detection, hex, TIME syntax, IP literals); one module per
//! command holds its option table, spec type, defaults and rules. Adding a command means one
//! more such module (a `Table`, a spec with `parse(rest, ctx)`, `to_command_string()` and
//! `probed_addresses()`), one [`Command`] variant and one arm in [`Command::parse`].
//!
//! What this crate is not: it sends nothing, resolves no names and knows nothing of results
//! (see `vantage-model`) or of the control protocol's framing (see `vantage-proto`).
//!
//! Commands implemented: `ping`, `trace`, `tracelb`, `dealias`, `host`, `http`, `udpprobe`,
//! `sniff`. The other command words of the language (`neighbourdisc`, `tbit`, `sting`,
//! `owamp`) are recognised and refused with [`CommandError::NotSupported`].

mod context;
mod dealias;
mod emit;
mod error;
mod host;
mod http;
mod lex;
mod ping;
mod sniff;
mod trace;
mod tracelb;
mod udpprobe;
mod value;

#[doc(hidden)]
pub mod fuzzing;

use std::net::IpAddr;

pub use context::{AllowAll, Context, DestinationCheck, Setting};
pub use dealias::{
    Ally, Bump, DealiasMethod, DealiasSpec, Mercator, MidarRound, Midardisc, Midarest, Prefixscan,
    ProbeDef, ProbeMethod, Radargun,
};
pub use error::CommandError;
pub use host::{ClientSubnet, HostSpec, QueryClass, QueryType};
pub use http::{HttpHeader, HttpSpec, HttpUrl};
pub use ping::{PingMethod, PingOptions, PingSpec, PingTimestamp};
pub use sniff::SniffSpec;
pub use trace::{Confidence, GapAction, TraceMethod, TraceOptions, TraceSpec};
pub use tracelb::{TracelbMethod, TracelbSpec};
pub use udpprobe::UdpprobeSpec;

/// The command words of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// `trace`: traceroute.
    Trace,
    /// `ping`.
    Ping,
    /// `tracelb`: MDA traceroute.
    Tracelb,
    /// `dealias`: alias resolution.
    Dealias,
    /// `neighbourdisc`: ARP / IPv6 neighbour discovery.
    Neighbourdisc,
    /// `tbit`: TCP behaviour inference.
    Tbit,
    /// `sting`: TCP loss measurement.
    Sting,
    /// `sniff`: packet capture.
    Sniff,
    /// `host`: DNS query.
    Host,
    /// `http`: HTTP(S) fetch.
    Http,
    /// `udpprobe`: UDP request/response.
    Udpprobe,
    /// `owamp`: one-way active measurement.
    Owamp,
}

impl CommandKind {
    /// Every command word.
    pub const ALL: [CommandKind; 12] = [
        CommandKind::Trace,
        CommandKind::Ping,
        CommandKind::Tracelb,
        CommandKind::Dealias,
        CommandKind::Neighbourdisc,
        CommandKind::Tbit,
        CommandKind::Sting,
        CommandKind::Sniff,
        CommandKind::Host,
        CommandKind::Http,
        CommandKind::Udpprobe,
        CommandKind::Owamp,
    ];

    /// The command word, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Trace => "trace",
            CommandKind::Ping => "ping",
            CommandKind::Tracelb => "tracelb",
            CommandKind::Dealias => "dealias",
            CommandKind::Neighbourdisc => "neighbourdisc",
            CommandKind::Tbit => "tbit",
            CommandKind::Sting => "sting",
            CommandKind::Sniff => "sniff",
            CommandKind::Host => "host",
            CommandKind::Http => "http",
            CommandKind::Udpprobe => "udpprobe",
            CommandKind::Owamp => "owamp",
        }
    }

    /// Reads a command word, ignoring case.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(word))
    }

    /// Splits a line into its command kind and the rest (the options and target). The command
    /// word must be followed by whitespace: a bare `ping` is not a command.
    pub fn split(line: &str) -> Result<(Self, &str), CommandError> {
        let line = line.trim_start_matches(lex::is_space);
        let end = line
            .find(lex::is_space)
            .ok_or(CommandError::UnknownCommand)?;
        let kind = Self::from_word(&line[..end]).ok_or(CommandError::UnknownCommand)?;
        Ok((kind, &line[end..]))
    }
}

/// A parsed, validated measurement command.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Command {
    /// `ping`.
    Ping(PingSpec),
    /// `trace`.
    Trace(TraceSpec),
    /// `tracelb`.
    Tracelb(TracelbSpec),
    /// `dealias`.
    Dealias(DealiasSpec),
    /// `host`.
    Host(HostSpec),
    /// `http`.
    Http(HttpSpec),
    /// `udpprobe`.
    Udpprobe(UdpprobeSpec),
    /// `sniff`.
    Sniff(SniffSpec),
}

impl Command {
    /// Parses one command line (without its line terminator).
    pub fn parse(line: &str, ctx: &Context) -> Result<Command, CommandError> {
        let (kind, rest) = CommandKind::split(line)?;
        match kind {
            CommandKind::Ping => PingSpec::parse(rest, ctx).map(Command::Ping),
            CommandKind::Trace => TraceSpec::parse(rest, ctx).map(Command::Trace),
            CommandKind::Tracelb => TracelbSpec::parse(rest, ctx).map(Command::Tracelb),
            CommandKind::Dealias => DealiasSpec::parse(rest, ctx).map(Command::Dealias),
            CommandKind::Host => HostSpec::parse(rest, ctx).map(Command::Host),
            CommandKind::Http => HttpSpec::parse(rest, ctx).map(Command::Http),
            CommandKind::Udpprobe => UdpprobeSpec::parse(rest, ctx).map(Command::Udpprobe),
            CommandKind::Sniff => SniffSpec::parse(rest).map(Command::Sniff),
            other => Err(CommandError::NotSupported {
                command: other.as_str(),
            }),
        }
    }

    /// Parses one command line, then refuses it with [`CommandError::DoNotProbe`] when any
    /// address it would probe is blocked by `check` (the probe's do-not-probe policy).
    pub fn parse_checked(
        line: &str,
        ctx: &Context,
        check: &dyn DestinationCheck,
    ) -> Result<Command, CommandError> {
        let cmd = Self::parse(line, ctx)?;
        if cmd
            .probed_addresses()
            .into_iter()
            .any(|a| check.is_blocked(a))
        {
            return Err(CommandError::DoNotProbe);
        }
        Ok(cmd)
    }

    /// Which command this is.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Ping(_) => CommandKind::Ping,
            Command::Trace(_) => CommandKind::Trace,
            Command::Tracelb(_) => CommandKind::Tracelb,
            Command::Dealias(_) => CommandKind::Dealias,
            Command::Host(_) => CommandKind::Host,
            Command::Http(_) => CommandKind::Http,
            Command::Udpprobe(_) => CommandKind::Udpprobe,
            Command::Sniff(_) => CommandKind::Sniff,
        }
    }

    /// The canonical command line for this command; it parses back to an equal command
    /// (given the same [`Context`]).
    pub fn to_command_string(&self) -> String {
        match self {
            Command::Ping(s) => s.to_command_string(),
            Command::Trace(s) => s.to_command_string(),
            Command::Tracelb(s) => s.to_command_string(),
            Command::Dealias(s) => s.to_command_string(),
            Command::Host(s) => s.to_command_string(),
            Command::Http(s) => s.to_command_string(),
            Command::Udpprobe(s) => s.to_command_string(),
            Command::Sniff(s) => s.to_command_string(),
        }
    }

    /// Every address the command would send packets to: what a do-not-probe policy checks.
    pub fn probed_addresses(&self) -> Vec<IpAddr> {
        match self {
            Command::Ping(s) => s.probed_addresses(),
            Command::Trace(s) => s.probed_addresses(),
            Command::Tracelb(s) => s.probed_addresses(),
            Command::Dealias(s) => s.probed_addresses(),
            Command::Host(s) => s.probed_addresses(),
            Command::Http(s) => s.probed_addresses(),
            Command::Udpprobe(s) => s.probed_addresses(),
            Command::Sniff(s) => s.probed_addresses(),
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_command_string())
    }
}
