//! Sans-IO state machines for the two ends of a remote link (remote-protocol.md §3–§4).

use super::{ChannelId, ControlMsg, Error, Frame, MAX_PAYLOAD, Magic, Message, MsgType, Seq};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// A side sends KEEPALIVE when it has written nothing for this long (in GO mode).
pub const KEEPALIVE_AFTER: Duration = Duration::from_secs(30);
/// A side declares the link dead when it has read nothing for this long.
pub const ABORT_AFTER: Duration = Duration::from_secs(60);
/// The controller drops a connection that has not said hello this long after accept.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// The liveness timers of one end of a link (§4.2): when to send KEEPALIVE and
/// when to declare a silent peer dead. The defaults are scamper's (30 s, 60 s);
/// tests and deployments behind NATs that drop idle flows may shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timers {
    /// Send KEEPALIVE when nothing was written for this long (GO mode only).
    pub keepalive: Duration,
    /// Declare the link dead when nothing was read for this long.
    pub silence: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            keepalive: KEEPALIVE_AFTER,
            silence: ABORT_AFTER,
        }
    }
}

/// The reserved channel that carries Vantage's VP metadata (the VP's policy
/// and its hash) from a Vantage probe to the controller: reliable data frames
/// on a channel the controller never opens. Old controllers drop data for a
/// channel they do not know (after acknowledging it); the controller never
/// sends on it, so old VPs never see it. See [`VpMeta`].
pub const META_CHANNEL: ChannelId = ChannelId(u32::MAX);

/// Longest value accepted in a [`VpMeta`] record (a policy is a few KiB).
pub const MAX_META_VALUE: usize = 1 << 20;

/// What a Vantage probe tells the controller about itself on [`META_CHANNEL`],
/// once per new session. The byte stream is a sequence of records
/// `KEY SP LEN LF` followed by `LEN` bytes of value and an `LF`; the keys
/// known today are `policy` (the policy file's text, UTF-8) and `policy-hash`
/// (its hash, lowercase hex); unknown keys are skipped; the record `end 0`
/// closes one publication.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct VpMeta {
    /// The VP policy's text, as the probe loaded it.
    pub policy: Option<String>,
    /// The policy's hash (the probe's choice of hash, documented with it).
    pub policy_hash: Option<String>,
}

impl VpMeta {
    /// The bytes of one publication.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rec = |k: &str, v: &[u8]| {
            out.extend_from_slice(format!("{k} {}\n", v.len()).as_bytes());
            out.extend_from_slice(v);
            out.push(b'\n');
        };
        if let Some(h) = &self.policy_hash {
            rec("policy-hash", h.as_bytes());
        }
        if let Some(p) = &self.policy {
            rec("policy", p.as_bytes());
        }
        rec("end", b"");
        out
    }
}

/// Reassembles [`VpMeta`] publications from the bytes of [`META_CHANNEL`].
#[derive(Debug, Clone, Default)]
pub struct VpMetaDecoder {
    buf: Vec<u8>,
    cur: VpMeta,
    failed: bool,
}

impl VpMetaDecoder {
    /// Adds bytes; returns every publication completed by them. A malformed
    /// stream yields [`Error::BadMeta`] once, then nothing more.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<VpMeta>, Error> {
        if self.failed {
            return Ok(Vec::new());
        }
        self.buf.extend_from_slice(bytes);
        let mut done = Vec::new();
        loop {
            let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
                if self.buf.len() > 64 {
                    return Err(self.fail("record header longer than 64 bytes"));
                }
                return Ok(done);
            };
            let head = std::str::from_utf8(&self.buf[..nl]).map_err(|_| ());
            let Some((key, len)) = head
                .ok()
                .and_then(|h| h.split_once(' '))
                .and_then(|(k, l)| Some((k.to_owned(), l.parse::<usize>().ok()?)))
            else {
                return Err(self.fail("record header is not `KEY LEN`"));
            };
            if len > MAX_META_VALUE {
                return Err(self.fail("value longer than 1 MiB"));
            }
            let total = nl + 1 + len + 1;
            if self.buf.len() < total {
                return Ok(done);
            }
            if self.buf[total - 1] != b'\n' {
                return Err(self.fail("value not followed by a line feed"));
            }
            let value = self.buf[nl + 1..nl + 1 + len].to_vec();
            self.buf.drain(..total);
            let text = || String::from_utf8_lossy(&value).into_owned();
            match key.as_str() {
                "policy" => self.cur.policy = Some(text()),
                "policy-hash" => self.cur.policy_hash = Some(text()),
                "end" => done.push(std::mem::take(&mut self.cur)),
                _ => {}
            }
        }
    }

    fn fail(&mut self, why: &'static str) -> Error {
        self.failed = true;
        self.buf = Vec::new();
        Error::BadMeta(why)
    }
}

