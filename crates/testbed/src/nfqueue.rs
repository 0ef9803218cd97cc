//! The netlink messages of the kernel's `nfnetlink_queue` subsystem (NFQUEUE), as bytes.
//!
//! Only what the delay engine needs: binding a queue, setting its copy mode, length and
//! flags, receiving packet notifications, and sending (batch) verdicts. No I/O here;
//! [`crate::delay`] owns the socket.
//!
//! Layout (all from the Linux uapi headers, described in our words): every message is a
//! 16-byte netlink header (length, type, flags, sequence, port id; host byte order),
//! then for netfilter messages a 4-byte `nfgenmsg` (family, version, queue number in
//! network byte order), then attributes: 2-byte length, 2-byte type, value padded to
//! 4 bytes. Attribute values of this subsystem are in network byte order.

/// Netlink message type: no operation.
const NLMSG_NOOP: u16 = 1;
/// Netlink message type: error or acknowledgement.
const NLMSG_ERROR: u16 = 2;
/// Netlink message type: end of a dump.
const NLMSG_DONE: u16 = 3;
/// Netlink message type: data lost.
const NLMSG_OVERRUN: u16 = 4;

/// Request flag: this message is a request.
pub const NLM_F_REQUEST: u16 = 0x1;
/// Request flag: answer with an acknowledgement.
pub const NLM_F_ACK: u16 = 0x4;

const NFNL_SUBSYS_QUEUE: u16 = 3;
const NFQNL_MSG_PACKET: u16 = 0;
const NFQNL_MSG_VERDICT: u16 = 1;
const NFQNL_MSG_CONFIG: u16 = 2;
const NFQNL_MSG_VERDICT_BATCH: u16 = 3;

const NFQA_PACKET_HDR: u16 = 1;
const NFQA_VERDICT_HDR: u16 = 2;
const NFQA_IFINDEX_INDEV: u16 = 5;
const NFQA_IFINDEX_OUTDEV: u16 = 6;
const NFQA_PAYLOAD: u16 = 10;

const NFQA_CFG_CMD: u16 = 1;
const NFQA_CFG_PARAMS: u16 = 2;
const NFQA_CFG_QUEUE_MAXLEN: u16 = 3;
const NFQA_CFG_MASK: u16 = 4;
const NFQA_CFG_FLAGS: u16 = 5;

/// Configuration flag: accept packets instead of dropping them when the queue is full.
pub const NFQA_CFG_F_FAIL_OPEN: u32 = 0x1;
/// Configuration flag: deliver GSO packets whole instead of segmenting them first.
pub const NFQA_CFG_F_GSO: u32 = 0x4;

/// Attribute type bits that are flags, not part of the type.
const NLA_TYPE_MASK: u16 = 0x3fff;

const NLMSG_HDR_LEN: usize = 16;
const NFGEN_HDR_LEN: usize = 4;
const NLA_HDR_LEN: usize = 4;

/// Why bytes are not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than a header or a declared length needs.
    #[error("netlink message truncated: {needed} bytes needed, {have} present")]
    Truncated {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes present.
        have: usize,
    },
    /// A length field smaller than its own header.
    #[error("netlink length field {0} is smaller than its header")]
    BadLength(usize),
    /// A packet notification without its mandatory packet header attribute.
    #[error("NFQUEUE packet message without a packet header attribute")]
    MissingPacketHeader,
    /// A fixed-size attribute with the wrong size.
    #[error("NFQUEUE attribute {kind} has {len} bytes, expected {expected}")]
    BadAttribute {
        /// Attribute type.
        kind: u16,
        /// Its value length.
        len: usize,
        /// The length it must have.
        expected: usize,
    },
}

/// The netlink header fields a caller chooses or reads (the length and type are derived).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// `NLM_F_*` flags.
    pub flags: u16,
    /// Sequence number, echoed in acknowledgements.
    pub seq: u32,
    /// Port id of the sender (0 for the kernel).
    pub pid: u32,
}

/// A queue configuration command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigCommand {
    /// Bind this socket to the queue (fails with EBUSY if another socket holds it).
    Bind,
    /// Release the queue.
    Unbind,
    /// Any other command number.
    Other(u8),
}

