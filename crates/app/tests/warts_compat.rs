//! What the measurements record is valid warts: written with `vantage-warts` and read back,
//! every record is equal, and the JSON encoder accepts it. Loopback only, no root needed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::thread;
use std::time::Duration;

use vantage_app::dns::{DnsRequest, Edns, rtype};
use vantage_app::http::{self, HttpRequest};
use vantage_app::{AppEnv, NoPacing, host, udpprobe};
use vantage_command::{Command, Context, HttpUrl};
use vantage_model::{HostStop, HttpStop, Record};

/// An answer with A, NS, MX, TXT, SOA and SVCB records and an OPT with an NSID.
fn rich_answer(q: &[u8]) -> Vec<u8> {
    let mut i = 12;
    while q[i] != 0 {
        i += usize::from(q[i]) + 1;
    }
    let mut r = q[..12].to_vec();
    r[2] = 0x85;
    r[3] = 0x80;
    r[4..12].copy_from_slice(&[0, 1, 0, 6, 0, 0, 0, 1]);
    r.extend_from_slice(&q[12..i + 5]);
    let rr = |r: &mut Vec<u8>, t: u16, rdata: &[u8]| {
        r.extend_from_slice(&[0xc0, 0x0c]);
        r.extend_from_slice(&t.to_be_bytes());
        r.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        r.extend_from_slice(rdata);
    };
    rr(&mut r, 1, &[192, 0, 2, 1]);
    rr(&mut r, 2, &[3, b'n', b's', b'1', 0xc0, 0x0c]);
    rr(&mut r, 15, &[0, 10, 2, b'm', b'x', 0xc0, 0x0c]);
    rr(&mut r, 16, b"\x05hello\x05world");
    rr(
        &mut r,
        6,
        &[
            1, b'a', 0, 1, b'b', 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5,
        ],
    );
    rr(&mut r, 64, &[0, 1, 0, 0, 1, 0, 3, 2, b'h', b'2']);
    r.extend_from_slice(&[
        0, 0, 41, 4, 208, 0, 0, 0x80, 0, 0, 7, 0, 3, 0, 3, b'n', b's', b'1',
    ]);
    r
}

/// The record written to warts and read back, and the record without the Vantage-only
/// fields warts cannot store (which must be equal).
fn round_trip(rec: &Record) -> Record {
    let mut w = vantage_warts::Writer::new(Vec::new());
    w.write_record(rec).unwrap();
    let bytes = w.into_inner().unwrap();
    let mut rd = vantage_warts::Reader::new(&bytes[..]);
    loop {
        match rd.next_record().unwrap() {
            Some(r @ (Record::Host(_) | Record::Http(_) | Record::Udpprobe(_))) => return r,
            Some(_) => {}
            None => panic!("record not read back"),
        }
    }
}

fn stored(rec: &Record) -> Record {
    let mut r = rec.clone();
    r.clear_extensions();
    r
}

#[tokio::test]
async fn host_records_survive_warts_and_json() {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = s.local_addr().unwrap().port();
    let h = thread::spawn(move || {
        let mut buf = [0u8; 512];
        let (n, from) = s.recv_from(&mut buf).unwrap();
        s.send_to(&rich_answer(&buf[..n]), from).unwrap();
    });
    let mut req = DnsRequest::new("127.0.0.1".parse().unwrap(), "example.test", rtype::ANY);
    req.port = port;
    req.edns = Some(Edns {
        nsid: true,
        client_subnet: Some(("192.0.2.0".parse().unwrap(), 24)),
        ..Edns::default()
    });
    let run = host::run_request(&req, &AppEnv::new(NoPacing)).await;
    h.join().unwrap();
    assert_eq!(
        run.host.stop_reason,
        HostStop::Done,
        "{:?}",
        run.host.errmsg
    );
    assert_eq!(run.host.queries[0].an.len(), 6);
    let rec = Record::Host(Box::new(run.host));
    assert_eq!(round_trip(&rec), stored(&rec));
    let json = vantage_warts::json::to_json(&rec).unwrap();
    assert!(json.contains("\"type\":\"host\""), "{json}");
    assert!(json.contains("\"strs\":[\"hello\", \"world\"]"), "{json}");
}

#[tokio::test]
async fn http_and_udpprobe_records_survive_warts() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut b = [0u8; 1024];
        let _ = s.read(&mut b).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .unwrap();
    });
    let req = HttpRequest {
        dst: "127.0.0.1".parse().unwrap(),
        url: HttpUrl::parse(&format!("http://www.example.test:{port}/")).unwrap(),
        headers: Vec::new(),
        max_time: Duration::from_secs(3),
        insecure: false,
        max_body: 1000,
        alpn: Vec::new(),
        h2_prior_knowledge: false,
        grease: false,
        ech_config_list: None,
        user_id: 7,
    };
    let run = http::run_request(&req, &AppEnv::new(NoPacing)).await;
    h.join().unwrap();
    assert_eq!(run.http.stop_reason, HttpStop::Done);
    let rec = Record::Http(Box::new(run.http));
    assert_eq!(round_trip(&rec), stored(&rec));

    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = s.local_addr().unwrap().port();
    let h = thread::spawn(move || {
        let mut buf = [0u8; 64];
        let (n, from) = s.recv_from(&mut buf).unwrap();
        s.send_to(&buf[..n], from).unwrap();
    });
    let line = format!("udpprobe -d {port} -c 2 -W 0.5 -w 1 -p beef 127.0.0.1");
    let Command::Udpprobe(spec) = Command::parse(&line, &Context::new(1)).unwrap() else {
        panic!()
    };
    let run = udpprobe::run(&spec, &AppEnv::new(NoPacing)).await;
    h.join().unwrap();
    let rec = Record::Udpprobe(Box::new(run.udpprobe));
    assert_eq!(round_trip(&rec), stored(&rec));
    assert!(vantage_warts::json::to_json(&rec).is_some());
}