/// How long a VP waits before reconnecting (§4.3): immediately after a silence
/// timeout, otherwise 30 s plus `jitter` seconds (taken modulo 32, so pass any
/// random number).
pub fn reconnect_delay(after_silence: bool, jitter: u32) -> Duration {
    if after_silence {
        Duration::ZERO
    } else {
        Duration::from_secs(30 + u64::from(jitter % 32))
    }
}

/// Sequence numbers, the unacknowledged FIFO and the transmit queue: the part of
/// §3 both ends share.
#[derive(Debug, Clone, Default)]
struct Core {
    snd_nxt: Seq,
    rcv_nxt: Seq,
    unacked: VecDeque<Frame>,
    out: VecDeque<Frame>,
    go: bool,
    last_read: Option<Instant>,
    last_write: Option<Instant>,
    timers: Timers,
}

impl Core {
    fn snd_una(&self) -> Seq {
        self.unacked.front().map_or(self.snd_nxt, |f| f.seq)
    }

    fn send_reliable(&mut self, channel: ChannelId, payload: Vec<u8>) {
        let frame = Frame {
            seq: self.snd_nxt,
            channel,
            payload,
        };
        self.snd_nxt = self.snd_nxt.next();
        if self.go {
            self.out.push_back(frame.clone());
        }
        self.unacked.push_back(frame);
    }

    fn send_data(&mut self, channel: ChannelId, bytes: &[u8]) {
        for chunk in bytes.chunks(MAX_PAYLOAD) {
            self.send_reliable(channel, chunk.to_vec());
        }
    }

    fn control_frame(seq: Seq, msg: &ControlMsg) -> Frame {
        let mut payload = Vec::with_capacity(16);
        // Only fixed-size messages and already-validated strings are sent from here.
        let _ = msg.encode_into(&mut payload);
        Frame {
            seq,
            channel: ChannelId::CONTROL,
            payload,
        }
    }

    fn send_unreliable(&mut self, msg: &ControlMsg) {
        if self.go {
            self.out.push_back(Self::control_frame(self.snd_nxt, msg));
        }
    }

    /// Handshake messages travel with seq 0, whatever the mode.
    fn send_handshake(&mut self, msg: &ControlMsg) {
        self.out.push_back(Self::control_frame(Seq(0), msg));
    }

    /// §3 receive rules for an established link: the frame must carry `rcv_nxt`;
    /// reliable ones are acknowledged at once; ACKs retire the FIFO head.
    fn receive(&mut self, frame: &Frame) -> Result<Message, Error> {
        if frame.seq != self.rcv_nxt {
            return Err(Error::SeqMismatch {
                expected: self.rcv_nxt,
                got: frame.seq,
            });
        }
        let msg = Message::from_frame(frame)?;
        if msg.is_reliable() {
            self.rcv_nxt = self.rcv_nxt.next();
            self.send_unreliable(&ControlMsg::Ack(frame.seq));
        }
        if let Message::Control(ControlMsg::Ack(s)) = msg {
            match self.unacked.front() {
                Some(f) if f.seq == s => {
                    self.unacked.pop_front();
                }
                other => {
                    return Err(Error::UnexpectedAck {
                        got: s,
                        oldest: other.map(|f| f.seq),
                    });
                }
            }
        }
        Ok(msg)
    }

    /// Whether the peer's `rcv_nxt` lies within what we sent: `[snd_una, snd_nxt]`.
    fn acceptable_resume_point(&self, peer_rcv_nxt: Seq) -> bool {
        peer_rcv_nxt.within(self.snd_una(), self.snd_nxt)
    }

