//! Measurements against small servers written here, on 127.0.0.1 only: well-behaved ones,
//! and ones that send garbage, close early or never answer. Every case must end with a
//! recorded result (and the right stop reason), never a hang. No root needed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::many_single_char_names
)]

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::thread;
use std::time::Duration;

use vantage_app::dns::{DnsRequest, rtype};
use vantage_app::http::{self, HttpRequest};
use vantage_app::{AppEnv, NoPacing, host, udpprobe};
use vantage_command::{Command, Context, HttpUrl, UdpprobeSpec};
use vantage_model::{DnsRrData, HostStop, HttpBufType, HttpStop, UdpprobeStop};

const LO: &str = "127.0.0.1";

fn lo() -> IpAddr {
    LO.parse().unwrap()
}

/// A response to `query` with one A record 192.0.2.80 (TTL 300) for the question.
fn answer(query: &[u8]) -> Vec<u8> {
    let mut r = query[..12].to_vec();
    r[2] = 0x84 | (query[2] & 0x01); // QR, AA, RD copied
    r[3] = 0x00;
    r[6..8].copy_from_slice(&[0, 1]);
    r[10..12].copy_from_slice(&[0, 0]);
    // question: from 12 to the end of the first name + 4
    let mut i = 12;
    while query[i] != 0 {
        i += usize::from(query[i]) + 1;
    }
    r.extend_from_slice(&query[12..i + 5]);
    r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 80]);
    r
}

