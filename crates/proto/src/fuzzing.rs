//! Fuzz bodies for the parsers of untrusted bytes in this crate, called by the
//! targets in `fuzz/fuzz_targets/` and replayed over `fuzz/corpus/` by the unit
//! tests below. Each body also checks that whatever parses re-encodes to
//! something that parses to the same value.
#![allow(clippy::missing_panics_doc)]

use crate::control::{
    self, ClientDecoder, ClientSession, CommandLine, Format, Request, ServerMode, ServerParser,
    TaskId,
};
use crate::meta::Metadata;
use crate::mux::{self, MuxControl, MuxDecoder, MuxEvent, VpInfo};
use crate::remote::{
    ControllerLink, FrameDecoder, Hello, MAX_CONTROL_PAYLOAD, Magic, Message, VpLink,
};
use std::time::Instant;

/// Where to split the input so that reassembly across reads is exercised too.
fn split(data: &[u8]) -> (&[u8], &[u8]) {
    data.split_at(data.len() / 3)
}

/// `proto_control_client`: probe → client bytes through the decoder (both
/// formats), a session with requests outstanding, and the reply-line parser.
pub fn proto_control_client(data: &[u8]) {
    let (a, b) = split(data);
    for format in [Format::Warts, Format::Json] {
        let mut d = ClientDecoder::new(format).with_limits(4096, 1 << 20);
        d.feed(a);
        while d.poll().is_some() {}
        d.feed(b);
        d.feed_eof();
        while let Some(item) = d.poll() {
            if let Ok(control::Received::Data(obj)) = item
                && format == Format::Warts
            {
                let mut again = Vec::new();
                control::encode_warts_data(obj.id, obj.inprog, &obj.payload, &mut again)
                    .unwrap_or_else(|e| panic!("decoded objects re-encode: {e}"));
            }
        }
    }

    let mut s: ClientSession<u8> = ClientSession::attached();
    let mut out = Vec::new();
    for (i, line) in ["ping 192.0.2.1", "trace 192.0.2.2", "tracelb 192.0.2.3"]
        .into_iter()
        .enumerate()
    {
        let cmd = CommandLine::new(line).unwrap_or_else(|e| panic!("valid command line: {e}"));
        s.send(&Request::Command(cmd), i as u8, &mut out)
            .unwrap_or_else(|e| panic!("attached session accepts commands: {e}"));
    }
    if let Some(id) = TaskId::new(1) {
        s.send(&Request::Halt(id), 9, &mut out)
            .unwrap_or_else(|e| panic!("attached session accepts halt: {e}"));
    }
    s.feed(a);
    while s.poll().is_some() {}
    s.feed(b);
    s.feed_eof();
    while s.poll().is_some() {}

    for line in data.split(|&b| b == b'\n') {
        if let Ok(text) = std::str::from_utf8(line)
            && let Ok(reply) = control::Reply::parse(text)
            && let Ok(bytes) = reply.encode()
        {
            let again = std::str::from_utf8(&bytes[..bytes.len() - 1])
                .unwrap_or_else(|e| panic!("ASCII: {e}"));
            assert_eq!(control::Reply::parse(again), Ok(reply));
        }
    }

    if let Ok(decoded) = control::uu::decode(data) {
        assert_eq!(
            control::uu::decode(&control::uu::encode(&decoded)),
            Ok(decoded)
        );
    }
}

/// `proto_control_server`: client → probe bytes through the server parser, from
/// both starting states; every request that can be re-encoded must parse back to
/// itself.
pub fn proto_control_server(data: &[u8]) {
    let (a, b) = split(data);
    for start in [ServerParser::new(), ServerParser::attached()] {
        let mut p = start.with_max_line(4096);
        let check = |p: &mut ServerParser| {
            loop {
                let mode = p.mode();
                let Some(item) = p.poll() else { break };
                let Ok(req) = item else { continue };
                let Ok(bytes) = req.encode() else { continue };
                let line = std::str::from_utf8(&bytes[..bytes.len() - 1])
                    .unwrap_or_else(|e| panic!("ASCII: {e}"));
                let back = if mode == ServerMode::Attached {
                    Request::parse_attached(line)
                } else {
                    Request::parse_interactive(line)
                };
                assert_eq!(back.as_ref(), Ok(&req), "{line:?}");
            }
        };
        p.feed(a);
        check(&mut p);
        p.feed(b);
        check(&mut p);
        p.feed_eof();
        assert!(p.poll().is_none());
    }
}

