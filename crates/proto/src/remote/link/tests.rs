use super::*;
use crate::remote::FrameDecoder;
use hex_literal::hex;
use proptest::prelude::*;

fn magic() -> Magic {
    Magic::new(hex!("a1b2c3d4e5f60718"))
}

fn bytes_of(f: &Frame) -> Vec<u8> {
    f.encode().unwrap()
}

fn decode_one(bytes: &[u8]) -> Frame {
    let mut d = FrameDecoder::new();
    d.feed(bytes);
    d.poll().unwrap().unwrap()
}

/// remote-protocol.md §7, driven through both state machines; every frame is
/// checked against the spec's bytes.
#[test]
fn spec_example_exchange() {
    let t0 = Instant::now();
    let mut vp = VpLink::new(magic(), Some("vp1.example".into())).unwrap();
    vp.connect(t0).unwrap();
    let hello = vp.poll_transmit(t0).unwrap();
    assert_eq!(
        bytes_of(&hello),
        hex!("00000000 00000000 0017 00 08 a1b2c3d4e5f60718 0c 7670312e6578616d706c6500")
    );
    let Hello::New { magic: m, name } = Hello::parse(&decode_one(&bytes_of(&hello))).unwrap()
    else {
        panic!()
    };
    let mut r = ControllerLink::accept_new(t0, m, name, "198.51.100.55:40000".into()).unwrap();
    assert_eq!(r.monitor_name(), Some("vp1.example"));
    let id = r.poll_transmit(t0).unwrap();
    assert_eq!(
        bytes_of(&id),
        hex!("00000000 00000000 0016 01 14 3139382e35312e3130302e35353a343030303000")
    );
    vp.handle_frame(t0, &id).unwrap();
    assert_eq!(
        vp.poll_event(),
        Some(VpEvent::Established {
            alias: "198.51.100.55:40000".into()
        })
    );

    let ch = r.open_channel();
    assert_eq!(ch, ChannelId(1));
    let new = r.poll_transmit(t0).unwrap();
    assert_eq!(bytes_of(&new), hex!("00000000 00000000 0005 02 00000001"));
    vp.handle_frame(t0, &new).unwrap();
    assert_eq!(vp.poll_event(), Some(VpEvent::ChannelOpened(ChannelId(1))));
    let ack = vp.poll_transmit(t0).unwrap();
    assert_eq!(bytes_of(&ack), hex!("00000000 00000000 0005 05 00000000"));
    r.handle_frame(t0, &ack).unwrap();
    assert_eq!(r.unacked(), 0);

    vp.send_data(ch, b"MORE\n").unwrap();
    let more = vp.poll_transmit(t0).unwrap();
    assert_eq!(bytes_of(&more), hex!("00000000 00000001 0005 4d4f52450a"));
    r.handle_frame(t0, &more).unwrap();
    assert_eq!(
        r.poll_event(),
        Some(ControllerEvent::Data {
            channel: ch,
            bytes: b"MORE\n".to_vec()
        })
    );
    let ack = r.poll_transmit(t0).unwrap();
    assert_eq!(bytes_of(&ack), hex!("00000001 00000000 0005 05 00000000"));
    vp.handle_frame(t0, &ack).unwrap();

    // VP seq 1..4: DATA headers and uuencoded records, each acked.
    for chunk in [&b"DATA 56\n"[..], b"list", b"DATA 48\n", b"cycle"] {
        vp.send_data(ch, chunk).unwrap();
        let f = vp.poll_transmit(t0).unwrap();
        r.handle_frame(t0, &f).unwrap();
        let a = r.poll_transmit(t0).unwrap();
        vp.handle_frame(t0, &a).unwrap();
    }
    assert_eq!(vp.snd_nxt(), Seq(5));

    r.send_data(ch, b"ping -c 1 192.0.2.1\n").unwrap();
    let ping = r.poll_transmit(t0).unwrap();
    assert_eq!(
        bytes_of(&ping),
        hex!("00000001 00000001 0014 70696e67202d632031203139322e302e322e310a")
    );
    vp.handle_frame(t0, &ping).unwrap();
    let ack = vp.poll_transmit(t0).unwrap();
    assert_eq!(bytes_of(&ack), hex!("00000005 00000000 0005 05 00000001"));
    r.handle_frame(t0, &ack).unwrap();

    // Keepalive: stamped with snd_nxt, which it does not consume.
    let t30 = t0 + KEEPALIVE_AFTER;
    assert!(vp.poll_timeout().unwrap() <= t30);
    vp.handle_timeout(t30).unwrap();
    let ka = vp.poll_transmit(t30).unwrap();
    assert_eq!(bytes_of(&ka), hex!("00000005 00000000 0001 04"));
    r.handle_frame(t30, &ka).unwrap();
    assert_eq!(vp.snd_nxt(), Seq(5));
}