impl ConfigCommand {
    fn to_u8(self) -> u8 {
        match self {
            Self::Bind => 1,
            Self::Unbind => 2,
            Self::Other(n) => n,
        }
    }

    fn from_u8(n: u8) -> Self {
        match n {
            1 => Self::Bind,
            2 => Self::Unbind,
            n => Self::Other(n),
        }
    }
}

/// How much of each packet the kernel copies into a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMode {
    /// Nothing (the queue is inactive).
    None,
    /// Metadata only: id, protocol, hook, interfaces. What the delay engine uses.
    Meta,
    /// Metadata and up to `range` bytes of the packet.
    Packet,
    /// Any other mode number.
    Other(u8),
}

impl CopyMode {
    fn to_u8(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Meta => 1,
            Self::Packet => 2,
            Self::Other(n) => n,
        }
    }

    fn from_u8(n: u8) -> Self {
        match n {
            0 => Self::None,
            1 => Self::Meta,
            2 => Self::Packet,
            n => Self::Other(n),
        }
    }
}

/// What to do with a queued packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let it continue through the stack.
    Accept,
    /// Drop it.
    Drop,
    /// Any other verdict number.
    Other(u32),
}

impl Verdict {
    fn to_u32(self) -> u32 {
        match self {
            Self::Drop => 0,
            Self::Accept => 1,
            Self::Other(n) => n,
        }
    }

    fn from_u32(n: u32) -> Self {
        match n {
            0 => Self::Drop,
            1 => Self::Accept,
            n => Self::Other(n),
        }
    }
}

/// A packet the kernel queued, as announced in a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo<'a> {
    /// Queue number.
    pub queue: u16,
    /// Packet id: increases by one per queued packet, the handle for verdicts.
    pub id: u32,
    /// Link-layer protocol (ethertype), e.g. 0x0800 for IPv4.
    pub hw_protocol: u16,
    /// Netfilter hook number where the packet was queued.
    pub hook: u8,
    /// Input interface index, when the kernel sent it.
    pub indev: Option<u32>,
    /// Output interface index, when the kernel sent it.
    pub outdev: Option<u32>,
    /// The packet bytes copied into the notification (from the IP header on), when the
    /// queue's copy mode asks for them.
    pub payload: Option<&'a [u8]>,
}

impl PacketInfo<'_> {
    /// Number of packet bytes copied into the notification, when any were.
    pub fn payload_len(&self) -> Option<usize> {
        self.payload.map(<[u8]>::len)
    }
}

/// One NFQUEUE-related netlink message. Packet bytes are borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Configure a queue (any combination of fields; absent ones are not sent).
    Config {
        /// Queue number.
        queue: u16,
        /// Bind or unbind.
        command: Option<ConfigCommand>,
        /// Copy mode and copy range in bytes.
        params: Option<(CopyMode, u32)>,
        /// Maximum number of packets held in the queue.
        max_len: Option<u32>,
        /// Flags to set and the mask of flags to change.
        flags: Option<(u32, u32)>,
    },
    /// A verdict on packet `id`, or with `batch` on every packet up to and including `id`.
    Verdict {
        /// Queue number.
        queue: u16,
        /// Packet id.
        id: u32,
        /// The verdict.
        verdict: Verdict,
        /// True for a batch verdict (all ids up to `id`).
        batch: bool,
        /// Replacement packet bytes (from the IP header on): the kernel sends these
        /// instead of the queued packet. Only single (non-batch) verdicts carry them.
        payload: Option<&'a [u8]>,
    },
    /// A queued packet.
    Packet(PacketInfo<'a>),
    /// An error (negative errno) or, when `errno` is 0, an acknowledgement of request `seq`.
    Error {
        /// 0 for an acknowledgement, else a negative errno.
        errno: i32,
        /// Sequence number of the request it answers.
        request_seq: u32,
    },
    /// `NLMSG_DONE`.
    Done,
    /// `NLMSG_NOOP`.
    Noop,
    /// `NLMSG_OVERRUN`.
    Overrun,
    /// Any other message type, kept by number only.
    Other(u16),
}

