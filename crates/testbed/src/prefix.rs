//! IP prefixes (`10.0.3.0/24`, `fd00:0:3::/64`) and the testbed's address plan.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Why a text or a value is not a valid prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// The text has no `/` separating address and length.
    #[error("prefix `{0}` has no `/LEN` part (write e.g. 10.0.0.0/24 or fd00::/64)")]
    MissingLength(String),
    /// The address part does not parse.
    #[error("prefix `{0}`: the address part is not an IPv4 or IPv6 address")]
    BadAddress(String),
    /// The length part does not parse or is too long for the family.
    #[error("prefix `{text}`: length must be 0..={max} for this address family")]
    BadLength {
        /// The text that was parsed.
        text: String,
        /// The largest length of the address family.
        max: u8,
    },
    /// The address has bits set beyond the prefix length.
    #[error("prefix `{0}` has host bits set (did you mean its network address?)")]
    HostBitsSet(String),
}

/// An IPv4 or IPv6 network prefix: a network address and a length, host bits clear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpPrefix {
    addr: IpAddr,
    len: u8,
}

impl IpPrefix {
    /// The IPv4 default route, `0.0.0.0/0`.
    pub const DEFAULT_V4: Self = Self {
        addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        len: 0,
    };
    /// The IPv6 default route, `::/0`.
    pub const DEFAULT_V6: Self = Self {
        addr: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        len: 0,
    };

    /// A prefix from a network address and a length; fails when the length is too long
    /// for the family or the address has host bits set.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, PrefixError> {
        let max = max_len(addr);
        if len > max {
            return Err(PrefixError::BadLength {
                text: format!("{addr}/{len}"),
                max,
            });
        }
        let prefix = Self { addr, len };
        if prefix.network_bits() != addr_bits(addr) {
            return Err(PrefixError::HostBitsSet(format!("{addr}/{len}")));
        }
        Ok(prefix)
    }

    /// The prefix that contains `addr`, with host bits cleared.
    pub fn containing(addr: IpAddr, len: u8) -> Result<Self, PrefixError> {
        let max = max_len(addr);
        if len > max {
            return Err(PrefixError::BadLength {
                text: format!("{addr}/{len}"),
                max,
            });
        }
        let bits = addr_bits(addr) & mask(len, max);
        Ok(Self {
            addr: bits_addr(addr, bits),
            len,
        })
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// True for the default route of either family (length 0).
    pub fn is_default(&self) -> bool {
        self.len == 0
    }

    /// True for an IPv4 prefix.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// True when `addr` is inside this prefix (and of the same family).
    pub fn contains(&self, addr: IpAddr) -> bool {
        addr.is_ipv4() == self.addr.is_ipv4()
            && addr_bits(addr) & mask(self.len, max_len(addr)) == addr_bits(self.addr)
    }

    /// The address `n` positions after the network address, if it stays inside the prefix.
    pub fn host(&self, n: u128) -> Option<IpAddr> {
        let max = max_len(self.addr);
        let span_bits = u32::from(max - self.len);
        if span_bits < 128 && n >> span_bits != 0 {
            return None;
        }
        Some(bits_addr(self.addr, addr_bits(self.addr) | n))
    }

    fn network_bits(&self) -> u128 {
        addr_bits(self.addr) & mask(self.len, max_len(self.addr))
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for IpPrefix {
    type Err = PrefixError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (addr, len) = text
            .split_once('/')
            .ok_or_else(|| PrefixError::MissingLength(text.to_owned()))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| PrefixError::BadAddress(text.to_owned()))?;
        let len: u8 = len.parse().map_err(|_| PrefixError::BadLength {
            text: text.to_owned(),
            max: max_len(addr),
        })?;
        Self::new(addr, len).map_err(|err| match err {
            PrefixError::HostBitsSet(_) => PrefixError::HostBitsSet(text.to_owned()),
            PrefixError::BadLength { max, .. } => PrefixError::BadLength {
                text: text.to_owned(),
                max,
            },
            other => other,
        })
    }
}

