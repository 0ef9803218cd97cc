//! Processes started inside a node, and the guard that kills them.

use std::io;
use std::process::{Child, ExitStatus, Output};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// What a command run with [`crate::Topology::exec`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its standard output (lossy UTF-8).
    pub stdout: String,
    /// Its standard error (lossy UTF-8).
    pub stderr: String,
}

impl CommandOutput {
    /// True when it exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    pub(crate) fn from_output(out: &Output) -> Self {
        Self {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A long-running process inside a node, in its own process group. Dropping the guard
/// kills the whole group (SIGKILL) and reaps the process; [`ProcessGuard::stop`] asks
/// politely first and returns what it printed.
#[derive(Debug)]
pub struct ProcessGuard {
    child: Option<Child>,
    command: String,
}

impl ProcessGuard {
    pub(crate) fn new(child: Child, command: String) -> Self {
        Self {
            child: Some(child),
            command,
        }
    }

    /// The process id (also its process group id).
    pub fn id(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The command line it was started with.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The process, e.g. to take its piped stdout.
    pub fn child_mut(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    /// Its exit status if it has exited, without waiting.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            Some(c) => c.try_wait(),
            None => Ok(None),
        }
    }

    fn signal(&self, sig: Signal) {
        if let Some(c) = &self.child
            && let Ok(pid) = i32::try_from(c.id())
        {
            // ESRCH: the group is gone already.
            let _ = killpg(Pid::from_raw(pid), sig);
        }
    }

    /// Sends SIGTERM to the process group, waits up to `grace` for the process to exit,
    /// then SIGKILLs the group; returns its status and what it printed (if piped).
    pub fn stop(mut self, grace: Duration) -> io::Result<CommandOutput> {
        self.signal(Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.try_wait()?.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.signal(Signal::SIGKILL);
        let child = self
            .child
            .take()
            .ok_or_else(|| io::Error::other("process already reaped"))?;
        Ok(CommandOutput::from_output(&child.wait_with_output()?))
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }
}
