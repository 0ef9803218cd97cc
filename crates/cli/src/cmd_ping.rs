//! `vantage ping`: one ping from this machine, printed like ping(8).

use std::process::ExitCode;

use crate::oneoff::{self, OneOff};

const HELP: &str = "\
Options of the measurement command language (as in `ping ...` commands):
  -A N      TCP ack (tcp-ack*, tcp-synack) or seq (tcp-syn*, tcp-rst) value
  -b N      payload size in bytes          -B HEX   payload bytes
  -c N      number of probes (default 4)   -C N     ICMP checksum to force
  -d N      destination port / first ICMP sequence number
  -F N      source port / ICMP identifier  -i TIME  gap between probes (default 1s)
  -m N      TTL (default 64)               -M N     pseudo path MTU
  -o N      stop after N replies           -O OPT   dl, dltx, mss=N, nosrc, raw, sockrx, spoof, tbt
  -p HEX    payload pattern                -P M     method: icmp-echo (default), icmp-time,
            tcp-syn, tcp-ack, tcp-ack-sport, tcp-synack, tcp-rst, tcp-syn-sport, udp,
            udp-dport, udp-sport
  -r ADDR   first-hop router               -R       IPv4 record route
  -s N      probe size incl. IP header     -S ADDR  source address
  -T TS     tsonly | tsandaddr | tsprespec=A[,B..]  -U N  user id
  -W TIME   wait after the last probe      -y N     in-progress results every N packets
  -z N      TOS byte

Needs root or CAP_NET_RAW. Exit status: 0 if the target answered, 1 if not, 2 for usage errors.";

/// Arguments of `vantage ping`.
#[derive(clap::Args, Debug)]
#[command(after_help = HELP)]
pub struct Args {
    #[command(flatten)]
    common: OneOff,
}

/// Runs the subcommand.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    oneoff::run("ping", &args.common)
}
