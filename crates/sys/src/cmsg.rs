//! Safe decoding of what `recvmsg`/`recvmmsg` leave beside the packet: the control messages
//! (`cmsg`s: kernel timestamp, destination address, hop limit, ...) and the source address.
//!
//! Both arrive as plain bytes in buffers this crate owns, so they are decoded here with
//! bounds-checked reads instead of the `CMSG_*` pointer macros: a malformed buffer yields
//! fewer fields, never a panic or an out-of-bounds read.

use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

use crate::clock;

/// Bytes reserved for the control messages of one received packet. The largest set this crate
/// asks for (timestamp, packet info, hop limit, traffic class, flow info, drop counter) takes
/// under 200 bytes on 64-bit Linux.
pub(crate) const CONTROL_LEN: usize = 256;

/// A control-message buffer with the alignment the kernel expects (`cmsghdr` holds a `size_t`).
#[derive(Clone)]
#[repr(C, align(8))]
pub(crate) struct ControlBuf(pub(crate) [u8; CONTROL_LEN]);

impl Default for ControlBuf {
    fn default() -> Self {
        Self([0; CONTROL_LEN])
    }
}

/// Room for any socket address (`sockaddr_storage` is 128 bytes, 8-aligned).
#[derive(Clone)]
#[repr(C, align(8))]
pub(crate) struct AddrBuf(pub(crate) [u8; 128]);

impl Default for AddrBuf {
    fn default() -> Self {
        Self([0; 128])
    }
}

const _: () = assert!(size_of::<AddrBuf>() >= size_of::<libc::sockaddr_storage>());

/// What the control messages of one packet said. Every field is optional: the kernel only
/// sends what the socket asked for, and a short buffer may have cut some off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ancillary {
    pub(crate) timestamp: Option<SystemTime>,
    pub(crate) dst: Option<IpAddr>,
    pub(crate) ifindex: Option<u32>,
    pub(crate) hop_limit: Option<u8>,
    pub(crate) traffic_class: Option<u8>,
    pub(crate) flow_label: Option<u32>,
    pub(crate) drops: Option<u32>,
}

const HDR_LEN: usize = size_of::<libc::cmsghdr>();
const ALIGN: usize = size_of::<usize>();

fn align(n: usize) -> Option<usize> {
    n.checked_add(ALIGN - 1).map(|v| v & !(ALIGN - 1))
}

