//! `vantage policy`: inspect a VP policy file without running a probe.
//! `vantage policy explain FILE` prints what the policy allows, in plain language, and
//! its canonical hash; a bad file prints the error naming its line and key, and exits 2.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `vantage policy`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

/// What to do with the policy file.
#[derive(clap::Subcommand, Debug)]
enum Action {
    /// Describe the policy in plain language and print its hash.
    Explain {
        /// The policy file (TOML, see docs/policy.md).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// Runs the subcommand.
#[allow(clippy::unnecessary_wraps)] // the signature every subcommand's `run` has
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    match &args.action {
        Action::Explain { file } => match vantage_policy::Policy::load(file) {
            Ok(policy) => {
                let text = policy.explain();
                println!("{}", text.trim_end());
                // The explanation ends with the hash; say it once more only if it did not.
                if !text.contains(policy.canonical_hash()) {
                    println!("Policy sha256: {}", policy.canonical_hash());
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("vantage policy: {e}");
                Ok(ExitCode::from(2))
            }
        },
    }
}