/// The spec's resume example, reproduced: the VP expects R seq 2, its oldest
/// unacked is 5, next is 7; R has received up to 5 and accepts with MASTER_OK(6);
/// R retransmits its seq 2, the VP drops its 5 and retransmits 6.
#[test]
fn spec_example_resume() {
    let t0 = Instant::now();
    let mut vp = VpLink::new(magic(), Some("vp1.example".into())).unwrap();
    let mut r = establish(&mut vp, t0);
    let ch = r.open_channel(); // R seq 0
    r.send_data(ch, b"ping").unwrap(); // R seq 1
    pump(&mut vp, &mut r, t0);
    assert_eq!(vp.rcv_nxt(), Seq(2));
    for i in 0..7u8 {
        vp.send_data(ch, &[i]).unwrap(); // VP seq 0..=6
    }
    let vp_frames: Vec<Frame> = std::iter::from_fn(|| vp.poll_transmit(t0)).collect();
    for f in &vp_frames[..6] {
        r.handle_frame(t0, f).unwrap();
    }
    let acks: Vec<Frame> = std::iter::from_fn(|| r.poll_transmit(t0)).collect();
    assert_eq!(acks.len(), 6);
    for a in &acks[..5] {
        vp.handle_frame(t0, a).unwrap();
    }
    r.send_data(ch, b"x").unwrap(); // R seq 2, lost
    let _ = r.poll_transmit(t0);
    vp.link_down();
    r.link_down();

    vp.connect(t0).unwrap();
    let hello = vp.poll_transmit(t0).unwrap();
    assert_eq!(
        bytes_of(&hello),
        hex!("00000000 00000000 0016 06 08 a1b2c3d4e5f60718 00000002 00000005 00000007")
    );
    let Hello::Resume(req) = Hello::parse(&hello).unwrap() else {
        panic!()
    };
    r.resume(t0, &req, "198.51.100.55:40001".into()).unwrap();
    let ok = r.poll_transmit(t0).unwrap();
    assert_eq!(bytes_of(&ok), hex!("00000000 00000000 0005 08 00000006"));
    let re = r.poll_transmit(t0).unwrap();
    assert_eq!((re.seq, re.payload.as_slice()), (Seq(2), &b"x"[..]));
    assert!(r.poll_transmit(t0).is_none());
    vp.handle_frame(t0, &ok).unwrap();
    let vre = vp.poll_transmit(t0).unwrap();
    assert_eq!((vre.seq, vre.payload.as_slice()), (Seq(6), &[6u8][..]));
    assert!(vp.poll_transmit(t0).is_none());
    vp.handle_frame(t0, &re).unwrap();
    r.handle_frame(t0, &vre).unwrap();
    pump(&mut vp, &mut r, t0);
    assert_eq!((vp.unacked(), r.unacked()), (0, 0));
}

/// A new session between `vp` and a fresh controller record.
fn establish(vp: &mut VpLink, now: Instant) -> ControllerLink {
    vp.connect(now).unwrap();
    let hello = vp.poll_transmit(now).unwrap();
    let Hello::New { magic, name } = Hello::parse(&hello).unwrap() else {
        panic!("expected MASTER_NEW")
    };
    let mut r = ControllerLink::accept_new(now, magic, name, "127.0.0.1:1".into()).unwrap();
    let id = r.poll_transmit(now).unwrap();
    vp.handle_frame(now, &id).unwrap();
    assert!(matches!(vp.poll_event(), Some(VpEvent::Established { .. })));
    r
}

/// Delivers frames both ways until neither side has anything to send.
fn pump(vp: &mut VpLink, r: &mut ControllerLink, now: Instant) {
    loop {
        let mut moved = false;
        while let Some(f) = vp.poll_transmit(now) {
            r.handle_frame(now, &f).unwrap();
            moved = true;
        }
        while let Some(f) = r.poll_transmit(now) {
            vp.handle_frame(now, &f).unwrap();
            moved = true;
        }
        if !moved {
            return;
        }
    }
}

