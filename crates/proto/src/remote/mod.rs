//! The VP ⇄ controller remote protocol (remote-protocol.md §2–§4).
//!
//! Every message is a [`Frame`]: `u32 seq`, `u32 channel`, `u16 len`, payload.
//! Channel 0 carries [`ControlMsg`]s; other channels carry slices of one
//! control-protocol byte stream each. Reliable messages (channel data,
//! CHANNEL_NEW, CHANNEL_FIN) are numbered, acknowledged one by one and kept until
//! acknowledged, so that a VP that reconnects can resume its session without
//! losing or repeating a byte. [`VpLink`] and [`ControllerLink`] are those rules,
//! as sans-IO state machines.

mod frame;
mod link;
mod msg;

pub use frame::{Frame, FrameDecoder, HEADER_LEN, MAX_CONTROL_PAYLOAD, MAX_PAYLOAD};
pub use link::{
    ABORT_AFTER, ControllerEvent, ControllerLink, HELLO_TIMEOUT, Hello, KEEPALIVE_AFTER,
    MAX_META_VALUE, META_CHANNEL, ResumeRequest, Timers, VpEvent, VpLink, VpMeta, VpMetaDecoder,
    VpState, reconnect_delay,
};
pub use msg::{ControlMsg, Magic, Message, MsgType, validate_monitor_name};

use std::fmt;
use thiserror::Error;

/// A remote-protocol sequence number. Arithmetic and comparisons wrap modulo 2³².
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Seq(pub u32);

impl Seq {
    /// The next sequence number (wrapping).
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0.wrapping_add(1))
    }

    /// How far `self` is past `base`, modulo 2³².
    pub const fn since(self, base: Self) -> u32 {
        self.0.wrapping_sub(base.0)
    }

    /// Whether `self` lies in the closed window `[lo, hi]`, modulo 2³².
    pub const fn within(self, lo: Self, hi: Self) -> bool {
        self.since(lo) <= hi.since(lo)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A remote-protocol channel number; 0 is the control channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ChannelId(pub u32);

impl ChannelId {
    /// The control channel.
    pub const CONTROL: Self = Self(0);

    /// Whether this is the control channel.
    pub const fn is_control(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Errors of the remote-protocol layer. All of them mean the link must be dropped
/// (and, where the session allows it, resumed on a new connection).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A control-channel frame without a payload.
    #[error(
        "control frame (seq {seq}) has an empty payload; control messages carry at least a type byte"
    )]
    EmptyControl {
        /// The frame's sequence number.
        seq: Seq,
    },
    /// A control frame announcing more bytes than any control message has
    /// ([`FrameDecoder::with_max_control`]).
    #[error(
        "control frame (seq {seq}) announces {len} bytes; no control message is longer than {limit}"
    )]
    ControlTooLong {
        /// The frame's sequence number.
        seq: Seq,
        /// The announced payload length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A payload larger than a frame can carry.
    #[error("payload of {len} bytes does not fit in one frame (at most 65535)")]
    PayloadTooLong {
        /// The payload length.
        len: usize,
    },
    /// A control message type this implementation does not know.
    #[error("unknown control message type {0}")]
    UnknownType(u8),
    /// A control message shorter than its fields.
    #[error("{msg} message truncated: needs {need} bytes after the type, has {have}")]
    Truncated {
        /// The message type.
        msg: MsgType,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// A control message longer than its fields.
    #[error("{msg} message has {extra} unexpected trailing bytes")]
    TrailingBytes {
        /// The message type.
        msg: MsgType,
        /// Extra bytes.
        extra: usize,
    },
    /// A magic of length zero.
    #[error("{0} carries an empty magic")]
    EmptyMagic(MsgType),
    /// A monitor name that sc_remoted would refuse.
    #[error("monitor name {name:?} is invalid: {why}")]
    BadMonitorName {
        /// The name (lossily decoded).
        name: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A MASTER_ID string that is empty, unterminated or not printable.
    #[error("MASTER_ID carries an invalid id string: {0}")]
    BadMasterId(&'static str),
    /// A frame whose sequence number is not the one expected.
    #[error("frame carries seq {got} but seq {expected} was expected; the link is out of step")]
    SeqMismatch {
        /// The expected sequence number.
        expected: Seq,
        /// The one received.
        got: Seq,
    },
    /// An acknowledgement that does not match the oldest unacknowledged message.
    #[error("ACK({got}) received but the oldest unacknowledged message is {}", oldest.map_or_else(|| "none".to_owned(), |s| s.to_string()))]
    UnexpectedAck {
        /// The acknowledged sequence number.
        got: Seq,
        /// The oldest unacknowledged sequence number, if any.
        oldest: Option<Seq>,
    },
    /// A control message that is not valid in the link's current state.
    #[error("{msg} is not expected {state}")]
    UnexpectedMessage {
        /// The message type.
        msg: MsgType,
        /// Where we were.
        state: &'static str,
    },
    /// A data frame or CHANNEL_FIN for a channel this end does not know.
    #[error("{what} for unknown channel {channel}")]
    UnknownChannel {
        /// What referred to it.
        what: &'static str,
        /// The channel.
        channel: ChannelId,
    },
    /// The controller opened the channel reserved for VP metadata.
    #[error("channel {0} is reserved for Vantage VP metadata and cannot be opened")]
    ReservedChannel(ChannelId),
    /// A channel message naming channel 0.
    #[error("{0} names channel 0, which is the control channel")]
    ZeroChannel(MsgType),
    /// The controller refuses to resume a session (it answers MASTER_REJ).
    #[error("resume refused: {0}")]
    ResumeRefused(&'static str),
    /// CHANNEL_NEW for a channel that is already open.
    #[error("CHANNEL_NEW for channel {0}, which is already open")]
    ChannelExists(ChannelId),
    /// MASTER_OK acknowledges a position outside what this end sent.
    #[error("MASTER_OK({got}) is outside the unacknowledged window [{snd_una}, {snd_nxt}]")]
    ResumeOutOfWindow {
        /// The controller's rcv_nxt.
        got: Seq,
        /// Oldest unacknowledged.
        snd_una: Seq,
        /// Next to assign.
        snd_nxt: Seq,
    },
    /// The local side tried to use a channel after closing it.
    #[error("channel {0} is closed for sending")]
    ChannelClosed(ChannelId),
    /// The local side tried to connect with a magic the controller rejected.
    #[error(
        "the controller rejected this session's magic; call replace_magic with a fresh random one"
    )]
    MagicRejected,
    /// The local side called something in the wrong state.
    #[error("cannot {action} {state}")]
    WrongState {
        /// What was attempted.
        action: &'static str,
        /// Where we were.
        state: &'static str,
    },
    /// Nothing was heard from the peer for too long.
    #[error("peer silent for {0:?}; the link is dead")]
    Silent(std::time::Duration),
    /// The VP metadata stream (Vantage extension) is malformed.
    #[error("malformed VP metadata: {0}")]
    BadMeta(&'static str),
}
