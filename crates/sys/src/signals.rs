//! Signal dispositions a daemon needs before its async runtime exists.

use std::io;

/// Makes the process ignore SIGHUP until a handler is installed.
///
/// `vantage probe` reloads its do-not-probe list on SIGHUP, but its handler only exists
/// once the async runtime runs; before that (loading the policy, opening sockets, dropping
/// privileges) the default action would end the probe. Call this first thing: a SIGHUP in
/// that window is then ignored (there is nothing loaded to reload yet), and installing
/// the runtime's handler later replaces the disposition.
///
/// # Errors
/// The kernel refused the change (not expected for SIGHUP).
pub fn ignore_hangup() -> io::Result<()> {
    // SAFETY: `SIG_IGN` installs no handler code, so nothing can run in signal context;
    // `signal` only changes this process's disposition for SIGHUP.
    let previous = unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
    if previous == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangup_is_ignored_after_the_call() {
        ignore_hangup().unwrap();
        // With SIGHUP ignored, raising it must return and leave the process running.
        // SAFETY: raise only delivers a signal to this process, whose disposition is SIG_IGN.
        let rc = unsafe { libc::raise(libc::SIGHUP) };
        assert_eq!(rc, 0);
    }
}
