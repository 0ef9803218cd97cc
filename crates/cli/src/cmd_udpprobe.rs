//! `vantage udpprobe`: a chosen payload to a UDP port from this machine (the `udpprobe`
//! command), printed as one line per probe and reply.

use std::fmt::Write as _;
use std::process::ExitCode;

use vantage_model::Udpprobe;

use crate::cmd_dns::run_app;
use crate::measure::AppArgs;

const HELP: &str = "\
Options of the measurement command language (as in `udpprobe ...` commands):
  -c N      probes to send (1..20, default 1)
  -d PORT   destination port (required)     -p HEX   payload (required, even hex digits)
  -o N      stop after N probes have replies (with -O exitfirst; default 1)
  -O OPT    exitfirst (stop at the first reply instead of waiting out the timeout)
  -S ADDR   source address                  -U N     user id
  -w TIME   wait for replies after the last probe (0.5..5 s, default 2)
  -W TIME   gap between probes (0.5..5 s, default 1)

No root needed. Exit status: 0 if a reply came back, 1 if not, 2 for usage errors.";

/// Arguments of `vantage udpprobe`.
#[derive(clap::Args, Debug)]
#[command(after_help = HELP, mut_arg("words", |a| a
    .help("The probe's options, exactly as in the command language, then the address")))]
pub struct Args {
    #[command(flatten)]
    common: AppArgs,
}

/// Runs the subcommand.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let AppArgs { out, line } = &args.common;
    run_app("udpprobe", "udpprobe", &line.words, out.long_opts(None))
}

/// Bytes as text when they are printable, else as hex.
fn payload(b: &[u8]) -> String {
    if !b.is_empty() && b.iter().all(|c| (0x20..0x7f).contains(c)) {
        format!("\"{}\"", String::from_utf8_lossy(b))
    } else {
        crate::cmd_dns::hex(b)
    }
}

/// The record as text.
pub fn text(u: &Udpprobe) -> String {
    let mut s = String::new();
    let dst = u.dst.map(|d| d.to_string()).unwrap_or_default();
    let _ = writeln!(
        s,
        "udpprobe to {dst} port {}: {} byte(s), {} of {} probe(s) sent: {}",
        u.dport,
        u.payload.len(),
        u.probes.len(),
        u.probe_count,
        u.stop_reason
    );
    if let Some(e) = &u.errmsg {
        let _ = writeln!(s, "error: {e}");
    }
    for (i, p) in u.probes.iter().enumerate() {
        let _ = writeln!(
            s,
            "probe {} from port {}: {} repl{}",
            i + 1,
            p.sport,
            p.replies.len(),
            if p.replies.len() == 1 { "y" } else { "ies" }
        );
        for r in &p.replies {
            let from = match &r.src {
                Some(a) => format!(" from {a} port {}", r.sport),
                None => String::new(),
            };
            let _ = writeln!(
                s,
                "  {} byte(s){from} in {:.3} ms: {}",
                r.data.len(),
                r.rx.since(p.tx).as_secs_f64() * 1000.0,
                payload(&r.data)
            );
        }
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use vantage_model::{Timestamp, UdpprobeFlags, UdpprobeProbe, UdpprobeReply, UdpprobeStop};

    #[test]
    fn text_has_a_line_per_probe_and_reply() {
        let u = Udpprobe {
            list: None,
            cycle: None,
            user_id: 0,
            src: None,
            dst: Some("192.0.2.7".parse().unwrap()),
            sport: 0,
            dport: 7,
            start: Timestamp::new(5, 0),
            wait_timeout: std::time::Duration::from_secs(2),
            wait_probe: std::time::Duration::from_secs(1),
            flags: UdpprobeFlags::empty(),
            stop_reason: UdpprobeStop::Done,
            payload: b"hello".to_vec(),
            probe_count: 2,
            stop_count: 1,
            errmsg: None,
            probes: vec![
                UdpprobeProbe {
                    tx: Timestamp::new(5, 0),
                    sport: 5000,
                    replies: vec![UdpprobeReply {
                        rx: Timestamp::new(5, 1500),
                        data: b"hello".to_vec(),
                        ifname: None,
                        src: Some("192.0.2.7".parse().unwrap()),
                        sport: 7,
                    }],
                },
                UdpprobeProbe {
                    tx: Timestamp::new(6, 0),
                    sport: 5001,
                    replies: Vec::new(),
                },
            ],
        };
        let t = text(&u);
        assert_eq!(
            t,
            "udpprobe to 192.0.2.7 port 7: 5 byte(s), 2 of 2 probe(s) sent: done\n\
             probe 1 from port 5000: 1 reply\n\
             \x20 5 byte(s) from 192.0.2.7 port 7 in 1.500 ms: \"hello\"\n\
             probe 2 from port 5001: 0 replies\n"
        );
        assert_eq!(payload(&[0, 0xff]), "00ff");
    }
}
