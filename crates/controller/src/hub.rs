//! The hub: one task that owns every VP session and every mux client, and
//! relays between them. Connection tasks only move bytes; every decision is
//! taken here, one event at a time, so the state needs no locks.

use crate::tls::CertNames;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::{debug, info, warn};
use vantage_proto::meta::Metadata;
use vantage_proto::mux::{self, MuxChannelId, MuxControl, MuxEvent, VpId, VpInfo, encode_data};
use vantage_proto::remote::{
    ChannelId, ControllerEvent, ControllerLink, Frame, Hello, Magic, ResumeRequest, Timers, VpMeta,
};

/// How long a new VP's announcement waits for its metadata publication (a
/// Vantage probe sends it right after MASTER_ID; scamper never does), so that
/// clients learn of the VP once, with its policy.
pub(crate) const ANNOUNCE_WAIT: Duration = Duration::from_millis(250);

/// Identifies one VP TCP connection.
pub(crate) type ConnId = u64;
/// Identifies one mux client connection.
pub(crate) type MuxId = u64;

/// The sending side of one connection: bytes to write, a switch that stops its
/// reader, and the number of bytes queued and not yet written.
pub(crate) struct Outbox {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    kill: Arc<Notify>,
    abort: Arc<Notify>,
    queued: Arc<AtomicUsize>,
}

/// What a connection's tasks keep: the writer's queue, the reader's stop switch
/// and the shared byte count.
pub(crate) struct OutboxEnds {
    pub(crate) rx: mpsc::UnboundedReceiver<Vec<u8>>,
    pub(crate) kill: Arc<Notify>,
    /// Tells the writer to drop what is queued and close at once.
    pub(crate) abort: Arc<Notify>,
    pub(crate) queued: Arc<AtomicUsize>,
}

impl Outbox {
    pub(crate) fn new() -> (Self, OutboxEnds) {
        let (tx, rx) = mpsc::unbounded_channel();
        let kill = Arc::new(Notify::new());
        let abort = Arc::new(Notify::new());
        let queued = Arc::new(AtomicUsize::new(0));
        (
            Self {
                tx,
                kill: Arc::clone(&kill),
                abort: Arc::clone(&abort),
                queued: Arc::clone(&queued),
            },
            OutboxEnds {
                rx,
                kill,
                abort,
                queued,
            },
        )
    }

    /// Queues bytes; returns how many bytes are now waiting to be written.
    fn send(&self, bytes: Vec<u8>) -> usize {
        let n = bytes.len();
        let total = self.queued.fetch_add(n, Ordering::Relaxed) + n;
        let _ = self.tx.send(bytes);
        total
    }

    /// Stops reading at once; what is queued is still written, then the
    /// connection is closed.
    fn close(self) {
        self.kill.notify_one();
    }

    /// Stops reading and writing at once, dropping what is queued (a client
    /// that does not read gets nothing more).
    fn abort(self) {
        self.abort.notify_one();
        self.kill.notify_one();
    }
}

/// Everything connection tasks, signal handlers and the owner tell the hub.
pub(crate) enum HubEvent {
    /// A VP connection's first frame.
    VpHello {
        conn: ConnId,
        peer: SocketAddr,
        hello: Hello,
        cert: Option<CertNames>,
        out: Outbox,
    },
    /// A later frame.
    VpFrame { conn: ConnId, frame: Frame },
    /// The connection ended or broke.
    VpClosed { conn: ConnId, why: String },
    /// A mux client connected.
    MuxOpen {
        mux: MuxId,
        out: Outbox,
        uid: Option<u32>,
    },
    /// Something from a mux client.
    Mux { mux: MuxId, ev: MuxEvent },
    /// A mux client went away.
    MuxClosed { mux: MuxId, why: Option<String> },
    /// Reload the metadata file (SIGHUP).
    Reload,
}

struct Vp {
    link: ControllerLink,
    info: VpInfo,
    arrival: (u64, u32),
    first_peer: SocketAddr,
    conn: Option<(ConnId, Outbox)>,
    lost_at: Option<Instant>,
    chans: HashMap<ChannelId, (MuxId, MuxChannelId)>,
    /// Whether mux clients were told of this VP; until then it waits (at most
    /// until `announce_at`) for the VP's metadata publication.
    announced: bool,
    announce_at: Instant,
}

