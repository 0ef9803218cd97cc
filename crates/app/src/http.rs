//! `http`: one HTTP/1.1 or HTTP/2 request over TCP or TLS to a given address, every phase
//! timed and every byte recorded.
//!
//! The connection goes to the spec's address and port; the URL's host is only the `Host`
//! header (HTTP/1.1), `:authority` (HTTP/2) and the TLS server name. HTTPS offers ALPN
//! `h2` and `http/1.1` and speaks what the server picks; plain HTTP is HTTP/1.1.
//!
//! What is recorded ([`HttpRun`]):
//! * the model record: the TCP handshake time (`hsrtt`), and buffers in order: the TLS
//!   handshake bytes as they crossed the wire (type `tls`, both directions, until the
//!   handshake is done), the request header block (`tx hdr`), the response header block
//!   (`rx hdr`) and the body (`rx data`, at most 65535 bytes each, up to the body cap);
//!   for HTTP/1.1 the header blocks are the exact bytes, for HTTP/2 they are written out
//!   in HTTP/1 text form (`HTTP/2 200\r\nname: value\r\n...`) from the decoded frames;
//! * [`Phases`]: connect, TLS handshake done, request sent, first response byte, done;
//! * [`TlsInfo`]: version, cipher suite, ALPN and the certificate chain, whether or not the
//!   chain verifies. A chain that does not verify stops the measurement with `insecure`
//!   before the request is sent, unless the spec says `insecure`.
//!
//! Stop reasons: `done` (the body ended, or reached the cap: then `errmsg` says so),
//! `noconn` (TCP connect failed), `timeout` (max time reached: everything up to then is
//! kept), `insecure`, `error` (TLS or HTTP failure, with the reason).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, timeout_at};
use vantage_command::{HttpHeader, HttpSpec, HttpUrl};
use vantage_model::{Addr, Http, HttpBuf, HttpBufType, HttpFlags, HttpStop, HttpType, Timestamp};

use crate::env::{AppEnv, Pacing, Stamper};
use crate::httprec::{self, HttpVersion};
use crate::net;
use crate::tls::{self, TlsInfo};

/// The ECH status recorded when ECH (or GREASE ECH) was asked for: 8, "not tried" (this
/// implementation does not do ECH yet).
pub const ECH_NOT_TRIED: u8 = 8;

/// The default body cap: 4 MiB.
pub const DEFAULT_MAX_BODY: usize = 4 << 20;

/// What to fetch: a superset of what the `http` command can say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The address to connect to.
    pub dst: IpAddr,
    /// The URL (its host is for Host/SNI only; its port is where we connect).
    pub url: HttpUrl,
    /// Extra request headers, in order.
    pub headers: Vec<HttpHeader>,
    /// The longest the whole exchange may take.
    pub max_time: Duration,
    /// Do not stop when the certificate does not verify.
    pub insecure: bool,
    /// Stop reading the body after this many bytes.
    pub max_body: usize,
    /// ALPN protocols offered over TLS, in preference order.
    pub alpn: Vec<Vec<u8>>,
    /// Speak HTTP/2 over plain TCP without negotiation ("prior knowledge", RFC 9113 §3.3)
    /// for an `http://` URL. The command language has no option for it (a Vantage API
    /// extension); HTTPS always negotiates by ALPN.
    pub h2_prior_knowledge: bool,
    /// GREASE ECH was asked for (`-O grease`). Not performed yet: recorded as the flag
    /// and ECH status 8 ("not tried").
    pub grease: bool,
    /// An ECHConfigList to use (`-O ecl=`). Not performed yet: recorded with ECH status 8
    /// ("not tried").
    pub ech_config_list: Option<Vec<u8>>,
    /// User id recorded in the result.
    pub user_id: u32,
}

impl HttpRequest {
    /// The request an `http` command describes (body cap [`DEFAULT_MAX_BODY`], ALPN `h2`,
    /// `http/1.1`).
    pub fn from_spec(spec: &HttpSpec) -> Self {
        Self {
            dst: spec.dst,
            url: spec.url.clone(),
            headers: spec.headers.clone(),
            max_time: spec.max_time,
            insecure: spec.insecure,
            max_body: DEFAULT_MAX_BODY,
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            h2_prior_knowledge: false,
            grease: spec.grease,
            ech_config_list: spec.ech_config_list.clone(),
            user_id: spec.user_id,
        }
    }
}