#[test]
fn resume_and_retransmit_after_drop() {
    let t0 = Instant::now();
    let mut vp = VpLink::new(magic(), None).unwrap();
    let mut r = establish(&mut vp, t0);
    let ch = r.open_channel();
    pump(&mut vp, &mut r, t0);
    assert_eq!(vp.poll_event(), Some(VpEvent::ChannelOpened(ch)));
    vp.send_data(ch, b"one").unwrap();
    r.send_data(ch, b"uno").unwrap();
    // Lose everything in flight.
    let _ = vp.poll_transmit(t0);
    let _ = r.poll_transmit(t0);
    vp.link_down();
    r.link_down();
    // Data produced while disconnected is queued.
    vp.send_data(ch, b"two").unwrap();
    r.send_data(ch, b"dos").unwrap();
    assert!(vp.poll_transmit(t0).is_none());
    assert!(r.poll_transmit(t0).is_none());

    vp.connect(t0).unwrap();
    let hello = vp.poll_transmit(t0).unwrap();
    let Hello::Resume(req) = Hello::parse(&hello).unwrap() else {
        panic!()
    };
    r.resume(t0, &req, "127.0.0.1:2".into()).unwrap();
    assert_eq!(r.id_string(), "127.0.0.1:2");
    pump(&mut vp, &mut r, t0);
    assert_eq!(vp.poll_event(), Some(VpEvent::Resumed));
    let mut vp_got = Vec::new();
    while let Some(VpEvent::Data { bytes, .. }) = vp.poll_event() {
        vp_got.extend(bytes);
    }
    let mut r_got = Vec::new();
    while let Some(ControllerEvent::Data { bytes, .. }) = r.poll_event() {
        r_got.extend(bytes);
    }
    assert_eq!(vp_got, b"unodos");
    assert_eq!(r_got, b"onetwo");
    assert_eq!((vp.unacked(), r.unacked()), (0, 0));
}

#[test]
fn rejected_resume_starts_over() {
    let t0 = Instant::now();
    let mut vp = VpLink::new(magic(), None).unwrap();
    let mut r = establish(&mut vp, t0);
    let ch = r.open_channel();
    pump(&mut vp, &mut r, t0);
    vp.poll_event();
    vp.link_down();
    // The controller forgot the VP (zombie expired): it answers MASTER_REJ.
    vp.connect(t0).unwrap();
    let hello = vp.poll_transmit(t0).unwrap();
    let Hello::Resume(req) = Hello::parse(&hello).unwrap() else {
        panic!()
    };
    let mut other = ControllerLink::accept_new(t0, Magic::new([9; 8]), None, "x".into()).unwrap();
    assert!(matches!(
        other.resume(t0, &req, "y".into()),
        Err(Error::ResumeRefused(_))
    ));
    let rej = ControllerLink::reject_frame();
    assert_eq!(bytes_of(&rej), hex!("00000000 00000000 0001 07"));
    vp.handle_frame(t0, &rej).unwrap();
    assert_eq!(vp.poll_event(), Some(VpEvent::ChannelsDropped(vec![ch])));
    assert_eq!(vp.poll_event(), Some(VpEvent::Rejected));
    assert_eq!(vp.state(), VpState::Disconnected);
    assert!(!vp.resume_allowed());
    assert_eq!(vp.connect(t0), Err(Error::MagicRejected));
    vp.replace_magic(Magic::new([7; 8])).unwrap();
    vp.connect(t0).unwrap();
    let hello = vp.poll_transmit(t0).unwrap();
    assert!(matches!(Hello::parse(&hello), Ok(Hello::New { .. })));
    assert_eq!(vp.snd_nxt(), Seq(0));
    let _ = r.snd_nxt();
}