fn ne_i32(b: &[u8]) -> Option<i32> {
    Some(i32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

fn ne_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

fn ne_i64(b: &[u8]) -> Option<i64> {
    Some(i64::from_ne_bytes(b.get(..8)?.try_into().ok()?))
}

fn ne_usize(b: &[u8]) -> Option<usize> {
    Some(usize::from_ne_bytes(b.get(..ALIGN)?.try_into().ok()?))
}

fn octets<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Iterates over `(level, type, data)` of each well-formed control message in `buf`.
pub(crate) fn messages(buf: &[u8]) -> impl Iterator<Item = (i32, i32, &[u8])> {
    let mut off = 0usize;
    std::iter::from_fn(move || {
        let rest = buf.get(off..)?;
        let len = ne_usize(rest)?;
        let level = ne_i32(rest.get(ALIGN..)?)?;
        let kind = ne_i32(rest.get(ALIGN + 4..)?)?;
        if len < HDR_LEN || len > rest.len() {
            return None;
        }
        let data = rest.get(HDR_LEN..len)?;
        off = off.checked_add(align(len)?)?;
        Some((level, kind, data))
    })
}

/// Decodes the control messages this crate asks for; unknown ones are skipped.
pub(crate) fn parse_control(buf: &[u8]) -> Ancillary {
    let mut out = Ancillary::default();
    for (level, kind, data) in messages(buf) {
        match (level, kind) {
            (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) => {
                // struct timespec: two longs (64-bit) or two 32-bit fields (32-bit targets).
                out.timestamp = match data.len() {
                    16.. => ne_i64(data)
                        .zip(data.get(8..).and_then(ne_i64))
                        .and_then(|(s, ns)| clock::from_timespec(s, ns)),
                    8..16 => ne_i32(data)
                        .zip(data.get(4..).and_then(ne_i32))
                        .and_then(|(s, ns)| clock::from_timespec(s.into(), ns.into())),
                    _ => None,
                };
            }
            (libc::SOL_SOCKET, libc::SO_RXQ_OVFL) => out.drops = ne_u32(data),
            (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                // struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }
                out.ifindex = ne_u32(data);
                out.dst = octets::<4>(data, 8).map(|a| IpAddr::V4(Ipv4Addr::from(a)));
            }
            (libc::IPPROTO_IP, libc::IP_TTL) => out.hop_limit = small(ne_i32(data)),
            (libc::IPPROTO_IP, libc::IP_TOS) => out.traffic_class = data.first().copied(),
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                // struct in6_pktinfo { in6_addr addr; unsigned ifindex; }
                out.dst = octets::<16>(data, 0).map(|a| IpAddr::V6(Ipv6Addr::from(a)));
                out.ifindex = data.get(16..).and_then(ne_u32);
            }
            (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => out.hop_limit = small(ne_i32(data)),
            (libc::IPPROTO_IPV6, libc::IPV6_TCLASS) => out.traffic_class = small(ne_i32(data)),
            (libc::IPPROTO_IPV6, libc::IPV6_FLOWINFO) => {
                // The first word of the IPv6 header (network order) without the version.
                out.flow_label = octets::<4>(data, 0).map(|b| u32::from_be_bytes(b) & 0x000f_ffff);
            }
            _ => {}
        }
    }
    out
}

fn small(v: Option<i32>) -> Option<u8> {
    v.and_then(|v| u8::try_from(v).ok())
}

/// Decodes an `AF_INET`/`AF_INET6` socket address: the address and, for IPv6, the scope id.
pub(crate) fn parse_sockaddr(buf: &[u8]) -> Option<(IpAddr, u32)> {
    let family = u16::from_ne_bytes(octets::<2>(buf, 0)?);
    match i32::from(family) {
        libc::AF_INET => Some((IpAddr::V4(Ipv4Addr::from(octets::<4>(buf, 4)?)), 0)),
        libc::AF_INET6 => Some((
            IpAddr::V6(Ipv6Addr::from(octets::<16>(buf, 8)?)),
            ne_u32(buf.get(24..)?)?,
        )),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    /// Builds a control buffer the way the kernel lays it out.
    pub(crate) fn build(msgs: &[(i32, i32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (level, kind, data) in msgs {
            let len = HDR_LEN + data.len();
            out.extend_from_slice(&len.to_ne_bytes());
            out.extend_from_slice(&level.to_ne_bytes());
            out.extend_from_slice(&kind.to_ne_bytes());
            out.resize(out.len() + (HDR_LEN - ALIGN - 8), 0);
            out.extend_from_slice(data);
            out.resize(align(out.len()).unwrap(), 0);
        }
        out
    }

    fn timespec(sec: i64, nsec: i64) -> Vec<u8> {
        let mut v = sec.to_ne_bytes().to_vec();
        v.extend_from_slice(&nsec.to_ne_bytes());
        v
    }

    #[test]
    fn decodes_ipv6_set() {
        let ts = timespec(1_700_000_000, 5);
        let mut pktinfo = Ipv6Addr::LOCALHOST.octets().to_vec();
        pktinfo.extend_from_slice(&1u32.to_ne_bytes());
        let flow = 0x6281_2345u32.to_be_bytes();
        let buf = build(&[
            (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS, &ts),
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &pktinfo),
            (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, &7i32.to_ne_bytes()),
            (
                libc::IPPROTO_IPV6,
                libc::IPV6_TCLASS,
                &0x28i32.to_ne_bytes(),
            ),
            (libc::IPPROTO_IPV6, libc::IPV6_FLOWINFO, &flow),
            (libc::SOL_SOCKET, libc::SO_RXQ_OVFL, &3u32.to_ne_bytes()),
            (99, 99, &[1, 2, 3]),
        ]);
        let a = parse_control(&buf);
        assert_eq!(
            a.timestamp,
            Some(SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 5))
        );
        assert_eq!(a.dst, Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(a.ifindex, Some(1));
        assert_eq!(a.hop_limit, Some(7));
        assert_eq!(a.traffic_class, Some(0x28));
        assert_eq!(a.flow_label, Some(0x1_2345));
        assert_eq!(a.drops, Some(3));
    }

    #[test]
    fn decodes_ipv4_set() {
        let mut pktinfo = 2i32.to_ne_bytes().to_vec();
        pktinfo.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 2]);
        let buf = build(&[
            (libc::IPPROTO_IP, libc::IP_PKTINFO, &pktinfo),
            (libc::IPPROTO_IP, libc::IP_TTL, &64i32.to_ne_bytes()),
            (libc::IPPROTO_IP, libc::IP_TOS, &[0xb8]),
        ]);
        let a = parse_control(&buf);
        assert_eq!(a.dst, Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))));
        assert_eq!(a.ifindex, Some(2));
        assert_eq!(a.hop_limit, Some(64));
        assert_eq!(a.traffic_class, Some(0xb8));
        assert_eq!(a.timestamp, None);
    }

    #[test]
    fn malformed_buffers_yield_nothing() {
        assert_eq!(parse_control(&[]), Ancillary::default());
        // A header claiming more bytes than there are.
        let mut buf = build(&[(libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, &7i32.to_ne_bytes())]);
        buf[0] = 200;
        assert_eq!(parse_control(&buf), Ancillary::default());
        // A header claiming fewer bytes than a header.
        buf[0] = 3;
        assert_eq!(parse_control(&buf), Ancillary::default());
        // A truncated hop limit.
        let buf = build(&[(libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, &[7])]);
        assert_eq!(parse_control(&buf).hop_limit, None);
        // An out-of-range timestamp.
        let buf = build(&[(
            libc::SOL_SOCKET,
            libc::SCM_TIMESTAMPNS,
            &timespec(1, 2_000_000_000),
        )]);
        assert_eq!(parse_control(&buf).timestamp, None);
    }

    #[test]
    fn sockaddrs() {
        let sa = socket2::SockAddr::from(std::net::SocketAddr::from(([192, 0, 2, 7], 0)));
        let bytes = sockaddr_bytes(&sa);
        assert_eq!(
            parse_sockaddr(&bytes),
            Some((IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)), 0))
        );
        let v6: std::net::SocketAddrV6 = "[fe80::1%3]:0".parse().unwrap();
        let sa = socket2::SockAddr::from(v6);
        let bytes = sockaddr_bytes(&sa);
        assert_eq!(
            parse_sockaddr(&bytes),
            Some((IpAddr::V6("fe80::1".parse().unwrap()), 3))
        );
        assert_eq!(parse_sockaddr(&[0; 4]), None);
        assert_eq!(parse_sockaddr(&bytes[..20]), None);
    }

    fn sockaddr_bytes(sa: &socket2::SockAddr) -> Vec<u8> {
        // Lay the address out the way the kernel does, from its std form.
        let mut out = vec![0u8; sa.len() as usize];
        match sa.as_socket() {
            Some(std::net::SocketAddr::V4(a)) => {
                out[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
                out[2..4].copy_from_slice(&a.port().to_be_bytes());
                out[4..8].copy_from_slice(&a.ip().octets());
            }
            Some(std::net::SocketAddr::V6(a)) => {
                out[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
                out[2..4].copy_from_slice(&a.port().to_be_bytes());
                out[4..8].copy_from_slice(&a.flowinfo().to_be_bytes());
                out[8..24].copy_from_slice(&a.ip().octets());
                out[24..28].copy_from_slice(&a.scope_id().to_ne_bytes());
            }
            None => {}
        }
        out
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_control(&bytes);
            let _ = parse_sockaddr(&bytes);
        }

        #[test]
        fn hop_limit_round_trip(hops in any::<u8>(), tclass in any::<u8>(), flow in 0u32..0x10_0000) {
            let buf = build(&[
                (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, &i32::from(hops).to_ne_bytes()),
                (libc::IPPROTO_IPV6, libc::IPV6_TCLASS, &i32::from(tclass).to_ne_bytes()),
                (libc::IPPROTO_IPV6, libc::IPV6_FLOWINFO, &flow.to_be_bytes()),
            ]);
            let a = parse_control(&buf);
            prop_assert_eq!(a.hop_limit, Some(hops));
            prop_assert_eq!(a.traffic_class, Some(tclass));
            prop_assert_eq!(a.flow_label, Some(flow));
        }
    }
}