fn max_len(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

fn addr_bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn bits_addr(family: IpAddr, bits: u128) -> IpAddr {
    match family {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(bits as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(bits)),
    }
}

fn mask(len: u8, max: u8) -> u128 {
    let full: u128 = if max == 128 {
        u128::MAX
    } else {
        (1u128 << max) - 1
    };
    if len == 0 {
        0
    } else {
        full & !((1u128 << (max - len)) - 1)
    }
}

/// The automatic address plan: link number `index` (0-based, in the order links were added)
/// gets `10.H.L.0/24` and `fd00:0:INDEX::/64`, where `H.L` is `index` as two bytes.
/// The link's first node gets host 1 (`10.H.L.1`, `fd00:0:INDEX::1`), the second host 2.
pub fn link_prefixes(index: u16) -> (IpPrefix, IpPrefix) {
    let [hi, lo] = index.to_be_bytes();
    let v4 = IpPrefix {
        addr: IpAddr::V4(Ipv4Addr::new(10, hi, lo, 0)),
        len: 24,
    };
    let v6 = IpPrefix {
        addr: IpAddr::V6(Ipv6Addr::new(0xfd00, 0, index, 0, 0, 0, 0, 0)),
        len: 64,
    };
    (v4, v6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints() {
        let p: IpPrefix = "10.0.3.0/24".parse().unwrap();
        assert_eq!(p.to_string(), "10.0.3.0/24");
        assert!(p.is_ipv4());
        assert_eq!(p.prefix_len(), 24);
        let p: IpPrefix = "fd00:0:3::/64".parse().unwrap();
        assert_eq!(p.to_string(), "fd00:0:3::/64");
        assert_eq!(
            "0.0.0.0/0".parse::<IpPrefix>().unwrap(),
            IpPrefix::DEFAULT_V4
        );
        assert_eq!("::/0".parse::<IpPrefix>().unwrap(), IpPrefix::DEFAULT_V6);
        assert!(IpPrefix::DEFAULT_V6.is_default());
    }

    #[test]
    fn rejects_bad_text() {
        assert!(matches!(
            "10.0.0.0".parse::<IpPrefix>(),
            Err(PrefixError::MissingLength(_))
        ));
        assert!(matches!(
            "10.0.0.300/24".parse::<IpPrefix>(),
            Err(PrefixError::BadAddress(_))
        ));
        assert!(matches!(
            "10.0.0.0/33".parse::<IpPrefix>(),
            Err(PrefixError::BadLength { max: 32, .. })
        ));
        assert!(matches!(
            "fd00::/129".parse::<IpPrefix>(),
            Err(PrefixError::BadLength { max: 128, .. })
        ));
        assert!(matches!(
            "10.0.0.1/24".parse::<IpPrefix>(),
            Err(PrefixError::HostBitsSet(_))
        ));
        assert!(matches!(
            "10.0.0.0/x".parse::<IpPrefix>(),
            Err(PrefixError::BadLength { .. })
        ));
    }

    #[test]
    fn contains_and_hosts() {
        let p: IpPrefix = "10.0.3.0/24".parse().unwrap();
        assert!(p.contains("10.0.3.77".parse().unwrap()));
        assert!(!p.contains("10.0.4.1".parse().unwrap()));
        assert!(!p.contains("fd00::1".parse().unwrap()));
        assert_eq!(p.host(1), Some("10.0.3.1".parse().unwrap()));
        assert_eq!(p.host(255), Some("10.0.3.255".parse().unwrap()));
        assert_eq!(p.host(256), None);
        let p6: IpPrefix = "fd00:0:3::/64".parse().unwrap();
        assert_eq!(p6.host(2), Some("fd00:0:3::2".parse().unwrap()));
        assert!(IpPrefix::DEFAULT_V6.contains("fd00::1".parse().unwrap()));
        assert_eq!(
            IpPrefix::containing("10.1.2.3".parse().unwrap(), 16).unwrap(),
            "10.1.0.0/16".parse().unwrap()
        );
        let full: IpPrefix = "fd00::1/128".parse().unwrap();
        assert_eq!(full.host(0), Some("fd00::1".parse().unwrap()));
        assert_eq!(full.host(1), None);
    }

    #[test]
    fn address_plan() {
        let (v4, v6) = link_prefixes(0);
        assert_eq!(v4.to_string(), "10.0.0.0/24");
        assert_eq!(v6.to_string(), "fd00::/64");
        let (v4, v6) = link_prefixes(3);
        assert_eq!(v4.to_string(), "10.0.3.0/24");
        assert_eq!(v6.to_string(), "fd00:0:3::/64");
        let (v4, v6) = link_prefixes(0x1_02);
        assert_eq!(v4.to_string(), "10.1.2.0/24");
        assert_eq!(v6.to_string(), "fd00:0:102::/64");
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(bits in any::<u128>(), len in 0u8..=128, v4 in any::<bool>()) {
            let addr = if v4 {
                IpAddr::V4(Ipv4Addr::from(bits as u32))
            } else {
                IpAddr::V6(Ipv6Addr::from(bits))
            };
            let len = len.min(max_len(addr));
            let prefix = IpPrefix::containing(addr, len).unwrap();
            prop_assert!(prefix.contains(addr));
            let back: IpPrefix = prefix.to_string().parse().unwrap();
            prop_assert_eq!(back, prefix);
        }
    }
}
