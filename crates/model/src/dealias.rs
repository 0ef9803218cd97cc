//! Alias resolution (dealias): ally, mercator, radargun, prefixscan, bump and
//! the MIDAR estimation and discovery stages.

use std::sync::Arc;
use std::time::Duration;

use crate::macros::{code_enum, flag_set};
use crate::{Addr, Cycle, IcmpExt, List, Timestamp};

code_enum! {
    /// The outcome of an alias resolution.
    pub enum DealiasResult: u8 {
        /// No conclusion.
        None = 0 => "none",
        /// The addresses are aliases.
        Aliases = 1 => "aliases",
        /// The addresses are not aliases.
        NotAliases = 2 => "not-aliases",
        /// Halted by the user.
        Halted = 3 => "halted",
        /// The target echoes our IP-ID.
        IpidEcho = 4 => "ipid-echo",
        /// An error.
        Error = 5 => "error",
    }
}

code_enum! {
    /// How one probe definition probes.
    pub enum ProbedefMethod: u8 {
        /// Not recorded.
        Unset = 0 => "unset",
        /// ICMP echo.
        IcmpEcho = 1 => "icmp-echo",
        /// TCP ACK.
        TcpAck = 2 => "tcp-ack",
        /// UDP.
        Udp = 3 => "udp",
        /// TCP ACK, varying source port.
        TcpAckSport = 4 => "tcp-ack-sport",
        /// UDP, varying destination port.
        UdpDport = 5 => "udp-dport",
        /// TCP SYN, varying source port.
        TcpSynSport = 6 => "tcp-syn-sport",
    }
}

impl ProbedefMethod {
    /// Whether probes are ICMP.
    #[must_use]
    pub const fn is_icmp(self) -> bool {
        matches!(self, Self::IcmpEcho)
    }

    /// Whether probes are TCP.
    #[must_use]
    pub const fn is_tcp(self) -> bool {
        matches!(self, Self::TcpAck | Self::TcpAckSport | Self::TcpSynSport)
    }

    /// Whether probes are UDP.
    #[must_use]
    pub const fn is_udp(self) -> bool {
        matches!(self, Self::Udp | Self::UdpDport)
    }
}

/// How to build one kind of probe (its index in [`Dealias::probedefs`] is its id).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DealiasProbedef {
    /// Destination.
    pub dst: Option<Addr>,
    /// Source.
    pub src: Option<Addr>,
    /// Protocol and flow choice.
    pub method: ProbedefMethod,
    /// IP TTL.
    pub ttl: u8,
    /// IP TOS.
    pub tos: u8,
    /// Probe size (0 = default).
    pub size: u16,
    /// Pseudo MTU (0 = none).
    pub mtu: u16,
    /// Source port (TCP/UDP; must be 0 for ICMP).
    pub sport: u16,
    /// Destination port (TCP/UDP; must be 0 for ICMP).
    pub dport: u16,
    /// TCP flags (TCP).
    pub tcp_flags: u8,
    /// ICMP id (ICMP).
    pub icmp_id: u16,
    /// ICMP checksum (ICMP).
    pub icmp_csum: u16,
}

flag_set! {
    /// Per-reply flags of an alias-resolution reply.
    pub struct DealiasReplyFlags(u8) {
        /// The 32-bit IP-ID is valid (IPv6 fragment id).
        const IPID32 = 0x01 => "ipid32";
    }
}

/// One reply to an alias-resolution probe.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DealiasReply {
    /// Who replied.
    pub src: Addr,
    /// When it arrived.
    pub rx: Timestamp,
    /// IP-ID: 16 bits for IPv4, 32 for IPv6 (0 = none).
    pub ipid: u32,
    /// Reply TTL.
    pub ttl: u8,
    /// Reply size (0 = not recorded).
    pub size: u16,
    /// IP protocol of the reply.
    pub proto: u8,
    /// ICMP type (ICMP replies).
    pub icmp_type: u8,
    /// ICMP code (ICMP replies).
    pub icmp_code: u8,
    /// Quoted TTL (ICMP replies).
    pub icmp_q_ttl: u8,
    /// ICMP extension objects.
    pub icmp_exts: Vec<IcmpExt>,
    /// TCP flags (TCP replies).
    pub tcp_flags: u8,
    /// Flags.
    pub flags: DealiasReplyFlags,
}

impl DealiasReply {
    /// Whether the reply is ICMP or ICMPv6.
    #[must_use]
    pub const fn is_icmp(&self) -> bool {
        self.proto == 1 || self.proto == 58
    }

    /// Whether the reply is TCP.
    #[must_use]
    pub const fn is_tcp(&self) -> bool {
        self.proto == 6
    }
}

/// One alias-resolution probe and its replies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DealiasProbe {
    /// Index of its definition in [`Dealias::probedefs`].
    pub probedef: u32,
    /// When it was sent.
    pub tx: Timestamp,
    /// The probe's IP-ID (IPv4 destinations).
    pub ipid: u16,
    /// Sequence number.
    pub seq: u32,
    /// Replies.
    pub replies: Vec<DealiasReply>,
}

flag_set! {
    /// Ally options.
    pub struct AllyFlags(u8) {
        /// Skip the bs check (`-O nobs`).
        const NOBS = 0x01 => "nobs";
    }
}

flag_set! {
    /// Radargun options.
    pub struct RadargunFlags(u8) {
        /// Shuffle probe order (scamper's JSON prints it as "nobs").
        const SHUFFLE = 0x01 => "shuffle";
    }
}

