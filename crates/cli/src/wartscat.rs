//! `vantage wartscat`: concatenate warts files, optionally filtering by type.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use vantage_model::Record;
use vantage_warts::types::{self, record_type_name};
use vantage_warts::{Compression, Sink, TypeFilter, WriteError, Writer};

use crate::input::{Problems, for_each_record, is_broken_pipe};

/// Arguments of `vantage wartscat`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Keep only records of these types (repeat the option or separate with
    /// commas): ping, trace, tracelb, dealias, host, http, udpprobe, sniff,
    /// neighbourdisc, tbit, sting, owamp. List and cycle records are always
    /// kept.
    #[arg(short = 't', long = "type", value_name = "TYPE", value_delimiter = ',', value_parser = type_code)]
    pub types: Vec<u16>,
    /// Write to this file, compressed if its name ends in .gz, .bz2 or .xz
    /// (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Warts files, plain or compressed; `-` or none reads standard input.
    pub files: Vec<PathBuf>,
}

/// A record type name as a warts type code.
fn type_code(name: &str) -> Result<u16, String> {
    (types::TRACE..=types::OWAMP)
        .find(|c| *c != types::ADDRESS && record_type_name(*c) == name)
        .ok_or_else(|| {
            format!(
                "unknown record type `{name}`: expected one of ping, trace, tracelb, dealias, \
                 host, http, udpprobe, sniff, neighbourdisc, tbit, sting, owamp"
            )
        })
}

/// The type filter `-t` asks for (list and cycle records always pass);
/// `None` keeps everything.
fn filter(codes: &[u16]) -> Option<TypeFilter> {
    if codes.is_empty() {
        return None;
    }
    let base = TypeFilter::none()
        .with(types::LIST)
        .with(types::CYCLE_START)
        .with(types::CYCLE_DEF)
        .with(types::CYCLE_STOP);
    Some(codes.iter().fold(base, |f, c| f.with(*c)))
}

/// Runs the subcommand.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let filter = filter(&args.types);
    let mut problems = Problems::new("wartscat");
    if let Some(path) = &args.output {
        let mut w = vantage_warts::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        cat(&args.files, filter, &mut w, &mut problems)?;
        w.close()
            .with_context(|| format!("writing {}", path.display()))?;
        return Ok(problems.exit_code());
    }
    let stdout = io::stdout();
    if stdout.is_terminal() {
        bail!("refusing to write binary warts to a terminal: use -o FILE or a redirection");
    }
    let mut w = Writer::new(Sink::new(stdout.lock(), Compression::None));
    let res = cat(&args.files, filter, &mut w, &mut problems)
        .and_then(|()| w.close().map(drop).map_err(anyhow::Error::from));
    match res {
        Ok(()) => Ok(problems.exit_code()),
        Err(e) if is_broken_pipe(&e) => Ok(problems.exit_code()),
        Err(e) => Err(e.context("writing warts to standard output")),
    }
}

fn cat<W: Write>(
    files: &[PathBuf],
    filter: Option<vantage_warts::TypeFilter>,
    w: &mut Writer<W>,
    problems: &mut Problems,
) -> anyhow::Result<()> {
    let mut unsupported = Vec::new();
    for_each_record(files, filter, problems, |name, at, rec| {
        match w.write_record(&rec) {
            Ok(()) => Ok(()),
            Err(WriteError::Io(e)) => Err(e.into()),
            Err(e) => {
                let kind = match &rec {
                    Record::Unsupported(raw) => record_type_name(raw.kind),
                    r => r.type_name(),
                };
                unsupported.push((name.to_owned(), at, kind, e.to_string()));
                Ok(())
            }
        }
    })?;
    for (name, at, kind, e) in unsupported {
        problems.report(
            &name,
            format_args!("{kind} record at byte offset {at} not copied: {e}"),
        );
    }
    Ok(())
}
