//! The prober's sockets, opened lazily: one send socket per address family and one
//! receive socket per (family, protocol), each the first time a task needs it.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::PoisonError;

use vantage_command::{PingMethod, TraceMethod};
use vantage_engine::MeasurementSpec;
use vantage_sys::{AsyncSocket, Family, Protocol, RecvBatch, RecvSocket, SendSocket, SocketKind};
use vantage_wire::IpProtocol;
use vantage_wire::checksum;

use crate::error::socket_message;
use crate::handle::{Shared, SocketInfo};

/// A send socket and the packets waiting for it.
pub(crate) struct TxSock {
    pub(crate) sock: AsyncSocket<SendSocket>,
    /// Packets handed out by the engine and not yet accepted by the kernel.
    pub(crate) pkts: Vec<Vec<u8>>,
    /// The engine's name for each packet in `pkts`.
    pub(crate) refs: Vec<vantage_engine::ProbeRef>,
    /// The kernel reported a full send buffer: wait for writability.
    pub(crate) blocked: bool,
    /// The kernel reported a transient failure (e.g. `ENOBUFS`): retry at this time.
    pub(crate) retry_at: Option<std::time::Instant>,
}

/// A receive socket, its batch buffers and the last drop count it reported.
pub(crate) struct RxSock {
    pub(crate) sock: AsyncSocket<RecvSocket>,
    pub(crate) batch: RecvBatch,
    pub(crate) family: Family,
    pub(crate) protocol: Protocol,
    pub(crate) drops: u32,
}

/// Raw sockets opened before the event loop runs (see [`crate::Prober::open_sockets`]), so
/// that the process can drop its privileges first; the loop adopts them when a task first
/// needs them.
#[derive(Debug, Default)]
pub(crate) struct Preopened {
    tx: [Option<(SendSocket, vantage_sys::BufferSize)>; 2],
    rx: [Option<(RecvSocket, vantage_sys::BufferSize)>; 6],
}

impl Preopened {
    /// Opens the send socket of each family and the ICMP, TCP and UDP receive sockets, with
    /// their buffers sized. Returns the messages of those that could not be opened (an
    /// IPv6-less host, say); they are opened lazily later, or fail their task then.
    pub(crate) fn open_all(&mut self, recv_buffer: usize, send_buffer: usize) -> Vec<String> {
        let mut errors = Vec::new();
        for family in [Family::V4, Family::V6] {
            let kind = SocketKind::Send(family);
            let r = SendSocket::open(family).and_then(|s| {
                let got = s.set_send_buffer(send_buffer)?;
                Ok((s, got))
            });
            match r {
                Ok(s) => self.tx[family_index(family)] = Some(s),
                Err(e) => errors.push(socket_message(kind, &e)),
            }
            for protocol in [Protocol::Icmp, Protocol::Tcp, Protocol::Udp] {
                let kind = SocketKind::Recv(family, protocol);
                let r = RecvSocket::open(family, protocol).and_then(|s| {
                    let got = s.set_recv_buffer(recv_buffer)?;
                    Ok((s, got))
                });
                match r {
                    Ok(s) => self.rx[rx_index(family, protocol)] = Some(s),
                    Err(e) => errors.push(socket_message(kind, &e)),
                }
            }
        }
        errors
    }

    /// How many sockets are open.
    pub(crate) fn count(&self) -> usize {
        self.tx.iter().flatten().count() + self.rx.iter().flatten().count()
    }
}

/// Every socket of a prober; `None` until first needed.
pub(crate) struct Sockets {
    pub(crate) tx: [Option<TxSock>; 2],
    pub(crate) rx: [Option<RxSock>; 6],
    pub(crate) preopened: Preopened,
    recv_buffer: usize,
    send_buffer: usize,
    recv_batch: usize,
    recv_slot: usize,
}

