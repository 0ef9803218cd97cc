//! Fuzz entry point for the control-socket session (used by
//! `fuzz/fuzz_targets/probe_session.rs` and by the corpus replay test).

use crate::session::{Router, Session};
use crate::{Prober, ProberConfig};
use vantage_proto::control::Reply;

/// Feeds untrusted client bytes to one control session of a prober that is never run
/// (commands are accepted but never measured), in pieces cut at every 0xfe byte, then
/// closes the client side. Nothing may panic, every output line must be a valid reply,
/// each `DATA` header must be followed by exactly its payload, and the session must be
/// over once the client is gone.
pub fn probe_session(data: &[u8]) {
    let Ok((_prober, handle, _results)) = Prober::new(ProberConfig::with_pps(100)) else {
        return;
    };
    let (mut session, _rx) = Session::new(handle, Router::default(), "fuzz:0".to_owned());
    let mut out = Vec::new();
    for piece in data.split(|&b| b == 0xfe) {
        session.feed(piece);
        out.extend(session.take_output());
    }
    session.feed_eof();
    out.extend(session.take_output());
    assert!(session.should_close());
    check_replies(&out);
}

fn check_replies(mut out: &[u8]) {
    while !out.is_empty() {
        let nl = out
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or_else(|| panic!("unterminated line {out:?}"));
        let line = std::str::from_utf8(&out[..nl]).unwrap_or_else(|e| panic!("{e}"));
        let reply = Reply::parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        out = &out[nl + 1..];
        if let Reply::Data(h) = reply {
            assert!(
                h.len <= out.len(),
                "DATA {} with {} bytes left",
                h.len,
                out.len()
            );
            assert_eq!(out[h.len - 1], b'\n');
            out = &out[h.len..];
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Replays every file of `fuzz/corpus/probe_session/` through the fuzz body.
    #[test]
    fn replay_probe_session_corpus() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/probe_session");
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            super::probe_session(&data);
            count += 1;
        }
        assert!(
            count >= 4,
            "corpus at {} has only {count} files",
            dir.display()
        );
    }
}
