//! Application-layer measurements over the kernel's ordinary sockets: DNS (`host`),
//! HTTP(S) (`http`) and UDP probes (`udpprobe`).
//!
//! Each measurement is one async function meant to run as a task on the probe's tokio
//! runtime (current-thread or not: the futures are `Send`). It takes a validated spec from
//! `vantage-command` and an [`AppEnv`], and always returns a result, whatever the network or
//! the server does: every phase has a timeout from the spec, and errors become a stop reason
//! plus an `errmsg` a user can act on.
//!
//! | module | entry points | returns |
//! |---|---|---|
//! | [`host`] | [`host::run`] (`HostSpec`), [`host::run_request`] ([`dns::DnsRequest`]) | [`host::HostRun`]: `model::Host` (with raw bytes, RDATA and text) + full decode per attempt |
//! | [`http`] | [`http::run`] (`HttpSpec`), [`http::run_request`] ([`http::HttpRequest`]) | [`http::HttpRun`]: `model::Http` (with its TLS session) + phase times, cipher name, status |
//! | [`udpprobe`] | [`udpprobe::run`] (`UdpprobeSpec`) | [`udpprobe::UdpprobeRun`]: `model::Udpprobe` (with every reply's sender) |
//!
//! Each has a `run_until` variant taking a `halt` future: the measurement then stops with
//! `halted` and keeps what it measured (the probe's `halt` uses it).
//!
//! The pure parts have no I/O and are fuzzed: [`dns`] (query builder, response decoder that
//! never fails and keeps what it could read) and [`httprec`] (header block parsing and
//! buffer recording). [`tls`] holds the certificate verifier that records its verdict
//! instead of aborting. [`env`](mod@env) is what the probe provides: source addresses, the default
//! resolver (`/etc/resolv.conf`), the shared packet budget ([`Pacing`]: one permit per DNS query,
//! UDP probe and TCP connection attempt), the TTL cap of every socket and the wall clock.
//!
//! ```no_run
//! use vantage_app::{AppEnv, NoPacing, host};
//! use vantage_command::{Command, Context};
//!
//! # async fn demo() -> Result<(), vantage_command::CommandError> {
//! let env = AppEnv::new(NoPacing).with_system_resolver();
//! let ctx = Context::new(std::process::id()).with_nameserver(env.resolver);
//! if let Command::Host(spec) = Command::parse("host -t MX example.test", &ctx)? {
//!     let run = host::run(&spec, &env).await;
//!     println!("{}: {:?}", run.host.stop_reason, run.host.queries.first().map(|q| &q.an));
//! }
//! # Ok(())
//! # }
//! ```
//!
//! What this crate is not: no raw sockets (it runs with ordinary sockets and no privilege),
//! no scheduling or policy (the probe decides what runs and checks do-not-probe lists), no
//! codecs (results are `vantage-model` records; `vantage-warts` writes them), no resolver
//! (it asks one server one question and records what comes back) and no HTTP client library
//! (one request per measurement, no redirects, pooling or retries). See
//! `docs/measurements-app.md` for the behaviour in detail and how it differs from scamper.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod dns;
pub mod env;
#[doc(hidden)]
pub mod fuzzing;
pub mod host;
pub mod http;
pub mod httprec;
mod net;
pub mod tls;
pub mod udpprobe;

pub use env::{AppEnv, FixedClock, NoPacing, Pacing, SystemClock, WallClock};
pub use net::NetError;

#[cfg(test)]
mod corpus_tests {
    //! Replays the committed fuzz corpora through the fuzz bodies.

    use std::path::PathBuf;

    fn replay(target: &str, f: fn(&[u8])) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            f(&std::fs::read(&path).unwrap());
            n += 1;
        }
        assert!(n >= 3, "{}: only {n} inputs", dir.display());
    }

    #[test]
    fn app_dns_response_corpus() {
        replay("app_dns_response", crate::fuzzing::app_dns_response);
    }

    #[test]
    fn app_http_response_corpus() {
        replay("app_http_response", crate::fuzzing::app_http_response);
    }
}

#[cfg(test)]
mod send_tests {
    //! The probe spawns measurements as tokio tasks: their futures must be `Send`.

    use std::time::Duration;

    use vantage_command::{Command, Context};

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn measurement_futures_are_send() {
        let env = crate::AppEnv::new(crate::NoPacing);
        let ctx = Context::new(1).with_nameserver(Some([192, 0, 2, 53].into()));
        let Ok(Command::Host(h)) = Command::parse("host www.example.test", &ctx) else {
            panic!()
        };
        let Ok(Command::Http(w)) = Command::parse("http -u http://x.test/ 192.0.2.80", &ctx) else {
            panic!()
        };
        let Ok(Command::Udpprobe(u)) = Command::parse("udpprobe -d 7 -p 00 192.0.2.7", &ctx) else {
            panic!()
        };
        assert_send(&crate::host::run(&h, &env));
        assert_send(&crate::http::run(&w, &env));
        assert_send(&crate::udpprobe::run(&u, &env));
        assert_eq!(h.wait, Duration::from_secs(5));
    }
}