/// When each phase ended (absent when the measurement stopped before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Phases {
    /// The TCP connection was established.
    pub connect: Option<Timestamp>,
    /// The TLS handshake finished.
    pub tls: Option<Timestamp>,
    /// The request was written (the last write before the response header arrived).
    pub request_sent: Option<Timestamp>,
    /// The first byte of the response arrived (HTTP/1.1: the first read after the request;
    /// HTTP/2: the response HEADERS, since connection-level frames arrive earlier).
    pub first_byte: Option<Timestamp>,
    /// The body ended (or reached the cap).
    pub done: Option<Timestamp>,
}

/// A finished `http` measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRun {
    /// The result record.
    pub http: Http,
    /// Phase times.
    pub phases: Phases,
    /// TLS details (HTTPS only).
    pub tls: Option<TlsInfo>,
    /// The HTTP version of the response, if one arrived.
    pub version: Option<HttpVersion>,
    /// The response status code, if one arrived.
    pub status: Option<u16>,
}

/// Runs the `http` command `spec`.
pub async fn run<P: Pacing>(spec: &HttpSpec, env: &AppEnv<P>) -> HttpRun {
    run_request(&HttpRequest::from_spec(spec), env).await
}

/// [`run`], ended early when `halt` completes: the result keeps what was exchanged so far
/// and stops with `halted`.
pub async fn run_until<P: Pacing>(
    spec: &HttpSpec,
    env: &AppEnv<P>,
    halt: impl Future<Output = ()>,
) -> HttpRun {
    run_request_until(&HttpRequest::from_spec(spec), env, halt).await
}

/// What the taps and the exchange record, shared with the I/O wrappers.
#[derive(Debug, Default)]
struct Shared {
    /// TLS records seen while `tls_recording`.
    tls_bufs: Vec<HttpBuf>,
    tls_recording: bool,
    /// Plaintext (HTTP) bytes written, and when the last write finished.
    plain_tx: Vec<u8>,
    plain_tx_last: Option<Instant>,
    /// Plaintext bytes read (up to a cap), and when the first read after the request.
    plain_rx: Vec<u8>,
    plain_rx_first: Option<Instant>,
    request_issued: bool,
    stamper: Option<Stamper>,
}

const RAW_RX_CAP: usize = 1 << 20;

fn lock(s: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    /// Raw TCP under TLS: recorded as TLS buffers during the handshake.
    Tls,
    /// The HTTP bytes (over TCP or inside TLS).
    Plain,
}

/// An I/O wrapper that records what crosses it.
struct Tap<S> {
    inner: S,
    layer: Layer,
    shared: Arc<Mutex<Shared>>,
}

