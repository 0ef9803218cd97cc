//! Fuzz entry points (see `fuzz/`): the parts of this crate that read
//! untrusted bytes without Python — the text rendering and the HTTP header
//! parsing of whatever records a warts stream decodes to.

use vantage_model::{HttpBufType, Record};

use crate::{httphdr, text};

/// Decodes `data` as a warts stream and renders and parses every record the
/// way the Python properties do. Must never panic.
pub fn python_text(data: &[u8]) {
    let mut d = vantage_warts::Decoder::new();
    d.push(data);
    // Every error consumes at least one byte, so this ends; the bound is a guard.
    for _ in 0..=data.len() + 1 {
        match d.next_record() {
            Ok(Some(rec)) => exercise(&rec),
            Ok(None) => break,
            Err(_) => {}
        }
    }
    let _ = d.finish();
}

fn exercise(rec: &Record) {
    let _ = text::render(rec);
    if let Record::Http(h) = rec {
        for tx in [true, false] {
            if let Some(block) = httphdr::header_block(h, tx) {
                let _ = httphdr::header_fields(&block);
                let _ = httphdr::status_code(&block);
            }
            let _ = httphdr::joined(h, tx, HttpBufType::Data);
        }
        let _ = httphdr::url(h);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// Replays every file of the fuzz corpus.
    #[test]
    fn corpus_replays() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/python_text");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            super::python_text(&data);
            n += 1;
        }
        assert!(n >= 3, "corpus has {n} files");
    }

    #[test]
    fn garbage_and_truncation_do_not_panic() {
        super::python_text(b"");
        super::python_text(&[0x12, 0x05, 0x00, 0x07, 0xff, 0xff, 0xff, 0xff]);
        super::python_text(&[0x12; 100]);
    }
}
