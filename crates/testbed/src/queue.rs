//! The NFQUEUE netlink socket shared by the testbed's user-space engines (link delay,
//! MPLS extensions): open it inside a namespace, bind and configure a queue, receive
//! notifications, send verdicts, and stop on request.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send,
    setsockopt, socket, sockopt,
};
use nix::sys::time::TimeSpec;

use crate::netns;
use crate::nfqueue::{self, ConfigCommand, CopyMode, Header, Message, NLM_F_ACK, NLM_F_REQUEST};

/// Socket receive buffer asked for (with `SO_RCVBUFFORCE`, as root).
const RCVBUF_BYTES: usize = 8 << 20;

/// How long to wait for the kernel to acknowledge a configuration request.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

/// Why an NFQUEUE engine (delay or MPLS) could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Entering the namespace failed.
    #[error("NFQUEUE engine: {0}")]
    Netns(#[from] netns::NetnsError),
    /// A netlink socket call failed.
    #[error("NFQUEUE engine: {call} on the NFQUEUE netlink socket failed: {errno}")]
    Socket {
        /// The failing call.
        call: &'static str,
        /// The error.
        errno: Errno,
    },
    /// The kernel refused a queue configuration request.
    #[error(
        "NFQUEUE engine: the kernel refused to {what} NFQUEUE queue {queue}: {errno} \
         (EBUSY: another process holds the queue; EPERM: needs CAP_NET_ADMIN)"
    )]
    Refused {
        /// What was asked.
        what: &'static str,
        /// The queue number.
        queue: u16,
        /// The kernel's answer.
        errno: Errno,
    },
    /// No acknowledgement arrived in time.
    #[error(
        "NFQUEUE engine: the kernel did not acknowledge the NFQUEUE configuration of queue {0}"
    )]
    NoAck(u16),
    /// The kernel sent bytes we could not decode.
    #[error("NFQUEUE engine: undecodable NFQUEUE message: {0}")]
    Decode(#[from] nfqueue::DecodeError),
    /// The stop channel could not be created or read.
    #[error("NFQUEUE engine: stop channel: {0}")]
    Stop(#[from] std::io::Error),
    /// The engine thread could not be started.
    #[error("NFQUEUE engine: cannot start its thread: {0}")]
    Thread(std::io::Error),
    /// The engine thread panicked.
    #[error("NFQUEUE engine thread for queue {0} panicked")]
    Panicked(u16),
}

/// The sending half of a stop channel: [`Stopper::stop`] or dropping it ends the run.
#[derive(Debug)]
pub struct Stopper(UnixStream);

/// The receiving half of a stop channel, given to an engine's `serve`.
#[derive(Debug)]
pub struct StopSignal(UnixStream);

impl Stopper {
    /// Asks the engine to stop (a delay engine releases what it holds first).
    pub fn stop(&mut self) {
        // An error means the engine is gone already; nothing to do.
        let _ = self.0.write_all(&[1]);
    }
}

impl StopSignal {
    pub(crate) fn fired(&self) -> bool {
        let mut byte = [0u8; 1];
        // Non-blocking: data or EOF both mean stop; WouldBlock means keep going.
        match (&self.0).read_exact(&mut byte) {
            Ok(()) => true,
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
        }
    }

    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// A new stop channel.
pub fn stop_channel() -> Result<(Stopper, StopSignal), EngineError> {
    let (a, b) = UnixStream::pair()?;
    b.set_nonblocking(true)?;
    Ok((Stopper(a), StopSignal(b)))
}

/// What one wait for events saw.
pub(crate) struct Ready {
    pub net: bool,
    pub stop: bool,
}

/// A bound and configured NFQUEUE queue.
#[derive(Debug)]
pub(crate) struct QueueSocket {
    fd: OwnedFd,
    queue: u16,
    seq: u32,
    pub buf: Vec<u8>,
}

impl QueueSocket {
    /// Enters `netns` (on the calling thread, which stays there), opens the netlink
    /// socket, binds `queue` and sets its copy mode and length.
    pub fn open(
        netns: Option<&str>,
        queue: u16,
        params: (CopyMode, u32),
        max_len: u32,
        flags: (u32, u32),
    ) -> Result<Self, EngineError> {
        if let Some(name) = netns {
            netns::enter(name)?;
        }
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkNetFilter,
        )
        .map_err(|errno| EngineError::Socket {
            call: "socket",
            errno,
        })?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(|errno| EngineError::Socket {
            call: "bind",
            errno,
        })?;
        // Best effort: a bigger buffer only makes overruns rarer.
        if setsockopt(&fd, sockopt::RcvBufForce, &RCVBUF_BYTES).is_err() {
            let _ = setsockopt(&fd, sockopt::RcvBuf, &RCVBUF_BYTES);
        }
        let mut sock = Self {
            fd,
            queue,
            seq: 0,
            buf: vec![0; 1 << 17],
        };
        sock.request(
            "bind",
            &Message::Config {
                queue,
                command: Some(ConfigCommand::Bind),
                params: None,
                max_len: None,
                flags: None,
            },
        )?;
        sock.request(
            "configure",
            &Message::Config {
                queue,
                command: None,
                params: Some(params),
                max_len: Some(max_len),
                flags: Some(flags),
            },
        )?;
        Ok(sock)
    }

    /// The queue number.
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// Sends one message; returns its sequence number.
    pub fn send(&mut self, msg: &Message<'_>, flags: u16) -> Result<u32, EngineError> {
        self.seq = self.seq.wrapping_add(1);
        let mut out = Vec::with_capacity(64);
        nfqueue::emit(
            msg,
            Header {
                flags,
                seq: self.seq,
                pid: 0,
            },
            &mut out,
        );
        loop {
            match send(self.fd.as_raw_fd(), &out, MsgFlags::empty()) {
                Ok(_) => return Ok(self.seq),
                Err(Errno::EINTR) => {}
                Err(errno) => {
                    return Err(EngineError::Socket {
                        call: "send",
                        errno,
                    });
                }
            }
        }
    }

    /// Sends a request and waits for its acknowledgement, dropping anything else that
    /// arrives meanwhile (nothing should: the queue's rule is installed later).
    fn request(&mut self, what: &'static str, msg: &Message<'_>) -> Result<(), EngineError> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_ACK)?;
        let deadline = Instant::now() + ACK_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(EngineError::NoAck(self.queue));
            }
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            match ppoll(&mut fds, Some(TimeSpec::from(left)), None) {
                Ok(0) | Err(Errno::EINTR) => continue,
                Ok(_) => {}
                Err(errno) => {
                    return Err(EngineError::Socket {
                        call: "poll",
                        errno,
                    });
                }
            }
            let n = match self.recv()? {
                Recv::Data(n) => n,
                Recv::Empty | Recv::Overrun => continue,
            };
            for item in nfqueue::parse(&self.buf[..n]) {
                if let (_, Message::Error { errno, request_seq }) = item? {
                    if request_seq != seq {
                        continue;
                    }
                    if errno == 0 {
                        return Ok(());
                    }
                    return Err(EngineError::Refused {
                        what,
                        queue: self.queue,
                        errno: Errno::from_raw(-errno),
                    });
                }
            }
        }
    }

    /// Waits until the socket is readable, `stop` fires, or `timeout` passes (`None`:
    /// no limit).
    pub fn wait(&self, stop: &StopSignal, timeout: Option<Duration>) -> Result<Ready, EngineError> {
        let mut fds = [
            PollFd::new(self.fd.as_fd(), PollFlags::POLLIN),
            PollFd::new(stop.as_fd(), PollFlags::POLLIN),
        ];
        match ppoll(&mut fds, timeout.map(TimeSpec::from), None) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => {
                return Err(EngineError::Socket {
                    call: "poll",
                    errno,
                });
            }
        }
        let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
        Ok(Ready {
            net: ready(&fds[0]),
            stop: ready(&fds[1]),
        })
    }

    /// Reads one datagram into `self.buf` without blocking.
    pub fn recv(&mut self) -> Result<Recv, EngineError> {
        loop {
            return match recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::MSG_DONTWAIT) {
                Ok(n) => Ok(Recv::Data(n)),
                Err(Errno::EAGAIN) => Ok(Recv::Empty),
                Err(Errno::EINTR) => continue,
                Err(Errno::ENOBUFS) => Ok(Recv::Overrun),
                Err(errno) => Err(EngineError::Socket {
                    call: "recv",
                    errno,
                }),
            };
        }
    }
}

