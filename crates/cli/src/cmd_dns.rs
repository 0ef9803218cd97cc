//! `vantage dns`: one DNS query from this machine (the `host` command), printed like
//! dig's sections; also the runner that `vantage http` and `vantage udpprobe` share.
//!
//! These measurements use ordinary sockets: no root needed.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use vantage_command::Context;
use vantage_model::{DnsRr, DnsRrData, Host, HostStop, RR_TYPES, Record};

use crate::measure::{self, AppArgs, Prepared};
use crate::oneoff::LongOpts;

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
#[command(after_help = HELP, mut_arg("words", |a| a
    .value_name("OPTIONS] [NAME")
    .help("The query's options, exactly as in the command language, then the name")))]
pub struct Args {
    #[command(flatten)]
    common: AppArgs,
}

/// Runs the subcommand.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let AppArgs { out, line } = &args.common;
    run_app("dns", "host", &line.words, out.long_opts(None))
}

/// The first nameserver of `/etc/resolv.conf`.
pub fn system_resolver() -> Option<std::net::IpAddr> {
    vantage_app::env::system_resolver(Path::new("/etc/resolv.conf"))
}

/// Runs one app measurement: `word` is the subcommand's name (for messages), `command`
/// the command language's word, `words` its options and operand (Vantage's `--json`,
/// `--warts FILE` may appear among them too, and win over `flags`).
pub fn run_app(
    word: &str,
    command: &str,
    words: &[String],
    flags: LongOpts,
) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(std::process::id()).with_nameserver(system_resolver());
    let Prepared {
        command,
        config,
        opts,
    } = match measure::prepare(command, words, flags, &ctx) {
        Ok(p) => p,
        Err(msg) => return Ok(measure::usage_error(word, &msg)),
    };
    let Some(record) = measure::measure(word, config, command, |_| {})? else {
        return Ok(ExitCode::FAILURE);
    };
    measure::write_result(&record, opts.warts.as_deref(), opts.json, text)?;
    Ok(measure::status(succeeded(&record)))
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

/// Bytes as lower-case hex digits.
pub fn hex(b: &[u8]) -> String {
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