flag_set! {
    /// Prefixscan options.
    pub struct PrefixscanFlags(u8) {
        /// Skip the bs check.
        const NOBS = 0x01 => "nobs";
        /// Common source address.
        const CSA = 0x02 => "csa";
    }
}

/// One round of a MIDAR discovery schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MidardiscRound {
    /// Start offset from the measurement start.
    pub start: Timestamp,
    /// First probedef index of the round.
    pub begin: u32,
    /// Last probedef index of the round.
    pub end: u32,
}

/// The method of an alias resolution and its settings.
///
/// Time units warts keeps: `wait_probe` milliseconds (16-bit, 32-bit for
/// radargun's `wait_round`), `wait_timeout` whole seconds (u8), except MIDAR
/// whose times are microseconds (u32).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DealiasMethod {
    /// Mercator: one probe to elicit a reply from another interface (1 probedef).
    Mercator {
        /// Attempts.
        attempts: u8,
        /// Reply timeout.
        wait_timeout: Duration,
    },
    /// Ally: interleaved probes to two addresses (2 probedefs).
    Ally {
        /// Time between probes.
        wait_probe: Duration,
        /// Reply timeout.
        wait_timeout: Duration,
        /// Attempts.
        attempts: u8,
        /// IP-ID distance allowed.
        fudge: u16,
        /// Options.
        flags: AllyFlags,
    },
    /// Radargun: rounds of probes to many addresses.
    Radargun {
        /// Rounds.
        rounds: u16,
        /// Time between probes.
        wait_probe: Duration,
        /// Time between rounds.
        wait_round: Duration,
        /// Reply timeout.
        wait_timeout: Duration,
        /// Options.
        flags: RadargunFlags,
    },
    /// Prefixscan: find an alias of `a` in prefix `b/prefix`.
    Prefixscan {
        /// The near address.
        a: Option<Addr>,
        /// The far prefix address.
        b: Option<Addr>,
        /// The alias found.
        ab: Option<Addr>,
        /// Excluded addresses.
        xs: Vec<Addr>,
        /// Prefix length.
        prefix: u8,
        /// Attempts.
        attempts: u8,
        /// IP-ID distance allowed.
        fudge: u16,
        /// Time between probes.
        wait_probe: Duration,
        /// Reply timeout.
        wait_timeout: Duration,
        /// Options.
        flags: PrefixscanFlags,
        /// Replies required.
        replyc: u8,
    },
    /// Bump: IP-ID velocity test (2 probedefs).
    Bump {
        /// Time between probes.
        wait_probe: Duration,
        /// Largest IP-ID jump allowed.
        bump_limit: u16,
        /// Attempts.
        attempts: u8,
    },
    /// MIDAR estimation stage.
    Midarest {
        /// Rounds.
        rounds: u8,
        /// Time between probes.
        wait_probe: Duration,
        /// Time between rounds.
        wait_round: Duration,
        /// Reply timeout.
        wait_timeout: Duration,
    },
    /// MIDAR discovery stage.
    Midardisc {
        /// Reply timeout.
        wait_timeout: Duration,
        /// The probing schedule.
        schedule: Vec<MidardiscRound>,
        /// When to start, if scheduled.
        startat: Option<Timestamp>,
    },
    /// A method this version does not know (its settings, definitions and
    /// probes are not decoded).
    Other(u8),
}

impl DealiasMethod {
    /// The warts method code.
    #[must_use]
    pub const fn code(&self) -> u8 {
        match self {
            Self::Mercator { .. } => 1,
            Self::Ally { .. } => 2,
            Self::Radargun { .. } => 3,
            Self::Prefixscan { .. } => 4,
            Self::Bump { .. } => 5,
            Self::Midarest { .. } => 6,
            Self::Midardisc { .. } => 7,
            Self::Other(c) => *c,
        }
    }

    /// The name scamper prints.
    #[must_use]
    pub const fn name(&self) -> Option<&'static str> {
        Some(match self {
            Self::Mercator { .. } => "mercator",
            Self::Ally { .. } => "ally",
            Self::Radargun { .. } => "radargun",
            Self::Prefixscan { .. } => "prefixscan",
            Self::Bump { .. } => "bump",
            Self::Midarest { .. } => "midarest",
            Self::Midardisc { .. } => "midardisc",
            Self::Other(_) => return None,
        })
    }

    /// The number of probe definitions the method requires, if fixed.
    #[must_use]
    pub const fn fixed_probedefs(&self) -> Option<usize> {
        match self {
            Self::Mercator { .. } => Some(1),
            Self::Ally { .. } | Self::Bump { .. } => Some(2),
            Self::Other(_) => Some(0),
            _ => None,
        }
    }
}

/// An alias-resolution measurement.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Dealias {
    /// The list this measurement belongs to.
    pub list: Option<Arc<List>>,
    /// The cycle this measurement belongs to.
    pub cycle: Option<Arc<Cycle>>,
    /// A user-chosen id, 0 if none.
    pub user_id: u32,
    /// When it started.
    pub start: Timestamp,
    /// The method and its settings.
    pub method: DealiasMethod,
    /// The outcome.
    pub result: DealiasResult,
    /// The prober's error text.
    pub errmsg: Option<String>,
    /// Probe definitions.
    pub probedefs: Vec<DealiasProbedef>,
    /// Probes in sending order.
    pub probes: Vec<DealiasProbe>,
}
