//! What the probe has done, kept on the vantage point for its host: measurements by type and
//! method, packets sent by protocol, commands and packets refused by policy rule, and the
//! state of the policy and its do-not-probe list.
//!
//! [`ProberHandle::audit`](crate::ProberHandle::audit) gives an [`AuditReport`];
//! [`write_status_file`] writes one as JSON, atomically (a temporary file renamed over the
//! old one), so that a reader never sees half a file; [`AuditReport::read`] reads it back and
//! its `Display` prints it for people (`vantage probe status PATH`).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::ProberStats;

/// The format name at the top of a status file.
pub const STATUS_FORMAT: &str = "vantage-probe-status/1";

/// Counters kept by the event loop and the sessions (behind a mutex in the shared state).
#[derive(Debug, Default, Clone)]
pub(crate) struct AuditState {
    pub(crate) measurements: BTreeMap<String, u64>,
    pub(crate) packets: BTreeMap<String, u64>,
    pub(crate) refused_commands: BTreeMap<String, u64>,
    pub(crate) refused_packets: BTreeMap<String, u64>,
    pub(crate) policy: Option<PolicyStatus>,
}

/// The policy in force and the history of its do-not-probe list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyStatus {
    /// The policy's canonical hash (`vantage policy explain` prints the same).
    pub sha256: String,
    /// The do-not-probe list file, if the policy names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_not_probe: Option<String>,
    /// Prefixes in the list in force.
    #[serde(default)]
    pub do_not_probe_entries: u64,
    /// The list's hash (of its distinct prefixes).
    #[serde(default)]
    pub do_not_probe_sha256: String,
    /// Successful reloads since the probe started.
    #[serde(default)]
    pub reloads: u64,
    /// Failed reloads (the previous list stayed in force).
    #[serde(default)]
    pub reload_errors: u64,
    /// The last reload error, if the last reload failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reload_error: Option<String>,
    /// The policy file, once it has been reloaded (on `SIGHUP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_file: Option<String>,
    /// Successful reloads of the whole policy file since the probe started.
    #[serde(default)]
    pub policy_reloads: u64,
    /// Failed reloads of the policy file (the previous policy stayed in force).
    #[serde(default)]
    pub policy_reload_errors: u64,
    /// The last policy reload error, if the last policy reload failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_policy_reload_error: Option<String>,
}

impl PolicyStatus {
    /// The status of `policy` before any reload.
    pub fn of(policy: &vantage_policy::Policy) -> Self {
        let mut s = Self {
            sha256: policy.canonical_hash().to_owned(),
            ..Self::default()
        };
        s.refresh(policy);
        s
    }

    /// Keeps the reload history of `old` (the status of the policy this one replaces).
    pub(crate) fn carry_counters(&mut self, old: &PolicyStatus) {
        self.reloads = old.reloads;
        self.reload_errors = old.reload_errors;
        self.last_reload_error.clone_from(&old.last_reload_error);
        self.policy_file.clone_from(&old.policy_file);
        self.policy_reloads = old.policy_reloads;
        self.policy_reload_errors = old.policy_reload_errors;
        self.last_policy_reload_error
            .clone_from(&old.last_policy_reload_error);
    }

    /// Takes the do-not-probe list's current size and hash.
    pub(crate) fn refresh(&mut self, policy: &vantage_policy::Policy) {
        if let Some(d) = policy.do_not_probe() {
            let list = d.snapshot();
            self.do_not_probe = Some(d.path().display().to_string());
            self.do_not_probe_entries = list.len() as u64;
            list.sha256().clone_into(&mut self.do_not_probe_sha256);
        }
    }
}

