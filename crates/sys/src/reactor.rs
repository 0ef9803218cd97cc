//! Async integration: the one audited place where sockets are registered with tokio.
//!
//! [`AsyncSocket`] wraps a [`SendSocket`] or [`RecvSocket`] in a tokio [`AsyncFd`] and
//! offers `async` send and receive that wait for readiness instead of returning
//! `WouldBlock`. Use it on the prober's (current-thread) runtime; create it from inside that
//! runtime.
//!
//! The async methods are cancel-safe, so they can sit in a `tokio::select!` loop: the system
//! call runs inside a single poll, so a future dropped before completing has sent or
//! received nothing.
//!
//! tokio 1.54 deprecated the safe `AsyncFd::new` because nothing stopped the wrapped value
//! from closing or swapping its descriptor while registered. Registration is now an `unsafe`
//! call whose contract (the descriptor stays open and the same while registered) this module
//! upholds by accepting only this crate's own socket types, through a sealed trait.

use std::os::fd::{AsRawFd, RawFd};
use std::time::SystemTime;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::error::{Error, Result, SocketKind};
use crate::recv::{RecvBatch, RecvMeta, RecvSocket};
use crate::send::{BatchSent, SendSocket};

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::SendSocket {}
    impl Sealed for crate::RecvSocket {}
}

/// The socket types of this crate that can be registered with tokio.
///
/// Sealed: each implementor owns its descriptor for its whole life and never closes or
/// replaces it, which is what makes the registration in [`AsyncSocket::new`] sound.
pub trait Registrable: AsRawFd + sealed::Sealed {
    /// What the socket is, for errors.
    fn socket_kind(&self) -> SocketKind;
    /// The readiness this socket is used for.
    fn interest(&self) -> Interest;
}

impl Registrable for SendSocket {
    fn socket_kind(&self) -> SocketKind {
        self.kind()
    }
    fn interest(&self) -> Interest {
        Interest::WRITABLE
    }
}

impl Registrable for RecvSocket {
    fn socket_kind(&self) -> SocketKind {
        self.kind()
    }
    fn interest(&self) -> Interest {
        Interest::READABLE
    }
}

/// A socket of this crate registered with the tokio reactor.
#[derive(Debug)]
pub struct AsyncSocket<S: Registrable> {
    fd: AsyncFd<S>,
    kind: SocketKind,
}

impl<S: Registrable> AsyncSocket<S> {
    /// Registers `socket` with the tokio runtime this thread runs in.
    pub fn new(socket: S) -> Result<Self> {
        let kind = socket.socket_kind();
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::NoRuntime { socket: kind });
        }
        let interest = socket.interest();
        // SAFETY: `S` is a `SendSocket` or `RecvSocket` (the trait is sealed). Each owns its
        // descriptor through a `socket2::Socket`, which stays open until `S` is dropped, and
        // neither type offers a way to close, replace or duplicate-and-swap it; `as_raw_fd`
        // always returns that same descriptor. The `AsyncFd` owns `S`, so the descriptor
        // outlives the registration, and `into_inner` deregisters before handing `S` back.
        let fd = unsafe { AsyncFd::register_with_interest(socket, interest) }.map_err(|e| {
            let (_, source) = e.into_parts();
            Error::Register {
                socket: kind,
                source,
            }
        })?;
        Ok(Self { fd, kind })
    }

    /// The wrapped socket (for options and non-blocking calls).
    pub fn get_ref(&self) -> &S {
        self.fd.get_ref()
    }

    /// Deregisters and returns the socket.
    pub fn into_inner(self) -> S {
        self.fd.into_inner()
    }

    /// What this socket is.
    pub fn kind(&self) -> SocketKind {
        self.kind
    }
}

impl AsyncSocket<SendSocket> {
    /// Sends one complete packet, waiting while the send buffer is full. Returns the
    /// transmit time read right before the system call.
    pub async fn send(&self, packet: &[u8]) -> Result<SystemTime> {
        let sock = self.get_ref();
        let addr = sock.destination(packet, 0)?;
        self.fd
            .async_io(Interest::WRITABLE, |s| s.send_prepared(packet, &addr))
            .await
            .map_err(|e| sock.send_error("sendto", packet, e))
    }

    /// Sends up to [`crate::send::MAX_BATCH`] packets with `sendmmsg`, waiting while the send
    /// buffer is full. See [`SendSocket::send_batch`] for partial sends.
    pub async fn send_batch<P: AsRef<[u8]>>(&self, packets: &[P]) -> Result<BatchSent> {
        let sock = self.get_ref();
        let addrs = sock.destinations(packets)?;
        self.fd
            .async_io(Interest::WRITABLE, |s| {
                s.send_batch_prepared(packets, &addrs)
            })
            .await
            .map_err(|e| sock.batch_error(packets, e))
    }
}

impl AsyncSocket<RecvSocket> {
    /// Waits for a packet and receives it into `buf`.
    pub async fn recv(&self, buf: &mut [u8]) -> Result<RecvMeta> {
        self.fd
            .async_io(Interest::READABLE, |s| s.recv_one(buf))
            .await
            .map_err(|e| Error::socket("recvmsg", self.kind, None, e))
    }

    /// Waits for at least one packet, then receives as many as are waiting (up to the
    /// batch's slots) with one `recvmmsg` call. Returns how many arrived.
    pub async fn recv_batch(&self, batch: &mut RecvBatch) -> Result<usize> {
        self.fd
            .async_io(Interest::READABLE, |s| s.recv_many(batch))
            .await
            .map_err(|e| Error::socket("recvmmsg", self.kind, None, e))
    }
}

impl<S: Registrable> AsRawFd for AsyncSocket<S> {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
