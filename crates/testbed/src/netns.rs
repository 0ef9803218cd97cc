//! Named network namespaces (`ip netns`): create, enter, list by prefix, empty and delete;
//! and running the external tools the testbed drives (`ip`, `iptables-restore`).

use std::ffi::OsStr;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use nix::sched::{CloneFlags, setns};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Where `ip netns` keeps its named namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// Longest topology prefix accepted.
pub const MAX_PREFIX_LEN: usize = 16;

/// Why a namespace or tool operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// A required program is missing.
    #[error("`{tool}` is not installed; install the Debian package `{package}`")]
    ToolMissing {
        /// Program name.
        tool: &'static str,
        /// Debian package that provides it.
        package: &'static str,
    },
    /// A program could not be started.
    #[error("could not run `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The error.
        source: std::io::Error,
    },
    /// A program exited with an error.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on stderr.
        stderr: String,
    },
    /// The namespace file could not be opened or joined.
    #[error("cannot enter network namespace `{name}` ({path}): {reason}")]
    Enter {
        /// Namespace name.
        name: String,
        /// Its file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// Writing a sysctl inside a namespace failed.
    #[error("cannot set sysctl {key}={value} in namespace `{netns}`: {source}")]
    Sysctl {
        /// Namespace name.
        netns: String,
        /// Key, as a path under /proc/sys.
        key: String,
        /// Value written.
        value: String,
        /// The error.
        source: std::io::Error,
    },
    /// Listing `/run/netns` failed.
    #[error("cannot list {NETNS_DIR}: {0}")]
    List(std::io::Error),
    /// A prefix that cannot safely name namespaces.
    #[error(
        "invalid testbed prefix `{0}`: use 1 to {MAX_PREFIX_LEN} characters from a-z, 0-9 and _ \
         (no `-`: it separates the prefix from node names)"
    )]
    BadPrefix(String),
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
}

/// Checks that `prefix` can name a testbed's namespaces (`PREFIX-NODE`).
pub fn check_prefix(prefix: &str) -> Result<(), NetnsError> {
    let ok = !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_LEN
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(NetnsError::BadPrefix(prefix.to_owned()))
    }
}

/// True when the process runs as root (needed to build a testbed).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A prefix no existing namespace uses: `STEM` + process id + a counter, e.g. `vt4242x3`.
/// `stem` should be a few lowercase letters; other characters are dropped and it is cut
/// to 4 characters, so the result always passes [`check_prefix`].
pub fn unique_prefix(stem: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let stem: String = stem
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        .take(4)
        .collect();
    let stem = if stem.is_empty() { "vt".into() } else { stem };
    let pid = std::process::id() % 1_000_000;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed) % 100_000;
        let candidate = format!("{stem}{pid}x{n}");
        let taken = with_prefix(&candidate).is_ok_and(|v| !v.is_empty());
        if !taken {
            return candidate;
        }
    }
}

/// The file of namespace `name`.
pub fn path(name: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(name)
}

