//! The `vantage` command line.

use clap::Parser;

/// Vantage: Internet measurement from many vantage points.
#[derive(Parser, Debug)]
#[command(name = "vantage", version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
