//! Receiving replies: raw ICMP, ICMPv6, TCP and UDP sockets with kernel timestamps.
//!
//! Each [`RecvSocket`] is a raw socket for one protocol of one family. The kernel hands it a
//! copy of every matching packet that arrives at this host (and, on loopback, of the ones it
//! sends), so the caller matches replies to its probes.
//!
//! - IPv4 sockets deliver the packet **with** its IP header.
//! - IPv6 sockets deliver it **without** the IPv6 header; the source comes from the socket
//!   address and the destination, interface, hop limit, traffic class and flow label from
//!   control messages, all in [`RecvMeta`]. (For IPv4 the same fields are filled too.)
//!
//! Every packet carries the kernel's receive time (`SO_TIMESTAMPNS`, `CLOCK_REALTIME`) and the
//! socket's cumulative drop counter (`SO_RXQ_OVFL`), so a full receive buffer shows up as a
//! number rather than as silently missing replies. [`RecvSocket::set_recv_buffer`] asks for a
//! large buffer. Sockets are non-blocking; [`crate::reactor`] adds waiting.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::SystemTime;

use socket2::{Socket, Type};

pub use socket2::SockFilter;

use crate::cmsg::{self, AddrBuf, ControlBuf};
use crate::error::{Error, Protocol, Result, SocketKind};
use crate::send::{MAX_BATCH, zeroed_msghdr};
use crate::{Family, clock, sockopt};

/// `ICMP_FILTER` (linux/icmp.h): the option of `SOL_RAW` that blocks ICMPv4 types below 32.
const ICMP_FILTER: i32 = 1;
/// `ICMP6_FILTER` (linux/icmpv6.h): the option of `IPPROTO_ICMPV6` that blocks ICMPv6 types.
const ICMP6_FILTER: i32 = 1;

/// Entries of the `SO_MEMINFO` array (linux/sock_diag.h); entry 8 is the drop counter.
const SK_MEMINFO_VARS: usize = 9;

/// A receive buffer size this crate suggests for probing at high rates. Linux charges a
/// small reply about 830 bytes of buffer (measured on loopback with kernel 6.18, see
/// `tests/throughput.rs`) and grants twice the request, so 16 MiB holds about 40,000 replies:
/// 200 ms of a 200,000 packets/s burst.
pub const SUGGESTED_RECV_BUFFER: usize = 16 << 20;

/// A raw socket that receives one protocol of one family.
#[derive(Debug)]
pub struct RecvSocket {
    sock: Socket,
    family: Family,
    protocol: Protocol,
}

/// Everything known about one received packet besides its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvMeta {
    /// Bytes of the packet in the buffer.
    pub len: usize,
    /// The packet was longer than the buffer and was cut to `len` bytes.
    pub truncated: bool,
    /// The sender's address.
    pub src: IpAddr,
    /// The packet's destination address (one of ours).
    pub dst: Option<IpAddr>,
    /// The interface it arrived on.
    pub ifindex: Option<u32>,
    /// TTL (IPv4) or hop limit (IPv6) of the packet as received.
    pub hop_limit: Option<u8>,
    /// TOS byte (IPv4) or traffic class (IPv6) as received.
    pub traffic_class: Option<u8>,
    /// IPv6 flow label (20 bits) as received.
    pub flow_label: Option<u32>,
    /// When the packet arrived: the kernel timestamp, or the time right after the receive
    /// call when the kernel gave none (see `kernel_timestamp`).
    pub timestamp: SystemTime,
    /// `timestamp` came from the kernel (`SO_TIMESTAMPNS`).
    pub kernel_timestamp: bool,
    /// Packets this socket has dropped so far because its buffer was full (`SO_RXQ_OVFL`);
    /// the kernel reports it only once the count is non-zero. Linux checks for buffer space
    /// before applying the ICMP type filter, so the count can include packets the filter
    /// would have discarded anyway.
    pub drops: Option<u32>,
}

impl Default for RecvMeta {
    fn default() -> Self {
        Self {
            len: 0,
            truncated: false,
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: None,
            ifindex: None,
            hop_limit: None,
            traffic_class: None,
            flow_label: None,
            timestamp: SystemTime::UNIX_EPOCH,
            kernel_timestamp: false,
            drops: None,
        }
    }
}

