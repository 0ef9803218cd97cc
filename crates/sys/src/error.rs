//! The error type of this crate: which system call failed, on which socket, for which address.

use std::fmt;
use std::io;
use std::net::IpAddr;

use crate::Family;

/// What a received or sent packet travels on, named in error messages and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketKind {
    /// The header-included raw socket that sends complete IP packets of one family.
    Send(Family),
    /// A raw socket that receives one protocol of one family.
    Recv(Family, Protocol),
    /// The UDP socket used to ask the kernel for a source address (no packet is sent).
    Route(Family),
}

/// The transport protocols a receive socket can be opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// ICMP for IPv4 sockets, ICMPv6 for IPv6 sockets.
    Icmp,
    /// TCP segments (replies to TCP probes: SYN-ACK, RST).
    Tcp,
    /// UDP datagrams (replies from open UDP ports).
    Udp,
}

impl fmt::Display for SocketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Send(Family::V4) => f.write_str("raw IPv4 send socket"),
            Self::Send(Family::V6) => f.write_str("raw IPv6 send socket"),
            Self::Recv(Family::V4, Protocol::Icmp) => f.write_str("raw ICMP socket"),
            Self::Recv(Family::V6, Protocol::Icmp) => f.write_str("raw ICMPv6 socket"),
            Self::Recv(Family::V4, Protocol::Tcp) => f.write_str("raw TCP/IPv4 socket"),
            Self::Recv(Family::V6, Protocol::Tcp) => f.write_str("raw TCP/IPv6 socket"),
            Self::Recv(Family::V4, Protocol::Udp) => f.write_str("raw UDP/IPv4 socket"),
            Self::Recv(Family::V6, Protocol::Udp) => f.write_str("raw UDP/IPv6 socket"),
            Self::Route(Family::V4) => f.write_str("IPv4 route-lookup socket"),
            Self::Route(Family::V6) => f.write_str("IPv6 route-lookup socket"),
        }
    }
}

