//! Reading warts inputs for the file tools: files or standard input,
//! compressed or not, with per-record error reports.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use vantage_model::Record;
use vantage_warts::{Reader, TypeFilter};

/// Counts and reports problems (unreadable files, corrupt records) on
/// standard error, so that a tool can go on and exit with status 1 at the end.
pub struct Problems {
    tool: &'static str,
    count: u64,
}

impl Problems {
    /// A reporter for the named subcommand.
    pub fn new(tool: &'static str) -> Self {
        Self { tool, count: 0 }
    }

    /// Reports one problem with `file`.
    pub fn report(&mut self, file: &str, msg: impl std::fmt::Display) {
        eprintln!("vantage {}: {file}: {msg}", self.tool);
        self.count += 1;
    }

    /// Exit status: success if nothing was reported.
    pub fn exit_code(&self) -> ExitCode {
        if self.count == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// The inputs named on the command line: standard input when there are none.
pub fn inputs(files: &[PathBuf]) -> Vec<PathBuf> {
    if files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        files.to_vec()
    }
}

/// How to show an input in messages.
pub fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "(standard input)".to_owned()
    } else {
        path.display().to_string()
    }
}

/// Whether an error means our output went away (a closed pipe): the tools
/// then stop quietly.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

/// Reads every record of every input in order and hands it to `each` with
/// the input's name and the byte offset (in the uncompressed stream) where
/// the record starts. Bad records and unreadable inputs are reported to
/// `problems` and skipped. An error from `each` (an output failure) stops
/// everything and is returned.
pub fn for_each_record(
    files: &[PathBuf],
    filter: Option<TypeFilter>,
    problems: &mut Problems,
    mut each: impl FnMut(&str, u64, Record) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    for path in inputs(files) {
        let name = display_name(&path);
        let mut reader: Reader<Box<dyn Read + Send>> = match vantage_warts::open(&path) {
            Ok(r) => r,
            Err(e) => {
                problems.report(&name, format_args!("cannot open: {e}"));
                continue;
            }
        };
        reader.set_filter(filter);
        loop {
            let at = reader.offset();
            match reader.next_record() {
                Ok(Some(rec)) => each(&name, at, rec)?,
                Ok(None) => break,
                Err(e) => {
                    let fatal = !e.is_recoverable();
                    problems.report(&name, &e);
                    if fatal {
                        break;
                    }
                }
            }
        }
    }
    Ok(())
}