#[test]
fn controller_refuses_inconsistent_resumes() {
    let t0 = Instant::now();
    let mut vp = VpLink::new(magic(), None).unwrap();
    let mut r = establish(&mut vp, t0);
    let ch = r.open_channel();
    pump(&mut vp, &mut r, t0);
    r.send_data(ch, b"a").unwrap();
    r.link_down();
    // R snd_nxt = 2, unacked holds seq 1 only; R rcv_nxt = 0.
    let req = |rcv_nxt, snd_una, snd_nxt| ResumeRequest {
        magic: magic(),
        rcv_nxt: Seq(rcv_nxt),
        snd_una: Seq(snd_una),
        snd_nxt: Seq(snd_nxt),
    };
    assert!(
        r.resume(t0, &req(0, 0, 0), "p".into()).is_err(),
        "VP wants seq 0, long acked"
    );
    assert!(
        r.resume(t0, &req(3, 0, 0), "p".into()).is_err(),
        "VP wants a seq never sent"
    );
    assert!(
        r.resume(t0, &req(1, 1, 1), "p".into()).is_err(),
        "R rcv_nxt 0 outside [1, 1]"
    );
    assert!(r.resume(t0, &req(1, 0, 0), "p".into()).is_ok());
    let ok = r.poll_transmit(t0).unwrap();
    assert_eq!(
        Message::from_frame(&ok).unwrap(),
        Message::Control(ControlMsg::MasterOk(Seq(0)))
    );
    let re = r.poll_transmit(t0).unwrap();
    assert_eq!((re.seq, re.payload.as_slice()), (Seq(1), &b"a"[..]));
    // Resuming at R's snd_nxt (nothing unacked to resend) is fine too.
    r.link_down();
    assert!(r.resume(t0, &req(2, 0, 0), "p".into()).is_ok());
}

#[test]
fn vp_checks_master_ok_window() {
    let t0 = Instant::now();
    let mut vp = VpLink::new(magic(), None).unwrap();
    let mut r = establish(&mut vp, t0);
    let ch = r.open_channel();
    pump(&mut vp, &mut r, t0);
    vp.send_data(ch, b"a").unwrap();
    vp.link_down();
    vp.connect(t0).unwrap();
    let _ = vp.poll_transmit(t0);
    let bad = Message::Control(ControlMsg::MasterOk(Seq(5)))
        .to_frame(Seq(0))
        .unwrap();
    assert_eq!(
        vp.handle_frame(t0, &bad),
        Err(Error::ResumeOutOfWindow {
            got: Seq(5),
            snd_una: Seq(0),
            snd_nxt: Seq(1)
        })
    );
}

#[test]
fn protocol_errors_are_specific() {
    let t0 = Instant::now();
    let mut vp = VpLink::new(magic(), None).unwrap();
    let _r = establish(&mut vp, t0);
    let f = |seq, msg| Message::Control(msg).to_frame(Seq(seq)).unwrap();
    assert_eq!(
        vp.handle_frame(t0, &f(3, ControlMsg::Keepalive)),
        Err(Error::SeqMismatch {
            expected: Seq(0),
            got: Seq(3)
        })
    );
    assert_eq!(
        vp.handle_frame(t0, &f(0, ControlMsg::Ack(Seq(0)))),
        Err(Error::UnexpectedAck {
            got: Seq(0),
            oldest: None
        })
    );
    assert_eq!(
        vp.handle_frame(t0, &f(0, ControlMsg::ChannelFin(ChannelId(4)))),
        Err(Error::UnknownChannel {
            what: "CHANNEL_FIN",
            channel: ChannelId(4)
        })
    );
    let mut vp = VpLink::new(magic(), None).unwrap();
    let mut r = establish(&mut vp, t0);
    assert_eq!(
        vp.handle_frame(t0, &f(0, ControlMsg::ChannelNew(ChannelId(0)))),
        Err(Error::ZeroChannel(MsgType::ChannelNew))
    );
    let mut vp = VpLink::new(magic(), None).unwrap();
    establish(&mut vp, t0);
    assert!(matches!(
        vp.handle_frame(t0, &f(0, ControlMsg::MasterId("again".into()))),
        Err(Error::UnexpectedMessage {
            msg: MsgType::MasterId,
            ..
        })
    ));
    assert!(matches!(
        r.handle_frame(t0, &f(0, ControlMsg::MasterOk(Seq(0)))),
        Err(Error::UnexpectedMessage {
            msg: MsgType::MasterOk,
            ..
        })
    ));
    // sc_remoted ignores a FIN for an unknown channel.
    r.handle_frame(t0, &f(0, ControlMsg::ChannelFin(ChannelId(9))))
        .unwrap();
    assert!(r.poll_event().is_none());
    assert_eq!(
        vp.send_data(ChannelId(1), b"x"),
        Err(Error::UnknownChannel {
            what: "sending",
            channel: ChannelId(1)
        })
    );
    // Handshake frames must carry seq 0 and be the right message.
    let mut vp2 = VpLink::new(magic(), None).unwrap();
    vp2.connect(t0).unwrap();
    assert!(matches!(
        vp2.handle_frame(t0, &f(1, ControlMsg::MasterId("a".into()))),
        Err(Error::SeqMismatch { .. })
    ));
    assert!(matches!(
        vp2.handle_frame(t0, &f(0, ControlMsg::Keepalive)),
        Err(Error::UnexpectedMessage {
            msg: MsgType::Keepalive,
            ..
        })
    ));
    assert!(matches!(
        Hello::parse(&f(0, ControlMsg::Keepalive)),
        Err(Error::UnexpectedMessage { .. })
    ));
    assert!(VpLink::new(magic(), Some("bad name".into())).is_err());
}

