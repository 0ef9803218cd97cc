//! Mux control messages and the VP_UPDATE attribute encoding.

use super::frame::HEADER_LEN;
use super::{Error, MuxChannelId, VpId};
use crate::meta::VpMeta;
use std::fmt;
use std::net::IpAddr;

/// sc_remoted does not send a VP_UPDATE (frame header included) above this size.
pub const MAX_VP_UPDATE: usize = 1024;

/// The `u16 type` of a mux control message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MuxType {
    /// 0: controller → client, a VP and its attributes.
    VpUpdate,
    /// 1: controller → client, a VP is gone.
    VpDepart,
    /// 2: controller → client, the initial VP list is complete.
    Go,
    /// 3: client → controller, open a channel to a VP.
    ChannelOpen,
    /// 4: controller → client, a channel was closed by the VP.
    ChannelClose,
    /// 100 (Vantage extension): controller → client, a VP's policy text.
    VpPolicy,
    /// Any other type (ignored by receivers).
    Other(u16),
}

impl MuxType {
    /// The type from its code.
    pub const fn from_u16(v: u16) -> Self {
        match v {
            0 => Self::VpUpdate,
            1 => Self::VpDepart,
            2 => Self::Go,
            3 => Self::ChannelOpen,
            4 => Self::ChannelClose,
            100 => Self::VpPolicy,
            other => Self::Other(other),
        }
    }

    /// The type's code.
    pub const fn to_u16(self) -> u16 {
        match self {
            Self::VpUpdate => 0,
            Self::VpDepart => 1,
            Self::Go => 2,
            Self::ChannelOpen => 3,
            Self::ChannelClose => 4,
            Self::VpPolicy => 100,
            Self::Other(v) => v,
        }
    }
}

impl fmt::Display for MuxType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::VpUpdate => f.write_str("VP_UPDATE"),
            Self::VpDepart => f.write_str("VP_DEPART"),
            Self::Go => f.write_str("GO"),
            Self::ChannelOpen => f.write_str("CHANNEL_OPEN"),
            Self::ChannelClose => f.write_str("CHANNEL_CLOSE"),
            Self::VpPolicy => f.write_str("VP_POLICY"),
            Self::Other(v) => write!(f, "mux message type {v}"),
        }
    }
}

/// A VP_UPDATE attribute code (the code, not sc_remoted's stale comment, is
/// authoritative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrKind {
    /// 1: monitor name.
    Name,
    /// 2: arrival time, `"<sec>.<usec>"`.
    Arrival,
    /// 3: IPv4 peer address.
    Ipv4,
    /// 4: metadata `asn4`.
    Ipv4Asn,
    /// 5: metadata `cc`.
    Cc,
    /// 6: metadata `st`.
    St,
    /// 7: metadata `place`.
    Place,
    /// 8: metadata `latlong`.
    Latlong,
    /// 9: metadata `shortname`.
    Shortname,
    /// 10: metadata `tag` (repeatable).
    Tag,
    /// 11: metadata `iata`.
    Iata,
    /// 12: IPv6 peer address.
    Ipv6,
    /// 13: metadata `asn6`.
    Ipv6Asn,
    /// 100 (Vantage extension): the hash of the VP's policy (lowercase hex).
    PolicyHash,
    /// Any other code (ignored by clients).
    Other(u16),
}

impl AttrKind {
    /// The kind from its code.
    pub const fn from_u16(v: u16) -> Self {
        match v {
            1 => Self::Name,
            2 => Self::Arrival,
            3 => Self::Ipv4,
            4 => Self::Ipv4Asn,
            5 => Self::Cc,
            6 => Self::St,
            7 => Self::Place,
            8 => Self::Latlong,
            9 => Self::Shortname,
            10 => Self::Tag,
            11 => Self::Iata,
            12 => Self::Ipv6,
            13 => Self::Ipv6Asn,
            100 => Self::PolicyHash,
            other => Self::Other(other),
        }
    }

    /// The kind's code.
    pub const fn to_u16(self) -> u16 {
        match self {
            Self::Name => 1,
            Self::Arrival => 2,
            Self::Ipv4 => 3,
            Self::Ipv4Asn => 4,
            Self::Cc => 5,
            Self::St => 6,
            Self::Place => 7,
            Self::Latlong => 8,
            Self::Shortname => 9,
            Self::Tag => 10,
            Self::Iata => 11,
            Self::Ipv6 => 12,
            Self::Ipv6Asn => 13,
            Self::PolicyHash => 100,
            Self::Other(v) => v,
        }
    }
}

