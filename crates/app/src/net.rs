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

/// Lowers the socket's TTL (IPv4) or unicast hop limit (IPv6) to `max` when its default
/// is higher; `None` leaves the system default.
fn cap_ttl(s: &Socket, v4: bool, max: Option<u8>) -> std::io::Result<()> {
    let Some(max) = max else { return Ok(()) };
    let max = u32::from(max);
    if v4 {
        if s.ttl_v4()? > max {
            s.set_ttl_v4(max)?;
        }
    } else if s.unicast_hops_v6()? > max {
        s.set_unicast_hops_v6(max)?;
    }
    Ok(())
}

/// A UDP socket bound to `src` (or any address) port `sport` (0 = any), its TTL / hop
/// limit capped at `max_ttl`.
pub(crate) fn udp_bound(
    src: Option<IpAddr>,
    sport: u16,
    family_of: IpAddr,
    max_ttl: Option<u8>,
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
    cap_ttl(&s, family_of.is_ipv4(), max_ttl).map_err(sock_err)?;
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
    max_ttl: Option<u8>,
) -> Result<UdpSocket, NetError> {
    let s = udp_bound(src, 0, dst.ip(), max_ttl)?;
    s.connect(dst)
        .await
        .map_err(|source| NetError::Connect { addr: dst, source })?;
    Ok(s)
}

/// A TCP connection from `src` (or any address) to `dst`, with TCP_NODELAY, its TTL / hop
/// limit capped at `max_ttl`.
pub(crate) async fn tcp_connect(
    src: Option<IpAddr>,
    dst: SocketAddr,
    max_ttl: Option<u8>,
) -> Result<TcpStream, NetError> {
    let sock_err = |source| NetError::Socket {
        what: "TCP",
        source,
    };
    let domain = if dst.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let raw = Socket::new(domain, Type::STREAM, Some(Protocol::TCP)).map_err(sock_err)?;
    raw.set_nonblocking(true).map_err(sock_err)?;
    cap_ttl(&raw, dst.is_ipv4(), max_ttl).map_err(sock_err)?;
    let s = TcpSocket::from_std_stream(std::net::TcpStream::from(raw));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ttl_of(s: &UdpSocket, v4: bool) -> u32 {
        let s = socket2::SockRef::from(s);
        if v4 {
            s.ttl_v4().unwrap()
        } else {
            s.unicast_hops_v6().unwrap()
        }
    }

    /// `max_ttl` lowers the TTL / hop limit of new sockets, never raises it.
    #[tokio::test]
    async fn ttl_is_capped() {
        let lo4: IpAddr = "127.0.0.1".parse().unwrap();
        let lo6: IpAddr = "::1".parse().unwrap();
        let s = udp_bound(None, 0, lo4, Some(3)).unwrap();
        assert_eq!(ttl_of(&s, true), 3);
        let s = udp_bound(None, 0, lo4, None).unwrap();
        let default = ttl_of(&s, true);
        assert!(default > 3);
        let s = udp_bound(None, 0, lo4, Some(255)).unwrap();
        assert_eq!(ttl_of(&s, true), default, "a high cap keeps the default");
        if let Ok(s) = udp_bound(None, 0, lo6, Some(2)) {
            assert_eq!(ttl_of(&s, false), 2);
        }
        // TCP: connect to a listener on loopback; the connected socket keeps the cap.
        let l = std::net::TcpListener::bind((lo4, 0)).unwrap();
        let t = tcp_connect(None, l.local_addr().unwrap(), Some(4))
            .await
            .unwrap();
        assert_eq!(t.ttl().unwrap(), 4);
    }
}
