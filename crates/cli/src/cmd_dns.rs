//! `vantage dns`: one DNS query from this machine (the `host` command), printed like
//! dig's sections; also the runner that `vantage http` and `vantage udpprobe` share.
//!
//! These measurements use ordinary sockets: no root needed.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use vantage_command::{Command, Context};
use vantage_model::{DnsRr, DnsRrData, Host, HostStop, RR_TYPES, Record};
use vantage_probe::{DEFAULT_PPS, Prober, ProberConfig, TaskOutput};
use vantage_warts::json::JsonEncoder;

use crate::oneoff::{self, USAGE};

const HELP: &str = "\
Options of the measurement command language (as in `host ...` commands):
  -c CLASS  IN (default) or CH             -r       no recursion desired
  -O OPT    nsid, subnet=PREFIX, bufsize=N, do (repeatable)
  -R N      retries (0..3, default 0)      -s ADDR  server (default: the first
            nameserver of /etc/resolv.conf)
  -t TYPE   A AAAA NS MX SOA TXT PTR CNAME SRV CAA SVCB HTTPS DS DNSKEY ANY
            (default A, or PTR for an IP address)
  -T        query over TCP                 -U N     user id
  -W TIME   wait per attempt (default 5s)

No root needed. Exit status: 0 if a response was recorded, 1 if not, 2 for usage errors.";

/// Arguments of `vantage dns`.
#[derive(clap::Args, Debug)]
#[command(after_help = HELP)]
pub struct Args {
    /// Print the result as one JSON line (the JSON scamper writes) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write the result to this warts file (compressed if it ends in .gz, .bz2 or .xz).
    #[arg(long, value_name = "FILE")]
    pub warts: Option<PathBuf>,
    /// The query's options, exactly as in the command language, then the name.
    #[arg(
        value_name = "OPTIONS] [NAME",
        allow_hyphen_values = true,
        trailing_var_arg = true,
        required = true
    )]
    pub words: Vec<String>,
}

/// Runs the subcommand.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let out = Output {
        json: args.json,
        warts: args.warts.clone(),
    };
    run_app("dns", "host", &args.words, out)
}

/// How a one-off app measurement is printed and saved.
#[derive(Debug, Default)]
pub struct Output {
    /// One JSON line instead of text.
    pub json: bool,
    /// Also write the record to this warts file.
    pub warts: Option<PathBuf>,
}

/// The first nameserver of `/etc/resolv.conf`.
pub fn system_resolver() -> Option<std::net::IpAddr> {
    vantage_app::env::system_resolver(Path::new("/etc/resolv.conf"))
}

