//! The probe's control socket: a unix socket (or a loopback TCP port) that speaks the
//! control protocol (control-protocol.md), so that one machine's probe can be driven
//! with no controller at all. Many clients may be attached at once; each has its own
//! task ids, list and cycle.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};

use crate::session::{Router, Session};
use crate::{ProberHandle, Results};

/// Serves control-protocol sessions on top of one running prober.
///
/// Cheap to clone; every clone serves the same prober. It needs a tokio runtime with
/// I/O enabled for its `serve_*` methods (any flavour: it does not run the prober,
/// which has its own thread, see [`crate::Prober::spawn`]).
#[derive(Debug, Clone)]
pub struct ControlServer {
    handle: ProberHandle,
    router: Router,
    attaches: Arc<AtomicU64>,
}

impl ControlServer {
    /// A server for the prober behind `handle`, taking over its result stream (read on
    /// a thread of its own and routed to the session that submitted each task). `pps`
    /// is the prober's configured rate, for `get pps`.
    pub fn new(handle: ProberHandle, results: Results, pps: u32) -> io::Result<Self> {
        let router = Router::start(results, pps)?;
        router.set_asked_window(handle.window());
        Ok(Self {
            handle,
            router,
            attaches: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Judges every command of every session (control socket and remote channels) against
    /// `policy` before it reaches the prober: a refused command is answered
    /// `ERR command not accepted: policy: ...`, naming the rule (and counted in the audit).
    /// The prober's rate (now and on every later `set pps`) is capped by
    /// [`vantage_policy::Policy::effective_pps`], its window (`set window`) by
    /// [`vantage_policy::Policy::effective_max_tasks`], and every packet is judged again
    /// right before it is sent ([`ProberHandle::set_policy`]).
    ///
    /// # Errors
    ///
    /// The capped rate is out of the prober's range (cannot happen for a valid policy).
    pub fn with_policy(
        self,
        policy: Arc<vantage_policy::Policy>,
    ) -> Result<Self, crate::ConfigError> {
        self.apply_policy(policy, None)?;
        Ok(self)
    }

    /// Puts `policy` in force in place of the current one, while the probe runs, everywhere
    /// [`ControlServer::with_policy`] applies one: the next command of every session (also
    /// those already attached) is judged against it, the next packet of every task (also
    /// those already running) goes through it, the rate is the one asked for (`--pps`, the
    /// last `set pps`) capped by its `rate.pps` (a lower ceiling slows the pacer at once; a
    /// higher one never raises the rate above what was asked), the window likewise under
    /// `rate.max_tasks`, and the audit reports its hash and do-not-probe list. `text` is the
    /// policy file's text, published to the controller with the hash (when `None`, the
    /// policy's normalised TOML is).
    ///
    /// # Errors
    ///
    /// The capped rate is out of the prober's range (cannot happen for a valid policy).
    pub fn replace_policy(
        &self,
        policy: Arc<vantage_policy::Policy>,
        text: Option<String>,
    ) -> Result<(), crate::ConfigError> {
        let text = text.unwrap_or_else(|| policy.config().to_toml());
        self.apply_policy(policy, Some(text))
    }

    fn apply_policy(
        &self,
        policy: Arc<vantage_policy::Policy>,
        text: Option<String>,
    ) -> Result<(), crate::ConfigError> {
        let pps = policy.effective_pps(self.router.asked_pps());
        self.handle.set_pps(pps)?;
        self.router.set_pps(pps);
        // rate.max_tasks caps the window (now and on every later `set window`).
        self.handle
            .set_window(policy.effective_max_tasks(self.router.asked_window()));
        self.handle.set_policy(Arc::clone(&policy));
        self.router.set_policy(policy, text);
        Ok(())
    }

    /// Reads the policy file at `path` again and, if it parses and its do-not-probe list
    /// loads, puts it in force with [`ControlServer::replace_policy`] (what `vantage probe`
    /// does on `SIGHUP`). The audit counts the reload, or the failure; after a failure the
    /// policy in force stays as it was.
    ///
    /// # Errors
    ///
    /// The file cannot be read or is not a valid policy (the error names the line and key),
    /// or its list cannot be read.
    pub fn reload_policy(&self, path: &Path) -> Result<PolicyReload, crate::ReloadError> {
        let old = self.router.policy().map(|p| p.canonical_hash().to_owned());
        let loaded = std::fs::read_to_string(path)
            .map_err(|source| vantage_policy::PolicyError::Read {
                path: path.to_owned(),
                source,
            })
            .and_then(|text| {
                let base = path.parent().filter(|p| !p.as_os_str().is_empty());
                let origin = format!("file {}", path.display());
                vantage_policy::Policy::from_toml(&text, &origin, base).map(|p| (p, text))
            });
        let (policy, text) = match loaded {
            Ok(l) => l,
            Err(e) => {
                self.handle.note_policy_reload(path, Err(e.to_string()));
                return Err(e.into());
            }
        };
        let new = policy.canonical_hash().to_owned();
        let policy = Arc::new(policy);
        if let Err(e) = self.replace_policy(Arc::clone(&policy), Some(text)) {
            // Not reachable for a policy that validated (its rate is in range).
            self.handle.note_policy_reload(path, Err(e.to_string()));
            return Err(e.into());
        }
        self.handle.note_policy_reload(path, Ok(&policy));
        Ok(PolicyReload {
            changed: old.as_deref() != Some(new.as_str()),
            old,
            new,
        })
    }

    /// A receiver that wakes on every change of the policy in force.
    pub(crate) fn policy_changes(
        &self,
    ) -> tokio::sync::watch::Receiver<crate::session::PolicyState> {
        self.router.policy_changes()
    }

    /// The policy in force and the text to publish of it.
    pub(crate) fn policy_state(&self) -> crate::session::PolicyState {
        self.router.policy_state()
    }

    /// Waits until a control client asks the probe to stop and the stop is due: at once
    /// for `shutdown now` (whose running tasks are halted), once no task is running for
    /// `shutdown done` and `shutdown flush` (this probe queues nothing, so there is
    /// nothing to flush). `shutdown cancel` withdraws a pending request.
    pub async fn shutdown_requested(&self) {
        let mut rx = self.router.shutdown_requests();
        loop {
            let Ok(mode) = rx.wait_for(Option::is_some).await.map(|m| *m) else {
                // The sender lives as long as the router: never reached.
                return std::future::pending().await;
            };
            if mode == Some(vantage_proto::control::ShutdownMode::Now) {
                return;
            }
            while rx.borrow().is_some() {
                let st = self.handle.stats();
                if st.tasks_running == 0 && st.tasks_queued == 0 {
                    return;
                }
                let _ =
                    tokio::time::timeout(std::time::Duration::from_millis(100), rx.changed()).await;
            }
        }
    }

    /// The audit counters now (see [`ProberHandle::audit`]), with the rate in force.
    pub fn audit(&self) -> crate::audit::AuditReport {
        self.handle.audit(self.router.pps())
    }

    /// The policy commands are judged against now, if any (a reload replaces it).
    pub fn policy(&self) -> Option<Arc<vantage_policy::Policy>> {
        self.router.policy()
    }

    /// The prober's handle.
    pub fn handle(&self) -> &ProberHandle {
        &self.handle
    }

    /// Binds a unix socket at `path` (replacing a stale socket file) and serves it
    /// until the future is dropped.
    pub async fn serve_unix_path(&self, path: &Path) -> io::Result<()> {
        if path.exists() {
            std::fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot listen on unix socket {}: {e}", path.display()),
            )
        })?;
        self.serve_unix(listener, &path.display().to_string()).await
    }

    /// Serves control sessions on `listener`; `name` (the socket path) is the prefix of
    /// the default list names (`<name>:<n>`, n counting attaches).
    pub async fn serve_unix(&self, listener: UnixListener, name: &str) -> io::Result<()> {
        loop {
            let (stream, _) = listener.accept().await?;
            let n = self.attaches.fetch_add(1, Ordering::Relaxed);
            let this = self.clone();
            let name = format!("{name}:{n}");
            tokio::spawn(async move {
                if let Err(e) = this.serve_stream(stream, name).await {
                    eprintln!("vantage probe: control connection: {e}");
                }
            });
        }
    }

    /// Serves control sessions on a TCP `listener` (bind it to loopback: the control
    /// protocol has no authentication). The default list name is the peer's
    /// `ip:port`.
    pub async fn serve_tcp(&self, listener: TcpListener) -> io::Result<()> {
        loop {
            let (stream, peer) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let name = match peer {
                std::net::SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
                std::net::SocketAddr::V6(a) => format!("{}.{}", a.ip(), a.port()),
            };
            let this = self.clone();
            tokio::spawn(async move {
                if let Err(e) = this.serve_stream(stream, name).await {
                    eprintln!("vantage probe: control connection from {peer}: {e}");
                }
            });
        }
    }

    /// Runs one control session over `stream` until it ends.
    pub async fn serve_stream<S>(&self, stream: S, name: String) -> io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (mut session, mut results) =
            Session::new(self.handle.clone(), self.router.clone(), name);
        let (mut rd, mut wr) = tokio::io::split(stream);
        let mut buf = vec![0u8; 16 * 1024];
        let mut eof = false;
        loop {
            let out = session.take_output();
            if !out.is_empty()
                && let Err(e) = wr.write_all(&out).await
            {
                session.feed_eof();
                return Err(e);
            }
            if session.should_close() {
                break;
            }
            tokio::select! {
                n = rd.read(&mut buf), if !eof => match n {
                    Ok(0) | Err(_) => {
                        eof = true;
                        session.feed_eof();
                    }
                    Ok(n) => session.feed(&buf[..n]),
                },
                Some(out) = results.recv() => session.on_result(out),
            }
        }
        // `exit` closes at once: tasks still running are abandoned, as on EOF.
        session.feed_eof();
        wr.shutdown().await
    }
}

