//! Bad input on one connection stays on that connection: VP links and mux
//! clients that send garbage or announce oversized messages are closed with a
//! log line naming the reason, while a well-behaved VP and mux client of the
//! same controller keep working (a ping through them returns its result after
//! each bad input). Loopback and unix sockets only.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{Env, VpOpts, WAIT, log_line, logs, ping, result, wait_vps};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use vantage_client::MuxClient;
use vantage_proto::mux::VpId;
use vantage_proto::remote::{FrameDecoder, Magic, VpEvent, VpLink};

/// The well-behaved pair: a fake VP and a mux client that uses it.
struct Good {
    client: MuxClient,
    vp: VpId,
    _fake: common::FakeVp,
    pings: u32,
}

impl Good {
    fn new(env: &Env) -> Self {
        let fake = env.vp(VpOpts::named("good.example"));
        fake.established();
        let client = env.client();
        wait_vps(&client, 1);
        let vp = client.find_vp("good.example").unwrap().id;
        let mut g = Self {
            client,
            vp,
            _fake: fake,
            pings: 0,
        };
        g.ping();
        g
    }

    /// One ping on a new channel; its result must come back.
    fn ping(&mut self) {
        self.pings += 1;
        let dst = format!("192.0.2.{}", self.pings);
        let ch = self.client.open(self.vp).unwrap();
        ch.send(&format!("ping {dst}")).unwrap();
        let r = result(
            ch.next_result(Some(WAIT))
                .expect("no result for the good VP"),
        );
        assert_eq!(ping(&r).dst.to_string(), dst);
        assert!(
            self.client.vp(self.vp).is_some(),
            "the good VP is still listed"
        );
    }
}

static MAGIC: AtomicU32 = AtomicU32::new(1);

/// A raw VP link that completed the handshake, for sending bad bytes after it.
async fn raw_vp(addr: SocketAddr, name: &str) -> TcpStream {
    // Not the fake VPs' magics (process id, then a counter).
    let mut m = [0u8; 8];
    m[..4].copy_from_slice(&(std::process::id() ^ 0xbabe_f00d).to_be_bytes());
    m[4..].copy_from_slice(&MAGIC.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    let mut link = VpLink::new(Magic::new(m), Some(name.to_owned())).unwrap();
    let mut s = TcpStream::connect(addr).await.unwrap();
    link.connect(Instant::now()).unwrap();
    let mut dec = FrameDecoder::new();
    let mut buf = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut out = Vec::new();
        while let Some(f) = link.poll_transmit(Instant::now()) {
            f.encode_into(&mut out).unwrap();
        }
        s.write_all(&out).await.unwrap();
        while let Some(ev) = link.poll_event() {
            if matches!(ev, VpEvent::Established { .. }) {
                return s;
            }
        }
        let n = tokio::time::timeout_at(deadline, s.read(&mut buf))
            .await
            .expect("no handshake from the controller")
            .unwrap();
        assert_ne!(n, 0, "controller closed the link during the handshake");
        dec.feed(&buf[..n]);
        while let Some(f) = dec.poll() {
            link.handle_frame(Instant::now(), &f.unwrap()).unwrap();
        }
    }
}

/// Reads (and drops) until the peer closes; panics after [`WAIT`].
async fn closed<S: AsyncRead + Unpin>(s: &mut S, what: &str) {
    let mut buf = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let read = tokio::time::timeout_at(deadline, s.read(&mut buf)).await;
        let read = read.unwrap_or_else(|_| panic!("the controller did not close {what}"));
        if matches!(read, Ok(0) | Err(_)) {
            return;
        }
    }
}

/// Sends `bytes` as a VP's first bytes; the controller must close it.
fn bad_vp_first_bytes(env: &Env, bytes: &[u8]) -> String {
    env.rt().block_on(async {
        let mut s = TcpStream::connect(env.addr).await.unwrap();
        let me = s.local_addr().unwrap().to_string();
        s.write_all(bytes).await.unwrap();
        closed(&mut s, "a VP connection that sent bad first bytes").await;
        me
    })
}

/// Sends `bytes` on an established VP link; the controller must close it.
fn bad_vp_after_hello(env: &Env, name: &str, bytes: &[u8]) {
    env.rt().block_on(async {
        let mut s = raw_vp(env.addr, name).await;
        s.write_all(bytes).await.unwrap();
        closed(&mut s, "an established VP link that sent bad bytes").await;
    });
}