fn put_u16(buf: &mut Vec<u8>, v: u16) {
    buf.extend_from_slice(&v.to_ne_bytes());
}

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_ne_bytes());
}

fn put_attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let value = &value[..value.len().min(usize::from(u16::MAX) - NLA_HDR_LEN)];
    let len = NLA_HDR_LEN + value.len();
    put_u16(buf, len as u16);
    put_u16(buf, kind);
    buf.extend_from_slice(value);
    buf.resize(buf.len() + align4(len) - len, 0);
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn queue_type(msg: u16) -> u16 {
    (NFNL_SUBSYS_QUEUE << 8) | msg
}

/// Appends `msg` with header `hdr` to `buf` as one netlink message.
///
/// A payload longer than an attribute can hold (65531 bytes) is cut to fit.
pub fn emit(msg: &Message<'_>, hdr: Header, buf: &mut Vec<u8>) {
    let start = buf.len();
    put_u32(buf, 0); // length, patched below
    put_u16(buf, message_type(msg));
    put_u16(buf, hdr.flags);
    put_u32(buf, hdr.seq);
    put_u32(buf, hdr.pid);
    match *msg {
        Message::Config {
            queue,
            command,
            params,
            max_len,
            flags,
        } => {
            put_nfgen(buf, queue);
            if let Some(cmd) = command {
                put_attr(buf, NFQA_CFG_CMD, &[cmd.to_u8(), 0, 0, 0]);
            }
            if let Some((mode, range)) = params {
                let mut v = range.to_be_bytes().to_vec();
                v.push(mode.to_u8());
                put_attr(buf, NFQA_CFG_PARAMS, &v);
            }
            if let Some(max_len) = max_len {
                put_attr(buf, NFQA_CFG_QUEUE_MAXLEN, &max_len.to_be_bytes());
            }
            if let Some((value, mask)) = flags {
                put_attr(buf, NFQA_CFG_MASK, &mask.to_be_bytes());
                put_attr(buf, NFQA_CFG_FLAGS, &value.to_be_bytes());
            }
        }
        Message::Verdict {
            queue,
            id,
            verdict,
            payload,
            ..
        } => {
            put_nfgen(buf, queue);
            let mut v = verdict.to_u32().to_be_bytes().to_vec();
            v.extend_from_slice(&id.to_be_bytes());
            put_attr(buf, NFQA_VERDICT_HDR, &v);
            if let Some(p) = payload {
                put_attr(buf, NFQA_PAYLOAD, p);
            }
        }
        Message::Packet(p) => {
            put_nfgen(buf, p.queue);
            let mut v = p.id.to_be_bytes().to_vec();
            v.extend_from_slice(&p.hw_protocol.to_be_bytes());
            v.push(p.hook);
            put_attr(buf, NFQA_PACKET_HDR, &v);
            if let Some(i) = p.indev {
                put_attr(buf, NFQA_IFINDEX_INDEV, &i.to_be_bytes());
            }
            if let Some(i) = p.outdev {
                put_attr(buf, NFQA_IFINDEX_OUTDEV, &i.to_be_bytes());
            }
            if let Some(payload) = p.payload {
                put_attr(buf, NFQA_PAYLOAD, payload);
            }
        }
        Message::Error { errno, request_seq } => {
            buf.extend_from_slice(&errno.to_ne_bytes());
            // The echoed request header: only its sequence number matters to us.
            put_u32(buf, NLMSG_HDR_LEN as u32);
            put_u16(buf, 0);
            put_u16(buf, 0);
            put_u32(buf, request_seq);
            put_u32(buf, 0);
        }
        Message::Done => buf.extend_from_slice(&0i32.to_ne_bytes()),
        Message::Noop | Message::Overrun | Message::Other(_) => {}
    }
    let len = (buf.len() - start) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

fn put_nfgen(buf: &mut Vec<u8>, queue: u16) {
    buf.push(0); // AF_UNSPEC
    buf.push(0); // NFNETLINK_V0
    buf.extend_from_slice(&queue.to_be_bytes());
}

fn message_type(msg: &Message<'_>) -> u16 {
    match msg {
        Message::Config { .. } => queue_type(NFQNL_MSG_CONFIG),
        Message::Verdict { batch: false, .. } => queue_type(NFQNL_MSG_VERDICT),
        Message::Verdict { batch: true, .. } => queue_type(NFQNL_MSG_VERDICT_BATCH),
        Message::Packet(_) => queue_type(NFQNL_MSG_PACKET),
        Message::Error { .. } => NLMSG_ERROR,
        Message::Done => NLMSG_DONE,
        Message::Noop => NLMSG_NOOP,
        Message::Overrun => NLMSG_OVERRUN,
        Message::Other(t) => *t,
    }
}

/// An iterator over the messages of one received datagram.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
    failed: bool,
}

