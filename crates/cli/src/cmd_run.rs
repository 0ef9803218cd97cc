//! `vantage run`: runs a file of measurement commands (one per line) on a local prober
//! and writes the results as JSON lines or warts.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;
use vantage_command::{Command, Context};
use vantage_model::{Cycle, List, Record, Timestamp};
use vantage_probe::{Prober, ProberConfig, ProberHandle, TaskId, TaskOutput};
use vantage_warts::json::JsonEncoder;

use crate::input::is_broken_pipe;
use crate::oneoff::{USAGE, describe, live_json};

/// Output formats of `vantage run`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// JSON lines, as scamper writes them.
    Json,
    /// Binary warts.
    Warts,
}

/// Arguments of `vantage run`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Lines are commands of the measurement language (`ping -c 3 192.0.2.1`, `trace -P icmp-paris \
2001:db8::1`); blank lines and lines starting with # are skipped. A bad line is reported on \
standard error with its line number and the rest still run (exit status 1 at the end). Results \
come in the order measurements finish, framed by cycle-start and cycle-stop records. A progress \
bar is drawn on standard error when it is a terminal. Ctrl-C halts the measurements in progress \
and writes what they have. Needs root or CAP_NET_RAW.")]
pub struct Args {
    /// Packets per second for all measurements together.
    #[arg(long, value_name = "N", default_value_t = vantage_probe::DEFAULT_PPS)]
    pub pps: u32,
    /// Output format.
    #[arg(short = 'O', value_enum, default_value = "json")]
    pub format: Format,
    /// Write results to this file instead of standard output (warts files ending in .gz,
    /// .bz2 or .xz are compressed).
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Most measurements in progress at once; more wait their turn (default: the larger
    /// of 100 and --pps).
    #[arg(long, value_name = "N")]
    pub window: Option<usize>,
    /// The command file; `-` reads standard input.
    pub file: PathBuf,
}

/// Where results go.
enum Sink {
    Json(JsonEncoder, Box<dyn Write>),
    Warts(Box<vantage_warts::Writer<vantage_warts::Sink<Box<dyn Write>>>>),
}

impl Sink {
    fn write(&mut self, rec: &Record) -> anyhow::Result<()> {
        match self {
            Sink::Json(enc, out) => {
                if let Some(line) = enc.encode_line(rec) {
                    out.write_all(line)?;
                }
            }
            Sink::Warts(w) => w.write_record(rec)?,
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Json(_, mut out) => out.flush()?,
            Sink::Warts(w) => {
                w.close()?.flush()?;
            }
        }
        Ok(())
    }
}

/// One line of the input, read on a helper thread.
enum Line {
    Command(usize, Command),
    Bad(usize, String),
    Failed(io::Error),
}

/// Runs the subcommand.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let mut config = ProberConfig::with_pps(args.pps);
    if let Err(e) = config.validate() {
        eprintln!("vantage run: --pps: {e}");
        return Ok(ExitCode::from(USAGE));
    }
    // `host` without -s asks the first nameserver of /etc/resolv.conf, as in the probe.
    let ctx = Context::new(std::process::id()).with_nameserver(crate::cmd_dns::system_resolver());
    config.pid = ctx.pid;
    let window = args
        .window
        .unwrap_or_else(|| (args.pps as usize).max(100))
        .max(1);
    let input: Box<dyn BufRead + Send> = if args.file.as_os_str() == "-" {
        Box::new(BufReader::new(io::stdin()))
    } else {
        let f =
            File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
        Box::new(BufReader::new(f))
    };
    let mut sink = open_sink(args)?;

    let list = Arc::new(List::new(0, "default"));
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty());
    let start = Timestamp::now();
    let mut cycle = Cycle {
        list: Arc::clone(&list),
        id: 1,
        start_time: start.sec,
        stop_time: None,
        hostname,
    };
    sink.write(&Record::CycleStart(Arc::new(cycle.clone())))?;
    let cycle_ref = Arc::new(cycle.clone());

    let (lines_tx, mut lines) = mpsc::channel::<Line>(1024);
    std::thread::Builder::new()
        .name("vantage-run-input".to_owned())
        .spawn(move || read_lines(input, &ctx, &lines_tx))
        .context("starting the input reader")?;

    let (handle, mut results, thread) = Prober::spawn(config)?;
    let bar = progress_bar();
    let mut state = RunState {
        handle,
        lines_of: HashMap::new(),
        bad: 0,
        failed: 0,
        done: 0,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the event loop")?;
    let outcome: anyhow::Result<()> = rt.block_on(async {
        let mut eof = false;
        let mut stopping = false;
        loop {
            let room = state.lines_of.len() < window;
            tokio::select! {
                line = lines.recv(), if room && !eof && !stopping => {
                    if let Some(l) = line {
                        state.take_line(l, &bar)?;
                    } else {
                        eof = true;
                        if state.lines_of.is_empty() {
                            break;
                        }
                    }
                },
                out = results.recv() => {
                    let Some(out) = out else { break };
                    if out.partial {
                        // `-y` snapshots: only final results are written.
                        continue;
                    }
                    state.finished(out, &list, &cycle_ref, &mut sink, &bar)?;
                    if (eof || stopping) && state.lines_of.is_empty() {
                        break;
                    }
                },
                _ = tokio::signal::ctrl_c(), if !stopping => {
                    stopping = true;
                    state.handle.shutdown();
                    if state.lines_of.is_empty() {
                        break;
                    }
                },
            }
        }
        Ok(())
    });
    bar.finish_and_clear();
    drop(state.handle);
    let joined = thread.join();
    cycle.stop_time = Some(Timestamp::now().sec);
    let end = sink
        .write(&Record::CycleStop(Arc::new(cycle)))
        .and_then(|()| sink.finish());
    match outcome.and(end) {
        Ok(()) => {}
        Err(e) if is_broken_pipe(&e) => {}
        Err(e) => return Err(e.context("writing results")),
    }
    joined?;
    if state.bad > 0 || state.failed > 0 {
        eprintln!(
            "vantage run: {} measurements done, {} bad lines, {} failed",
            state.done, state.bad, state.failed
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

struct RunState {
    handle: ProberHandle,
    /// Line number of every submitted, unfinished task.
    lines_of: HashMap<TaskId, usize>,
    bad: usize,
    failed: usize,
    done: usize,
}

impl RunState {
    fn take_line(&mut self, l: Line, bar: &ProgressBar) -> anyhow::Result<()> {
        match l {
            Line::Command(n, cmd) => match self.handle.submit(cmd) {
                Ok(id) => {
                    self.lines_of.insert(id, n);
                    bar.inc_length(1);
                }
                Err(e) => {
                    self.bad += 1;
                    bar.suspend(|| eprintln!("vantage run: line {n}: {e}"));
                }
            },
            Line::Bad(n, msg) => {
                self.bad += 1;
                bar.suspend(|| eprintln!("vantage run: line {n}: {msg}"));
            }
            Line::Failed(e) => return Err(anyhow::Error::from(e).context("reading commands")),
        }
        Ok(())
    }

    fn finished(
        &mut self,
        out: TaskOutput,
        list: &Arc<List>,
        cycle: &Arc<Cycle>,
        sink: &mut Sink,
        bar: &ProgressBar,
    ) -> anyhow::Result<()> {
        let line = self.lines_of.remove(&out.task).unwrap_or(0);
        bar.inc(1);
        match out.result {
            Ok(mut rec) => {
                match &mut rec {
                    Record::Ping(p) => {
                        p.list = Some(Arc::clone(list));
                        p.cycle = Some(Arc::clone(cycle));
                    }
                    Record::Trace(t) => {
                        t.list = Some(Arc::clone(list));
                        t.cycle = Some(Arc::clone(cycle));
                    }
                    Record::Tracelb(t) => {
                        t.list = Some(Arc::clone(list));
                        t.cycle = Some(Arc::clone(cycle));
                    }
                    Record::Host(h) => {
                        h.list = Some(Arc::clone(list));
                        h.cycle = Some(Arc::clone(cycle));
                    }
                    Record::Http(h) => {
                        h.list = Some(Arc::clone(list));
                        h.cycle = Some(Arc::clone(cycle));
                    }
                    Record::Udpprobe(u) => {
                        u.list = Some(Arc::clone(list));
                        u.cycle = Some(Arc::clone(cycle));
                    }
                    _ => {}
                }
                self.done += 1;
                sink.write(&rec)?;
            }
            Err(e) => {
                self.failed += 1;
                bar.suspend(|| eprintln!("vantage run: line {line}: {e}"));
            }
        }
        Ok(())
    }
}

/// Reads commands, parsing each line; runs on its own thread.
fn read_lines(input: Box<dyn BufRead + Send>, ctx: &Context, tx: &mpsc::Sender<Line>) {
    for (i, line) in input.lines().enumerate() {
        let n = i + 1;
        let msg = match line {
            Err(e) => Line::Failed(e),
            Ok(text) => {
                let t = text.trim();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                match Command::parse(t, ctx) {
                    Ok(c) => Line::Command(n, c),
                    Err(e) => Line::Bad(n, describe(&e)),
                }
            }
        };
        let failed = matches!(msg, Line::Failed(_));
        if tx.blocking_send(msg).is_err() || failed {
            return;
        }
    }
}

fn open_sink(args: &Args) -> anyhow::Result<Sink> {
    let out: Box<dyn Write> = match &args.output {
        Some(p) if p.as_os_str() != "-" => {
            Box::new(File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
        _ => {
            if args.format == Format::Warts && io::stdout().is_terminal() {
                anyhow::bail!(
                    "refusing to write binary warts to a terminal: use -o FILE or a redirection"
                );
            }
            Box::new(io::stdout())
        }
    };
    Ok(match args.format {
        Format::Json => Sink::Json(
            JsonEncoder::new(live_json()),
            Box::new(BufWriter::with_capacity(256 * 1024, out)),
        ),
        Format::Warts => {
            let c = args.output.as_deref().map_or(
                vantage_warts::Compression::None,
                vantage_warts::Compression::from_path,
            );
            Sink::Warts(Box::new(vantage_warts::Writer::new(
                vantage_warts::Sink::new(out, c),
            )))
        }
    })
}

fn progress_bar() -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} measurements ({per_sec})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
