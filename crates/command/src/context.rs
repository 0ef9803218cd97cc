//! What a parse needs from the prober it runs in, and the values that depend on it.

use std::net::IpAddr;

/// Facts about the prober that some defaults depend on. Passing them in keeps parsing
/// deterministic: tests choose a process id instead of inheriting one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Context {
    /// The prober's process id. The default source port is `(pid & 0xffff) | 0x8000` and the
    /// default ICMP identifier is `pid & 0xffff`.
    pub pid: u32,
    /// The nameserver `host` queries when the command gives no `-s` (from the prober's
    /// configuration or `/etc/resolv.conf`). Without one, `host` needs `-s`.
    pub nameserver: Option<IpAddr>,
    /// Whether the prober can speak TLS (`http` with an `https://` URL needs it).
    pub tls: bool,
}

impl Context {
    /// A context for a prober with process id `pid`, no default nameserver, TLS available.
    pub fn new(pid: u32) -> Self {
        Context {
            pid,
            nameserver: None,
            tls: true,
        }
    }

    /// The same context with a default nameserver for `host`.
    #[must_use]
    pub fn with_nameserver(mut self, nameserver: Option<IpAddr>) -> Self {
        self.nameserver = nameserver;
        self
    }

    /// The same context with TLS available or not.
    #[must_use]
    pub fn with_tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// The default source port: `(pid & 0xffff) | 0x8000`.
    pub fn default_sport(&self) -> u16 {
        (self.pid & 0xffff) as u16 | 0x8000
    }

    /// The low 16 bits of the process id, the default ICMP identifier.
    pub fn pid16(&self) -> u16 {
        (self.pid & 0xffff) as u16
    }
}

/// A value that was either given on the command line or filled in from the [`Context`].
///
/// Only values that depend on the context use this, so that a spec written back as a command
/// line ([`crate::Command::to_command_string`]) leaves them to the prober that runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setting<T> {
    /// Filled in from the context because the command did not say.
    Default(T),
    /// Given explicitly on the command line.
    Given(T),
}

impl<T: Copy> Setting<T> {
    /// The value, wherever it came from.
    pub fn get(&self) -> T {
        match *self {
            Setting::Default(v) | Setting::Given(v) => v,
        }
    }

    /// Whether the command line gave it.
    pub fn is_given(&self) -> bool {
        matches!(self, Setting::Given(_))
    }

    /// The value if given explicitly.
    pub fn given(&self) -> Option<T> {
        match *self {
            Setting::Given(v) => Some(v),
            Setting::Default(_) => None,
        }
    }
}

/// The place where the probe's policy plugs in: a command is refused with
/// [`crate::CommandError::DoNotProbe`] when it would probe an address the check blocks.
///
/// The policy itself (prefix lists, reloads) lives in the probe; this crate only asks.
pub trait DestinationCheck {
    /// Whether probing `addr` is forbidden.
    fn is_blocked(&self, addr: IpAddr) -> bool;
}

/// A check that blocks nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl DestinationCheck for AllowAll {
    fn is_blocked(&self, _addr: IpAddr) -> bool {
        false
    }
}

impl<F: Fn(IpAddr) -> bool> DestinationCheck for F {
    fn is_blocked(&self, addr: IpAddr) -> bool {
        self(addr)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn derived_ports() {
        let c = Context::new(0x1234_5678);
        assert_eq!(c.pid16(), 0x5678);
        assert_eq!(c.default_sport(), 0xd678);
        assert_eq!(Context::new(1).default_sport(), 0x8001);
    }

    #[test]
    fn settings() {
        assert_eq!(Setting::Default(3).get(), 3);
        assert_eq!(Setting::Given(4).given(), Some(4));
        assert!(Setting::<u8>::Default(4).given().is_none());
        assert!(Setting::Given(1).is_given());
    }
}
