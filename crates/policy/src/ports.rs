//! Destination port ranges (`80`, `"33434-33534"`) and sets of them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An inclusive range of ports, written `N` or `"N-M"` (`0 <= N <= M <= 65535`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    /// The first port.
    pub first: u16,
    /// The last port (at least `first`).
    pub last: u16,
}

impl PortRange {
    /// Every port, `0-65535`.
    pub const ALL: PortRange = PortRange {
        first: 0,
        last: u16::MAX,
    };

    /// The range `first..=last`; `None` when `first > last`.
    pub fn new(first: u16, last: u16) -> Option<PortRange> {
        (first <= last).then_some(PortRange { first, last })
    }

    /// The range holding only `port`.
    pub fn single(port: u16) -> PortRange {
        PortRange {
            first: port,
            last: port,
        }
    }

    /// Whether `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Why a text is not a port range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "bad port range `{0}`: write a port (443) or a range (\"33434-33534\") within 0-65535, low end first"
)]
pub struct PortRangeError(pub String);

impl FromStr for PortRange {
    type Err = PortRangeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let num = |t: &str| {
            let t = t.trim();
            if t.is_empty() || t.len() > 5 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            t.parse::<u16>().ok()
        };
        let range = match s.split_once('-') {
            Some((a, b)) => num(a).zip(num(b)).and_then(|(a, b)| PortRange::new(a, b)),
            None => num(s).map(PortRange::single),
        };
        range.ok_or_else(|| PortRangeError(s.to_owned()))
    }
}

impl Serialize for PortRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PortRange;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number (443) or a range as a string (\"33434-33534\")")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PortRange, E> {
                u16::try_from(v)
                    .map(PortRange::single)
                    .map_err(|_| E::custom(PortRangeError(v.to_string())))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PortRange, E> {
                u16::try_from(v)
                    .map(PortRange::single)
                    .map_err(|_| E::custom(PortRangeError(v.to_string())))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PortRange, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Sorts and merges overlapping or adjacent ranges.
pub(crate) fn normalize(ranges: &mut Vec<PortRange>) {
    ranges.sort_unstable();
    let mut out: Vec<PortRange> = Vec::with_capacity(ranges.len());
    for r in ranges.drain(..) {
        match out.last_mut() {
            Some(last) if u32::from(r.first) <= u32::from(last.last) + 1 => {
                last.last = last.last.max(r.last);
            }
            _ => out.push(r),
        }
    }
    *ranges = out;
}

/// The first port of `want` that no range of `allowed` (normalised) holds.
pub(crate) fn first_outside(allowed: &[PortRange], want: PortRange) -> Option<u16> {
    let mut next = u32::from(want.first);
    while next <= u32::from(want.last) {
        let port = next as u16;
        let Some(holder) = allowed.iter().find(|r| r.contains(port)) else {
            return Some(port);
        };
        next = u32::from(holder.last) + 1;
    }
    None
}

/// The ports `first, first+1, ...` used by `count` probes whose port counts up and wraps at
/// 65535, as at most two ranges.
pub(crate) fn counting(first: u16, count: u32) -> Vec<PortRange> {
    if count == 0 {
        return Vec::new();
    }
    if count >= 65536 {
        return vec![PortRange::ALL];
    }
    let end = u32::from(first) + count - 1;
    if end <= 65535 {
        vec![PortRange {
            first,
            last: end as u16,
        }]
    } else {
        vec![
            PortRange {
                first,
                last: u16::MAX,
            },
            PortRange {
                first: 0,
                last: (end - 65536) as u16,
            },
        ]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse() {
        assert_eq!("80".parse::<PortRange>().unwrap(), PortRange::single(80));
        assert_eq!(
            "33434-33534".parse::<PortRange>().unwrap(),
            PortRange::new(33434, 33534).unwrap()
        );
        assert_eq!(
            "1 - 2".parse::<PortRange>().unwrap(),
            PortRange::new(1, 2).unwrap()
        );
        for bad in [
            "", "-", "22-", "-22", "9-1", "65536", "1-65536", "x", "+1", "1-2-3",
        ] {
            assert!(bad.parse::<PortRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn merge_and_search() {
        let mut v = vec![
            PortRange::new(10, 20).unwrap(),
            PortRange::single(21),
            PortRange::new(5, 12).unwrap(),
            PortRange::single(30),
        ];
        normalize(&mut v);
        assert_eq!(
            v,
            vec![PortRange::new(5, 21).unwrap(), PortRange::single(30)]
        );
        assert_eq!(first_outside(&v, PortRange::new(5, 21).unwrap()), None);
        assert_eq!(first_outside(&v, PortRange::new(20, 30).unwrap()), Some(22));
        assert_eq!(first_outside(&v, PortRange::single(4)), Some(4));
        assert_eq!(first_outside(&[PortRange::ALL], PortRange::ALL), None);
    }

    #[test]
    fn counting_ports_wrap() {
        assert_eq!(
            counting(33435, 3),
            vec![PortRange::new(33435, 33437).unwrap()]
        );
        assert_eq!(
            counting(65534, 4),
            vec![
                PortRange::new(65534, 65535).unwrap(),
                PortRange::new(0, 1).unwrap()
            ]
        );
        assert_eq!(counting(7, 70_000), vec![PortRange::ALL]);
        assert!(counting(7, 0).is_empty());
    }

    proptest! {
        #[test]
        fn round_trip(a: u16, b: u16) {
            let r = PortRange::new(a.min(b), a.max(b)).unwrap();
            prop_assert_eq!(r.to_string().parse::<PortRange>().unwrap(), r);
        }

        #[test]
        fn normalised_sets_answer_like_the_originals(
            raw in proptest::collection::vec((any::<u16>(), 0u16..300), 0..10),
            probe: u16,
        ) {
            let orig: Vec<PortRange> = raw
                .iter()
                .map(|&(a, w)| PortRange::new(a, a.saturating_add(w)).unwrap())
                .collect();
            let mut norm = orig.clone();
            normalize(&mut norm);
            prop_assert_eq!(
                orig.iter().any(|r| r.contains(probe)),
                norm.iter().any(|r| r.contains(probe))
            );
            for w in norm.windows(2) {
                prop_assert!(u32::from(w[0].last) + 1 < u32::from(w[1].first));
            }
        }
    }
}
