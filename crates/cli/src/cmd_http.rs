//! `vantage http`: one HTTP(S) fetch from this machine (the `http` command), printed as
//! the exchange's phases, the TLS session, the response head and the body's size.

use std::fmt::Write as _;
use std::net::{IpAddr, ToSocketAddrs};
use std::process::ExitCode;

use vantage_command::HttpUrl;
use vantage_model::{Http, HttpBufType};

use crate::cmd_dns::run_app;
use crate::measure::{self, CommandWords, WartsArg};
use crate::oneoff::{self, LongOpts};

const HELP: &str = "\
Options of the measurement command language (as in `http ...` commands):
  -H 'Name: value'  extra request header (repeatable)
  -m TIME   time limit for the whole exchange (1..60 s, default 60)
  -O OPT    insecure (go on when the certificate does not verify), grease, ecl=BASE64
  -U N      user id

The connection goes to --addr, or else to the URL's host (an IP address, or a name
looked up with the system resolver); the URL's host is sent as Host and TLS SNI.
No root needed. Exit status: 0 if the response was complete, 1 if not, 2 for usage errors.";

/// Arguments of `vantage http`.
#[derive(clap::Args, Debug)]
#[command(after_help = HELP, mut_arg("words", |a| a
    .value_name("OPTIONS] [URL")
    .help("The fetch's options, exactly as in the command language, then the URL")))]
pub struct Args {
    /// The address to connect to (default: the URL's host).
    #[arg(long, value_name = "IP")]
    pub addr: Option<IpAddr>,
    /// `--warts FILE`.
    #[command(flatten)]
    pub save: WartsArg,
    /// The fetch's words.
    #[command(flatten)]
    pub line: CommandWords,
}

/// Runs the subcommand.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let usage = |msg: &str| Ok(measure::usage_error("http", msg));
    // Vantage's own options may also come after the URL (clap hands over every word
    // after the first operand as is).
    let mut addr_opt = args.addr;
    let mut rest = Vec::new();
    let mut it = args.line.words.iter();
    while let Some(w) = it.next() {
        let value = if w == "--addr" {
            match it.next() {
                Some(v) => v.clone(),
                None => return usage("--addr needs an IP address"),
            }
        } else if let Some(v) = w.strip_prefix("--addr=") {
            v.to_owned()
        } else {
            rest.push(w.clone());
            continue;
        };
        match value.parse() {
            Ok(a) => addr_opt = Some(a),
            Err(_) => return usage(&format!("--addr: `{value}` is not an IP address")),
        }
    }
    let (long, rest) = match oneoff::split_long(&rest) {
        Ok(x) => x,
        Err(msg) => return usage(&msg),
    };
    if long.json {
        return usage("http results have no JSON form (scamper defines none); use --warts FILE");
    }
    // The URL is the operand: the last word.
    let Some((url_text, opts)) = rest.split_last() else {
        return usage("give the URL to fetch");
    };
    let Some(url) = HttpUrl::parse(url_text) else {
        return usage(&format!(
            "`{url_text}` is not a URL of the form http[s]://host[:port][/path]"
        ));
    };
    let addr = match addr_opt {
        Some(a) => a,
        None => match url.host.parse::<IpAddr>() {
            Ok(a) => a,
            Err(_) => match (url.host.as_str(), url.port).to_socket_addrs() {
                Ok(mut addrs) => match addrs.next() {
                    Some(a) => a.ip(),
                    None => return usage(&format!("{}: no address; give --addr", url.host)),
                },
                Err(e) => {
                    return usage(&format!("cannot resolve {}: {e}; give --addr", url.host));
                }
            },
        },
    };
    let mut words: Vec<String> = opts.to_vec();
    words.push("-u".to_owned());
    words.push(url_text.clone());
    words.push(addr.to_string());
    let flags = LongOpts {
        warts: long.warts.or_else(|| args.save.warts.clone()),
        ..long
    };
    run_app("http", "http", &words, flags)
}

