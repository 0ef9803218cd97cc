//! Errors of the engine layer.

use std::net::IpAddr;

use crate::TaskId;

/// A bad engine configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The packets-per-second rate is out of range.
    #[error("packet rate {0} pps is out of range: use 1 to 10000000 packets per second")]
    Rate(u32),
    /// The burst size is zero.
    #[error("pacer burst must be at least 1 packet")]
    Burst,
}

/// Why [`Engine::start`](crate::Engine::start) refused a task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A task with this id is still running.
    #[error("task {0} is already running; wait for its result or cancel it first")]
    DuplicateTask(TaskId),
    /// Source and destination addresses are of different families.
    #[error("source address {src} and destination {dst} are not of the same address family")]
    FamilyMismatch {
        /// The source address given.
        src: IpAddr,
        /// The destination of the measurement.
        dst: IpAddr,
    },
    /// The measurement asks for a feature this engine does not implement.
    #[error("{0} is not supported by the Vantage engine yet")]
    Unsupported(&'static str),
    /// The measurement's options cannot produce a valid probe packet.
    #[error("cannot build the probe packet: {0}")]
    Probe(String),
}

/// A failed transmission, reported by the I/O shell through
/// [`Engine::on_sent`](crate::Engine::on_sent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sending the probe failed: {message} (errno {errno})")]
pub struct SendError {
    /// The OS error number (recorded as the trace stop data, like scamper).
    pub errno: i32,
    /// A human-readable description (recorded as the result's errmsg).
    pub message: String,
}

impl SendError {
    /// A send error from an errno value and a description.
    pub fn new(errno: i32, message: impl Into<String>) -> Self {
        Self {
            errno,
            message: message.into(),
        }
    }
}

impl From<&std::io::Error> for SendError {
    fn from(e: &std::io::Error) -> Self {
        Self {
            errno: e.raw_os_error().unwrap_or(0),
            message: e.to_string(),
        }
    }
}
