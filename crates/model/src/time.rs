//! Points in time as measurements record them.

use core::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time: seconds and microseconds since the Unix epoch (UTC).
///
/// This is warts' `timeval`: 32-bit seconds, microseconds normally 0..=999_999
/// (a value read from a damaged file may be larger; it is kept as read so the
/// file can be written back unchanged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub sec: u32,
    /// Microseconds within the second.
    pub usec: u32,
}

impl Timestamp {
    /// Builds a timestamp from seconds and microseconds.
    #[must_use]
    pub const fn new(sec: u32, usec: u32) -> Self {
        Self { sec, usec }
    }

    /// The timestamp of a `SystemTime`, truncated to microseconds; times before
    /// 1970 give zero and times after 2106 saturate.
    #[must_use]
    pub fn from_system_time(t: SystemTime) -> Self {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        Self::from_unix_duration(d)
    }

    /// The timestamp `d` after the epoch, truncated to microseconds (saturating).
    #[must_use]
    pub fn from_unix_duration(d: Duration) -> Self {
        match u32::try_from(d.as_secs()) {
            Ok(sec) => Self {
                sec,
                usec: d.subsec_micros(),
            },
            Err(_) => Self {
                sec: u32::MAX,
                usec: 999_999,
            },
        }
    }

    /// The current time.
    #[must_use]
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Time since the epoch.
    #[must_use]
    pub fn to_unix_duration(self) -> Duration {
        Duration::from_secs(u64::from(self.sec)) + Duration::from_micros(u64::from(self.usec))
    }

    /// As a `SystemTime`.
    #[must_use]
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + self.to_unix_duration()
    }

    /// Microseconds since the epoch.
    #[must_use]
    pub fn as_micros(self) -> u64 {
        u64::from(self.sec) * 1_000_000 + u64::from(self.usec)
    }

    /// Whether both fields are zero (scamper's "not set").
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.sec == 0 && self.usec == 0
    }

    /// This time plus `d`, truncated to microseconds (saturating).
    #[must_use]
    pub fn plus(self, d: Duration) -> Self {
        Self::from_unix_duration(self.to_unix_duration().saturating_add(d))
    }

    /// How long after `earlier` this is (zero if it is not later).
    #[must_use]
    pub fn since(self, earlier: Self) -> Duration {
        self.to_unix_duration()
            .saturating_sub(earlier.to_unix_duration())
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        Self::from_system_time(t)
    }
}

impl fmt::Display for Timestamp {
    /// `sec.usec` with six digits of microseconds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.sec, self.usec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic() {
        let t = Timestamp::new(1_700_000_000, 999_999);
        let u = t.plus(Duration::from_micros(2));
        assert_eq!(u, Timestamp::new(1_700_000_001, 1));
        assert_eq!(u.since(t), Duration::from_micros(2));
        assert_eq!(t.since(u), Duration::ZERO);
        assert_eq!(t.to_string(), "1700000000.999999");
    }
}
