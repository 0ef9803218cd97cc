//! What a measurement needs from the probe that runs it: addresses, the default resolver,
//! the shared packet budget and the wall clock.

use std::future::Future;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use vantage_model::Timestamp;

/// The probe's shared packets-per-second budget, seen from a measurement.
///
/// Every packet (datagram, TCP connection attempt) a measurement sends first waits for
/// `permit()`. The probe implements this with its one pacer so that DNS, HTTP and UDP
/// probes share the budget with ping and traceroute; tests use [`NoPacing`].
pub trait Pacing: Send + Sync {
    /// Resolves when the next packet may leave.
    fn permit(&self) -> impl Future<Output = ()> + Send;
}

/// A [`Pacing`] that never waits.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPacing;

impl Pacing for NoPacing {
    async fn permit(&self) {}
}

/// The wall clock that result timestamps come from.
///
/// Measurements read it once at their start and derive every later timestamp from the
/// monotonic clock (tokio's `Instant`), so a clock step during a measurement cannot make an
/// RTT negative, and tests that pause tokio's time get exact, repeatable timestamps.
pub trait WallClock: Send + Sync {
    /// Now, since the Unix epoch.
    fn now(&self) -> SystemTime;
}

/// The system's real-time clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock stuck at one instant (for tests and reproducible examples).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub SystemTime);

impl WallClock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// The environment measurements run in.
///
/// ```
/// use vantage_app::{AppEnv, NoPacing};
///
/// let env = AppEnv::new(NoPacing).with_resolver(Some("192.0.2.53".parse()?));
/// assert_eq!(env.resolver, Some("192.0.2.53".parse()?));
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Clone)]
pub struct AppEnv<P: Pacing = NoPacing> {
    /// The source address to bind (per family); `None` lets the kernel choose.
    pub src_v4: Option<IpAddr>,
    /// The IPv6 source address to bind; `None` lets the kernel choose.
    pub src_v6: Option<IpAddr>,
    /// The VP's default resolver: where `host` goes without `-s`.
    pub resolver: Option<IpAddr>,
    /// The shared packet budget.
    pub pacer: P,
    /// Where result timestamps come from.
    pub clock: Arc<dyn WallClock>,
    /// Trust roots for HTTPS certificate checks (default: the Mozilla roots of
    /// `webpki-roots`). The verdict is recorded; the chain is recorded either way.
    pub roots: Arc<rustls::RootCertStore>,
    /// The largest TTL (IPv4) or hop limit (IPv6) the measurement's sockets may use: their
    /// system default is lowered to it when higher (the VP policy's `options.max_ttl`).
    /// `None` keeps the system default.
    pub max_ttl: Option<u8>,
}

impl<P: Pacing> std::fmt::Debug for AppEnv<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppEnv")
            .field("src_v4", &self.src_v4)
            .field("src_v6", &self.src_v6)
            .field("resolver", &self.resolver)
            .field("roots", &self.roots.len())
            .field("max_ttl", &self.max_ttl)
            .finish_non_exhaustive()
    }
}

impl<P: Pacing> AppEnv<P> {
    /// An environment with the given pacer, the system clock, the Mozilla trust roots, no
    /// source addresses and no resolver (see [`AppEnv::with_system_resolver`]).
    pub fn new(pacer: P) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Self {
            src_v4: None,
            src_v6: None,
            resolver: None,
            pacer,
            clock: Arc::new(SystemClock),
            roots: Arc::new(roots),
            max_ttl: None,
        }
    }

    /// The same environment with the sockets' TTL / hop limit capped at `max_ttl`.
    #[must_use]
    pub fn with_max_ttl(mut self, max_ttl: Option<u8>) -> Self {
        self.max_ttl = max_ttl;
        self
    }

    /// The same environment with this default resolver.
    #[must_use]
    pub fn with_resolver(mut self, resolver: Option<IpAddr>) -> Self {
        self.resolver = resolver;
        self
    }

    /// The same environment with the first nameserver of `/etc/resolv.conf` as the default
    /// resolver (none if the file is missing or names none).
    #[must_use]
    pub fn with_system_resolver(self) -> Self {
        let r = system_resolver(Path::new("/etc/resolv.conf"));
        self.with_resolver(r)
    }

    /// The same environment binding `src` for its family.
    #[must_use]
    pub fn with_source(mut self, src: IpAddr) -> Self {
        if src.is_ipv4() {
            self.src_v4 = Some(src);
        } else {
            self.src_v6 = Some(src);
        }
        self
    }

    /// The same environment with another wall clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn WallClock>) -> Self {
        self.clock = clock;
        self
    }

    /// The same environment with other trust roots.
    #[must_use]
    pub fn with_roots(mut self, roots: rustls::RootCertStore) -> Self {
        self.roots = Arc::new(roots);
        self
    }

    /// The source address to bind when talking to `dst`, if one is configured.
    pub fn source_for(&self, dst: IpAddr) -> Option<IpAddr> {
        if dst.is_ipv4() {
            self.src_v4
        } else {
            self.src_v6
        }
    }
}

/// The nameservers listed in resolv.conf text, in order (`nameserver ADDR` lines; comments
/// with `#` or `;`; an IPv6 zone suffix `%eth0` is dropped).
pub fn parse_resolv_conf(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|line| {
            let line = line.split(['#', ';']).next().unwrap_or_default();
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next())
                .flatten()
                .and_then(|a| a.split('%').next())
                .and_then(|a| a.parse().ok())
        })
        .collect()
}

/// The first nameserver of a resolv.conf file, if it can be read and names one.
pub fn system_resolver(path: &Path) -> Option<IpAddr> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_resolv_conf(&text).into_iter().next()
}

/// Converts monotonic instants into wall-clock timestamps anchored at the measurement's
/// start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamper {
    wall: SystemTime,
    mono: tokio::time::Instant,
}

impl Stamper {
    pub(crate) fn start(clock: &dyn WallClock) -> Self {
        Self {
            wall: clock.now(),
            mono: tokio::time::Instant::now(),
        }
    }

    /// The measurement's start time.
    pub(crate) fn start_ts(&self) -> Timestamp {
        Timestamp::from_system_time(self.wall)
    }

    /// The timestamp of monotonic instant `t`.
    pub(crate) fn at(&self, t: tokio::time::Instant) -> Timestamp {
        Timestamp::from_system_time(self.wall + t.saturating_duration_since(self.mono))
    }

    /// The timestamp of now.
    pub(crate) fn now(&self) -> Timestamp {
        self.at(tokio::time::Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf() {
        let text = "# comment\nsearch example\nnameserver 192.0.2.1 # main\n\
                    nameserver fe80::1%eth0\nnameserver bogus\n;nameserver 192.0.2.9\n\
                    nameserver\tfd00::53\n";
        let got = parse_resolv_conf(text);
        let want: Vec<IpAddr> = ["192.0.2.1", "fe80::1", "fd00::53"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(got, want);
        assert!(parse_resolv_conf("").is_empty());
        assert_eq!(system_resolver(Path::new("/nonexistent/resolv.conf")), None);
    }

    #[test]
    fn sources_per_family() {
        let env = AppEnv::new(NoPacing)
            .with_source("192.0.2.1".parse().unwrap())
            .with_source("2001:db8::1".parse().unwrap());
        assert_eq!(
            env.source_for("198.51.100.1".parse().unwrap()),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            env.source_for("2001:db8::2".parse().unwrap()),
            Some("2001:db8::1".parse().unwrap())
        );
    }
}
