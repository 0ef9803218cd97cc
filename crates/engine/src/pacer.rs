//! The packets-per-second budget shared by every task of one engine.
//!
//! A token bucket in its "generic cell rate algorithm" form: the pacer keeps
//! the *theoretical arrival time* (TAT) of the next packet. A packet may leave
//! when `now + burst_tolerance >= TAT`; sending it moves TAT one emission
//! interval (`1 s / rate`) later. All arithmetic is in integer units of
//! `1 / rate` nanoseconds, so any rate (1 to millions of packets per second)
//! is exact and no rounding error accumulates.

use std::time::{Duration, Instant};

use crate::error::ConfigError;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// The highest rate the pacer accepts, in packets per second.
pub const MAX_RATE: u32 = 10_000_000;

/// A token-bucket rate limiter driven by a caller-supplied clock.
///
/// `rate` packets per second on average, with bursts of at most `burst`
/// packets after an idle period. In any window of length `T` at most
/// `burst + rate * T` packets are admitted.
#[derive(Clone, Debug)]
pub struct Pacer {
    rate: u32,
    burst: u32,
    /// The instant all scaled times are measured from (set on first use).
    epoch: Option<Instant>,
    /// Theoretical arrival time, in nanoseconds-since-epoch times `rate`.
    tat: u128,
}

impl Pacer {
    /// A pacer admitting `rate` packets per second with bursts of `burst`.
    ///
    /// # Errors
    /// [`ConfigError::Rate`] when `rate` is 0 or above [`MAX_RATE`];
    /// [`ConfigError::Burst`] when `burst` is 0.
    pub fn new(rate: u32, burst: u32) -> Result<Self, ConfigError> {
        check(rate, burst)?;
        Ok(Self {
            rate,
            burst,
            epoch: None,
            tat: 0,
        })
    }

    /// The default burst for a rate: 10 ms worth of packets, at least two.
    ///
    /// Two rather than one so that a sender whose timer fires a little late
    /// (less than one interval) keeps the configured average: with a burst
    /// of one every late wake-up is lost for good, and at 100 pps a timer
    /// that is 1 ms late costs 10% of the rate.
    #[must_use]
    pub fn default_burst(rate: u32) -> u32 {
        (rate / 100).max(2)
    }

    /// Packets per second.
    #[must_use]
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Largest burst after an idle period.
    #[must_use]
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// Changes rate and burst, keeping the current debt (packets already
    /// admitted ahead of schedule) in time units.
    ///
    /// # Errors
    /// As [`Pacer::new`].
    pub fn set_rate(&mut self, rate: u32, burst: u32) -> Result<(), ConfigError> {
        check(rate, burst)?;
        self.tat = self.tat / u128::from(self.rate) * u128::from(rate);
        self.rate = rate;
        self.burst = burst;
        Ok(())
    }

    fn scaled(&mut self, now: Instant) -> u128 {
        let epoch = *self.epoch.get_or_insert(now);
        now.saturating_duration_since(epoch).as_nanos() * u128::from(self.rate)
    }

    fn tolerance(&self) -> u128 {
        u128::from(self.burst - 1) * NANOS_PER_SEC
    }

    /// Whether a packet could leave at `now` (does not consume budget).
    pub fn ready(&mut self, now: Instant) -> bool {
        let t = self.scaled(now);
        self.tat <= t + self.tolerance()
    }

    /// Takes one packet's worth of budget if available at `now`.
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        let t = self.scaled(now);
        if self.tat > t + self.tolerance() {
            return false;
        }
        // An idle pacer restarts from `now`; a caller that woke at
        // `next_ready` (rounded up to whole nanoseconds) keeps the exact
        // schedule instead of losing the sub-nanosecond remainder.
        let rate = u128::from(self.rate);
        let base = if t >= self.tat + rate { t } else { self.tat };
        self.tat = base + NANOS_PER_SEC;
        true
    }

    /// The earliest instant at which [`Pacer::try_acquire`] succeeds
    /// (`now` itself if it would succeed now).
    pub fn next_ready(&mut self, now: Instant) -> Instant {
        let t = self.scaled(now);
        let due = self.tat.saturating_sub(self.tolerance());
        if due <= t {
            return now;
        }
        let Some(epoch) = self.epoch else { return now };
        let rate = u128::from(self.rate);
        let nanos = due.div_ceil(rate);
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
        // (centuries away only after absurd rate changes: say "much later")
        epoch
            .checked_add(Duration::from_nanos(nanos))
            .or_else(|| now.checked_add(Duration::from_secs(86_400)))
            .unwrap_or(now)
    }
}

