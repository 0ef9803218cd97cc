//! What `vantage ping` and `vantage trace` share: their arguments (the command language's
//! single-letter options, plus Vantage's long ones) and printing their results as they
//! come; also the parsing of Vantage's long options and of command lines that every
//! one-off measurement uses (`measure` runs them).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use vantage_command::{Command, CommandError, Context};
use vantage_model::Record;
use vantage_warts::json::JsonOptions;

use crate::human;
use crate::measure::{self, CommandWords, OutputArgs, Prepared};

/// Exit status for usage errors (a bad option), as for the file tools.
pub const USAGE: u8 = 2;

/// The arguments of a one-off measurement.
#[derive(clap::Args, Debug)]
pub struct OneOff {
    /// Packets per second the prober may send (default 100).
    #[arg(long, value_name = "N")]
    pub pps: Option<u32>,
    /// `--json`, `--warts FILE`.
    #[command(flatten)]
    pub out: OutputArgs,
    /// The measurement's words.
    #[command(flatten)]
    pub line: CommandWords,
}

/// Vantage's own (long) options, which may also appear among the letter options.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LongOpts {
    /// `--pps N`.
    pub pps: Option<u32>,
    /// `--json`.
    pub json: bool,
    /// `--warts FILE`.
    pub warts: Option<PathBuf>,
}

/// Takes `--pps`, `--json`, `--warts` (and `--pps=N`, `--warts=FILE`) out of `words`;
/// returns them and the remaining words, which belong to the command language.
pub fn split_long(words: &[String]) -> Result<(LongOpts, Vec<String>), String> {
    let mut long = LongOpts::default();
    let mut rest = Vec::new();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        let Some(opt) = w.strip_prefix("--") else {
            rest.push(w.clone());
            continue;
        };
        let (name, inline) = match opt.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (opt, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("--{name} needs a value"))
        };
        match name {
            "pps" => {
                let v = value(name)?;
                let n = v
                    .parse::<u32>()
                    .map_err(|_| format!("--pps: `{v}` is not a number of packets per second"))?;
                long.pps = Some(n);
            }
            "warts" => long.warts = Some(PathBuf::from(value(name)?)),
            "json" if inline.is_none() => long.json = true,
            "json" => return Err("--json takes no value".to_owned()),
            _ => return Err(format!("unknown option --{name} (see --help)")),
        }
    }
    Ok((long, rest))
}

/// Joins a command word and its arguments into one line of the command language,
/// quoting the words that need it.
pub fn command_line(word: &str, args: &[String]) -> String {
    let mut line = word.to_owned();
    for a in args {
        line.push(' ');
        let plain =
            !a.is_empty() && !a.chars().any(char::is_whitespace) && !a.starts_with(['"', '\'']);
        if plain {
            line.push_str(a);
        } else {
            line.push('"');
            for c in a.chars() {
                if c == '"' || c == '\\' {
                    line.push('\\');
                }
                line.push(c);
            }
            line.push('"');
        }
    }
    line
}

/// A command error as one line: the language's reason, plus the detail for syntax errors.
pub fn describe(e: &CommandError) -> String {
    match e.detail() {
        Some(d) => format!("{e}: {d}"),
        None => e.to_string(),
    }
}

/// JSON options for output written by the prober itself (scamper's live JSON).
pub fn live_json() -> JsonOptions {
    JsonOptions::live().with_utc_offset(crate::time::local_offset())
}

/// Runs `vantage ping`, `vantage trace` or `vantage tracelb` (`word`).
pub fn run(word: &'static str, a: &OneOff) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(std::process::id());
    let Prepared {
        mut command,
        config,
        opts,
    } = match measure::prepare(word, &a.line.words, a.out.long_opts(a.pps), &ctx) {
        Ok(p) => p,
        Err(msg) => return Ok(measure::usage_error(word, &msg)),
    };
    let json = opts.json;
    if !json {
        // Snapshots after every reply, so that text appears as the measurement goes
        // (the result records nothing of this setting).
        match &mut command {
            Command::Ping(p) if p.stream == 0 => p.stream = 1,
            Command::Trace(t) if t.stream == 0 => t.stream = 1,
            _ => {}
        }
        let header = match &command {
            Command::Ping(p) => human::ping_header(p),
            Command::Trace(t) => human::trace_header(t),
            Command::Tracelb(t) => human::tracelb_header(t),
            _ => String::new(),
        };
        println!("{header}");
    }
    let mut live = human::Live::default();
    let Some(record) = measure::measure(word, config, command, |rec| {
        if !json {
            let text = live.partial(rec);
            let mut stdout = io::stdout().lock();
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
        }
    })?
    else {
        return Ok(ExitCode::FAILURE);
    };
    measure::write_result(&record, opts.warts.as_deref(), json, |r| live.finish(r))?;
    // Like ping(8): success only if the target answered.
    Ok(measure::status(match &record {
        Record::Ping(p) => p.stats().nreplies > 0,
        _ => true,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn long_options_anywhere() {
        let (l, rest) = split_long(&words(&[
            "-c",
            "3",
            "--pps",
            "500",
            "-P",
            "udp",
            "--json",
            "--warts=x.warts",
            "10.0.0.1",
        ]))
        .unwrap();
        assert_eq!(l.pps, Some(500));
        assert!(l.json);
        assert_eq!(l.warts, Some(PathBuf::from("x.warts")));
        assert_eq!(rest, words(&["-c", "3", "-P", "udp", "10.0.0.1"]));
        assert!(
            split_long(&words(&["--pps"]))
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            split_long(&words(&["--pps", "x"]))
                .unwrap_err()
                .contains("`x`")
        );
        assert!(
            split_long(&words(&["--frob"]))
                .unwrap_err()
                .contains("--frob")
        );
    }

    #[test]
    fn lines_quote_what_needs_it() {
        assert_eq!(
            command_line("ping", &words(&["-c", "3", "192.0.2.1"])),
            "ping -c 3 192.0.2.1"
        );
        assert_eq!(
            command_line("trace", &words(&["-Z", "a b", "-p", "\"x\\"])),
            "trace -Z \"a b\" -p \"\\\"x\\\\\""
        );
        let ctx = Context::new(1);
        let e = Command::parse(
            &command_line("ping", &words(&["-c", "0", "10.0.0.1"])),
            &ctx,
        )
        .unwrap_err();
        assert_eq!(describe(&e), "-c failed: attempts must be within 1 - 65535");
        let e =
            Command::parse(&command_line("ping", &words(&["-x", "10.0.0.1"])), &ctx).unwrap_err();
        assert!(
            describe(&e).starts_with("could not parse ping command: "),
            "{}",
            describe(&e)
        );
    }
}