/// One VP_UPDATE attribute: a code and a string (NUL-terminated on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VpAttr {
    /// The attribute code.
    pub kind: AttrKind,
    /// The value (bytes that are not UTF-8 are replaced when decoding).
    pub value: String,
}

impl VpAttr {
    /// An attribute.
    pub fn new(kind: AttrKind, value: impl Into<String>) -> Self {
        Self {
            kind,
            value: value.into(),
        }
    }
}

/// A VP_UPDATE: a VP id and its attributes, in wire order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct VpUpdate {
    /// The VP.
    pub vp_id: VpId,
    /// Its attributes.
    pub attrs: Vec<VpAttr>,
}

/// One mux control message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MuxControl {
    /// A VP arrived (or is listed at connection start).
    VpUpdate(VpUpdate),
    /// A VP was freed; clients ignore unknown ids (`VP_DEPART(0)` is common).
    VpDepart(VpId),
    /// The initial list of VPs is complete.
    Go,
    /// Open `channel` (client-chosen) to VP `vp_id`.
    ChannelOpen {
        /// The VP.
        vp_id: VpId,
        /// The client's channel id.
        channel: MuxChannelId,
    },
    /// The VP closed the channel; report EOF for it.
    ChannelClose(MuxChannelId),
    /// (Vantage extension, type 100) The policy text a VP published. Sent
    /// before the VP_UPDATE that carries its hash; old clients ignore it.
    VpPolicy {
        /// The VP.
        vp_id: VpId,
        /// The policy text (UTF-8, to the end of the payload).
        text: String,
    },
    /// A type this implementation does not know, kept verbatim.
    Unknown {
        /// The type code.
        kind: u16,
        /// The payload after the type.
        body: Vec<u8>,
    },
}

impl MuxControl {
    /// The message's type.
    pub const fn msg_type(&self) -> MuxType {
        match self {
            Self::VpUpdate(_) => MuxType::VpUpdate,
            Self::VpDepart(_) => MuxType::VpDepart,
            Self::Go => MuxType::Go,
            Self::ChannelOpen { .. } => MuxType::ChannelOpen,
            Self::ChannelClose(_) => MuxType::ChannelClose,
            Self::VpPolicy { .. } => MuxType::VpPolicy,
            Self::Unknown { kind, .. } => MuxType::from_u16(*kind),
        }
    }

    /// Appends the payload (type first, no frame header).
    pub fn encode_payload(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(&self.msg_type().to_u16().to_be_bytes());
        match self {
            Self::VpUpdate(u) => {
                out.extend_from_slice(&u.vp_id.0.to_be_bytes());
                for a in &u.attrs {
                    if a.value.as_bytes().contains(&0) {
                        return Err(Error::ValueHasNul(a.kind));
                    }
                    out.extend_from_slice(&a.kind.to_u16().to_be_bytes());
                    out.extend_from_slice(a.value.as_bytes());
                    out.push(0);
                }
            }
            Self::VpDepart(id) => out.extend_from_slice(&id.0.to_be_bytes()),
            Self::Go => {}
            Self::ChannelOpen { vp_id, channel } => {
                out.extend_from_slice(&vp_id.0.to_be_bytes());
                out.extend_from_slice(&channel.0.to_be_bytes());
            }
            Self::ChannelClose(c) => out.extend_from_slice(&c.0.to_be_bytes()),
            Self::VpPolicy { vp_id, text } => {
                out.extend_from_slice(&vp_id.0.to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            Self::Unknown { body, .. } => out.extend_from_slice(body),
        }
        Ok(())
    }

    /// Appends the whole frame (channel 0). A VP_UPDATE above [`MAX_VP_UPDATE`]
    /// bytes is refused, as sc_remoted refuses to send it.
    pub fn encode_frame(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut payload = Vec::new();
        self.encode_payload(&mut payload)?;
        let total = HEADER_LEN + payload.len();
        if matches!(self, Self::VpUpdate(_)) && total > MAX_VP_UPDATE {
            return Err(Error::VpUpdateTooLarge { len: total });
        }
        let len = u32::try_from(payload.len())
            .map_err(|_| Error::PayloadTooLong { len: payload.len() })?;
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&payload);
        Ok(())
    }

    /// The whole frame's bytes.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode_frame(&mut out)?;
        Ok(out)
    }