/// Iterates over the netlink messages in `datagram`. Stops after the first error.
pub fn parse(datagram: &[u8]) -> Messages<'_> {
    Messages {
        rest: datagram,
        failed: false,
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<(Header, Message<'a>), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        let result = parse_one(self.rest);
        match result {
            Ok((hdr, msg, used)) => {
                self.rest = self.rest.get(used..).unwrap_or(&[]);
                Some(Ok((hdr, msg)))
            }
            Err(err) => {
                self.failed = true;
                Some(Err(err))
            }
        }
    }
}

fn need(bytes: &[u8], needed: usize) -> Result<(), DecodeError> {
    if bytes.len() < needed {
        Err(DecodeError::Truncated {
            needed,
            have: bytes.len(),
        })
    } else {
        Ok(())
    }
}

fn ne_u16(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn ne_u32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses one message at the start of `bytes`; returns it and the bytes it used (aligned).
fn parse_one(bytes: &[u8]) -> Result<(Header, Message<'_>, usize), DecodeError> {
    need(bytes, NLMSG_HDR_LEN)?;
    let len = ne_u32(bytes, 0) as usize;
    if len < NLMSG_HDR_LEN {
        return Err(DecodeError::BadLength(len));
    }
    need(bytes, len)?;
    let kind = ne_u16(bytes, 4);
    let hdr = Header {
        flags: ne_u16(bytes, 6),
        seq: ne_u32(bytes, 8),
        pid: ne_u32(bytes, 12),
    };
    let body = &bytes[NLMSG_HDR_LEN..len];
    let msg = match kind {
        NLMSG_NOOP => Message::Noop,
        NLMSG_DONE => Message::Done,
        NLMSG_OVERRUN => Message::Overrun,
        NLMSG_ERROR => {
            need(body, 4)?;
            let errno = i32::from_ne_bytes([body[0], body[1], body[2], body[3]]);
            let request_seq = if body.len() >= 4 + NLMSG_HDR_LEN {
                ne_u32(body, 4 + 8)
            } else {
                0
            };
            Message::Error { errno, request_seq }
        }
        t if t == queue_type(NFQNL_MSG_PACKET) => Message::Packet(parse_packet(body)?),
        t if t == queue_type(NFQNL_MSG_CONFIG) => parse_config(body)?,
        t if t == queue_type(NFQNL_MSG_VERDICT) => parse_verdict(body, false)?,
        t if t == queue_type(NFQNL_MSG_VERDICT_BATCH) => parse_verdict(body, true)?,
        other => Message::Other(other),
    };
    Ok((hdr, msg, align4(len).min(bytes.len())))
}

/// Splits a netfilter body into its queue number and its attributes.
fn nfgen(body: &[u8]) -> Result<(u16, Attrs<'_>), DecodeError> {
    need(body, NFGEN_HDR_LEN)?;
    let queue = u16::from_be_bytes([body[2], body[3]]);
    Ok((
        queue,
        Attrs {
            rest: &body[NFGEN_HDR_LEN..],
        },
    ))
}

struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8]), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        if let Err(e) = need(self.rest, NLA_HDR_LEN) {
            self.rest = &[];
            return Some(Err(e));
        }
        let len = usize::from(ne_u16(self.rest, 0));
        let kind = ne_u16(self.rest, 2) & NLA_TYPE_MASK;
        if len < NLA_HDR_LEN {
            self.rest = &[];
            return Some(Err(DecodeError::BadLength(len)));
        }
        if let Err(e) = need(self.rest, len) {
            self.rest = &[];
            return Some(Err(e));
        }
        let value = &self.rest[NLA_HDR_LEN..len];
        self.rest = self.rest.get(align4(len)..).unwrap_or(&[]);
        Some(Ok((kind, value)))
    }
}