/// Names of the existing namespaces that belong to the testbed `prefix` (`PREFIX-*`).
pub fn with_prefix(prefix: &str) -> Result<Vec<String>, NetnsError> {
    let start = format!("{prefix}-");
    let entries = match std::fs::read_dir(NETNS_DIR) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(NetnsError::List(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(NetnsError::List)?;
        if let Some(name) = entry.file_name().to_str()
            && name.starts_with(&start)
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Creates namespace `name` (empty: its loopback is still down).
pub fn create(name: &str) -> Result<(), NetnsError> {
    run_ip(&["netns", "add", name], None)?;
    Ok(())
}

/// Kills every process inside namespace `name` (never this process) and deletes it.
pub fn destroy(name: &str) -> Result<(), NetnsError> {
    kill_all(name)?;
    run_ip(&["netns", "del", name], None)?;
    Ok(())
}

/// Sends SIGKILL to every process whose network namespace is `name`.
pub fn kill_all(name: &str) -> Result<usize, NetnsError> {
    let out = run_ip(&["netns", "pids", name], None)?;
    let me = std::process::id();
    let mut killed = 0;
    for pid in out.split_whitespace().filter_map(|p| p.parse::<u32>().ok()) {
        if pid == me {
            continue;
        }
        if let Ok(raw) = i32::try_from(pid)
            && kill(Pid::from_raw(raw), Signal::SIGKILL).is_ok()
        {
            killed += 1;
        }
    }
    Ok(killed)
}

/// Removes every namespace of testbed `prefix` and the processes in them (for leftovers
/// of a crashed run). Returns how many namespaces were removed.
pub fn down(prefix: &str) -> Result<usize, NetnsError> {
    check_prefix(prefix)?;
    let names = with_prefix(prefix)?;
    let mut first_err = None;
    let mut removed = 0;
    for name in &names {
        match destroy(name) {
            Ok(()) => removed += 1,
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(removed),
    }
}

/// Removes the namespaces left behind by dead processes that named their testbeds with
/// [`unique_prefix`]`(stem)`: those whose prefix is `STEM` + process id + `x` + counter
/// and whose process no longer exists. Testbeds of live processes are never touched, so
/// tests may call this while others run. Returns how many namespaces were removed.
pub fn down_stale(stem: &str) -> Result<usize, NetnsError> {
    let stem: String = stem
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        .take(4)
        .collect();
    let stem = if stem.is_empty() {
        "vt".to_owned()
    } else {
        stem
    };
    let entries = match std::fs::read_dir(NETNS_DIR) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(NetnsError::List(e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(NetnsError::List)?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some(pid) = stale_pid(&name, &stem) else {
            continue;
        };
        if Path::new("/proc").join(pid.to_string()).exists() {
            continue;
        }
        match destroy(&name) {
            Ok(()) => removed += 1,
            // Another cleaner got there first.
            Err(_) if !path(&name).exists() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// The process id in a namespace name made from [`unique_prefix`]`(stem)`, if it is one.
fn stale_pid(name: &str, stem: &str) -> Option<u32> {
    let (prefix, _node) = name.split_once('-')?;
    let rest = prefix.strip_prefix(stem)?;
    let (pid, counter) = rest.split_once('x')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(counter) {
        return None;
    }
    pid.parse().ok()
}

/// Moves the calling thread into namespace `name`. Only ever call this on a thread made
/// for the purpose: the thread stays in the namespace.
pub fn enter(name: &str) -> Result<(), NetnsError> {
    let p = path(name);
    let err = |reason: String| NetnsError::Enter {
        name: name.to_owned(),
        path: p.display().to_string(),
        reason,
    };
    let file = File::open(&p).map_err(|e| err(e.to_string()))?;
    setns(file, CloneFlags::CLONE_NEWNET).map_err(|e| err(format!("setns: {e}")))
}

/// Runs `f` on a new thread inside namespace `name` and returns its result. A panic in
/// `f` is passed on to the caller.
pub fn run_in<T, F>(name: &str, f: F) -> Result<T, NetnsError>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name(format!("in-{name}"))
            .spawn_scoped(s, move || -> Result<T, NetnsError> {
                enter(name)?;
                Ok(f())
            })
            .map_err(NetnsError::Thread)?;
        match handle.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Writes sysctls (`key` is the path under `/proc/sys`, e.g. `net/ipv4/ip_forward`) inside
/// namespace `name`, in order.
pub fn write_sysctls(name: &str, settings: &[(String, String)]) -> Result<(), NetnsError> {
    run_in(name, || {
        for (key, value) in settings {
            let file = Path::new("/proc/sys").join(key);
            std::fs::write(&file, value).map_err(|source| NetnsError::Sysctl {
                netns: name.to_owned(),
                key: key.clone(),
                value: value.clone(),
                source,
            })?;
        }
        Ok(())
    })?
}

/// Searches `PATH` for `tool`.
pub fn find_tool(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .any(|dir| dir.join(tool).is_file())
}

/// Fails with [`NetnsError::ToolMissing`] unless `tool` is installed.
pub fn require_tool(tool: &'static str, package: &'static str) -> Result<(), NetnsError> {
    if find_tool(tool) {
        Ok(())
    } else {
        Err(NetnsError::ToolMissing { tool, package })
    }
}

fn command_line<S: AsRef<OsStr>>(program: &str, args: &[S]) -> String {
    let mut line = program.to_owned();
    for a in args {
        line.push(' ');
        line.push_str(&a.as_ref().to_string_lossy());
    }
    line
}

/// Runs `ip ARGS` (with `stdin` fed in if given) and returns its stdout; fails on a
/// non-zero exit with the command line and stderr in the error.
pub fn run_ip<S: AsRef<OsStr>>(args: &[S], stdin: Option<&str>) -> Result<String, NetnsError> {
    run_tool("ip", "iproute2", args, stdin)
}

/// Runs `program ARGS`, like [`run_ip`]; `package` names the Debian package to suggest
/// when the program is missing.
pub fn run_tool<S: AsRef<OsStr>>(
    program: &'static str,
    package: &'static str,
    args: &[S],
    stdin: Option<&str>,
) -> Result<String, NetnsError> {
    let line = command_line(program, args);
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            NetnsError::ToolMissing {
                tool: program,
                package,
            }
        } else {
            NetnsError::Spawn {
                command: line.clone(),
                source,
            }
        }
    })?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .map_err(|source| NetnsError::Spawn {
                command: line.clone(),
                source,
            })?;
    }
    let out = child
        .wait_with_output()
        .map_err(|source| NetnsError::Spawn {
            command: line.clone(),
            source,
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(NetnsError::Failed {
            command: line,
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert!(check_prefix("vt1").is_ok());
        assert!(check_prefix("a_b9").is_ok());
        assert!(check_prefix("").is_err());
        assert!(check_prefix("a-b").is_err());
        assert!(check_prefix("Ab").is_err());
        assert!(check_prefix("abcdefghijklmnopq").is_err());
        let a = unique_prefix("vt");
        let b = unique_prefix("vt");
        assert_ne!(a, b);
        assert!(check_prefix(&a).is_ok(), "{a}");
        assert!(check_prefix(&unique_prefix("Bad-Stem!")).is_ok());
    }

    #[test]
    fn stale_names() {
        assert_eq!(stale_pid("vt123x4-r1", "vt"), Some(123));
        assert_eq!(stale_pid("vt123x4-r1_b", "vt"), Some(123));
        assert_eq!(stale_pid("vt123x-r1", "vt"), None);
        assert_eq!(stale_pid("vtx4-r1", "vt"), None);
        assert_eq!(stale_pid("demo-r1", "vt"), None);
        assert_eq!(stale_pid("vt123x4", "vt"), None);
        assert_eq!(stale_pid("fig9x0-a", "fig"), Some(9));
    }

    #[test]
    fn command_lines_are_readable() {
        assert_eq!(
            command_line("ip", &["-n", "x-r1", "link"]),
            "ip -n x-r1 link"
        );
    }

    #[test]
    fn missing_tool_is_named() {
        let err = run_tool(
            "vantage-no-such-tool",
            "vantage-no-such-package",
            &["x"],
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("vantage-no-such-package"), "{err}");
        assert!(!find_tool("vantage-no-such-tool"));
    }
}
