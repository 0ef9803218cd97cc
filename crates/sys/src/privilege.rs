//! Dropping privileges after the sockets are open.
//!
//! A probe starts as root (or with file capabilities), opens its raw sockets, sizes their
//! buffers, and then calls [`drop_privileges`]: it becomes an unprivileged user (by default
//! `nobody`) that keeps only `CAP_NET_RAW` (and `CAP_NET_ADMIN` if asked), with an emptied
//! bounding set and `no_new_privs`, so that neither it nor anything it runs can get more back.
//!
//! Linux keeps capabilities per thread. Call [`drop_privileges`] from the main thread
//! **before** starting any other thread (before building the tokio runtime): threads started
//! later inherit the reduced sets. Threads that already exist lose all capabilities when the
//! user changes, but their bounding sets are not reduced.

use std::collections::HashSet;
use std::fmt;
use std::io;

use caps::{CapSet, Capability};
use nix::unistd::{Gid, Uid, User};

use crate::error::{Error, Result};

/// How to drop privileges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropOptions {
    /// The account to become when running as root (default `nobody`).
    pub user: String,
    /// Keep `CAP_NET_ADMIN` too (only for features that need it, such as changing interface
    /// settings); off by default.
    pub keep_net_admin: bool,
}

impl Default for DropOptions {
    fn default() -> Self {
        Self {
            user: "nobody".to_owned(),
            keep_net_admin: false,
        }
    }
}

/// The privileges a process runs with, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Privileges {
    /// The user name, or the numeric uid if it has no name.
    pub user: String,
    /// Real, effective and saved user id (all equal after a drop).
    pub uid: u32,
    /// Real, effective and saved group id (all equal after a drop).
    pub gid: u32,
    /// Whether this call changed the user (false when not started as root).
    pub switched_user: bool,
    /// The effective capabilities, by name, sorted.
    pub capabilities: Vec<String>,
    /// Whether `no_new_privs` is set.
    pub no_new_privs: bool,
}

impl fmt::Display for Privileges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user {} (uid {}, gid {})", self.user, self.uid, self.gid)?;
        if self.capabilities.is_empty() {
            f.write_str(", no capabilities")?;
        } else {
            write!(f, ", capabilities {}", self.capabilities.join(","))?;
        }
        if self.no_new_privs {
            f.write_str(", no_new_privs")?;
        }
        Ok(())
    }
}

fn step_err(step: impl Into<String>) -> impl FnOnce(nix::Error) -> Error {
    let step = step.into();
    move |e| Error::Privilege {
        step,
        source: io::Error::from(e),
    }
}

fn caps_err(step: impl Into<String>) -> impl FnOnce(caps::errors::CapsError) -> Error {
    let step = step.into();
    move |e| Error::Privilege {
        step,
        source: io::Error::other(e.to_string()),
    }
}

