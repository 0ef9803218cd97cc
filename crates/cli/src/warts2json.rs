//! `vantage warts2json`: warts to JSON lines.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use vantage_warts::json::{JsonOptions, write_json};

use crate::input::{Problems, for_each_record, is_broken_pipe};
use crate::time::local_offset;

/// Output is written whenever this much is buffered.
const FLUSH_AT: usize = 1 << 20;

/// Arguments of `vantage warts2json`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Warts files, plain or compressed (gzip, bzip2, xz); `-` or none reads
    /// standard input.
    pub files: Vec<PathBuf>,
    /// Write the JSON scamper writes itself (unanswered probes listed in
    /// `no_responses` / `no_hops`) instead of sc_warts2json's.
    #[arg(long)]
    pub live: bool,
    /// Format `ftime` strings in UTC instead of the local time zone.
    #[arg(long)]
    pub utc: bool,
}

/// Whether standard input is among the inputs and is not a regular file.
fn reads_stream(files: &[PathBuf]) -> bool {
    let stdin_used = files.is_empty() || files.iter().any(|f| f.as_os_str() == "-");
    stdin_used && !std::fs::metadata("/dev/stdin").is_ok_and(|m| m.is_file())
}

/// Runs the subcommand.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let mut opts = JsonOptions {
        live: args.live,
        utc_offset: None,
    };
    if !args.utc {
        opts = opts.with_utc_offset(local_offset());
    }
    // Lines are gathered in one buffer and written in large pieces, except
    // when reading a stream (a pipe from a running prober): then each line
    // goes out as soon as its record is complete.
    let flush_at = if reads_stream(&args.files) {
        1
    } else {
        FLUSH_AT
    };
    let mut buf: Vec<u8> = Vec::with_capacity(FLUSH_AT + 64 * 1024);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut problems = Problems::new("warts2json");
    let res = for_each_record(&args.files, None, &mut problems, |_, _, rec| {
        if write_json(&mut buf, &rec, &opts) {
            buf.push(b'\n');
            if buf.len() >= flush_at {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        Ok(())
    })
    .and_then(|()| {
        out.write_all(&buf)?;
        out.flush().map_err(anyhow::Error::from)
    });
    match res {
        Ok(()) => Ok(problems.exit_code()),
        Err(e) if is_broken_pipe(&e) => Ok(problems.exit_code()),
        Err(e) => Err(e.context("writing JSON to standard output")),
    }
}
