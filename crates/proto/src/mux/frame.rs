//! Mux framing: `u32 channel`, `u32 len`, payload.

use super::{Error, MuxChannelId, MuxControl};
use crate::buf::InBuf;

/// Bytes in a mux frame header.
pub const HEADER_LEN: usize = 8;
/// Default limit on one control message (VP_UPDATEs are at most 1024 bytes).
pub const DEFAULT_MAX_CONTROL: usize = 64 * 1024;

/// Appends one data frame for `channel`.
pub fn encode_data(channel: MuxChannelId, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    if channel == MuxChannelId::CONTROL {
        return Err(Error::DataOnControlChannel);
    }
    let len = u32::try_from(bytes.len()).map_err(|_| Error::PayloadTooLong { len: bytes.len() })?;
    out.reserve(HEADER_LEN + bytes.len());
    out.extend_from_slice(&channel.0.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// One item from a mux stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MuxEvent {
    /// A complete control message.
    Control(MuxControl),
    /// Some bytes of a channel's stream (a frame may be delivered in several pieces).
    Data {
        /// The channel.
        channel: MuxChannelId,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

#[derive(Debug, Clone, Copy)]
enum State {
    Header,
    Control(usize),
    Data(MuxChannelId, usize),
    Failed,
}

/// Cuts a mux byte stream into [`MuxEvent`]s; works with any split of the input.
#[derive(Debug, Clone)]
pub struct MuxDecoder {
    buf: InBuf,
    state: State,
    max_control: usize,
}

impl Default for MuxDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl MuxDecoder {
    /// A decoder with the default control-message limit.
    pub fn new() -> Self {
        Self {
            buf: InBuf::default(),
            state: State::Header,
            max_control: DEFAULT_MAX_CONTROL,
        }
    }

    /// Sets the largest control message accepted.
    #[must_use]
    pub fn with_max_control(mut self, max_control: usize) -> Self {
        self.max_control = max_control;
        self
    }

    /// Appends received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        if !matches!(self.state, State::Failed) {
            self.buf.extend(bytes);
        }
    }

    /// Whether the stream is between frames (a clean place for EOF).
    pub fn at_boundary(&self) -> bool {
        matches!(self.state, State::Header) && self.buf.len() == 0
    }

    fn fail(&mut self, e: Error) -> Result<MuxEvent, Error> {
        self.state = State::Failed;
        self.buf.clear();
        Err(e)
    }

    /// The next event, or `None` when more input is needed.
    pub fn poll(&mut self) -> Option<Result<MuxEvent, Error>> {
        loop {
            match self.state {
                State::Failed => return None,
                State::Header => {
                    let b = self.buf.bytes();
                    if b.len() < HEADER_LEN {
                        return None;
                    }
                    let channel = MuxChannelId(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                    let len = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                    self.buf.consume(HEADER_LEN);
                    if channel == MuxChannelId::CONTROL {
                        if len < 2 {
                            return Some(self.fail(Error::ControlTooShort { len }));
                        }
                        if len as usize > self.max_control {
                            let limit = self.max_control;
                            return Some(self.fail(Error::ControlTooLong { len, limit }));
                        }
                        self.state = State::Control(len as usize);
                    } else if len > 0 {
                        self.state = State::Data(channel, len as usize);
                    }
                }
                State::Control(len) => {
                    if self.buf.len() < len {
                        return None;
                    }
                    let payload = self.buf.take(len);
                    self.state = State::Header;
                    return match MuxControl::parse(&payload) {
                        Ok(c) => Some(Ok(MuxEvent::Control(c))),
                        Err(e) => Some(self.fail(e)),
                    };
                }
                State::Data(channel, remaining) => {
                    if self.buf.len() == 0 {
                        return None;
                    }
                    let bytes = self.buf.take(remaining);
                    let left = remaining - bytes.len();
                    self.state = if left == 0 {
                        State::Header
                    } else {
                        State::Data(channel, left)
                    };
                    return Some(Ok(MuxEvent::Data { channel, bytes }));
                }
            }
        }
    }
}