/// Sends `bytes` as a mux client; returns whether the controller closed it
/// within `wait`.
fn bad_mux(env: &Env, bytes: &[u8], wait: Duration) -> bool {
    env.rt().block_on(async {
        let mut s = UnixStream::connect(&env.mux).await.unwrap();
        s.write_all(bytes).await.unwrap();
        let mut buf = vec![0u8; 4096];
        // The controller greets with GO; after that, only a close may come.
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0) | Err(_)) => return true,
                Ok(Ok(_)) => {}
            }
        }
    })
}

#[test]
fn vp_garbage_before_hello() {
    logs();
    let env = Env::plaintext(Duration::from_secs(60), None);
    let mut good = Good::new(&env);
    // An HTTP client: its first "frame" is on channel 0x2f204854 ("/ HT").
    let peer = bad_vp_first_bytes(&env, b"GET / HTTP/1.1\r\nHost: controller\r\n\r\n");
    let l = log_line(&["refused VP", &peer]);
    assert!(l.contains("not a valid hello"), "{l}");
    good.ping();
    // Random-looking bytes on the control channel: a hello that does not parse.
    let peer = bad_vp_first_bytes(&env, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0xff, 1, 2, 3]);
    let l = log_line(&["refused VP", &peer]);
    assert!(l.contains("not a valid hello"), "{l}");
    good.ping();
    assert_eq!(good.client.vps().len(), 1, "no VP was added by garbage");
}

#[test]
fn vp_oversized_frame_before_hello() {
    logs();
    let env = Env::plaintext(Duration::from_secs(60), None);
    let mut good = Good::new(&env);
    // A control frame announcing 65535 bytes: refused at its header, without
    // waiting for the bytes or for the hello timeout.
    let peer = bad_vp_first_bytes(&env, &[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    let l = log_line(&["refused VP", &peer]);
    assert!(l.contains("announces 65535 bytes"), "{l}");
    good.ping();
    assert_eq!(good.client.vps().len(), 1);
}

#[test]
fn vp_garbage_and_oversized_frame_after_hello() {
    logs();
    let env = Env::plaintext(Duration::from_secs(60), None);
    let mut good = Good::new(&env);
    // Garbage on an established link: a whole frame with a wrong sequence number.
    bad_vp_after_hello(
        &env,
        "garbage.example",
        &[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 5, 0, 3, b'x', b'y', b'z'],
    );
    let l = log_line(&["VP link lost (protocol error", "seq 3735928559"]);
    assert!(l.contains("waiting for it to resume"), "{l}");
    good.ping();
    // A control frame announcing 65535 bytes on an established link.
    bad_vp_after_hello(
        &env,
        "oversized.example",
        &[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3],
    );
    let l = log_line(&["VP link lost (undecodable frame", "announces 65535 bytes"]);
    assert!(l.contains("waiting for it to resume"), "{l}");
    good.ping();
    // Both stay listed as zombies for their grace period; the good VP is unaffected.
    wait_vps(&good.client, 3);
    good.ping();
}

#[test]
fn mux_garbage_and_oversized_message() {
    logs();
    let env = Env::plaintext(Duration::from_secs(60), None);
    let mut good = Good::new(&env);
    // Garbage the mux decoder rejects: a control message of one byte.
    assert!(bad_mux(&env, &[0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff], WAIT));
    let l = log_line(&["mux client dropped: mux protocol error"]);
    assert!(l.contains("too short") || l.contains("short"), "{l}");
    good.ping();
    // A truncated CHANNEL_OPEN.
    assert!(bad_mux(&env, &[0, 0, 0, 0, 0, 0, 0, 3, 0, 3, 0xff], WAIT));
    good.ping();
    // An oversized control message: refused at its header.
    assert!(bad_mux(
        &env,
        &[0, 0, 0, 0, 0x10, 0, 0, 0, 0, 3, 0, 0],
        WAIT
    ));
    let l = log_line(&["mux client dropped: mux protocol error", "268435456"]);
    assert!(l.contains("WARN"), "{l}");
    good.ping();
    // Text: to the mux protocol, data for a channel never opened, which is
    // dropped (remote-protocol.md §6.1) with one log line; the connection
    // stays open.
    assert!(!bad_mux(
        &env,
        b"hello controller, this is not the mux protocol\n",
        Duration::from_millis(500)
    ));
    log_line(&["mux client sent data for a channel that is not open"]);
    good.ping();
    assert_eq!(good.client.vps().len(), 1);
}
