//! Replays every input of the `warts_read` fuzz corpus through the fuzz body.

#![allow(clippy::unwrap_used)]

#[test]
fn replay_warts_read_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/warts_read");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        vantage_warts::fuzzing::warts_read(&data);
        // Every prefix too: truncation anywhere must give errors, never panics.
        for cut in (0..data.len()).step_by(97) {
            vantage_warts::fuzzing::warts_read(&data[..cut]);
        }
        n += 1;
    }
    assert!(n >= 10, "corpus at {} has only {n} inputs", dir.display());
}
