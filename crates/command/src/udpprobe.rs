//! `udpprobe`: UDP requests that expect UDP replies (spec `commands.md` §8).

use std::net::IpAddr;
use std::time::Duration;

use crate::context::Context;
use crate::emit::Line;
use crate::error::CommandError;
use crate::lex::{self, OptDef, Table};
use crate::value::{self, TimeUnit};

const OPTS: &[OptDef] = &[
    OptDef::num('c'),
    OptDef::num('d'),
    OptDef::num('o'),
    OptDef::str('O').repeatable(),
    OptDef::str('p'),
    OptDef::str('S'),
    OptDef::num('U'),
    OptDef::str('w'),
    OptDef::str('W'),
];

pub(crate) const TABLE: Table = Table {
    command: "udpprobe",
    opts: OPTS,
    check_repeats: true,
};

const MAX_PAYLOAD: usize = 1400;

/// A validated `udpprobe` command with every default filled in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UdpprobeSpec {
    /// The address to probe.
    pub dst: IpAddr,
    /// `-S`: the source address.
    pub src: Option<IpAddr>,
    /// `-d`: the destination port (required).
    pub dport: u16,
    /// The source port: the context's default sport when one probe is sent, else 0 (each
    /// probe gets its own port).
    pub sport: u16,
    /// `-p`: the payload (required, 1 to 1400 bytes).
    pub payload: Vec<u8>,
    /// `-c`: probes to send (1..=20, default 1).
    pub probe_count: u8,
    /// `-o`: stop after this many replies (1..=20, at most `probe_count`, default 1).
    pub stop_count: u8,
    /// `-O exitfirst`: finish at the first reply instead of waiting out the timeout.
    pub exit_first: bool,
    /// `-U`: user id recorded in the result.
    pub user_id: u32,
    /// `-w`: how long to wait for replies (0.5..=5 s, default 2 s).
    pub wait_timeout: Duration,
    /// `-W`: gap between probes (0.5..=5 s, default 1 s).
    pub wait_probe: Duration,
}

impl UdpprobeSpec {
    /// Parses the options and target of a `udpprobe` command (the text after `udpprobe `).
    pub fn parse(rest: &str, ctx: &Context) -> Result<Self, CommandError> {
        let lexed = lex::lex(&TABLE, rest)?;
        lexed.check_repeats(&TABLE)?;
        let (mut dport, mut payload, mut src) = (None, None, None);
        let (mut probe_count, mut stop_count) = (1, 1);
        let (mut exit_first, mut user_id) = (false, 0);
        let mut wait_timeout = Duration::from_secs(2);
        let mut wait_probe = Duration::from_secs(1);
        let half = Duration::from_millis(500);
        for opt in &lexed.opts {
            let v = opt.value.as_deref();
            let num = |what: &str, lo: i64, hi: i64| {
                value::ranged(opt.letter, v, what, lo, hi, value::int_strict)
            };
            match opt.letter {
                'c' => probe_count = num("probe count", 1, 20)? as u8,
                'd' => dport = Some(num("dport", 1, 65535)? as u16),
                'o' => stop_count = num("stop count", 1, 20)? as u8,
                'O' => {
                    let o = v.unwrap_or_default();
                    if !o.eq_ignore_ascii_case("exitfirst") {
                        return Err(CommandError::option(
                            'O',
                            format!("unknown option '{o}' (known: exitfirst)"),
                        ));
                    }
                    exit_first = true;
                }
                'p' => {
                    payload = Some(
                        v.and_then(value::hex_even)
                            .filter(|p| !p.is_empty() && p.len() <= MAX_PAYLOAD)
                            .ok_or_else(|| {
                                CommandError::option(
                                    'p',
                                    format!(
                                        "payload must be an even number of hex digits, 1 to \
                                         {MAX_PAYLOAD} bytes"
                                    ),
                                )
                            })?,
                    );
                }
                'S' => src = v.map(str::to_owned),
                'U' => user_id = num("userid", 0, u32::MAX.into())? as u32,
                'w' => {
                    wait_timeout = value::time_ranged(
                        'w',
                        v,
                        TimeUnit::Seconds,
                        "wait-timeout",
                        half,
                        Duration::from_secs(5),
                    )?;
                }
                'W' => {
                    wait_probe = value::time_ranged(
                        'W',
                        v,
                        TimeUnit::Seconds,
                        "wait-probe",
                        half,
                        Duration::from_secs(5),
                    )?;
                }
                _ => return Err(CommandError::syntax("udpprobe", "unhandled option")),
            }
        }
        let Some(payload) = payload else {
            return Err(CommandError::Invalid(
                "udpprobe needs a payload (-p)".to_owned(),
            ));
        };
        let Some(dport) = dport else {
            return Err(CommandError::Invalid(
                "udpprobe needs a destination port (-d)".to_owned(),
            ));
        };
        if stop_count > probe_count {
            return Err(CommandError::option(
                'o',
                format!("stop count must not exceed the probe count ({probe_count})"),
            ));
        }
        if lexed.target.is_empty() {
            return Err(CommandError::MissingTarget {
                what: "address to probe",
            });
        }
        let dst = value::ip(lexed.target).ok_or(CommandError::InvalidDestination)?;
        let src = src
            .as_deref()
            .map(|a| value::ip_same_family('S', Some(a), "source address", dst))
            .transpose()?;
        Ok(UdpprobeSpec {
            dst,
            src,
            dport,
            sport: if probe_count == 1 {
                ctx.default_sport()
            } else {
                0
            },
            payload,
            probe_count,
            stop_count,
            exit_first,
            user_id,
            wait_timeout,
            wait_probe,
        })
    }

    /// The canonical command line for this spec. It parses back to an equal spec.
    pub fn to_command_string(&self) -> String {
        let mut l = Line::new("udpprobe");
        l.num_unless('c', self.probe_count, 1)
            .num('d', self.dport)
            .num_unless('o', self.stop_count, 1);
        if self.exit_first {
            l.str('O', "exitfirst");
        }
        l.str('p', &value::to_hex(&self.payload));
        if let Some(s) = self.src {
            l.str('S', &s.to_string());
        }
        l.num_unless('U', self.user_id, 0)
            .time_unless(
                'w',
                self.wait_timeout,
                Duration::from_secs(2),
                TimeUnit::Seconds,
            )
            .time_unless(
                'W',
                self.wait_probe,
                Duration::from_secs(1),
                TimeUnit::Seconds,
            );
        l.finish(&self.dst.to_string())
    }

    /// Every address this measurement would send packets to.
    pub fn probed_addresses(&self) -> Vec<IpAddr> {
        vec![self.dst]
    }
}