/// What one non-blocking receive got.
pub(crate) enum Recv {
    /// A datagram of this many bytes is in the buffer.
    Data(usize),
    /// Nothing pending.
    Empty,
    /// The socket buffer overflowed: notifications were lost.
    Overrun,
}

/// An engine served on its own thread: started once its queue is bound, stopped and
/// joined on drop.
#[derive(Debug)]
pub(crate) struct EngineThread<S: Default> {
    queue: u16,
    stopper: Option<Stopper>,
    thread: Option<JoinHandle<Result<S, EngineError>>>,
}

impl<S: Default + Send + 'static> EngineThread<S> {
    /// Starts thread `name`, which runs `open` and then `serve` until stopped. Returns
    /// once `open` succeeded, or with its error.
    pub fn start<Q, O, F>(name: String, queue: u16, open: O, serve: F) -> Result<Self, EngineError>
    where
        O: FnOnce() -> Result<Q, EngineError> + Send + 'static,
        F: FnOnce(&mut Q, &StopSignal) -> Result<S, EngineError> + Send + 'static,
    {
        let (stopper, signal) = stop_channel()?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let mut q = match open() {
                    Ok(q) => {
                        let _ = ready_tx.send(Ok(()));
                        q
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return Ok(S::default());
                    }
                };
                serve(&mut q, &signal)
            })
            .map_err(EngineError::Thread)?;
        let mut engine = Self {
            queue,
            stopper: Some(stopper),
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(engine),
            Ok(Err(e)) => {
                let _ = engine.finish();
                Err(e)
            }
            Err(_) => Err(engine
                .finish()
                .err()
                .unwrap_or(EngineError::Panicked(queue))),
        }
    }

    /// Stops the engine and returns its counters.
    pub fn stop(mut self) -> Result<S, EngineError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<S, EngineError> {
        if let Some(mut stopper) = self.stopper.take() {
            stopper.stop();
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| EngineError::Panicked(self.queue))?,
            None => Ok(S::default()),
        }
    }
}

impl<S: Default> Drop for EngineThread<S> {
    fn drop(&mut self) {
        if let Some(mut stopper) = self.stopper.take() {
            stopper.stop();
        }
        if let Some(thread) = self.thread.take() {
            match thread.join() {
                Ok(Err(e)) => eprintln!("vantage-testbed: {e}"),
                Err(_) => eprintln!(
                    "vantage-testbed: engine thread for queue {} panicked",
                    self.queue
                ),
                Ok(Ok(_)) => {}
            }
        }
    }
}
