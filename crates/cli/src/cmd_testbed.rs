//! `vantage testbed up|status|down`: the emulated Internet of `vantage-testbed` on this
//! machine, for demos, tutorials and tests (root only).
//!
//! A thin front end over [`vantage_testbed::persistent`]: `up` builds the network, its
//! services and (with `--with-daemons`) the Vantage daemons, prints what is where and
//! returns, leaving everything running; `status` looks at one testbed or lists them;
//! `down` removes one, also after a failed `up` or a killed caller. The testbed's
//! user-space engines (link delay, MPLS extensions, UDP echo) live in a helper process,
//! which is this same binary re-run as the hidden `vantage testbed delay-daemon STATE`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::CommandFactory as _;
use vantage_testbed::daemon;
use vantage_testbed::persistent::{self, DEFAULT_STATE_ROOT, UpOptions};

/// The prefix `up` and `status` use when none is given.
pub const DEFAULT_PREFIX: &str = "demo";

/// The hidden subcommand that runs the helper process.
const DAEMON_SUBCOMMAND: &str = "delay-daemon";

/// Exit status of `status PREFIX` when the testbed is not (completely) up.
const NOT_UP: u8 = 3;

const HELP: &str = "\
The testbed is an emulated Internet in network namespaces on this machine: five VPs in
different countries, a routed core with ECMP, an MPLS-labelling router, a silent router
and a rate-limiting one, two nameservers, a web server, a UDP echo and a ping target.
Everything is IPv4 and IPv6, and nothing leaves the machine. Needs root.

Run a command inside a node with `ip netns exec PREFIX-NODE COMMAND`, e.g.
  ip netns exec demo-vp_nz vantage ping -c 3 10.4.3.2
See docs/testbed.md for the map, the address plan and the VP metadata.";

/// Arguments of `vantage testbed`.
#[derive(clap::Args, Debug)]
#[command(after_help = HELP)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

/// What to do with a testbed.
#[derive(clap::Subcommand, Debug)]
enum Action {
    /// Build a testbed, print what is where, and return, leaving it running.
    Up(UpArgs),
    /// Show a testbed's namespaces, processes and layout (exit status 0 when it is
    /// completely up, 3 otherwise); without PREFIX, list every testbed.
    Status(StatusArgs),
    /// Remove a testbed: stop its processes, delete its namespaces and state.
    /// Works on a half-built or broken testbed too.
    Down(DownArgs),
    /// The testbed's helper process (started by `up`; not meant to be typed).
    #[command(name = DAEMON_SUBCOMMAND, hide = true)]
    DelayDaemon {
        /// The testbed's state directory.
        state: PathBuf,
    },
}

/// Arguments of `vantage testbed up`.
#[derive(clap::Args, Debug)]
struct UpArgs {
    /// The testbed's name: namespaces are PREFIX-NODE (1 to 16 characters from a-z,
    /// 0-9 and _).
    #[arg(default_value = DEFAULT_PREFIX)]
    prefix: String,
    /// Also start `vantage controller` in node ctrl and `vantage probe` on every VP
    /// (their logs go to STATE/logs/hook-*.log).
    #[arg(long, conflicts_with = "no_daemons")]
    with_daemons: bool,
    /// Start no Vantage daemons, only the network and its services (the default).
    #[arg(long)]
    no_daemons: bool,
    /// The `vantage` program the daemons run (default: this one).
    #[arg(long, value_name = "PATH", requires = "with_daemons")]
    vantage: Option<PathBuf>,
    /// Where state directories live.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STATE_ROOT)]
    state_root: PathBuf,
}

/// Arguments of `vantage testbed status`.
#[derive(clap::Args, Debug)]
struct StatusArgs {
    /// The testbed to show (default: list every testbed).
    prefix: Option<String>,
    /// Where state directories live.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STATE_ROOT)]
    state_root: PathBuf,
}

/// Arguments of `vantage testbed down`.
#[derive(clap::Args, Debug)]
struct DownArgs {
    /// The testbed to remove.
    prefix: String,
    /// Where state directories live.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STATE_ROOT)]
    state_root: PathBuf,
}

/// Runs the subcommand.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    match &args.action {
        Action::Up(a) => up(a),
        Action::Status(a) => status(a),
        Action::Down(a) => {
            let report = persistent::down(&a.prefix, &a.state_root)?;
            println!("testbed `{}`: {report}", a.prefix);
            Ok(ExitCode::SUCCESS)
        }
        Action::DelayDaemon { state } => {
            daemon::daemon_main(state)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn up(a: &UpArgs) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot find the path of this program")?;
    let mut options = UpOptions::new(helper_command(&exe));
    options.state_root.clone_from(&a.state_root);
    if a.with_daemons {
        let vantage = if let Some(path) = &a.vantage {
            path.clone()
        } else {
            check_daemon_subcommands()?;
            exe
        };
        let vantage = vantage
            .to_str()
            .with_context(|| format!("the path {} is not UTF-8", vantage.display()))?;
        options.hooks = persistent::vantage_hooks(vantage, &options.internet);
    }
    let layout = persistent::up(&a.prefix, &options).map_err(|e| match e {
        // The library's message names its Rust function; say what to type instead.
        vantage_testbed::Error::Leftovers { prefix, names } => anyhow::anyhow!(
            "namespaces of testbed `{prefix}` exist already ({names}); remove them with \
             `vantage testbed down {prefix}`, or pick another prefix"
        ),
        e => e.into(),
    })?;
    println!("{layout}");
    Ok(ExitCode::SUCCESS)
}

