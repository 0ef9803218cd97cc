//! Reading warts inputs for the file tools: files or standard input,
//! compressed or not, with per-record error reports.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{self, SyncSender};

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

/// What the reading thread sends: records and problems, in input order.
enum Event {
    Record(Arc<str>, u64, Record),
    Problem(Arc<str>, String),
}

/// Records per message between the threads.
const BATCH: usize = 512;

/// Reads and decodes every input in order, in batches of events sent to `tx`;
/// stops early if the receiver is gone.
fn read_all(files: &[PathBuf], filter: Option<TypeFilter>, tx: &SyncSender<Vec<Event>>) {
    let mut batch = Vec::with_capacity(BATCH);
    for path in inputs(files) {
        let name: Arc<str> = display_name(&path).into();
        let mut reader: Reader<Box<dyn Read + Send>> = match vantage_warts::open(&path) {
            Ok(r) => r,
            Err(e) => {
                batch.push(Event::Problem(
                    Arc::clone(&name),
                    format!("cannot open: {e}"),
                ));
                continue;
            }
        };
        reader.set_filter(filter);
        loop {
            let at = reader.offset();
            match reader.next_record() {
                Ok(Some(rec)) => batch.push(Event::Record(Arc::clone(&name), at, rec)),
                Ok(None) => break,
                Err(e) => {
                    let fatal = !e.is_recoverable();
                    batch.push(Event::Problem(Arc::clone(&name), e.to_string()));
                    if fatal {
                        break;
                    }
                }
            }
            if batch.len() >= BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if tx.send(full).is_err() {
                    return;
                }
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
}

/// Reads every record of every input in order and hands it to `each` with
/// the input's name and the byte offset (in the uncompressed stream) where
/// the record starts. Bad records and unreadable inputs are reported to
/// `problems` and skipped. An error from `each` (an output failure) stops
/// everything and is returned.
///
/// Reading and decoding run on a second thread, so that decoding the next
/// records overlaps with whatever `each` does with the previous ones.
pub fn for_each_record(
    files: &[PathBuf],
    filter: Option<TypeFilter>,
    problems: &mut Problems,
    mut each: impl FnMut(&str, u64, Record) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::sync_channel::<Vec<Event>>(8);
    std::thread::scope(|scope| {
        scope.spawn(move || read_all(files, filter, &tx));
        // Owned here so that it is dropped (unblocking the reader) as soon as
        // this closure returns, error or not.
        let rx = rx;
        for batch in &rx {
            for ev in batch {
                match ev {
                    Event::Record(name, at, rec) => each(&name, at, rec)?,
                    Event::Problem(name, msg) => problems.report(&name, msg),
                }
            }
        }
        Ok(())
    })
}