/// The buffer size a socket obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferSize {
    /// What the caller asked for, in bytes.
    pub requested: usize,
    /// What the kernel reports now (`getsockopt`). Linux doubles a request to cover its
    /// bookkeeping, so a full grant reads twice `requested`.
    pub obtained: usize,
    /// The privileged option (`SO_RCVBUFFORCE`/`SO_SNDBUFFORCE`) was used, so the
    /// `net.core.rmem_max`/`wmem_max` cap did not apply.
    pub forced: bool,
}

impl BufferSize {
    /// The kernel granted less than asked (the sysctl cap applied).
    pub fn is_capped(&self) -> bool {
        self.obtained < self.requested.saturating_mul(2)
    }
}

impl fmt::Display for BufferSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "asked {} bytes, kernel reports {} ({})",
            self.requested,
            self.obtained,
            if self.forced {
                "forced"
            } else if self.is_capped() {
                "capped by net.core sysctl: run as root or raise it"
            } else {
                "within sysctl limit"
            }
        )
    }
}

/// A snapshot of a receive socket's queue (`SO_MEMINFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Bytes of packets waiting to be read, counted as the kernel charges them (with
    /// per-packet overhead).
    pub queued_bytes: u32,
    /// The receive buffer limit those bytes count against.
    pub recv_buffer: u32,
    /// Packets dropped so far because the buffer was full (see [`RecvMeta::drops`]).
    pub drops: u32,
}

/// Which ICMP (or ICMPv6) types a receive socket lets through, applied in the kernel.
///
/// For IPv4 the kernel can only block types 0 to 31; higher types always pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpFilter {
    pass: [u32; 8],
}

impl IcmpFilter {
    /// Lets nothing through (add types with [`IcmpFilter::pass`]).
    pub const fn block_all() -> Self {
        Self { pass: [0; 8] }
    }

    /// Lets every type through.
    pub const fn pass_all() -> Self {
        Self {
            pass: [u32::MAX; 8],
        }
    }

    /// Also lets `icmp_type` through.
    #[must_use]
    pub const fn pass(mut self, icmp_type: u8) -> Self {
        self.pass[(icmp_type >> 5) as usize] |= 1 << (icmp_type & 31);
        self
    }

    /// Stops `icmp_type`.
    #[must_use]
    pub const fn block(mut self, icmp_type: u8) -> Self {
        self.pass[(icmp_type >> 5) as usize] &= !(1 << (icmp_type & 31));
        self
    }

    /// Whether `icmp_type` gets through.
    pub const fn passes(&self, icmp_type: u8) -> bool {
        self.pass[(icmp_type >> 5) as usize] & (1 << (icmp_type & 31)) != 0
    }

    /// The default for ICMPv4 receive sockets: replies and errors a prober needs (echo reply,
    /// destination unreachable, source quench, redirect, time exceeded, parameter problem,
    /// timestamp, information and address-mask replies). Requests, including our own echo
    /// requests seen on loopback, are blocked.
    pub const fn default_v4() -> Self {
        Self::block_all()
            .pass(0)
            .pass(3)
            .pass(4)
            .pass(5)
            .pass(11)
            .pass(12)
            .pass(14)
            .pass(16)
            .pass(18)
    }

    /// The default for ICMPv6 receive sockets: echo reply (129), destination unreachable (1),
    /// packet too big (2), time exceeded (3) and parameter problem (4).
    pub const fn default_v6() -> Self {
        Self::block_all().pass(129).pass(1).pass(2).pass(3).pass(4)
    }
}

