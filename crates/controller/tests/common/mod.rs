//! Test harness: a controller on its own runtime, fake VPs speaking the VP side
//! of the remote protocol with `VpLink`, answering commands with canned warts
//! ping records, and a mux client. Loopback and unix sockets only.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use vantage_client::{MuxClient, Outcome, TaskResult, VpEvent};
use vantage_controller::{Config, Controller, LinkSecurity};
use vantage_model::{Addr, Cycle, List, Ping, Record, Timestamp};
use vantage_proto::control::{Request, ServerParser, TaskId, TaskIdCounter, encode_warts_data};
use vantage_proto::remote::{ChannelId, FrameDecoder, Magic, VpEvent as LinkEvent, VpLink};
use vantage_warts::Writer;

pub const WAIT: Duration = Duration::from_secs(20);

/// A running controller and the directory holding its mux socket.
pub struct Env {
    pub rt: Option<tokio::runtime::Runtime>,
    pub ctl: Option<Controller>,
    pub dir: tempfile::TempDir,
    pub mux: PathBuf,
    pub addr: SocketAddr,
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

impl Env {
    pub fn plaintext(grace: Duration, meta: Option<&str>) -> Self {
        Self::start(LinkSecurity::Plaintext, grace, meta)
    }

    pub fn start(security: LinkSecurity, grace: Duration, meta: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mux = dir.path().join("mux.sock");
        let mut cfg = Config::new(vec!["127.0.0.1:0".parse().unwrap()], mux.clone(), security);
        cfg.grace = grace;
        cfg.reload_on_sighup = false;
        if let Some(m) = meta {
            let p = dir.path().join("vp-meta.txt");
            std::fs::write(&p, m).unwrap();
            cfg.vp_meta = Some(p);
        }
        Self::with_config(cfg, dir)
    }

    pub fn with_config(cfg: Config, dir: tempfile::TempDir) -> Self {
        let rt = runtime();
        let mux = cfg.mux_path.clone();
        let ctl = rt.block_on(Controller::start(cfg)).unwrap();
        let addr = ctl.vp_addrs()[0];
        Self {
            rt: Some(rt),
            ctl: Some(ctl),
            dir,
            mux,
            addr,
        }
    }

    pub fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().unwrap()
    }

    pub fn client(&self) -> MuxClient {
        MuxClient::connect(&self.mux).unwrap()
    }

    pub fn vp(&self, opts: VpOpts) -> FakeVp {
        FakeVp::spawn(self.rt(), self.addr, opts)
    }

    /// Kills the controller without any goodbye: its runtime and every task on
    /// it (fake VPs included) are dropped, sockets closed.
    pub fn kill(&mut self) {
        // The runtime goes first: dropping the Controller while the runtime
        // runs would let its hub say goodbye.
        let ctl = self.ctl.take();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
        drop(ctl);
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let (Some(rt), Some(ctl)) = (self.rt.as_ref(), self.ctl.take()) {
            rt.block_on(ctl.shutdown());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// When a fake VP sends the result of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Results {
    /// Right after `OK id-N`.
    Immediate,
    /// When told to ([`FakeVp::release`]).
    Held,
}

pub type Connector = Arc<dyn Fn(TcpStream) -> futures_boxed::BoxIo + Send + Sync>;

pub mod futures_boxed {
    use super::{AsyncRead, AsyncWrite};
    use std::future::Future;
    use std::pin::Pin;

    pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
    impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
    pub type BoxIo = Pin<Box<dyn Future<Output = std::io::Result<Box<dyn Io>>> + Send>>;
}

#[derive(Clone)]
pub struct VpOpts {
    pub name: Option<String>,
    pub results: Results,
    /// Wraps the TCP stream (TLS); plaintext when `None`.
    pub connector: Option<Connector>,
    /// Published (as a Vantage probe with a policy does) when a session starts.
    pub meta: Option<vantage_proto::remote::VpMeta>,
}

impl VpOpts {
    pub fn named(name: &str) -> Self {
        Self {
            name: Some(name.to_owned()),
            results: Results::Immediate,
            connector: None,
            meta: None,
        }
    }

    pub fn held(mut self) -> Self {
        self.results = Results::Held;
        self
    }
}

#[derive(Debug)]
enum Cmd {
    /// Drop the connection; the sender is told once it is dropped.
    Cut(tokio::sync::oneshot::Sender<()>),
    Reconnect,
    Release,
    Kill,
}

/// What a fake VP reports to the test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    Established,
    Resumed,
    Rejected,
    Disconnected(String),
    Command(String),
    ConnectFailed(String),
}

/// A fake VP task and its controls.
pub struct FakeVp {
    cmds: mpsc::UnboundedSender<Cmd>,
    notes: std::sync::Mutex<mpsc::UnboundedReceiver<Note>>,
}

static MAGIC: AtomicU32 = AtomicU32::new(1);

fn fresh_magic() -> Magic {
    let n = MAGIC.fetch_add(1, Ordering::Relaxed);
    let mut m = [0u8; 8];
    m[..4].copy_from_slice(&std::process::id().to_be_bytes());
    m[4..].copy_from_slice(&n.to_be_bytes());
    Magic::new(m)
}

impl FakeVp {
    pub fn spawn(rt: &tokio::runtime::Runtime, addr: SocketAddr, opts: VpOpts) -> Self {
        let (cmds, rx) = mpsc::unbounded_channel();
        let (ntx, notes) = mpsc::unbounded_channel();
        let panics = ntx.clone();
        let task = rt.spawn(run_vp(addr, opts, rx, ntx));
        rt.spawn(async move {
            if let Err(e) = task.await
                && e.is_panic()
            {
                let _ = panics.send(Note::Disconnected(format!("fake VP panicked: {e}")));
            }
        });
        Self {
            cmds,
            notes: std::sync::Mutex::new(notes),
        }
    }