    /// Parses a channel-0 payload (type first).
    pub fn parse(payload: &[u8]) -> Result<Self, Error> {
        let Some((ty, body)) = payload.split_first_chunk::<2>() else {
            return Err(Error::ControlTooShort {
                len: payload.len() as u32,
            });
        };
        let kind = u16::from_be_bytes(*ty);
        let ty = MuxType::from_u16(kind);
        let fixed = |n: usize| -> Result<(), Error> {
            match body.len().cmp(&n) {
                std::cmp::Ordering::Less => Err(Error::Truncated {
                    msg: ty,
                    need: n,
                    have: body.len(),
                }),
                std::cmp::Ordering::Greater => Err(Error::TrailingBytes {
                    msg: ty,
                    extra: body.len() - n,
                }),
                std::cmp::Ordering::Equal => Ok(()),
            }
        };
        let u32_at =
            |i: usize| u32::from_be_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]);
        Ok(match ty {
            MuxType::VpUpdate => {
                if body.len() < 4 {
                    return Err(Error::Truncated {
                        msg: ty,
                        need: 4,
                        have: body.len(),
                    });
                }
                let vp_id = VpId(u32_at(0));
                let mut rest = &body[4..];
                let mut attrs = Vec::new();
                while !rest.is_empty() {
                    let Some((code, after)) = rest.split_first_chunk::<2>() else {
                        return Err(Error::AttrTruncated);
                    };
                    let code = u16::from_be_bytes(*code);
                    let Some(nul) = after.iter().position(|&b| b == 0) else {
                        return Err(Error::AttrNotTerminated { code });
                    };
                    attrs.push(VpAttr {
                        kind: AttrKind::from_u16(code),
                        value: String::from_utf8_lossy(&after[..nul]).into_owned(),
                    });
                    rest = &after[nul + 1..];
                }
                Self::VpUpdate(VpUpdate { vp_id, attrs })
            }
            MuxType::VpDepart => {
                fixed(4)?;
                Self::VpDepart(VpId(u32_at(0)))
            }
            MuxType::Go => {
                fixed(0)?;
                Self::Go
            }
            MuxType::ChannelOpen => {
                fixed(8)?;
                Self::ChannelOpen {
                    vp_id: VpId(u32_at(0)),
                    channel: MuxChannelId(u32_at(4)),
                }
            }
            MuxType::ChannelClose => {
                fixed(4)?;
                Self::ChannelClose(MuxChannelId(u32_at(0)))
            }
            MuxType::VpPolicy => {
                if body.len() < 4 {
                    return Err(Error::Truncated {
                        msg: ty,
                        need: 4,
                        have: body.len(),
                    });
                }
                Self::VpPolicy {
                    vp_id: VpId(u32_at(0)),
                    text: String::from_utf8_lossy(&body[4..]).into_owned(),
                }
            }
            MuxType::Other(kind) => Self::Unknown {
                kind,
                body: body.to_vec(),
            },
        })
    }
}

/// A VP as a client sees it: the typed view of a VP_UPDATE.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct VpInfo {
    /// The VP's id on the controller.
    pub id: VpId,
    /// Monitor name (NAME).
    pub name: Option<String>,
    /// Arrival time, `"<sec>.<usec>"` (ARRIVAL).
    pub arrival: Option<String>,
    /// IPv4 peer address (IPV4).
    pub ipv4: Option<String>,
    /// IPv6 peer address (IPV6).
    pub ipv6: Option<String>,
    /// Metadata `asn4`.
    pub asn4: Option<String>,
    /// Metadata `asn6`.
    pub asn6: Option<String>,
    /// Metadata `latlong`.
    pub latlong: Option<String>,
    /// Metadata `cc`.
    pub cc: Option<String>,
    /// Metadata `st`.
    pub st: Option<String>,
    /// Metadata `place`.
    pub place: Option<String>,
    /// Metadata `shortname`.
    pub shortname: Option<String>,
    /// Metadata `iata`.
    pub iata: Option<String>,
    /// Metadata `tag`s, in order.
    pub tags: Vec<String>,
    /// The hash of the VP's policy, if it published one (Vantage extension:
    /// VP_UPDATE attribute 100; the probe hashes the canonical form of the
    /// policy, see docs/controller.md).
    pub policy_hash: Option<String>,
    /// The VP's policy text (Vantage extension: the VP_POLICY message). Not
    /// part of the VP_UPDATE; the client library fills it in.
    pub policy: Option<String>,
}