impl RecvSocket {
    /// Opens a raw receive socket for `protocol` over `family`, with kernel timestamps and
    /// all the metadata of [`RecvMeta`] turned on. ICMP sockets get the default
    /// [`IcmpFilter`] of their family. Needs root or `CAP_NET_RAW`.
    pub fn open(family: Family, protocol: Protocol) -> Result<Self> {
        let kind = SocketKind::Recv(family, protocol);
        let err = |call, e| Error::socket(call, kind, None, e);
        let proto = match (family, protocol) {
            (Family::V4, Protocol::Icmp) => libc::IPPROTO_ICMP,
            (Family::V6, Protocol::Icmp) => libc::IPPROTO_ICMPV6,
            (_, Protocol::Tcp) => libc::IPPROTO_TCP,
            (_, Protocol::Udp) => libc::IPPROTO_UDP,
        };
        let sock = Socket::new(
            family.domain(),
            Type::RAW,
            Some(socket2::Protocol::from(proto)),
        )
        .map_err(|e| err("socket", e))?;
        sock.set_nonblocking(true)
            .map_err(|e| err("fcntl O_NONBLOCK", e))?;
        let on =
            |level, name, call| sockopt::set_int(&sock, level, name, 1).map_err(|e| err(call, e));
        on(
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            "setsockopt SO_TIMESTAMPNS",
        )?;
        on(
            libc::SOL_SOCKET,
            libc::SO_RXQ_OVFL,
            "setsockopt SO_RXQ_OVFL",
        )?;
        match family {
            Family::V4 => {
                on(libc::IPPROTO_IP, libc::IP_PKTINFO, "setsockopt IP_PKTINFO")?;
                on(libc::IPPROTO_IP, libc::IP_RECVTTL, "setsockopt IP_RECVTTL")?;
                on(libc::IPPROTO_IP, libc::IP_RECVTOS, "setsockopt IP_RECVTOS")?;
            }
            Family::V6 => {
                on(
                    libc::IPPROTO_IPV6,
                    libc::IPV6_RECVPKTINFO,
                    "setsockopt IPV6_RECVPKTINFO",
                )?;
                on(
                    libc::IPPROTO_IPV6,
                    libc::IPV6_RECVHOPLIMIT,
                    "setsockopt IPV6_RECVHOPLIMIT",
                )?;
                on(
                    libc::IPPROTO_IPV6,
                    libc::IPV6_RECVTCLASS,
                    "setsockopt IPV6_RECVTCLASS",
                )?;
                on(
                    libc::IPPROTO_IPV6,
                    libc::IPV6_FLOWINFO,
                    "setsockopt IPV6_FLOWINFO",
                )?;
            }
        }
        let this = Self {
            sock,
            family,
            protocol,
        };
        match (family, protocol) {
            (Family::V4, Protocol::Icmp) => this.set_icmp_filter(&IcmpFilter::default_v4())?,
            (Family::V6, Protocol::Icmp) => this.set_icmp_filter(&IcmpFilter::default_v6())?,
            _ => {}
        }
        Ok(this)
    }

    /// The IP version of this socket.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The protocol this socket receives.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// What this socket is, for logs and errors.
    pub fn kind(&self) -> SocketKind {
        SocketKind::Recv(self.family, self.protocol)
    }

    /// Whether received packets start with the IP header (IPv4: yes, IPv6: no).
    pub fn header_included(&self) -> bool {
        self.family == Family::V4
    }