struct MuxClient {
    out: Outbox,
    chans: HashMap<MuxChannelId, (VpId, ChannelId)>,
    /// Whether data for a channel that is not open was logged (once per client).
    logged_unknown: bool,
}

/// The hub's settings.
pub(crate) struct HubConfig {
    pub(crate) grace: Duration,
    pub(crate) require_cert_names: bool,
    pub(crate) meta_path: Option<PathBuf>,
    pub(crate) meta: Metadata,
    pub(crate) mux_backlog: usize,
    pub(crate) timers: Timers,
}

pub(crate) struct Hub {
    cfg: HubConfig,
    next_id: u32,
    vps: BTreeMap<VpId, Vp>,
    by_magic: HashMap<Magic, VpId>,
    by_conn: HashMap<ConnId, VpId>,
    muxes: BTreeMap<MuxId, MuxClient>,
}

/// The id string sc_remoted gives a VP: `ip:port`, IPv6 as `addr.port`.
pub(crate) fn peer_id_string(peer: SocketAddr) -> String {
    match peer {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("{}.{}", a.ip(), a.port()),
    }
}

fn unix_now() -> (u64, u32) {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or((0, 0), |d| (d.as_secs(), d.subsec_micros()))
}

/// The VP_UPDATE frame for `info`; tags are dropped from the end until it fits
/// the 1024-byte limit of the protocol.
fn update_frame(info: &VpInfo) -> Option<Vec<u8>> {
    let mut info = info.clone();
    loop {
        match MuxControl::VpUpdate(info.to_update()).encode() {
            Ok(b) => return Some(b),
            Err(mux::Error::VpUpdateTooLarge { len }) if !info.tags.is_empty() => {
                warn!(
                    vp = info.id.0,
                    len, "VP_UPDATE exceeds 1024 bytes; dropping the last tag"
                );
                info.tags.pop();
            }
            Err(e) => {
                warn!(vp = info.id.0, error = %e, "cannot announce VP to mux clients");
                return None;
            }
        }
    }
}

/// What announces `info` to a mux client: VP_POLICY (when the VP published
/// a policy; old clients ignore it) then VP_UPDATE.
fn announcement(info: &VpInfo) -> Vec<u8> {
    let mut b = Vec::new();
    if let Some(text) = &info.policy {
        let m = MuxControl::VpPolicy {
            vp_id: info.id,
            text: text.clone(),
        };
        if let Err(e) = m.encode_frame(&mut b) {
            warn!(vp = info.id.0, error = %e, "cannot send the VP's policy to mux clients");
        }
    }
    if let Some(u) = update_frame(info) {
        b.extend_from_slice(&u);
    }
    b
}

fn frame_bytes(frame: &MuxControl) -> Vec<u8> {
    // Only fixed-size messages are encoded here; they cannot fail.
    frame.encode().unwrap_or_default()
}

impl Hub {
    pub(crate) fn new(cfg: HubConfig) -> Self {
        Self {
            cfg,
            next_id: 1,
            vps: BTreeMap::new(),
            by_magic: HashMap::new(),
            by_conn: HashMap::new(),
            muxes: BTreeMap::new(),
        }
    }