/// What [`ControlServer::reload_policy`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyReload {
    /// The canonical hash of the policy before the reload, if there was one.
    pub old: Option<String>,
    /// The canonical hash of the policy now in force.
    pub new: String,
    /// Whether the hash changed (the policy is published again when it did).
    pub changed: bool,
}

impl ControlServer {
    /// A session already attached (a remote channel), and the receiver of its results.
    pub(crate) fn attached_session(
        &self,
        name: String,
        monitor: Option<String>,
    ) -> (
        Session,
        tokio::sync::mpsc::UnboundedReceiver<crate::TaskOutput>,
    ) {
        Session::attached(self.handle.clone(), self.router.clone(), name, monitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Prober, ProberConfig};

    fn policy(pps: u32, max_tasks: u32) -> Arc<vantage_policy::Policy> {
        let text = format!("[rate]\npps = {pps}\nmax_tasks = {max_tasks}\n");
        Arc::new(vantage_policy::Policy::from_toml(&text, "text", None).unwrap())
    }

    fn replies(s: &mut Session, input: &str) -> String {
        s.feed(input.as_bytes());
        String::from_utf8(s.take_output()).unwrap()
    }

    /// `set nameserver` under a policy: a server outside the allowed prefixes is refused
    /// naming the rule, an allowed one becomes the default of `host`, and a `host` command
    /// using it is judged again after a reload that denies it (no packet: the prober in
    /// this test never runs, and the refused command never reaches it).
    #[test]
    fn a_nameserver_set_by_a_client_is_judged_by_the_policy() {
        let (_prober, handle, results) = Prober::new(ProberConfig::with_pps(100)).unwrap();
        let allow = |p: &str| {
            let text = format!("[destinations]\nallow = [\"{p}\"]\n");
            Arc::new(vantage_policy::Policy::from_toml(&text, "text", None).unwrap())
        };
        let server = ControlServer::new(handle.clone(), results, 100)
            .unwrap()
            .with_policy(allow("10.0.0.0/8"))
            .unwrap();
        let (mut s, _rx) = Session::new(handle.clone(), server.router.clone(), "t:0".into());
        let outside: std::net::IpAddr = "192.0.2.53".parse().unwrap();
        assert!(!handle.is_hosts_nameserver(outside));
        let refused = replies(&mut s, "set nameserver 192.0.2.53\n");
        assert!(
            refused.starts_with("ERR could not set nameserver: policy: "),
            "{refused}"
        );
        assert_ne!(
            replies(&mut s, "get nameserver\n"),
            "OK nameserver 192.0.2.53\n"
        );
        assert_eq!(replies(&mut s, "set nameserver 10.9.8.7\n"), "OK\n");
        assert_eq!(
            replies(&mut s, "get nameserver\n"),
            "OK nameserver 10.9.8.7\n"
        );
        server.replace_policy(allow("172.16.0.0/12"), None).unwrap();
        let out = replies(&mut s, "attach\nhost www.example.test\n");
        assert!(
            out.contains("ERR command not accepted: policy: "),
            "the default server set earlier is now outside the policy: {out}"
        );
        assert!(
            out.contains("destinations"),
            "the rule named is a destinations rule: {out}"
        );
        assert_eq!(handle.stats().tasks_running, 0);
    }

    /// A reloaded policy caps what the operator asked for (`--pps`, `set pps`, `--window`,
    /// `set window`), not what an earlier policy granted: a lower ceiling lowers the rate,
    /// a higher one gives back at most what was asked.
    #[test]
    fn reloaded_ceilings_cap_what_was_asked() {
        let (_prober, handle, results) = Prober::new(ProberConfig::with_pps(1000)).unwrap();
        handle.set_window(6);
        let server = ControlServer::new(handle.clone(), results, 1000)
            .unwrap()
            .with_policy(policy(500, 4))
            .unwrap();
        assert_eq!((server.audit().pps, handle.window()), (500, 4));
        server.replace_policy(policy(2000, 10), None).unwrap();
        assert_eq!((server.audit().pps, handle.window()), (1000, 6));

        let (mut s, _rx) = Session::new(handle.clone(), server.router.clone(), "t:0".into());
        assert_eq!(replies(&mut s, "set pps 800\n"), "OK pps 800\n");
        assert_eq!(replies(&mut s, "set window 8\n"), "OK window 8\n");
        server.replace_policy(policy(100, 2), None).unwrap();
        assert_eq!((server.audit().pps, handle.window()), (100, 2));
        assert_eq!(replies(&mut s, "get pps\n"), "OK pps 100\n");
        // Asking more than the ceiling gets the ceiling, and is remembered as asked.
        assert_eq!(replies(&mut s, "set pps 900\n"), "OK pps 100\n");
        server.replace_policy(policy(5000, 50), None).unwrap();
        assert_eq!((server.audit().pps, handle.window()), (900, 8));
        // A refused `set pps` changes nothing.
        assert!(replies(&mut s, "set pps 0\n").starts_with("ERR pps: 0 out of range"));
        server.replace_policy(policy(5000, 50), None).unwrap();
        assert_eq!(server.audit().pps, 900);
        assert_eq!(
            server.policy().unwrap().canonical_hash(),
            policy(5000, 50).canonical_hash()
        );
    }
}