/// A snapshot of a probe's audit counters, as the status file holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Always [`STATUS_FORMAT`].
    pub format: String,
    /// When the snapshot was taken (seconds since 1970).
    pub time: u64,
    /// The probe's process id.
    pub pid: u32,
    /// The packet rate in force.
    pub pps: u32,
    /// The most tasks run at once (0: no limit).
    pub window: u32,
    /// Commands accepted and waiting for a free slot of the window.
    pub tasks_queued: u64,
    /// The prober's counters.
    pub counters: ProberStats,
    /// Measurements started, by `type/method` (`ping/icmp-echo`, `trace/udp-paris`).
    pub measurements: BTreeMap<String, u64>,
    /// Packets handed to the kernel, by `family/protocol` (`ipv4/icmp`, `ipv6/udp`) for
    /// ping and traceroute probes, and under `app` the packets of host, udpprobe and http
    /// tasks (queries, datagrams and connection attempts).
    pub packets: BTreeMap<String, u64>,
    /// Commands refused by the policy, by the rule's key (`measurements.types`).
    pub refused_commands: BTreeMap<String, u64>,
    /// Packets stopped right before sending, by the rule's key (`do_not_probe.file`).
    pub refused_packets: BTreeMap<String, u64>,
    /// The policy in force, if the probe runs with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyStatus>,
}