    /// Drops what the peer already has (seq < `peer_rcv_nxt`) and queues the rest
    /// for retransmission with their original sequence numbers.
    fn trim_and_retransmit(&mut self, peer_rcv_nxt: Seq) {
        let n = peer_rcv_nxt.since(self.snd_una()) as usize;
        self.unacked.drain(..n.min(self.unacked.len()));
        self.out.extend(self.unacked.iter().cloned());
    }

    fn link_down(&mut self) {
        self.go = false;
        self.out.clear();
        self.last_read = None;
        self.last_write = None;
    }

    fn reset(&mut self) {
        *self = Self {
            timers: self.timers,
            ..Self::default()
        };
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Frame> {
        let f = self.out.pop_front()?;
        self.last_write = Some(now);
        Some(f)
    }

    fn abort_at(&self) -> Option<Instant> {
        self.last_read.map(|t| t + self.timers.silence)
    }

    fn keepalive_at(&self) -> Option<Instant> {
        if self.go {
            self.last_write.map(|t| t + self.timers.keepalive)
        } else {
            None
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match (self.abort_at(), self.keepalive_at()) {
            (Some(a), Some(k)) => Some(a.min(k)),
            (a, k) => a.or(k),
        }
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        if self.abort_at().is_some_and(|t| now >= t) {
            return Err(Error::Silent(self.timers.silence));
        }
        if self.keepalive_at().is_some_and(|t| now >= t) && self.out.is_empty() {
            self.send_unreliable(&ControlMsg::Keepalive);
            // Counts as written once queued, so the keepalive is not queued twice.
            self.last_write = Some(now);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct ChanState {
    fin_sent: bool,
    fin_rcvd: bool,
}

/// Where a [`VpLink`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VpState {
    /// No connection.
    Disconnected,
    /// MASTER_NEW sent, waiting for MASTER_ID.
    AwaitingId,
    /// MASTER_RES sent, waiting for MASTER_OK or MASTER_REJ.
    AwaitingResume,
    /// Session established: channels and data flow.
    Go,
}

/// Something the VP's daemon must act on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VpEvent {
    /// A new session is established; `alias` is the controller's id string.
    Established {
        /// The MASTER_ID string (`ip:port` as the controller sees us).
        alias: String,
    },
    /// The session was resumed; retransmissions are queued.
    Resumed,
    /// The controller refused to resume. Close the connection, call
    /// [`VpLink::replace_magic`] with a fresh random magic and reconnect later.
    Rejected,
    /// The controller opened a channel: start an attached, warts-format client on it.
    ChannelOpened(ChannelId),
    /// The controller closed a channel: finish and abandon its source, send its
    /// cycle-stop record, then call [`VpLink::close_channel`].
    ChannelFinished(ChannelId),
    /// Bytes for a channel's control-protocol parser.
    Data {
        /// The channel.
        channel: ChannelId,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// The session is gone: free the clients of these channels.
    ChannelsDropped(Vec<ChannelId>),
}

/// The VP's end of a remote link (scamper's `-R`), without I/O.
///
/// Drive it with [`VpLink::connect`] after each TCP/TLS connection is up,
/// [`VpLink::handle_frame`] for every frame received, [`VpLink::link_down`] when
/// the connection is lost, and [`VpLink::handle_timeout`] at
/// [`VpLink::poll_timeout`]. Write out every frame from [`VpLink::poll_transmit`]
/// and act on [`VpLink::poll_event`]. A `handle_*` error means: drop the connection
/// and call `link_down`; the session resumes on the next connection if it can.
#[derive(Debug, Clone)]
pub struct VpLink {
    core: Core,
    magic: Magic,
    name: Option<String>,
    alias: Option<String>,
    state: VpState,
    resume_allowed: bool,
    magic_rejected: bool,
    channels: BTreeMap<ChannelId, ChanState>,
    highest_channel: u32,
    events: VecDeque<VpEvent>,
}

impl VpLink {
    /// A link with this session magic (8 random bytes, chosen once per controller
    /// when the probe starts) and monitor name (`-M`), if any.
    pub fn new(magic: Magic, monitor_name: Option<String>) -> Result<Self, Error> {
        if let Some(n) = &monitor_name {
            super::validate_monitor_name(n)?;
        }
        Ok(Self {
            core: Core::default(),
            magic,
            name: monitor_name,
            alias: None,
            state: VpState::Disconnected,
            resume_allowed: false,
            magic_rejected: false,
            channels: BTreeMap::new(),
            highest_channel: 0,
            events: VecDeque::new(),
        })
    }

    /// Replaces the liveness timers (default [`Timers::default`]).
    pub fn set_timers(&mut self, timers: Timers) {
        self.core.timers = timers;
    }

    /// Queues a [`VpMeta`] publication on [`META_CHANNEL`] (reliable, so it
    /// survives a resume). Call it after [`VpEvent::Established`]; only a
    /// Vantage controller reads it.
    pub fn publish_meta(&mut self, meta: &VpMeta) -> Result<(), Error> {
        if self.state != VpState::Go {
            return Err(Error::WrongState {
                action: "publish metadata",
                state: "before the session is established",
            });
        }
        self.core.send_data(META_CHANNEL, &meta.encode());
        Ok(())
    }

    /// Where the link stands.
    pub fn state(&self) -> VpState {
        self.state
    }

    /// The controller's id string for this session, once established.
    pub fn alias(&self) -> Option<&str> {
        self.alias.as_deref()
    }

    /// The session magic.
    pub fn magic(&self) -> &Magic {
        &self.magic
    }

    /// Whether the next connection will try to resume.
    pub fn resume_allowed(&self) -> bool {
        self.resume_allowed
    }

    /// Channels currently open.
    pub fn channels(&self) -> impl Iterator<Item = ChannelId> + '_ {
        self.channels.keys().copied()
    }

    /// Next sequence number to assign.
    pub fn snd_nxt(&self) -> Seq {
        self.core.snd_nxt
    }

    /// Next sequence number expected.
    pub fn rcv_nxt(&self) -> Seq {
        self.core.rcv_nxt
    }

    /// Reliable messages sent and not yet acknowledged.
    pub fn unacked(&self) -> usize {
        self.core.unacked.len()
    }

    /// Sets a fresh magic after a rejection (or at any time no session exists).
    pub fn replace_magic(&mut self, magic: Magic) -> Result<(), Error> {
        if self.resume_allowed {
            return Err(Error::WrongState {
                action: "replace the magic",
                state: "while a resumable session exists",
            });
        }
        self.magic = magic;
        self.magic_rejected = false;
        Ok(())
    }

    /// A new connection is up (TLS done, if any): queue MASTER_RES if the session
    /// can be resumed, else MASTER_NEW.
    pub fn connect(&mut self, now: Instant) -> Result<(), Error> {
        if self.state != VpState::Disconnected {
            return Err(Error::WrongState {
                action: "connect",
                state: "while a connection is active (call link_down first)",
            });
        }
        if self.magic_rejected {
            return Err(Error::MagicRejected);
        }
        self.core.link_down();
        if self.resume_allowed {
            let msg = ControlMsg::MasterRes {
                magic: self.magic.clone(),
                rcv_nxt: self.core.rcv_nxt,
                snd_una: self.core.snd_una(),
                snd_nxt: self.core.snd_nxt,
            };
            self.core.send_handshake(&msg);
            self.state = VpState::AwaitingResume;
        } else {
            self.drop_session();
            let msg = ControlMsg::MasterNew {
                magic: self.magic.clone(),
                name: self.name.clone(),
            };
            self.core.send_handshake(&msg);
            self.state = VpState::AwaitingId;
        }
        self.core.last_read = Some(now);
        self.core.last_write = Some(now);
        Ok(())
    }

    fn drop_session(&mut self) {
        self.core.reset();
        self.alias = None;
        self.highest_channel = 0;
        let dropped: Vec<ChannelId> = std::mem::take(&mut self.channels).into_keys().collect();
        if !dropped.is_empty() {
            self.events.push_back(VpEvent::ChannelsDropped(dropped));
        }
    }

    /// The connection was lost (error, EOF, timeout, or after a `handle_*` error).
    /// Keeps channels and sequence state if the session can be resumed; otherwise
    /// drops them (reported as [`VpEvent::ChannelsDropped`]).
    pub fn link_down(&mut self) {
        self.core.link_down();
        self.state = VpState::Disconnected;
        if !self.resume_allowed {
            self.drop_session();
        }
    }

    /// Processes one frame from the controller.
    pub fn handle_frame(&mut self, now: Instant, frame: &Frame) -> Result<(), Error> {
        self.core.last_read = Some(now);
        match self.state {
            VpState::Disconnected => Err(Error::WrongState {
                action: "handle a frame",
                state: "while disconnected",
            }),
            VpState::AwaitingId => match handshake(frame)? {
                ControlMsg::MasterId(alias) => {
                    self.alias = Some(alias.clone());
                    self.resume_allowed = true;
                    self.state = VpState::Go;
                    self.core.go = true;
                    self.events.push_back(VpEvent::Established { alias });
                    Ok(())
                }
                other => Err(Error::UnexpectedMessage {
                    msg: other.msg_type(),
                    state: "while waiting for MASTER_ID",
                }),
            },
            VpState::AwaitingResume => match handshake(frame)? {
                ControlMsg::MasterOk(n) => {
                    if !self.core.acceptable_resume_point(n) {
                        return Err(Error::ResumeOutOfWindow {
                            got: n,
                            snd_una: self.core.snd_una(),
                            snd_nxt: self.core.snd_nxt,
                        });
                    }
                    self.core.go = true;
                    self.core.trim_and_retransmit(n);
                    self.state = VpState::Go;
                    self.events.push_back(VpEvent::Resumed);
                    Ok(())
                }
                ControlMsg::MasterRej => {
                    self.resume_allowed = false;
                    self.magic_rejected = true;
                    self.drop_session();
                    self.state = VpState::Disconnected;
                    self.events.push_back(VpEvent::Rejected);
                    Ok(())
                }
                other => Err(Error::UnexpectedMessage {
                    msg: other.msg_type(),
                    state: "while waiting for MASTER_OK or MASTER_REJ",
                }),
            },
            VpState::Go => {
                let msg = self.core.receive(frame)?;
                self.on_message(msg)
            }
        }
    }

    fn on_message(&mut self, msg: Message) -> Result<(), Error> {
        match msg {
            Message::Data { channel, bytes } => {
                if self.channels.get(&channel).is_some_and(|c| !c.fin_rcvd) && !bytes.is_empty() {
                    self.events.push_back(VpEvent::Data { channel, bytes });
                }
            }
            Message::Control(ControlMsg::ChannelNew(c)) => {
                if c.is_control() {
                    return Err(Error::ZeroChannel(MsgType::ChannelNew));
                }
                if c == META_CHANNEL {
                    return Err(Error::ReservedChannel(c));
                }
                if self.channels.contains_key(&c) {
                    return Err(Error::ChannelExists(c));
                }
                self.channels.insert(c, ChanState::default());
                self.highest_channel = self.highest_channel.max(c.0);
                self.events.push_back(VpEvent::ChannelOpened(c));
            }
            Message::Control(ControlMsg::ChannelFin(c)) => match self.channels.get_mut(&c) {
                Some(st) if !st.fin_rcvd => {
                    st.fin_rcvd = true;
                    if st.fin_sent {
                        self.channels.remove(&c);
                    }
                    self.events.push_back(VpEvent::ChannelFinished(c));
                }
                // A FIN crossing ours for a channel we already closed: nothing to do.
                None if !c.is_control() && c.0 <= self.highest_channel => {}
                _ => {
                    return Err(Error::UnknownChannel {
                        what: "CHANNEL_FIN",
                        channel: c,
                    });
                }
            },
            Message::Control(ControlMsg::Ack(_) | ControlMsg::Keepalive) => {}
            Message::Control(other) => {
                return Err(Error::UnexpectedMessage {
                    msg: other.msg_type(),
                    state: "once the session is established",
                });
            }
        }
        Ok(())
    }

    fn open_for_sending(&self, channel: ChannelId) -> Result<(), Error> {
        match self.channels.get(&channel) {
            None => Err(Error::UnknownChannel {
                what: "sending",
                channel,
            }),
            Some(st) if st.fin_sent => Err(Error::ChannelClosed(channel)),
            Some(_) => Ok(()),
        }
    }

    /// Queues bytes of a channel's output (split into frames of at most 65535
    /// bytes). While disconnected they wait for the resume.
    pub fn send_data(&mut self, channel: ChannelId, bytes: &[u8]) -> Result<(), Error> {
        self.open_for_sending(channel)?;
        self.core.send_data(channel, bytes);
        Ok(())
    }

    /// Closes a channel from our side (after `done` and its cycle-stop record, or
    /// after [`VpEvent::ChannelFinished`]): queues CHANNEL_FIN.
    pub fn close_channel(&mut self, channel: ChannelId) -> Result<(), Error> {
        self.open_for_sending(channel)?;
        self.core.send_reliable(
            ChannelId::CONTROL,
            ControlMsg::ChannelFin(channel).encode()?,
        );
        // Once we have sent FIN the channel is gone for us; a crossing FIN from
        // the controller is tolerated (see `on_message`).
        self.channels.remove(&channel);
        Ok(())
    }

    /// The next frame to write, if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Frame> {
        self.core.poll_transmit(now)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<VpEvent> {
        self.events.pop_front()
    }

    /// When [`VpLink::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == VpState::Disconnected {
            None
        } else {
            self.core.poll_timeout()
        }
    }

    /// Queues a KEEPALIVE when 30 s passed without writing; fails with
    /// [`Error::Silent`] when 60 s passed without reading (reconnect at once).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        if self.state == VpState::Disconnected {
            return Ok(());
        }
        self.core.handle_timeout(now)
    }
}