/// Runs one app measurement: `word` is the subcommand's name (for messages), `command`
/// the command language's word, `words` its options and operand (Vantage's `--json`,
/// `--warts FILE` may appear among them too).
pub fn run_app(
    word: &str,
    command: &str,
    words: &[String],
    mut out: Output,
) -> anyhow::Result<ExitCode> {
    let usage = |msg: &str| {
        eprintln!("vantage {word}: {msg}");
        Ok(ExitCode::from(USAGE))
    };
    let (long, words) = match oneoff::split_long(words) {
        Ok(x) => x,
        Err(msg) => return usage(&msg),
    };
    out.json |= long.json;
    out.warts = long.warts.or(out.warts);
    let pps = long.pps.unwrap_or(DEFAULT_PPS);
    let ctx = Context::new(std::process::id()).with_nameserver(system_resolver());
    let parsed = match Command::parse(&oneoff::command_line(command, &words), &ctx) {
        Ok(c) => c,
        Err(e) => return usage(&oneoff::describe(&e)),
    };
    let mut config = ProberConfig::with_pps(pps);
    config.pid = ctx.pid;
    if let Err(e) = config.validate() {
        return usage(&format!("--pps: {e}"));
    }
    let (handle, mut results, thread) = Prober::spawn(config)?;
    let task = handle.submit(parsed)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the event loop")?;
    let output = rt.block_on(async {
        let mut halted = false;
        loop {
            tokio::select! {
                r = results.recv() => break r,
                _ = tokio::signal::ctrl_c(), if !halted => {
                    // Ctrl-C ends the measurement with what it has.
                    let _ = handle.halt(task);
                    halted = true;
                }
            }
        }
    });
    drop(handle);
    thread.join()?;
    let Some(TaskOutput { result, .. }) = output else {
        anyhow::bail!("the prober stopped without a result");
    };
    let record = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vantage {word}: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if let Some(path) = &out.warts {
        let mut w =
            vantage_warts::create(path).with_context(|| format!("creating {}", path.display()))?;
        w.write_record(&record)
            .with_context(|| format!("writing {}", path.display()))?;
        w.close()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut stdout = io::stdout().lock();
    if out.json {
        let mut enc = JsonEncoder::new(oneoff::live_json());
        if let Some(line) = enc.encode_line(&record) {
            stdout.write_all(line)?;
        }
    } else {
        stdout.write_all(text(&record).as_bytes())?;
    }
    stdout.flush()?;
    Ok(if succeeded(&record) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Whether the measurement got what it asked for.
fn succeeded(record: &Record) -> bool {
    match record {
        Record::Host(h) => h.stop_reason == HostStop::Done,
        Record::Http(h) => h.stop_reason == vantage_model::HttpStop::Done,
        Record::Udpprobe(u) => u.probes.iter().any(|p| !p.replies.is_empty()),
        _ => true,
    }
}

/// The readable form of an app record.
fn text(record: &Record) -> String {
    match record {
        Record::Host(h) => host_text(h),
        Record::Http(h) => crate::cmd_http::text(h),
        Record::Udpprobe(u) => crate::cmd_udpprobe::text(u),
        _ => String::new(),
    }
}

/// A type number's name (`TYPE99` for unnamed ones).
fn type_name(t: u16) -> String {
    RR_TYPES
        .iter()
        .find(|(n, _)| *n == t)
        .map_or_else(|| format!("TYPE{t}"), |(_, s)| (*s).to_owned())
}

fn class_name(c: u16) -> String {
    match c {
        vantage_model::CLASS_IN => "IN".to_owned(),
        vantage_model::CLASS_CH => "CH".to_owned(),
        c => format!("CLASS{c}"),
    }
}

/// Text bytes as a quoted DNS character string.
fn quoted(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in b {
        match c {
            b'"' | b'\\' => {
                s.push('\\');
                s.push(char::from(c));
            }
            0x20..=0x7e => s.push(char::from(c)),
            _ => {
                let _ = write!(s, "\\{c:03}");
            }
        }
    }
    s.push('"');
    s
}

fn rdata_text(rr: &DnsRr) -> String {
    match &rr.data {
        Some(DnsRrData::Addr(a)) => a.to_string(),
        Some(DnsRrData::Name(n)) => format!("{n}."),
        Some(DnsRrData::Soa(s)) => format!(
            "{}. {}. {} {} {} {} {}",
            s.mname, s.rname, s.serial, s.refresh, s.retry, s.expire, s.minimum
        ),
        Some(DnsRrData::Mx {
            preference,
            exchange,
        }) => format!("{preference} {exchange}."),
        Some(DnsRrData::Txt(strings)) => strings
            .iter()
            .map(|s| quoted(s))
            .collect::<Vec<_>>()
            .join(" "),
        Some(DnsRrData::Opt(opts)) => opts
            .iter()
            .map(|(code, data)| format!("option {code}: {}", hex(data)))
            .collect::<Vec<_>>()
            .join("; "),
        Some(DnsRrData::Svcb {
            priority,
            target,
            params,
        }) => {
            let mut s = format!("{priority} {}.", target.as_deref().unwrap_or(""));
            for (k, v) in params {
                let _ = write!(s, " key{k}={}", hex(v));
            }
            s
        }
        None => rr.text.clone().unwrap_or_else(|| {
            if rr.rdata.is_empty() {
                String::new()
            } else {
                format!("\\# {} {}", rr.rdata.len(), hex(&rr.rdata))
            }
        }),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// The record as dig-like text.
pub fn host_text(h: &Host) -> String {
    let mut s = String::new();
    let qname = h.qname.as_deref().unwrap_or("");
    let _ = writeln!(
        s,
        "{qname} {} {} at {}{}: {}",
        class_name(h.qclass),
        type_name(h.qtype),
        h.dst,
        if h.flags.contains(vantage_model::HostFlags::TCP) {
            " over TCP"
        } else {
            ""
        },
        h.stop_reason
    );
    if let Some(e) = &h.errmsg {
        let _ = writeln!(s, "error: {e}");
    }
    for (i, q) in h.queries.iter().enumerate() {
        let Some(rtt) = q.rtt() else {
            let _ = writeln!(s, "attempt {}: id {} no response", i + 1, q.id);
            continue;
        };
        let flags: Vec<&str> = q.flags.names().collect();
        let _ = writeln!(
            s,
            "attempt {}: id {} rcode {} flags [{}] rtt {:.3} ms",
            i + 1,
            q.id,
            rcode_name(q.rcode),
            flags.join(" "),
            rtt.as_secs_f64() * 1000.0
        );
        for (title, rrs) in [
            ("ANSWER", &q.an),
            ("AUTHORITY", &q.ns),
            ("ADDITIONAL", &q.ar),
        ] {
            if rrs.is_empty() {
                continue;
            }
            let _ = writeln!(s, ";; {title}");
            for rr in rrs {
                let _ = writeln!(
                    s,
                    "{}.\t{}\t{}\t{}\t{}",
                    rr.name.as_deref().unwrap_or(""),
                    rr.ttl,
                    class_name(rr.class),
                    type_name(rr.rtype),
                    rdata_text(rr)
                );
            }
        }
        if let Some(e) = &q.error {
            let _ = writeln!(s, "response problem: {e}");
        }
    }
    s
}

fn rcode_name(rcode: u8) -> String {
    match rcode {
        0 => "NOERROR".to_owned(),
        1 => "FORMERR".to_owned(),
        2 => "SERVFAIL".to_owned(),
        3 => "NXDOMAIN".to_owned(),
        4 => "NOTIMP".to_owned(),
        5 => "REFUSED".to_owned(),
        n => n.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn text_shows_sections() {
        let mut h = Host {
            list: None,
            cycle: None,
            user_id: 0,
            src: None,
            dst: "192.0.2.53".parse().unwrap(),
            start: vantage_model::Timestamp::default(),
            flags: vantage_model::HostFlags::empty(),
            wait_timeout: std::time::Duration::from_secs(5),
            stop_reason: HostStop::Done,
            retries: 0,
            qtype: 1,
            qclass: 1,
            qname: Some("www.example.test".to_owned()),
            ecs: None,
            errmsg: None,
            queries: Vec::new(),
        };
        let mut q = vantage_model::HostQuery {
            tx: vantage_model::Timestamp::from_unix_duration(std::time::Duration::from_secs(10)),
            rx: vantage_model::Timestamp::from_unix_duration(std::time::Duration::from_millis(
                10_002,
            )),
            id: 7,
            ..Default::default()
        };
        q.an.push(DnsRr {
            class: 1,
            rtype: 1,
            name: Some("www.example.test".to_owned()),
            ttl: 300,
            data: Some(DnsRrData::Addr("192.0.2.80".parse().unwrap())),
            ..Default::default()
        });
        q.an.push(DnsRr {
            class: 1,
            rtype: 33,
            name: Some("_sip._udp.example.test".to_owned()),
            ttl: 300,
            text: Some("10 20 5060 sip.example.test.".to_owned()),
            ..Default::default()
        });
        h.queries.push(q);
        let t = host_text(&h);
        assert!(
            t.starts_with("www.example.test IN A at 192.0.2.53: done\n"),
            "{t}"
        );
        assert!(
            t.contains("attempt 1: id 7 rcode NOERROR flags [] rtt 2.000 ms"),
            "{t}"
        );
        assert!(
            t.contains("www.example.test.\t300\tIN\tA\t192.0.2.80\n"),
            "{t}"
        );
        assert!(t.contains("TYPE33\t10 20 5060 sip.example.test.\n"), "{t}");
        assert_eq!(quoted(b"a\"b\x01"), "\"a\\\"b\\001\"");
    }
}