impl<S> Tap<S> {
    fn note(&self, tx: bool, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut s = lock(&self.shared);
        match self.layer {
            Layer::Tls => {
                if s.tls_recording {
                    let ts = s.stamper.map(|st| st.at(now)).unwrap_or_default();
                    httprec::push_bufs(&mut s.tls_bufs, tx, HttpBufType::Tls, ts, data);
                }
            }
            Layer::Plain if tx => {
                s.plain_tx.extend_from_slice(data);
                s.plain_tx_last = Some(now);
            }
            Layer::Plain => {
                if s.request_issued && s.plain_rx_first.is_none() {
                    s.plain_rx_first = Some(now);
                }
                let room = RAW_RX_CAP.saturating_sub(s.plain_rx.len());
                let take = data.len().min(room);
                s.plain_rx.extend_from_slice(&data[..take]);
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let got = &buf.filled()[before..];
            self.note(false, got);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            self.note(true, &buf[..n.min(buf.len())]);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Why the exchange ended early.
struct Stop(HttpStop, String);

/// What the exchange itself produced.
#[derive(Default)]
struct Exchange {
    version: Option<HttpVersion>,
    status: Option<u16>,
    /// For HTTP/2: the synthesised header blocks.
    h2_heads: Option<(Vec<u8>, Vec<u8>)>,
    head_at: Option<Instant>,
    body: Vec<(Instant, Bytes)>,
    body_len: usize,
    capped: bool,
    done_at: Option<Instant>,
}

/// Runs one HTTP measurement described by `req`.
pub async fn run_request<P: Pacing>(req: &HttpRequest, env: &AppEnv<P>) -> HttpRun {
    run_request_until(req, env, std::future::pending()).await
}

/// [`run_request`], ended early (stop reason `halted`) when `halt` completes.
pub async fn run_request_until<P: Pacing>(
    req: &HttpRequest,
    env: &AppEnv<P>,
    halt: impl Future<Output = ()>,
) -> HttpRun {
    let stamper = Stamper::start(env.clock.as_ref());
    let deadline = Instant::now() + req.max_time;
    let mut flags = HttpFlags::empty();
    flags.set(HttpFlags::INSECURE, req.insecure);
    flags.set(HttpFlags::GREASE, req.grease);
    let ech_asked = req.url.https && (req.grease || req.ech_config_list.is_some());
    let mut run = HttpRun {
        http: Http {
            list: None,
            cycle: None,
            user_id: req.user_id,
            src: None,
            dst: Some(Addr::from(req.dst)),
            sport: 0,
            dport: req.url.port,
            start: stamper.start_ts(),
            stop_reason: HttpStop::None,
            kind: if req.url.https {
                HttpType::Https
            } else {
                HttpType::Http
            },
            host: req.url.host.clone(),
            file: req.url.path.clone(),
            headers: req
                .headers
                .iter()
                .map(|h| format!("{}: {}", h.name, h.value))
                .collect(),
            hsrtt: Duration::ZERO,
            flags,
            maxtime: req.max_time,
            errmsg: None,
            ech_status: if ech_asked { ECH_NOT_TRIED } else { 0 },
            ech_outer_sni: None,
            bufs: Vec::new(),
            ech_config_list: req.ech_config_list.clone(),
            ech_retry_config: None,
            tls: None,
        },
        phases: Phases::default(),
        tls: None,
        version: None,
        status: None,
    };
    let shared = Arc::new(Mutex::new(Shared {
        stamper: Some(stamper),
        ..Shared::default()
    }));
    let mut ex = Exchange::default();
    let tls_seen = Arc::new(Mutex::new(TlsInfo::default()));
    let outcome = {
        let fetch = timeout_at(
            deadline,
            connect_and_fetch(req, env, &stamper, &shared, &tls_seen, &mut run, &mut ex),
        );
        tokio::select! {
            o = fetch => Some(o),
            () = halt => None,
        }
    };
    let (stop, err) = match outcome {
        None => (HttpStop::Halted, None),
        Some(Err(_)) => (
            HttpStop::Timeout,
            Some(format!("no complete response within {:?}", req.max_time)),
        ),
        Some(Ok(Ok(()))) if ex.capped => (
            HttpStop::Done,
            Some(format!("body cut at the cap of {} bytes", req.max_body)),
        ),
        Some(Ok(Ok(()))) => (HttpStop::Done, None),
        Some(Ok(Err(Stop(s, e)))) => (s, Some(e)),
    };
    if req.url.https {
        run.tls = Some(
            tls_seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        );
    }
    run.http.tls = run.tls.as_ref().and_then(TlsInfo::to_model);
    finish(&mut run, &stamper, &shared, &ex);
    run.http.stop_reason = stop;
    run.http.errmsg = err;
    run
}

/// Assembles the buffers and phases from what was recorded.
fn finish(run: &mut HttpRun, st: &Stamper, shared: &Mutex<Shared>, ex: &Exchange) {
    let s = lock(shared);
    let mut bufs = s.tls_bufs.clone();
    let head_ts = ex.head_at.map(|t| st.at(t));
    let request_sent = s.plain_tx_last.map(|t| st.at(t));
    if let Some((tx_head, rx_head)) = &ex.h2_heads {
        {
            httprec::push_bufs(
                &mut bufs,
                true,
                HttpBufType::Header,
                request_sent.unwrap_or_default(),
                tx_head,
            );
            if !rx_head.is_empty() {
                httprec::push_bufs(
                    &mut bufs,
                    false,
                    HttpBufType::Header,
                    head_ts.unwrap_or_default(),
                    rx_head,
                );
            }
        }
    } else {
        {
            httprec::push_bufs(
                &mut bufs,
                true,
                HttpBufType::Header,
                request_sent.unwrap_or_default(),
                &s.plain_tx,
            );
            let first = s.plain_rx_first.map(|t| st.at(t)).unwrap_or_default();
            let end = httprec::head_end(&s.plain_rx).unwrap_or(s.plain_rx.len());
            httprec::push_bufs(
                &mut bufs,
                false,
                HttpBufType::Header,
                first,
                &s.plain_rx[..end],
            );
            if ex.body.is_empty() && ex.status.is_none() && end < s.plain_rx.len() {
                // No response came out of the parser: keep the raw bytes after the head.
                httprec::push_bufs(
                    &mut bufs,
                    false,
                    HttpBufType::Data,
                    first,
                    &s.plain_rx[end..],
                );
            }
        }
    }
    for (t, chunk) in &ex.body {
        httprec::push_bufs(&mut bufs, false, HttpBufType::Data, st.at(*t), chunk);
    }
    run.http.bufs = bufs;
    run.phases.request_sent = if ex.head_at.is_some() || !s.plain_tx.is_empty() {
        request_sent
    } else {
        None
    };
    run.phases.first_byte = match ex.version {
        Some(HttpVersion::Http2) => head_ts,
        _ => s.plain_rx_first.map(|t| st.at(t)),
    };
    run.phases.done = ex.done_at.map(|t| st.at(t));
    run.version = ex.version;
    run.status = ex.status;
}

async fn connect_and_fetch<P: Pacing>(
    req: &HttpRequest,
    env: &AppEnv<P>,
    st: &Stamper,
    shared: &Arc<Mutex<Shared>>,
    tls_seen: &Arc<Mutex<TlsInfo>>,
    run: &mut HttpRun,
    ex: &mut Exchange,
) -> Result<(), Stop> {
    let dst = SocketAddr::new(req.dst, req.url.port);
    env.pacer.permit().await;
    let t0 = Instant::now();
    let stream = net::tcp_connect(env.source_for(req.dst), dst, env.max_ttl)
        .await
        .map_err(|e| Stop(HttpStop::NoConn, e.to_string()))?;
    let t1 = Instant::now();
    // Warts keeps microseconds: record what it can hold.
    run.http.hsrtt = Duration::from_micros((t1 - t0).as_micros() as u64);
    run.phases.connect = Some(st.at(t1));
    if let Ok(local) = stream.local_addr() {
        run.http.src = Some(Addr::from(local.ip()));
        run.http.sport = local.port();
    }
    if !req.url.https {
        let io = Tap {
            inner: stream,
            layer: Layer::Plain,
            shared: shared.clone(),
        };
        return exchange(io, req, req.h2_prior_knowledge, shared, ex).await;
    }
    let cfg = tls::client_config(env.roots.clone(), &req.alpn, tls_seen.clone())
        .map_err(|e| Stop(HttpStop::Error, e))?;
    let server_name = server_name(&req.url.host).map_err(|e| Stop(HttpStop::Error, e))?;
    lock(shared).tls_recording = true;
    let raw = Tap {
        inner: stream,
        layer: Layer::Tls,
        shared: shared.clone(),
    };
    let connector = tokio_rustls::TlsConnector::from(cfg);
    let handshake = connector.connect(server_name, raw).await;
    lock(shared).tls_recording = false;
    let tls_stream = handshake.map_err(|e| {
        Stop(
            HttpStop::Error,
            format!("TLS handshake with {dst} failed: {e}"),
        )
    })?;
    let t2 = Instant::now();
    run.phases.tls = Some(st.at(t2));
    let (h2, verdict) = {
        let mut info = tls_seen.lock().unwrap_or_else(PoisonError::into_inner);
        tls::negotiated(tls_stream.get_ref().1, &mut info);
        (
            info.alpn.as_deref() == Some(b"h2"),
            info.verify_error.clone(),
        )
    };
    if let Some(e) = verdict
        && !req.insecure
    {
        return Err(Stop(
            HttpStop::Insecure,
            format!("the certificate of {} does not verify: {e}", req.url.host),
        ));
    }
    let io = Tap {
        inner: tls_stream,
        layer: Layer::Plain,
        shared: shared.clone(),
    };
    exchange(io, req, h2, shared, ex).await
}

fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_owned())
        .map_err(|e| format!("'{host}' cannot be a TLS server name: {e}"))
}

/// The `Host` / `:authority` value: the URL's host, with its port when not the default.
fn authority(url: &HttpUrl) -> String {
    let default = if url.https { 443 } else { 80 };
    if url.port == default {
        url.host.clone()
    } else {
        format!("{}:{}", url.host, url.port)
    }
}

fn build_request(req: &HttpRequest, h2: bool) -> Result<Request<Empty<Bytes>>, String> {
    let auth = authority(&req.url);
    let uri: Uri = if h2 {
        format!(
            "{}://{auth}{}",
            if req.url.https { "https" } else { "http" },
            req.url.path
        )
        .parse()
    } else {
        req.url.path.parse()
    }
    .map_err(|e| format!("cannot request '{}': {e}", req.url.path))?;
    let mut b = Request::builder().method("GET").uri(uri);
    if h2 {
        b = b.version(hyper::Version::HTTP_2);
    } else {
        b = b.header("Host", auth);
    }
    let given = |n: &str| req.headers.iter().any(|h| h.name.eq_ignore_ascii_case(n));
    if !given("user-agent") {
        b = b.header("User-Agent", concat!("vantage/", env!("CARGO_PKG_VERSION")));
    }
    if !given("accept") {
        b = b.header("Accept", "*/*");
    }
    if !h2 && !given("connection") {
        b = b.header("Connection", "close");
    }
    for h in &req.headers {
        b = b.header(h.name.as_str(), h.value.as_str());
    }
    b.body(Empty::new())
        .map_err(|e| format!("cannot build the request: {e}"))
}

/// Sends the request over `io` (already connected, TLS done) and reads the response.
async fn exchange<S>(
    io: S,
    req: &HttpRequest,
    h2: bool,
    shared: &Arc<Mutex<Shared>>,
    ex: &mut Exchange,
) -> Result<(), Stop>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let request = build_request(req, h2).map_err(|e| Stop(HttpStop::Error, e))?;
    let herr = |e: hyper::Error| Stop(HttpStop::Error, http_error(&e));
    if h2 {
        let tx_head = {
            let mut hdrs: Vec<(String, Vec<u8>)> = vec![
                (":authority".into(), authority(&req.url).into_bytes()),
                (
                    ":scheme".into(),
                    if req.url.https {
                        b"https".to_vec()
                    } else {
                        b"http".to_vec()
                    },
                ),
            ];
            hdrs.extend(
                request
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec())),
            );
            httprec::synth_request_head("GET", &req.url.path, HttpVersion::Http2, &hdrs)
        };
        ex.h2_heads = Some((tx_head, Vec::new()));
        let (mut sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .handshake::<_, Empty<Bytes>>(TokioIo::new(io))
            .await
            .map_err(herr)?;
        let fetch = async {
            lock(shared).request_issued = true;
            let resp = sender.send_request(request).await.map_err(herr)?;
            ex.head_at = Some(Instant::now());
            ex.version = Some(HttpVersion::Http2);
            ex.status = Some(resp.status().as_u16());
            let hdrs: Vec<(String, Vec<u8>)> = resp
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect();
            if let Some(h) = ex.h2_heads.as_mut() {
                h.1 =
                    httprec::synth_response_head(resp.status().as_u16(), HttpVersion::Http2, &hdrs);
            }
            read_body(resp.into_body(), req.max_body, ex).await
        };
        drive(conn, fetch).await
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
            .title_case_headers(true)
            .handshake::<_, Empty<Bytes>>(TokioIo::new(io))
            .await
            .map_err(herr)?;
        let fetch = async {
            lock(shared).request_issued = true;
            let resp = sender.send_request(request).await.map_err(herr)?;
            ex.head_at = Some(Instant::now());
            ex.version = Some(if resp.version() == hyper::Version::HTTP_10 {
                HttpVersion::Http10
            } else {
                HttpVersion::Http11
            });
            ex.status = Some(resp.status().as_u16());
            read_body(resp.into_body(), req.max_body, ex).await
        };
        drive(conn, fetch).await
    }
}