/// Checks a handshake frame (control channel, seq 0) and parses it.
fn handshake(frame: &Frame) -> Result<ControlMsg, Error> {
    if frame.seq != Seq(0) {
        return Err(Error::SeqMismatch {
            expected: Seq(0),
            got: frame.seq,
        });
    }
    match Message::from_frame(frame)? {
        Message::Control(c) => Ok(c),
        Message::Data { channel, .. } => Err(Error::UnknownChannel {
            what: "data during the handshake",
            channel,
        }),
    }
}

/// A VP's resume request, as carried by MASTER_RES.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResumeRequest {
    /// The session magic.
    pub magic: Magic,
    /// Next sequence number the VP expects from the controller.
    pub rcv_nxt: Seq,
    /// The VP's oldest unacknowledged sequence number.
    pub snd_una: Seq,
    /// The VP's next sequence number to assign.
    pub snd_nxt: Seq,
}

/// The first message of a VP connection, as the controller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Hello {
    /// MASTER_NEW: a new session.
    New {
        /// The session magic.
        magic: Magic,
        /// The monitor name, if any.
        name: Option<String>,
    },
    /// MASTER_RES: resume the session with this magic.
    Resume(ResumeRequest),
}

impl Hello {
    /// Parses a connection's first frame. Anything but MASTER_NEW or MASTER_RES on
    /// the control channel with seq 0 is an error (sc_remoted drops the connection
    /// without a reply).
    pub fn parse(frame: &Frame) -> Result<Self, Error> {
        match handshake(frame)? {
            ControlMsg::MasterNew { magic, name } => Ok(Self::New { magic, name }),
            ControlMsg::MasterRes {
                magic,
                rcv_nxt,
                snd_una,
                snd_nxt,
            } => Ok(Self::Resume(ResumeRequest {
                magic,
                rcv_nxt,
                snd_una,
                snd_nxt,
            })),
            other => Err(Error::UnexpectedMessage {
                msg: other.msg_type(),
                state: "as the first message of a connection",
            }),
        }
    }
}

