//! Sending complete IP packets built by the caller.
//!
//! A [`SendSocket`] is a header-included raw socket (`SOCK_RAW`/`IPPROTO_RAW`): the caller
//! builds the whole packet, IP header included, for any protocol (ICMP, UDP, TCP, with IP
//! options or IPv6 extension headers). The destination is read from the packet's header.
//!
//! What the Linux kernel still changes in a header-included packet:
//! - IPv4: it always writes the total length and the header checksum; it fills in the
//!   identification if it is 0 and the source address if it is 0.0.0.0. Everything else (TTL,
//!   TOS, flags, options) goes out as given. It never fragments: a packet larger than the
//!   interface MTU fails with `EMSGSIZE`.
//! - IPv6: it changes nothing. Hop limit, traffic class, flow label, payload length, next
//!   header and source address go out exactly as given, so the payload length must match
//!   (receivers drop a packet whose payload length exceeds what arrived) and the source must
//!   be set (`::` goes out as `::`; use [`crate::route::source_address`]). No fragmentation
//!   either: larger than the MTU fails with `EMSGSIZE`.
//!
//! Transport checksums are the caller's job (the kernel computes none for these sockets).
//! All sockets are non-blocking: a full send buffer is an error of kind `WouldBlock`, which the
//! async wrapper in [`crate::reactor`] turns into waiting.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::SystemTime;

use socket2::{SockAddr, Socket, Type};

use crate::error::{Error, Result, SocketKind};
use crate::recv::BufferSize;
use crate::{Family, clock, recv};

/// The most packets one `sendmmsg` call takes (the kernel's `UIO_MAXIOV`); longer batches
/// are cut to this many.
pub const MAX_BATCH: usize = 1024;

/// A raw socket that sends complete IPv4 or IPv6 packets (header included).
#[derive(Debug)]
pub struct SendSocket {
    sock: Socket,
    family: Family,
}

/// The outcome of one batch send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSent {
    /// How many packets from the front of the batch the kernel accepted (at least 1).
    /// If fewer than offered, send the rest again; the next call reports why it stopped.
    pub sent: usize,
    /// `CLOCK_REALTIME` right before the system call: the transmit time of the first packet.
    pub started: SystemTime,
    /// `CLOCK_REALTIME` right after it returned: no packet left later than this.
    pub finished: SystemTime,
}

impl SendSocket {
    /// Opens a header-included raw socket for `family`. Needs root or `CAP_NET_RAW`.
    pub fn open(family: Family) -> Result<Self> {
        let kind = SocketKind::Send(family);
        let err = |call, e| Error::socket(call, kind, None, e);
        let sock = Socket::new(
            family.domain(),
            Type::RAW,
            Some(socket2::Protocol::from(libc::IPPROTO_RAW)),
        )
        .map_err(|e| err("socket", e))?;
        // IPPROTO_RAW implies header inclusion for both families on Linux; say so explicitly
        // so a kernel that disagrees fails here rather than sending doubled headers.
        match family {
            Family::V4 => sock
                .set_header_included_v4(true)
                .map_err(|e| err("setsockopt IP_HDRINCL", e))?,
            Family::V6 => sock
                .set_header_included_v6(true)
                .map_err(|e| err("setsockopt IPV6_HDRINCL", e))?,
        }
        sock.set_nonblocking(true)
            .map_err(|e| err("fcntl O_NONBLOCK", e))?;
        Ok(Self { sock, family })
    }

    /// The IP version this socket sends.
    pub fn family(&self) -> Family {
        self.family
    }

    /// What this socket is, for logs and errors.
    pub fn kind(&self) -> SocketKind {
        SocketKind::Send(self.family)
    }

    /// Sends one complete packet. Returns `CLOCK_REALTIME` read right before the system call
    /// (the transmit time, as scamper records it).
    pub fn send(&self, packet: &[u8]) -> Result<SystemTime> {
        let addr = self.destination(packet, 0)?;
        self.send_prepared(packet, &addr)
            .map_err(|e| self.send_error("sendto", packet, e))
    }

