//! `vantage tracelb`: one MDA traceroute from this machine, printed hop by hop (the
//! interfaces found at each hop), then every link between interfaces.

use std::process::ExitCode;

use crate::oneoff::{self, OneOff};

const HELP: &str = "\
Options of the measurement command language (as in `tracelb ...` commands):
  -c N      confidence 95 (default) or 99  -d N     base destination port (icmp-echo: checksum)
  -f N      first TTL (default 1)          -g N     unresponsive hops before a branch ends (3)
  -P M      method: udp-dport (default), icmp-echo, udp-sport, tcp-sport, tcp-ack-sport
  -q N      attempts per probe (default 2) -Q N     most probes in total (default 3000)
  -s N      base source port / ICMP id     -t N     TOS byte
  -U N      user id                        -w TIME  wait per probe (default 5s)
  -W TIME   gap between probes (default 250ms)
  (-r ADDR and -O ptr are refused: not implemented.)

Interfaces are listed at the hop where they were first seen; a link `A -> *` is a
branch that ended after the gap limit, `(N hops)` a link through unresponsive hops.
Needs root or CAP_NET_RAW. Exit status: 0 when a result was printed, 1 on errors, 2 for
usage errors.";

/// Arguments of `vantage tracelb`.
#[derive(clap::Args, Debug)]
#[command(after_help = HELP)]
pub struct Args {
    #[command(flatten)]
    common: OneOff,
}

/// Runs the subcommand.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    oneoff::run("tracelb", &args.common)
}
