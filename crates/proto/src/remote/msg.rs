//! Control-channel messages of the remote protocol (remote-protocol.md §2).

use super::{ChannelId, Error, Frame, MAX_PAYLOAD, Seq};
use std::fmt;

/// The type byte of a control message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MsgType {
    /// 0: VP → controller, start a new session.
    MasterNew,
    /// 1: controller → VP, the session's id string.
    MasterId,
    /// 2: controller → VP, open a channel (reliable).
    ChannelNew,
    /// 3: both, close a channel (reliable).
    ChannelFin,
    /// 4: both, keep the link alive.
    Keepalive,
    /// 5: both, acknowledge a reliable message.
    Ack,
    /// 6: VP → controller, resume a session.
    MasterRes,
    /// 7: controller → VP, refuse a resume.
    MasterRej,
    /// 8: controller → VP, accept a resume.
    MasterOk,
}

impl MsgType {
    /// The type from its byte.
    pub const fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            0 => Self::MasterNew,
            1 => Self::MasterId,
            2 => Self::ChannelNew,
            3 => Self::ChannelFin,
            4 => Self::Keepalive,
            5 => Self::Ack,
            6 => Self::MasterRes,
            7 => Self::MasterRej,
            8 => Self::MasterOk,
            _ => return None,
        })
    }

    /// The type byte.
    pub const fn to_u8(self) -> u8 {
        self as u8
    }

    /// The spec's name for the type.
    pub const fn name(self) -> &'static str {
        match self {
            Self::MasterNew => "MASTER_NEW",
            Self::MasterId => "MASTER_ID",
            Self::ChannelNew => "CHANNEL_NEW",
            Self::ChannelFin => "CHANNEL_FIN",
            Self::Keepalive => "KEEPALIVE",
            Self::Ack => "ACK",
            Self::MasterRes => "MASTER_RES",
            Self::MasterRej => "MASTER_REJ",
            Self::MasterOk => "MASTER_OK",
        }
    }
}

impl fmt::Display for MsgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A session's random magic (scamper uses 8 bytes; the protocol allows 1..=255).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Magic(Vec<u8>);

impl Magic {
    /// The usual 8-byte magic.
    pub fn new(bytes: [u8; 8]) -> Self {
        Self(bytes.to_vec())
    }

    /// A magic of any length from 1 to 255 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        (1..=255)
            .contains(&bytes.len())
            .then(|| Self(bytes.to_vec()))
    }

    /// The magic's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Magic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Magic(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// Checks a monitor name the way scamper (before sending) and sc_remoted (on
