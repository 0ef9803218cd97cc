//! `udpprobe`: a payload to a UDP port, several attempts, every reply recorded.
//!
//! Timing follows scamper: probe `i` leaves `i × wait_probe` after the start; after the last
//! probe the measurement waits `wait_timeout` for replies, then stops with `done`. With
//! `exitfirst` it stops as soon as `stop_count` probes have at least one reply (so with the
//! default stop count, at the first reply) and sends no further probes. Without
//! `exitfirst` every probe is sent (the real scamper sends all of them too).
//!
//! Each probe has its own socket, bound to the spec's source port when one probe is sent and
//! to a kernel-chosen port otherwise, and left unconnected: replies from any address and port
//! are recorded with the interface they arrived on and their sender (each reply's `src` and
//! `sport`). Sockets stay open until the end, so a late reply to probe 0 still counts.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::time::{Instant, sleep_until};
use vantage_command::UdpprobeSpec;
use vantage_model::{Addr, Udpprobe, UdpprobeFlags, UdpprobeProbe, UdpprobeReply, UdpprobeStop};

use crate::env::{AppEnv, Pacing, Stamper};
use crate::net;

/// A finished `udpprobe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpprobeRun {
    /// The result record.
    pub udpprobe: Udpprobe,
    /// Replies not recorded because their probe already had [`MAX_REPLIES`].
    pub dropped: usize,
}

/// The most replies recorded per probe (warts counts them in one byte).
pub const MAX_REPLIES: usize = 255;

struct Received {
    probe: usize,
    from: SocketAddr,
    data: Vec<u8>,
    ifname: Option<String>,
}

/// Runs the `udpprobe` command `spec`.
pub async fn run<P: Pacing>(spec: &UdpprobeSpec, env: &AppEnv<P>) -> UdpprobeRun {
    run_until(spec, env, std::future::pending()).await
}

/// [`run`], ended early when `halt` completes: the result keeps the probes sent and the
/// replies received so far and stops with `halted`.
pub async fn run_until<P: Pacing>(
    spec: &UdpprobeSpec,
    env: &AppEnv<P>,
    halt: impl Future<Output = ()>,
) -> UdpprobeRun {
    let stamper = Stamper::start(env.clock.as_ref());
    let start = Instant::now();
    let src = spec.src.or_else(|| env.source_for(spec.dst));
    let mut flags = UdpprobeFlags::empty();
    flags.set(UdpprobeFlags::EXITFIRST, spec.exit_first);
    let mut run = UdpprobeRun {
        udpprobe: Udpprobe {
            list: None,
            cycle: None,
            user_id: spec.user_id,
            src: src.map(Addr::from),
            dst: Some(Addr::from(spec.dst)),
            sport: spec.sport,
            dport: spec.dport,
            start: stamper.start_ts(),
            wait_timeout: spec.wait_timeout,
            wait_probe: spec.wait_probe,
            flags,
            stop_reason: UdpprobeStop::None,
            payload: spec.payload.clone(),
            probe_count: spec.probe_count,
            stop_count: spec.stop_count,
            errmsg: None,
            probes: Vec::new(),
        },
        dropped: 0,
    };
    let dst = SocketAddr::new(spec.dst, spec.dport);
    let mut sockets: Vec<UdpSocket> = Vec::new();
    let mut last_tx = start;
    let mut buf = vec![0u8; 65536];
    let probing = async {
        loop {
            // Send the next probe if it is due (or first).
            let next = sockets.len();
            if next < usize::from(spec.probe_count) {
                let due = start + spec.wait_probe * next as u32;
                if Instant::now() >= due {
                    let sport = if spec.probe_count == 1 { spec.sport } else { 0 };
                    let sock = match net::udp_bound(src, sport, spec.dst, env.max_ttl)
                        .map_err(|e| e.to_string())
                    {
                        Ok(s) => s,
                        Err(e) => break Err(e),
                    };
                    enable_pktinfo(&sock, spec.dst);
                    if run.udpprobe.src.is_none() {
                        // Learn the source address the kernel will use.
                        run.udpprobe.src = local_source(spec.dst).map(Addr::from);
                    }
                    env.pacer.permit().await;
                    let tx = Instant::now();
                    if let Err(e) = sock.send_to(&spec.payload, dst).await {
                        break Err(format!("cannot send to {dst}: {e}"));
                    }
                    last_tx = tx;
                    let port = sock.local_addr().map_or(0, |a| a.port());
                    if next == 0 {
                        // Warts (and scamper) take probe 0's transmit time as the start time.
                        run.udpprobe.start = stamper.at(tx);
                    }
                    run.udpprobe.probes.push(UdpprobeProbe {
                        tx: stamper.at(tx),
                        sport: port,
                        replies: Vec::new(),
                    });
                    sockets.push(sock);
                    continue;
                }
            }
            let deadline = if next < usize::from(spec.probe_count) {
                start + spec.wait_probe * next as u32
            } else {
                last_tx + spec.wait_timeout
            };
            tokio::select! {
                () = sleep_until(deadline) => {
                    if next >= usize::from(spec.probe_count) {
                        break Ok(());
                    }
                }
                got = recv_any(&sockets, &mut buf) => {
                    match got {
                        Ok(r) if run.udpprobe.probes[r.probe].replies.len() >= MAX_REPLIES => {
                            run.dropped += 1;
                        }
                        Ok(r) => {
                            let rx = stamper.now();
                            run.udpprobe.probes[r.probe].replies.push(UdpprobeReply {
                                rx,
                                data: r.data,
                                ifname: r.ifname,
                                src: Some(Addr::from(r.from.ip())),
                                sport: r.from.port(),
                            });
                            let answered = run.udpprobe.probes.iter().filter(|p| !p.replies.is_empty()).count();
                            if spec.exit_first && answered >= usize::from(spec.stop_count.max(1)) {
                                break Ok(());
                            }
                        }
                        Err(e) => break Err(e),
                    }
                }
            }
        }
    };
    let stop = tokio::select! {
        s = probing => Some(s),
        () = halt => None,
    };
    match stop {
        None => run.udpprobe.stop_reason = UdpprobeStop::Halted,
        Some(Ok(())) => run.udpprobe.stop_reason = UdpprobeStop::Done,
        Some(Err(e)) => {
            run.udpprobe.stop_reason = UdpprobeStop::Error;
            run.udpprobe.errmsg = Some(e);
        }
    }
    run
}