/// `EXE testbed delay-daemon {state}`: how `up` starts the helper.
fn helper_command(exe: &Path) -> Vec<OsString> {
    vec![
        exe.as_os_str().to_owned(),
        "testbed".into(),
        DAEMON_SUBCOMMAND.into(),
        "{state}".into(),
    ]
}

/// `--with-daemons` starts `vantage controller` and `vantage probe`: refuse early, with
/// a clear reason, when this binary does not have them.
fn check_daemon_subcommands() -> anyhow::Result<()> {
    let cli = crate::Cli::command();
    let missing: Vec<&str> = ["controller", "probe"]
        .into_iter()
        .filter(|name| cli.find_subcommand(name).is_none())
        .collect();
    if !missing.is_empty() {
        bail!(
            "--with-daemons starts `vantage controller` and `vantage probe`, but this vantage \
             has no `{}` subcommand yet; run `up` without --with-daemons, or name another \
             program with --vantage PATH",
            missing.join("` or `")
        );
    }
    Ok(())
}

fn status(a: &StatusArgs) -> anyhow::Result<ExitCode> {
    if let Some(prefix) = &a.prefix {
        let status = persistent::status(prefix, &a.state_root)?;
        print!("{status}");
        return Ok(if status.is_up() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(NOT_UP)
        });
    }
    let prefixes = persistent::list(&a.state_root)?;
    if prefixes.is_empty() {
        println!("no testbeds under {}", a.state_root.display());
    }
    for p in prefixes {
        let s = persistent::status(&p, &a.state_root)?;
        let verdict = if s.is_up() {
            "up".to_owned()
        } else {
            format!("BROKEN or half-built: run `vantage testbed down {p}`")
        };
        println!("{p}: {verdict}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::{Cli, Command};

    fn parse(args: &[&str]) -> Result<Action, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("vantage").chain(args.iter().copied()))?;
        match cli.command {
            Command::Testbed(a) => Ok(a.action),
            other => panic!("not a testbed command: {other:?}"),
        }
    }

    #[test]
    fn up_defaults_to_the_demo_prefix_and_no_daemons() {
        let Action::Up(a) = parse(&["testbed", "up"]).unwrap() else {
            panic!("not up")
        };
        assert_eq!(a.prefix, DEFAULT_PREFIX);
        assert!(!a.with_daemons);
        assert_eq!(a.state_root, Path::new(DEFAULT_STATE_ROOT));
    }

    #[test]
    fn daemon_options_conflict_and_vantage_needs_with_daemons() {
        assert!(parse(&["testbed", "up", "x", "--with-daemons", "--no-daemons"]).is_err());
        assert!(parse(&["testbed", "up", "x", "--vantage", "/bin/true"]).is_err());
        let Action::Up(a) =
            parse(&["testbed", "up", "x", "--with-daemons", "--vantage", "/v"]).unwrap()
        else {
            panic!("not up")
        };
        assert!(a.with_daemons);
        assert_eq!(a.vantage.as_deref(), Some(Path::new("/v")));
    }

    #[test]
    fn down_needs_a_prefix() {
        assert!(parse(&["testbed", "down"]).is_err());
        assert!(matches!(
            parse(&["testbed", "down", "x"]).unwrap(),
            Action::Down(_)
        ));
    }

    #[test]
    fn the_helper_is_this_binary_with_the_hidden_subcommand() {
        let argv = helper_command(Path::new("/usr/bin/vantage"));
        assert_eq!(
            argv,
            ["/usr/bin/vantage", "testbed", DAEMON_SUBCOMMAND, "{state}"]
                .map(OsString::from)
                .to_vec()
        );
        let Action::DelayDaemon { state } =
            parse(&["testbed", DAEMON_SUBCOMMAND, "/run/x"]).unwrap()
        else {
            panic!("not the helper")
        };
        assert_eq!(state, Path::new("/run/x"));
    }

    #[test]
    fn the_helper_is_hidden_from_help() {
        let mut cli = Cli::command();
        let help = cli
            .find_subcommand_mut("testbed")
            .unwrap()
            .render_help()
            .to_string();
        assert!(help.contains("up"), "{help}");
        assert!(!help.contains(DAEMON_SUBCOMMAND), "{help}");
    }
}