    /// Replaces the ICMP type filter of an ICMP or ICMPv6 socket.
    pub fn set_icmp_filter(&self, filter: &IcmpFilter) -> Result<()> {
        let res = match (self.family, self.protocol) {
            (Family::V4, Protocol::Icmp) => sockopt::set_bytes(
                &self.sock,
                libc::SOL_RAW,
                ICMP_FILTER,
                &(!filter.pass[0]).to_ne_bytes(),
            ),
            (Family::V6, Protocol::Icmp) => {
                let mut bytes = [0u8; 32];
                for (chunk, word) in bytes.chunks_exact_mut(4).zip(filter.pass) {
                    chunk.copy_from_slice(&(!word).to_ne_bytes());
                }
                sockopt::set_bytes(&self.sock, libc::IPPROTO_ICMPV6, ICMP6_FILTER, &bytes)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "ICMP type filters only apply to ICMP sockets",
            )),
        };
        res.map_err(|e| Error::socket("setsockopt ICMP_FILTER", self.kind(), None, e))
    }

    /// Attaches a classic BPF program (`SO_ATTACH_FILTER`), e.g. to keep only TCP segments to
    /// the prober's ports. The program sees the packet as this socket returns it (IPv4: from
    /// the IP header; IPv6: from the transport header).
    pub fn attach_filter(&self, program: &[SockFilter]) -> Result<()> {
        self.sock
            .attach_filter(program)
            .map_err(|e| Error::socket("setsockopt SO_ATTACH_FILTER", self.kind(), None, e))
    }

    /// Receives only from the named interface (`SO_BINDTODEVICE`), or any again with `None`.
    pub fn bind_device(&self, interface: Option<&str>) -> Result<()> {
        self.sock
            .bind_device(interface.map(str::as_bytes))
            .map_err(|e| Error::socket("setsockopt SO_BINDTODEVICE", self.kind(), None, e))
    }

    /// Asks for a receive buffer of `bytes` (`SO_RCVBUFFORCE` when root/`CAP_NET_ADMIN`, else
    /// `SO_RCVBUF`, capped by `net.core.rmem_max`) and reports what was obtained. Call it
    /// before dropping privileges.
    pub fn set_recv_buffer(&self, bytes: usize) -> Result<BufferSize> {
        set_buffer(&self.sock, self.kind(), bytes, true)
    }

    /// Reads the socket's queue occupancy and drop counter (`SO_MEMINFO`). A probe logs the
    /// drop counter: a non-zero value means replies were lost before it read them.
    pub fn queue_stats(&self) -> Result<QueueStats> {
        let mut buf = [0u8; 4 * SK_MEMINFO_VARS];
        let n = sockopt::get_bytes(&self.sock, libc::SOL_SOCKET, libc::SO_MEMINFO, &mut buf)
            .map_err(|e| Error::socket("getsockopt SO_MEMINFO", self.kind(), None, e))?;
        let word = |i: usize| {
            buf.get(i * 4..i * 4 + 4)
                .filter(|_| i * 4 + 4 <= n)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_ne_bytes)
        };
        Ok(QueueStats {
            queued_bytes: word(0),
            recv_buffer: word(1),
            drops: word(8),
        })
    }

    /// Receives one packet into `buf` if one is waiting (else an error of kind `WouldBlock`).
    pub fn recv(&self, buf: &mut [u8]) -> Result<RecvMeta> {
        self.recv_one(buf)
            .map_err(|e| Error::socket("recvmsg", self.kind(), None, e))
    }

    /// Receives as many waiting packets as `batch` has slots with one `recvmmsg` call and
    /// returns how many arrived (at least 1; `WouldBlock` if none was waiting). The previous
    /// contents of `batch` are replaced.
    pub fn recv_batch(&self, batch: &mut RecvBatch) -> Result<usize> {
        self.recv_many(batch)
            .map_err(|e| Error::socket("recvmmsg", self.kind(), None, e))
    }

    pub(crate) fn recv_one(&self, buf: &mut [u8]) -> io::Result<RecvMeta> {
        let mut addr = AddrBuf::default();
        let mut ctrl = ControlBuf::default();
        let mut out = [RawOut::default()];
        let n = recv_raw(
            self.sock.as_raw_fd(),
            &mut [Slot {
                data: buf,
                addr: &mut addr,
                ctrl: &mut ctrl,
            }],
            &mut out,
        )?;
        debug_assert_eq!(n, 1);
        Ok(out[0].meta(&addr, &ctrl, clock::now()))
    }

    pub(crate) fn recv_many(&self, batch: &mut RecvBatch) -> io::Result<usize> {
        batch.filled = 0;
        let mut slots: Vec<Slot<'_>> = batch
            .data
            .chunks_exact_mut(batch.slot_size)
            .zip(batch.addrs.iter_mut())
            .zip(batch.controls.iter_mut())
            .map(|((data, addr), ctrl)| Slot { data, addr, ctrl })
            .collect();
        let n = recv_raw(self.sock.as_raw_fd(), &mut slots, &mut batch.raw)?;
        drop(slots);
        let now = clock::now();
        for i in 0..n {
            batch.metas[i] = batch.raw[i].meta(&batch.addrs[i], &batch.controls[i], now);
        }
        batch.filled = n;
        Ok(n)
    }
}

/// Reusable buffers for [`RecvSocket::recv_batch`]: a number of fixed-size packet slots with
/// their addresses, control messages and metadata. Allocate one per socket and reuse it.
#[derive(Clone)]
pub struct RecvBatch {
    slot_size: usize,
    data: Vec<u8>,
    addrs: Vec<AddrBuf>,
    controls: Vec<ControlBuf>,
    raw: Vec<RawOut>,
    metas: Vec<RecvMeta>,
    filled: usize,
}

impl fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvBatch")
            .field("slots", &self.metas.len())
            .field("slot_size", &self.slot_size)
            .field("filled", &self.filled)
            .finish_non_exhaustive()
    }
}

