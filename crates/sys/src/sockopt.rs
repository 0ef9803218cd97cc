//! The few `setsockopt`/`getsockopt` calls that neither socket2 nor nix wrap safely
//! (`SO_RCVBUFFORCE`, `SO_RXQ_OVFL`, `IP_RECVTTL`, `IPV6_FLOWINFO`, `ICMP_FILTER`, ...).

use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd};

/// Sets an `int`-valued socket option.
pub(crate) fn set_int(fd: impl AsFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    set_bytes(fd, level, name, &value.to_ne_bytes())
}

/// Reads an `int`-valued socket option.
pub(crate) fn get_int(fd: impl AsFd, level: i32, name: i32) -> io::Result<i32> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live locals; the kernel writes at most `len` (4) bytes
    // into `value` and updates `len`. The descriptor is borrowed, so it is open.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_fd().as_raw_fd(),
            level,
            name,
            (&raw mut value).cast(),
            &raw mut len,
        )
    };
    if rc == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads a socket option into `buf`; returns how many bytes the kernel wrote.
pub(crate) fn get_bytes(fd: impl AsFd, level: i32, name: i32, buf: &mut [u8]) -> io::Result<usize> {
    let mut len = libc::socklen_t::try_from(buf.len())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: the kernel writes at most `len` bytes into `buf`, a live exclusive slice of
    // that length, and stores the written length in `len`. The descriptor is borrowed.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_fd().as_raw_fd(),
            level,
            name,
            buf.as_mut_ptr().cast(),
            &raw mut len,
        )
    };
    if rc == 0 {
        Ok((len as usize).min(buf.len()))
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets a socket option whose value is a plain byte buffer (ints, filters).
pub(crate) fn set_bytes(fd: impl AsFd, level: i32, name: i32, value: &[u8]) -> io::Result<()> {
    let len = libc::socklen_t::try_from(value.len())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: the kernel reads exactly `len` bytes from `value`, which is a live slice of that
    // length; it keeps no reference after the call. The descriptor is borrowed, so it is open.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_fd().as_raw_fd(),
            level,
            name,
            value.as_ptr().cast(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
