//! `host`: one DNS question, asked over UDP or TCP with retries, every response kept.
//!
//! [`run`] takes a validated [`HostSpec`]; [`run_request`] takes a [`DnsRequest`], which can
//! say more than the command language (any type number, the EDNS buffer size and DO bit).
//! Both return a [`HostRun`]: the model record plus, per attempt, the raw response bytes and
//! the full decode (raw RDATA and presentation text of every record, and the first problem
//! found).
//!
//! Rules, in the order they apply:
//! * Each attempt is one query with a fresh random id. UDP attempts share one connected
//!   socket, so a late answer to an earlier attempt still counts (it is matched by id and
//!   ends the measurement). TCP attempts each open a connection.
//! * An attempt waits at most the request's timeout; then the next one starts. When all have
//!   timed out, the stop reason is `timeout`.
//! * A response that does not decode cleanly, is not a response (QR clear), or asks another
//!   question is still recorded (its bytes, what could be read) and the measurement stops
//!   with `error` and the reason in `errmsg`. A datagram that is too short to carry an id, or
//!   whose id matches no query and that does not decode, is taken as the answer to the
//!   current attempt (garbage is recorded, not dropped); a well-formed message with an
//!   unknown id is ignored (counted in [`HostRun::ignored`]).
//! * An ICMP port unreachable (UDP) or a refused / reset / early-closed connection (TCP) is an
//!   `error` with a message saying which.

use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use vantage_command::HostSpec;
use vantage_model::{Addr, Host, HostFlags, HostQuery, HostStop};

use crate::dns::{self, DnsRequest, DnsResponse};
use crate::env::{AppEnv, Pacing, Stamper};
use crate::net;

/// What one attempt got beyond the model record (whose query record already keeps the raw
/// response bytes, what was wrong with them, and each record's RDATA and text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attempt {
    /// The full decode of the response (header, questions, sections with per-record
    /// problems, the first problem's byte offset), if anything arrived.
    pub decoded: Option<DnsResponse>,
}

/// A finished `host` measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRun {
    /// The result record (warts/JSON ready).
    pub host: Host,
    /// One entry per element of `host.queries`, in the same order.
    pub attempts: Vec<Attempt>,
    /// Well-formed messages from the server whose id matched no query we sent.
    pub ignored: usize,
}

impl HostRun {
    /// The first attempt that got a response, with its query record.
    pub fn answered(&self) -> Option<(&HostQuery, &Attempt)> {
        self.host
            .queries
            .iter()
            .zip(&self.attempts)
            .find(|(q, _)| q.has_response())
    }
}

/// Runs the `host` command `spec`. A command that relied on the default nameserver goes
/// to the environment's resolver if it has one (the probe fills both from the same place).
pub async fn run<P: Pacing>(spec: &HostSpec, env: &AppEnv<P>) -> HostRun {
    run_until(spec, env, std::future::pending()).await
}

/// [`run`], ended early when `halt` completes: the result then keeps the attempts made so
/// far and stops with `halted`.
pub async fn run_until<P: Pacing>(
    spec: &HostSpec,
    env: &AppEnv<P>,
    halt: impl Future<Output = ()>,
) -> HostRun {
    let mut req = DnsRequest::from_spec(spec);
    if req.default_server
        && let Some(r) = env.resolver
    {
        req.server = r;
    }
    run_request_until(&req, env, halt).await
}

/// Runs one DNS measurement described by `req`.
pub async fn run_request<P: Pacing>(req: &DnsRequest, env: &AppEnv<P>) -> HostRun {
    run_request_until(req, env, std::future::pending()).await
}

/// [`run_request`], ended early (stop reason `halted`) when `halt` completes.
pub async fn run_request_until<P: Pacing>(
    req: &DnsRequest,
    env: &AppEnv<P>,
    halt: impl Future<Output = ()>,
) -> HostRun {
    let stamper = Stamper::start(env.clock.as_ref());
    let mut flags = HostFlags::empty();
    flags.set(HostFlags::NORECURSE, !req.recursion_desired);
    flags.set(HostFlags::TCP, req.tcp);
    flags.set(HostFlags::NSID, req.edns.is_some_and(|e| e.nsid));
    let mut run = HostRun {
        host: Host {
            list: None,
            cycle: None,
            user_id: req.user_id,
            src: None,
            dst: Addr::from(req.server),
            start: stamper.start_ts(),
            flags,
            wait_timeout: req.timeout,
            stop_reason: HostStop::None,
            retries: req.retries,
            qtype: req.qtype,
            qclass: req.qclass,
            qname: Some(req.qname.clone()),
            ecs: req.ecs_text(),
            errmsg: None,
            queries: Vec::new(),
        },
        attempts: Vec::new(),
        ignored: 0,
    };
    let server = SocketAddr::new(req.server, req.port);
    let outcome = {
        let exchange = async {
            if req.tcp {
                run_tcp(req, env, server, &stamper, &mut run).await
            } else {
                run_udp(req, env, server, &stamper, &mut run).await
            }
        };
        tokio::select! {
            o = exchange => o,
            () = halt => Outcome::Halted,
        }
    };
    let (stop, err) = match outcome {
        Outcome::Halted => (HostStop::Halted, None),
        Outcome::Answered => match run.answered().and_then(|(q, _)| q.error.clone()) {
            Some(e) => (HostStop::Error, Some(e)),
            None => (HostStop::Done, None),
        },
        Outcome::TimedOut => (HostStop::Timeout, None),
        Outcome::Failed(e) => (HostStop::Error, Some(e)),
    };
    run.host.stop_reason = stop;
    run.host.errmsg = err;
    run
}

