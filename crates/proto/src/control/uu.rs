//! Classic uuencode, exactly as the control protocol frames warts records
//! (control-protocol.md §6.3).
//!
//! A record is cut into 45-byte chunks; each chunk becomes one line: a length
//! character `chr(32 + n)`, four characters per three input bytes (a short final
//! group is padded with zero bytes), then `\n`. Six-bit value 0 is written as a
//! backquote, never a space. A terminator line `` `\n `` follows the last chunk.

use thiserror::Error;

/// Input bytes per encoded line.
pub const CHUNK: usize = 45;

/// Why a uuencoded payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UuError {
    /// A character outside the uuencode alphabet (space to backquote).
    #[error("uuencoded line {line}: byte 0x{byte:02x} is not a uuencode character (' '..'`')")]
    BadChar {
        /// 1-based line number within the payload.
        line: usize,
        /// The offending byte.
        byte: u8,
    },
    /// A line whose character count does not match its length character.
    #[error(
        "uuencoded line {line} announces {declared} bytes, which needs {needed} characters, but has {found}"
    )]
    LineLength {
        /// 1-based line number within the payload.
        line: usize,
        /// Bytes announced by the length character.
        declared: usize,
        /// Characters that length requires.
        needed: usize,
        /// Characters present.
        found: usize,
    },
    /// The payload ends in the middle of a line.
    #[error("uuencoded line {line} is not terminated by a newline")]
    UnterminatedLine {
        /// 1-based line number within the payload.
        line: usize,
    },
    /// The payload has no terminator line (a lone backquote).
    #[error("uuencoded payload ends without its terminator line")]
    MissingTerminator,
    /// Bytes follow the terminator line.
    #[error("{extra} bytes follow the uuencode terminator line")]
    TrailingBytes {
        /// How many bytes follow.
        extra: usize,
    },
}

/// Length of the uuencoded form of `n` bytes, terminator line included:
/// `62·⌊n/45⌋ + (r>0 ? 4·⌈r/3⌉ + 2 : 0) + 2` with `r = n mod 45`.
pub const fn encoded_len(n: usize) -> usize {
    let r = n % CHUNK;
    let tail = if r > 0 { 4 * r.div_ceil(3) + 2 } else { 0 };
    62 * (n / CHUNK) + tail + 2
}

fn enc6(v: u8) -> u8 {
    let v = v & 0x3f;
    if v == 0 { b'`' } else { b' ' + v }
}

fn dec6(c: u8) -> u8 {
    c.wrapping_sub(b' ') & 0x3f
}

/// Appends the uuencoded form of `data` (lines plus terminator) to `out`.
pub fn encode_into(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(encoded_len(data.len()));
    for chunk in data.chunks(CHUNK) {
        out.push(b' ' + chunk.len() as u8);
        for group in chunk.chunks(3) {
            let b0 = group[0];
            let b1 = group.get(1).copied().unwrap_or(0);
            let b2 = group.get(2).copied().unwrap_or(0);
            out.push(enc6(b0 >> 2));
            out.push(enc6((b0 << 4) | (b1 >> 4)));
            out.push(enc6((b1 << 2) | (b2 >> 6)));
            out.push(enc6(b2));
        }
        out.push(b'\n');
    }
    out.extend_from_slice(b"`\n");
}

/// Returns the uuencoded form of `data` (lines plus terminator).
pub fn encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(data, &mut out);
    out
}

