//! Every system call and all `unsafe` code of the Vantage prober.
//!
//! This crate is the only place in Vantage where `unsafe` is allowed. Each `unsafe` block
//! carries a `// SAFETY:` comment; most of the crate is safe code around a handful of
//! calls (`sendmmsg`, `recvmmsg`, `setsockopt`, the tokio fd registration).
//!
//! What it provides:
//! - [`send`]: header-included raw sockets that send complete IPv4 and IPv6 packets built by
//!   the caller, one at a time or in `sendmmsg` batches, with the transmit time.
//! - [`recv`]: raw receive sockets for ICMP, ICMPv6, TCP and UDP replies, with the kernel
//!   receive timestamp and (for IPv6, where the header is not delivered) the addresses, hop
//!   limit, traffic class and flow label from control messages; `recvmmsg` batches into
//!   reusable buffers; large receive buffers.
//! - [`reactor`]: the audited registration of these sockets with tokio, and async send/receive.
//! - [`route`]: the source address the kernel would use towards a destination.
//! - [`privilege`]: switching to an unprivileged user while keeping `CAP_NET_RAW`.
//! - [`netns`]: entering fresh or named network namespaces, for tests and the testbed.
//! - [`clock`]: `CLOCK_REALTIME` helpers.
//!
//! How a probe uses it:
//!
//! ```no_run
//! use vantage_sys::privilege::{DropOptions, drop_privileges};
//! use vantage_sys::recv::SUGGESTED_RECV_BUFFER;
//! use vantage_sys::{AsyncSocket, Family, Protocol, RecvBatch, RecvSocket, SendSocket};
//!
//! # fn build_probe() -> Vec<u8> { Vec::new() }
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // As root, before any other thread exists: open, size, then drop privileges.
//!     let send = SendSocket::open(Family::V4)?;
//!     let icmp = RecvSocket::open(Family::V4, Protocol::Icmp)?;
//!     println!("ICMP receive buffer: {}", icmp.set_recv_buffer(SUGGESTED_RECV_BUFFER)?);
//!     println!("running as {}", drop_privileges(&DropOptions::default())?);
//!
//!     let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//!     rt.block_on(async {
//!         let send = AsyncSocket::new(send)?;
//!         let icmp = AsyncSocket::new(icmp)?;
//!         let sent_at = send.send(&build_probe()).await?;
//!         let mut batch = RecvBatch::new(64, 1500);
//!         icmp.recv_batch(&mut batch).await?;
//!         for (meta, packet) in batch.iter() {
//!             // IPv4: `packet` starts with the IP header. Match it to a probe, then:
//!             let rtt = meta.timestamp.duration_since(sent_at);
//!             # let _ = (packet, rtt);
//!         }
//!         Ok(())
//!     })
//! }
//! ```
//!
//! What it is not: it does not build or parse packets (that is `vantage-wire`), match replies
//! to probes, pace or schedule (that is the engine and the probe). It is Linux-only.
#![allow(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod clock;
mod cmsg;
pub mod error;
pub mod netns;
pub mod privilege;
pub mod reactor;
pub mod recv;
pub mod route;
pub mod send;
pub mod signals;
mod sockopt;

pub use error::{Error, Protocol, Result, SocketKind};
pub use reactor::AsyncSocket;
pub use recv::{BufferSize, IcmpFilter, QueueStats, RecvBatch, RecvMeta, RecvSocket};
pub use send::{BatchSent, SendSocket};

use std::net::IpAddr;

/// An IP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }

    fn domain(self) -> socket2::Domain {
        match self {
            Self::V4 => socket2::Domain::IPV4,
            Self::V6 => socket2::Domain::IPV6,
        }
    }
}

/// Fuzz entry points (used by `fuzz/fuzz_targets/` and by the corpus-replay test).
#[doc(hidden)]
pub mod fuzzing {
    /// Decodes arbitrary bytes as a control-message buffer and as a socket address: the
    /// decoders must never panic or read out of bounds.
    pub fn sys_cmsg(data: &[u8]) {
        let _ = crate::cmsg::parse_control(data);
        let _ = crate::cmsg::parse_sockaddr(data);
        let _ = crate::cmsg::messages(data).count();
    }
}
