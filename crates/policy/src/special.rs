//! The built-in deny list: special-purpose address space that a vantage point never probes
//! unless its policy names the space explicitly in `destinations.allow`.
//!
//! Drawn from the IANA IPv4 and IPv6 Special-Purpose Address Registries (the blocks that are
//! not globally reachable, plus deprecated ones), the IANA multicast registries, and, for
//! IPv6, all space outside global unicast `2000::/3`, which IANA holds as reserved.

use serde::Serialize;

use crate::prefix::Prefix;

/// What kind of special-purpose space a default-deny block is; explanations group by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// RFC 1918 and IPv6 unique-local space.
    Private,
    /// Carrier-grade NAT shared space (RFC 6598).
    SharedCgn,
    /// Loopback.
    Loopback,
    /// Link-local.
    LinkLocal,
    /// "This network" and the unspecified address.
    ThisNetwork,
    /// Multicast.
    Multicast,
    /// Limited broadcast.
    Broadcast,
    /// Documentation examples.
    Documentation,
    /// Benchmarking.
    Benchmarking,
    /// IETF protocol assignments and other special uses.
    Protocol,
    /// Addresses that embed IPv4 addresses for translation.
    Translation,
    /// Deprecated blocks.
    Deprecated,
    /// Reserved for future use.
    Reserved,
}

impl Category {
    /// Every category, in the order explanations list them.
    pub const ALL: [Category; 13] = [
        Category::Private,
        Category::SharedCgn,
        Category::Loopback,
        Category::LinkLocal,
        Category::ThisNetwork,
        Category::Multicast,
        Category::Broadcast,
        Category::Documentation,
        Category::Benchmarking,
        Category::Protocol,
        Category::Translation,
        Category::Deprecated,
        Category::Reserved,
    ];

    /// A plain-language name for a host reading an explanation.
    pub fn describe(self) -> &'static str {
        match self {
            Category::Private => "private networks",
            Category::SharedCgn => "carrier-grade NAT space",
            Category::Loopback => "loopback",
            Category::LinkLocal => "link-local addresses",
            Category::ThisNetwork => "\"this network\" and unspecified addresses",
            Category::Multicast => "multicast groups",
            Category::Broadcast => "broadcast",
            Category::Documentation => "documentation examples",
            Category::Benchmarking => "benchmarking networks",
            Category::Protocol => "IETF protocol assignments",
            Category::Translation => "IPv4-embedding translation prefixes",
            Category::Deprecated => "deprecated special-purpose blocks",
            Category::Reserved => "reserved (unallocated) space",
        }
    }
}

/// One block of the built-in deny list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SpecialBlock {
    /// The block.
    pub prefix: Prefix,
    /// Its kind.
    pub category: Category,
    /// The registry entry's name.
    pub name: &'static str,
    /// The RFC that defines it.
    pub rfc: &'static str,
}

const fn v4(
    o: [u8; 4],
    len: u8,
    category: Category,
    name: &'static str,
    rfc: &'static str,
) -> SpecialBlock {
    SpecialBlock {
        prefix: Prefix::v4(o, len),
        category,
        name,
        rfc,
    }
}

const fn v6(
    s: [u16; 8],
    len: u8,
    category: Category,
    name: &'static str,
    rfc: &'static str,
) -> SpecialBlock {
    SpecialBlock {
        prefix: Prefix::v6(s, len),
        category,
        name,
        rfc,
    }
}

use Category as C;