fn exact(kind: u16, value: &[u8], expected: usize) -> Result<(), DecodeError> {
    if value.len() == expected {
        Ok(())
    } else {
        Err(DecodeError::BadAttribute {
            kind,
            len: value.len(),
            expected,
        })
    }
}

fn parse_packet(body: &[u8]) -> Result<PacketInfo<'_>, DecodeError> {
    let (queue, attrs) = nfgen(body)?;
    let mut header = None;
    let mut info = PacketInfo {
        queue,
        id: 0,
        hw_protocol: 0,
        hook: 0,
        indev: None,
        outdev: None,
        payload: None,
    };
    for attr in attrs {
        let (kind, value) = attr?;
        match kind {
            NFQA_PACKET_HDR => {
                exact(kind, value, 7)?;
                header = Some((
                    be_u32(value, 0),
                    u16::from_be_bytes([value[4], value[5]]),
                    value[6],
                ));
            }
            NFQA_IFINDEX_INDEV => {
                exact(kind, value, 4)?;
                info.indev = Some(be_u32(value, 0));
            }
            NFQA_IFINDEX_OUTDEV => {
                exact(kind, value, 4)?;
                info.outdev = Some(be_u32(value, 0));
            }
            NFQA_PAYLOAD => info.payload = Some(value),
            _ => {}
        }
    }
    let (id, hw_protocol, hook) = header.ok_or(DecodeError::MissingPacketHeader)?;
    info.id = id;
    info.hw_protocol = hw_protocol;
    info.hook = hook;
    Ok(info)
}

fn parse_config(body: &[u8]) -> Result<Message<'_>, DecodeError> {
    let (queue, attrs) = nfgen(body)?;
    let mut command = None;
    let mut params = None;
    let mut max_len = None;
    let mut mask = None;
    let mut value = None;
    for attr in attrs {
        let (kind, v) = attr?;
        match kind {
            NFQA_CFG_CMD => {
                exact(kind, v, 4)?;
                command = Some(ConfigCommand::from_u8(v[0]));
            }
            NFQA_CFG_PARAMS => {
                exact(kind, v, 5)?;
                params = Some((CopyMode::from_u8(v[4]), be_u32(v, 0)));
            }
            NFQA_CFG_QUEUE_MAXLEN => {
                exact(kind, v, 4)?;
                max_len = Some(be_u32(v, 0));
            }
            NFQA_CFG_MASK => {
                exact(kind, v, 4)?;
                mask = Some(be_u32(v, 0));
            }
            NFQA_CFG_FLAGS => {
                exact(kind, v, 4)?;
                value = Some(be_u32(v, 0));
            }
            _ => {}
        }
    }
    let flags = match (value, mask) {
        (Some(v), Some(m)) => Some((v, m)),
        (Some(v), None) => Some((v, u32::MAX)),
        (None, _) => None,
    };
    Ok(Message::Config {
        queue,
        command,
        params,
        max_len,
        flags,
    })
}

