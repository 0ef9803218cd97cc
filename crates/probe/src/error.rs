//! Errors of the prober layer.

use std::io;
use std::net::IpAddr;

use vantage_command::CommandError;
use vantage_engine::StartError;
use vantage_sys::SocketKind;

/// A bad prober setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The packet rate is out of range.
    #[error(
        "packet rate {0} pps is out of range: use 1 to {max} packets per second",
        max = vantage_engine::MAX_RATE
    )]
    Pps(u32),
    /// A batch size is out of range.
    #[error("{what} batch of {value} packets is out of range: use 1 to 1024")]
    Batch {
        /// `send` or `receive`.
        what: &'static str,
        /// The value given.
        value: usize,
    },
    /// The receive slot size is out of range.
    #[error("receive slot of {0} bytes is out of range: use 1280 to 65575 bytes")]
    RecvSlot(usize),
    /// The engine refused the settings.
    #[error(transparent)]
    Engine(#[from] vantage_engine::ConfigError),
}

/// Why a command could not be submitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The command line does not parse (the text is the command language's reason).
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The command parses, but this prober does not run that kind of measurement.
    #[error(
        "{0} is not supported by this prober yet (ping, trace, tracelb, host, http and udpprobe are)"
    )]
    Unsupported(&'static str),
    /// The prober has stopped.
    #[error("the prober has stopped; no more commands are accepted")]
    Closed,
    /// The VP policy refuses the command (the text names the rule: `policy: ...`).
    #[error(transparent)]
    Policy(vantage_policy::Violation),
}

/// Why a submitted task produced no measurement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// No source address could be found towards the destination.
    #[error("no source address towards {dst}: {reason}")]
    NoSource {
        /// The destination.
        dst: IpAddr,
        /// What the kernel said.
        reason: String,
    },
    /// A socket the task needs could not be opened.
    #[error("{0}")]
    Socket(String),
    /// The engine refused the measurement.
    #[error("not started: {0}")]
    Start(#[from] StartError),
    /// The prober shut down before the task could start.
    #[error("the prober shut down before the task started")]
    Shutdown,
    /// The task was halted while it waited for a free slot of the window.
    #[error("halted before it started (it was waiting for a free slot of the window)")]
    Halted,
    /// An application-layer measurement (`host`, `http`, `udpprobe`) ended without a
    /// result (it panicked: a bug).
    #[error("the {0} measurement ended without a result (a bug in Vantage; please report it)")]
    Lost(&'static str),
}

/// A failure that stops the prober as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProberError {
    /// The tokio runtime could not be built.
    #[error("cannot start the prober's event loop: {0}")]
    Runtime(#[source] io::Error),
    /// The prober thread could not be started.
    #[error("cannot start the prober thread: {0}")]
    Thread(#[source] io::Error),
    /// The prober thread panicked.
    #[error("the prober thread panicked: {0}")]
    Panicked(String),
    /// The settings are invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The message for a socket that could not be opened or set up, in the form
/// `raw IPv6 send socket: Operation not permitted -- run as root or with CAP_NET_RAW`.
pub(crate) fn socket_message(kind: SocketKind, err: &vantage_sys::Error) -> String {
    match err.raw_os_error() {
        Some(code @ (libc::EPERM | libc::EACCES)) => format!(
            "{kind}: {} -- run as root or with CAP_NET_RAW",
            os_text(code)
        ),
        Some(libc::EAFNOSUPPORT) => {
            format!("{kind}: this host has no support for this address family")
        }
        _ => format!("{kind}: {err}"),
    }
}

/// The C library's text for an errno value, without Rust's ` (os error N)` suffix.
pub(crate) fn os_text(code: i32) -> String {
    let text = io::Error::from_raw_os_error(code).to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vantage_sys::{Family, Protocol};

    #[test]
    fn permission_errors_say_what_to_do() {
        let e = vantage_sys::Error::Socket {
            call: "socket",
            socket: SocketKind::Send(Family::V6),
            target: None,
            source: io::Error::from_raw_os_error(libc::EPERM),
        };
        assert_eq!(
            socket_message(SocketKind::Send(Family::V6), &e),
            "raw IPv6 send socket: Operation not permitted -- run as root or with CAP_NET_RAW"
        );
        let e = vantage_sys::Error::Socket {
            call: "setsockopt SO_TIMESTAMPNS",
            socket: SocketKind::Recv(Family::V4, Protocol::Tcp),
            target: None,
            source: io::Error::from_raw_os_error(libc::EINVAL),
        };
        let m = socket_message(SocketKind::Recv(Family::V4, Protocol::Tcp), &e);
        assert!(m.starts_with("raw TCP/IPv4 socket: setsockopt"), "{m}");
    }
}

/// Why a policy reload ([`crate::ControlServer::reload_policy`]) left the policy in force
/// as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The file cannot be read, is not a valid policy (the message names the line and the
    /// key), or its do-not-probe list cannot be read.
    #[error(transparent)]
    Policy(#[from] vantage_policy::PolicyError),
    /// The policy's rate is one the prober cannot run at.
    #[error("the reloaded policy's rate: {0}")]
    Rate(#[from] ConfigError),
}