/// The record as text.
pub fn text(h: &Http) -> String {
    let mut s = String::new();
    let scheme = h.kind.name().unwrap_or("http");
    let dst = h.dst.map(|d| d.to_string()).unwrap_or_default();
    let _ = writeln!(
        s,
        "{scheme}://{}:{}{} at {dst}: {}",
        h.host, h.dport, h.file, h.stop_reason
    );
    if let Some(e) = &h.errmsg {
        let _ = writeln!(s, "error: {e}");
    }
    if !h.hsrtt.is_zero() {
        let _ = writeln!(s, "connect: {:.3} ms", h.hsrtt.as_secs_f64() * 1000.0);
    }
    if let Some(t) = &h.tls {
        let version = match t.version {
            0x0303 => "TLSv1.2".to_owned(),
            0x0304 => "TLSv1.3".to_owned(),
            v => format!("0x{v:04x}"),
        };
        let alpn = t.alpn.as_ref().map_or_else(
            || "-".to_owned(),
            |a| String::from_utf8_lossy(a).into_owned(),
        );
        let _ = writeln!(
            s,
            "tls: {version} cipher 0x{:04x} alpn {alpn}, {} certificate(s), {}",
            t.cipher,
            t.certs.len(),
            t.verify_error
                .as_ref()
                .map_or_else(|| "verified".to_owned(), |e| format!("not verified: {e}"))
        );
    }
    let mut head = Vec::new();
    let mut body = 0usize;
    for b in h.bufs.iter().filter(|b| !b.tx) {
        match b.kind {
            HttpBufType::Header => head.extend_from_slice(&b.data),
            HttpBufType::Data => body += b.data.len(),
            _ => {}
        }
    }
    if !head.is_empty() {
        for line in String::from_utf8_lossy(&head).lines() {
            if !line.is_empty() {
                let _ = writeln!(s, "< {line}");
            }
        }
    }
    let first = h.start;
    if let Some(last) = h
        .bufs
        .iter()
        .rev()
        .find(|b| !b.tx && b.kind == HttpBufType::Data)
    {
        let _ = writeln!(
            s,
            "body: {body} bytes, last at {:.3} ms",
            last.ts.since(first).as_secs_f64() * 1000.0
        );
    } else {
        let _ = writeln!(s, "body: {body} bytes");
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use vantage_model::{HttpBuf, HttpFlags, HttpStop, HttpTls, HttpType, Timestamp};

    #[test]
    fn text_shows_head_tls_and_body() {
        let start = Timestamp::new(100, 0);
        let h = Http {
            list: None,
            cycle: None,
            user_id: 0,
            src: None,
            dst: Some("192.0.2.80".parse().unwrap()),
            sport: 40000,
            dport: 443,
            start,
            stop_reason: HttpStop::Done,
            kind: HttpType::Https,
            host: "www.example.test".to_owned(),
            file: "/".to_owned(),
            headers: Vec::new(),
            hsrtt: std::time::Duration::from_micros(1500),
            flags: HttpFlags::empty(),
            maxtime: std::time::Duration::from_secs(60),
            errmsg: None,
            ech_status: 0,
            ech_outer_sni: None,
            bufs: vec![
                HttpBuf {
                    tx: false,
                    kind: HttpBufType::Header,
                    ts: start,
                    data: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n".to_vec(),
                },
                HttpBuf {
                    tx: false,
                    kind: HttpBufType::Data,
                    ts: Timestamp::new(100, 2000),
                    data: b"hello".to_vec(),
                },
            ],
            ech_config_list: None,
            ech_retry_config: None,
            tls: Some(HttpTls {
                version: 0x0304,
                cipher: 0x1301,
                alpn: Some(b"h2".to_vec()),
                certs: vec![vec![1], vec![2]],
                verify_error: None,
            }),
        };
        let t = text(&h);
        assert!(
            t.starts_with("https://www.example.test:443/ at 192.0.2.80: done\n"),
            "{t}"
        );
        assert!(t.contains("connect: 1.500 ms\n"), "{t}");
        assert!(
            t.contains("tls: TLSv1.3 cipher 0x1301 alpn h2, 2 certificate(s), verified\n"),
            "{t}"
        );
        assert!(
            t.contains("< HTTP/1.1 200 OK\n< Content-Length: 5\n"),
            "{t}"
        );
        assert!(t.contains("body: 5 bytes, last at 2.000 ms\n"), "{t}");
    }
}
