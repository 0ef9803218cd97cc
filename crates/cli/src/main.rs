//! The `vantage` command line.
//!
//! One binary, one subcommand per task, one module per subcommand:
//! - `warts2json`: warts to the JSON lines scamper's `sc_warts2json` writes;
//! - `wartscat`: concatenate warts files, optionally keeping some record types;
//! - `wartsdump`: a field-by-field text dump of warts records, for debugging.
//!
//! The prober subcommands (`ping`, `trace`, `tracelb`, `dns`, `http`, `udpprobe`, `run`) and the
//! daemons slot in as further variants of [`Command`] with their own modules; `testbed`
//! (`cmd_testbed`) builds the emulated Internet (docs/cli.md lists them all).
//!
//! Exit status: 0 on success; 1 when some input could not be read or some
//! record was corrupt (each one is reported on standard error with the file,
//! byte offset and record type, and the tool goes on with the next record);
//! 2 for usage errors.

mod cmd_controller;
mod cmd_dns;
mod cmd_http;
mod cmd_ping;
mod cmd_policy;
mod cmd_probe;
mod cmd_run;
mod cmd_testbed;
mod cmd_trace;
mod cmd_tracelb;
mod cmd_udpprobe;
mod cmd_vps;
mod human;
mod input;
mod measure;
mod oneoff;
mod time;
mod warts2json;
mod wartscat;
mod wartsdump;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Vantage: Internet measurement from many vantage points.
#[derive(Parser, Debug)]
#[command(name = "vantage", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
enum Command {
    /// Convert warts files to JSON lines, as scamper's sc_warts2json does.
    Warts2json(warts2json::Args),
    /// Concatenate warts files into one, optionally keeping only some record types.
    Wartscat(wartscat::Args),
    /// Print warts records field by field, for debugging.
    Wartsdump(wartsdump::Args),
    /// Ping an address from this machine (options as in the command language).
    Ping(cmd_ping::Args),
    /// Traceroute to an address from this machine (options as in the command language).
    Trace(cmd_trace::Args),
    /// MDA traceroute: every load-balanced path to an address (options as in `tracelb`).
    Tracelb(cmd_tracelb::Args),
    /// Ask a DNS server one question from this machine (options as in `host` commands).
    Dns(cmd_dns::Args),
    /// Fetch a URL over HTTP(S) from this machine (options as in `http` commands).
    Http(cmd_http::Args),
    /// Send a payload to a UDP port and record the replies (options as in `udpprobe`).
    Udpprobe(cmd_udpprobe::Args),
    /// Run a file of measurement commands and write JSON lines or warts.
    Run(cmd_run::Args),
    /// Run the vantage-point daemon: a local control socket and/or a link to a controller.
    Probe(cmd_probe::Args),
    /// Run the controller: VP links and the mux socket (see docs/controller.md).
    Controller(cmd_controller::Args),
    /// Inspect a VP policy file (`explain FILE`).
    Policy(cmd_policy::Args),
    /// Build, inspect or remove the emulated Internet on this machine (root only).
    Testbed(cmd_testbed::Args),
    /// List a controller's VPs with their metadata and policy hashes (`--mux PATH`).
    Vps(cmd_vps::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Warts2json(a) => warts2json::run(&a),
        Command::Wartscat(a) => wartscat::run(&a),
        Command::Wartsdump(a) => wartsdump::run(&a),
        Command::Ping(a) => cmd_ping::run(&a),
        Command::Trace(a) => cmd_trace::run(&a),
        Command::Tracelb(a) => cmd_tracelb::run(&a),
        Command::Dns(a) => cmd_dns::run(&a),
        Command::Http(a) => cmd_http::run(&a),
        Command::Udpprobe(a) => cmd_udpprobe::run(&a),
        Command::Run(a) => cmd_run::run(&a),
        Command::Probe(a) => cmd_probe::run(&a),
        Command::Controller(a) => cmd_controller::run(&a),
        Command::Testbed(a) => cmd_testbed::run(&a),
        Command::Policy(a) => cmd_policy::run(&a),
        Command::Vps(a) => cmd_vps::run(&a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vantage: {e:#}");
            ExitCode::FAILURE
        }
    }
}