/// Polls the connection task alongside the request until the request is done. When the
/// connection task ends first, it is dropped at once: that closes its request channel, so a
/// request it never answered fails instead of waiting forever.
async fn drive<C, F>(conn: C, fetch: F) -> Result<(), Stop>
where
    C: Future<Output = Result<(), hyper::Error>>,
    F: Future<Output = Result<(), Stop>>,
{
    let mut fetch = std::pin::pin!(fetch);
    let mut conn = Some(Box::pin(conn));
    let mut conn_err = None;
    loop {
        tokio::select! {
            r = async { conn.as_mut()?.as_mut().await.into() }, if conn.is_some() => {
                conn = None;
                if let Some(Err(e)) = r {
                    conn_err = Some(http_error(&e));
                }
            }
            r = fetch.as_mut() => {
                return match (r, conn_err) {
                    (Err(Stop(s, e)), Some(c)) if c != e => Err(Stop(s, format!("{e} ({c})"))),
                    (r, _) => r,
                };
            }
        }
    }
}

async fn read_body(
    mut body: hyper::body::Incoming,
    cap: usize,
    ex: &mut Exchange,
) -> Result<(), Stop> {
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Stop(HttpStop::Error, http_error(&e)))?;
        if let Ok(data) = frame.into_data() {
            let now = Instant::now();
            let room = cap - ex.body_len;
            if data.len() >= room {
                ex.body.push((now, data.slice(..room)));
                ex.body_len = cap;
                ex.capped = data.len() > room || body.frame().await.is_some();
                ex.done_at = Some(now);
                return Ok(());
            }
            ex.body_len += data.len();
            ex.body.push((now, data));
        }
    }
    ex.done_at = Some(Instant::now());
    Ok(())
}