/// Everything that can go wrong in this crate.
///
/// Messages name the system call, the socket and the address, and add a hint where the
/// cause is usually the same (for example missing privileges), e.g.
/// `sendto 192.0.2.1 on raw IPv4 send socket: Network is unreachable (os error 101) (no route to this destination)`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call on a socket failed.
    #[error("{call}{} on {socket}: {source}{}", target_text(*.target), hint(call, .source))]
    Socket {
        /// The system call (`socket`, `sendto`, `recvmmsg`, `setsockopt SO_RCVBUF`, ...).
        call: &'static str,
        /// The socket it was made on.
        socket: SocketKind,
        /// The remote address concerned, if any.
        target: Option<IpAddr>,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// The caller handed over bytes that are not a packet this socket can send.
    #[error("cannot send packet #{index} on {socket}: {reason}")]
    BadPacket {
        /// The socket it was meant for.
        socket: SocketKind,
        /// Position of the packet in the batch (0 for a single send).
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A socket could not be registered with the tokio reactor.
    #[error("registering {socket} with the tokio reactor: {source}")]
    Register {
        /// The socket.
        socket: SocketKind,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// An async wrapper was created outside a tokio runtime.
    #[error("cannot register {socket}: no tokio runtime is running on this thread")]
    NoRuntime {
        /// The socket.
        socket: SocketKind,
    },
    /// The unprivileged user to switch to does not exist.
    #[error("user {0:?} does not exist: choose an existing unprivileged account (e.g. nobody)")]
    UnknownUser(String),
    /// A step of dropping privileges failed. The process must not go on probing.
    #[error("dropping privileges: {step}: {source}")]
    Privilege {
        /// The step (`setresuid 65534`, `capset`, ...).
        step: String,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// A network-namespace operation failed.
    #[error("{call} {target}: {source}{}", ns_hint(.source))]
    Namespace {
        /// The call or command (`unshare(CLONE_NEWNET)`, `setns`, `ip netns add`, ...).
        call: &'static str,
        /// The namespace name or path concerned.
        target: String,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// The `io::ErrorKind` of the underlying failure (`Other` for non-I/O errors).
    ///
    /// `WouldBlock` means a non-blocking socket was not ready; the async wrappers in
    /// [`crate::reactor`] wait for readiness instead of returning it.
    pub fn kind(&self) -> io::ErrorKind {
        self.io_error()
            .map_or(io::ErrorKind::Other, io::Error::kind)
    }

    /// The OS error number of the underlying failure, if there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.io_error().and_then(io::Error::raw_os_error)
    }

    /// True for failures that go away by themselves: the socket was not ready (`EAGAIN`),
    /// the interface queue was full (`ENOBUFS`) or the call was interrupted (`EINTR`).
    /// A prober retries these later instead of failing the measurement.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.raw_os_error(),
            Some(libc::EAGAIN | libc::ENOBUFS | libc::EINTR)
        )
    }

    fn io_error(&self) -> Option<&io::Error> {
        match self {
            Self::Socket { source, .. }
            | Self::Register { source, .. }
            | Self::Privilege { source, .. }
            | Self::Namespace { source, .. } => Some(source),
            _ => None,
        }
    }

    pub(crate) fn socket(
        call: &'static str,
        socket: SocketKind,
        target: Option<IpAddr>,
        source: io::Error,
    ) -> Self {
        Self::Socket {
            call,
            socket,
            target,
            source,
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn target_text(target: Option<IpAddr>) -> String {
    target.map_or_else(String::new, |a| format!(" {a}"))
}

fn hint(call: &str, err: &io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) if call.starts_with("send") => {
            " (a firewall rule may reject it, or the process lacks CAP_NET_RAW)"
        }
        Some(libc::EPERM | libc::EACCES) => " (are you root or CAP_NET_RAW?)",
        Some(libc::EMSGSIZE) => " (the packet is larger than the MTU of the outgoing interface)",
        Some(libc::ENETUNREACH | libc::EHOSTUNREACH) => " (no route to this destination)",
        Some(libc::ENOBUFS) => " (the interface queue is full: send more slowly)",
        Some(libc::EADDRNOTAVAIL) => " (the source address is not configured on this host)",
        Some(libc::EINVAL) if call.starts_with("send") => {
            " (the kernel rejected the header: check version, length and header length)"
        }
        _ => "",
    }
}

fn ns_hint(err: &io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => " (network namespaces need root or CAP_SYS_ADMIN)",
        Some(libc::ENOENT) => " (no such namespace: create it with `ip netns add NAME`)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_call_address_socket_and_hint() {
        let e = Error::socket(
            "sendto",
            SocketKind::Send(Family::V4),
            Some("192.0.2.1".parse().unwrap()),
            io::Error::from_raw_os_error(libc::ENETUNREACH),
        );
        let text = e.to_string();
        assert!(
            text.starts_with("sendto 192.0.2.1 on raw IPv4 send socket: "),
            "{text}"
        );
        assert!(text.ends_with("(no route to this destination)"), "{text}");

        let e = Error::socket(
            "socket",
            SocketKind::Recv(Family::V6, Protocol::Icmp),
            None,
            io::Error::from_raw_os_error(libc::EPERM),
        );
        let text = e.to_string();
        assert!(text.starts_with("socket on raw ICMPv6 socket: "), "{text}");
        assert!(text.ends_with("(are you root or CAP_NET_RAW?)"), "{text}");
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(!e.is_transient());
    }

    #[test]
    fn transient_errors() {
        for errno in [libc::EAGAIN, libc::ENOBUFS, libc::EINTR] {
            let e = Error::socket(
                "sendmmsg",
                SocketKind::Send(Family::V6),
                None,
                io::Error::from_raw_os_error(errno),
            );
            assert!(e.is_transient(), "{e}");
        }
    }
}