#[test]
fn channel_close_both_ways() {
    let t0 = Instant::now();
    let mut vp = VpLink::new(magic(), None).unwrap();
    let mut r = establish(&mut vp, t0);
    let a = r.open_channel();
    let b = r.open_channel();
    pump(&mut vp, &mut r, t0);
    assert_eq!(vp.channels().collect::<Vec<_>>(), vec![a, b]);
    while vp.poll_event().is_some() {}
    // VP closes a (after `done`): R reports it and forgets it.
    vp.close_channel(a).unwrap();
    assert_eq!(
        vp.send_data(a, b"x"),
        Err(Error::UnknownChannel {
            what: "sending",
            channel: a
        })
    );
    pump(&mut vp, &mut r, t0);
    assert_eq!(r.poll_event(), Some(ControllerEvent::ChannelFinished(a)));
    assert_eq!(r.channels().collect::<Vec<_>>(), vec![b]);
    // R closes b (user went away): VP finishes the source, writes, then FINs.
    r.close_channel(b).unwrap();
    assert_eq!(r.send_data(b, b"x"), Err(Error::ChannelClosed(b)));
    pump(&mut vp, &mut r, t0);
    assert_eq!(vp.poll_event(), Some(VpEvent::ChannelFinished(b)));
    vp.send_data(b, b"cycle-stop").unwrap();
    vp.close_channel(b).unwrap();
    pump(&mut vp, &mut r, t0);
    assert_eq!(
        r.poll_event(),
        Some(ControllerEvent::Data {
            channel: b,
            bytes: b"cycle-stop".to_vec()
        })
    );
    assert_eq!(r.poll_event(), Some(ControllerEvent::ChannelFinished(b)));
    assert_eq!(r.channels().count(), 0);
    assert_eq!(vp.channels().count(), 0);
    // Crossing FINs: both close c at once; neither side errs.
    let c = r.open_channel();
    pump(&mut vp, &mut r, t0);
    vp.close_channel(c).unwrap();
    r.close_channel(c).unwrap();
    pump(&mut vp, &mut r, t0);
    assert_eq!(r.channels().count(), 0);
}

#[test]
fn large_writes_are_split() {
    let t0 = Instant::now();
    let mut vp = VpLink::new(magic(), None).unwrap();
    let mut r = establish(&mut vp, t0);
    let ch = r.open_channel();
    pump(&mut vp, &mut r, t0);
    vp.send_data(ch, &vec![7; 150_000]).unwrap();
    let sizes: Vec<usize> = std::iter::from_fn(|| vp.poll_transmit(t0))
        .map(|f| f.payload.len())
        .collect();
    assert_eq!(sizes, vec![65535, 65535, 18930]);
}

#[test]
fn timers() {
    let t0 = Instant::now();
    let mut vp = VpLink::new(magic(), None).unwrap();
    assert_eq!(vp.poll_timeout(), None);
    let mut r = establish(&mut vp, t0);
    assert_eq!(vp.poll_timeout(), Some(t0 + KEEPALIVE_AFTER));
    vp.handle_timeout(t0 + Duration::from_secs(29)).unwrap();
    assert!(vp.poll_transmit(t0).is_none());
    let t30 = t0 + KEEPALIVE_AFTER;
    vp.handle_timeout(t30).unwrap();
    vp.handle_timeout(t30).unwrap();
    let ka: Vec<_> = std::iter::from_fn(|| vp.poll_transmit(t30)).collect();
    assert_eq!(ka.len(), 1, "one keepalive, not two");
    assert_eq!(vp.poll_timeout(), Some(t0 + ABORT_AFTER));
    assert_eq!(
        vp.handle_timeout(t0 + ABORT_AFTER),
        Err(Error::Silent(ABORT_AFTER))
    );
    // Reading pushes the abort deadline.
    r.handle_frame(t30, &ka[0]).unwrap();
    r.handle_timeout(t0 + Duration::from_secs(61)).unwrap();
    assert_eq!(
        r.handle_timeout(t30 + ABORT_AFTER),
        Err(Error::Silent(ABORT_AFTER))
    );
    assert_eq!(reconnect_delay(true, 99), Duration::ZERO);
    assert_eq!(reconnect_delay(false, 33), Duration::from_secs(31));
}