    /// Waits for a note matching `pred`, returning it; panics after [`WAIT`].
    pub fn wait(&self, pred: impl Fn(&Note) -> bool) -> Note {
        let deadline = Instant::now() + WAIT;
        let mut rx = self.notes.lock().unwrap();
        let mut seen = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(n) if pred(&n) => return n,
                Ok(n) => seen.push(n),
                Err(mpsc::error::TryRecvError::Empty) => {
                    assert!(
                        Instant::now() < deadline,
                        "fake VP: no matching note; saw {seen:?}"
                    );
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("fake VP gone: {e}"),
            }
        }
    }

    pub fn established(&self) {
        self.wait(|n| matches!(n, Note::Established));
    }

    /// Drops the TCP connection and stays away until [`FakeVp::reconnect`].
    /// Returns once the VP task has dropped it: whatever the controller sends
    /// from then on is lost with the connection and must be retransmitted on
    /// resume. (Returning earlier let a command sent right after `cut` reach
    /// the VP over the old connection, before the VP acted on the cut.)
    pub fn cut(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.cmds.send(Cmd::Cut(tx)).unwrap();
        rx.blocking_recv()
            .expect("fake VP gone before cutting its link");
    }

    pub fn reconnect(&self) {
        self.cmds.send(Cmd::Reconnect).unwrap();
    }

    /// Produces every held result (queued if the link is down).
    pub fn release(&self) {
        self.cmds.send(Cmd::Release).unwrap();
    }

    /// Stops the VP for good, without a goodbye.
    pub fn kill(&self) {
        let _ = self.cmds.send(Cmd::Kill);
    }
}

/// One channel as the fake VP sees it: an attached source with warts output.
struct FakeChan {
    parser: ServerParser,
    ids: TaskIdCounter,
    writer: Writer<Vec<u8>>,
    list: Arc<List>,
    cycle: Arc<Cycle>,
    held: Vec<(TaskId, String)>,
    done: bool,
    finished: bool,
}

impl FakeChan {
    fn new(monitor: Option<&str>) -> (Self, Vec<u8>) {
        let list = Arc::new(List {
            id: 0,
            name: "fake".into(),
            descr: None,
            monitor: monitor.map(str::to_owned),
        });
        let cycle = Arc::new(Cycle {
            list: Arc::clone(&list),
            id: 1,
            start_time: 1_700_000_000,
            stop_time: None,
            hostname: Some("fakevp".into()),
        });
        let mut c = Self {
            parser: ServerParser::attached(),
            ids: TaskIdCounter::new(),
            writer: Writer::new(Vec::new()),
            list,
            cycle,
            held: Vec::new(),
            done: false,
            finished: false,
        };
        let mut out = b"MORE\n".to_vec();
        let list = Arc::clone(&c.list);
        c.writer.write_list(&list).unwrap();
        c.data(None, &mut out);
        let cycle = Arc::clone(&c.cycle);
        c.writer.write_cycle_start(&cycle).unwrap();
        c.data(None, &mut out);
        (c, out)
    }