enum Outcome {
    Halted,
    Answered,
    TimedOut,
    Failed(String),
}

/// Builds the query of a new attempt and records it (tx filled in by the caller).
fn new_attempt(req: &DnsRequest, run: &mut HostRun) -> Result<(usize, Vec<u8>), String> {
    let id: u16 = rand::random();
    let bytes = dns::build_query(req, id).map_err(|e| e.to_string())?;
    run.host.queries.push(HostQuery {
        id,
        ..HostQuery::default()
    });
    run.attempts.push(Attempt::default());
    Ok((run.host.queries.len() - 1, bytes))
}

/// Records `bytes` as the response of attempt `i`.
fn record_response(
    req: &DnsRequest,
    run: &mut HostRun,
    i: usize,
    bytes: Vec<u8>,
    rx: vantage_model::Timestamp,
    cut: Option<String>,
) {
    let decoded = dns::decode_response(&bytes);
    let q = &mut run.host.queries[i];
    q.rx = rx;
    if let Some(h) = decoded.header {
        q.rcode = h.rcode();
        q.flags = h.model_flags();
    }
    q.an = decoded.answers.iter().map(|r| r.rr.clone()).collect();
    q.ns = decoded.authorities.iter().map(|r| r.rr.clone()).collect();
    q.ar = decoded.additionals.iter().map(|r| r.rr.clone()).collect();
    let error = cut
        .or_else(|| decoded.error.as_ref().map(ToString::to_string))
        .or_else(|| check_response(req, q.id, &decoded));
    q.response = Some(bytes);
    q.error = error;
    run.attempts[i] = Attempt {
        decoded: Some(decoded),
    };
}

/// Problems of a cleanly decoded response: not a response, wrong id, another question.
fn check_response(req: &DnsRequest, id: u16, r: &DnsResponse) -> Option<String> {
    let h = r.header?;
    if !h.is_response() {
        return Some("the message from the server is not a response (QR bit clear)".into());
    }
    if h.id != id {
        return Some(format!("response id {} does not match query id {id}", h.id));
    }
    let wire = req.wire_name();
    let wire = wire.strip_suffix('.').unwrap_or(&wire);
    match r.questions.as_slice() {
        [] => None, // some servers (and FORMERR replies) omit the question
        [q] if q.name.eq_ignore_ascii_case(wire)
            && q.qtype == req.qtype
            && q.qclass == req.qclass =>
        {
            None
        }
        [q] => Some(format!(
            "the response answers another question ({} {} {})",
            q.name,
            dns::class_name(q.qclass),
            dns::type_name(q.qtype)
        )),
        qs => Some(format!("the response has {} questions", qs.len())),
    }
}

async fn run_udp<P: Pacing>(
    req: &DnsRequest,
    env: &AppEnv<P>,
    server: SocketAddr,
    stamper: &Stamper,
    run: &mut HostRun,
) -> Outcome {
    let sock = match net::udp_connected(env.source_for(server.ip()), server, env.max_ttl).await {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    run.host.src = sock.local_addr().ok().map(|a| Addr::from(a.ip()));
    let mut buf = vec![0u8; 65535];
    for _ in 0..=req.retries {
        let (i, bytes) = match new_attempt(req, run) {
            Ok(x) => x,
            Err(e) => return Outcome::Failed(e),
        };
        env.pacer.permit().await;
        run.host.queries[i].tx = stamper.now();
        if let Err(e) = sock.send(&bytes).await {
            return Outcome::Failed(format!("cannot send the query to {server}: {e}"));
        }
        let deadline = Instant::now() + req.timeout;
        loop {
            match timeout_at(deadline, sock.recv(&mut buf)).await {
                Err(_) => break, // this attempt timed out
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Outcome::Failed(format!(
                        "no DNS service at {server} (ICMP port unreachable)"
                    ));
                }
                Ok(Err(e)) => {
                    return Outcome::Failed(format!("cannot receive from {server}: {e}"));
                }
                Ok(Ok(n)) => {
                    let rx = stamper.now();
                    let data = buf[..n].to_vec();
                    let target = if n < 2 {
                        Some(i)
                    } else {
                        let id = u16::from_be_bytes([data[0], data[1]]);
                        let known = run.host.queries.iter().position(|q| q.id == id);
                        known.or_else(|| {
                            // A message that does not even decode is garbage sent our way:
                            // record it rather than drop it.
                            dns::decode_response(&data).error.is_some().then_some(i)
                        })
                    };
                    match target {
                        Some(t) => {
                            record_response(req, run, t, data, rx, None);
                            return Outcome::Answered;
                        }
                        None => run.ignored += 1,
                    }
                }
            }
        }
    }
    Outcome::TimedOut
}

