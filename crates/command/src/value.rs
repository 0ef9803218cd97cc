//! Converting parameter words into values: numbers with C-style base detection, hex strings,
//! the TIME syntax, IP literals. Also their canonical spelling for command output.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use crate::error::CommandError;

/// Parses an integer the way C's `strtol(s, &end, 0)` reads a prefix of `s`: optional sign,
/// then `0x`/`0X` + hex digits, or `0` + octal digits, or decimal digits. Returns the value and
/// the number of bytes read, or `None` when there is no digit at all or the value does not fit
/// an `i64`.
fn strtol_prefix(s: &str) -> Option<(i64, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    let negative = match b.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let (radix, start) = if b.get(i) == Some(&b'0')
        && matches!(b.get(i + 1), Some(b'x' | b'X'))
        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        (16, i + 2)
    } else if b.get(i) == Some(&b'0') {
        (8, i)
    } else {
        (10, i)
    };
    let mut end = start;
    let mut value: i64 = 0;
    while let Some(d) = b.get(end).and_then(|c| char::from(*c).to_digit(radix)) {
        value = value
            .checked_mul(i64::from(radix))?
            .checked_add(i64::from(d))?;
        end += 1;
    }
    if end == start {
        return None;
    }
    Some((if negative { -value } else { value }, end))
}

/// A whole parameter read as a number with base detection (`010` = 8, `0x10` = 16). `None`
/// when anything follows the number or it does not fit an `i64`.
pub(crate) fn int_strict(s: &str) -> Option<i64> {
    match strtol_prefix(s) {
        Some((v, n)) if n == s.len() => Some(v),
        _ => None,
    }
}

/// A parameter read as a number with base detection, ignoring anything after the number
/// (`45abc` = 45), as the reference tool does for trace's string-typed numbers. `None` when
/// it does not start with a number.
pub(crate) fn int_prefix(s: &str) -> Option<i64> {
    strtol_prefix(s).map(|(v, _)| v)
}

/// A number checked against an inclusive range, with the option's error text.
pub(crate) fn ranged(
    letter: char,
    value: Option<&str>,
    what: &str,
    lo: i64,
    hi: i64,
    read: fn(&str) -> Option<i64>,
) -> Result<i64, CommandError> {
    match value.and_then(read) {
        Some(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(CommandError::option(
            letter,
            format!("{what} must be within {lo} - {hi}"),
        )),
    }
}

/// An even number of hex digits as bytes; `None` for odd length or a non-hex character.
pub(crate) fn hex_even(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    hex_any(s)
}

/// Hex digits as bytes; an odd count gets a leading zero nibble.
pub(crate) fn hex_any(s: &str) -> Option<Vec<u8>> {
    if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digits: Vec<u8> = s
        .bytes()
        .filter_map(|b| char::from(b).to_digit(16).map(|d| d as u8))
        .collect();
    let mut out = Vec::with_capacity(digits.len().div_ceil(2));
    let mut rest = digits.as_slice();
    if rest.len() % 2 == 1 {
        out.push(rest[0]);
        rest = &rest[1..];
    }
    for pair in rest.chunks_exact(2) {
        out.push(pair[0] << 4 | pair[1]);
    }
    Some(out)
}

/// Lower-case hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The unit a TIME parameter is in when it has no suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeUnit {
    /// Seconds.
    Seconds,
    /// Hundredths of a second (trace and tracelb `-W`).
    TenMillis,
    /// Milliseconds.
    Millis,
}

impl TimeUnit {
    fn micros(self) -> u64 {
        match self {
            TimeUnit::Seconds => 1_000_000,
            TimeUnit::TenMillis => 10_000,
            TimeUnit::Millis => 1_000,
        }
    }
}

/// Reads `<int>[.<fraction>][s|ms|us]`. Without a suffix the number is in `unit`. The
/// fraction needs at least one digit and may have no more digits than resolve to whole
/// microseconds in the unit used (`1.5000000` seconds is refused, as is `1.`). No sign.
pub(crate) fn time(s: &str, unit: TimeUnit) -> Option<Duration> {
    let (body, unit_us) = if let Some(b) = s.strip_suffix("us") {
        (b, 1)
    } else if let Some(b) = s.strip_suffix("ms") {
        (b, 1_000)
    } else if let Some(b) = s.strip_suffix('s') {
        (b, 1_000_000)
    } else {
        (s, unit.micros())
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let all_digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) {
        return None;
    }
    let mut micros = int.parse::<u64>().ok()?.checked_mul(unit_us)?;
    if let Some(frac) = frac {
        if !all_digits(frac) {
            return None;
        }
        // unit_us is a power of ten: allow as many digits as it has zeros.
        let max_digits = unit_us.ilog10() as usize;
        if frac.len() > max_digits {
            return None;
        }
        let f: u64 = frac.parse().ok()?;
        let scale = 10u64.pow(frac.len() as u32);
        micros = micros.checked_add(f * (unit_us / scale))?;
    }
    Some(Duration::from_micros(micros))
}