/// Something the controller's daemon must act on for one VP.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ControllerEvent {
    /// Bytes the VP wrote on a channel (relay them to the channel's user).
    Data {
        /// The channel.
        channel: ChannelId,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// The VP closed a channel (tell the user: CHANNEL_CLOSE on the mux, or close
    /// its per-VP socket after writing what is queued).
    ChannelFinished(ChannelId),
    /// A Vantage VP published its metadata on [`META_CHANNEL`].
    Meta(VpMeta),
    /// The VP's metadata stream is malformed (further metadata is ignored; the
    /// link itself is fine).
    BadMeta(String),
}

/// The controller's record of one VP session (sc_remoted's side), without I/O.
///
/// Created by [`ControllerLink::accept_new`] when a connection's [`Hello`] is
/// `New`; a later connection whose hello is `Resume` with the same magic is
/// attached with [`ControllerLink::resume`]. While no connection is attached
/// (a zombie), channels can still be opened and written to: the messages wait in
/// the retransmission queue.
#[derive(Debug, Clone)]
pub struct ControllerLink {
    core: Core,
    magic: Magic,
    name: Option<String>,
    id_string: String,
    last_channel: u32,
    channels: BTreeMap<ChannelId, ChanState>,
    events: VecDeque<ControllerEvent>,
    meta: VpMetaDecoder,
}