#[derive(Debug, Clone)]
enum Action {
    VpSend(usize),
    RSend(usize),
    Deliver(usize),
    Break,
    Reconnect,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (1usize..300).prop_map(Action::VpSend),
        3 => (1usize..300).prop_map(Action::RSend),
        4 => (0usize..8).prop_map(Action::Deliver),
        1 => Just(Action::Break),
        2 => Just(Action::Reconnect),
    ]
}

/// A simulated TCP connection: byte streams both ways, lost whole on a break.
#[derive(Default)]
struct Wire {
    to_r: VecDeque<Vec<u8>>,
    to_vp: VecDeque<Vec<u8>>,
    up: bool,
    r_attached: bool,
    r_dec: FrameDecoder,
    vp_dec: FrameDecoder,
}

struct Sim {
    now: Instant,
    vp: VpLink,
    r: ControllerLink,
    wire: Wire,
    ch: ChannelId,
    vp_sent: Vec<u8>,
    r_sent: Vec<u8>,
    vp_got: Vec<u8>,
    r_got: Vec<u8>,
    counter: u8,
}

impl Sim {
    fn new() -> Self {
        let now = Instant::now();
        let mut vp = VpLink::new(magic(), Some("sim".into())).unwrap();
        let mut r = establish(&mut vp, now);
        let ch = r.open_channel();
        pump(&mut vp, &mut r, now);
        assert_eq!(vp.poll_event(), Some(VpEvent::ChannelOpened(ch)));
        let wire = Wire {
            up: true,
            r_attached: true,
            ..Wire::default()
        };
        Self {
            now,
            vp,
            r,
            wire,
            ch,
            vp_sent: vec![],
            r_sent: vec![],
            vp_got: vec![],
            r_got: vec![],
            counter: 0,
        }
    }