/// A TIME parameter checked to lie in `lo..=hi`, with the option's error text.
pub(crate) fn time_ranged(
    letter: char,
    value: Option<&str>,
    unit: TimeUnit,
    what: &str,
    lo: Duration,
    hi: Duration,
) -> Result<Duration, CommandError> {
    let Some(d) = value.and_then(|v| time(v, unit)) else {
        return Err(CommandError::option(
            letter,
            format!(
                "{what} is not a valid time (<n>[.<fraction>][s|ms|us], default unit {})",
                unit_name(unit)
            ),
        ));
    };
    if d < lo || d > hi {
        return Err(CommandError::option(
            letter,
            format!(
                "{what} must be within {} - {}",
                time_human(lo),
                time_human(hi)
            ),
        ));
    }
    Ok(d)
}

fn unit_name(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Seconds => "seconds",
        TimeUnit::TenMillis => "10 ms",
        TimeUnit::Millis => "milliseconds",
    }
}

/// A duration for people: `1s`, `1.5s`, `10ms`, `150us`.
pub(crate) fn time_human(d: Duration) -> String {
    let us = d.as_micros();
    if us.is_multiple_of(1_000_000) {
        format!("{}s", us / 1_000_000)
    } else if us >= 1_000_000 {
        format!("{}s", decimal(us, 6))
    } else if us.is_multiple_of(1_000) {
        format!("{}ms", us / 1_000)
    } else {
        format!("{us}us")
    }
}

/// `value / 10^places` written with the fewest fraction digits that are exact.
fn decimal(value: u128, places: u32) -> String {
    let scale = 10u128.pow(places);
    let (int, mut frac) = (value / scale, value % scale);
    if frac == 0 {
        return int.to_string();
    }
    let mut digits = places as usize;
    while frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    format!("{int}.{frac:0digits$}")
}

/// A duration written as a TIME parameter in the option's default unit, with no suffix, so
/// that every version of the command language reads it back exactly. Sub-microsecond parts
/// are dropped (the language cannot express them).
pub(crate) fn time_param(d: Duration, unit: TimeUnit) -> String {
    decimal(d.as_micros(), unit.micros().ilog10())
}