fn parse_verdict(body: &[u8], batch: bool) -> Result<Message<'_>, DecodeError> {
    let (queue, attrs) = nfgen(body)?;
    let mut found = None;
    let mut payload = None;
    for attr in attrs {
        let (kind, v) = attr?;
        if kind == NFQA_VERDICT_HDR {
            exact(kind, v, 8)?;
            found = Some((Verdict::from_u32(be_u32(v, 0)), be_u32(v, 4)));
        } else if kind == NFQA_PAYLOAD {
            payload = Some(v);
        }
    }
    let (verdict, id) = found.ok_or(DecodeError::MissingPacketHeader)?;
    Ok(Message::Verdict {
        queue,
        id,
        verdict,
        batch,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(bytes: &[u8]) -> (Header, Message<'_>) {
        let mut it = parse(bytes);
        let first = it.next().unwrap().unwrap();
        assert!(it.next().is_none());
        first
    }

    #[test]
    fn bind_request_bytes() {
        let mut buf = Vec::new();
        let msg = Message::Config {
            queue: 7,
            command: Some(ConfigCommand::Bind),
            params: None,
            max_len: None,
            flags: None,
        };
        let hdr = Header {
            flags: NLM_F_REQUEST | NLM_F_ACK,
            seq: 1,
            pid: 0,
        };
        emit(&msg, hdr, &mut buf);
        let mut expected = Vec::new();
        expected.extend_from_slice(&28u32.to_ne_bytes());
        expected.extend_from_slice(&0x0302u16.to_ne_bytes());
        expected.extend_from_slice(&5u16.to_ne_bytes());
        expected.extend_from_slice(&1u32.to_ne_bytes());
        expected.extend_from_slice(&0u32.to_ne_bytes());
        expected.extend_from_slice(&[0, 0, 0, 7]);
        expected.extend_from_slice(&8u16.to_ne_bytes());
        expected.extend_from_slice(&1u16.to_ne_bytes());
        expected.extend_from_slice(&[1, 0, 0, 0]);
        assert_eq!(buf, expected);
        assert_eq!(one(&buf), (hdr, msg));
    }

    #[test]
    fn params_attribute_is_padded() {
        let mut buf = Vec::new();
        let msg = Message::Config {
            queue: 0,
            command: None,
            params: Some((CopyMode::Meta, 0)),
            max_len: Some(4096),
            flags: Some((NFQA_CFG_F_GSO, NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN)),
        };
        emit(&msg, Header::default(), &mut buf);
        // header 16 + nfgen 4 + params (4+5, padded to 12) + maxlen 8 + mask 8 + flags 8
        assert_eq!(buf.len(), 16 + 4 + 12 + 8 + 8 + 8);
        assert_eq!(&buf[20..32], &[9, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0][..]);
        assert_eq!(one(&buf).1, msg);
    }

    #[test]
    fn batch_verdict_bytes() {
        let mut buf = Vec::new();
        let msg = Message::Verdict {
            queue: 1,
            id: 0x0102_0304,
            verdict: Verdict::Accept,
            batch: true,
            payload: None,
        };
        emit(&msg, Header::default(), &mut buf);
        assert_eq!(u16::from_ne_bytes([buf[4], buf[5]]), 0x0303);
        assert_eq!(&buf[24..32], &[0, 0, 0, 1, 1, 2, 3, 4]);
        assert_eq!(one(&buf).1, msg);
    }

    #[test]
    fn kernel_style_packet_notification() {
        // A notification as the kernel builds it: packet header, then hook-specific attrs
        // with a nested-flag bit set on an unknown attribute, which must be skipped.
        let mut b = Vec::new();
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&0x0300u16.to_ne_bytes());
        b.extend_from_slice(&0u16.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&[2, 0, 0, 3]);
        b.extend_from_slice(&11u16.to_ne_bytes());
        b.extend_from_slice(&1u16.to_ne_bytes());
        b.extend_from_slice(&[0, 0, 0, 42, 0x86, 0xdd, 4, 0]);
        b.extend_from_slice(&8u16.to_ne_bytes());
        b.extend_from_slice(&(0x8000u16 | 0x000e).to_ne_bytes());
        b.extend_from_slice(&[0, 0, 0, 1]);
        b.extend_from_slice(&8u16.to_ne_bytes());
        b.extend_from_slice(&6u16.to_ne_bytes());
        b.extend_from_slice(&[0, 0, 0, 2]);
        let len = b.len() as u32;
        b[0..4].copy_from_slice(&len.to_ne_bytes());
        let (_, msg) = one(&b);
        assert_eq!(
            msg,
            Message::Packet(PacketInfo {
                queue: 3,
                id: 42,
                hw_protocol: 0x86dd,
                hook: 4,
                indev: None,
                outdev: Some(2),
                payload: None,
            })
        );
    }

    #[test]
    fn ack_and_error() {
        let mut buf = Vec::new();
        emit(
            &Message::Error {
                errno: 0,
                request_seq: 9,
            },
            Header::default(),
            &mut buf,
        );
        emit(
            &Message::Error {
                errno: -16,
                request_seq: 10,
            },
            Header::default(),
            &mut buf,
        );
        let all: Vec<_> = parse(&buf).map(|r| r.unwrap().1).collect();
        assert_eq!(
            all,
            vec![
                Message::Error {
                    errno: 0,
                    request_seq: 9
                },
                Message::Error {
                    errno: -16,
                    request_seq: 10
                }
            ]
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(matches!(
            parse(&[1, 2, 3]).next(),
            Some(Err(DecodeError::Truncated { .. }))
        ));
        let mut short = vec![0u8; 16];
        short[0..4].copy_from_slice(&8u32.to_ne_bytes());
        assert!(matches!(
            parse(&short).next(),
            Some(Err(DecodeError::BadLength(8)))
        ));
        let mut long = vec![0u8; 16];
        long[0..4].copy_from_slice(&64u32.to_ne_bytes());
        assert!(matches!(
            parse(&long).next(),
            Some(Err(DecodeError::Truncated { needed: 64, .. }))
        ));
        // A packet message without its header attribute.
        let mut b = vec![0u8; 20];
        b[0..4].copy_from_slice(&20u32.to_ne_bytes());
        b[4..6].copy_from_slice(&0x0300u16.to_ne_bytes());
        assert_eq!(
            parse(&b).next(),
            Some(Err(DecodeError::MissingPacketHeader))
        );
        // An attribute whose length runs past the message.
        let mut b = vec![0u8; 24];
        b[0..4].copy_from_slice(&24u32.to_ne_bytes());
        b[4..6].copy_from_slice(&0x0300u16.to_ne_bytes());
        b[20..22].copy_from_slice(&40u16.to_ne_bytes());
        assert!(matches!(
            parse(&b).next(),
            Some(Err(DecodeError::Truncated { .. }))
        ));
    }

    fn leak(v: Option<Vec<u8>>) -> Option<&'static [u8]> {
        v.map(|v| &*Box::leak(v.into_boxed_slice()))
    }

    fn any_message() -> impl Strategy<Value = Message<'static>> {
        let config = (
            any::<u16>(),
            proptest::option::of(any::<u8>().prop_map(ConfigCommand::from_u8)),
            proptest::option::of((any::<u8>().prop_map(CopyMode::from_u8), any::<u32>())),
            proptest::option::of(any::<u32>()),
            proptest::option::of((any::<u32>(), any::<u32>())),
        )
            .prop_map(|(queue, command, params, max_len, flags)| Message::Config {
                queue,
                command,
                params,
                max_len,
                flags,
            });
        let verdict = (
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        )
            .prop_map(|(queue, id, v, batch, payload)| Message::Verdict {
                queue,
                id,
                verdict: Verdict::from_u32(v),
                batch,
                payload: leak(payload),
            });
        let packet = (
            any::<u16>(),
            any::<u32>(),
            any::<u16>(),
            any::<u8>(),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        )
            .prop_map(|(queue, id, hw_protocol, hook, indev, outdev, payload)| {
                Message::Packet(PacketInfo {
                    queue,
                    id,
                    hw_protocol,
                    hook,
                    indev,
                    outdev,
                    payload: leak(payload),
                })
            });
        let error = (any::<i32>(), any::<u32>())
            .prop_map(|(errno, request_seq)| Message::Error { errno, request_seq });
        prop_oneof![
            config,
            verdict,
            packet,
            error,
            Just(Message::Done),
            Just(Message::Noop),
            Just(Message::Overrun),
            (0x0400u16..0x0500).prop_map(Message::Other),
        ]
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(
            msgs in proptest::collection::vec((any_message(), any::<u16>(), any::<u32>(), any::<u32>()), 1..5)
        ) {
            let mut buf = Vec::new();
            let mut expected = Vec::new();
            for (msg, flags, seq, pid) in msgs {
                let hdr = Header { flags, seq, pid };
                emit(&msg, hdr, &mut buf);
                expected.push((hdr, msg));
            }
            let parsed: Vec<_> = parse(&buf).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(parsed, expected);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            for item in parse(&bytes) {
                let _ = item;
            }
        }
    }
}