/// Decodes a complete uuencoded payload (as carried by one `DATA` object).
///
/// Accepts any character from space to backquote, mapped with `(c − 32) & 0x3f`
/// like scamper's own decoders; requires each line to hold exactly the characters
/// its length character announces, and requires the terminator line to end the
/// payload.
pub fn decode(encoded: &[u8]) -> Result<Vec<u8>, UuError> {
    let mut out = Vec::with_capacity(encoded.len() / 4 * 3);
    let mut rest = encoded;
    let mut line_no = 0;
    while !rest.is_empty() {
        line_no += 1;
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return Err(UuError::UnterminatedLine { line: line_no });
        };
        let line = &rest[..nl];
        rest = &rest[nl + 1..];
        if let Some(&byte) = line.iter().find(|&&b| !(b' '..=b'`').contains(&b)) {
            return Err(UuError::BadChar {
                line: line_no,
                byte,
            });
        }
        let Some((&len_char, body)) = line.split_first() else {
            return Err(UuError::LineLength {
                line: line_no,
                declared: 0,
                needed: 1,
                found: 0,
            });
        };
        let declared = usize::from(dec6(len_char));
        let needed = 4 * declared.div_ceil(3);
        if body.len() != needed {
            return Err(UuError::LineLength {
                line: line_no,
                declared,
                needed: needed + 1,
                found: line.len(),
            });
        }
        if declared == 0 {
            return if rest.is_empty() {
                Ok(out)
            } else {
                Err(UuError::TrailingBytes { extra: rest.len() })
            };
        }
        let start = out.len();
        for quad in body.chunks_exact(4) {
            let [a, b, c, d] = [quad[0], quad[1], quad[2], quad[3]].map(dec6);
            out.push((a << 2) | (b >> 4));
            out.push((b << 4) | (c >> 2));
            out.push((c << 6) | d);
        }
        out.truncate(start + declared);
    }
    Err(UuError::MissingTerminator)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_example_list_record() {
        // control-protocol.md §10: the list record, DATA 56.
        let enc = b"E$@4``0```!T````!`````\"]T;7`O<V-A;7!E<BYS;V-K.C``````\n`\n";
        assert_eq!(enc.len(), 56);
        let dec = decode(enc).unwrap();
        assert_eq!(dec.len(), 37);
        assert_eq!(&dec[..2], &[0x12, 0x05]);
        // The spec's text says the name is `/run/scamper.sock:0`, but its bytes
        // carry `/tmp/scamper.sock:0` (same length); the bytes are what we check.
        assert!(dec.windows(19).any(|w| w == b"/tmp/scamper.sock:0"));
        assert_eq!(encode(&dec), enc);
    }

    #[test]
    fn lengths_follow_formula() {
        for n in 0..200 {
            assert_eq!(encode(&vec![0xa5; n]).len(), encoded_len(n), "n={n}");
        }
        assert_eq!(encoded_len(87), 122);
        assert_eq!(encoded_len(17), 28);
        assert_eq!(encoded_len(31), 48);
    }

    #[test]
    fn zero_is_backquote_never_space() {
        let enc = encode(&[0, 0, 0]);
        assert_eq!(enc, b"#````\n`\n");
        assert!(!enc.contains(&b' '));
    }

    #[test]
    fn space_accepted_as_zero() {
        assert_eq!(decode(b"#    \n`\n").unwrap(), vec![0, 0, 0]);
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(decode(b""), Err(UuError::MissingTerminator));
        assert_eq!(decode(b"#````\n"), Err(UuError::MissingTerminator));
        assert_eq!(
            decode(b"#```\n`\n"),
            Err(UuError::LineLength {
                line: 1,
                declared: 3,
                needed: 5,
                found: 4
            })
        );
        assert_eq!(
            decode(b"#``a`\n`\n"),
            Err(UuError::BadChar {
                line: 1,
                byte: b'a'
            })
        );
        assert_eq!(decode(b"`\nx"), Err(UuError::TrailingBytes { extra: 1 }));
        assert_eq!(decode(b"#````"), Err(UuError::UnterminatedLine { line: 1 }));
        assert!(matches!(
            decode(b"\n`\n"),
            Err(UuError::LineLength { line: 1, .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..500)) {
            let enc = encode(&data);
            prop_assert_eq!(enc.len(), encoded_len(data.len()));
            prop_assert!(enc.iter().all(|&b| b == b'\n' || (b'!'..=b'`').contains(&b)));
            prop_assert_eq!(decode(&enc).unwrap(), data);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&data);
        }
    }
}
