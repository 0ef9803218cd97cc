//! What every one-off measurement subcommand (`ping`, `trace`, `tracelb`, `dns`, `http`, `udpprobe`)
//! shares: the `--json` / `--warts FILE` options, usage errors, turning the words into a
//! command and a prober configuration, running that command on a local prober, and
//! writing its result as warts and as one JSON line or text.
//!
//! It does not turn results into text: each subcommand gives its own.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use vantage_command::{Command, Context};
use vantage_model::Record;
use vantage_probe::{DEFAULT_PPS, Prober, ProberConfig, TaskOutput};
use vantage_warts::json::JsonEncoder;

use crate::oneoff::{self, LongOpts, USAGE};

/// `--warts FILE`.
#[derive(clap::Args, Debug, Default)]
pub struct WartsArg {
    /// Also write the result to this warts file (compressed if it ends in .gz, .bz2 or .xz).
    #[arg(long, value_name = "FILE")]
    pub warts: Option<PathBuf>,
}

/// `--json` and `--warts FILE`.
#[derive(clap::Args, Debug, Default)]
pub struct OutputArgs {
    /// Print the result as one JSON line (the JSON scamper writes) instead of text.
    #[arg(long)]
    pub json: bool,
    /// `--warts FILE`.
    #[command(flatten)]
    pub save: WartsArg,
}

impl OutputArgs {
    /// These options (and `pps`) as the long options found among the words would be.
    pub fn long_opts(&self, pps: Option<u32>) -> LongOpts {
        LongOpts {
            pps,
            json: self.json,
            warts: self.save.warts.clone(),
        }
    }
}

/// The measurement's words: its options exactly as in the command language, then its
/// operand. A subcommand whose operand is no address renames and describes them with
/// `#[command(mut_arg("words", ...))]`.
#[derive(clap::Args, Debug)]
pub struct CommandWords {
    /// The measurement's options, exactly as in the command language, then the address.
    #[arg(
        value_name = "OPTIONS] [ADDR",
        allow_hyphen_values = true,
        trailing_var_arg = true,
        required = true
    )]
    pub words: Vec<String>,
}

/// The arguments of `vantage dns` and `vantage udpprobe`: `--json`, `--warts FILE`, the
/// words.
#[derive(clap::Args, Debug)]
pub struct AppArgs {
    /// `--json`, `--warts FILE`.
    #[command(flatten)]
    pub out: OutputArgs,
    /// The measurement's words.
    #[command(flatten)]
    pub line: CommandWords,
}

/// Prints `msg` as the usage error of `vantage WORD`; the usage exit status.
pub fn usage_error(word: &str, msg: &str) -> ExitCode {
    eprintln!("vantage {word}: {msg}");
    ExitCode::from(USAGE)
}

/// A one-off measurement, ready to run.
#[derive(Debug)]
pub struct Prepared {
    /// The command.
    pub command: Command,
    /// The prober's configuration.
    pub config: ProberConfig,
    /// Vantage's options, from the words and from clap's flags.
    pub opts: LongOpts,
}

/// Takes Vantage's long options out of `words` (they win over `flags`, those clap
/// parsed), parses the rest as the command language's `word` command in `ctx`, and
/// checks the prober's configuration. `Err` is a usage-error message.
pub fn prepare(
    word: &str,
    words: &[String],
    flags: LongOpts,
    ctx: &Context,
) -> Result<Prepared, String> {
    let (long, words) = oneoff::split_long(words)?;
    let opts = LongOpts {
        pps: long.pps.or(flags.pps),
        json: long.json || flags.json,
        warts: long.warts.or(flags.warts),
    };
    let command = Command::parse(&oneoff::command_line(word, &words), ctx)
        .map_err(|e| oneoff::describe(&e))?;
    let mut config = ProberConfig::with_pps(opts.pps.unwrap_or(DEFAULT_PPS));
    config.pid = ctx.pid;
    config.validate().map_err(|e| format!("--pps: {e}"))?;
    Ok(Prepared {
        command,
        config,
        opts,
    })
}

/// Runs `command` on a prober of its own until the final result; Ctrl-C ends the
/// measurement with what it has. `on_partial` sees every snapshot (commands with `-y N`).
/// `None` when the measurement failed, which is reported as `vantage WORD: reason`.
pub fn measure(
    word: &str,
    config: ProberConfig,
    command: Command,
    mut on_partial: impl FnMut(&Record),
) -> anyhow::Result<Option<Record>> {
    let (handle, mut results, thread) = Prober::spawn(config)?;
    let task = handle.submit(command)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the event loop")?;
    let output = rt.block_on(async {
        let mut halted = false;
        loop {
            tokio::select! {
                r = results.recv() => match r {
                    Some(out) if out.partial => {
                        if let Ok(rec) = &out.result {
                            on_partial(rec);
                        }
                    }
                    other => break other,
                },
                _ = tokio::signal::ctrl_c(), if !halted => {
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
    match result {
        Ok(r) => Ok(Some(r)),
        Err(e) => {
            eprintln!("vantage {word}: {e}");
            Ok(None)
        }
    }
}

/// Writes `record` to the warts file `warts` (if any), then to standard output as one
/// line of scamper's live JSON (`json`) or as `text` makes it.
pub fn write_result(
    record: &Record,
    warts: Option<&Path>,
    json: bool,
    text: impl FnOnce(&Record) -> String,
) -> anyhow::Result<()> {
    if let Some(path) = warts {
        let mut w =
            vantage_warts::create(path).with_context(|| format!("creating {}", path.display()))?;
        w.write_record(record)
            .with_context(|| format!("writing {}", path.display()))?;
        w.close()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut stdout = io::stdout().lock();
    if json {
        let mut enc = JsonEncoder::new(oneoff::live_json());
        if let Some(line) = enc.encode_line(record) {
            stdout.write_all(line)?;
        }
    } else {
        stdout.write_all(text(record).as_bytes())?;
    }
    stdout.flush()?;
    Ok(())
}

/// The exit status of a measurement that got (`true`) or missed what it asked for.
pub fn status(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    /// The words' name and description in `vantage NAME --help`.
    fn words_help<A: clap::Args>(name: &'static str) -> String {
        let mut cmd = A::augment_args(clap::Command::new(name));
        cmd.render_help().to_string()
    }

    #[test]
    fn each_subcommand_names_and_describes_its_words() {
        for (help, want) in [
            (
                words_help::<crate::cmd_dns::Args>("dns"),
                "<OPTIONS] [NAME>...  The query's options, exactly as in the command language, \
                 then the name\n",
            ),
            (
                words_help::<crate::cmd_http::Args>("http"),
                "<OPTIONS] [URL>...  The fetch's options, exactly as in the command language, \
                 then the URL\n",
            ),
            (
                words_help::<crate::cmd_udpprobe::Args>("udpprobe"),
                "<OPTIONS] [ADDR>...  The probe's options, exactly as in the command language, \
                 then the address\n",
            ),
            (
                words_help::<crate::cmd_ping::Args>("ping"),
                "<OPTIONS] [ADDR>...  The measurement's options, exactly as in the command \
                 language, then the address\n",
            ),
        ] {
            assert!(help.contains(want), "{help}");
        }
    }
}
