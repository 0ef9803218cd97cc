//! Source address selection: which local address the kernel would use towards a destination.
//!
//! A UDP socket is `connect`ed to the destination (which only looks up the route and picks a
//! source; no packet is sent) and `getsockname` reads the chosen address back.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use crate::Family;
use crate::error::{Error, Result, SocketKind};

/// The port used for the route lookup; any non-zero port works, nothing is sent to it.
const LOOKUP_PORT: u16 = 33434;

/// The local address the kernel would put in the source field of a packet to `dst`.
///
/// For a link-local IPv6 destination use [`source_address_scoped`] with its interface.
/// Fails with `ENETUNREACH` when there is no route.
pub fn source_address(dst: IpAddr) -> Result<IpAddr> {
    source_address_scoped(dst, 0)
}

/// Like [`source_address`], with the IPv6 scope (interface index) of a link-local `dst`.
pub fn source_address_scoped(dst: IpAddr, scope_id: u32) -> Result<IpAddr> {
    let family = Family::of(dst);
    let kind = SocketKind::Route(family);
    let (bind, target) = match dst {
        IpAddr::V4(a) => (
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            SocketAddr::from((a, LOOKUP_PORT)),
        ),
        IpAddr::V6(a) => (
            SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
            SocketAddr::V6(std::net::SocketAddrV6::new(a, LOOKUP_PORT, 0, scope_id)),
        ),
    };
    let sock = UdpSocket::bind(bind).map_err(|e| Error::socket("bind", kind, None, e))?;
    sock.connect(target)
        .map_err(|e| Error::socket("connect", kind, Some(dst), e))?;
    let local = sock
        .local_addr()
        .map_err(|e| Error::socket("getsockname", kind, Some(dst), e))?;
    Ok(local.ip())
}

/// Whether `addr` is one of this host's addresses (in the calling thread's network
/// namespace): a UDP socket can bind to it. The probe uses it to tell a spoofed source from
/// its own. The unspecified address counts as local (the kernel fills in a real source).
pub fn is_local_address(addr: IpAddr) -> bool {
    if addr.is_unspecified() {
        return true;
    }
    UdpSocket::bind(SocketAddr::from((addr, 0))).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_local_and_documentation_space_is_not() {
        assert!(is_local_address(IpAddr::from(Ipv4Addr::LOCALHOST)));
        assert!(is_local_address(IpAddr::from(Ipv4Addr::UNSPECIFIED)));
        assert!(!is_local_address(IpAddr::from(Ipv4Addr::new(
            192, 0, 2, 77
        ))));
        let doc = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x77);
        assert!(!is_local_address(IpAddr::from(doc)));
    }
}
