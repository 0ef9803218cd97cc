//! `vantage trace`: one traceroute from this machine, printed like traceroute(8).

use std::process::ExitCode;

use crate::oneoff::{self, OneOff};

const HELP: &str = "\
Options of the measurement command language (as in `trace ...` commands):
  -c N      confidence 95 or 99            -d N     base destination port (icmp-paris: checksum)
  -f N      first TTL (default 1)          -g N     gap limit (default 5)
  -G N      gap action: 1 stop, 2 last-ditch probes
  -H TIME   minimum gap between probes with the same TTL
  -l N      loops tolerated (default 1)    -m N     maximum TTL
  -M        path-MTU discovery             -N N     hops probed in parallel
  -o N      IPv6 fragment offset           -O OPT   back, const-payload, dl, dtree-noback, ptr, raw
  -p HEX    payload                        -P M     method: udp-paris (default), udp, icmp,
            icmp-paris, tcp, tcp-ack
  -q N      attempts per hop (default 2)   -Q       send all attempts
  -r ADDR   router                         -s N     source port / ICMP identifier
  -S ADDR   source address                 -t N     TOS byte
  -T        TTL-expired from the destination does not count as reaching it
  -U N      user id                        -w TIME  wait per probe (default 5s)
  -W TIME   minimum gap between probes     -y N     in-progress results every N packets
  -z ADDR   global stop set entry          -Z NAME  local stop set name

Annotations: !N network, !H host, !P protocol unreachable, !X administratively
prohibited, !F fragmentation needed, !S source route failed; TCP replies show
their flags ([SA], [RA]); MPLS label stacks are shown as [MPLS: L=label E=exp S=bos TTL=ttl].
Needs root or CAP_NET_RAW. Exit status: 0 when a result was printed, 1 on errors, 2 for
usage errors.";

/// Arguments of `vantage trace`.
#[derive(clap::Args, Debug)]
#[command(after_help = HELP)]
pub struct Args {
    #[command(flatten)]
    common: OneOff,
}

/// Runs the subcommand.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    oneoff::run("trace", &args.common)
}