    fn data(&mut self, id: Option<TaskId>, out: &mut Vec<u8>) {
        let rec = std::mem::take(self.writer.get_mut());
        encode_warts_data(id, false, &rec, out).unwrap();
    }

    fn result(&mut self, id: TaskId, cmd: &str, out: &mut Vec<u8>) {
        let dst: Addr = cmd.rsplit(' ').next().unwrap().parse().unwrap();
        let mut p = Ping::new(dst, Timestamp::new(1_700_000_001, 0));
        p.list = Some(Arc::clone(&self.list));
        p.cycle = Some(Arc::clone(&self.cycle));
        p.user_id = id.get();
        self.writer.write_ping(&p).unwrap();
        self.data(Some(id), out);
    }

    fn maybe_finish(&mut self, out: &mut Vec<u8>) -> bool {
        if self.done && self.held.is_empty() && !self.finished {
            let mut stop = (*self.cycle).clone();
            stop.stop_time = Some(1_700_000_009);
            self.writer.write_cycle_stop(&Arc::new(stop)).unwrap();
            self.data(None, out);
            self.finished = true;
            return true;
        }
        false
    }

    /// Handles bytes from the controller; returns the reply bytes and whether
    /// the channel is finished.
    fn input(
        &mut self,
        bytes: &[u8],
        mode: Results,
        notes: &mpsc::UnboundedSender<Note>,
    ) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        self.parser.feed(bytes);
        while let Some(req) = self.parser.poll() {
            match req {
                Ok(Request::Command(c)) => {
                    let text = c.text().to_owned();
                    let _ = notes.send(Note::Command(text.clone()));
                    if text.ends_with(" 192.0.2.255") {
                        out.extend_from_slice(
                            b"ERR command not accepted: destination in do-not-probe list\n",
                        );
                        continue;
                    }
                    let id = self.ids.next_id();
                    out.extend_from_slice(format!("OK id-{id}\n").as_bytes());
                    match mode {
                        Results::Immediate => self.result(id, &text, &mut out),
                        Results::Held => self.held.push((id, text)),
                    }
                    out.extend_from_slice(b"MORE\n");
                }
                Ok(Request::Done) => {
                    self.done = true;
                    out.extend_from_slice(b"OK\n");
                }
                Ok(Request::Halt(id)) => {
                    out.extend_from_slice(format!("ERR no task id-{id}\n").as_bytes());
                }
                Ok(other) => out
                    .extend_from_slice(format!("ERR unexpected {}\n", other.keyword()).as_bytes()),
                Err(rej) => out.extend_from_slice(format!("ERR {rej}\n").as_bytes()),
            }
        }
        let fin = self.maybe_finish(&mut out);
        (out, fin)
    }

    fn release(&mut self) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        for (id, cmd) in std::mem::take(&mut self.held) {
            self.result(id, &cmd, &mut out);
        }
        let fin = self.maybe_finish(&mut out);
        (out, fin)
    }
}

async fn connect(addr: SocketAddr, opts: &VpOpts) -> std::io::Result<Box<dyn futures_boxed::Io>> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    match &opts.connector {
        None => Ok(Box::new(s)),
        Some(c) => c(s).await,
    }
}

