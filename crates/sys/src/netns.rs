//! Network namespaces for tests and the testbed.
//!
//! A network namespace change applies to the **calling thread** only, and tests run as
//! threads of one process: change namespaces on a dedicated thread ([`in_new_netns`],
//! [`in_named_netns`]) or in a child process. Sockets keep the namespace they were created
//! in, so a socket opened inside a namespace can be used from any thread afterwards.
//! Processes spawned from a thread start in that thread's namespace, so `ip` commands run
//! from inside [`in_new_netns`] configure the new namespace.
//!
//! All of this needs root (`CAP_SYS_ADMIN`).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sched::CloneFlags;

use crate::error::{Error, Result};

/// Where `ip netns` keeps named namespaces.
pub const NETNS_DIR: &str = "/var/run/netns";

/// Moves the calling thread into a new, empty network namespace (only a `lo`, down).
pub fn unshare_net() -> Result<()> {
    nix::sched::unshare(CloneFlags::CLONE_NEWNET).map_err(|e| Error::Namespace {
        call: "unshare(CLONE_NEWNET)",
        target: "a new namespace".to_owned(),
        source: e.into(),
    })
}

/// Moves the calling thread into the named namespace (`/var/run/netns/NAME`, as made by
/// `ip netns add NAME`).
pub fn enter(name: &str) -> Result<()> {
    enter_path(&Path::new(NETNS_DIR).join(name))
}

/// Moves the calling thread into the network namespace at `path` (a bind mount such as
/// `/var/run/netns/NAME`, or `/proc/PID/ns/net`).
pub fn enter_path(path: &Path) -> Result<()> {
    let err = |call, e: io::Error| Error::Namespace {
        call,
        target: path.display().to_string(),
        source: e,
    };
    let file = File::open(path).map_err(|e| err("open", e))?;
    nix::sched::setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| err("setns", e.into()))
}

/// Runs `f` on a new thread inside a fresh network namespace whose `lo` is up, and returns
/// its result. A panic in `f` is passed on to the caller.
pub fn in_new_netns<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    on_thread(move || {
        unshare_net()?;
        loopback_up()?;
        Ok(f())
    })
}

/// Runs `f` on a new thread inside the named namespace, and returns its result. A panic in
/// `f` is passed on to the caller.
pub fn in_named_netns<T, F>(name: &str, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let name = name.to_owned();
    on_thread(move || {
        enter(&name)?;
        Ok(f())
    })
}

fn on_thread<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match std::thread::Builder::new()
        .name("vantage-netns".to_owned())
        .spawn(f)
    {
        Ok(handle) => handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        Err(e) => Err(Error::Namespace {
            call: "spawning a thread for",
            target: "a namespace".to_owned(),
            source: e,
        }),
    }
}

/// Brings `lo` up in the calling thread's namespace (`ip link set lo up`).
pub fn loopback_up() -> Result<()> {
    run_ip(None, &["link", "set", "lo", "up"])
}

/// Runs `ip ARGS...` (iproute2), or `ip -n NAME ARGS...` with a namespace name, and fails
/// with its error output if it fails.
pub fn run_ip(netns: Option<&str>, args: &[&str]) -> Result<()> {
    let mut cmd = Command::new("ip");
    if let Some(name) = netns {
        cmd.args(["-n", name]);
    }
    cmd.args(args);
    let line = format!("ip {}", args.join(" "));
    let out = cmd.output().map_err(|e| Error::Namespace {
        call: "running",
        target: line.clone(),
        source: io::Error::new(e.kind(), format!("{e} (is iproute2 installed?)")),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Namespace {
            call: "running",
            target: match netns {
                Some(n) => format!("{line} in netns {n}"),
                None => line,
            },
            source: io::Error::other(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
        })
    }
}

/// A named network namespace that exists as long as this value: made with `ip netns add`,
/// removed with `ip netns del` when dropped (also when a test panics).
#[derive(Debug)]
pub struct NamedNetns {
    name: String,
}

impl NamedNetns {
    /// Creates the namespace `name` and brings its `lo` up.
    pub fn create(name: &str) -> Result<Self> {
        run_ip(None, &["netns", "add", name])?;
        let ns = Self {
            name: name.to_owned(),
        };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its path, for [`enter_path`].
    pub fn path(&self) -> PathBuf {
        Path::new(NETNS_DIR).join(&self.name)
    }

    /// Runs `ip -n NAME ARGS...`.
    pub fn ip(&self, args: &[&str]) -> Result<()> {
        run_ip(Some(&self.name), args)
    }

    /// Runs `f` on a new thread inside this namespace.
    pub fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        in_named_netns(&self.name, f)
    }

    /// Sets a sysctl inside the namespace (`key` as in `net.ipv4.ip_forward`).
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        let value = value.to_owned();
        self.run(move || std::fs::write(&path, value).map_err(|e| (path, e)))?
            .map_err(|(path, e)| Error::Namespace {
                call: "writing",
                target: path.display().to_string(),
                source: e,
            })
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        // Best effort: nothing useful can be done with a failure while dropping.
        let _ = run_ip(None, &["netns", "del", &self.name]);
    }
}