impl ControllerLink {
    /// Accepts a new session: queues MASTER_ID(`id_string`, the VP's `ip:port`)
    /// and enters GO mode.
    pub fn accept_new(
        now: Instant,
        magic: Magic,
        name: Option<String>,
        id_string: String,
    ) -> Result<Self, Error> {
        let mut core = Core::default();
        let id = ControlMsg::MasterId(id_string.clone());
        id.encode()?;
        core.send_handshake(&id);
        core.go = true;
        core.last_read = Some(now);
        core.last_write = Some(now);
        Ok(Self {
            core,
            magic,
            name,
            id_string,
            last_channel: 0,
            channels: BTreeMap::new(),
            events: VecDeque::new(),
            meta: VpMetaDecoder::default(),
        })
    }

    /// The frame that refuses a resume (MASTER_REJ); write it on the new
    /// connection, then close that connection.
    pub fn reject_frame() -> Frame {
        Core::control_frame(Seq(0), &ControlMsg::MasterRej)
    }

    /// The session magic.
    pub fn magic(&self) -> &Magic {
        &self.magic
    }

    /// Replaces the liveness timers (default [`Timers::default`]).
    pub fn set_timers(&mut self, timers: Timers) {
        self.core.timers = timers;
    }

    /// The VP's monitor name, if it sent one.
    pub fn monitor_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The id string sent in MASTER_ID.
    pub fn id_string(&self) -> &str {
        &self.id_string
    }