/// Asks the kernel for the arrival interface of each datagram (best effort: without it the
/// replies just have no interface name).
fn enable_pktinfo(sock: &UdpSocket, dst: IpAddr) {
    let _ = if dst.is_ipv4() {
        setsockopt(sock, sockopt::Ipv4PacketInfo, &true)
    } else {
        setsockopt(sock, sockopt::Ipv6RecvPacketInfo, &true)
    };
}

/// The source address the kernel picks for `dst` (a connected UDP socket sends nothing).
fn local_source(dst: IpAddr) -> Option<IpAddr> {
    let any = if dst.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let s = std::net::UdpSocket::bind(any).ok()?;
    s.connect(SocketAddr::new(dst, 9)).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

/// The next datagram on any of the sockets.
async fn recv_any(sockets: &[UdpSocket], buf: &mut [u8]) -> Result<Received, String> {
    if sockets.is_empty() {
        return std::future::pending().await;
    }
    loop {
        // Wait until one is readable, then read it without blocking.
        let ready = first_readable(sockets).await;
        let sock = &sockets[ready];
        let res = sock.try_io(Interest::READABLE, || {
            recv_with_ifname(sock.as_raw_fd(), buf).map_err(std::io::Error::from)
        });
        match res {
            Ok((n, from, ifname)) => {
                return Ok(Received {
                    probe: ready,
                    from,
                    data: buf[..n].to_vec(),
                    ifname,
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            // An ICMP error for an earlier send on this socket: not a reply, keep going.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
            Err(e) => return Err(format!("cannot receive: {e}")),
        }
    }
}

/// The index of a socket that is readable.
async fn first_readable(sockets: &[UdpSocket]) -> usize {
    std::future::poll_fn(|cx| {
        for (i, s) in sockets.iter().enumerate() {
            if s.poll_recv_ready(cx).is_ready() {
                return std::task::Poll::Ready(i);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

fn recv_with_ifname(
    fd: std::os::fd::RawFd,
    buf: &mut [u8],
) -> nix::Result<(usize, SocketAddr, Option<String>)> {
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let mut cmsg = nix::cmsg_space!(nix::libc::in6_pktinfo, nix::libc::in_pktinfo);
    let msg = recvmsg::<SockaddrStorage>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_DONTWAIT)?;
    let mut ifindex = None;
    for c in msg.cmsgs()? {
        match c {
            ControlMessageOwned::Ipv4PacketInfo(i) => ifindex = Some(i.ipi_ifindex as u32),
            ControlMessageOwned::Ipv6PacketInfo(i) => ifindex = Some(i.ipi6_ifindex),
            _ => {}
        }
    }
    let from = msg
        .address
        .and_then(|a| {
            a.as_sockaddr_in()
                .map(|s| SocketAddr::from((s.ip(), s.port())))
                .or_else(|| {
                    a.as_sockaddr_in6()
                        .map(|s| SocketAddr::from((s.ip(), s.port())))
                })
        })
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let n = msg.bytes;
    let ifname = ifindex
        .and_then(|i| nix::net::if_::if_indextoname(i).ok())
        .and_then(|c| c.into_string().ok());
    Ok((n, from, ifname))
}