    /// Sends up to [`MAX_BATCH`] packets with one `sendmmsg` call.
    ///
    /// Every packet is checked first; a malformed one fails the whole call before anything
    /// is sent. If the kernel refuses the first packet the error names its destination;
    /// a refusal later in the batch ends it early (see [`BatchSent::sent`]).
    pub fn send_batch<P: AsRef<[u8]>>(&self, packets: &[P]) -> Result<BatchSent> {
        let addrs = self.destinations(packets)?;
        self.send_batch_prepared(packets, &addrs)
            .map_err(|e| self.batch_error(packets, e))
    }

    /// Asks for a send buffer of `bytes` (`SO_SNDBUFFORCE` when allowed, else `SO_SNDBUF`,
    /// which the kernel caps at `net.core.wmem_max`) and reports what was obtained.
    pub fn set_send_buffer(&self, bytes: usize) -> Result<BufferSize> {
        recv::set_buffer(&self.sock, self.kind(), bytes, false)
    }

    /// Sends only through the named interface (`SO_BINDTODEVICE`), or any again with `None`.
    /// Needed for link-local IPv6 destinations, whose scope the header cannot carry.
    pub fn bind_device(&self, interface: Option<&str>) -> Result<()> {
        self.sock
            .bind_device(interface.map(str::as_bytes))
            .map_err(|e| Error::socket("setsockopt SO_BINDTODEVICE", self.kind(), None, e))
    }

    /// Reads the destination address of a packet for this socket's family.
    pub(crate) fn destination(&self, packet: &[u8], index: usize) -> Result<SockAddr> {
        packet_destination(self.family, packet)
            .map(|dst| {
                SockAddr::from(match dst {
                    IpAddr::V4(a) => SocketAddr::V4(SocketAddrV4::new(a, 0)),
                    IpAddr::V6(a) => SocketAddr::V6(SocketAddrV6::new(a, 0, 0, 0)),
                })
            })
            .map_err(|reason| Error::BadPacket {
                socket: self.kind(),
                index,
                reason,
            })
    }

    /// Checks every packet of a batch and reads their destinations.
    pub(crate) fn destinations<P: AsRef<[u8]>>(&self, packets: &[P]) -> Result<Vec<SockAddr>> {
        packets
            .iter()
            .take(MAX_BATCH)
            .enumerate()
            .map(|(i, p)| self.destination(p.as_ref(), i))
            .collect()
    }

    /// `sendto` of a checked packet.
    pub(crate) fn send_prepared(&self, packet: &[u8], addr: &SockAddr) -> io::Result<SystemTime> {
        let t = clock::now();
        self.sock.send_to(packet, addr)?;
        Ok(t)
    }

    /// `sendmmsg` of checked packets.
    pub(crate) fn send_batch_prepared<P: AsRef<[u8]>>(
        &self,
        packets: &[P],
        addrs: &[SockAddr],
    ) -> io::Result<BatchSent> {
        let n = packets.len().min(addrs.len()).min(MAX_BATCH);
        if n == 0 {
            let t = clock::now();
            return Ok(BatchSent {
                sent: 0,
                started: t,
                finished: t,
            });
        }
        let mut iovs: Vec<libc::iovec> = packets[..n]
            .iter()
            .map(|p| libc::iovec {
                iov_base: p.as_ref().as_ptr().cast_mut().cast(),
                iov_len: p.as_ref().len(),
            })
            .collect();
        let mut hdrs: Vec<libc::mmsghdr> = iovs
            .iter_mut()
            .zip(addrs)
            .map(|(iov, addr)| {
                let mut hdr = zeroed_msghdr();
                hdr.msg_name = addr.as_ptr().cast_mut().cast();
                hdr.msg_namelen = addr.len();
                hdr.msg_iov = iov;
                hdr.msg_iovlen = 1;
                libc::mmsghdr {
                    msg_hdr: hdr,
                    msg_len: 0,
                }
            })
            .collect();
        let count = libc::c_uint::try_from(hdrs.len()).unwrap_or(libc::c_uint::MAX);
        let started = clock::now();
        // SAFETY: `hdrs` holds `count` initialised headers. Each points at one `iovec` in
        // `iovs` and one address in `addrs`; each `iovec` points at a packet in `packets`.
        // All of them are borrowed and outlive the call; the kernel only reads the packets
        // and addresses and writes `msg_len` inside `hdrs`.
        let rc = unsafe { libc::sendmmsg(self.sock.as_raw_fd(), hdrs.as_mut_ptr(), count, 0) };
        let finished = clock::now();
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(BatchSent {
            sent: rc as usize,
            started,
            finished,
        })
    }

