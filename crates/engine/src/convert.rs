//! Adapters between `vantage-wire` and the engine's packet view.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

use vantage_command::{PingSpec, PingTimestamp};
use vantage_wire::ipv4::Ipv4Option;
use vantage_wire::probe::{ChosenChecksum, IpHeader, Ipv4Header, Ipv6Header, Probe, Transport};
use vantage_wire::reply::{self, QuotedTransport, Reply, ReplyKind};
use vantage_wire::tcp::TcpFlags;
use vantage_wire::{Error, OptionBytes};

use crate::packet::{L4Desc, ProbeDesc, Quote, QuotedL4, Rx, RxKind};

/// Writes the probe `d` into `buf` (resized to the packet's length).
pub(crate) fn build(d: &ProbeDesc<'_>, buf: &mut Vec<u8>) -> Result<(), Error> {
    let ip = match (d.src, d.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => IpHeader::V4(Ipv4Header {
            src,
            dst,
            ttl: d.ttl,
            tos: d.tos,
            ident: d.ipid,
            dont_frag: false,
            options: OptionBytes::from_bytes(d.ip_options)?,
        }),
        (IpAddr::V6(src), IpAddr::V6(dst)) => IpHeader::V6(Ipv6Header {
            src,
            dst,
            hop_limit: d.ttl,
            traffic_class: d.tos,
            flow_label: d.flow_label & 0x000f_ffff,
            fragment: None,
        }),
        _ => {
            return Err(Error::Unrepresentable {
                what: "probe",
                reason: "source and destination are of different address families",
            });
        }
    };
    let chosen = |c: Option<u16>| {
        c.map(|value| ChosenChecksum {
            value,
            fix_offset: 0,
        })
    };
    let (transport, checksum) = match d.l4 {
        L4Desc::Echo {
            id,
            seq,
            payload,
            csum,
        } => (
            Transport::IcmpEcho {
                ident: id,
                seq_no: seq,
                payload,
            },
            chosen(csum),
        ),
        L4Desc::Timestamp {
            id,
            seq,
            originate,
            payload,
            csum,
        } => (
            Transport::IcmpTimestamp {
                ident: id,
                seq_no: seq,
                originate,
                receive: 0,
                transmit: 0,
                payload,
            },
            chosen(csum),
        ),
        L4Desc::Udp {
            sport,
            dport,
            payload,
            csum,
        } => (
            Transport::Udp {
                src_port: sport,
                dst_port: dport,
                payload,
            },
            chosen(csum),
        ),
        L4Desc::Tcp {
            sport,
            dport,
            seq,
            ack,
            flags,
            window,
            mss,
            payload,
        } => {
            let mut options = OptionBytes::new();
            if let Some(m) = mss {
                let [hi, lo] = m.to_be_bytes();
                options.push_raw(&[vantage_wire::tcp::OPT_MSS, 4, hi, lo])?;
            }
            (
                Transport::Tcp {
                    src_port: sport,
                    dst_port: dport,
                    seq_number: seq,
                    ack_number: ack,
                    flags: TcpFlags(flags),
                    window_len: window,
                    options,
                    payload,
                },
                None,
            )
        }
    };
    let probe = Probe {
        ip,
        transport,
        checksum,
    };
    buf.clear();
    buf.resize(probe.buffer_len(), 0);
    let n = probe.emit(buf)?;
    buf.truncate(n);
    Ok(())
}

/// The transport checksum field of a probe built by [`build`] (0 if the
/// packet is too short to hold one).
pub(crate) fn transport_checksum(pkt: &[u8]) -> u16 {
    let Some(&first) = pkt.first() else { return 0 };
    let (hl, proto) = if first >> 4 == 6 {
        (40, pkt.get(6).copied())
    } else {
        (usize::from(first & 0x0f) * 4, pkt.get(9).copied())
    };
    let at = match proto {
        Some(6) => hl + 16,
        Some(17) => hl + 6,
        _ => hl + 2,
    };
    pkt.get(at..at + 2)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
}

/// The IPv4 options a ping's probes carry (`-R`, `-T`).
pub(crate) fn ping_ip_options(spec: &PingSpec) -> Result<OptionBytes, Error> {
    if !spec.dst.is_ipv4() {
        return Ok(OptionBytes::new());
    }
    if spec.record_route {
        return Ok(OptionBytes::record_route());
    }
    match &spec.timestamp {
        None => Ok(OptionBytes::new()),
        Some(PingTimestamp::TsOnly) => Ok(OptionBytes::timestamp_only()),
        Some(PingTimestamp::TsAndAddr) => Ok(OptionBytes::timestamp_and_addr()),
        Some(PingTimestamp::Prespec(a)) => OptionBytes::timestamp_prespec(a),
    }
}

/// Parses an IPv4 or IPv6 packet (by its version nibble).
pub(crate) fn parse_ip(bytes: &[u8], time: SystemTime) -> Result<Option<Rx<'_>>, Error> {
    let r = match bytes.first().map(|b| b >> 4) {
        Some(6) => reply::parse_ipv6(bytes)?,
        _ => reply::parse_ipv4(bytes)?,
    };
    let mut rx = summarise(&r, true, time)?;
    if let Some(rx) = rx.as_mut().filter(|rx| rx.src.is_ipv4()) {
        let hl = usize::from(bytes[0] & 0x0f) * 4;
        rx.ip_options = bytes.get(20..hl).unwrap_or(&[]);
    }
    Ok(rx)
}