/// The built-in deny list, IPv4 first. The most specific block holding an address is the one
/// reported and the one an allow entry must lie inside to lift the denial.
pub const DEFAULT_DENY: &[SpecialBlock] = &[
    v4([0, 0, 0, 0], 8, C::ThisNetwork, "this network", "RFC 791"),
    v4([10, 0, 0, 0], 8, C::Private, "private-use", "RFC 1918"),
    v4(
        [100, 64, 0, 0],
        10,
        C::SharedCgn,
        "shared address space",
        "RFC 6598",
    ),
    v4([127, 0, 0, 0], 8, C::Loopback, "loopback", "RFC 1122"),
    v4([169, 254, 0, 0], 16, C::LinkLocal, "link-local", "RFC 3927"),
    v4([172, 16, 0, 0], 12, C::Private, "private-use", "RFC 1918"),
    v4(
        [192, 0, 0, 0],
        24,
        C::Protocol,
        "IETF protocol assignments",
        "RFC 6890",
    ),
    v4(
        [192, 0, 2, 0],
        24,
        C::Documentation,
        "documentation (TEST-NET-1)",
        "RFC 5737",
    ),
    v4(
        [192, 88, 99, 0],
        24,
        C::Deprecated,
        "6to4 relay anycast",
        "RFC 7526",
    ),
    v4([192, 168, 0, 0], 16, C::Private, "private-use", "RFC 1918"),
    v4(
        [198, 18, 0, 0],
        15,
        C::Benchmarking,
        "benchmarking",
        "RFC 2544",
    ),
    v4(
        [198, 51, 100, 0],
        24,
        C::Documentation,
        "documentation (TEST-NET-2)",
        "RFC 5737",
    ),
    v4(
        [203, 0, 113, 0],
        24,
        C::Documentation,
        "documentation (TEST-NET-3)",
        "RFC 5737",
    ),
    v4([224, 0, 0, 0], 4, C::Multicast, "multicast", "RFC 5771"),
    v4([240, 0, 0, 0], 4, C::Reserved, "reserved", "RFC 1112"),
    v4(
        [255, 255, 255, 255],
        32,
        C::Broadcast,
        "limited broadcast",
        "RFC 919",
    ),
    v6(
        [0, 0, 0, 0, 0, 0, 0, 0],
        3,
        C::Reserved,
        "outside global unicast",
        "RFC 4291",
    ),
    v6(
        [0, 0, 0, 0, 0, 0, 0, 0],
        128,
        C::ThisNetwork,
        "unspecified address",
        "RFC 4291",
    ),
    v6(
        [0, 0, 0, 0, 0, 0, 0, 1],
        128,
        C::Loopback,
        "loopback",
        "RFC 4291",
    ),
    v6(
        [0, 0, 0, 0, 0, 0xffff, 0, 0],
        96,
        C::Translation,
        "IPv4-mapped",
        "RFC 4291",
    ),
    v6(
        [0x64, 0xff9b, 0, 0, 0, 0, 0, 0],
        96,
        C::Translation,
        "IPv4-IPv6 translation",
        "RFC 6052",
    ),
    v6(
        [0x64, 0xff9b, 1, 0, 0, 0, 0, 0],
        48,
        C::Translation,
        "local-use IPv4-IPv6 translation",
        "RFC 8215",
    ),
    v6(
        [0x100, 0, 0, 0, 0, 0, 0, 0],
        64,
        C::Protocol,
        "discard-only",
        "RFC 6666",
    ),
    v6(
        [0x2001, 2, 0, 0, 0, 0, 0, 0],
        48,
        C::Benchmarking,
        "benchmarking",
        "RFC 5180",
    ),
    v6(
        [0x2001, 0x10, 0, 0, 0, 0, 0, 0],
        28,
        C::Deprecated,
        "ORCHID",
        "RFC 4843",
    ),
    v6(
        [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
        32,
        C::Documentation,
        "documentation",
        "RFC 3849",
    ),
    v6(
        [0x3fff, 0, 0, 0, 0, 0, 0, 0],
        20,
        C::Documentation,
        "documentation",
        "RFC 9637",
    ),
    v6(
        [0x4000, 0, 0, 0, 0, 0, 0, 0],
        2,
        C::Reserved,
        "outside global unicast",
        "RFC 4291",
    ),
    v6(
        [0x8000, 0, 0, 0, 0, 0, 0, 0],
        1,
        C::Reserved,
        "outside global unicast",
        "RFC 4291",
    ),
    v6(
        [0xfc00, 0, 0, 0, 0, 0, 0, 0],
        7,
        C::Private,
        "unique-local",
        "RFC 4193",
    ),
    v6(
        [0xfe80, 0, 0, 0, 0, 0, 0, 0],
        10,
        C::LinkLocal,
        "link-local",
        "RFC 4291",
    ),
    v6(
        [0xfec0, 0, 0, 0, 0, 0, 0, 0],
        10,
        C::Deprecated,
        "site-local",
        "RFC 3879",
    ),
    v6(
        [0xff00, 0, 0, 0, 0, 0, 0, 0],
        8,
        C::Multicast,
        "multicast",
        "RFC 4291",
    ),
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_normalised_and_distinct() {
        for (i, b) in DEFAULT_DENY.iter().enumerate() {
            assert_eq!(b.prefix.to_string().parse::<Prefix>().unwrap(), b.prefix);
            assert!(
                DEFAULT_DENY[i + 1..].iter().all(|o| o.prefix != b.prefix),
                "{} twice",
                b.prefix
            );
        }
        assert_eq!(DEFAULT_DENY[1].prefix.to_string(), "10.0.0.0/8");
        assert_eq!(DEFAULT_DENY.last().unwrap().prefix.to_string(), "ff00::/8");
    }

    #[test]
    fn every_category_is_used() {
        for c in Category::ALL {
            assert!(DEFAULT_DENY.iter().any(|b| b.category == c), "{c:?}");
        }
    }
}
