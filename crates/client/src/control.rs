//! [`ControlClient`]: a probe's own control socket (unix path or TCP port),
//! without a controller, or one of the per-VP unix sockets of scamper's
//! `sc_remoted -U dir`, whose peer is attached from the start.

use crate::chan::ChanState;
use crate::channel::Channel;
use crate::conn::{Conn, State, Stream};
use crate::error::{Error, unix_connect_error};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};
use vantage_proto::control::{AttachParams, ClientEvent, ClientSession, Request};

/// How long [`ControlClient`] waits for the probe to answer `attach`.
pub const DEFAULT_ATTACH_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to a probe's control socket (or an `sc_remoted -U` per-VP
/// socket), attached (warts output) and ready for measurement commands
/// through its [`Channel`].
#[derive(Debug, Clone)]
pub struct ControlClient {
    channel: Channel,
}

impl ControlClient {
    /// Connects to the probe's unix control socket at `path` and attaches.
    pub fn connect_unix(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let sock =
            UnixStream::connect(path).map_err(|e| unix_connect_error(path.into(), e, false))?;
        Self::attach(
            Stream::Unix(sock),
            &path.display().to_string(),
            &AttachParams::default(),
        )
    }

    /// Connects to a unix socket whose peer already speaks the attached-mode
    /// control protocol: one of the per-VP sockets that `sc_remoted -U dir`
    /// exports (each accepted connection is its own channel to that VP). No
    /// `attach` is sent; commands, `OK id-N`/`ERR`, `DATA`, `MORE`, `done` and
    /// end of stream work as on [`ControlClient::connect_unix`].
    pub fn connect_unix_attached(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let sock =
            UnixStream::connect(path).map_err(|e| unix_connect_error(path.into(), e, false))?;
        Self::start(Stream::Unix(sock), &path.display().to_string(), &[])
    }

    /// Connects to a probe's TCP control port (the probe listens on loopback
    /// by default) and attaches.
    pub fn connect_tcp(addr: SocketAddr) -> Result<Self, Error> {
        let what = addr.to_string();
        let sock = TcpStream::connect_timeout(&addr, DEFAULT_ATTACH_TIMEOUT).map_err(|source| {
            Error::Connect {
                what: what.clone(),
                source,
            }
        })?;
        let _ = sock.set_nodelay(true);
        Self::attach(Stream::Tcp(sock), &what, &AttachParams::default())
    }

    /// Attaches on an already connected stream with the given parameters
    /// (`format` must be warts, the default: results are decoded as warts).
    fn attach(mut sock: Stream, what: &str, params: &AttachParams) -> Result<Self, Error> {
        let io_err = |source| Error::Io {
            what: what.to_owned(),
            source,
        };
        let mut session: ClientSession<()> = ClientSession::new();
        let mut out = Vec::new();
        session.send(&Request::Attach(params.clone()), (), &mut out)?;
        sock.write_all(&out).map_err(io_err)?;
        let deadline = Instant::now() + DEFAULT_ATTACH_TIMEOUT;
        let mut buf = vec![0u8; 16 * 1024];
        let mut rest: Vec<u8> = Vec::new();
        // Read until the reply to `attach`; keep whatever follows it.
        'reply: loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::GreetingTimeout {
                    what: what.to_owned(),
                    timeout: DEFAULT_ATTACH_TIMEOUT,
                });
            }
            sock.set_read_timeout(Some(left)).map_err(io_err)?;
            let n = match sock.read(&mut buf) {
                Ok(0) => return Err(io_err(std::io::ErrorKind::UnexpectedEof.into())),
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(e)),
            };
            // Only the first line matters; feed byte by byte up to its end.
            for (i, b) in buf[..n].iter().enumerate() {
                session.feed(std::slice::from_ref(b));
                if *b == b'\n' {
                    match session.poll() {
                        Some(Ok(ClientEvent::Ok { .. })) => {
                            rest.extend_from_slice(&buf[i + 1..n]);
                            break 'reply;
                        }
                        Some(Ok(ClientEvent::Err { text, .. })) => {
                            return Err(Error::AttachRefused(text));
                        }
                        Some(Err(e)) => return Err(e.into()),
                        Some(Ok(_)) | None => {}
                    }
                }
            }
        }
        Self::start(sock, what, &rest)
    }

    /// Starts the connection threads on a stream whose peer is attached;
    /// `rest` is what the peer already sent after its reply to `attach`.
    fn start(sock: Stream, what: &str, rest: &[u8]) -> Result<Self, Error> {
        let mut state = State::default();
        let mut chan = ChanState::attached(None);
        chan.feed(rest);
        state.channels.insert(0, chan);
        let conn = Conn::start(sock, state, false, what, |st, bytes| {
            if let Some(c) = st.channels.get_mut(&0) {
                match bytes {
                    Some(b) => c.feed(b),
                    None => c.feed_eof(),
                }
                st.touch(0);
            }
        })?;
        Ok(Self {
            channel: Channel::new(conn, 0, None),
        })
    }

    /// The attached session.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// The attached session, by value.
    pub fn into_channel(self) -> Channel {
        self.channel
    }
}