impl VpInfo {
    /// What sc_remoted announces for a VP: its monitor name (if any), arrival
    /// time, peer address and, when the metadata file has an entry for the
    /// monitor name, that entry.
    pub fn announce(
        id: VpId,
        monitor_name: Option<&str>,
        arrival_sec: u64,
        arrival_usec: u32,
        peer: IpAddr,
        meta: Option<&VpMeta>,
    ) -> Self {
        let mut info = Self {
            id,
            name: monitor_name.map(str::to_owned),
            arrival: Some(format!("{arrival_sec}.{arrival_usec:06}")),
            ..Self::default()
        };
        match peer {
            IpAddr::V4(a) => info.ipv4 = Some(a.to_string()),
            IpAddr::V6(a) => info.ipv6 = Some(a.to_string()),
        }
        if let Some(m) = meta {
            info.asn4.clone_from(&m.asn4);
            info.asn6.clone_from(&m.asn6);
            info.latlong.clone_from(&m.latlong);
            info.cc.clone_from(&m.cc);
            info.st.clone_from(&m.st);
            info.place.clone_from(&m.place);
            info.shortname.clone_from(&m.shortname);
            info.iata.clone_from(&m.iata);
            info.tags.clone_from(&m.tags);
        }
        info
    }

    /// Reads a VP_UPDATE as libscamperctrl does: a repeated scalar keeps its last
    /// value, tags accumulate, unknown codes are ignored.
    pub fn from_update(u: &VpUpdate) -> Self {
        let mut info = Self {
            id: u.vp_id,
            ..Self::default()
        };
        for a in &u.attrs {
            let v = Some(a.value.clone());
            match a.kind {
                AttrKind::Name => info.name = v,
                AttrKind::Arrival => info.arrival = v,
                AttrKind::Ipv4 => info.ipv4 = v,
                AttrKind::Ipv6 => info.ipv6 = v,
                AttrKind::Ipv4Asn => info.asn4 = v,
                AttrKind::Ipv6Asn => info.asn6 = v,
                AttrKind::Latlong => info.latlong = v,
                AttrKind::Cc => info.cc = v,
                AttrKind::St => info.st = v,
                AttrKind::Place => info.place = v,
                AttrKind::Shortname => info.shortname = v,
                AttrKind::Iata => info.iata = v,
                AttrKind::Tag => info.tags.push(a.value.clone()),
                AttrKind::PolicyHash => info.policy_hash = v,
                AttrKind::Other(_) => {}
            }
        }
        info
    }

