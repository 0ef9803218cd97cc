//! `sniff`: capture the ICMP packets with a given identifier (spec `commands.md` §9).

use std::net::IpAddr;
use std::time::Duration;

use crate::emit::Line;
use crate::error::CommandError;
use crate::lex::{self, OptDef, Table};
use crate::value::{self, TimeUnit};

const OPTS: &[OptDef] = &[
    OptDef::num('c'),
    OptDef::str('G'),
    OptDef::str('S'),
    OptDef::num('U'),
];

/// sniff does not check repeats: the last value wins.
pub(crate) const TABLE: Table = Table {
    command: "sniff",
    opts: OPTS,
    check_repeats: false,
};

const PREFIX: &str = "icmp[icmpid] == ";

/// A validated `sniff` command with every default filled in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SniffSpec {
    /// `-S`: a local address that names the interface to capture on (required).
    pub src: IpAddr,
    /// `-c`: stop after this many packets (1..=5000, default 100).
    pub limit_packets: u16,
    /// `-G`: stop after this long (whole seconds, 1..=1200, default 60 s).
    pub limit_time: Duration,
    /// `-U`: user id recorded in the result.
    pub user_id: u32,
    /// The expression `icmp[icmpid] == N`: capture ICMP packets with this identifier.
    pub icmp_id: u16,
}

impl SniffSpec {
    /// Parses the options and expression of a `sniff` command (the text after `sniff `).
    pub fn parse(rest: &str) -> Result<Self, CommandError> {
        let lexed = lex::lex(&TABLE, rest)?;
        let mut src = None;
        let mut limit_packets = 100;
        let mut limit_time = Duration::from_secs(60);
        let mut user_id = 0;
        for opt in &lexed.opts {
            let v = opt.value.as_deref();
            let num = |what: &str, lo: i64, hi: i64| {
                value::ranged(opt.letter, v, what, lo, hi, value::int_strict)
            };
            match opt.letter {
                'c' => limit_packets = num("packet limit", 1, 5000)? as u16,
                'G' => {
                    limit_time = value::time_ranged(
                        'G',
                        v,
                        TimeUnit::Seconds,
                        "time limit",
                        Duration::from_secs(1),
                        Duration::from_secs(1200),
                    )?;
                    if limit_time.subsec_nanos() != 0 {
                        return Err(CommandError::option(
                            'G',
                            "time limit must be whole seconds",
                        ));
                    }
                }
                'S' => {
                    src = Some(v.and_then(value::ip).ok_or_else(|| {
                        CommandError::option('S', "source must be an IP address")
                    })?);
                }
                'U' => user_id = num("userid", 0, u32::MAX.into())? as u32,
                _ => return Err(CommandError::syntax("sniff", "unhandled option")),
            }
        }
        let Some(src) = src else {
            return Err(CommandError::Invalid(
                "sniff needs the local address to capture on (-S)".to_owned(),
            ));
        };
        let expr = lexed.target;
        if expr.is_empty() {
            return Err(CommandError::MissingTarget {
                what: "expression to sniff",
            });
        }
        let icmp_id = expr
            .get(..PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(PREFIX))
            .map(|_| &expr[PREFIX.len()..])
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u16>().ok())
            .ok_or_else(|| {
                CommandError::Invalid(format!(
                    "expression '{expr}' must be 'icmp[icmpid] == <0-65535>'"
                ))
            })?;
        Ok(SniffSpec {
            src,
            limit_packets,
            limit_time,
            user_id,
            icmp_id,
        })
    }

    /// The canonical command line for this spec. It parses back to an equal spec.
    pub fn to_command_string(&self) -> String {
        let mut l = Line::new("sniff");
        l.num_unless('c', self.limit_packets, 100).time_unless(
            'G',
            self.limit_time,
            Duration::from_secs(60),
            TimeUnit::Seconds,
        );
        l.str('S', &self.src.to_string());
        l.num_unless('U', self.user_id, 0);
        l.finish(&format!("{PREFIX}{}", self.icmp_id))
    }

    /// Every address this measurement sends packets to: none, it only listens.
    pub fn probed_addresses(&self) -> Vec<IpAddr> {
        Vec::new()
    }
}