/// `proto_remote_frame`: bytes from either end of a remote link through the
/// frame decoder, the message parser, and both state machines.
pub fn proto_remote_frame(data: &[u8]) {
    let now = Instant::now();
    let mut d = FrameDecoder::new();
    let (a, b) = split(data);
    d.feed(a);
    let mut frames = Vec::new();
    while let Some(Ok(f)) = d.poll() {
        frames.push(f);
    }
    d.feed(b);
    while let Some(Ok(f)) = d.poll() {
        frames.push(f);
    }

    // With the controller's control-frame limit: the same frames up to the
    // first control frame longer than the limit, refused at its header; a
    // peeked header is the next frame's.
    let mut lim = FrameDecoder::new().with_max_control(MAX_CONTROL_PAYLOAD);
    lim.feed(data);
    let mut seen = 0;
    loop {
        let peek = lim.peek_header();
        match lim.poll() {
            Some(Ok(f)) => {
                assert_eq!(peek, Some((f.seq, f.channel, f.payload.len())));
                assert_eq!(frames.get(seen), Some(&f), "the limit changed a frame");
                seen += 1;
            }
            Some(Err(_)) | None => break,
        }
    }

    for f in &frames {
        if let Ok(msg) = Message::from_frame(f) {
            let again = msg
                .to_frame(f.seq)
                .unwrap_or_else(|e| panic!("parsed messages re-encode: {e}"));
            assert_eq!(&again, f);
        }
    }

    // The VP's view: a controller talking to it.
    if let Ok(mut vp) = VpLink::new(Magic::new([1; 8]), Some("fuzz".into())) {
        let _ = vp.connect(now);
        for f in &frames {
            if vp.handle_frame(now, f).is_err() {
                break;
            }
            while vp.poll_transmit(now).is_some() {}
            while let Some(e) = vp.poll_event() {
                if let crate::remote::VpEvent::ChannelFinished(c) = e {
                    let _ = vp.close_channel(c);
                }
            }
        }
        vp.link_down();
    }

    // The controller's view: a VP talking to it.
    let mut it = frames.iter();
    if let Some(first) = it.next()
        && let Ok(Hello::New { magic, name }) = Hello::parse(first)
        && let Ok(mut r) = ControllerLink::accept_new(now, magic, name, "192.0.2.1:1".into())
    {
        let ch = r.open_channel();
        let _ = r.send_data(ch, b"ping 192.0.2.1\n");
        for f in it {
            if r.handle_frame(now, f).is_err() {
                break;
            }
            while r.poll_transmit(now).is_some() {}
            while r.poll_event().is_some() {}
        }
        r.link_down();
    }
}

/// `proto_mux_frame`: bytes from either end of a mux connection.
pub fn proto_mux_frame(data: &[u8]) {
    let mut d = MuxDecoder::new().with_max_control(8192);
    let (a, b) = split(data);
    let mut events = Vec::new();
    d.feed(a);
    while let Some(Ok(e)) = d.poll() {
        events.push(e);
    }
    d.feed(b);
    while let Some(Ok(e)) = d.poll() {
        events.push(e);
    }
    for e in events {
        match e {
            MuxEvent::Control(c) => {
                if let MuxControl::VpUpdate(u) = &c {
                    let info = VpInfo::from_update(u);
                    let _ = info.display_name();
                    let _ = MuxControl::VpUpdate(info.to_update()).encode();
                }
                let mut payload = Vec::new();
                c.encode_payload(&mut payload)
                    .unwrap_or_else(|e| panic!("parsed messages re-encode: {e}"));
                assert_eq!(MuxControl::parse(&payload), Ok(c));
            }
            MuxEvent::Data { channel, bytes } => {
                let mut out = Vec::new();
                mux::encode_data(channel, &bytes, &mut out)
                    .unwrap_or_else(|e| panic!("data re-encodes: {e}"));
            }
        }
    }
}

/// `proto_meta`: a metadata file.
pub fn proto_meta(data: &[u8]) {
    if let Ok(md) = Metadata::parse(data) {
        for (name, meta) in md.iter() {
            assert_eq!(md.get(name), Some(meta));
        }
        for w in md.warnings() {
            let _ = w.to_string();
        }
    }
}

/// `proto_vp_meta`: the VP metadata stream of the reserved remote channel
/// (policy publication); whatever decodes re-encodes to the same publication.
pub fn proto_vp_meta(data: &[u8]) {
    let (a, b) = split(data);
    let mut d = crate::remote::VpMetaDecoder::default();
    let mut got = d.feed(a).unwrap_or_default();
    got.extend(d.feed(b).unwrap_or_default());
    for m in got {
        let mut again = crate::remote::VpMetaDecoder::default();
        // Lossy UTF-8 decoding may change bytes once; the result is then stable.
        let once = again
            .feed(&m.encode())
            .unwrap_or_else(|e| panic!("re-decodes: {e}"));
        assert_eq!(once, vec![m]);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    fn replay(target: &str, body: fn(&[u8])) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            body(&std::fs::read(&path).unwrap());
            n += 1;
        }
        assert!(n > 0, "corpus {} is empty", dir.display());
    }

    #[test]
    fn replay_proto_control_client() {
        replay("proto_control_client", super::proto_control_client);
    }

    #[test]
    fn replay_proto_control_server() {
        replay("proto_control_server", super::proto_control_server);
    }

    #[test]
    fn replay_proto_remote_frame() {
        replay("proto_remote_frame", super::proto_remote_frame);
    }

    #[test]
    fn replay_proto_mux_frame() {
        replay("proto_mux_frame", super::proto_mux_frame);
    }

    #[test]
    fn replay_proto_meta() {
        replay("proto_meta", super::proto_meta);
    }

    #[test]
    fn replay_proto_vp_meta() {
        replay("proto_vp_meta", super::proto_vp_meta);
    }
}