/// A hyper error with its causes, as one line a user can read.
fn http_error(e: &hyper::Error) -> String {
    use std::error::Error as _;
    let mut s = format!("HTTP exchange failed: {e}");
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// Runs the HTTP exchange of `req` over an already connected stream (no TCP, no TLS):
/// HTTP/2 with prior knowledge when `h2`, else HTTP/1.1. The fuzz target and the
/// misbehaving-server tests drive it with arbitrary responses.
pub async fn fetch_over<S>(
    io: S,
    req: &HttpRequest,
    h2: bool,
    clock: &dyn crate::WallClock,
) -> HttpRun
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let stamper = Stamper::start(clock);
    let deadline = Instant::now() + req.max_time;
    let shared = Arc::new(Mutex::new(Shared {
        stamper: Some(stamper),
        ..Shared::default()
    }));
    let mut run = HttpRun {
        http: Http {
            list: None,
            cycle: None,
            user_id: req.user_id,
            src: None,
            dst: Some(Addr::from(req.dst)),
            sport: 0,
            dport: req.url.port,
            start: stamper.start_ts(),
            stop_reason: HttpStop::None,
            kind: HttpType::Http,
            host: req.url.host.clone(),
            file: req.url.path.clone(),
            headers: Vec::new(),
            hsrtt: Duration::ZERO,
            flags: HttpFlags::empty(),
            maxtime: req.max_time,
            errmsg: None,
            ech_status: 0,
            ech_outer_sni: None,
            bufs: Vec::new(),
            ech_config_list: None,
            ech_retry_config: None,
            tls: None,
        },
        phases: Phases::default(),
        tls: None,
        version: None,
        status: None,
    };
    let mut ex = Exchange::default();
    let tap = Tap {
        inner: io,
        layer: Layer::Plain,
        shared: shared.clone(),
    };
    let outcome = timeout_at(deadline, exchange(tap, req, h2, &shared, &mut ex)).await;
    let (stop, err) = match outcome {
        Err(_) => (
            HttpStop::Timeout,
            Some("no complete response in time".to_owned()),
        ),
        Ok(Ok(())) => (HttpStop::Done, None),
        Ok(Err(Stop(s, e))) => (s, Some(e)),
    };
    finish(&mut run, &stamper, &shared, &ex);
    run.http.stop_reason = stop;
    run.http.errmsg = err;
    run
}