async fn run_tcp<P: Pacing>(
    req: &DnsRequest,
    env: &AppEnv<P>,
    server: SocketAddr,
    stamper: &Stamper,
    run: &mut HostRun,
) -> Outcome {
    for _ in 0..=req.retries {
        let (i, bytes) = match new_attempt(req, run) {
            Ok(x) => x,
            Err(e) => return Outcome::Failed(e),
        };
        let deadline = Instant::now() + req.timeout;
        env.pacer.permit().await;
        run.host.queries[i].tx = stamper.now();
        let attempt = tcp_attempt(env.source_for(server.ip()), env.max_ttl, server, &bytes);
        match timeout_at(deadline, attempt).await {
            Err(_) => {}
            Ok(TcpResult::Failed(e)) => return Outcome::Failed(e),
            Ok(TcpResult::Response {
                local,
                data,
                cut,
                at,
            }) => {
                run.host.src = Some(Addr::from(local));
                record_response(req, run, i, data, stamper.at(at), cut);
                return Outcome::Answered;
            }
        }
    }
    Outcome::TimedOut
}

enum TcpResult {
    Failed(String),
    Response {
        local: IpAddr,
        data: Vec<u8>,
        /// Why the message is shorter than its length prefix said.
        cut: Option<String>,
        at: Instant,
    },
}

async fn tcp_attempt(
    src: Option<IpAddr>,
    max_ttl: Option<u8>,
    server: SocketAddr,
    query: &[u8],
) -> TcpResult {
    let mut stream: TcpStream = match net::tcp_connect(src, server, max_ttl).await {
        Ok(s) => s,
        Err(e) => return TcpResult::Failed(e.to_string()),
    };
    let local = stream.local_addr().map_or_else(|_| server.ip(), |a| a.ip());
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&(query.len() as u16).to_be_bytes());
    framed.extend_from_slice(query);
    if let Err(e) = stream.write_all(&framed).await {
        return TcpResult::Failed(format!("cannot send the query to {server}: {e}"));
    }
    let mut len = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match stream.read(&mut len[got..]).await {
            Ok(0) if got == 0 => {
                return TcpResult::Failed(format!(
                    "{server} closed the connection without answering"
                ));
            }
            Ok(0) => {
                return TcpResult::Response {
                    local,
                    data: len[..got].to_vec(),
                    cut: Some(format!(
                        "{server} closed the connection inside the length prefix"
                    )),
                    at: Instant::now(),
                };
            }
            Ok(n) => got += n,
            Err(e) => {
                return TcpResult::Failed(format!("connection to {server} failed: {e}"));
            }
        }
    }
    let want = usize::from(u16::from_be_bytes(len));
    let mut data = vec![0u8; want];
    let mut have = 0;
    while have < want {
        match stream.read(&mut data[have..]).await {
            Ok(0) => {
                data.truncate(have);
                return TcpResult::Response {
                    local,
                    data,
                    cut: Some(format!(
                        "{server} closed the connection after {have} of {want} bytes"
                    )),
                    at: Instant::now(),
                };
            }
            Ok(n) => have += n,
            Err(e) => {
                data.truncate(have);
                return TcpResult::Response {
                    local,
                    data,
                    cut: Some(format!(
                        "connection to {server} failed after {have} of {want} bytes: {e}"
                    )),
                    at: Instant::now(),
                };
            }
        }
    }
    let _ = stream.shutdown().await;
    TcpResult::Response {
        local,
        data,
        cut: None,
        at: Instant::now(),
    }
}

/// Records `bytes` as the response to a one-attempt measurement of `req` and returns what
/// was wrong with it (the fuzz target's view of the recording path).
pub(crate) fn fuzz_record(req: &DnsRequest, bytes: &[u8]) -> Option<String> {
    let mut run = HostRun {
        host: Host {
            list: None,
            cycle: None,
            user_id: 0,
            src: None,
            dst: Addr::from(req.server),
            start: vantage_model::Timestamp::default(),
            flags: HostFlags::empty(),
            wait_timeout: req.timeout,
            stop_reason: HostStop::None,
            retries: 0,
            qtype: req.qtype,
            qclass: req.qclass,
            qname: Some(req.qname.clone()),
            ecs: None,
            errmsg: None,
            queries: vec![HostQuery {
                id: bytes
                    .get(..2)
                    .map_or(0, |b| u16::from_be_bytes([b[0], b[1]])),
                ..HostQuery::default()
            }],
        },
        attempts: vec![Attempt::default()],
        ignored: 0,
    };
    record_response(
        req,
        &mut run,
        0,
        bytes.to_vec(),
        vantage_model::Timestamp::new(1, 0),
        None,
    );
    // The model record keeps the bytes.
    let q = &run.host.queries[0];
    assert_eq!(q.response.as_deref(), Some(bytes));
    q.error.clone()
}