/// Becomes `options.user` keeping only `CAP_NET_RAW` (and `CAP_NET_ADMIN` if asked).
///
/// As root: sets the supplementary groups to the user's primary group, switches real,
/// effective and saved gid and uid, keeps the wanted capabilities in the permitted and
/// effective sets, empties the inheritable and ambient sets, removes everything else from the
/// bounding set and sets `no_new_privs`. Not as root: keeps the user and only reduces the
/// capability sets the same way (keeping what is wanted and held).
///
/// Every step is checked; an error means the process is in an unknown state and must stop.
pub fn drop_privileges(options: &DropOptions) -> Result<Privileges> {
    let mut want: HashSet<Capability> = HashSet::from([Capability::CAP_NET_RAW]);
    if options.keep_net_admin {
        want.insert(Capability::CAP_NET_ADMIN);
    }
    let switched = Uid::effective().is_root();
    if switched {
        let user = User::from_name(&options.user)
            .map_err(step_err(format!("looking up user {:?}", options.user)))?
            .ok_or_else(|| Error::UnknownUser(options.user.clone()))?;
        if user.uid.is_root() {
            return Err(Error::Privilege {
                step: format!("switching to {:?}", options.user),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "that account is root: choose an unprivileged one",
                ),
            });
        }
        caps::securebits::set_keepcaps(true).map_err(caps_err("prctl PR_SET_KEEPCAPS"))?;
        nix::unistd::setgroups(&[user.gid])
            .map_err(step_err(format!("setgroups [{}]", user.gid)))?;
        nix::unistd::setresgid(user.gid, user.gid, user.gid)
            .map_err(step_err(format!("setresgid {}", user.gid)))?;
        nix::unistd::setresuid(user.uid, user.uid, user.uid)
            .map_err(step_err(format!("setresuid {}", user.uid)))?;
        // The permitted set survived the uid change (keepcaps); the effective set did not.
        // CAP_SETPCAP is needed once more to shrink the bounding set.
        caps::raise(None, CapSet::Effective, Capability::CAP_SETPCAP)
            .map_err(caps_err("capset +CAP_SETPCAP"))?;
        for cap in caps::all() {
            if !want.contains(&cap) && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
                caps::drop(None, CapSet::Bounding, cap)
                    .map_err(caps_err(format!("prctl PR_CAPBSET_DROP {cap}")))?;
            }
        }
    } else {
        let held = caps::read(None, CapSet::Permitted).map_err(caps_err("capget"))?;
        want.retain(|c| held.contains(c));
    }
    caps::set(None, CapSet::Inheritable, &HashSet::new())
        .map_err(caps_err("capset inheritable"))?;
    if caps::runtime::ambient_set_supported().is_ok() {
        caps::clear(None, CapSet::Ambient).map_err(caps_err("prctl PR_CAP_AMBIENT_CLEAR_ALL"))?;
    }
    caps::set(None, CapSet::Effective, &want).map_err(caps_err("capset effective"))?;
    caps::set(None, CapSet::Permitted, &want).map_err(caps_err("capset permitted"))?;
    if switched {
        caps::securebits::set_keepcaps(false).map_err(caps_err("prctl PR_SET_KEEPCAPS 0"))?;
    }
    nix::sys::prctl::set_no_new_privs().map_err(step_err("prctl PR_SET_NO_NEW_PRIVS"))?;

    let now = current()?;
    // Check, do not trust: the user must not be able to become root again.
    if switched && (now.uid == 0 || nix::unistd::setuid(Uid::from_raw(0)).is_ok()) {
        return Err(Error::Privilege {
            step: "verifying the switch".to_owned(),
            source: io::Error::other("the process can still become root"),
        });
    }
    Ok(Privileges {
        switched_user: switched,
        ..now
    })
}

/// The privileges the calling thread has now.
pub fn current() -> Result<Privileges> {
    let uid = Uid::effective();
    let gid = Gid::effective();
    let user = User::from_uid(uid)
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |u| u.name);
    let mut capabilities: Vec<String> = caps::read(None, CapSet::Effective)
        .map_err(caps_err("capget"))?
        .into_iter()
        .map(|c| c.to_string())
        .collect();
    capabilities.sort();
    let no_new_privs =
        nix::sys::prctl::get_no_new_privs().map_err(step_err("prctl PR_GET_NO_NEW_PRIVS"))?;
    Ok(Privileges {
        user,
        uid: uid.as_raw(),
        gid: gid.as_raw(),
        switched_user: false,
        capabilities,
        no_new_privs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        let p = Privileges {
            user: "nobody".into(),
            uid: 65534,
            gid: 65534,
            switched_user: true,
            capabilities: vec!["CAP_NET_RAW".into()],
            no_new_privs: true,
        };
        assert_eq!(
            p.to_string(),
            "user nobody (uid 65534, gid 65534), capabilities CAP_NET_RAW, no_new_privs"
        );
    }

    #[test]
    fn current_reports_this_process() {
        let p = current().unwrap();
        assert_eq!(p.uid, Uid::effective().as_raw());
    }
}