/// A UDP server on loopback that answers each datagram with `reply(query)` (nothing if
/// `None`), for `count` datagrams.
fn udp_server(
    count: usize,
    reply: fn(&[u8]) -> Option<Vec<u8>>,
) -> (SocketAddr, thread::JoinHandle<()>) {
    let s = UdpSocket::bind((LO, 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let addr = s.local_addr().unwrap();
    let h = thread::spawn(move || {
        let mut buf = [0u8; 2048];
        for _ in 0..count {
            let Ok((n, from)) = s.recv_from(&mut buf) else {
                return;
            };
            if let Some(r) = reply(&buf[..n]) {
                s.send_to(&r, from).unwrap();
            }
        }
    });
    (addr, h)
}

fn request(port: u16, name: &str, qtype: u16) -> DnsRequest {
    let mut r = DnsRequest::new(lo(), name, qtype);
    r.port = port;
    r.timeout = Duration::from_secs(2);
    r
}

fn env() -> AppEnv<NoPacing> {
    AppEnv::new(NoPacing)
}

#[tokio::test]
async fn dns_udp_answer_is_decoded_and_kept_raw() {
    let (addr, h) = udp_server(1, |q| Some(answer(q)));
    let run = host::run_request(&request(addr.port(), "www.example.test", rtype::A), &env()).await;
    h.join().unwrap();
    assert_eq!(
        run.host.stop_reason,
        HostStop::Done,
        "{:?}",
        run.host.errmsg
    );
    assert_eq!(run.host.queries.len(), 1);
    let q = &run.host.queries[0];
    assert!(q.has_response());
    assert!(q.rtt().is_some());
    assert_eq!(q.rcode, 0);
    assert_eq!(q.an.len(), 1);
    assert_eq!(
        q.an[0].data,
        Some(DnsRrData::Addr("192.0.2.80".parse().unwrap()))
    );
    let raw = run.host.queries[0].response.as_ref().unwrap();
    assert_eq!(u16::from_be_bytes([raw[0], raw[1]]), q.id);
    assert_eq!(run.host.src, Some("127.0.0.1".parse().unwrap()));
}

#[tokio::test]
async fn dns_garbage_is_recorded_with_an_error() {
    let (addr, h) = udp_server(1, |_| Some(b"this is not DNS".to_vec()));
    let run = host::run_request(&request(addr.port(), "www.example.test", rtype::A), &env()).await;
    h.join().unwrap();
    assert_eq!(run.host.stop_reason, HostStop::Error);
    let msg = run.host.errmsg.as_deref().unwrap();
    assert!(msg.contains("malformed DNS response"), "{msg}");
    assert_eq!(
        run.host.queries[0].response.as_deref(),
        Some(&b"this is not DNS"[..])
    );
    assert!(run.host.queries[0].has_response());
}

#[tokio::test]
async fn dns_wrong_question_and_not_a_response_are_errors() {
    // Echo the query back: QR clear.
    let (addr, h) = udp_server(1, |q| Some(q.to_vec()));
    let run = host::run_request(&request(addr.port(), "www.example.test", rtype::A), &env()).await;
    h.join().unwrap();
    assert_eq!(run.host.stop_reason, HostStop::Error);
    assert!(run.host.errmsg.unwrap().contains("not a response"));

    // Answer with another question type.
    let (addr, h) = udp_server(1, |q| {
        let mut r = answer(q);
        let qt = r.len() - 16 - 4;
        r[qt + 1] = 28;
        Some(r)
    });
    let run = host::run_request(&request(addr.port(), "www.example.test", rtype::A), &env()).await;
    h.join().unwrap();
    assert!(run.host.errmsg.unwrap().contains("another question"));
}

#[tokio::test]
async fn dns_unknown_ids_are_ignored_and_late_answers_match() {
    // One query, two datagrams back: a well-formed response with another id (ignored),
    // then the real one.
    let s = UdpSocket::bind((LO, 0)).unwrap();
    let port = s.local_addr().unwrap().port();
    let h = thread::spawn(move || {
        let mut buf = [0u8; 512];
        let (n, from) = s.recv_from(&mut buf).unwrap();
        let mut wrong = answer(&buf[..n]);
        wrong[0] ^= 0xff;
        s.send_to(&wrong, from).unwrap();
        s.send_to(&answer(&buf[..n]), from).unwrap();
    });
    let run = host::run_request(&request(port, "www.example.test", rtype::A), &env()).await;
    h.join().unwrap();
    assert_eq!(run.host.stop_reason, HostStop::Done);
    assert_eq!(run.ignored, 1);
    assert_eq!(run.host.queries.len(), 1);

    // The answer to the first attempt arrives while the second waits: it counts for the
    // first.
    let s = UdpSocket::bind((LO, 0)).unwrap();
    let port = s.local_addr().unwrap().port();
    let h = thread::spawn(move || {
        let mut buf = [0u8; 512];
        let (n, from) = s.recv_from(&mut buf).unwrap();
        let first = buf[..n].to_vec();
        let _ = s.recv_from(&mut buf).unwrap();
        s.send_to(&answer(&first), from).unwrap();
    });
    let mut req = request(port, "www.example.test", rtype::A);
    req.retries = 2;
    req.timeout = Duration::from_millis(300);
    let run = host::run_request(&req, &env()).await;
    h.join().unwrap();
    assert_eq!(run.host.stop_reason, HostStop::Done);
    // Two attempts at least were sent (the server waited for the second before answering
    // the first); only the first has a response.
    assert!(run.host.queries.len() >= 2);
    assert!(run.host.queries[0].has_response());
    assert!(run.host.queries[1..].iter().all(|q| !q.has_response()));
}

#[tokio::test]
async fn dns_silent_server_times_out_after_every_retry() {
    let (addr, _h) = udp_server(2, |_| None);
    let mut req = request(addr.port(), "www.example.test", rtype::A);
    req.retries = 1;
    req.timeout = Duration::from_millis(200);
    let run = host::run_request(&req, &env()).await;
    assert_eq!(run.host.stop_reason, HostStop::Timeout);
    assert_eq!(run.host.queries.len(), 2);
    assert!(
        run.host
            .queries
            .iter()
            .all(|q| !q.has_response() && !q.tx.is_zero())
    );
    assert_ne!(run.host.queries[0].id, 0);
}

#[tokio::test]
async fn dns_closed_port_is_an_error_not_a_hang() {
    // Bind and drop to find a closed port.
    let port = UdpSocket::bind((LO, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = host::run_request(&request(port, "www.example.test", rtype::A), &env()).await;
    assert_eq!(run.host.stop_reason, HostStop::Error);
    assert!(run.host.errmsg.unwrap().contains("port unreachable"));
}

fn tcp_server(behave: fn(std::net::TcpStream)) -> (SocketAddr, thread::JoinHandle<()>) {
    let l = TcpListener::bind((LO, 0)).unwrap();
    let addr = l.local_addr().unwrap();
    let h = thread::spawn(move || {
        if let Ok((s, _)) = l.accept() {
            behave(s);
        }
    });
    (addr, h)
}

fn read_framed(s: &mut std::net::TcpStream) -> Vec<u8> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut q).unwrap();
    q
}

#[tokio::test]
async fn dns_tcp_answer_and_early_close() {
    let (addr, h) = tcp_server(|mut s| {
        let q = read_framed(&mut s);
        let r = answer(&q);
        s.write_all(&(r.len() as u16).to_be_bytes()).unwrap();
        s.write_all(&r).unwrap();
    });
    let mut req = request(addr.port(), "www.example.test", rtype::A);
    req.tcp = true;
    let run = host::run_request(&req, &env()).await;
    h.join().unwrap();
    assert_eq!(
        run.host.stop_reason,
        HostStop::Done,
        "{:?}",
        run.host.errmsg
    );
    assert_eq!(run.host.queries[0].an.len(), 1);

    // Promise 100 bytes, send 10, close.
    let (addr, h) = tcp_server(|mut s| {
        let _ = read_framed(&mut s);
        s.write_all(&[0, 100]).unwrap();
        s.write_all(&[0xab; 10]).unwrap();
    });
    req.port = addr.port();
    let run = host::run_request(&req, &env()).await;
    h.join().unwrap();
    assert_eq!(run.host.stop_reason, HostStop::Error);
    assert!(run.host.errmsg.unwrap().contains("after 10 of 100 bytes"));
    assert_eq!(
        run.host.queries[0].response.as_deref(),
        Some(&[0xab; 10][..])
    );

    // Accept and never answer.
    let (addr, _h) = tcp_server(|mut s| {
        let _ = read_framed(&mut s);
        thread::sleep(Duration::from_secs(3));
    });
    req.port = addr.port();
    req.timeout = Duration::from_millis(300);
    let run = host::run_request(&req, &env()).await;
    assert_eq!(run.host.stop_reason, HostStop::Timeout);
}

fn http_req(port: u16, path: &str) -> HttpRequest {
    HttpRequest {
        dst: lo(),
        url: HttpUrl::parse(&format!("http://www.example.test:{port}{path}")).unwrap(),
        headers: Vec::new(),
        max_time: Duration::from_secs(3),
        insecure: false,
        max_body: http::DEFAULT_MAX_BODY,
        alpn: Vec::new(),
        h2_prior_knowledge: false,
        grease: false,
        ech_config_list: None,
        user_id: 0,
    }
}

fn read_head(s: &mut std::net::TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).unwrap_or(0) == 0 {
            break;
        }
        got.push(b[0]);
    }
    got
}