impl RecvBatch {
    /// Room for `slots` packets (1 to [`MAX_BATCH`]) of up to `slot_size` bytes each (at
    /// least 1). 1500 bytes fits any reply on Ethernet-sized paths; ICMP errors quote at
    /// most 576 (IPv4) or 1280 (IPv6) bytes.
    pub fn new(slots: usize, slot_size: usize) -> Self {
        let slots = slots.clamp(1, MAX_BATCH);
        let slot_size = slot_size.max(1);
        Self {
            slot_size,
            data: vec![0; slots * slot_size],
            addrs: vec![AddrBuf::default(); slots],
            controls: vec![ControlBuf::default(); slots],
            raw: vec![RawOut::default(); slots],
            metas: vec![RecvMeta::default(); slots],
            filled: 0,
        }
    }

    /// How many packets fit.
    pub fn slots(&self) -> usize {
        self.metas.len()
    }

    /// The size of each packet slot.
    pub fn slot_size(&self) -> usize {
        self.slot_size
    }

    /// How many packets the last receive filled in.
    pub fn len(&self) -> usize {
        self.filled
    }

    /// Whether the last receive filled in nothing.
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// Packet `i` of the last receive, with its metadata.
    pub fn get(&self, i: usize) -> Option<(&RecvMeta, &[u8])> {
        if i >= self.filled {
            return None;
        }
        let meta = &self.metas[i];
        let start = i * self.slot_size;
        Some((meta, &self.data[start..start + meta.len]))
    }

    /// The packets of the last receive, in arrival order.
    pub fn iter(&self) -> impl Iterator<Item = (&RecvMeta, &[u8])> {
        (0..self.filled).filter_map(|i| self.get(i))
    }
}

/// One packet slot handed to the kernel.
struct Slot<'a> {
    data: &'a mut [u8],
    addr: &'a mut AddrBuf,
    ctrl: &'a mut ControlBuf,
}

/// What the kernel wrote back in one `mmsghdr`.
#[derive(Debug, Clone, Copy, Default)]
struct RawOut {
    len: usize,
    flags: i32,
    namelen: usize,
    controllen: usize,
}

impl RawOut {
    fn meta(&self, addr: &AddrBuf, ctrl: &ControlBuf, now: SystemTime) -> RecvMeta {
        let anc = cmsg::parse_control(&ctrl.0[..self.controllen.min(ctrl.0.len())]);
        let src = cmsg::parse_sockaddr(&addr.0[..self.namelen.min(addr.0.len())])
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |(a, _)| a);
        RecvMeta {
            len: self.len,
            truncated: self.flags & libc::MSG_TRUNC != 0,
            src,
            dst: anc.dst,
            ifindex: anc.ifindex,
            hop_limit: anc.hop_limit,
            traffic_class: anc.traffic_class,
            flow_label: anc.flow_label,
            timestamp: anc.timestamp.unwrap_or(now),
            kernel_timestamp: anc.timestamp.is_some(),
            drops: anc.drops,
        }
    }
}

