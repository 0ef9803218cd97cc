//! How a prober is set up: its packet rate, batch sizes and socket buffers.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use vantage_engine::MAX_RATE;

use crate::error::ConfigError;

/// The packet rate a prober uses unless told otherwise, as scamper's default.
pub const DEFAULT_PPS: u32 = 100;

/// Bytes of receive buffer the kernel charges for one small reply (its `truesize`: the
/// packet, the socket-buffer head and allocation slack), rounded up.
const BYTES_PER_QUEUED_REPLY: usize = 1280;

/// How long the event loop may be away from a socket, at the full rate, without a reply
/// being dropped: the receive buffer holds this many seconds' worth (1 / `QUEUE_SECONDS_INV`).
const QUEUE_SECONDS_INV: usize = 4;

/// Smallest and largest receive buffers sized from the rate.
const MIN_RECV_BUFFER: usize = 4 << 20;
const MAX_RECV_BUFFER: usize = 256 << 20;

/// Settings of a [`Prober`](crate::Prober).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProberConfig {
    /// Packets per second for all tasks together (default [`DEFAULT_PPS`], at most
    /// [`vantage_engine::MAX_RATE`]).
    pub pps: u32,
    /// Largest burst the pacer lets out after an idle period; 0 picks 10 ms worth.
    pub burst: u32,
    /// Seed for identifier pools and TCP sequence numbers; `None` draws one from the OS.
    pub seed: Option<u64>,
    /// The process id command defaults are derived from (default source port, ICMP id).
    pub pid: u32,
    /// Receive buffer per socket in bytes; `None` sizes it from `pps` (see
    /// [`ProberConfig::recv_buffer_bytes`]).
    pub recv_buffer: Option<usize>,
    /// Send buffer per socket in bytes.
    pub send_buffer: usize,
    /// Most packets handed to one send system call (`sendmmsg`; 1 to 1024).
    ///
    /// Every packet of a call gets the time read right before the call as its transmit
    /// time (scamper reads the clock before each `sendto`). With 1 (the default) that is
    /// exact; with more, fewer system calls are made and the round-trip times of the later
    /// packets of a call are overestimated by up to the call's duration (never
    /// underestimated).
    pub send_batch: usize,
    /// Most packets taken by one `recvmmsg` call (1 to 1024).
    pub recv_batch: usize,
    /// Bytes kept of each received packet; longer ones are cut (ICMP errors quote at most
    /// 576 bytes over IPv4 and 1280 over IPv6).
    pub recv_slot: usize,
    /// Most tasks running at once (0, the default: no limit). Commands beyond it wait in
    /// order for a free slot; `set window N` on the control socket changes it.
    pub window: u32,
}

impl Default for ProberConfig {
    fn default() -> Self {
        Self {
            pps: DEFAULT_PPS,
            burst: 0,
            seed: None,
            pid: std::process::id(),
            recv_buffer: None,
            send_buffer: 4 << 20,
            send_batch: 1,
            recv_batch: 64,
            recv_slot: 2048,
            window: 0,
        }
    }
}

impl ProberConfig {
    /// The default settings with a packet rate of `pps`.
    #[must_use]
    pub fn with_pps(pps: u32) -> Self {
        Self {
            pps,
            ..Self::default()
        }
    }

    /// Checks every value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_pps(self.pps)?;
        if !(1..=vantage_sys::send::MAX_BATCH).contains(&self.send_batch) {
            return Err(ConfigError::Batch {
                what: "send",
                value: self.send_batch,
            });
        }
        if !(1..=vantage_sys::send::MAX_BATCH).contains(&self.recv_batch) {
            return Err(ConfigError::Batch {
                what: "receive",
                value: self.recv_batch,
            });
        }
        if !(1280..=65_535 + 40).contains(&self.recv_slot) {
            return Err(ConfigError::RecvSlot(self.recv_slot));
        }
        Ok(())
    }

    /// The receive buffer each socket asks for: the configured one, or a quarter of a
    /// second of replies at the full rate (at least 4 MiB, at most 256 MiB).
    pub fn recv_buffer_bytes(&self) -> usize {
        self.recv_buffer
            .unwrap_or_else(|| recv_buffer_for(self.pps))
    }

    /// The seed to use: the configured one or a fresh random one.
    pub(crate) fn seed_value(&self) -> u64 {
        self.seed.unwrap_or_else(random_seed)
    }
}

/// The receive buffer sized for `pps` packets per second (see
/// [`ProberConfig::recv_buffer_bytes`]).
pub fn recv_buffer_for(pps: u32) -> usize {
    (pps as usize)
        .saturating_mul(BYTES_PER_QUEUED_REPLY)
        .div_ceil(QUEUE_SECONDS_INV)
        .clamp(MIN_RECV_BUFFER, MAX_RECV_BUFFER)
}

/// Checks a packet rate.
pub(crate) fn check_pps(pps: u32) -> Result<(), ConfigError> {
    if (1..=MAX_RATE).contains(&pps) {
        Ok(())
    } else {
        Err(ConfigError::Pps(pps))
    }
}

/// A seed from the standard library's per-process random hasher keys.
fn random_seed() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_grow_with_the_rate_within_bounds() {
        assert_eq!(recv_buffer_for(100), MIN_RECV_BUFFER);
        assert_eq!(recv_buffer_for(100_000), 32_000_000);
        assert!(recv_buffer_for(200_000) > recv_buffer_for(100_000));
        assert_eq!(recv_buffer_for(MAX_RATE), MAX_RECV_BUFFER);
        let c = ProberConfig {
            recv_buffer: Some(12345),
            ..ProberConfig::default()
        };
        assert_eq!(c.recv_buffer_bytes(), 12345);
    }

    #[test]
    fn validation_names_the_bad_value() {
        assert!(ProberConfig::default().validate().is_ok());
        let e = ProberConfig::with_pps(0).validate().unwrap_err();
        assert!(e.to_string().contains("0 pps"), "{e}");
        let e = ProberConfig {
            send_batch: 0,
            ..ProberConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("send batch"), "{e}");
        let e = ProberConfig {
            recv_slot: 100,
            ..ProberConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("100"), "{e}");
        assert_ne!(ProberConfig::default().seed_value(), 0);
    }
}