/// receipt) do: 1 to 254 characters of `[A-Za-z0-9.-]`.
pub fn validate_monitor_name(name: &str) -> Result<(), Error> {
    let bad = |why| Error::BadMonitorName {
        name: name.to_owned(),
        why,
    };
    if name.is_empty() {
        return Err(bad("it is empty (send no name instead)"));
    }
    if name.len() > 254 {
        return Err(bad("it is longer than 254 characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return Err(bad("only letters, digits, '.' and '-' are allowed"));
    }
    Ok(())
}

/// One control-channel message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ControlMsg {
    /// Start a new session: the VP's magic and monitor name (`-M`), if any.
    MasterNew {
        /// The session magic.
        magic: Magic,
        /// The monitor name.
        name: Option<String>,
    },
    /// The controller's id string for the session (`ip:port` of the VP).
    MasterId(String),
    /// Open a channel.
    ChannelNew(ChannelId),
    /// Close a channel.
    ChannelFin(ChannelId),
    /// Nothing; keeps the link alive.
    Keepalive,
    /// Acknowledges the reliable message with this sequence number.
    Ack(Seq),
    /// Resume a session.
    MasterRes {
        /// The session magic.
        magic: Magic,
        /// Next sequence number the VP expects.
        rcv_nxt: Seq,
        /// The VP's oldest unacknowledged sequence number (or `snd_nxt` if none).
        snd_una: Seq,
        /// The VP's next sequence number to assign.
        snd_nxt: Seq,
    },
    /// Resume refused.
    MasterRej,
    /// Resume accepted: next sequence number the controller expects.
    MasterOk(Seq),
}

impl ControlMsg {
    /// The message's type.
    pub const fn msg_type(&self) -> MsgType {
        match self {
            Self::MasterNew { .. } => MsgType::MasterNew,
            Self::MasterId(_) => MsgType::MasterId,
            Self::ChannelNew(_) => MsgType::ChannelNew,
            Self::ChannelFin(_) => MsgType::ChannelFin,
            Self::Keepalive => MsgType::Keepalive,
            Self::Ack(_) => MsgType::Ack,
            Self::MasterRes { .. } => MsgType::MasterRes,
            Self::MasterRej => MsgType::MasterRej,
            Self::MasterOk(_) => MsgType::MasterOk,
        }
    }

    /// Whether the message is numbered, acknowledged and retransmitted.
    pub const fn is_reliable(&self) -> bool {
        matches!(self, Self::ChannelNew(_) | Self::ChannelFin(_))
    }

    /// Appends the payload (type byte first) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.push(self.msg_type().to_u8());
        match self {
            Self::MasterNew { magic, name } => {
                push_magic(magic, out);
                match name {
                    None => out.push(0),
                    Some(n) => {
                        validate_monitor_name(n)?;
                        out.push((n.len() + 1) as u8);
                        out.extend_from_slice(n.as_bytes());
                        out.push(0);
                    }
                }
            }
            Self::MasterId(id) => {
                if id.len() > 254 || !id.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
                    return Err(Error::BadMasterId(
                        "it must be at most 254 printable characters",
                    ));
                }
                out.push((id.len() + 1) as u8);
                out.extend_from_slice(id.as_bytes());
                out.push(0);
            }
            Self::ChannelNew(c) | Self::ChannelFin(c) => out.extend_from_slice(&c.0.to_be_bytes()),
            Self::Keepalive | Self::MasterRej => {}
            Self::Ack(s) | Self::MasterOk(s) => out.extend_from_slice(&s.0.to_be_bytes()),
            Self::MasterRes {
                magic,
                rcv_nxt,
                snd_una,
                snd_nxt,
            } => {
                push_magic(magic, out);
                for s in [rcv_nxt, snd_una, snd_nxt] {
                    out.extend_from_slice(&s.0.to_be_bytes());
                }
            }
        }
        Ok(())
    }

    /// The payload bytes.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Parses a control-channel payload.
    pub fn parse(payload: &[u8]) -> Result<Self, Error> {
        let (&t, body) = payload
            .split_first()
            .ok_or(Error::EmptyControl { seq: Seq(0) })?;
        let ty = MsgType::from_u8(t).ok_or(Error::UnknownType(t))?;
        let mut r = Reader { ty, body, pos: 0 };
        let msg = match ty {
            MsgType::MasterNew => {
                let magic = r.magic()?;
                let name_len = usize::from(r.u8()?);
                let name = if name_len == 0 {
                    None
                } else {
                    let raw = r.bytes(name_len)?;
                    Some(parse_name(raw)?)
                };
                Self::MasterNew { magic, name }
            }
            MsgType::MasterId => {
                let id_len = usize::from(r.u8()?);
                let raw = r.bytes(id_len)?;
                let Some((&0, text)) = raw.split_last() else {
                    return Err(Error::BadMasterId(if raw.is_empty() {
                        "its length is zero"
                    } else {
                        "it is not NUL-terminated"
                    }));
                };
                if !text.iter().all(|b| (0x20..=0x7e).contains(b)) {
                    return Err(Error::BadMasterId("it contains non-printable bytes"));
                }
                Self::MasterId(String::from_utf8_lossy(text).into_owned())
            }
            MsgType::ChannelNew => Self::ChannelNew(ChannelId(r.u32()?)),
            MsgType::ChannelFin => Self::ChannelFin(ChannelId(r.u32()?)),
            MsgType::Keepalive => Self::Keepalive,
            MsgType::Ack => Self::Ack(Seq(r.u32()?)),
            MsgType::MasterRes => Self::MasterRes {
                magic: r.magic()?,
                rcv_nxt: Seq(r.u32()?),
                snd_una: Seq(r.u32()?),
                snd_nxt: Seq(r.u32()?),
            },
            MsgType::MasterRej => Self::MasterRej,
            MsgType::MasterOk => Self::MasterOk(Seq(r.u32()?)),
        };
        r.finish()?;
        Ok(msg)
    }
}

fn push_magic(magic: &Magic, out: &mut Vec<u8>) {
    out.push(magic.0.len() as u8);
    out.extend_from_slice(&magic.0);
}

fn parse_name(raw: &[u8]) -> Result<String, Error> {
    let lossy = || String::from_utf8_lossy(raw).into_owned();
    let Some((&0, text)) = raw.split_last() else {
        return Err(Error::BadMonitorName {
            name: lossy(),
            why: "it is not NUL-terminated",
        });
    };
    let name = String::from_utf8_lossy(text).into_owned();
    validate_monitor_name(&name)?;
    Ok(name)
}

