//! The byte-level JSON writer: numbers, addresses, times and escaped strings,
//! formatted the way scamper's JSON printers format them.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use vantage_model::{Addr, Timestamp};

/// "00" to "99", for writing two digits at a time.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// How many decimal digits `v` has (at least 1).
#[inline]
fn decimal_digits(v: u64) -> usize {
    const POW10: [u64; 20] = {
        let mut t = [1u64; 20];
        let mut i = 1;
        while i < 20 {
            t[i] = t[i - 1] * 10;
            i += 1;
        }
        t
    };
    // log10 estimate from the bit length, corrected by one comparison.
    let bits = 64 - (v | 1).leading_zeros() as usize;
    let t = (bits * 1233) >> 12;
    t + usize::from(v >= POW10[t.min(19)])
}

/// Appends JSON text to a byte buffer. Everything written is ASCII, so the
/// buffer stays valid UTF-8.
pub(crate) struct Out<'a> {
    pub b: &'a mut Vec<u8>,
}

impl Out<'_> {
    /// Literal text (keys, punctuation, fixed names). Always inlined so that
    /// constant strings are copied with a few moves instead of a `memcpy` call.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub fn s(&mut self, s: &str) {
        self.b.extend_from_slice(s.as_bytes());
    }

    /// An unsigned decimal.
    #[inline]
    pub fn u(&mut self, v: impl Into<u64>) {
        let v: u64 = v.into();
        if v < 10 {
            self.b.push(b'0' + v as u8);
        } else if v < 100 {
            let pair = v as usize * 2;
            self.b.extend_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        } else {
            self.u_long(v);
        }
    }

    /// An unsigned decimal of at least three digits.
    fn u_long(&mut self, mut v: u64) {
        let n = decimal_digits(v);
        // Digits are laid out left-aligned in a fixed-size buffer, which is
        // copied whole (a constant-size copy, no `memcpy` call) and then
        // trimmed to the digits.
        let mut tmp = [0u8; 20];
        let mut i = n;
        while v >= 100 {
            let pair = (v % 100) as usize * 2;
            v /= 100;
            i -= 2;
            tmp[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        }
        if v >= 10 {
            let pair = v as usize * 2;
            tmp[0..2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        } else {
            tmp[0] = b'0' + v as u8;
        }
        let len = self.b.len();
        self.b.extend_from_slice(&tmp);
        self.b.truncate(len + n);
    }

    /// A signed decimal.
    #[inline]
    pub fn i(&mut self, v: i64) {
        if v < 0 {
            self.b.push(b'-');
        }
        self.u(v.unsigned_abs());
    }

    /// A key (with its separator and colon) and an unsigned decimal.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub fn ku(&mut self, key: &str, v: impl Into<u64>) {
        self.s(key);
        self.u(v);
    }

    /// A number with exactly `digits` digits, zero-padded.
    pub fn padded(&mut self, v: u64, digits: usize) {
        let mut tmp = [b'0'; 20];
        let mut v = v;
        for slot in tmp[..digits].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        self.b.extend_from_slice(&tmp[..digits]);
    }

    /// A duration as milliseconds with three decimals (`12.345`), truncated to
    /// whole microseconds: scamper's `timeval_tostr_us`.
    #[inline]
    pub fn ms(&mut self, d: Duration) {
        let us = d.as_micros();
        let us = u64::try_from(us).unwrap_or(u64::MAX);
        self.u(us / 1000);
        self.b.push(b'.');
        self.padded(us % 1000, 3);
    }

    /// `{"sec":S,"usec":U}` (`spaced`: `{"sec":S, "usec":U}`).
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub fn tv(&mut self, t: Timestamp, spaced: bool) {
        self.s("{\"sec\":");
        self.u(t.sec);
        self.s(if spaced { ", \"usec\":" } else { ",\"usec\":" });
        self.u(t.usec);
        self.b.push(b'}');
    }

    /// A quoted address.
    #[inline]
    pub fn addr(&mut self, a: &Addr) {
        self.b.push(b'"');
        self.addr_bare(a);
        self.b.push(b'"');
    }

    /// An address without quotes: dotted quad, `inet_ntop` IPv6 text, or a
    /// colon-separated link-layer address.
    pub fn addr_bare(&mut self, a: &Addr) {
        match a {
            Addr::V4(v4) => self.ipv4(*v4),
            Addr::V6(v6) => self.ipv6(v6),
            Addr::Ethernet(m) => self.hex_colon(m),
            Addr::Firewire(m) => self.hex_colon(m),
        }
    }

    fn ipv4(&mut self, a: Ipv4Addr) {
        let [o1, o2, o3, o4] = a.octets();
        self.u(o1);
        self.b.push(b'.');
        self.u(o2);
        self.b.push(b'.');
        self.u(o3);
        self.b.push(b'.');
        self.u(o4);
    }

    /// IPv6 as glibc's `inet_ntop` writes it: lower-case hex, the longest run
    /// (first on a tie) of two or more zero groups as `::`, and the last 32
    /// bits as a dotted quad for IPv4-mapped and IPv4-compatible addresses.
    fn ipv6(&mut self, a: &Ipv6Addr) {
        let w = a.segments();
        // Longest run of zero words of length >= 2.
        let (mut best, mut best_len) = (0usize, 0usize);
        let mut i = 0;
        while i < 8 {
            if w[i] == 0 {
                let start = i;
                while i < 8 && w[i] == 0 {
                    i += 1;
                }
                if i - start > best_len {
                    best = start;
                    best_len = i - start;
                }
            } else {
                i += 1;
            }
        }
        let run = (best_len >= 2).then_some((best, best + best_len));
        let embedded_v4 = best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff));
        let mut i = 0;
        while i < 8 {
            if let Some((start, end)) = run
                && i == start
            {
                self.b.extend_from_slice(b"::");
                i = end;
                continue;
            }
            let after_run = run.is_some_and(|(_, end)| end == i);
            if i > 0 && !after_run {
                self.b.push(b':');
            }
            if i == 6 && embedded_v4 {
                let o = a.octets();
                self.ipv4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
                break;
            }
            self.hex16(w[i]);
            i += 1;
        }
    }

    fn hex16(&mut self, v: u16) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut started = false;
        for shift in [12u16, 8, 4, 0] {
            let nib = ((v >> shift) & 0xf) as usize;
            if nib != 0 || started || shift == 0 {
                self.b.push(HEX[nib]);
                started = true;
            }
        }
    }

    fn hex_colon(&mut self, bytes: &[u8]) {
        for (i, byte) in bytes.iter().enumerate() {
            if i > 0 {
                self.b.push(b':');
            }
            self.hex_byte(*byte);
        }
    }

    #[inline]
    fn hex_byte(&mut self, v: u8) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.b.push(HEX[usize::from(v >> 4)]);
        self.b.push(HEX[usize::from(v & 0xf)]);
    }

    /// A quoted lower-case hex string, two digits per byte.
    pub fn hex(&mut self, bytes: &[u8]) {
        self.b.push(b'"');
        for byte in bytes {
            self.hex_byte(*byte);
        }
        self.b.push(b'"');
    }

    /// A quoted string passed through scamper's `json_esc`: `"` and `\` are
    /// backslash-escaped and the string is cut at its first byte that is not
    /// printable ASCII (so no `\uXXXX` escape is ever written).
    pub fn esc(&mut self, s: &[u8]) {
        self.b.push(b'"');
        for &c in s {
            match c {
                b'"' | b'\\' => {
                    self.b.push(b'\\');
                    self.b.push(c);
                }
                0x20..=0x7e => self.b.push(c),
                _ => break,
            }
        }
        self.b.push(b'"');
    }

    /// A quoted string written as is (interface names, list names: scamper
    /// does not escape these). Bytes that would break the JSON (control
    /// characters, `"` and `\`, non-ASCII) are still escaped so that the
    /// output always parses.
    pub fn raw_str(&mut self, s: &str) {
        self.b.push(b'"');
        for ch in s.chars() {
            match ch {
                '"' | '\\' => {
                    self.b.push(b'\\');
                    self.b.push(ch as u8);
                }
                ' '..='~' => self.b.push(ch as u8),
                _ => {
                    let mut units = [0u16; 2];
                    for unit in ch.encode_utf16(&mut units) {
                        self.s("\\u");
                        let v = *unit;
                        self.hex_byte((v >> 8) as u8);
                        self.hex_byte((v & 0xff) as u8);
                    }
                }
            }
        }
        self.b.push(b'"');
    }

    /// A JSON array of quoted names, `sep` between entries.
    pub fn names<'n>(&mut self, names: impl Iterator<Item = &'n str>, sep: &str) {
        self.b.push(b'[');
        for (i, n) in names.enumerate() {
            if i > 0 {
                self.s(sep);
            }
            self.b.push(b'"');
            self.s(n);
            self.b.push(b'"');
        }
        self.b.push(b']');
    }
}

