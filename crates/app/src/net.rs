//! Socket setup shared by the measurements: bind the source address, connect, and say
//! which step failed on which address.

use std::net::{IpAddr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

/// Why a socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Creating or configuring the socket failed.
    #[error("cannot create a {what} socket: {source}")]
    Socket {
        /// `UDP` or `TCP`.
        what: &'static str,
        /// The system error.
        source: std::io::Error,
    },
    /// Binding the source address failed.
    #[error("cannot bind source address {addr}: {source} (is it configured on this host?)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The system error.
        source: std::io::Error,
    },
    /// Connecting failed.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The destination.
        addr: SocketAddr,
        /// The system error.
        source: std::io::Error,
    },
}

fn unspecified(like: IpAddr) -> IpAddr {
    if like.is_ipv4() {
        IpAddr::from([0u8; 4])
    } else {
        IpAddr::from([0u16; 8])
    }
}

/// A UDP socket bound to `src` (or any address) port `sport` (0 = any).
pub(crate) fn udp_bound(
    src: Option<IpAddr>,
    sport: u16,
    family_of: IpAddr,
) -> Result<UdpSocket, NetError> {
    let domain = if family_of.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let sock_err = |source| NetError::Socket {
        what: "UDP",
        source,
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).map_err(sock_err)?;
    s.set_nonblocking(true).map_err(sock_err)?;
    let local = SocketAddr::new(src.unwrap_or_else(|| unspecified(family_of)), sport);
    s.bind(&local.into()).map_err(|source| NetError::Bind {
        addr: local,
        source,
    })?;
    UdpSocket::from_std(s.into()).map_err(sock_err)
}

/// A UDP socket bound to `src` and connected to `dst` (so the kernel drops datagrams from
/// anyone else and reports ICMP port unreachable as ECONNREFUSED).
pub(crate) async fn udp_connected(
    src: Option<IpAddr>,
    dst: SocketAddr,
) -> Result<UdpSocket, NetError> {
    let s = udp_bound(src, 0, dst.ip())?;
    s.connect(dst)
        .await
        .map_err(|source| NetError::Connect { addr: dst, source })?;
    Ok(s)
}

/// A TCP connection from `src` (or any address) to `dst`, with TCP_NODELAY.
pub(crate) async fn tcp_connect(
    src: Option<IpAddr>,
    dst: SocketAddr,
) -> Result<TcpStream, NetError> {
    let sock_err = |source| NetError::Socket {
        what: "TCP",
        source,
    };
    let s = if dst.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(sock_err)?;
    if let Some(a) = src {
        let local = SocketAddr::new(a, 0);
        s.bind(local).map_err(|source| NetError::Bind {
            addr: local,
            source,
        })?;
    }
    let stream = s
        .connect(dst)
        .await
        .map_err(|source| NetError::Connect { addr: dst, source })?;
    stream.set_nodelay(true).map_err(sock_err)?;
    Ok(stream)
}