    /// Runs until `stop` fires (or every sender is gone), then says goodbye.
    pub(crate) async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<HubEvent>,
        mut stop: oneshot::Receiver<()>,
    ) {
        loop {
            let deadline = self.next_deadline();
            let sleep = async move {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(ev) => self.handle(ev, Instant::now()),
                    None => break,
                },
                () = sleep => self.on_timers(Instant::now()),
                _ = &mut stop => break,
            }
        }
        self.shutdown();
    }

    fn handle(&mut self, ev: HubEvent, now: Instant) {
        match ev {
            HubEvent::VpHello {
                conn,
                peer,
                hello,
                cert,
                out,
            } => match hello {
                Hello::New { magic, name } => {
                    self.on_new(conn, peer, magic, name.as_deref(), cert, out, now);
                }
                Hello::Resume(req) => self.on_resume(conn, peer, &req, cert.as_ref(), out, now),
            },
            HubEvent::VpFrame { conn, frame } => {
                let Some(&id) = self.by_conn.get(&conn) else {
                    return;
                };
                let Some(vp) = self.vps.get_mut(&id) else {
                    return;
                };
                let res = vp.link.handle_frame(now, &frame);
                self.pump_vp(id, now);
                if let Err(e) = res {
                    self.vp_lost(id, &format!("protocol error: {e}"), now);
                }
            }
            HubEvent::VpClosed { conn, why } => {
                if let Some(&id) = self.by_conn.get(&conn) {
                    self.vp_lost(id, &why, now);
                }
            }
            HubEvent::MuxOpen { mux, out, uid } => {
                let mut bytes = Vec::new();
                for vp in self.vps.values().filter(|v| v.announced) {
                    bytes.extend_from_slice(&announcement(&vp.info));
                }
                bytes.extend_from_slice(&frame_bytes(&MuxControl::Go));
                out.send(bytes);
                info!(
                    mux,
                    uid = uid.map_or(-1, i64::from),
                    vps = self.vps.len(),
                    "mux client connected"
                );
                self.muxes.insert(
                    mux,
                    MuxClient {
                        out,
                        chans: HashMap::new(),
                        logged_unknown: false,
                    },
                );
            }
            HubEvent::Mux { mux, ev } => self.on_mux(mux, ev, now),
            HubEvent::MuxClosed { mux, why } => {
                if let Some(why) = why {
                    warn!(mux, "mux client dropped: {why}");
                } else {
                    info!(mux, "mux client disconnected");
                }
                self.close_mux(mux, now);
            }
            HubEvent::Reload => self.reload(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_new(
        &mut self,
        conn: ConnId,
        peer: SocketAddr,
        magic: Magic,
        name: Option<&str>,
        cert: Option<CertNames>,
        out: Outbox,
        now: Instant,
    ) {
        if self.cfg.require_cert_names {
            let names = cert.unwrap_or_default();
            match name {
                None => {
                    warn!(%peer, certificate = %names,
                        "refused VP: client certificates are required but the VP announced no monitor name (start it with a name, e.g. scamper -M NAME)");
                    out.close();
                    return;
                }
                Some(n) if !names.matches(n) => {
                    warn!(%peer, monitor = %n, certificate = %names,
                        "refused VP: its client certificate names {names}, not its monitor name {n}");
                    out.close();
                    return;
                }
                Some(_) => {}
            }
        }
        if self.by_magic.contains_key(&magic) {
            warn!(%peer, "refused VP: its session magic is already used by another VP");
            out.close();
            return;
        }
        let id = VpId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let link = match ControllerLink::accept_new(
            now,
            magic.clone(),
            name.map(str::to_owned),
            peer_id_string(peer),
        ) {
            Ok(mut l) => {
                l.set_timers(self.cfg.timers);
                l
            }
            Err(e) => {
                warn!(%peer, error = %e, "refused VP");
                out.close();
                return;
            }
        };
        let arrival = unix_now();
        let meta = name.and_then(|n| self.cfg.meta.get(n));
        let info = VpInfo::announce(id, name, arrival.0, arrival.1, peer.ip(), meta);
        info!(vp = id.0, monitor = name.unwrap_or("-"), %peer, "VP arrived");
        self.by_magic.insert(magic, id);
        self.by_conn.insert(conn, id);
        self.vps.insert(
            id,
            Vp {
                link,
                info,
                arrival,
                first_peer: peer,
                conn: Some((conn, out)),
                lost_at: None,
                chans: HashMap::new(),
                announced: false,
                announce_at: now + ANNOUNCE_WAIT,
            },
        );
        self.pump_vp(id, now);
    }

    /// Tells every mux client of the VP (again, if `announced` already).
    fn announce(&mut self, id: VpId, now: Instant) {
        let Some(vp) = self.vps.get_mut(&id) else {
            return;
        };
        vp.announced = true;
        let b = announcement(&vp.info);
        if !b.is_empty() {
            self.broadcast(&b, now);
        }
    }

    /// A Vantage VP published its metadata (its policy).
    fn on_meta(&mut self, id: VpId, meta: VpMeta, now: Instant) {
        let Some(vp) = self.vps.get_mut(&id) else {
            return;
        };
        let changed = vp.info.policy != meta.policy || vp.info.policy_hash != meta.policy_hash;
        info!(
            vp = id.0,
            policy_hash = meta.policy_hash.as_deref().unwrap_or("-"),
            "VP published its policy"
        );
        vp.info.policy = meta.policy;
        vp.info.policy_hash = meta.policy_hash;
        if !vp.announced || changed {
            self.announce(id, now);
        }
    }

    fn on_resume(
        &mut self,
        conn: ConnId,
        peer: SocketAddr,
        req: &ResumeRequest,
        cert: Option<&CertNames>,
        out: Outbox,
        now: Instant,
    ) {
        let reject = |out: Outbox| {
            let mut b = Vec::new();
            if ControllerLink::reject_frame().encode_into(&mut b).is_ok() {
                out.send(b);
            }
            out.close();
        };
        let Some(&id) = self.by_magic.get(&req.magic) else {
            warn!(%peer, "refused resume: no VP session has this magic (the controller restarted, or the VP departed); the VP will start a new session");
            reject(out);
            return;
        };
        let Some(vp) = self.vps.get_mut(&id) else {
            reject(out);
            return;
        };
        if self.cfg.require_cert_names {
            let names = cert.cloned().unwrap_or_default();
            let monitor = vp.link.monitor_name().unwrap_or_default().to_owned();
            if !names.matches(&monitor) {
                warn!(vp = id.0, %peer, monitor = %monitor, certificate = %names,
                    "refused resume: the client certificate names {names}, not the session's monitor name {monitor}");
                out.close();
                return;
            }
        }
        if let Err(e) = vp.link.resume(now, req, peer_id_string(peer)) {
            warn!(vp = id.0, %peer, "refused resume: {e}");
            reject(out);
            return;
        }
        if let Some((old, old_out)) = vp.conn.replace((conn, out)) {
            self.by_conn.remove(&old);
            old_out.close();
        }
        self.by_conn.insert(conn, id);
        let away = vp.lost_at.take().map(|t| now.saturating_duration_since(t));
        info!(vp = id.0, %peer, away_ms = away.map_or(0, |d| d.as_millis() as u64), "VP resumed");
        self.pump_vp(id, now);
    }

    /// Relays what the VP's link produced and writes its frames.
    fn pump_vp(&mut self, id: VpId, now: Instant) {
        let Some(vp) = self.vps.get_mut(&id) else {
            return;
        };
        let mut over = Vec::new();
        let mut metas = Vec::new();
        while let Some(ev) = vp.link.poll_event() {
            match ev {
                ControllerEvent::Data { channel, bytes } => {
                    let Some(&(m, mc)) = vp.chans.get(&channel) else {
                        continue;
                    };
                    if let Some(client) = self.muxes.get(&m) {
                        let mut b = Vec::with_capacity(bytes.len() + mux::HEADER_LEN);
                        if encode_data(mc, &bytes, &mut b).is_ok()
                            && client.out.send(b) > self.cfg.mux_backlog
                        {
                            over.push(m);
                        }
                    }
                }
                ControllerEvent::Meta(m) => metas.push(m),
                ControllerEvent::BadMeta(why) => {
                    warn!(vp = id.0, "VP metadata ignored: {why}");
                }
                ControllerEvent::ChannelFinished(c) => {
                    let Some((m, mc)) = vp.chans.remove(&c) else {
                        continue;
                    };
                    if let Some(client) = self.muxes.get_mut(&m) {
                        client.chans.remove(&mc);
                        client.out.send(frame_bytes(&MuxControl::ChannelClose(mc)));
                    }
                }
            }
        }
        flush_link(vp, now);
        for m in metas {
            self.on_meta(id, m, now);
        }
        for m in over {
            self.mux_overflow(m, now);
        }
    }

    fn mux_overflow(&mut self, m: MuxId, now: Instant) {
        if self.muxes.contains_key(&m) {
            warn!(
                mux = m,
                limit = self.cfg.mux_backlog,
                "mux client does not read its data; disconnecting it (its channels are closed, its tasks end for it alone)"
            );
            self.close_mux_with(m, now, true);
        }
    }

    fn broadcast(&mut self, bytes: &[u8], now: Instant) {
        let over: Vec<MuxId> = self
            .muxes
            .iter()
            .filter(|(_, c)| c.out.send(bytes.to_vec()) > self.cfg.mux_backlog)
            .map(|(m, _)| *m)
            .collect();
        for m in over {
            self.mux_overflow(m, now);
        }
    }

    fn vp_lost(&mut self, id: VpId, why: &str, now: Instant) {
        let Some(vp) = self.vps.get_mut(&id) else {
            return;
        };
        vp.link.link_down();
        if let Some((c, out)) = vp.conn.take() {
            self.by_conn.remove(&c);
            out.close();
        }
        if vp.lost_at.is_none() {
            vp.lost_at = Some(now);
        }
        if self.cfg.grace.is_zero() {
            info!(vp = id.0, "VP link lost ({why})");
            self.depart(
                id,
                "its link was lost and no grace period is configured",
                now,
            );
        } else {
            info!(
                vp = id.0,
                grace_s = self.cfg.grace.as_secs_f64(),
                "VP link lost ({why}); waiting for it to resume"
            );
        }
    }

    fn depart(&mut self, id: VpId, why: &str, now: Instant) {
        let Some(mut vp) = self.vps.remove(&id) else {
            return;
        };
        self.by_magic.remove(vp.link.magic());
        if let Some((c, out)) = vp.conn.take() {
            self.by_conn.remove(&c);
            out.close();
        }
        info!(
            vp = id.0,
            monitor = vp.info.name.as_deref().unwrap_or("-"),
            channels = vp.chans.len(),
            "VP departed: {why}"
        );
        if vp.announced {
            self.broadcast(&frame_bytes(&MuxControl::VpDepart(id)), now);
        }
        for (m, mc) in vp.chans.into_values() {
            if let Some(client) = self.muxes.get_mut(&m) {
                client.chans.remove(&mc);
                client.out.send(frame_bytes(&MuxControl::ChannelClose(mc)));
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.vps
            .values()
            .filter_map(|vp| {
                let t = match vp.lost_at {
                    Some(t) => Some(t + self.cfg.grace),
                    None => vp.link.poll_timeout(),
                };
                if vp.announced {
                    t
                } else {
                    Some(t.map_or(vp.announce_at, |t| t.min(vp.announce_at)))
                }
            })
            .min()
    }

    fn on_timers(&mut self, now: Instant) {
        let ids: Vec<VpId> = self.vps.keys().copied().collect();
        for id in ids {
            let Some(vp) = self.vps.get_mut(&id) else {
                continue;
            };
            if !vp.announced && now >= vp.announce_at {
                self.announce(id, now);
            }
            let Some(vp) = self.vps.get_mut(&id) else {
                continue;
            };
            match vp.lost_at {
                Some(t) => {
                    if now >= t + self.cfg.grace {
                        self.depart(id, "it did not resume within the grace period", now);
                    }
                }
                None => {
                    if vp.link.poll_timeout().is_some_and(|t| t <= now) {
                        match vp.link.handle_timeout(now) {
                            Ok(()) => flush_link(vp, now),
                            Err(e) => self.vp_lost(id, &e.to_string(), now),
                        }
                    }
                }
            }
        }
    }

    fn on_mux(&mut self, m: MuxId, ev: MuxEvent, now: Instant) {
        let Some(client) = self.muxes.get_mut(&m) else {
            return;
        };
        match ev {
            MuxEvent::Control(MuxControl::ChannelOpen { vp_id, channel }) => {
                if channel == MuxChannelId::CONTROL || client.chans.contains_key(&channel) {
                    warn!(
                        mux = m,
                        channel = channel.0,
                        "mux client opened a channel id already in use; disconnecting it"
                    );
                    self.close_mux(m, now);
                    return;
                }
                let Some(vp) = self.vps.get_mut(&vp_id) else {
                    info!(
                        mux = m,
                        vp = vp_id.0,
                        "mux client asked for a VP that is not connected; closing its channel"
                    );
                    client
                        .out
                        .send(frame_bytes(&MuxControl::ChannelClose(channel)));
                    return;
                };
                let vc = vp.link.open_channel();
                vp.chans.insert(vc, (m, channel));
                client.chans.insert(channel, (vp_id, vc));
                debug!(
                    mux = m,
                    channel = channel.0,
                    vp = vp_id.0,
                    vp_channel = vc.0,
                    "channel opened"
                );
                flush_link(vp, now);
            }
            MuxEvent::Control(_) => {}
            MuxEvent::Data { channel, bytes } => {
                let Some(&(vp_id, vc)) = client.chans.get(&channel) else {
                    // Dropped (remote-protocol.md §6.1): it may be in flight on a
                    // channel just closed. Garbage from a client not speaking
                    // the mux protocol mostly lands here, so say so once.
                    if !client.logged_unknown {
                        client.logged_unknown = true;
                        warn!(
                            mux = m,
                            channel = channel.0,
                            "mux client sent data for a channel that is not open (already closed, or not a mux client?); dropping it, and such data from this client from now on without logging"
                        );
                    }
                    return;
                };
                if let Some(vp) = self.vps.get_mut(&vp_id) {
                    if let Err(e) = vp.link.send_data(vc, &bytes) {
                        debug!(
                            mux = m,
                            channel = channel.0,
                            "data for a closed channel dropped: {e}"
                        );
                    }
                    flush_link(vp, now);
                }
            }
        }
    }

    fn close_mux(&mut self, m: MuxId, now: Instant) {
        self.close_mux_with(m, now, false);
    }

    /// Forgets a mux client, closing its channels on their VPs; with `abort`,
    /// what is still queued for it is dropped instead of written.
    fn close_mux_with(&mut self, m: MuxId, now: Instant, abort: bool) {
        let Some(client) = self.muxes.remove(&m) else {
            return;
        };
        for (vp_id, vc) in client.chans.into_values() {
            if let Some(vp) = self.vps.get_mut(&vp_id) {
                vp.chans.remove(&vc);
                let _ = vp.link.close_channel(vc);
                flush_link(vp, now);
            }
        }
        if abort {
            client.out.abort();
        } else {
            client.out.close();
        }
    }

    fn reload(&mut self) {
        let Some(path) = self.cfg.meta_path.clone() else {
            info!("reload requested; no metadata file is configured");
            return;
        };
        let meta = match crate::load_metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                warn!("metadata reload failed, keeping the previous metadata: {e}");
                return;
            }
        };
        self.cfg.meta = meta;
        let now = Instant::now();
        let mut changed = Vec::new();
        for (id, vp) in &mut self.vps {
            let name = vp.link.monitor_name();
            let mut info = VpInfo::announce(
                *id,
                name,
                vp.arrival.0,
                vp.arrival.1,
                vp.first_peer.ip(),
                name.and_then(|n| self.cfg.meta.get(n)),
            );
            info.policy.clone_from(&vp.info.policy);
            info.policy_hash.clone_from(&vp.info.policy_hash);
            if info != vp.info {
                vp.info = info.clone();
                if vp.announced {
                    changed.push(info);
                }
            }
        }
        info!(
            path = %path.display(),
            monitors = self.cfg.meta.len(),
            changed = changed.len(),
            "VP metadata reloaded"
        );
        for info in changed {
            let b = announcement(&info);
            if !b.is_empty() {
                self.broadcast(&b, now);
            }
        }
    }

    fn shutdown(&mut self) {
        let now = Instant::now();
        let ids: Vec<VpId> = self.vps.keys().copied().collect();
        for id in &ids {
            if self.vps.get(id).is_some_and(|v| v.announced) {
                self.broadcast(&frame_bytes(&MuxControl::VpDepart(*id)), now);
            }
        }
        for (_, client) in std::mem::take(&mut self.muxes) {
            client.out.close();
        }
        for (_, mut vp) in std::mem::take(&mut self.vps) {
            if let Some((_, out)) = vp.conn.take() {
                out.close();
            }
        }
        info!(vps = ids.len(), "controller stopped");
    }
}

fn flush_link(vp: &mut Vp, now: Instant) {
    let mut buf = Vec::new();
    while let Some(f) = vp.link.poll_transmit(now) {
        if let Err(e) = f.encode_into(&mut buf) {
            warn!(error = %e, "cannot encode a frame for a VP");
        }
    }
    if let (false, Some((_, out))) = (buf.is_empty(), &vp.conn) {
        out.send(buf);
    }
}