async fn run_vp(
    addr: SocketAddr,
    opts: VpOpts,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    notes: mpsc::UnboundedSender<Note>,
) {
    let mut link = VpLink::new(fresh_magic(), opts.name.clone()).unwrap();
    let mut chans: HashMap<ChannelId, FakeChan> = HashMap::new();
    let mut io: Option<Box<dyn futures_boxed::Io>> = None;
    let mut want = true;
    let mut dec = FrameDecoder::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if io.is_none() && want {
            match connect(addr, &opts).await {
                Ok(s) => {
                    io = Some(s);
                    dec = FrameDecoder::new();
                    link.connect(Instant::now()).unwrap();
                }
                Err(e) => {
                    let _ = notes.send(Note::ConnectFailed(e.to_string()));
                    want = false;
                }
            }
        }
        // Act on the link's events.
        while let Some(ev) = link.poll_event() {
            match ev {
                LinkEvent::Established { .. } => {
                    if let Some(m) = &opts.meta {
                        link.publish_meta(m).unwrap();
                    }
                    let _ = notes.send(Note::Established);
                }
                LinkEvent::Resumed => {
                    let _ = notes.send(Note::Resumed);
                }
                LinkEvent::Rejected => {
                    let _ = notes.send(Note::Rejected);
                    link.replace_magic(fresh_magic()).unwrap();
                    io = None;
                    chans.clear();
                }
                LinkEvent::ChannelOpened(c) => {
                    let (ch, out) = FakeChan::new(opts.name.as_deref());
                    chans.insert(c, ch);
                    link.send_data(c, &out).unwrap();
                }
                LinkEvent::ChannelFinished(c) => {
                    if chans.remove(&c).is_some() {
                        let _ = link.close_channel(c);
                    }
                }
                LinkEvent::Data { channel, bytes } => {
                    if let Some(ch) = chans.get_mut(&channel) {
                        let (out, fin) = ch.input(&bytes, opts.results, &notes);
                        if !out.is_empty() {
                            link.send_data(channel, &out).unwrap();
                        }
                        if fin {
                            chans.remove(&channel);
                            link.close_channel(channel).unwrap();
                        }
                    }
                }
                LinkEvent::ChannelsDropped(cs) => {
                    for c in cs {
                        chans.remove(&c);
                    }
                }
            }
        }
        // Write what the link queued.
        if let Some(s) = io.as_mut() {
            let mut out = Vec::new();
            while let Some(f) = link.poll_transmit(Instant::now()) {
                f.encode_into(&mut out).unwrap();
            }
            if !out.is_empty() && s.write_all(&out).await.is_err() {
                io = None;
                link.link_down();
                let _ = notes.send(Note::Disconnected("write failed".into()));
                continue;
            }
        }
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                None | Some(Cmd::Kill) => return,
                Some(Cmd::Cut(done)) => {
                    if let Some(mut s) = io.take() {
                        let _ = s.shutdown().await;
                    }
                    link.link_down();
                    want = false;
                    let _ = done.send(());
                }
                Some(Cmd::Reconnect) => want = true,
                Some(Cmd::Release) => {
                    let ids: Vec<ChannelId> = chans.keys().copied().collect();
                    for c in ids {
                        let Some(ch) = chans.get_mut(&c) else { continue };
                        let (out, fin) = ch.release();
                        if !out.is_empty() {
                            link.send_data(c, &out).unwrap();
                        }
                        if fin {
                            chans.remove(&c);
                            link.close_channel(c).unwrap();
                        }
                    }
                }
            },
            n = async {
                match io.as_mut() {
                    Some(s) => s.read(&mut buf).await,
                    None => std::future::pending().await,
                }
            } => {
                match n {
                    Ok(0) | Err(_) => {
                        io = None;
                        link.link_down();
                        let _ = notes.send(Note::Disconnected("closed by the controller".into()));
                        // A real VP reconnects after a while; ours waits to be told.
                        want = false;
                    }
                    Ok(n) => {
                        dec.feed(&buf[..n]);
                        while let Some(f) = dec.poll() {
                            let f = match f {
                                Ok(f) => f,
                                Err(e) => {
                                    let _ = notes.send(Note::Disconnected(format!(
                                        "fake VP: undecodable frame: {e}"
                                    )));
                                    return;
                                }
                            };
                            if let Err(e) = link.handle_frame(Instant::now(), &f) {
                                let _ = notes.send(Note::Disconnected(format!(
                                    "fake VP: controller broke the protocol: {e}"
                                )));
                                return;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The ping record of a result.
pub fn ping(r: &TaskResult) -> &Ping {
    match &r.record {
        Record::Ping(p) => p,
        other => panic!("expected a ping, got {other:?}"),
    }
}

/// Waits for the next VP event (panics after [`WAIT`]).
pub fn next_vp_event(c: &MuxClient) -> VpEvent {
    c.next_vp_event(Some(WAIT)).expect("no VP event")
}

/// Waits until the client lists `n` VPs.
pub fn wait_vps(c: &MuxClient, n: usize) {
    let deadline = Instant::now() + WAIT;
    while c.vps().len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} VPs listed",
            c.vps().len()
        );
        let _ = c.next_vp_event(Some(Duration::from_millis(100)));
    }
}

pub fn result(o: Outcome) -> TaskResult {
    match o {
        Outcome::Result(r) => r,
        Outcome::Failed(f) => panic!("task failed: {f:?}"),
    }
}

/// Every log line of this test binary (the first call installs the capture).
pub fn logs() -> &'static std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    use std::sync::{Arc, Mutex, OnceLock};
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let b = Arc::clone(&buf);
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || LogWriter(Arc::clone(&b)))
            .init();
        buf
    })
}

struct LogWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Waits for a log line containing every one of `parts`; returns it.
pub fn log_line(parts: &[&str]) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
        if let Some(l) = text.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
            return l.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no log line with {parts:?} in:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