/// An IP literal (no names, no zone suffixes, no trailing text).
pub(crate) fn ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// An address option that must be in the same family as the destination.
pub(crate) fn ip_same_family(
    letter: char,
    value: Option<&str>,
    what: &str,
    dst: IpAddr,
) -> Result<IpAddr, CommandError> {
    match value.and_then(ip) {
        Some(a) if a.is_ipv4() == dst.is_ipv4() => Ok(a),
        Some(_) => Err(CommandError::option(
            letter,
            format!(
                "{what} must be an {} address like the destination",
                if dst.is_ipv4() { "IPv4" } else { "IPv6" }
            ),
        )),
        None => Err(CommandError::option(
            letter,
            format!("{what} must be an IP address"),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers_detect_base() {
        assert_eq!(int_strict("10"), Some(10));
        assert_eq!(int_strict("010"), Some(8));
        assert_eq!(int_strict("0x10"), Some(16));
        assert_eq!(int_strict("0XfF"), Some(255));
        assert_eq!(int_strict("0"), Some(0));
        assert_eq!(int_strict("-5"), Some(-5));
        assert_eq!(int_strict("+5"), Some(5));
        assert_eq!(int_strict("09"), None);
        assert_eq!(int_strict("0x"), None);
        assert_eq!(int_strict("0xg"), None);
        assert_eq!(int_strict(""), None);
        assert_eq!(int_strict("12a"), None);
        assert_eq!(int_strict("99999999999999999999"), None);
        assert_eq!(int_strict(" 1"), None);
    }

    #[test]
    fn prefix_integers_ignore_trailing_text() {
        assert_eq!(int_prefix("45abc"), Some(45));
        assert_eq!(int_prefix("0x2fz"), Some(47));
        assert_eq!(int_prefix("09"), Some(0));
        assert_eq!(int_prefix("0x"), Some(0));
        assert_eq!(int_prefix("abc"), None);
        assert_eq!(int_prefix(""), None);
    }

    #[test]
    fn hex() {
        assert_eq!(hex_even("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(hex_even("ABcd"), Some(vec![0xab, 0xcd]));
        assert_eq!(hex_even(""), Some(vec![]));
        assert_eq!(hex_even("abc"), None);
        assert_eq!(hex_even("zz"), None);
        assert_eq!(hex_any("abc"), Some(vec![0x0a, 0xbc]));
        assert_eq!(hex_any("f"), Some(vec![0x0f]));
        assert_eq!(hex_any("0x12"), None);
        assert_eq!(to_hex(&[0, 0xab, 7]), "00ab07");
    }

    #[allow(clippy::unnecessary_wraps)]
    fn us(n: u64) -> Option<Duration> {
        Some(Duration::from_micros(n))
    }

    #[test]
    fn time_syntax() {
        use TimeUnit::*;
        assert_eq!(time("1", Seconds), us(1_000_000));
        assert_eq!(time("1.5", Seconds), us(1_500_000));
        assert_eq!(time("1.500000", Seconds), us(1_500_000));
        assert_eq!(time("0.000001", Seconds), us(1));
        assert_eq!(time("1.5000000", Seconds), None);
        assert_eq!(time("1.", Seconds), None);
        assert_eq!(time(".5", Seconds), None);
        assert_eq!(time("-1", Seconds), None);
        assert_eq!(time("+1", Seconds), None);
        assert_eq!(time("1.5.1", Seconds), None);
        assert_eq!(time("", Seconds), None);
        assert_eq!(time("s", Seconds), None);
        assert_eq!(time("1 s", Seconds), None);
        assert_eq!(time("1e3", Seconds), None);
        assert_eq!(time("2s", Millis), us(2_000_000));
        assert_eq!(time("2.25s", Millis), us(2_250_000));
        assert_eq!(time("250ms", Seconds), us(250_000));
        assert_eq!(time("1.5ms", Seconds), us(1_500));
        assert_eq!(time("1.5005ms", Seconds), None);
        assert_eq!(time("150us", Seconds), us(150));
        assert_eq!(time("1.5us", Seconds), None);
        assert_eq!(time("5", TenMillis), us(50_000));
        assert_eq!(time("1.5", TenMillis), us(15_000));
        assert_eq!(time("0.0001", TenMillis), us(1));
        assert_eq!(time("0.00001", TenMillis), None);
        assert_eq!(time("250", Millis), us(250_000));
        assert_eq!(time("0.001", Millis), us(1));
        assert_eq!(time("0.0001", Millis), None);
        assert_eq!(time("99999999999999999999", Seconds), None);
        assert_eq!(time("18446744073710", Seconds), None);
    }

    #[test]
    fn time_param_round_trips() {
        use TimeUnit::*;
        for unit in [Seconds, TenMillis, Millis] {
            for n in [
                0u64,
                1,
                9,
                10,
                999,
                1_000,
                15_000,
                1_000_000,
                1_500_000,
                123_456_789,
            ] {
                let d = Duration::from_micros(n);
                let s = time_param(d, unit);
                assert_eq!(time(&s, unit), Some(d), "{unit:?} {s}");
            }
        }
        assert_eq!(time_param(Duration::from_millis(1500), Seconds), "1.5");
        assert_eq!(time_param(Duration::from_millis(50), TenMillis), "5");
        assert_eq!(time_param(Duration::from_millis(250), Millis), "250");
    }

    #[test]
    fn human_times() {
        assert_eq!(time_human(Duration::from_secs(20)), "20s");
        assert_eq!(time_human(Duration::from_millis(1500)), "1.5s");
        assert_eq!(time_human(Duration::from_millis(1)), "1ms");
        assert_eq!(time_human(Duration::from_micros(15)), "15us");
    }

    #[test]
    fn ip_literals_only() {
        assert!(ip("192.0.2.1").is_some());
        assert!(ip("2001:db8::1").is_some());
        for bad in [
            "",
            "example.com",
            "192.0.2.1 x",
            "192.0.2",
            "fe80::1%eth0",
            " 192.0.2.1",
        ] {
            assert!(ip(bad).is_none(), "{bad}");
        }
    }
}
