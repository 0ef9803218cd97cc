//! Addresses as measurements record them: IPv4, IPv6 and link-layer addresses.

use core::fmt;
use core::str::FromStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address seen or used by a measurement.
///
/// The order (derived) is the one scamper and its Python module use: first by
/// kind (IPv4 < IPv6 < Ethernet < Firewire), then numerically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Addr {
    /// An IPv4 address (warts type 1).
    V4(Ipv4Addr),
    /// An IPv6 address (warts type 2).
    V6(Ipv6Addr),
    /// An Ethernet MAC address (warts type 3).
    Ethernet([u8; 6]),
    /// A Firewire (EUI-64) link-layer address (warts type 4).
    Firewire([u8; 8]),
}

/// The kind of an [`Addr`], with the codes warts uses for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddrKind {
    /// IPv4, code 1, 4 bytes.
    V4 = 1,
    /// IPv6, code 2, 16 bytes.
    V6 = 2,
    /// Ethernet, code 3, 6 bytes.
    Ethernet = 3,
    /// Firewire, code 4, 8 bytes.
    Firewire = 4,
}

impl AddrKind {
    /// Maps a warts address type code to a kind.
    #[must_use]
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::V4),
            2 => Some(Self::V6),
            3 => Some(Self::Ethernet),
            4 => Some(Self::Firewire),
            _ => None,
        }
    }

    /// The warts address type code.
    #[must_use]
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The length in bytes of an address of this kind.
    #[must_use]
    pub const fn byte_len(self) -> usize {
        match self {
            Self::V4 => 4,
            Self::V6 => 16,
            Self::Ethernet => 6,
            Self::Firewire => 8,
        }
    }
}

impl Addr {
    /// The kind of this address.
    #[must_use]
    pub const fn kind(&self) -> AddrKind {
        match self {
            Self::V4(_) => AddrKind::V4,
            Self::V6(_) => AddrKind::V6,
            Self::Ethernet(_) => AddrKind::Ethernet,
            Self::Firewire(_) => AddrKind::Firewire,
        }
    }

    /// Builds an address from its kind and raw bytes; `None` if the length is wrong.
    #[must_use]
    pub fn from_bytes(kind: AddrKind, bytes: &[u8]) -> Option<Self> {
        match kind {
            AddrKind::V4 => <[u8; 4]>::try_from(bytes)
                .ok()
                .map(|b| Self::V4(Ipv4Addr::from(b))),
            AddrKind::V6 => <[u8; 16]>::try_from(bytes)
                .ok()
                .map(|b| Self::V6(Ipv6Addr::from(b))),
            AddrKind::Ethernet => <[u8; 6]>::try_from(bytes).ok().map(Self::Ethernet),
            AddrKind::Firewire => <[u8; 8]>::try_from(bytes).ok().map(Self::Firewire),
        }
    }

    /// Copies the raw address bytes into `out` and returns how many were written
    /// (4, 16, 6 or 8; `out` must hold at least 16 bytes).
    pub fn write_bytes(&self, out: &mut [u8; 16]) -> usize {
        match self {
            Self::V4(a) => {
                out[..4].copy_from_slice(&a.octets());
                4
            }
            Self::V6(a) => {
                out.copy_from_slice(&a.octets());
                16
            }
            Self::Ethernet(a) => {
                out[..6].copy_from_slice(a);
                6
            }
            Self::Firewire(a) => {
                out[..8].copy_from_slice(a);
                8
            }
        }
    }

    /// Whether this is an IPv4 address.
    #[must_use]
    pub const fn is_ipv4(&self) -> bool {
        matches!(self, Self::V4(_))
    }

    /// Whether this is an IPv6 address.
    #[must_use]
    pub const fn is_ipv6(&self) -> bool {
        matches!(self, Self::V6(_))
    }

    /// The IP address, if this is one.
    #[must_use]
    pub const fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::V4(a) => Some(IpAddr::V4(*a)),
            Self::V6(a) => Some(IpAddr::V6(*a)),
            _ => None,
        }
    }
}

impl From<Ipv4Addr> for Addr {
    fn from(a: Ipv4Addr) -> Self {
        Self::V4(a)
    }
}

impl From<Ipv6Addr> for Addr {
    fn from(a: Ipv6Addr) -> Self {
        Self::V6(a)
    }
}

impl From<IpAddr> for Addr {
    fn from(a: IpAddr) -> Self {
        match a {
            IpAddr::V4(a) => Self::V4(a),
            IpAddr::V6(a) => Self::V6(a),
        }
    }
}

fn write_hex_octets(f: &mut fmt::Formatter<'_>, octets: &[u8]) -> fmt::Result {
    for (i, b) in octets.iter().enumerate() {
        if i > 0 {
            f.write_str(":")?;
        }
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

impl fmt::Display for Addr {
    /// IPv4 dotted quad, IPv6 canonical (RFC 5952) text, link-layer addresses
    /// as lower-case colon-separated octets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(a) => fmt::Display::fmt(a, f),
            Self::V6(a) => fmt::Display::fmt(a, f),
            Self::Ethernet(a) => write_hex_octets(f, a),
            Self::Firewire(a) => write_hex_octets(f, a),
        }
    }
}

/// The text given to [`Addr::from_str`] is not an address.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid address {0:?}: expected IPv4, IPv6 or a colon-separated MAC address")]
pub struct AddrParseError(pub String);

impl FromStr for Addr {
    type Err = AddrParseError;

    /// Parses an IPv4 or IPv6 address, or a MAC address `aa:bb:cc:dd:ee:ff`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(ip.into());
        }
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() == 6 || parts.len() == 8 {
            let mut bytes = [0u8; 8];
            for (i, p) in parts.iter().enumerate() {
                if p.is_empty() || p.len() > 2 {
                    return Err(AddrParseError(s.to_owned()));
                }
                bytes[i] = u8::from_str_radix(p, 16).map_err(|_| AddrParseError(s.to_owned()))?;
            }
            if parts.len() == 6 {
                let mut mac = [0u8; 6];
                mac.copy_from_slice(&bytes[..6]);
                return Ok(Self::Ethernet(mac));
            }
            return Ok(Self::Firewire(bytes));
        }
        Err(AddrParseError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_kind_then_value() {
        let mut v: Vec<Addr> = ["::1", "10.0.0.2", "aa:bb:cc:dd:ee:ff", "10.0.0.1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        v.sort();
        let text: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["10.0.0.1", "10.0.0.2", "::1", "aa:bb:cc:dd:ee:ff"]);
    }

    #[test]
    fn bytes_round_trip_and_length_check() {
        let a: Addr = "2001:db8::1".parse().unwrap();
        let mut buf = [0u8; 16];
        let n = a.write_bytes(&mut buf);
        assert_eq!(Addr::from_bytes(a.kind(), &buf[..n]), Some(a));
        assert_eq!(Addr::from_bytes(AddrKind::V4, &buf[..5]), None);
        assert!("not-an-address".parse::<Addr>().is_err());
    }
}
