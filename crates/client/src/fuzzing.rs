//! Fuzz bodies (see `fuzz/`): what a probe or controller sends, fed to the
//! client's channel state in arbitrary pieces. Nothing here may panic.

use crate::chan::ChanState;
use crate::conn::State;

/// `client_stream`: the first byte picks the framing (even: a probe's control
/// socket, odd: the mux) and the piece size; the rest is the peer's bytes.
pub fn client_stream(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let piece = usize::from(sel >> 1).max(1);
    let mut out = Vec::new();
    if sel & 1 == 0 {
        let mut c = ChanState::attached(None);
        let _ = c.command("ping 192.0.2.1", false, &mut out);
        let _ = c.command("trace 192.0.2.2", true, &mut out);
        for p in rest.chunks(piece) {
            c.feed(p);
        }
        c.feed_eof();
        c.finish(crate::ChannelEnd::ClosedByClient);
    } else {
        let mut st = State {
            next_channel: 2,
            ..State::default()
        };
        let mut c = ChanState::attached(Some(vantage_proto::mux::VpId(1)));
        let _ = c.command("ping 192.0.2.1", false, &mut out);
        st.channels.insert(1, c);
        let mut dec = vantage_proto::mux::MuxDecoder::new();
        for p in rest.chunks(piece) {
            crate::mux::on_mux_bytes(&mut dec, &mut st, Some(p));
        }
        crate::mux::on_mux_bytes(&mut dec, &mut st, None);
        st.connection_lost("fuzz".to_owned());
    }
}

#[cfg(test)]
mod tests {
    /// Replays the committed corpus through the fuzz body.
    #[test]
    fn corpus_replays() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus/client_stream");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let data = std::fs::read(e.unwrap().path()).unwrap();
            super::client_stream(&data);
            n += 1;
        }
        assert!(n > 0, "empty corpus in {}", dir.display());
    }
}