/// One `recvmmsg` call over `slots`; fills `out` for the packets received.
fn recv_raw(fd: RawFd, slots: &mut [Slot<'_>], out: &mut [RawOut]) -> io::Result<usize> {
    let n = slots.len().min(out.len()).min(MAX_BATCH);
    let mut iovs: Vec<libc::iovec> = slots[..n]
        .iter_mut()
        .map(|s| libc::iovec {
            iov_base: s.data.as_mut_ptr().cast(),
            iov_len: s.data.len(),
        })
        .collect();
    let mut hdrs: Vec<libc::mmsghdr> = slots[..n]
        .iter_mut()
        .zip(iovs.iter_mut())
        .map(|(s, iov)| {
            let mut hdr = zeroed_msghdr();
            hdr.msg_name = s.addr.0.as_mut_ptr().cast();
            hdr.msg_namelen = s.addr.0.len() as libc::socklen_t;
            hdr.msg_iov = iov;
            hdr.msg_iovlen = 1;
            hdr.msg_control = s.ctrl.0.as_mut_ptr().cast();
            hdr.msg_controllen = s.ctrl.0.len() as _;
            libc::mmsghdr {
                msg_hdr: hdr,
                msg_len: 0,
            }
        })
        .collect();
    let count = libc::c_uint::try_from(n).unwrap_or(libc::c_uint::MAX);
    // SAFETY: `hdrs` holds `count` initialised headers. Each points at one `iovec` in `iovs`
    // (which points at a distinct packet slot of `iov_len` bytes), one address buffer of
    // `msg_namelen` bytes and one 8-aligned control buffer of `msg_controllen` bytes; all are
    // exclusively borrowed and live across the call. A null timeout means none.
    let rc = unsafe {
        libc::recvmmsg(
            fd,
            hdrs.as_mut_ptr(),
            count,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let got = (rc as usize).min(n);
    for (o, h) in out.iter_mut().zip(&hdrs[..got]) {
        *o = RawOut {
            len: h.msg_len as usize,
            flags: h.msg_hdr.msg_flags,
            namelen: h.msg_hdr.msg_namelen as usize,
            controllen: h.msg_hdr.msg_controllen as _,
        };
    }
    for (o, s) in out.iter_mut().zip(slots.iter()) {
        o.len = o.len.min(s.data.len());
    }
    Ok(got)
}

/// Sets a receive or send buffer size, forcing it past the sysctl cap when allowed.
pub(crate) fn set_buffer(
    sock: &Socket,
    kind: SocketKind,
    bytes: usize,
    receive: bool,
) -> Result<BufferSize> {
    let (force, plain, force_call, plain_call) = if receive {
        (
            libc::SO_RCVBUFFORCE,
            libc::SO_RCVBUF,
            "setsockopt SO_RCVBUFFORCE",
            "setsockopt SO_RCVBUF",
        )
    } else {
        (
            libc::SO_SNDBUFFORCE,
            libc::SO_SNDBUF,
            "setsockopt SO_SNDBUFFORCE",
            "setsockopt SO_SNDBUF",
        )
    };
    let value = i32::try_from(bytes).unwrap_or(i32::MAX);
    let forced = match sockopt::set_int(sock, libc::SOL_SOCKET, force, value) {
        Ok(()) => true,
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            sockopt::set_int(sock, libc::SOL_SOCKET, plain, value)
                .map_err(|e| Error::socket(plain_call, kind, None, e))?;
            false
        }
        Err(e) => return Err(Error::socket(force_call, kind, None, e)),
    };
    let obtained = sockopt::get_int(sock, libc::SOL_SOCKET, plain)
        .map_err(|e| Error::socket("getsockopt", kind, None, e))?;
    Ok(BufferSize {
        requested: bytes,
        obtained: usize::try_from(obtained).unwrap_or(0),
        forced,
    })
}

impl AsRawFd for RecvSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for RecvSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of the fuzz corpus goes through the fuzz target's function.
    #[test]
    fn fuzz_corpus_replays() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/sys_cmsg");
        let mut decoded_timestamps = 0;
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            crate::fuzzing::sys_cmsg(&bytes);
            files += 1;
            if cmsg::parse_control(&bytes).timestamp.is_some() {
                decoded_timestamps += 1;
            }
        }
        assert!(files >= 4, "corpus missing in {}", dir.display());
        assert!(
            decoded_timestamps >= 2,
            "corpus lacks kernel control buffers"
        );
    }

    /// Captures real control-message buffers and source addresses from the kernel into
    /// `$VANTAGE_SYS_WRITE_CORPUS` (the fuzz corpus). Run by hand as root:
    /// `VANTAGE_SYS_WRITE_CORPUS=fuzz/corpus/sys_cmsg cargo test -p vantage-sys write_fuzz_corpus -- --ignored`
    #[test]
    #[ignore = "writes the fuzz corpus; run by hand as root"]
    fn write_fuzz_corpus() {
        let Some(dir) = std::env::var_os("VANTAGE_SYS_WRITE_CORPUS") else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        crate::netns::in_new_netns(move || {
            for (family, name, packet) in
                [(Family::V4, "v4", v4_echo()), (Family::V6, "v6", v6_echo())]
            {
                let tx = crate::SendSocket::open(family).unwrap();
                let rx = RecvSocket::open(family, Protocol::Icmp).unwrap();
                rx.set_recv_buffer(2048).unwrap();
                for _ in 0..40 {
                    tx.send(&packet).unwrap();
                }
                let mut last = None;
                loop {
                    let mut data = [0u8; 1500];
                    let mut addr = AddrBuf::default();
                    let mut ctrl = ControlBuf::default();
                    let mut out = [RawOut::default()];
                    let slot = Slot {
                        data: &mut data,
                        addr: &mut addr,
                        ctrl: &mut ctrl,
                    };
                    if recv_raw(rx.as_raw_fd(), &mut [slot], &mut out).is_err() {
                        break;
                    }
                    if last.is_none() {
                        std::fs::write(
                            dir.join(format!("{name}_cmsg_first.bin")),
                            &ctrl.0[..out[0].controllen],
                        )
                        .unwrap();
                        std::fs::write(
                            dir.join(format!("{name}_sockaddr.bin")),
                            &addr.0[..out[0].namelen],
                        )
                        .unwrap();
                    }
                    last = Some((ctrl.0, out[0].controllen));
                }
                // Send one more after the drops so its buffer carries SO_RXQ_OVFL.
                tx.send(&packet).unwrap();
                let mut data = [0u8; 1500];
                let mut addr = AddrBuf::default();
                let mut ctrl = ControlBuf::default();
                let mut out = [RawOut::default()];
                let slot = Slot {
                    data: &mut data,
                    addr: &mut addr,
                    ctrl: &mut ctrl,
                };
                recv_raw(rx.as_raw_fd(), &mut [slot], &mut out).unwrap();
                std::fs::write(
                    dir.join(format!("{name}_cmsg_with_drops.bin")),
                    &ctrl.0[..out[0].controllen],
                )
                .unwrap();
                assert!(
                    cmsg::parse_control(&ctrl.0[..out[0].controllen])
                        .drops
                        .is_some()
                );
                assert!(last.is_some());
            }
        })
        .unwrap();
    }

    fn v4_echo() -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        p.extend_from_slice(&[8, 0, 0xf7, 0xfe, 0, 1, 0, 0]);
        p
    }

    fn v6_echo() -> Vec<u8> {
        // ::1 -> ::1, hop limit 64, tclass 0x28, flow 0x12345; ICMPv6 echo request id 1 seq 0.
        let mut p = vec![0x62, 0x81, 0x23, 0x45, 0, 8, 58, 64];
        let lo = std::net::Ipv6Addr::LOCALHOST.octets();
        p.extend_from_slice(&lo);
        p.extend_from_slice(&lo);
        // Checksum over the pseudo-header (2 * ::1, length 8, next header 58) and the message.
        let sum: u32 = 1 + 1 + 8 + 58 + 0x8000 + 1;
        let c = !(sum as u16);
        p.extend_from_slice(&[128, 0]);
        p.extend_from_slice(&c.to_be_bytes());
        p.extend_from_slice(&[0, 1, 0, 0]);
        p
    }

    #[test]
    fn icmp_filters() {
        let f = IcmpFilter::default_v6();
        for t in [1, 2, 3, 4, 129] {
            assert!(f.passes(t), "{t}");
        }
        for t in [0, 5, 128, 133, 135, 136, 255] {
            assert!(!f.passes(t), "{t}");
        }
        let f = IcmpFilter::default_v4();
        assert!(f.passes(0) && f.passes(11) && f.passes(3));
        assert!(!f.passes(8) && !f.passes(13));
        assert!(IcmpFilter::pass_all().block(8).passes(7));
        assert!(!IcmpFilter::pass_all().block(8).passes(8));
    }

    #[test]
    fn batch_bounds() {
        let b = RecvBatch::new(0, 0);
        assert_eq!((b.slots(), b.slot_size()), (1, 1));
        let b = RecvBatch::new(5000, 1500);
        assert_eq!(b.slots(), MAX_BATCH);
        assert!(b.is_empty());
        assert!(b.get(0).is_none());
        assert_eq!(b.iter().count(), 0);
    }

    #[test]
    fn buffer_size_text() {
        let b = BufferSize {
            requested: 100,
            obtained: 200,
            forced: true,
        };
        assert!(!b.is_capped());
        assert!(b.to_string().contains("forced"));
        let b = BufferSize {
            requested: 100,
            obtained: 150,
            forced: false,
        };
        assert!(b.is_capped());
        assert!(b.to_string().contains("capped"));
    }
}
