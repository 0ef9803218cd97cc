//! Wall-clock time as the kernel reports it (`CLOCK_REALTIME`).
//!
//! Transmit times are read with [`now`] right before the send system call; receive times come
//! from the kernel (`SO_TIMESTAMPNS`, also `CLOCK_REALTIME`), so both are on the same clock and
//! a round-trip time is their difference.

use std::time::{Duration, SystemTime};

use nix::time::{ClockId, clock_gettime};

/// The current `CLOCK_REALTIME` time.
///
/// Falls back to [`SystemTime::now`] (the same clock on Linux) in the impossible case that
/// `clock_gettime` fails.
pub fn now() -> SystemTime {
    clock_gettime(ClockId::CLOCK_REALTIME)
        .ok()
        .and_then(|ts| from_timespec(ts.tv_sec(), ts.tv_nsec()))
        .unwrap_or_else(SystemTime::now)
}

/// Converts a `timespec` (seconds and nanoseconds since the Unix epoch) into a `SystemTime`.
///
/// Returns `None` when the nanoseconds are out of range (negative or one second or more) or
/// the time cannot be represented.
pub fn from_timespec(sec: i64, nsec: i64) -> Option<SystemTime> {
    let nsec = u32::try_from(nsec).ok().filter(|n| *n < 1_000_000_000)?;
    if sec >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(Duration::new(sec.unsigned_abs(), nsec))
    } else {
        SystemTime::UNIX_EPOCH
            .checked_sub(Duration::from_secs(sec.unsigned_abs()))?
            .checked_add(Duration::from_nanos(u64::from(nsec)))
    }
}

/// Seconds and microseconds since the Unix epoch, as warts and JSON store a time.
///
/// Times before the epoch are clamped to zero.
pub fn to_timeval(t: SystemTime) -> (u64, u32) {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    (d.as_secs(), d.subsec_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespec_conversion() {
        let t = from_timespec(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap(),
            Duration::new(1_700_000_000, 123_456_789)
        );
        assert_eq!(to_timeval(t), (1_700_000_000, 123_456));
        assert!(from_timespec(1, 1_000_000_000).is_none());
        assert!(from_timespec(1, -1).is_none());
        let before = from_timespec(-1, 500_000_000).unwrap();
        assert_eq!(
            SystemTime::UNIX_EPOCH.duration_since(before).unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(to_timeval(before), (0, 0));
    }

    #[test]
    fn now_is_close_to_system_time() {
        let a = SystemTime::now();
        let b = now();
        let c = SystemTime::now();
        assert!(a <= b && b <= c);
    }
}
