//! The Rust client library of Vantage: reach probes through the controller's
//! mux socket ([`MuxClient`]) or a probe's own control socket
//! ([`ControlClient`]), send measurement commands and get their results back as
//! [`vantage_model::Record`]s.
//!
//! # What this crate is
//! - [`MuxClient`]: connects to the mux socket, lists VPs with their metadata
//!   ([`VpInfo`]), reports arrivals, metadata updates and departures
//!   ([`VpEvent`]), and opens a [`Channel`] to any VP.
//! - [`ControlClient`]: attaches to a probe's control socket (unix path or
//!   loopback TCP port) and offers the same [`Channel`].
//! - [`Channel`]: `send(command) -> TaskId` (or non-blocking `submit`), `halt`,
//!   `done`, and results consumed one of three ways: blocking
//!   [`Channel::next_result`] with a timeout, non-blocking [`Channel::poll`],
//!   or the async [`Channel::results`] stream. [`Channel::next_event`] and
//!   [`Channel::events`] also show `MORE`, acceptances and list/cycle records.
//!
//! # Failure semantics
//! Every task ends exactly once, with a result or a [`TaskFailure`]:
//! - the probe refuses the command: [`TaskError::Rejected`] with its reason;
//! - the VP leaves and does not return within the controller's grace period:
//!   the controller announces its departure, and every task pending on it fails
//!   with [`ChannelEnd::VpDeparted`] (the reference leaves such tasks pending forever);
//! - the controller (or the probe's control socket) goes away: every VP departs
//!   and every pending task fails with [`ChannelEnd::ConnectionLost`];
//! - a VP whose link drops and resumes within the grace period loses nothing:
//!   the controller and the VP retransmit, so results measured meanwhile are
//!   delivered exactly once.
//!
//! # What this crate is not
//! It parses no measurement options (the probe does, and its `ERR` text comes
//! back as the failure) and it does no framing of its own: `vantage-proto` does
//! the mux and control protocols, `vantage-warts` decodes the results. It uses
//! two plain threads per connection (a reader and a writer) and no async
//! runtime, so it works the same from sync code, any executor and Python.
//!
//! All handle types are `Send + Sync` and cheap to clone.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod chan;
mod channel;
mod conn;
mod control;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod mux;

pub use chan::{Event, Outcome, TaskFailure, TaskResult, Ticket};
pub use channel::{Channel, DEFAULT_REPLY_TIMEOUT, EventStream, ResultStream, SendFuture};
pub use control::{ControlClient, DEFAULT_ATTACH_TIMEOUT};
pub use error::{ChannelEnd, Error, TaskError};
pub use mux::{DEFAULT_GREETING_TIMEOUT, MuxClient, VpEvent, VpEventStream};
pub use vantage_model::Record;
pub use vantage_proto::control::TaskId;
pub use vantage_proto::mux::{VpId, VpInfo};
