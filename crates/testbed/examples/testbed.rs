//! The emulated Internet from the command line: what `vantage testbed up|down|status`
//! will do, with the library calls it will make (run as root).
//!
//! ```text
//! cargo run -p vantage-testbed --example testbed -- up demo
//! cargo run -p vantage-testbed --example testbed -- status demo
//! cargo run -p vantage-testbed --example testbed -- down demo
//! ```
//!
//! `up PREFIX [--state-root DIR] [--vantage PATH | --dummy-hooks]`: builds the testbed and
//! returns, leaving it running. `--vantage PATH` starts `PATH controller` on `ctrl` and
//! `PATH probe` on every VP (see `persistent::vantage_hooks`); `--dummy-hooks` starts the
//! same hooks with a stand-in that prints its command line and sleeps.
//! `status [PREFIX]`, `down PREFIX`: look, remove. `delay-daemon STATE` is the helper
//! process that `up` starts; it is not meant to be typed.

use std::path::PathBuf;
use std::process::ExitCode;

use vantage_testbed::daemon;
use vantage_testbed::persistent::{self, DEFAULT_STATE_ROOT, UpOptions};

const USAGE: &str = "usage: testbed up PREFIX [--state-root DIR] [--vantage PATH | --dummy-hooks]\n\
                     \x20      testbed status [PREFIX] [--state-root DIR]\n\
                     \x20      testbed down PREFIX [--state-root DIR]";

/// The helper's argument, re-executed by `up`.
const DAEMON_ARG: &str = "delay-daemon";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("testbed: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Args {
    positional: Vec<String>,
    state_root: PathBuf,
    vantage: Option<String>,
    dummy_hooks: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        positional: Vec::new(),
        state_root: PathBuf::from(DEFAULT_STATE_ROOT),
        vantage: None,
        dummy_hooks: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--state-root" => {
                a.state_root = it.next().ok_or("--state-root needs a directory")?.into();
            }
            "--vantage" => a.vantage = Some(it.next().ok_or("--vantage needs a path")?.clone()),
            "--dummy-hooks" => a.dummy_hooks = true,
            s if s.starts_with("--") => return Err(format!("unknown option {s}\n{USAGE}")),
            s => a.positional.push(s.to_owned()),
        }
    }
    Ok(a)
}

fn run() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = argv.split_first() else {
        eprintln!("{USAGE}");
        return Ok(ExitCode::from(2));
    };
    if cmd == DAEMON_ARG {
        let [state] = rest else {
            return Err(format!("{DAEMON_ARG} takes the state directory").into());
        };
        daemon::daemon_main(std::path::Path::new(state))?;
        return Ok(ExitCode::SUCCESS);
    }
    let args = parse(rest)?;
    match (cmd.as_str(), args.positional.as_slice()) {
        ("up", [prefix]) => {
            let mut options = UpOptions::new(persistent::self_daemon_command(DAEMON_ARG)?);
            options.state_root.clone_from(&args.state_root);
            if let Some(vantage) = &args.vantage {
                options.hooks = persistent::vantage_hooks(vantage, &options.internet);
            } else if args.dummy_hooks {
                options.hooks = persistent::vantage_hooks("vantage", &options.internet);
                for h in &mut options.hooks {
                    let mut argv = vec![
                        "sh".to_owned(),
                        "-c".to_owned(),
                        "echo \"started: $0 $*\"; exec sleep infinity".to_owned(),
                    ];
                    argv.append(&mut h.argv);
                    h.argv = argv;
                }
            }
            let layout = persistent::up(prefix, &options)?;
            println!("{layout}");
            Ok(ExitCode::SUCCESS)
        }
        ("status", [prefix]) => {
            let status = persistent::status(prefix, &args.state_root)?;
            print!("{status}");
            Ok(if status.is_up() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        ("status", []) => {
            let prefixes = persistent::list(&args.state_root)?;
            if prefixes.is_empty() {
                println!("no testbeds under {}", args.state_root.display());
            }
            for p in prefixes {
                let s = persistent::status(&p, &args.state_root)?;
                println!(
                    "{p}: {}",
                    if s.is_up() { "up" } else { "broken (run down)" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ("down", [prefix]) => {
            let report = persistent::down(prefix, &args.state_root)?;
            println!("testbed `{prefix}`: {report}");
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            eprintln!("{USAGE}");
            Ok(ExitCode::from(2))
        }
    }
}