/// Why a status file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// A file operation failed.
    #[error("status file {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        error: std::io::Error,
    },
    /// The file is not a probe status file.
    #[error("status file {path} is not a vantage probe status file: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl AuditReport {
    pub(crate) fn new(
        counters: ProberStats,
        state: AuditState,
        pid: u32,
        pps: u32,
        window: u32,
        queued: u64,
    ) -> Self {
        Self {
            format: STATUS_FORMAT.to_owned(),
            time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            pid,
            pps,
            window,
            tasks_queued: queued,
            counters,
            measurements: state.measurements,
            packets: state.packets,
            refused_commands: state.refused_commands,
            refused_packets: state.refused_packets,
            policy: state.policy,
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a status file.
    pub fn read(path: &Path) -> Result<Self, StatusError> {
        let text = std::fs::read_to_string(path).map_err(|error| StatusError::Io {
            path: path.to_owned(),
            error,
        })?;
        let r: Self = serde_json::from_str(&text).map_err(|e| StatusError::Format {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if r.format != STATUS_FORMAT {
            return Err(StatusError::Format {
                path: path.to_owned(),
                reason: format!("format {:?}, expected {STATUS_FORMAT:?}", r.format),
            });
        }
        Ok(r)
    }
}

/// Writes `report` to `path` atomically: into `path.tmp` in the same folder, then renamed
/// over `path`. Readers see the old file or the new one, never a partial one.
pub fn write_status_file(path: &Path, report: &AuditReport) -> Result<(), StatusError> {
    let io = |error| StatusError::Io {
        path: path.to_owned(),
        error,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(report.to_json().as_bytes()).map_err(io)?;
    f.write_all(b"\n").map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)
}

fn table(f: &mut fmt::Formatter<'_>, title: &str, m: &BTreeMap<String, u64>) -> fmt::Result {
    if m.is_empty() {
        return writeln!(f, "{title}: none");
    }
    writeln!(f, "{title}:")?;
    let w = m.keys().map(String::len).max().unwrap_or(0);
    for (k, v) in m {
        writeln!(f, "  {k:<w$}  {v}")?;
    }
    Ok(())
}

impl fmt::Display for AuditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counters;
        writeln!(
            f,
            "vantage probe pid {} (status at {} s since 1970)",
            self.pid, self.time
        )?;
        let window = if self.window == 0 {
            "unlimited".to_owned()
        } else {
            self.window.to_string()
        };
        writeln!(
            f,
            "rate {} pps, window {window}; tasks running {}, queued {}, started {}, finished {}, failed {}",
            self.pps,
            c.tasks_running,
            self.tasks_queued,
            c.tasks_started,
            c.tasks_finished,
            c.tasks_failed
        )?;
        writeln!(
            f,
            "packets sent {}, send errors {}, received {} (matched {}, unmatched {}, malformed {}), kernel drops {}",
            c.sent, c.send_errors, c.received, c.matched, c.unmatched, c.malformed, c.socket_drops
        )?;
        table(f, "measurements started", &self.measurements)?;
        table(f, "packets sent", &self.packets)?;
        table(f, "commands refused by rule", &self.refused_commands)?;
        table(f, "packets refused by rule", &self.refused_packets)?;
        match &self.policy {
            None => writeln!(f, "policy: none (the built-in rate only)"),
            Some(p) => {
                writeln!(f, "policy sha256 {}", p.sha256)?;
                if let Some(file) = &p.do_not_probe {
                    writeln!(
                        f,
                        "do-not-probe list {file}: {} prefixes, sha256 {}; {} reloads, {} failed",
                        p.do_not_probe_entries, p.do_not_probe_sha256, p.reloads, p.reload_errors
                    )?;
                }
                if let Some(e) = &p.last_reload_error {
                    writeln!(f, "last reload failed (old list kept): {e}")?;
                }
                if let Some(file) = &p.policy_file {
                    writeln!(
                        f,
                        "policy file {file}: {} reloads, {} failed",
                        p.policy_reloads, p.policy_reload_errors
                    )?;
                }
                if let Some(e) = &p.last_policy_reload_error {
                    writeln!(f, "last policy reload failed (old policy kept): {e}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> AuditReport {
        let mut st = AuditState::default();
        st.measurements.insert("ping/icmp-echo".into(), 3);
        st.packets.insert("ipv4/icmp".into(), 9);
        st.refused_commands.insert("measurements.types".into(), 2);
        st.refused_packets.insert("do_not_probe.file".into(), 1);
        st.policy = Some(PolicyStatus {
            sha256: "ab".repeat(32),
            do_not_probe: Some("/etc/vantage/dnp.txt".into()),
            do_not_probe_entries: 4,
            do_not_probe_sha256: "cd".repeat(32),
            reloads: 2,
            reload_errors: 1,
            last_reload_error: Some("line 3: bad".into()),
            policy_file: Some("/etc/vantage/policy.toml".into()),
            policy_reloads: 3,
            policy_reload_errors: 1,
            last_policy_reload_error: Some("line 7, key rate.pps: bad".into()),
        });
        AuditReport::new(ProberStats::default(), st, 42, 100, 8, 1)
    }

    #[test]
    fn status_file_round_trip_and_readable_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status.json");
        let r = report();
        write_status_file(&path, &r).unwrap();
        write_status_file(&path, &r).unwrap();
        assert!(!dir.path().join("status.json.tmp").exists());
        let back = AuditReport::read(&path).unwrap();
        assert_eq!(back, r);
        let text = back.to_string();
        assert!(text.contains("rate 100 pps, window 8"), "{text}");
        assert!(text.contains("  ping/icmp-echo  3"), "{text}");
        assert!(text.contains("  measurements.types  2"), "{text}");
        assert!(text.contains("  do_not_probe.file  1"), "{text}");
        assert!(text.contains("4 prefixes"), "{text}");
        assert!(
            text.contains("last reload failed (old list kept): line 3: bad"),
            "{text}"
        );
        assert!(
            text.contains("policy file /etc/vantage/policy.toml: 3 reloads, 1 failed"),
            "{text}"
        );
        assert!(
            text.contains("last policy reload failed (old policy kept): line 7"),
            "{text}"
        );
    }

    #[test]
    fn a_new_prober_reports_its_configured_window() {
        let config = crate::ProberConfig {
            window: 3,
            ..crate::ProberConfig::default()
        };
        let (_p, handle, _r) = crate::Prober::new(config).unwrap();
        assert_eq!(handle.window(), 3);
        let a = handle.audit(77);
        assert_eq!((a.window, a.pps, a.tasks_queued), (3, 77, 0));
        assert!(a.policy.is_none() && a.measurements.is_empty());
    }

    #[test]
    fn bad_status_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        let e = AuditReport::read(&path).unwrap_err();
        assert!(e.to_string().starts_with("status file "), "{e}");
        std::fs::write(&path, "{}").unwrap();
        let e = AuditReport::read(&path).unwrap_err();
        assert!(
            e.to_string().contains("is not a vantage probe status file"),
            "{e}"
        );
        let mut r = report();
        r.format = "other".into();
        std::fs::write(&path, r.to_json()).unwrap();
        assert!(AuditReport::read(&path).is_err());
    }
}
