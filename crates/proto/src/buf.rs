//! A growable input buffer shared by the streaming decoders.

/// Bytes received but not yet consumed. Consumption moves a start offset; the
/// storage is compacted lazily so that byte-at-a-time input stays linear.
#[derive(Debug, Default, Clone)]
pub(crate) struct InBuf {
    data: Vec<u8>,
    start: usize,
}

impl InBuf {
    /// Appends received bytes.
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.data.len() / 2 {
            self.data.drain(..self.start);
            self.start = 0;
        }
        self.data.extend_from_slice(bytes);
    }

    /// The unconsumed bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data[self.start..]
    }

    /// Number of unconsumed bytes.
    pub(crate) fn len(&self) -> usize {
        self.data.len() - self.start
    }

    /// Marks `n` bytes as consumed (clamped to what is there).
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.data.len());
        if self.start == self.data.len() {
            self.data.clear();
            self.start = 0;
        }
    }

    /// Removes and returns the first `n` bytes (clamped to what is there).
    pub(crate) fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.len());
        let out = self.bytes()[..n].to_vec();
        self.consume(n);
        out
    }

    /// Drops everything buffered.
    pub(crate) fn clear(&mut self) {
        self.data.clear();
        self.start = 0;
    }
}

/// Outcome of looking for a `\n`-terminated line in a buffer.
pub(crate) enum LineScan {
    /// A full line of this many bytes (without the `\n`) is available; the
    /// line plus its terminator is `len + 1` bytes.
    Line(usize),
    /// No newline yet and the partial line is within the limit.
    Partial,
    /// The line (complete or not) exceeds the limit.
    TooLong,
}

/// Looks for a line of at most `max` bytes (excluding the newline) at the front of `bytes`.
pub(crate) fn scan_line(bytes: &[u8], max: usize) -> LineScan {
    let window = &bytes[..bytes.len().min(max.saturating_add(1))];
    match window.iter().position(|&b| b == b'\n') {
        Some(n) => LineScan::Line(n),
        None if window.len() > max => LineScan::TooLong,
        None => LineScan::Partial,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_at_a_time_compacts() {
        let mut b = InBuf::default();
        for i in 0..10_000u32 {
            b.extend(&[(i % 251) as u8]);
            if i % 3 == 2 {
                b.consume(3);
            }
        }
        assert!(b.len() <= 3);
        assert!(b.data.capacity() < 10_000);
    }

    #[test]
    fn scan_limits() {
        assert!(matches!(scan_line(b"abc\n", 3), LineScan::Line(3)));
        assert!(matches!(scan_line(b"abcd\n", 3), LineScan::TooLong));
        assert!(matches!(scan_line(b"abc", 3), LineScan::Partial));
        assert!(matches!(scan_line(b"abcd", 3), LineScan::TooLong));
        assert!(matches!(scan_line(b"\n", 0), LineScan::Line(0)));
    }
}