/// Civil date and time (`YYYY-MM-DD HH:MM:SS`) of `secs` seconds since the
/// epoch, shifted by `offset` seconds (the local time zone's UTC offset).
pub(crate) fn ftime(out: &mut Out<'_>, secs: i64, offset: i32) {
    let t = secs + i64::from(offset);
    let days = t.div_euclid(86_400);
    let sod = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    out.i(y);
    out.b.push(b'-');
    out.padded(u64::from(m), 2);
    out.b.push(b'-');
    out.padded(u64::from(d), 2);
    out.b.push(b' ');
    out.padded((sod / 3600) as u64, 2);
    out.b.push(b':');
    out.padded((sod / 60 % 60) as u64, 2);
    out.b.push(b':');
    out.padded((sod % 60) as u64, 2);
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's well-known days-to-civil arithmetic).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut Out<'_>)) -> String {
        let mut v = Vec::new();
        f(&mut Out { b: &mut v });
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn numbers_and_rtts() {
        assert_eq!(with(|o| o.u(0u32)), "0");
        assert_eq!(with(|o| o.u(u64::MAX)), "18446744073709551615");
        for v in [1u64, 9, 10, 99, 100, 101, 999, 1000, 65535, 1_795_749_597] {
            assert_eq!(with(|o| o.u(v)), v.to_string());
        }
        let mut v = 1u64;
        for _ in 0..64 {
            for w in [v - 1, v, v + 1] {
                assert_eq!(with(|o| o.u(w)), w.to_string());
            }
            v = v.wrapping_mul(3).max(2);
        }
        for p in 0..20 {
            let w = 10u64.pow(p);
            assert_eq!(with(|o| o.u(w)), w.to_string());
            assert_eq!(with(|o| o.u(w - 1)), (w - 1).to_string());
        }
        assert_eq!(with(|o| o.i(-42)), "-42");
        assert_eq!(with(|o| o.ms(Duration::from_micros(12_345))), "12.345");
        assert_eq!(with(|o| o.ms(Duration::from_micros(87))), "0.087");
        assert_eq!(with(|o| o.ms(Duration::from_secs(1))), "1000.000");
        assert_eq!(with(|o| o.ms(Duration::from_nanos(1999))), "0.001");
    }

    #[test]
    fn addresses_like_inet_ntop() {
        let cases = [
            ("192.0.2.1", "192.0.2.1"),
            ("2001:db8::1", "2001:db8::1"),
            ("::", "::"),
            ("::1", "::1"),
            ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
            ("::192.0.2.1", "::192.0.2.1"),
            ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
            ("2001:0:0:1:0:0:1:1", "2001::1:0:0:1:1"),
            ("fe80::1:0:0:0", "fe80::1:0:0:0"),
            ("fe80:0:0:1::", "fe80:0:0:1::"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
            ("1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"),
            ("aa:bb:cc:dd:ee:0f", "aa:bb:cc:dd:ee:0f"),
        ];
        for (input, want) in cases {
            let a: Addr = input.parse().unwrap();
            assert_eq!(with(|o| o.addr_bare(&a)), want, "{input}");
        }
    }

    #[test]
    fn ipv6_matches_std_outside_embedded_v4() {
        // Rust's Display follows RFC 5952 like glibc, except for the
        // IPv4-compatible form; check a spread of addresses.
        let mut x: u128 = 0x2001_0db8_0000_0000_0000_0000_0000_0001;
        for _ in 0..2000 {
            x = x
                .wrapping_mul(0x5851_f42d_4c95_7f2d_1405_7b7e_f767_814f)
                .wrapping_add(0x1234_5678);
            // Sprinkle zero groups.
            let masked = x & 0xffff_0000_ffff_0000_0000_ffff_0000_ffff;
            for v in [x, masked] {
                let a = Ipv6Addr::from(v);
                if a.segments()[..5] == [0; 5] {
                    continue;
                }
                assert_eq!(with(|o| o.addr_bare(&Addr::V6(a))), a.to_string());
            }
        }
    }

    #[test]
    fn json_esc_semantics() {
        assert_eq!(with(|o| o.esc(b"a\"b\\c")), r#""a\"b\\c""#);
        assert_eq!(with(|o| o.esc(b"ok\x01dropped")), r#""ok""#);
        assert_eq!(with(|o| o.esc("caf\u{e9}".as_bytes())), r#""caf""#);
        assert_eq!(with(|o| o.raw_str("e\u{e9}\n")), r#""e\u00e9\u000a""#);
    }

    #[test]
    fn civil_time() {
        assert_eq!(with(|o| ftime(o, 0, 0)), "1970-01-01 00:00:00");
        assert_eq!(with(|o| ftime(o, 1_795_749_170, 0)), "2026-11-27 03:12:50");
        assert_eq!(with(|o| ftime(o, 1_700_000_100, 0)), "2023-11-14 22:15:00");
        assert_eq!(with(|o| ftime(o, 951_782_400, 0)), "2000-02-29 00:00:00");
        assert_eq!(with(|o| ftime(o, 0, -3600)), "1969-12-31 23:00:00");
        assert_eq!(with(|o| ftime(o, 4_294_967_295, 0)), "2106-02-07 06:28:15");
    }
}
