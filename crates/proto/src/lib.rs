//! Vantage's control-plane protocols as bytes: the probe's control socket, the
//! VP ⇄ controller remote protocol, the controller's mux protocol and the VP
//! metadata file. Everything here is compatible byte for byte with scamper,
//! sc_remoted and libscamperctrl, as described in `shared/spec/control-protocol.md`
//! and `shared/spec/remote-protocol.md`.
//!
//! # What this crate is
//! - [`control`]: the line protocol of a probe's control socket (and of every
//!   remote/mux channel): line framing, typed client requests
//!   ([`control::Request`], with the exact `ERR` texts of scamper for bad input),
//!   typed probe replies ([`control::Reply`]), the uuencoding that carries warts
//!   records ([`control::uu`]), a server-side request parser
//!   ([`control::ServerParser`]) and a client-side session
//!   ([`control::ClientSession`]) that matches replies to the commands sent.
//! - [`remote`]: the framing and messages of the VP ⇄ controller link, and one
//!   sans-IO state machine per end ([`remote::VpLink`], [`remote::ControllerLink`])
//!   that assigns sequence numbers, acknowledges, keeps the retransmission queue,
//!   resumes sessions across reconnects and keeps the keepalive/silence timers
//!   ([`remote::Timers`]); plus Vantage's VP metadata publication (the VP's
//!   policy) on a reserved channel ([`remote::VpMeta`], [`remote::META_CHANNEL`]).
//! - [`mux`]: the framing and messages of the controller's mux socket, with the
//!   VP_UPDATE attribute encoding and a typed [`mux::VpInfo`] view (with the
//!   Vantage extensions for VP policies: attribute 100 and message type 100).
//! - [`meta`]: the VP metadata file (`monitor attribute value` lines).
//!
//! # What this crate is not
//! It does no I/O and reads no clock: bytes and instants go in, bytes, frames and
//! events come out. Sockets, TLS, task scheduling and measurement-command parsing
//! belong to the probe, controller and client crates (`vantage-command` parses the
//! measurement lines that [`control::ServerParser`] hands over as text). With the
//! `tokio-codec` feature, the `codec` module adapts the decoders to `tokio_util::codec`.
//!
//! # Errors and panics
//! Every decoder returns a specific error for bad input and never panics; each
//! layer has its own error enum ([`control::Error`], [`remote::Error`],
//! [`mux::Error`], [`meta::Error`]). Decoder errors are fatal for the stream they
//! came from: after one, the decoder yields nothing more and the connection should
//! be closed.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod buf;
pub mod control;
pub mod meta;
pub mod mux;
pub mod remote;

#[cfg(feature = "tokio-codec")]
pub mod codec;

#[doc(hidden)]
pub mod fuzzing;
