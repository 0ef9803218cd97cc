//! Inline storage for up to 40 bytes of IPv4 or TCP options, so that a `Repr`
//! carrying options stays `Copy` and parsing never allocates.

use crate::{Error, Result};
use core::fmt;

/// Up to 40 bytes of header options (IPv4 or TCP), stored inline, unpadded.
/// Headers are written with the options padded to a multiple of four bytes with
/// zero (end-of-list) bytes; a parsed header's options include that padding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptionBytes {
    len: u8,
    bytes: [u8; 40],
}

impl OptionBytes {
    /// The largest option area an IPv4 or TCP header can carry.
    pub const MAX: usize = 40;

    /// No options.
    pub const fn new() -> Self {
        Self {
            len: 0,
            bytes: [0; 40],
        }
    }

    /// Options taken verbatim from `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut o = Self::new();
        o.push_raw(bytes)?;
        Ok(o)
    }

    /// Appends raw option bytes.
    pub fn push_raw(&mut self, bytes: &[u8]) -> Result<()> {
        let len = usize::from(self.len);
        if len + bytes.len() > Self::MAX {
            return Err(Error::Unrepresentable {
                what: "header options",
                reason: "options longer than 40 bytes do not fit in a header",
            });
        }
        self.bytes[len..len + bytes.len()].copy_from_slice(bytes);
        self.len = (len + bytes.len()) as u8;
        Ok(())
    }

    /// The option bytes, without padding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Number of option bytes, without padding.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when there are no options.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Length once padded to a multiple of four bytes, as written in a header.
    pub fn padded_len(&self) -> usize {
        (usize::from(self.len) + 3) & !3
    }

    /// A copy padded with zero bytes to a multiple of four, as a parsed header
    /// returns it.
    #[must_use]
    pub fn padded(&self) -> Self {
        let mut o = *self;
        o.len = self.padded_len() as u8;
        o
    }

    /// Writes the options padded with zero bytes into `out`, which must be exactly
    /// [`padded_len`](Self::padded_len) bytes long.
    pub(crate) fn write_padded(&self, out: &mut [u8]) {
        let n = usize::from(self.len);
        out[..n].copy_from_slice(self.as_bytes());
        out[n..].fill(0);
    }
}

impl Default for OptionBytes {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for OptionBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OptionBytes[")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, "]")
    }
}