/// Parses an ICMPv6 message delivered without its IPv6 header.
pub(crate) fn parse_icmpv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: Option<u8>,
    bytes: &[u8],
    time: SystemTime,
) -> Result<Option<Rx<'_>>, Error> {
    let r = reply::parse_icmpv6(src, dst, hop_limit.unwrap_or(0), bytes)?;
    summarise(&r, hop_limit.is_some(), time)
}

fn quote_of(r: &Reply<'_>) -> Option<Quote> {
    let q = r.quote?;
    let ip = q.ip?;
    let l4 = match q.transport {
        Some(QuotedTransport::Icmp(i)) => match (i.code, i.checksum, i.ident, i.seq_no) {
            (Some(code), Some(csum), Some(id), Some(seq)) => QuotedL4::Icmp {
                icmp_type: i.msg_type,
                code,
                csum,
                id,
                seq,
            },
            _ => QuotedL4::Short,
        },
        Some(QuotedTransport::Udp(u)) => match u.dst_port {
            Some(dport) => QuotedL4::Udp {
                sport: u.src_port,
                dport,
                csum: u.checksum.unwrap_or(0),
            },
            None => QuotedL4::Short,
        },
        Some(QuotedTransport::Tcp(t)) => match t.dst_port {
            Some(dport) => QuotedL4::Tcp {
                sport: t.src_port,
                dport,
                seq: t.seq_number,
            },
            None => QuotedL4::Short,
        },
        None => QuotedL4::Short,
    };
    Some(Quote {
        src: ip.src,
        dst: ip.dst,
        ttl: ip.ttl,
        tos: ip.tos,
        ipid: ip.ip_id as u16,
        total_len: u16::try_from(ip.total_len).unwrap_or(u16::MAX),
        proto: ip.protocol.into(),
        flow_label: ip.flow_label,
        l4,
    })
}

/// `Ok(None)`: a well-formed packet that cannot answer a probe (an echo
/// request, say: raw sockets see our own probes on loopback).
fn summarise<'a>(
    r: &Reply<'a>,
    ttl_known: bool,
    time: SystemTime,
) -> Result<Option<Rx<'a>>, Error> {
    if !r.verify_checksum() {
        return Err(Error::Malformed {
            what: "reply",
            reason: "its transport checksum does not verify",
        });
    }
    let error = |icmp_type: u8, code: u8, nhmtu: u32| -> Result<RxKind<'a>, Error> {
        let quote = quote_of(r).ok_or(Error::Malformed {
            what: "ICMP error",
            reason: "its quote does not hold a complete IP header",
        })?;
        Ok(RxKind::Error {
            icmp_type,
            code,
            nhmtu: u16::try_from(nhmtu).unwrap_or(u16::MAX),
            quote,
            ext: r.extensions.map(|e| e.as_bytes()),
        })
    };
    let (ty, code) = r.icmp_type_code().unwrap_or((0, 0));
    let kind = match r.kind {
        ReplyKind::EchoReply { ident, seq_no } => RxKind::EchoReply {
            id: ident,
            seq: seq_no,
        },
        ReplyKind::TimestampReply {
            ident,
            seq_no,
            originate,
            receive,
            transmit,
        } => RxKind::TimestampReply {
            id: ident,
            seq: seq_no,
            originate,
            receive,
            transmit,
        },
        ReplyKind::TimeExceeded { .. } | ReplyKind::ParamProblem { .. } => error(ty, code, 0)?,
        ReplyKind::DestUnreachable { .. } | ReplyKind::PacketTooBig { .. } => {
            error(ty, code, r.next_hop_mtu().unwrap_or(0))?
        }
        ReplyKind::Tcp {
            src_port,
            dst_port,
            seq_number,
            ack_number,
            flags,
            ..
        } => RxKind::Tcp {
            sport: src_port,
            dport: dst_port,
            seq: seq_number,
            ack: ack_number,
            flags: flags.0,
        },
        ReplyKind::Udp {
            src_port, dst_port, ..
        } => RxKind::Udp {
            sport: src_port,
            dport: dst_port,
        },
        ReplyKind::EchoRequest { .. } | ReplyKind::OtherIcmp { .. } => return Ok(None),
    };
    let ipid = if r.is_ipv6() {
        (r.ip_id != 0).then_some(r.ip_id)
    } else {
        Some(r.ip_id)
    };
    Ok(Some(Rx {
        src: r.src,
        dst: r.dst,
        ttl: ttl_known.then_some(r.ttl),
        tos: r.tos,
        ipid,
        size: u16::try_from(r.size).unwrap_or(u16::MAX),
        time,
        kind,
        ip_options: &[],
    }))
}

/// What a reply's IPv4 options recorded.
#[derive(Debug, Default)]
pub(crate) struct OptionRecords {
    /// Record-route addresses, when the option is present.
    pub rr: Option<Vec<Ipv4Addr>>,
    /// Timestamp option entries (address for the address-and-timestamp
    /// forms), when present.
    pub ts: Option<Vec<(Option<Ipv4Addr>, u32)>>,
}

/// The record-route addresses and the timestamps carried by a reply's IPv4
/// options, when present.
pub(crate) fn ip_option_records(opts: &[u8]) -> OptionRecords {
    let (mut rr, mut ts) = (None, None);
    for o in vantage_wire::ipv4::OptionIter::new(opts).map_while(Result::ok) {
        match o {
            Ipv4Option::RecordRoute { .. } => rr = Some(o.recorded_route().collect()),
            Ipv4Option::Timestamp { .. } => ts = Some(o.recorded_timestamps().collect()),
            _ => {}
        }
    }
    OptionRecords { rr, ts }
}
