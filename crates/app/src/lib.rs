//! Application-layer measurements (work in progress).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod dns;
pub mod env;
pub mod host;
pub mod http;
pub mod httprec;
mod net;
pub mod tls;
pub mod udpprobe;

pub use env::{AppEnv, FixedClock, NoPacing, Pacing, SystemClock, WallClock};
pub use net::NetError;
