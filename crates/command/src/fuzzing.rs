//! Fuzz bodies, shared by `fuzz/fuzz_targets/` and the corpus-replay unit test.

use crate::{Command, Context};

/// Parses arbitrary bytes (lossily decoded as UTF-8) as a command line. It must never panic;
/// when the line parses, its canonical form must parse back to an equal command, and writing
/// that again must give the same text.
pub fn command_parse(data: &[u8]) {
    let line = String::from_utf8_lossy(data);
    let ctx = Context::new(0x0001_2345).with_nameserver(Some([192, 0, 2, 53].into()));
    if let Ok(cmd) = Command::parse(&line, &ctx) {
        let text = cmd.to_command_string();
        match Command::parse(&text, &ctx) {
            Ok(again) => {
                assert_eq!(again, cmd, "{line:?} -> {text:?} parsed differently");
                assert_eq!(again.to_command_string(), text, "canonical form not stable");
            }
            Err(e) => panic!("{line:?} -> {text:?} does not parse back: {e}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    /// Replays every committed corpus file of the `command_parse` fuzz target.
    #[test]
    fn replay_corpus() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/command_parse");
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut n = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                super::command_parse(&std::fs::read(&path).unwrap());
                n += 1;
            }
        }
        assert!(n > 0, "empty corpus in {}", dir.display());
    }
}
