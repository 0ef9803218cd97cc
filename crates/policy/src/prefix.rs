//! IP prefixes (`10.0.0.0/8`, `2001:db8::/32`) as written in policy files and do-not-probe lists.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a text is not a prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// The address part is not an IPv4 or IPv6 literal.
    #[error("`{0}` is not an IP address or prefix (write e.g. 192.0.2.0/24 or 2001:db8::/32)")]
    Address(String),
    /// The length part is not a number within the family's width.
    #[error("`{text}` has a bad prefix length (0 to {max} for this address family)")]
    Length {
        /// The whole text.
        text: String,
        /// The family's width: 32 or 128.
        max: u8,
    },
    /// Bits below the prefix length are set.
    #[error("`{text}` has bits set after the prefix length (did you mean {fixed}?)")]
    HostBits {
        /// The whole text.
        text: String,
        /// The prefix with those bits cleared.
        fixed: Prefix,
    },
}

/// An IPv4 or IPv6 network: an address whose bits after `len` are all zero, and a length.
///
/// Written `ADDR/LEN`; a bare address means the host prefix (`/32` or `/128`). Text with bits
/// set after the length (`10.0.0.1/8`) is refused rather than silently widened or narrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// The network `addr/len`, with the bits after `len` cleared. `None` when `len` exceeds
    /// the family's width.
    pub fn new(addr: IpAddr, len: u8) -> Option<Prefix> {
        match addr {
            IpAddr::V4(a) if len <= 32 => Some(Prefix::v4(a.octets(), len)),
            IpAddr::V6(a) if len <= 128 => Some(Prefix::v6(a.segments(), len)),
            _ => None,
        }
    }

    /// An IPv4 network from its four bytes; bits after `len` are cleared and `len` is capped
    /// at 32.
    pub const fn v4(octets: [u8; 4], len: u8) -> Prefix {
        let len = if len > 32 { 32 } else { len };
        let bits = u32::from_be_bytes(octets) & mask32(len);
        Prefix {
            addr: IpAddr::V4(Ipv4Addr::from_bits(bits)),
            len,
        }
    }

    /// An IPv6 network from its eight 16-bit groups; bits after `len` are cleared and `len`
    /// is capped at 128.
    pub const fn v6(segments: [u16; 8], len: u8) -> Prefix {
        let len = if len > 128 { 128 } else { len };
        let s = segments;
        let bits =
            Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]).to_bits() & mask128(len);
        Prefix {
            addr: IpAddr::V6(Ipv6Addr::from_bits(bits)),
            len,
        }
    }

    /// The prefix holding exactly `addr`.
    pub fn host(addr: IpAddr) -> Prefix {
        match addr {
            IpAddr::V4(a) => Prefix::v4(a.octets(), 32),
            IpAddr::V6(a) => Prefix::v6(a.segments(), 128),
        }
    }

    /// The network address (host bits zero).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn len(&self) -> u8 {
        self.len
    }

    /// Whether this is the whole address family (`/0`).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether this is an IPv4 prefix.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// Whether `addr` is inside this network (never across families).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(n), IpAddr::V4(a)) => a.to_bits() & mask32(self.len) == n.to_bits(),
            (IpAddr::V6(n), IpAddr::V6(a)) => a.to_bits() & mask128(self.len) == n.to_bits(),
            _ => false,
        }
    }

    /// Whether `other` lies entirely inside this network.
    pub fn covers(&self, other: &Prefix) -> bool {
        other.len >= self.len && self.contains(other.addr)
    }

    /// The first and last address of the network as integers of the family's width (IPv4 in
    /// the low 32 bits).
    pub(crate) fn bounds(&self) -> (u128, u128) {
        match self.addr {
            IpAddr::V4(a) => {
                let first = a.to_bits();
                (u128::from(first), u128::from(first | !mask32(self.len)))
            }
            IpAddr::V6(a) => {
                let first = a.to_bits();
                (first, first | !mask128(self.len))
            }
        }
    }
}

const fn mask32(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - len) }
}

const fn mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (addr_text, len_text) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let addr: IpAddr = addr_text
            .parse()
            .map_err(|_| PrefixError::Address(text.to_owned()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len_text {
            None => max,
            Some(l) if !l.is_empty() && l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit()) => {
                match l.parse::<u8>() {
                    Ok(n) if n <= max => n,
                    _ => {
                        return Err(PrefixError::Length {
                            text: text.to_owned(),
                            max,
                        });
                    }
                }
            }
            Some(_) => {
                return Err(PrefixError::Length {
                    text: text.to_owned(),
                    max,
                });
            }
        };
        let fixed = Prefix::host(addr);
        let fixed = Prefix::new(fixed.addr, len).unwrap_or(fixed);
        if fixed.addr != addr {
            return Err(PrefixError::HostBits {
                text: text.to_owned(),
                fixed,
            });
        }
        Ok(fixed)
    }
}

impl Serialize for Prefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Prefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Prefix;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an IP prefix as a string, such as \"192.0.2.0/24\" or \"2001:db8::/32\"",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Prefix, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(p("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(p("192.0.2.7").to_string(), "192.0.2.7/32");
        assert_eq!(p("2001:db8::/32").to_string(), "2001:db8::/32");
        assert_eq!(p("::1").to_string(), "::1/128");
        assert_eq!(p("0.0.0.0/0").len(), 0);
    }

    #[test]
    fn refusals() {
        let e = "10.0.0.1/8".parse::<Prefix>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "`10.0.0.1/8` has bits set after the prefix length (did you mean 10.0.0.0/8?)"
        );
        assert!(matches!(
            "10.0.0.0/33".parse::<Prefix>(),
            Err(PrefixError::Length { max: 32, .. })
        ));
        assert!(matches!(
            "fd00::/129".parse::<Prefix>(),
            Err(PrefixError::Length { max: 128, .. })
        ));
        for bad in [
            "",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/ 8",
            "host/8",
            "10.0.0.0/0008",
        ] {
            assert!(bad.parse::<Prefix>().is_err(), "{bad}");
        }
    }

    #[test]
    fn containment() {
        let net = p("10.0.0.0/8");
        assert!(net.contains("10.255.0.1".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(!net.contains("::a00:1".parse().unwrap()));
        assert!(net.covers(&p("10.1.0.0/16")));
        assert!(!p("10.1.0.0/16").covers(&net));
        assert!(p("::/0").contains("2001:db8::1".parse().unwrap()));
        assert_eq!(p("10.0.0.0/8").bounds(), (0x0a00_0000, 0x0aff_ffff));
        assert_eq!(p("::/0").bounds(), (0, u128::MAX));
    }

    proptest! {
        #[test]
        fn round_trip_v4(bits: u32, len in 0u8..=32) {
            let net = Prefix::v4(bits.to_be_bytes(), len);
            prop_assert_eq!(net.to_string().parse::<Prefix>().unwrap(), net);
            prop_assert!(net.contains(net.addr()));
        }

        #[test]
        fn round_trip_v6(bits: u128, len in 0u8..=128) {
            let a = Ipv6Addr::from_bits(bits);
            let net = Prefix::v6(a.segments(), len);
            prop_assert_eq!(net.to_string().parse::<Prefix>().unwrap(), net);
            prop_assert!(net.contains(IpAddr::V6(a)));
        }
    }
}