fn check(rate: u32, burst: u32) -> Result<(), ConfigError> {
    if rate == 0 || rate > MAX_RATE {
        return Err(ConfigError::Rate(rate));
    }
    if burst == 0 {
        return Err(ConfigError::Burst);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn rejects_bad_config() {
        assert!(Pacer::new(0, 1).is_err());
        assert!(Pacer::new(10, 0).is_err());
        assert!(Pacer::new(MAX_RATE + 1, 1).is_err());
        assert!(Pacer::new(200_000, 2_000).is_ok());
    }

    #[test]
    fn strict_spacing_with_burst_one() {
        let t0 = Instant::now();
        let mut p = Pacer::new(100, 1).unwrap();
        assert!(p.try_acquire(t0));
        assert!(!p.try_acquire(t0));
        assert_eq!(p.next_ready(t0), t0 + ms(10));
        assert!(!p.try_acquire(t0 + ms(9)));
        assert!(p.try_acquire(t0 + ms(10)));
        assert_eq!(p.next_ready(t0 + ms(10)), t0 + ms(20));
    }

    #[test]
    fn burst_then_rate() {
        let t0 = Instant::now();
        let mut p = Pacer::new(1000, 5).unwrap();
        let n = (0..100).take_while(|_| p.try_acquire(t0)).count();
        assert_eq!(n, 5);
        // afterwards one per millisecond
        assert!(p.try_acquire(t0 + ms(1)));
        assert!(!p.try_acquire(t0 + ms(1)));
    }

    #[test]
    fn fractional_interval_is_exact() {
        // 3 pps: interval 333_333_333.33 ns; after 3 s exactly 9 more packets.
        let t0 = Instant::now();
        let mut p = Pacer::new(3, 1).unwrap();
        assert!(p.try_acquire(t0));
        let mut sent = 0;
        let mut t = t0;
        while t <= t0 + Duration::from_secs(3) {
            t = p.next_ready(t);
            if t > t0 + Duration::from_secs(3) {
                break;
            }
            assert!(p.try_acquire(t));
            sent += 1;
        }
        assert_eq!(sent, 9);
    }

    #[test]
    fn window_bound_holds_at_high_rate() {
        let t0 = Instant::now();
        let rate = 200_000;
        let burst = Pacer::default_burst(rate);
        let mut p = Pacer::new(rate, burst).unwrap();
        // poll every 100 us for two seconds, draining whatever is allowed
        let mut per_sec = [0u32; 2];
        for step in 0..20_000u64 {
            let now = t0 + Duration::from_micros(step * 100);
            while p.try_acquire(now) {
                per_sec[(step / 10_000) as usize] += 1;
            }
        }
        assert!(per_sec[0] <= rate + burst, "{per_sec:?}");
        assert!(per_sec[1] <= rate + burst, "{per_sec:?}");
        assert!(per_sec[1] >= rate - 20, "{per_sec:?}");
    }

    #[test]
    fn late_wakeups_keep_the_average_with_the_default_burst() {
        // A sender that sleeps until next_ready and wakes 1 ms late each time.
        let sent_in_ten_seconds = |burst: u32| {
            let t0 = Instant::now();
            let mut p = Pacer::new(100, burst).unwrap();
            let end = t0 + Duration::from_secs(10);
            let (mut t, mut sent) = (t0, 0u32);
            while t < end {
                if p.try_acquire(t) {
                    sent += 1;
                } else {
                    t = p.next_ready(t) + ms(1);
                }
            }
            sent
        };
        let strict = sent_in_ten_seconds(1);
        let default = sent_in_ten_seconds(Pacer::default_burst(100));
        assert!(
            strict < 950,
            "burst 1 loses the late part of every interval: {strict}"
        );
        assert!((999..=1002).contains(&default), "{default}");
    }

    #[test]
    fn set_rate_keeps_debt() {
        let t0 = Instant::now();
        let mut p = Pacer::new(10, 1).unwrap();
        assert!(p.try_acquire(t0));
        assert_eq!(p.next_ready(t0), t0 + ms(100));
        p.set_rate(100, 1).unwrap();
        assert_eq!(p.next_ready(t0), t0 + ms(100));
        assert!(p.try_acquire(t0 + ms(100)));
        assert_eq!(p.next_ready(t0 + ms(100)), t0 + ms(110));
    }
}