struct Reader<'a> {
    ty: MsgType,
    body: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let have = self.body.len() - self.pos;
        if have < n {
            return Err(Error::Truncated {
                msg: self.ty,
                need: self.pos + n,
                have: self.body.len(),
            });
        }
        let out = &self.body[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.bytes(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn magic(&mut self) -> Result<Magic, Error> {
        let len = usize::from(self.u8()?);
        if len == 0 {
            return Err(Error::EmptyMagic(self.ty));
        }
        Ok(Magic(self.bytes(len)?.to_vec()))
    }

    fn finish(&self) -> Result<(), Error> {
        let extra = self.body.len() - self.pos;
        if extra > 0 {
            return Err(Error::TrailingBytes {
                msg: self.ty,
                extra,
            });
        }
        Ok(())
    }
}

/// The meaning of one frame: a control message or a slice of a channel's stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// A control-channel message.
    Control(ControlMsg),
    /// Bytes of a channel's control-protocol stream.
    Data {
        /// The channel (never 0).
        channel: ChannelId,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

impl Message {
    /// Whether the message is numbered, acknowledged and retransmitted.
    pub const fn is_reliable(&self) -> bool {
        match self {
            Self::Control(c) => c.is_reliable(),
            Self::Data { .. } => true,
        }
    }

    /// Interprets a frame.
    pub fn from_frame(frame: &Frame) -> Result<Self, Error> {
        if frame.channel.is_control() {
            if frame.payload.is_empty() {
                return Err(Error::EmptyControl { seq: frame.seq });
            }
            ControlMsg::parse(&frame.payload).map(Self::Control)
        } else {
            Ok(Self::Data {
                channel: frame.channel,
                bytes: frame.payload.clone(),
            })
        }
    }

    /// The frame carrying this message with sequence number `seq`.
    pub fn to_frame(&self, seq: Seq) -> Result<Frame, Error> {
        let (channel, payload) = match self {
            Self::Control(c) => (ChannelId::CONTROL, c.encode()?),
            Self::Data { channel, bytes } => {
                if channel.is_control() {
                    return Err(Error::UnknownChannel {
                        what: "channel data",
                        channel: *channel,
                    });
                }
                (*channel, bytes.clone())
            }
        };
        if payload.len() > MAX_PAYLOAD {
            return Err(Error::PayloadTooLong { len: payload.len() });
        }
        Ok(Frame {
            seq,
            channel,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;

    fn magic() -> Magic {
        Magic::new(hex!("a1b2c3d4e5f60718"))
    }

    fn frame(seq: u32, msg: ControlMsg) -> Vec<u8> {
        Message::Control(msg)
            .to_frame(Seq(seq))
            .unwrap()
            .encode()
            .unwrap()
    }

    /// remote-protocol.md §7, every control frame, both ways.
    #[test]
    fn spec_example_frames() {
        let cases: Vec<(Vec<u8>, u32, ControlMsg)> = vec![
            (
                hex!("00000000 00000000 0017 00 08 a1b2c3d4e5f60718 0c 7670312e6578616d706c6500")
                    .to_vec(),
                0,
                ControlMsg::MasterNew {
                    magic: magic(),
                    name: Some("vp1.example".into()),
                },
            ),
            (
                hex!("00000000 00000000 0016 01 14 3139382e35312e3130302e35353a343030303000")
                    .to_vec(),
                0,
                ControlMsg::MasterId("198.51.100.55:40000".into()),
            ),
            (
                hex!("00000000 00000000 0005 02 00000001").to_vec(),
                0,
                ControlMsg::ChannelNew(ChannelId(1)),
            ),
            (
                hex!("00000000 00000000 0005 05 00000000").to_vec(),
                0,
                ControlMsg::Ack(Seq(0)),
            ),
            (
                hex!("00000001 00000000 0005 05 00000000").to_vec(),
                1,
                ControlMsg::Ack(Seq(0)),
            ),
            (
                hex!("00000005 00000000 0005 05 00000001").to_vec(),
                5,
                ControlMsg::Ack(Seq(1)),
            ),
            (
                hex!("00000009 00000000 0005 03 00000001").to_vec(),
                9,
                ControlMsg::ChannelFin(ChannelId(1)),
            ),
            (
                hex!("0000000a 00000000 0001 04").to_vec(),
                10,
                ControlMsg::Keepalive,
            ),
            (
                hex!("00000000 00000000 0016 06 08 a1b2c3d4e5f60718 00000002 00000005 00000007")
                    .to_vec(),
                0,
                ControlMsg::MasterRes {
                    magic: magic(),
                    rcv_nxt: Seq(2),
                    snd_una: Seq(5),
                    snd_nxt: Seq(7),
                },
            ),
            (
                hex!("00000000 00000000 0005 08 00000006").to_vec(),
                0,
                ControlMsg::MasterOk(Seq(6)),
            ),
        ];
        for (bytes, seq, msg) in cases {
            assert_eq!(frame(seq, msg.clone()), bytes, "{msg:?}");
            let mut d = super::super::FrameDecoder::new();
            d.feed(&bytes);
            let f = d.poll().unwrap().unwrap();
            assert_eq!(f.seq, Seq(seq));
            assert_eq!(Message::from_frame(&f).unwrap(), Message::Control(msg));
        }
        let data = Message::Data {
            channel: ChannelId(1),
            bytes: b"ping -c 1 192.0.2.1\n".to_vec(),
        };
        assert_eq!(
            data.to_frame(Seq(1)).unwrap().encode().unwrap(),
            hex!("00000001 00000001 0014 70696e67202d632031203139322e302e322e310a")
        );
        assert_eq!(
            frame(0, ControlMsg::MasterRej),
            hex!("00000000 00000000 0001 07")
        );
        assert_eq!(
            frame(
                0,
                ControlMsg::MasterNew {
                    magic: magic(),
                    name: None
                }
            ),
            hex!("00000000 00000000 000b 00 08 a1b2c3d4e5f60718 00")
        );
    }

    #[test]
    fn garbage_gives_specific_errors() {
        use Error as E;
        assert_eq!(ControlMsg::parse(&[9]), Err(E::UnknownType(9)));
        assert_eq!(
            ControlMsg::parse(&[4, 0]),
            Err(E::TrailingBytes {
                msg: MsgType::Keepalive,
                extra: 1
            })
        );
        assert_eq!(
            ControlMsg::parse(&[5, 0, 0]),
            Err(E::Truncated {
                msg: MsgType::Ack,
                need: 4,
                have: 2
            })
        );
        assert_eq!(
            ControlMsg::parse(&[0, 0, 0]),
            Err(E::EmptyMagic(MsgType::MasterNew))
        );
        assert!(matches!(
            ControlMsg::parse(&[0, 1, 7, 2, b'a', b'b']),
            Err(E::BadMonitorName { .. })
        ));
        assert!(matches!(
            ControlMsg::parse(&[0, 1, 7, 3, b'a', b'_', 0]),
            Err(E::BadMonitorName { .. })
        ));
        assert!(matches!(
            ControlMsg::parse(&[0, 1, 7, 1, 0]),
            Err(E::BadMonitorName { .. })
        ));
        assert_eq!(
            ControlMsg::parse(&[1, 0]),
            Err(E::BadMasterId("its length is zero"))
        );
        assert_eq!(
            ControlMsg::parse(&[1, 2, b'a', b'b']),
            Err(E::BadMasterId("it is not NUL-terminated"))
        );
        assert_eq!(
            ControlMsg::parse(&[1, 2, 7, 0]),
            Err(E::BadMasterId("it contains non-printable bytes"))
        );
        assert_eq!(
            ControlMsg::parse(&[1, 1, 0]),
            Ok(ControlMsg::MasterId(String::new()))
        );
        assert!(validate_monitor_name(&"a".repeat(254)).is_ok());
        assert!(validate_monitor_name(&"a".repeat(255)).is_err());
        let long = ControlMsg::MasterNew {
            magic: magic(),
            name: Some("a".repeat(255)),
        };
        assert!(long.encode().is_err());
    }

    pub(crate) fn any_control() -> impl Strategy<Value = ControlMsg> {
        let magic = proptest::collection::vec(any::<u8>(), 1..=255).prop_map(Magic);
        let seq = any::<u32>().prop_map(Seq);
        prop_oneof![
            (magic.clone(), proptest::option::of("[A-Za-z0-9.-]{1,254}"))
                .prop_map(|(magic, name)| ControlMsg::MasterNew { magic, name }),
            "[ -~]{0,254}".prop_map(ControlMsg::MasterId),
            any::<u32>().prop_map(|c| ControlMsg::ChannelNew(ChannelId(c))),
            any::<u32>().prop_map(|c| ControlMsg::ChannelFin(ChannelId(c))),
            Just(ControlMsg::Keepalive),
            seq.clone().prop_map(ControlMsg::Ack),
            (magic, seq.clone(), seq.clone(), seq.clone()).prop_map(
                |(magic, rcv_nxt, snd_una, snd_nxt)| {
                    ControlMsg::MasterRes {
                        magic,
                        rcv_nxt,
                        snd_una,
                        snd_nxt,
                    }
                }
            ),
            Just(ControlMsg::MasterRej),
            seq.prop_map(ControlMsg::MasterOk),
        ]
    }

    proptest! {
        #[test]
        fn control_round_trip(msg in any_control(), seq in any::<u32>()) {
            let f = Message::Control(msg.clone()).to_frame(Seq(seq)).unwrap();
            let bytes = f.encode().unwrap();
            let mut d = super::super::FrameDecoder::new();
            d.feed(&bytes);
            let back = d.poll().unwrap().unwrap();
            prop_assert_eq!(Message::from_frame(&back).unwrap(), Message::Control(msg));
        }

        #[test]
        fn parse_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(m) = ControlMsg::parse(&payload) {
                prop_assert_eq!(m.encode().unwrap(), payload);
            }
        }
    }
}