    pub(crate) fn send_error(&self, call: &'static str, packet: &[u8], e: io::Error) -> Error {
        Error::socket(
            call,
            self.kind(),
            packet_destination(self.family, packet).ok(),
            e,
        )
    }

    pub(crate) fn batch_error<P: AsRef<[u8]>>(&self, packets: &[P], e: io::Error) -> Error {
        let target = packets
            .first()
            .and_then(|p| packet_destination(self.family, p.as_ref()).ok());
        Error::socket("sendmmsg", self.kind(), target, e)
    }
}

/// A `msghdr` with every field zero (null pointers, zero lengths).
pub(crate) fn zeroed_msghdr() -> libc::msghdr {
    // SAFETY: `msghdr` is a plain C struct of integers and raw pointers (plus padding on some
    // targets); all-zero bytes are a valid value for every field.
    unsafe { std::mem::zeroed() }
}

/// Reads the destination address from a complete IPv4 or IPv6 packet and checks that the
/// header is plausible for `family`.
pub fn packet_destination(family: Family, packet: &[u8]) -> Result<IpAddr, &'static str> {
    match family {
        Family::V4 => {
            let hdr: &[u8; 20] = packet
                .get(..20)
                .and_then(|h| h.try_into().ok())
                .ok_or("shorter than an IPv4 header (20 bytes)")?;
            if hdr[0] >> 4 != 4 {
                return Err("IP version is not 4");
            }
            let ihl = usize::from(hdr[0] & 0x0f) * 4;
            if ihl < 20 || ihl > packet.len() {
                return Err("IPv4 header length field is below 20 or beyond the packet");
            }
            Ok(IpAddr::V4(Ipv4Addr::new(
                hdr[16], hdr[17], hdr[18], hdr[19],
            )))
        }
        Family::V6 => {
            let hdr: &[u8; 40] = packet
                .get(..40)
                .and_then(|h| h.try_into().ok())
                .ok_or("shorter than an IPv6 header (40 bytes)")?;
            if hdr[0] >> 4 != 6 {
                return Err("IP version is not 6");
            }
            let mut dst = [0u8; 16];
            dst.copy_from_slice(&hdr[24..40]);
            Ok(IpAddr::V6(Ipv6Addr::from(dst)))
        }
    }
}

impl AsRawFd for SendSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for SendSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_from_headers() {
        let mut v4 = [0u8; 28];
        v4[0] = 0x45;
        v4[16..20].copy_from_slice(&[192, 0, 2, 9]);
        assert_eq!(
            packet_destination(Family::V4, &v4),
            Ok(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)))
        );
        assert!(packet_destination(Family::V4, &v4[..19]).is_err());
        v4[0] = 0x4f; // 60-byte header in a 28-byte packet
        assert!(packet_destination(Family::V4, &v4).is_err());
        v4[0] = 0x44;
        assert!(packet_destination(Family::V4, &v4).is_err());
        v4[0] = 0x65;
        assert!(packet_destination(Family::V4, &v4).is_err());

        let mut v6 = [0u8; 48];
        v6[0] = 0x60;
        v6[39] = 1;
        assert_eq!(
            packet_destination(Family::V6, &v6),
            Ok(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert!(packet_destination(Family::V6, &v6[..39]).is_err());
        assert!(packet_destination(Family::V4, &v6).is_err());
    }
}
