//! The remote-protocol frame: `u32 seq`, `u32 channel`, `u16 len`, payload.

use super::{ChannelId, Error, Seq};
use crate::buf::InBuf;

/// Bytes in a frame header.
pub const HEADER_LEN: usize = 10;
/// Largest payload a frame can carry.
pub const MAX_PAYLOAD: usize = u16::MAX as usize;
/// Largest control message the protocol can express: MASTER_NEW with a
/// 255-byte magic and a 255-byte name (type, two length bytes, both fields).
/// A longer control frame can only be garbage.
pub const MAX_CONTROL_PAYLOAD: usize = 1 + 1 + 255 + 1 + 255;

/// One remote-protocol frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    /// Sequence number (§3).
    pub seq: Seq,
    /// Channel (0 = control).
    pub channel: ChannelId,
    /// Payload (at most [`MAX_PAYLOAD`] bytes; at least 1 on the control channel).
    pub payload: Vec<u8>,
}

impl Frame {
    /// Appends the frame's bytes to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let len = u16::try_from(self.payload.len()).map_err(|_| Error::PayloadTooLong {
            len: self.payload.len(),
        })?;
        if self.channel.is_control() && len == 0 {
            return Err(Error::EmptyControl { seq: self.seq });
        }
        out.reserve(HEADER_LEN + self.payload.len());
        out.extend_from_slice(&self.seq.0.to_be_bytes());
        out.extend_from_slice(&self.channel.0.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.payload);
        Ok(())
    }

    /// The frame's bytes.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }
}

/// Cuts a byte stream into [`Frame`]s. Works with any split of the input. Errors
/// are fatal: afterwards [`FrameDecoder::poll`] returns `None`.
#[derive(Debug, Clone, Default)]
pub struct FrameDecoder {
    buf: InBuf,
    failed: bool,
    max_control: Option<usize>,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes a control frame whose header announces more than `limit` payload
    /// bytes an error as soon as its header is seen (instead of waiting for up
    /// to 64 KiB that cannot form a valid control message);
    /// [`MAX_CONTROL_PAYLOAD`] is the natural limit.
    #[must_use]
    pub fn with_max_control(mut self, limit: usize) -> Self {
        self.max_control = Some(limit);
        self
    }

    /// The next frame's header (`seq`, channel, payload length) once its
    /// [`HEADER_LEN`] bytes are buffered, before its payload has arrived.
    pub fn peek_header(&self) -> Option<(Seq, ChannelId, usize)> {
        if self.failed {
            return None;
        }
        let b = self.buf.bytes();
        if b.len() < HEADER_LEN {
            return None;
        }
        Some((
            Seq(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            ChannelId(u32::from_be_bytes([b[4], b[5], b[6], b[7]])),
            usize::from(u16::from_be_bytes([b[8], b[9]])),
        ))
    }

    /// Appends received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        if !self.failed {
            self.buf.extend(bytes);
        }
    }

    /// Bytes buffered that do not yet form a complete frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, or `None` when more input is needed.
    pub fn poll(&mut self) -> Option<Result<Frame, Error>> {
        if self.failed {
            return None;
        }
        let b = self.buf.bytes();
        if b.len() < HEADER_LEN {
            return None;
        }
        let seq = Seq(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        let channel = ChannelId(u32::from_be_bytes([b[4], b[5], b[6], b[7]]));
        let len = usize::from(u16::from_be_bytes([b[8], b[9]]));
        if channel.is_control() && len == 0 {
            self.failed = true;
            self.buf.clear();
            return Some(Err(Error::EmptyControl { seq }));
        }
        if let Some(limit) = self.max_control
            && channel.is_control()
            && len > limit
        {
            self.failed = true;
            self.buf.clear();
            return Some(Err(Error::ControlTooLong { seq, len, limit }));
        }
        if b.len() < HEADER_LEN + len {
            return None;
        }
        self.buf.consume(HEADER_LEN);
        let payload = self.buf.take(len);
        Some(Ok(Frame {
            seq,
            channel,
            payload,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_layout() {
        let f = Frame {
            seq: Seq(0x0102_0304),
            channel: ChannelId(5),
            payload: b"MORE\n".to_vec(),
        };
        assert_eq!(
            f.encode().unwrap(),
            hex_literal::hex!("01020304 00000005 0005 4d4f52450a")
        );
        let too_long = Frame {
            payload: vec![0; 65536],
            ..f.clone()
        };
        assert_eq!(too_long.encode(), Err(Error::PayloadTooLong { len: 65536 }));
        let empty_control = Frame {
            channel: ChannelId(0),
            payload: vec![],
            ..f
        };
        assert!(matches!(
            empty_control.encode(),
            Err(Error::EmptyControl { .. })
        ));
        let mut d = FrameDecoder::new();
        d.feed(&hex_literal::hex!("00000000 00000000 0000"));
        assert!(matches!(d.poll(), Some(Err(Error::EmptyControl { .. }))));
        assert!(d.poll().is_none());
    }

    #[test]
    fn oversized_control_refused_at_its_header() {
        let header = hex_literal::hex!("00000000 00000000 ffff");
        let mut d = FrameDecoder::new().with_max_control(MAX_CONTROL_PAYLOAD);
        d.feed(&header[..9]);
        assert!(d.peek_header().is_none());
        assert!(d.poll().is_none());
        d.feed(&header[9..]);
        assert_eq!(d.peek_header(), Some((Seq(0), ChannelId(0), 0xffff)));
        assert_eq!(
            d.poll(),
            Some(Err(Error::ControlTooLong {
                seq: Seq(0),
                len: 0xffff,
                limit: MAX_CONTROL_PAYLOAD
            }))
        );
        assert!(d.poll().is_none());
        assert!(d.peek_header().is_none());
        // Data frames may be as long as a frame can be; without the limit, so
        // may control frames.
        let mut d = FrameDecoder::new().with_max_control(MAX_CONTROL_PAYLOAD);
        d.feed(&hex_literal::hex!("00000000 00000001 ffff"));
        assert!(d.poll().is_none());
        let mut d = FrameDecoder::new();
        d.feed(&header);
        assert!(d.poll().is_none());
    }

    fn any_frame() -> impl Strategy<Value = Frame> {
        (
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(seq, ch, mut payload)| {
                if ch == 0 && payload.is_empty() {
                    payload.push(4);
                }
                Frame {
                    seq: Seq(seq),
                    channel: ChannelId(ch),
                    payload,
                }
            })
    }

    proptest! {
        #[test]
        fn round_trip_any_split(frames in proptest::collection::vec(any_frame(), 1..6), cut in any::<proptest::sample::Index>()) {
            let mut bytes = Vec::new();
            for f in &frames {
                f.encode_into(&mut bytes).unwrap();
            }
            let cut = cut.index(bytes.len() + 1);
            let mut d = FrameDecoder::new();
            let mut got = Vec::new();
            d.feed(&bytes[..cut]);
            while let Some(f) = d.poll() { got.push(f.unwrap()); }
            for b in &bytes[cut..] {
                d.feed(&[*b]);
                while let Some(f) = d.poll() { got.push(f.unwrap()); }
            }
            prop_assert_eq!(got, frames);
            prop_assert_eq!(d.buffered(), 0);
        }
    }
}
