//! Errors of the client library, and why a channel or a task ended.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;
use vantage_proto::control;
use vantage_proto::mux::{self, VpId};

/// Errors returned by [`crate::MuxClient`], [`crate::ControlClient`] and
/// [`crate::Channel`] calls.
#[derive(Debug, Error)]
pub enum Error {
    /// The mux socket path does not exist.
    #[error(
        "no mux socket at {}: is the controller running, and is this its --mux path?",
        path.display()
    )]
    MuxNotFound {
        /// The path tried.
        path: PathBuf,
    },
    /// A probe control-socket path does not exist.
    #[error(
        "no control socket at {}: is the probe running, and is this its control-socket path?",
        path.display()
    )]
    ControlSocketNotFound {
        /// The path tried.
        path: PathBuf,
    },
    /// A unix socket exists but is not accessible to this user.
    #[error(
        "permission denied on {}: the socket's owner and group decide who may use it; ask the operator to add you to its group",
        path.display()
    )]
    PermissionDenied {
        /// The path tried.
        path: PathBuf,
    },
    /// A unix socket file exists but no process listens on it.
    #[error("nothing is listening on {} (a stale socket file left by a process that died?)", path.display())]
    NotListening {
        /// The path tried.
        path: PathBuf,
    },
    /// Any other failure to connect.
    #[error("cannot connect to {what}: {source}")]
    Connect {
        /// What was being connected to (a path or an address).
        what: String,
        /// The system error.
        source: io::Error,
    },
    /// The peer did not finish its greeting (the mux's VP list and GO, or the
    /// probe's answer to `attach`) in time.
    #[error(
        "{what} did not finish its greeting within {timeout:?}; is it a Vantage controller or probe?"
    )]
    GreetingTimeout {
        /// What was being connected to.
        what: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// Reading or writing the socket failed.
    #[error("I/O error on {what}: {source}")]
    Io {
        /// What was being read or written.
        what: String,
        /// The system error.
        source: io::Error,
    },
    /// The mux peer broke the mux protocol.
    #[error("mux protocol error: {0}")]
    Mux(#[from] mux::Error),
    /// The probe broke the control protocol (or answered `attach` with an error).
    #[error("control protocol error: {0}")]
    Control(#[from] control::Error),
    /// The probe refused `attach`.
    #[error("the probe refused `attach`: {0}")]
    AttachRefused(String),
    /// No VP with this id is known to the controller (it may have departed).
    #[error("no VP with id {0} is connected to the controller")]
    UnknownVp(VpId),
    /// A measurement command that cannot be sent (not one printable line
    /// starting with a measurement keyword).
    #[error("invalid command {command:?}: {source}")]
    InvalidCommand {
        /// The command text.
        command: String,
        /// What is wrong.
        source: control::Error,
    },
    /// The probe answered `ERR` to a request.
    #[error("the probe refused {request:?}: {text}")]
    Refused {
        /// The request line.
        request: String,
        /// The probe's reason.
        text: String,
    },
    /// The channel is over; nothing more can be sent on it.
    #[error("the channel has ended: {0}")]
    ChannelEnded(ChannelEnd),
    /// `done` was already sent on this channel.
    #[error("`done` was already sent on this channel; open a new one to send more commands")]
    DoneSent,
    /// No reply came within the time allowed.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
}

/// Why a channel ended. Every task still pending on the channel ends with
/// [`TaskError::Ended`] carrying the same reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChannelEnd {
    /// `done` was sent and the probe closed the channel after its last result.
    Finished,
    /// The probe (or the VP) closed the channel without `done` having been sent.
    ClosedByPeer,
    /// The VP left the controller and did not come back within the controller's
    /// grace period.
    VpDeparted,
    /// The connection to the controller (or to the probe's control socket) was lost.
    ConnectionLost(String),
    /// The peer broke the control protocol; the channel was abandoned.
    Protocol(String),
    /// This client closed the connection.
    ClosedByClient,
}

impl fmt::Display for ChannelEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Finished => f.write_str("finished after `done`"),
            Self::ClosedByPeer => f.write_str("closed by the probe"),
            Self::VpDeparted => {
                f.write_str("the VP left the controller and did not return within the grace period")
            }
            Self::ConnectionLost(why) => write!(f, "connection lost: {why}"),
            Self::Protocol(why) => write!(f, "protocol error: {why}"),
            Self::ClosedByClient => f.write_str("closed by this client"),
        }
    }
}

/// Why a task ended without a (final) result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskError {
    /// The probe refused the command (`ERR ...`); the text is its reason.
    Rejected(String),
    /// The channel ended before the task's result arrived.
    Ended(ChannelEnd),
    /// The task's result arrived but could not be decoded.
    Undecodable(String),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(t) => write!(f, "command refused: {t}"),
            Self::Ended(e) => write!(f, "no result: the channel ended ({e})"),
            Self::Undecodable(e) => write!(f, "the result could not be decoded: {e}"),
        }
    }
}

impl std::error::Error for TaskError {}

/// Maps a failed unix-socket connect to an error naming the path.
pub(crate) fn unix_connect_error(path: PathBuf, e: io::Error, mux: bool) -> Error {
    match e.kind() {
        io::ErrorKind::NotFound if mux => Error::MuxNotFound { path },
        io::ErrorKind::NotFound => Error::ControlSocketNotFound { path },
        io::ErrorKind::PermissionDenied => Error::PermissionDenied { path },
        io::ErrorKind::ConnectionRefused => Error::NotListening { path },
        _ => Error::Connect {
            what: path.display().to_string(),
            source: e,
        },
    }
}
