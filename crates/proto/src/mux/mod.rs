//! The controller's mux protocol (remote-protocol.md §6): one unix stream through
//! which a client reaches every VP.
//!
//! Every message is `u32 channel`, `u32 len`, payload. Channel 0 carries
//! [`MuxControl`] messages (`u16 type` first); other channels carry slices of
//! one VP channel's control-protocol stream, in both directions.
//! [`MuxDecoder`] hands channel data on as it arrives (frames can be long) and
//! control messages once complete.

mod frame;
mod msg;

pub use frame::{DEFAULT_MAX_CONTROL, HEADER_LEN, MuxDecoder, MuxEvent, encode_data};
pub use msg::{AttrKind, MAX_VP_UPDATE, MuxControl, MuxType, VpAttr, VpInfo, VpUpdate};

use std::fmt;
use thiserror::Error;

/// A VP's numeric id on the controller (from 1, never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct VpId(pub u32);

impl fmt::Display for VpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A client-chosen mux channel id (0 is the mux control channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MuxChannelId(pub u32);

impl MuxChannelId {
    /// The mux control channel.
    pub const CONTROL: Self = Self(0);
}

impl fmt::Display for MuxChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Errors of the mux layer. Decoder errors are fatal for the mux connection.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A control message longer than the configured limit.
    #[error("mux control message of {len} bytes exceeds the limit of {limit}")]
    ControlTooLong {
        /// Announced length.
        len: u32,
        /// Configured limit.
        limit: usize,
    },
    /// A control message too short to hold its type.
    #[error("mux control message of {len} bytes is too short to hold its 2-byte type")]
    ControlTooShort {
        /// Announced length.
        len: u32,
    },
    /// A control message shorter than its fields.
    #[error("{msg} truncated: needs {need} bytes after the type, has {have}")]
    Truncated {
        /// The message type.
        msg: MuxType,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// A fixed-size control message with extra bytes.
    #[error("{msg} has {extra} unexpected trailing bytes")]
    TrailingBytes {
        /// The message type.
        msg: MuxType,
        /// Extra bytes.
        extra: usize,
    },
    /// A VP_UPDATE attribute whose value has no terminating NUL.
    #[error("VP_UPDATE attribute {code} has no terminating NUL")]
    AttrNotTerminated {
        /// The attribute code.
        code: u16,
    },
    /// A VP_UPDATE that ends inside an attribute code.
    #[error("VP_UPDATE ends inside an attribute code")]
    AttrTruncated,
    /// An attribute value that contains a NUL byte and cannot be encoded.
    #[error("VP_UPDATE attribute {0:?} value contains a NUL byte")]
    ValueHasNul(AttrKind),
    /// A VP_UPDATE larger than sc_remoted's 1024-byte limit.
    #[error(
        "VP_UPDATE of {len} bytes (header included) exceeds the 1024-byte limit; drop some tags or shorten values"
    )]
    VpUpdateTooLarge {
        /// Encoded length.
        len: usize,
    },
    /// Channel data addressed to channel 0.
    #[error("channel data cannot be sent on channel 0 (the mux control channel)")]
    DataOnControlChannel,
    /// A frame payload longer than the 32-bit length field.
    #[error("frame payload of {len} bytes does not fit the 32-bit length field")]
    PayloadTooLong {
        /// The payload length.
        len: usize,
    },
}