#[tokio::test]
async fn http_ok_response_is_recorded_in_phases_and_buffers() {
    let (addr, h) = tcp_server(|mut s| {
        let head = read_head(&mut s);
        assert!(head.starts_with(b"GET /index.html HTTP/1.1\r\nHost: www.example.test:"));
        s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .unwrap();
        s.write_all(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
            .unwrap();
    });
    let run = http::run_request(&http_req(addr.port(), "/index.html"), &env()).await;
    h.join().unwrap();
    assert_eq!(
        run.http.stop_reason,
        HttpStop::Done,
        "{:?}",
        run.http.errmsg
    );
    assert_eq!(run.status, Some(200));
    let v = vantage_app::httprec::view(&run.http.bufs);
    assert_eq!(v.status, Some(200));
    assert_eq!(v.body, b"hello world");
    assert!(v.head.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(v.request_head.starts_with(b"GET /index.html HTTP/1.1\r\n"));
    let p = run.phases;
    let (c, r, f, d) = (
        p.connect.unwrap(),
        p.request_sent.unwrap(),
        p.first_byte.unwrap(),
        p.done.unwrap(),
    );
    assert!(c <= r && r <= f && f <= d, "{p:?}");
    assert!(p.tls.is_none());
    assert_eq!(run.http.bufs[0].kind, HttpBufType::Header);
    assert!(run.http.bufs[0].tx);
}

#[tokio::test]
async fn http_body_cap() {
    let (addr, h) = tcp_server(|mut s| {
        let _ = read_head(&mut s);
        s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 200000\r\n\r\n")
            .unwrap();
        let _ = s.write_all(&vec![b'x'; 200_000]);
    });
    let mut req = http_req(addr.port(), "/big");
    req.max_body = 100_000;
    let run = http::run_request(&req, &env()).await;
    h.join().unwrap();
    assert_eq!(run.http.stop_reason, HttpStop::Done);
    assert!(run.http.errmsg.unwrap().contains("cap"));
    let v = vantage_app::httprec::view(&run.http.bufs);
    assert_eq!(v.body.len(), 100_000);
    assert!(run.http.bufs.iter().all(|b| b.data.len() <= 65535));
}

#[tokio::test]
async fn http_garbage_early_close_and_silence() {
    // Garbage.
    let (addr, h) = tcp_server(|mut s| {
        let _ = read_head(&mut s);
        s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\nnot http at all")
            .unwrap();
    });
    let run = http::run_request(&http_req(addr.port(), "/"), &env()).await;
    h.join().unwrap();
    assert_eq!(run.http.stop_reason, HttpStop::Error);
    assert!(run.http.errmsg.unwrap().contains("HTTP exchange failed"));
    let v = vantage_app::httprec::view(&run.http.bufs);
    assert!(v.head.starts_with(b"SSH-2.0"), "raw bytes kept: {v:?}");

    // Close after half a header.
    let (addr, h) = tcp_server(|mut s| {
        let _ = read_head(&mut s);
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap();
    });
    let run = http::run_request(&http_req(addr.port(), "/"), &env()).await;
    h.join().unwrap();
    assert_eq!(run.http.stop_reason, HttpStop::Error);

    // Close in the middle of the body.
    let (addr, h) = tcp_server(|mut s| {
        let _ = read_head(&mut s);
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
            .unwrap();
    });
    let run = http::run_request(&http_req(addr.port(), "/"), &env()).await;
    h.join().unwrap();
    assert_eq!(run.http.stop_reason, HttpStop::Error);
    assert_eq!(run.status, Some(200));
    assert_eq!(vantage_app::httprec::view(&run.http.bufs).body, b"short");

    // Never answer: the max time ends it.
    let (addr, _h) = tcp_server(|mut s| {
        let _ = read_head(&mut s);
        thread::sleep(Duration::from_secs(4));
    });
    let mut req = http_req(addr.port(), "/");
    req.max_time = Duration::from_millis(500);
    let run = http::run_request(&req, &env()).await;
    assert_eq!(run.http.stop_reason, HttpStop::Timeout);
    assert!(run.phases.connect.is_some());
    assert!(
        vantage_app::httprec::view(&run.http.bufs)
            .request_head
            .starts_with(b"GET / HTTP/1.1")
    );

    // Nobody listening.
    let port = TcpListener::bind((LO, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = http::run_request(&http_req(port, "/"), &env()).await;
    assert_eq!(run.http.stop_reason, HttpStop::NoConn);
    assert!(run.http.errmsg.unwrap().contains("cannot connect"));
}

#[tokio::test]
async fn http_tls_to_a_plain_server_is_an_error() {
    let (addr, h) = tcp_server(|mut s| {
        let mut b = [0u8; 512];
        let _ = s.read(&mut b);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    let mut req = http_req(addr.port(), "/");
    req.url.https = true;
    let run = http::run_request(&req, &env()).await;
    h.join().unwrap();
    assert_eq!(run.http.stop_reason, HttpStop::Error);
    assert!(run.http.errmsg.unwrap().contains("TLS handshake"));
    // The ClientHello we sent is recorded.
    assert!(
        run.http
            .bufs
            .iter()
            .any(|b| b.tx && b.kind == HttpBufType::Tls)
    );
    assert!(run.tls.is_some());
}

fn udpprobe_spec(port: u16, count: u8, extra: &str) -> UdpprobeSpec {
    let line = format!("udpprobe -d {port} -c {count} -W 0.5 -w 1.5 {extra} -p 68656c6c6f {LO}");
    match Command::parse(&line, &Context::new(4242)).unwrap() {
        Command::Udpprobe(s) => s,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn udpprobe_records_every_reply_from_any_address() {
    // The server answers each probe twice: once from its own port, once from another
    // socket (another source port).
    let s = UdpSocket::bind((LO, 0)).unwrap();
    let other = UdpSocket::bind((LO, 0)).unwrap();
    let port = s.local_addr().unwrap().port();
    let other_addr = other.local_addr().unwrap();
    let h = thread::spawn(move || {
        let mut buf = [0u8; 64];
        for _ in 0..2 {
            let (n, from) = s.recv_from(&mut buf).unwrap();
            s.send_to(&buf[..n], from).unwrap();
            other.send_to(b"second", from).unwrap();
        }
    });
    let run = udpprobe::run(&udpprobe_spec(port, 2, ""), &env()).await;
    h.join().unwrap();
    let u = &run.udpprobe;
    assert_eq!(u.stop_reason, UdpprobeStop::Done);
    assert_eq!(u.probes.len(), 2);
    for p in &u.probes {
        assert_eq!(p.replies.len(), 2, "{p:?}");
        assert_eq!(p.replies[0].data, b"hello");
        assert!(
            p.replies
                .iter()
                .any(|r| r.src == Some(other_addr.ip().into()) && r.sport == other_addr.port()),
            "{p:?}"
        );
        assert_eq!(p.replies[0].ifname.as_deref(), Some("lo"));
        assert_ne!(p.sport, 0);
    }
    assert_ne!(u.probes[0].sport, u.probes[1].sport);
}

#[tokio::test]
async fn udpprobe_exitfirst_and_silence() {
    let (addr, h) = udp_server(1, |q| Some(q.to_vec()));
    let run = udpprobe::run(&udpprobe_spec(addr.port(), 3, "-O exitfirst"), &env()).await;
    h.join().unwrap();
    assert_eq!(run.udpprobe.probes.len(), 1, "stops at the first reply");
    assert_eq!(run.udpprobe.stop_reason, UdpprobeStop::Done);

    let (addr, _h) = udp_server(0, |_| None);
    let run = udpprobe::run(&udpprobe_spec(addr.port(), 2, ""), &env()).await;
    assert_eq!(run.udpprobe.probes.len(), 2);
    assert!(run.udpprobe.probes.iter().all(|p| p.replies.is_empty()));
    assert_eq!(run.udpprobe.stop_reason, UdpprobeStop::Done);
}

#[tokio::test]
async fn http2_with_prior_knowledge_over_memory() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let seed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/app_http_response/h2-hello"
    ))
    .unwrap();
    let (client, mut server) = tokio::io::duplex(1 << 16);
    let srv = tokio::spawn(async move {
        let mut b = [0u8; 4096];
        let mut got = Vec::new();
        // Read until the request's HEADERS frame (type 1, END_STREAM|END_HEADERS) arrived.
        while !got.windows(2).any(|w| w == [0x01, 0x05]) {
            let n = server.read(&mut b).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&b[..n]);
        }
        server.write_all(&seed[3..]).await.unwrap();
        server.shutdown().await.unwrap();
        while matches!(server.read(&mut b).await, Ok(n) if n > 0) {}
    });
    let req = http_req(80, "/x");
    let run = http::fetch_over(client, &req, true, &vantage_app::SystemClock).await;
    srv.abort();
    assert_eq!(
        run.http.stop_reason,
        HttpStop::Done,
        "{:?}",
        run.http.errmsg
    );
    assert_eq!(run.status, Some(200));
    let v = vantage_app::httprec::view(&run.http.bufs);
    assert_eq!(v.head, b"HTTP/2 200\r\n\r\n");
    assert_eq!(v.body, b"hello");
    assert!(
        String::from_utf8_lossy(&v.request_head)
            .starts_with("GET /x HTTP/2\r\n:authority: www.example.test\r\n:scheme: http\r\n")
    );

    // HEADERS on a stream the client never opened (a protocol error): an error, not a
    // hang.
    let (client, mut server) = tokio::io::duplex(1 << 16);
    let srv = tokio::spawn(async move {
        let mut b = [0u8; 4096];
        let _ = server.read(&mut b).await;
        let seed = b"\0\0\0\x04\0\0\0\0\0\0\0\x01\x01\x05\0\0\0\x03\x88";
        server.write_all(seed).await.unwrap();
        while matches!(server.read(&mut b).await, Ok(n) if n > 0) {}
    });
    let mut req = http_req(80, "/x");
    req.max_time = Duration::from_secs(20);
    let run = http::fetch_over(client, &req, true, &vantage_app::SystemClock).await;
    srv.abort();
    assert_eq!(
        run.http.stop_reason,
        HttpStop::Error,
        "{:?}",
        run.http.errmsg
    );
}

#[tokio::test]
async fn udpprobe_keeps_at_most_255_replies_per_probe() {
    let s = UdpSocket::bind((LO, 0)).unwrap();
    let port = s.local_addr().unwrap().port();
    let h = thread::spawn(move || {
        let mut buf = [0u8; 64];
        let (_, from) = s.recv_from(&mut buf).unwrap();
        for i in 0..300u16 {
            s.send_to(&i.to_be_bytes(), from).unwrap();
        }
    });
    let run = udpprobe::run(&udpprobe_spec(port, 1, ""), &env()).await;
    h.join().unwrap();
    assert_eq!(run.udpprobe.probes[0].replies.len(), udpprobe::MAX_REPLIES);
    assert!(run.dropped > 0);
    assert_eq!(run.udpprobe.probes[0].replies[0].data, [0, 0]);
}