    /// The VP_UPDATE for this VP, attributes in sc_remoted's order: NAME,
    /// ARRIVAL, IPV4/IPV6, IPV4_ASN, IPV6_ASN, LATLONG, CC, ST, PLACE, SHORTNAME,
    /// IATA, POLICY_HASH (Vantage), then one TAG per tag. The policy text is
    /// not part of it (see [`MuxControl::VpPolicy`]).
    pub fn to_update(&self) -> VpUpdate {
        let scalars = [
            (AttrKind::Name, &self.name),
            (AttrKind::Arrival, &self.arrival),
            (AttrKind::Ipv4, &self.ipv4),
            (AttrKind::Ipv6, &self.ipv6),
            (AttrKind::Ipv4Asn, &self.asn4),
            (AttrKind::Ipv6Asn, &self.asn6),
            (AttrKind::Latlong, &self.latlong),
            (AttrKind::Cc, &self.cc),
            (AttrKind::St, &self.st),
            (AttrKind::Place, &self.place),
            (AttrKind::Shortname, &self.shortname),
            (AttrKind::Iata, &self.iata),
            (AttrKind::PolicyHash, &self.policy_hash),
        ];
        let mut attrs: Vec<VpAttr> = scalars
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| VpAttr::new(k, v.clone())))
            .collect();
        attrs.extend(
            self.tags
                .iter()
                .map(|t| VpAttr::new(AttrKind::Tag, t.clone())),
        );
        VpUpdate {
            vp_id: self.id,
            attrs,
        }
    }

    /// The name libscamperctrl shows for an instance: NAME, else IPV4, else IPV6.
    pub fn display_name(&self) -> Option<&str> {
        self.name
            .as_deref()
            .or(self.ipv4.as_deref())
            .or(self.ipv6.as_deref())
    }

    /// Whether `name` selects this VP in `mux/NAME` (its NAME or SHORTNAME, exactly).
    pub fn matches_name(&self, name: &str) -> bool {
        self.name.as_deref() == Some(name) || self.shortname.as_deref() == Some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MuxDecoder, MuxEvent, encode_data};
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;

    const SPEC_VP_UPDATE: [u8; 94] = hex!(
        "00000000 00000056 0000 00000001"
        "0001 7670312e6578616d706c6500"
        "0002 313730303030303030302e31323334353600"
        "0003 3139382e35312e3130302e353500"
        "0004 363434393600"
        "0005 6e7a00"
        "0009 76703100"
        "000a 6f733a6c696e757800"
    );

    fn spec_info() -> VpInfo {
        let meta = crate::meta::Metadata::parse(
            b"vp1.example asn4 64496\nvp1.example cc nz\nvp1.example shortname vp1\nvp1.example tag os:linux\n",
        )
        .unwrap();
        VpInfo::announce(
            VpId(1),
            Some("vp1.example"),
            1_700_000_000,
            123_456,
            "198.51.100.55".parse().unwrap(),
            meta.get("vp1.example"),
        )
    }

    /// remote-protocol.md §7, the mux side, both ways.
    #[test]
    fn spec_example_mux_messages() {
        let info = spec_info();
        let update = MuxControl::VpUpdate(info.to_update());
        assert_eq!(update.encode().unwrap(), SPEC_VP_UPDATE);
        assert_eq!(
            MuxControl::Go.encode().unwrap(),
            hex!("00000000 00000002 0002")
        );
        let open = MuxControl::ChannelOpen {
            vp_id: VpId(1),
            channel: MuxChannelId(1),
        };
        assert_eq!(
            open.encode().unwrap(),
            hex!("00000000 0000000a 0003 00000001 00000001")
        );
        let close = MuxControl::ChannelClose(MuxChannelId(1));
        assert_eq!(
            close.encode().unwrap(),
            hex!("00000000 00000006 0004 00000001")
        );
        let depart = MuxControl::VpDepart(VpId(1));
        assert_eq!(
            depart.encode().unwrap(),
            hex!("00000000 00000006 0001 00000001")
        );
        let mut data = Vec::new();
        encode_data(MuxChannelId(1), b"MORE\n", &mut data).unwrap();
        assert_eq!(data, hex!("00000001 00000005 4d4f52450a"));
        let mut ping = Vec::new();
        encode_data(MuxChannelId(1), b"ping -c 1 192.0.2.1\n", &mut ping).unwrap();
        assert_eq!(
            ping,
            hex!("00000001 00000014 70696e67202d632031203139322e302e322e310a")
        );

        let mut stream = SPEC_VP_UPDATE.to_vec();
        for m in [&MuxControl::Go, &close, &depart] {
            m.encode_frame(&mut stream).unwrap();
        }
        stream.extend_from_slice(&data);
        let mut d = MuxDecoder::new();
        d.feed(&stream);
        let got: Vec<MuxEvent> = std::iter::from_fn(|| d.poll())
            .map(Result::unwrap)
            .collect();
        let MuxEvent::Control(MuxControl::VpUpdate(u)) = &got[0] else {
            panic!()
        };
        let back = VpInfo::from_update(u);
        assert_eq!(back, info);
        assert_eq!(back.display_name(), Some("vp1.example"));
        assert!(back.matches_name("vp1"));
        assert_eq!(got[1], MuxEvent::Control(MuxControl::Go));
        assert_eq!(got[2], MuxEvent::Control(close));
        assert_eq!(got[3], MuxEvent::Control(depart));
        assert_eq!(
            got[4],
            MuxEvent::Data {
                channel: MuxChannelId(1),
                bytes: b"MORE\n".to_vec()
            }
        );
        assert!(d.at_boundary());
    }

    #[test]
    fn client_reading_rules() {
        let u = VpUpdate {
            vp_id: VpId(3),
            attrs: vec![
                VpAttr::new(AttrKind::Cc, "us"),
                VpAttr::new(AttrKind::Other(99), "x"),
                VpAttr::new(AttrKind::Cc, "nz"),
                VpAttr::new(AttrKind::Tag, "a"),
                VpAttr::new(AttrKind::Tag, "b"),
                VpAttr::new(AttrKind::Ipv6, "2001:db8::1"),
            ],
        };
        let info = VpInfo::from_update(&u);
        assert_eq!(info.cc.as_deref(), Some("nz"));
        assert_eq!(info.tags, vec!["a", "b"]);
        assert_eq!(info.display_name(), Some("2001:db8::1"));
    }

    #[test]
    fn limits_and_errors() {
        let mut info = spec_info();
        info.tags = (0..200).map(|i| format!("tag{i}")).collect();
        assert!(matches!(
            MuxControl::VpUpdate(info.to_update()).encode(),
            Err(Error::VpUpdateTooLarge { .. })
        ));
        let nul = VpUpdate {
            vp_id: VpId(1),
            attrs: vec![VpAttr::new(AttrKind::Cc, "a\0b")],
        };
        assert_eq!(
            MuxControl::VpUpdate(nul).encode(),
            Err(Error::ValueHasNul(AttrKind::Cc))
        );
        assert_eq!(
            encode_data(MuxChannelId(0), b"x", &mut Vec::new()),
            Err(Error::DataOnControlChannel)
        );
        assert_eq!(
            MuxControl::parse(&hex!("0002 00")),
            Err(Error::TrailingBytes {
                msg: MuxType::Go,
                extra: 1
            })
        );
        assert_eq!(
            MuxControl::parse(&hex!("0001 0000")),
            Err(Error::Truncated {
                msg: MuxType::VpDepart,
                need: 4,
                have: 2
            })
        );
        assert_eq!(
            MuxControl::parse(&hex!("0000 000000")),
            Err(Error::Truncated {
                msg: MuxType::VpUpdate,
                need: 4,
                have: 3
            })
        );
        assert_eq!(
            MuxControl::parse(&hex!("0000 00000001 00")),
            Err(Error::AttrTruncated)
        );
        assert_eq!(
            MuxControl::parse(&hex!("0000 00000001 0005 6e7a")),
            Err(Error::AttrNotTerminated { code: 5 })
        );
        assert_eq!(
            MuxControl::parse(&hex!("0063 0102")),
            Ok(MuxControl::Unknown {
                kind: 99,
                body: vec![1, 2]
            })
        );
        let mut d = MuxDecoder::new();
        d.feed(&hex!("00000000 00000001 00"));
        assert_eq!(d.poll(), Some(Err(Error::ControlTooShort { len: 1 })));
        assert_eq!(d.poll(), None);
        let mut d = MuxDecoder::new().with_max_control(100);
        d.feed(&hex!("00000000 00000065"));
        assert_eq!(
            d.poll(),
            Some(Err(Error::ControlTooLong {
                len: 101,
                limit: 100
            }))
        );
    }

    #[test]
    fn channel_data_streams_before_the_frame_is_complete() {
        let mut d = MuxDecoder::new();
        d.feed(&hex!("00000007 00100000"));
        d.feed(b"abc");
        assert_eq!(
            d.poll(),
            Some(Ok(MuxEvent::Data {
                channel: MuxChannelId(7),
                bytes: b"abc".to_vec()
            }))
        );
        assert_eq!(d.poll(), None);
        assert!(!d.at_boundary());
        // Empty data frames produce nothing.
        let mut d = MuxDecoder::new();
        d.feed(&hex!("00000007 00000000 00000000 00000002 0002"));
        assert_eq!(d.poll(), Some(Ok(MuxEvent::Control(MuxControl::Go))));
    }

    #[test]
    fn policy_extension_bytes_and_info() {
        let m = MuxControl::VpPolicy {
            vp_id: VpId(3),
            text: "a=1\n".into(),
        };
        let b = m.encode().unwrap();
        assert_eq!(b, hex!("00000000 0000000a 0064 00000003 613d310a"));
        assert_eq!(MuxControl::parse(&b[HEADER_LEN..]), Ok(m));
        let info = VpInfo {
            id: VpId(3),
            policy_hash: Some("ab12".into()),
            policy: Some("ignored: not in VP_UPDATE".into()),
            tags: vec!["t".into()],
            ..VpInfo::default()
        };
        let u = info.to_update();
        assert_eq!(
            u.attrs,
            [
                VpAttr::new(AttrKind::PolicyHash, "ab12"),
                VpAttr::new(AttrKind::Tag, "t")
            ]
        );
        let back = VpInfo::from_update(&u);
        assert_eq!(back.policy_hash.as_deref(), Some("ab12"));
        assert_eq!(back.policy, None);
    }

    fn any_control() -> impl Strategy<Value = MuxControl> {
        let attr = (any::<u16>(), "[^\u{0}]{0,12}")
            .prop_map(|(c, v)| VpAttr::new(AttrKind::from_u16(c), v));
        prop_oneof![
            (any::<u32>(), proptest::collection::vec(attr, 0..8)).prop_map(|(id, attrs)| {
                MuxControl::VpUpdate(VpUpdate {
                    vp_id: VpId(id),
                    attrs,
                })
            }),
            any::<u32>().prop_map(|i| MuxControl::VpDepart(VpId(i))),
            Just(MuxControl::Go),
            (any::<u32>(), any::<u32>()).prop_map(|(v, c)| MuxControl::ChannelOpen {
                vp_id: VpId(v),
                channel: MuxChannelId(c)
            }),
            any::<u32>().prop_map(|c| MuxControl::ChannelClose(MuxChannelId(c))),
            (any::<u32>(), ".{0,40}").prop_map(|(v, text)| MuxControl::VpPolicy {
                vp_id: VpId(v),
                text
            }),
            (5u16.., proptest::collection::vec(any::<u8>(), 0..20))
                .prop_filter("100 is VP_POLICY", |(kind, _)| *kind != 100)
                .prop_map(|(kind, body)| MuxControl::Unknown { kind, body }),
        ]
    }

    #[derive(Debug, Clone)]
    enum Item {
        C(MuxControl),
        D(u32, Vec<u8>),
    }

    proptest! {
        #[test]
        fn stream_round_trip_byte_at_a_time(items in proptest::collection::vec(prop_oneof![
            any_control().prop_map(Item::C),
            (1u32.., proptest::collection::vec(any::<u8>(), 1..50)).prop_map(|(c, b)| Item::D(c, b)),
        ], 0..10)) {
            let mut bytes = Vec::new();
            for i in &items {
                match i {
                    Item::C(c) => c.encode_frame(&mut bytes).unwrap(),
                    Item::D(c, b) => encode_data(MuxChannelId(*c), b, &mut bytes).unwrap(),
                }
            }
            let mut d = MuxDecoder::new();
            let mut got = Vec::new();
            for b in &bytes {
                d.feed(&[*b]);
                while let Some(e) = d.poll() { got.push(e.unwrap()); }
            }
            // Reassemble per-frame data pieces.
            let mut merged: Vec<MuxEvent> = Vec::new();
            for e in got {
                push_merged(&mut merged, e);
            }
            let mut expected: Vec<MuxEvent> = Vec::new();
            for i in items {
                let e = match i {
                    Item::C(c) => MuxEvent::Control(c),
                    Item::D(c, b) => MuxEvent::Data { channel: MuxChannelId(c), bytes: b },
                };
                push_merged(&mut expected, e);
            }
            prop_assert_eq!(merged, expected);
            prop_assert!(d.at_boundary());
        }
    }

    fn push_merged(v: &mut Vec<MuxEvent>, e: MuxEvent) {
        if let (
            Some(MuxEvent::Data {
                channel: c0,
                bytes: b0,
            }),
            MuxEvent::Data { channel, bytes },
        ) = (v.last_mut(), &e)
            && *c0 == *channel
        {
            b0.extend_from_slice(bytes);
            return;
        }
        v.push(e);
    }

    proptest! {
        #[test]
        fn parse_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(m) = MuxControl::parse(&payload) {
                let mut again = Vec::new();
                m.encode_payload(&mut again).unwrap();
                prop_assert_eq!(MuxControl::parse(&again), Ok(m));
            }
        }
    }
}