    fn payload(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.counter = self.counter.wrapping_add(1);
                self.counter
            })
            .collect()
    }

    /// Moves queued frames onto the wire and up to `n` frames off it each way.
    fn deliver(&mut self, n: usize) -> Result<(), Error> {
        if !self.wire.up {
            return Ok(());
        }
        while let Some(f) = self.vp.poll_transmit(self.now) {
            self.wire.to_r.push_back(f.encode()?);
        }
        if self.wire.r_attached {
            while let Some(f) = self.r.poll_transmit(self.now) {
                self.wire.to_vp.push_back(f.encode()?);
            }
        }
        for _ in 0..n {
            if self.wire.to_r.is_empty() && self.wire.to_vp.is_empty() {
                break;
            }
            if let Some(b) = self.wire.to_r.pop_front() {
                self.wire.r_dec.feed(&b);
                while let Some(f) = self.wire.r_dec.poll() {
                    let f = f?;
                    if self.wire.r_attached {
                        self.r.handle_frame(self.now, &f)?;
                    } else {
                        // First frame of a new connection: the hello.
                        match Hello::parse(&f)? {
                            Hello::Resume(req) => self.r.resume(self.now, &req, "sim:2".into())?,
                            Hello::New { .. } => panic!("VP started over"),
                        }
                        self.wire.r_attached = true;
                    }
                }
            }
            if let Some(b) = self.wire.to_vp.pop_front() {
                self.wire.vp_dec.feed(&b);
                while let Some(f) = self.wire.vp_dec.poll() {
                    self.vp.handle_frame(self.now, &f?)?;
                }
            }
        }
        while let Some(e) = self.vp.poll_event() {
            match e {
                VpEvent::Data { channel, bytes } if channel == self.ch => self.vp_got.extend(bytes),
                VpEvent::Resumed => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        while let Some(e) = self.r.poll_event() {
            match e {
                ControllerEvent::Data { channel, bytes } if channel == self.ch => {
                    self.r_got.extend(bytes);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        Ok(())
    }

    fn brk(&mut self) {
        self.wire = Wire::default();
        self.vp.link_down();
        self.r.link_down();
    }

    fn reconnect(&mut self) {
        if self.wire.up {
            return;
        }
        self.wire = Wire {
            up: true,
            ..Wire::default()
        };
        self.vp.connect(self.now).unwrap();
    }

    fn apply(&mut self, a: &Action) -> Result<(), Error> {
        match *a {
            Action::VpSend(n) => {
                let p = self.payload(n);
                self.vp.send_data(self.ch, &p)?;
                self.vp_sent.extend(p);
            }
            Action::RSend(n) => {
                let p = self.payload(n);
                self.r.send_data(self.ch, &p)?;
                self.r_sent.extend(p);
            }
            Action::Deliver(n) => self.deliver(n)?,
            Action::Break => self.brk(),
            Action::Reconnect => self.reconnect(),
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Across any pattern of link drops and resumes, each side receives exactly
    /// the bytes the other sent: nothing lost, nothing repeated, in order.
    #[test]
    fn nothing_lost_or_duplicated_across_resumes(actions in proptest::collection::vec(action(), 1..80)) {
        let mut sim = Sim::new();
        for a in &actions {
            sim.apply(a).unwrap();
        }
        sim.reconnect();
        for _ in 0..10_000 {
            sim.deliver(usize::MAX).unwrap();
            if sim.vp.state() == VpState::Go && sim.wire.to_r.is_empty() && sim.wire.to_vp.is_empty()
                && sim.vp.unacked() == 0 && sim.r.unacked() == 0 {
                break;
            }
        }
        prop_assert_eq!(&sim.vp_got, &sim.r_sent);
        prop_assert_eq!(&sim.r_got, &sim.vp_sent);
        prop_assert_eq!(sim.vp.state(), VpState::Go);
        prop_assert_eq!((sim.vp.unacked(), sim.r.unacked()), (0, 0));
        prop_assert_eq!(sim.vp.snd_nxt(), sim.r.rcv_nxt());
        prop_assert_eq!(sim.r.snd_nxt(), sim.vp.rcv_nxt());
    }
}

/// Establishes a session between a fresh VP and controller link.
fn established(t0: Instant) -> (VpLink, ControllerLink) {
    let mut vp = VpLink::new(magic(), Some("vp1.example".into())).unwrap();
    vp.connect(t0).unwrap();
    let hello = vp.poll_transmit(t0).unwrap();
    let Hello::New { magic: m, name } = Hello::parse(&hello).unwrap() else {
        panic!()
    };
    let mut r = ControllerLink::accept_new(t0, m, name, "192.0.2.9:1".into()).unwrap();
    let id = r.poll_transmit(t0).unwrap();
    vp.handle_frame(t0, &id).unwrap();
    assert!(matches!(vp.poll_event(), Some(VpEvent::Established { .. })));
    (vp, r)
}

/// Moves every queued frame from `vp` to `r` and back until both are quiet.
fn exchange(t: Instant, vp: &mut VpLink, r: &mut ControllerLink) {
    loop {
        let mut moved = false;
        while let Some(f) = vp.poll_transmit(t) {
            r.handle_frame(t, &f).unwrap();
            moved = true;
        }
        while let Some(f) = r.poll_transmit(t) {
            vp.handle_frame(t, &f).unwrap();
            moved = true;
        }
        if !moved {
            return;
        }
    }
}

#[test]
fn meta_publication_reaches_the_controller_and_survives_a_resume() {
    let t0 = Instant::now();
    let (mut vp, mut r) = established(t0);
    let meta = VpMeta {
        policy: Some("[rate]\npps = 10\n".into()),
        policy_hash: Some("ab".repeat(32)),
    };
    // Published while the link is down: queued, delivered by the resume.
    vp.publish_meta(&meta).unwrap();
    vp.link_down();
    r.link_down();
    vp.connect(t0).unwrap();
    let Hello::Resume(req) = Hello::parse(&vp.poll_transmit(t0).unwrap()).unwrap() else {
        panic!()
    };
    r.resume(t0, &req, "192.0.2.9:2".into()).unwrap();
    exchange(t0, &mut vp, &mut r);
    assert_eq!(vp.poll_event(), Some(VpEvent::Resumed));
    assert_eq!(r.poll_event(), Some(ControllerEvent::Meta(meta)));
    assert_eq!((vp.unacked(), r.unacked()), (0, 0));
    // The controller never opens the reserved channel.
    assert_ne!(r.open_channel(), META_CHANNEL);
}

#[test]
fn publishing_before_the_session_is_refused() {
    let mut vp = VpLink::new(magic(), None).unwrap();
    assert!(matches!(
        vp.publish_meta(&VpMeta::default()),
        Err(Error::WrongState { .. })
    ));
}

#[test]
fn meta_decoder_takes_bytes_one_at_a_time_and_skips_unknown_keys() {
    let meta = VpMeta {
        policy: Some("a\nb end 0\n".into()),
        policy_hash: None,
    };
    let mut bytes = b"future-key 3\nxyz\n".to_vec();
    bytes.extend_from_slice(&meta.encode());
    bytes.extend_from_slice(&VpMeta::default().encode());
    let mut d = VpMetaDecoder::default();
    let mut got = Vec::new();
    for b in &bytes {
        got.extend(d.feed(std::slice::from_ref(b)).unwrap());
    }
    assert_eq!(got, vec![meta, VpMeta::default()]);
}

#[test]
fn malformed_meta_is_an_error_once() {
    for bad in [
        &b"policy x\n"[..],
        b"policy 2000000\n",
        b"policy 1\nab",
        &[b'x'; 80],
    ] {
        let mut d = VpMetaDecoder::default();
        assert!(matches!(d.feed(bad), Err(Error::BadMeta(_))), "{bad:?}");
        assert_eq!(d.feed(b"end 0\n").unwrap(), vec![]);
    }
}

#[test]
fn shorter_timers_keepalive_and_declare_silence() {
    let t0 = Instant::now();
    let (mut vp, mut r) = established(t0);
    let timers = Timers {
        keepalive: Duration::from_millis(100),
        silence: Duration::from_millis(300),
    };
    vp.set_timers(timers);
    r.set_timers(timers);
    exchange(t0, &mut vp, &mut r);
    let t1 = t0 + Duration::from_millis(100);
    assert_eq!(vp.poll_timeout(), Some(t1));
    vp.handle_timeout(t1).unwrap();
    let ka = vp.poll_transmit(t1).unwrap();
    assert_eq!(
        Message::from_frame(&ka).unwrap(),
        Message::Control(ControlMsg::Keepalive)
    );
    // The controller hears nothing more: silent 300 ms after its last read.
    let dead = t0 + Duration::from_millis(300);
    assert!(r.poll_timeout().is_some_and(|t| t <= dead));
    let mut now = t0;
    while now < dead {
        now = r.poll_timeout().unwrap().max(now);
        if now >= dead {
            break;
        }
        r.handle_timeout(now).unwrap();
        while r.poll_transmit(now).is_some() {}
    }
    assert_eq!(r.handle_timeout(dead), Err(Error::Silent(timers.silence)));
}

proptest! {
    #[test]
    fn meta_round_trips_in_any_split(
        policy in proptest::option::of(".{0,200}"),
        hash in proptest::option::of("[0-9a-f]{0,64}"),
        cut in 0usize..400,
    ) {
        let meta = VpMeta { policy, policy_hash: hash };
        let bytes = meta.encode();
        let cut = cut.min(bytes.len());
        let mut d = VpMetaDecoder::default();
        let mut got = d.feed(&bytes[..cut]).unwrap();
        got.extend(d.feed(&bytes[cut..]).unwrap());
        prop_assert_eq!(got, vec![meta]);
    }

    #[test]
    fn meta_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut d = VpMetaDecoder::default();
        let _ = d.feed(&bytes);
    }
}

#[test]
fn the_metadata_channel_cannot_be_opened() {
    let t0 = Instant::now();
    let (mut vp, _r) = established(t0);
    let f = Frame {
        seq: Seq(0),
        channel: ChannelId::CONTROL,
        payload: ControlMsg::ChannelNew(META_CHANNEL).encode().unwrap(),
    };
    assert_eq!(
        vp.handle_frame(t0, &f),
        Err(Error::ReservedChannel(META_CHANNEL))
    );
}
