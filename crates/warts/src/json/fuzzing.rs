//! Fuzz entry points (used by `fuzz/fuzz_targets/warts_json.rs` and replayed
//! over the seed corpus by this crate's tests). Not a stable API.

use super::{JsonOptions, write_json};
use crate::Reader;

/// Reads arbitrary bytes as warts and writes every decoded record as JSON,
/// both flavours. Panics if an output line is not valid JSON or contains a
/// newline: the encoder must produce a parseable line for any record the
/// reader accepts.
pub fn warts_json(data: &[u8]) {
    let live = JsonOptions::live();
    let converted = JsonOptions::converted();
    let mut buf = Vec::new();
    for rec in Reader::new(data).take(10_000).flatten() {
        for opts in [&converted, &live] {
            buf.clear();
            if write_json(&mut buf, &rec, opts) {
                if let Err(at) = check_json(&buf) {
                    panic!(
                        "invalid JSON at byte {at}: {}",
                        String::from_utf8_lossy(&buf)
                    );
                }
                assert!(!buf.contains(&b'\n'), "newline inside a JSON line");
            }
        }
    }
}

/// Checks that `s` is exactly one JSON value (RFC 8259 syntax, ASCII only);
/// on failure returns the offset of the first bad byte.
pub fn check_json(s: &[u8]) -> Result<(), usize> {
    let mut p = Parser { s, i: 0, depth: 0 };
    p.value()?;
    p.ws();
    if p.i == s.len() { Ok(()) } else { Err(p.i) }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: u32,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), usize> {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.i)
        }
    }

    fn value(&mut self) -> Result<(), usize> {
        self.ws();
        self.depth += 1;
        if self.depth > 256 {
            return Err(self.i);
        }
        let r = match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.word(b"true"),
            Some(b'f') => self.word(b"false"),
            Some(b'n') => self.word(b"null"),
            _ => Err(self.i),
        };
        self.depth -= 1;
        r
    }

    fn word(&mut self, w: &[u8]) -> Result<(), usize> {
        if self.s[self.i..].starts_with(w) {
            self.i += w.len();
            Ok(())
        } else {
            Err(self.i)
        }
    }

    fn object(&mut self) -> Result<(), usize> {
        self.i += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            self.string()?;
            self.eat(b':')?;
            self.value()?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.i),
            }
        }
    }

    fn array(&mut self) -> Result<(), usize> {
        self.i += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.value()?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.i),
            }
        }
    }

    fn string(&mut self) -> Result<(), usize> {
        if self.peek() != Some(b'"') {
            return Err(self.i);
        }
        self.i += 1;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            let hex = self.s.get(self.i + 1..self.i + 5).ok_or(self.i)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(self.i);
                            }
                            self.i += 5;
                        }
                        _ => return Err(self.i),
                    }
                }
                Some(0x20..=0x7e) => self.i += 1,
                _ => return Err(self.i),
            }
        }
    }

    fn number(&mut self) -> Result<(), usize> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.i += 1;
                }
            }
            _ => return Err(self.i),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.i);
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.i);
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        Ok(())
    }
}