    /// Whether a connection is attached.
    pub fn is_connected(&self) -> bool {
        self.core.go
    }

    /// Channels currently open.
    pub fn channels(&self) -> impl Iterator<Item = ChannelId> + '_ {
        self.channels.keys().copied()
    }

    /// Next sequence number to assign.
    pub fn snd_nxt(&self) -> Seq {
        self.core.snd_nxt
    }

    /// Next sequence number expected.
    pub fn rcv_nxt(&self) -> Seq {
        self.core.rcv_nxt
    }

    /// Reliable messages sent and not yet acknowledged.
    pub fn unacked(&self) -> usize {
        self.core.unacked.len()
    }

    /// Attaches a new connection whose hello was MASTER_RES (any previous
    /// connection is considered gone). On success MASTER_OK and every
    /// unacknowledged message are queued, and the new peer address becomes the
    /// id string. On [`Error::ResumeRefused`] write [`ControllerLink::reject_frame`]
    /// on the new connection and close it; this record is unchanged.
    pub fn resume(
        &mut self,
        now: Instant,
        req: &ResumeRequest,
        id_string: String,
    ) -> Result<(), Error> {
        if req.magic != self.magic {
            return Err(Error::ResumeRefused(
                "the magic does not match this session",
            ));
        }
        if req.rcv_nxt != self.core.snd_nxt
            && !self.core.unacked.iter().any(|f| f.seq == req.rcv_nxt)
        {
            return Err(Error::ResumeRefused(
                "the VP expects a message the controller no longer holds",
            ));
        }
        if !self.core.rcv_nxt.within(req.snd_una, req.snd_nxt) {
            return Err(Error::ResumeRefused(
                "the controller's position is outside the VP's unacknowledged window",
            ));
        }
        self.core.link_down();
        self.id_string = id_string;
        self.core
            .send_handshake(&ControlMsg::MasterOk(self.core.rcv_nxt));
        self.core.go = true;
        self.core.trim_and_retransmit(req.rcv_nxt);
        self.core.last_read = Some(now);
        self.core.last_write = Some(now);
        Ok(())
    }

    /// The connection was lost: the session becomes a zombie, keeping channels,
    /// sequence state and the retransmission queue.
    pub fn link_down(&mut self) {
        self.core.link_down();
    }

    /// Opens a channel to the VP: allocates the next channel number (from 1,
    /// skipping 0 on wrap) and queues CHANNEL_NEW.
    pub fn open_channel(&mut self) -> ChannelId {
        loop {
            self.last_channel = self.last_channel.wrapping_add(1);
            let c = ChannelId(self.last_channel);
            if !c.is_control() && c != META_CHANNEL && !self.channels.contains_key(&c) {
                self.channels.insert(c, ChanState::default());
                let _ = self.send_control(&ControlMsg::ChannelNew(c));
                return c;
            }
        }
    }

    fn send_control(&mut self, msg: &ControlMsg) -> Result<(), Error> {
        self.core.send_reliable(ChannelId::CONTROL, msg.encode()?);
        Ok(())
    }

    /// Queues bytes a user wrote for a channel.
    pub fn send_data(&mut self, channel: ChannelId, bytes: &[u8]) -> Result<(), Error> {
        match self.channels.get(&channel) {
            None => Err(Error::UnknownChannel {
                what: "sending",
                channel,
            }),
            Some(st) if st.fin_sent || st.fin_rcvd => Err(Error::ChannelClosed(channel)),
            Some(_) => {
                self.core.send_data(channel, bytes);
                Ok(())
            }
        }
    }

    /// The channel's user went away: queue CHANNEL_FIN unless either side already
    /// sent one. The channel is forgotten once the VP's FIN arrives (or at once if
    /// it already has).
    pub fn close_channel(&mut self, channel: ChannelId) -> Result<(), Error> {
        let Some(st) = self.channels.get_mut(&channel) else {
            return Err(Error::UnknownChannel {
                what: "closing",
                channel,
            });
        };
        if st.fin_rcvd {
            self.channels.remove(&channel);
            return Ok(());
        }
        if !st.fin_sent {
            st.fin_sent = true;
            self.send_control(&ControlMsg::ChannelFin(channel))?;
        }
        Ok(())
    }

    /// Processes one frame from the VP (after the hello).
    pub fn handle_frame(&mut self, now: Instant, frame: &Frame) -> Result<(), Error> {
        if !self.core.go {
            return Err(Error::WrongState {
                action: "handle a frame",
                state: "while no connection is attached",
            });
        }
        self.core.last_read = Some(now);
        match self.core.receive(frame)? {
            Message::Data { channel, bytes } if channel == META_CHANNEL => {
                match self.meta.feed(&bytes) {
                    Ok(metas) => self
                        .events
                        .extend(metas.into_iter().map(ControllerEvent::Meta)),
                    Err(e) => self
                        .events
                        .push_back(ControllerEvent::BadMeta(e.to_string())),
                }
            }
            Message::Data { channel, bytes } => {
                if self.channels.contains_key(&channel) && !bytes.is_empty() {
                    self.events
                        .push_back(ControllerEvent::Data { channel, bytes });
                }
            }
            Message::Control(ControlMsg::ChannelFin(c)) => {
                // sc_remoted ignores a FIN for an unknown channel.
                // The VP sends its FIN last: nothing more will come on the channel.
                if self.channels.remove(&c).is_some() {
                    self.events.push_back(ControllerEvent::ChannelFinished(c));
                }
            }
            Message::Control(ControlMsg::Ack(_) | ControlMsg::Keepalive) => {}
            Message::Control(other) => {
                return Err(Error::UnexpectedMessage {
                    msg: other.msg_type(),
                    state: "from a VP in GO mode",
                });
            }
        }
        Ok(())
    }

    /// The next frame to write, if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Frame> {
        self.core.poll_transmit(now)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ControllerEvent> {
        self.events.pop_front()
    }

    /// When [`ControllerLink::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.poll_timeout()
    }

    /// Queues a KEEPALIVE when 30 s passed without writing; fails with
    /// [`Error::Silent`] when 60 s passed without reading (then call
    /// [`ControllerLink::link_down`]: the VP becomes a zombie).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        self.core.handle_timeout(now)
    }
}

#[cfg(test)]
mod tests;