/// The index of a family in [`Sockets::tx`].
pub(crate) fn family_index(f: Family) -> usize {
    match f {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

/// The index of a (family, protocol) in [`Sockets::rx`].
fn rx_index(f: Family, p: Protocol) -> usize {
    family_index(f) * 3
        + match p {
            Protocol::Icmp => 0,
            Protocol::Tcp => 1,
            Protocol::Udp => 2,
        }
}

/// The receive protocols a measurement needs besides ICMP.
pub(crate) fn extra_protocols(spec: &MeasurementSpec) -> &'static [Protocol] {
    match spec {
        MeasurementSpec::Ping(p) if p.method.is_tcp() => &[Protocol::Tcp],
        // An open UDP port answers with UDP.
        MeasurementSpec::Ping(p) if p.method.is_udp() => &[Protocol::Udp],
        MeasurementSpec::Ping(p) => {
            debug_assert!(matches!(
                p.method,
                PingMethod::IcmpEcho | PingMethod::IcmpTime
            ));
            &[]
        }
        MeasurementSpec::Trace(t) if matches!(t.method, TraceMethod::Tcp | TraceMethod::TcpAck) => {
            &[Protocol::Tcp]
        }
        MeasurementSpec::Trace(_) => &[],
        MeasurementSpec::Tracelb(t) if t.method.is_tcp() => &[Protocol::Tcp],
        MeasurementSpec::Tracelb(_) => &[],
    }
}

impl Sockets {
    pub(crate) fn new(
        recv_buffer: usize,
        send_buffer: usize,
        recv_batch: usize,
        recv_slot: usize,
    ) -> Self {
        Self {
            tx: [None, None],
            rx: [None, None, None, None, None, None],
            preopened: Preopened::default(),
            recv_buffer,
            send_buffer,
            recv_batch,
            recv_slot,
        }
    }

    /// Opens whatever a measurement towards `family` needs and is not open yet.
    pub(crate) fn ensure(
        &mut self,
        family: Family,
        spec: &MeasurementSpec,
        shared: &Shared,
    ) -> Result<(), String> {
        self.ensure_tx(family, shared)?;
        self.ensure_rx(family, Protocol::Icmp, shared)?;
        for p in extra_protocols(spec) {
            self.ensure_rx(family, *p, shared)?;
        }
        Ok(())
    }

    fn ensure_tx(&mut self, family: Family, shared: &Shared) -> Result<(), String> {
        let slot = &mut self.tx[family_index(family)];
        if slot.is_some() {
            return Ok(());
        }
        let kind = SocketKind::Send(family);
        let fail = |e: vantage_sys::Error| socket_message(kind, &e);
        let (sock, got) = if let Some(s) = self.preopened.tx[family_index(family)].take() {
            s
        } else {
            let sock = SendSocket::open(family).map_err(fail)?;
            let got = sock.set_send_buffer(self.send_buffer).map_err(fail)?;
            (sock, got)
        };
        let sock = AsyncSocket::new(sock).map_err(fail)?;
        record(shared, kind, &got);
        *slot = Some(TxSock {
            sock,
            pkts: Vec::new(),
            refs: Vec::new(),
            blocked: false,
            retry_at: None,
        });
        Ok(())
    }

    fn ensure_rx(
        &mut self,
        family: Family,
        protocol: Protocol,
        shared: &Shared,
    ) -> Result<(), String> {
        let slot = &mut self.rx[rx_index(family, protocol)];
        if slot.is_some() {
            return Ok(());
        }
        let kind = SocketKind::Recv(family, protocol);
        let fail = |e: vantage_sys::Error| socket_message(kind, &e);
        let (sock, got) = if let Some(s) = self.preopened.rx[rx_index(family, protocol)].take() {
            s
        } else {
            let sock = RecvSocket::open(family, protocol).map_err(fail)?;
            let got = sock.set_recv_buffer(self.recv_buffer).map_err(fail)?;
            (sock, got)
        };
        let sock = AsyncSocket::new(sock).map_err(fail)?;
        record(shared, kind, &got);
        *slot = Some(RxSock {
            sock,
            batch: RecvBatch::new(self.recv_batch, self.recv_slot),
            family,
            protocol,
            drops: 0,
        });
        Ok(())
    }

    /// Resizes the receive buffers of the open sockets (after a rate change).
    pub(crate) fn resize_recv(&mut self, bytes: usize, shared: &Shared) {
        self.recv_buffer = bytes;
        for s in self.rx.iter().flatten() {
            let kind = s.sock.kind();
            if let Ok(got) = s.sock.get_ref().set_recv_buffer(bytes) {
                record(shared, kind, &got);
            }
        }
    }
}

/// Notes the buffer a socket obtained where handles can read it.
fn record(shared: &Shared, kind: SocketKind, got: &vantage_sys::BufferSize) {
    let mut list = shared
        .sockets
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let kind = kind.to_string();
    let buffer = got.to_string();
    if let Some(s) = list.iter_mut().find(|s| s.kind == kind) {
        s.buffer = buffer;
    } else {
        list.push(SocketInfo { kind, buffer });
    }
}

/// Rebuilds a complete IPv6 packet from what a raw IPv6 socket delivers (the transport
/// header and payload, with the addresses and header fields from control messages), so
/// that the engine can read TCP and UDP replies the way it reads IPv4 ones.
pub(crate) fn ipv6_packet(
    out: &mut Vec<u8>,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    meta: &vantage_sys::RecvMeta,
    protocol: Protocol,
    payload: &[u8],
) -> Result<(), vantage_wire::Error> {
    let next_header = match protocol {
        Protocol::Tcp => IpProtocol::Tcp,
        Protocol::Udp => IpProtocol::Udp,
        Protocol::Icmp => IpProtocol::Icmpv6,
    };
    let repr = vantage_wire::ipv6::Repr {
        src_addr: src,
        dst_addr: dst,
        next_header,
        payload_len: payload.len(),
        hop_limit: meta.hop_limit.unwrap_or(0),
        traffic_class: meta.traffic_class.unwrap_or(0),
        flow_label: meta.flow_label.unwrap_or(0),
    };
    let hlen = repr.buffer_len();
    out.clear();
    out.resize(hlen + payload.len(), 0);
    repr.emit(&mut vantage_wire::ipv6::Packet::new_unchecked(&mut out[..]))?;
    out[hlen..].copy_from_slice(payload);
    Ok(())
}

/// The IPv6 source and destination of a packet from a raw IPv6 socket.
pub(crate) fn v6_addrs(meta: &vantage_sys::RecvMeta) -> Option<(Ipv6Addr, Ipv6Addr)> {
    let IpAddr::V6(src) = meta.src else {
        return None;
    };
    let dst = match meta.dst {
        Some(IpAddr::V6(d)) => d,
        _ => Ipv6Addr::UNSPECIFIED,
    };
    Some((src, dst))
}

/// Completes the transport checksum of a TCP or UDP packet (a complete IPv4 or IPv6
/// packet, as the engine takes it) that left its sender with checksum offload and never
/// crossed a real wire.
///
/// A sender using offload stores only the pseudo-header sum in the checksum field and
/// leaves the rest to the network card. A veth pair (the link between network namespaces,
/// and so between a prober and a target on the same machine) hands such packets over as
/// they are, and raw sockets deliver them so: the kernel's own TCP replies over IPv6 and
/// its SYN-ACKs and UDP replies over both families arrive with a checksum that does not
/// verify. This does what the card would have done, for such packets only: a field that
/// holds exactly the pseudo-header sum of a packet whose checksum does not verify is
/// replaced by the right checksum. Returns whether the packet was changed.
///
/// Packets with any other wrong checksum are left alone (the engine discards them); a
/// forged packet gains nothing here that a correctly checksummed forgery would not have.
pub(crate) fn finish_offloaded_checksum(packet: &mut [u8]) -> bool {
    let Some((src, dst, proto, l4_start)) = ip_fields(packet) else {
        return false;
    };
    let field = match proto {
        6 => 16,
        17 => 6,
        _ => return false,
    };
    let l4 = &mut packet[l4_start..];
    if l4.len() < field + 2 {
        return false;
    }
    let Ok(len) = u32::try_from(l4.len()) else {
        return false;
    };
    let stored = u16::from_be_bytes([l4[field], l4[field + 1]]);
    if proto == 17 && stored == 0 && src.is_ipv4() {
        // No checksum (allowed for UDP over IPv4).
        return false;
    }
    let pseudo = checksum::pseudo_header(src, dst, proto, len);
    if checksum::finish(checksum::combine(pseudo, checksum::sum(l4))) == 0 || stored != pseudo {
        return false;
    }
    l4[field] = 0;
    l4[field + 1] = 0;
    let mut c = checksum::finish(checksum::combine(pseudo, checksum::sum(l4)));
    if c == 0 && proto == 17 {
        c = 0xffff;
    }
    l4[field..field + 2].copy_from_slice(&c.to_be_bytes());
    true
}

/// Whether the TCP or UDP checksum of a complete packet verifies (`None`: not a TCP or UDP
/// packet this module can read).
pub(crate) fn transport_checksum_ok(p: &[u8]) -> Option<bool> {
    let (src, dst, proto, off) = ip_fields(p)?;
    if proto != 6 && proto != 17 {
        return None;
    }
    let l4 = p.get(off..)?;
    let len = u32::try_from(l4.len()).ok()?;
    let pseudo = checksum::pseudo_header(src, dst, proto, len);
    Some(checksum::finish(checksum::combine(pseudo, checksum::sum(l4))) == 0)
}

/// Source, destination, transport protocol and transport offset of a complete packet
/// without extension headers, and the packet cut to its stated length.
fn ip_fields(p: &[u8]) -> Option<(IpAddr, IpAddr, u8, usize)> {
    match p.first()? >> 4 {
        4 => {
            let ihl = usize::from(p[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*p.get(2)?, *p.get(3)?]));
            if ihl < 20 || p.len() < ihl || total != p.len() {
                return None;
            }
            let a = |i: usize| -> Option<IpAddr> {
                let b: [u8; 4] = p.get(i..i + 4)?.try_into().ok()?;
                Some(IpAddr::from(b))
            };
            Some((a(12)?, a(16)?, p[9], ihl))
        }
        6 => {
            let plen = usize::from(u16::from_be_bytes([*p.get(4)?, *p.get(5)?]));
            if p.len() != 40 + plen {
                return None;
            }
            let a = |i: usize| -> Option<IpAddr> {
                let b: [u8; 16] = p.get(i..i + 16)?.try_into().ok()?;
                Some(IpAddr::from(b))
            };
            Some((a(8)?, a(24)?, p[6], 40))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The IPv6 RST a Linux target sent over a veth pair, as a raw socket delivered it
    /// (checksum field = pseudo-header sum, offload not done).
    const V6_RST: [u8; 60] = [
        0x60, 0x00, 0xd4, 0x22, 0x00, 0x14, 0x06, 0x40, 0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0x02, 0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x82, 0x9b, 0xb8,
        0x84, 0, 0, 0, 0, 0x49, 0x33, 0x6c, 0x19, 0x50, 0x14, 0, 0, 0xfb, 0x50, 0, 0,
    ];

    fn verifies(p: &[u8]) -> bool {
        transport_checksum_ok(p).unwrap()
    }

    #[test]
    fn offloaded_checksums_are_completed_once() {
        let mut p = V6_RST;
        assert!(!verifies(&p));
        assert!(finish_offloaded_checksum(&mut p));
        assert!(verifies(&p));
        // A second pass changes nothing.
        let q = p;
        assert!(!finish_offloaded_checksum(&mut p));
        assert_eq!(p, q);
    }

    #[test]
    fn other_bad_checksums_are_left_alone() {
        let mut p = V6_RST;
        p[56] ^= 0x40;
        let q = p;
        assert!(!finish_offloaded_checksum(&mut p));
        assert_eq!(p, q);
        // Not TCP/UDP, truncated, or garbage: untouched, no panic.
        let mut icmp = V6_RST;
        icmp[6] = 58;
        assert!(!finish_offloaded_checksum(&mut icmp));
        assert!(!finish_offloaded_checksum(&mut { V6_RST }[..30]));
        assert!(!finish_offloaded_checksum(&mut []));
        assert!(!finish_offloaded_checksum(&mut [0x45, 0, 0]));
    }

    #[test]
    fn ipv4_udp_partial_checksum() {
        // 10.0.0.2:53 -> 10.0.0.1:40000, 4 bytes of payload, checksum = pseudo-header sum.
        let mut p = vec![
            0x45, 0, 0, 32, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1, 0, 53, 0x9c,
            0x40, 0, 12, 0, 0, 1, 2, 3, 4,
        ];
        let pseudo = checksum::pseudo_header(
            "10.0.0.2".parse().unwrap(),
            "10.0.0.1".parse().unwrap(),
            17,
            12,
        );
        p[26..28].copy_from_slice(&pseudo.to_be_bytes());
        assert!(finish_offloaded_checksum(&mut p));
        assert!(verifies(&p));
        // UDP without checksum over IPv4 stays as it is.
        p[26] = 0;
        p[27] = 0;
        assert!(!finish_offloaded_checksum(&mut p));
    }
}
