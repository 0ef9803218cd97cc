//! Application-layer measurements (work in progress).
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
