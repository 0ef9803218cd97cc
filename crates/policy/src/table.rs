//! Longest-prefix lookup over a fixed set of prefixes: the nested prefixes are flattened once
//! into sorted, disjoint address ranges, each labelled with the most specific prefix covering
//! it, so a lookup is one binary search. Millions of prefixes cost a few tens of bytes each.

use std::net::IpAddr;

use crate::prefix::Prefix;

/// Sorted disjoint ranges of one address family, stored column-wise.
#[derive(Debug, Clone, Default)]
struct Ranges<K> {
    starts: Vec<K>,
    ends: Vec<K>,
    labels: Vec<u32>,
}

impl<K: Copy + Ord> Ranges<K> {
    fn lookup(&self, key: K) -> Option<u32> {
        let i = self.starts.partition_point(|s| *s <= key).checked_sub(1)?;
        (self.ends[i] >= key).then(|| self.labels[i])
    }
}

/// A set of prefixes, each with a caller-chosen label, answering "which is the most specific
/// prefix holding this address".
#[derive(Debug, Clone, Default)]
pub(crate) struct PrefixTable {
    v4: Ranges<u32>,
    v6: Ranges<u128>,
}

impl PrefixTable {
    /// Builds the table. When the same prefix appears more than once, the smallest label wins.
    pub(crate) fn build(items: impl IntoIterator<Item = (Prefix, u32)>) -> PrefixTable {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (p, label) in items {
            let (first, last) = p.bounds();
            if p.is_ipv4() {
                v4.push((first, last, label));
            } else {
                v6.push((first, last, label));
            }
        }
        let v4 = flatten(v4);
        let v6 = flatten(v6);
        PrefixTable {
            v4: Ranges {
                starts: v4.iter().map(|r| r.0 as u32).collect(),
                ends: v4.iter().map(|r| r.1 as u32).collect(),
                labels: v4.iter().map(|r| r.2).collect(),
            },
            v6: Ranges {
                starts: v6.iter().map(|r| r.0).collect(),
                ends: v6.iter().map(|r| r.1).collect(),
                labels: v6.iter().map(|r| r.2).collect(),
            },
        }
    }

    /// The label of the most specific prefix holding `addr`.
    pub(crate) fn lookup(&self, addr: IpAddr) -> Option<u32> {
        match addr {
            IpAddr::V4(a) => self.v4.lookup(a.to_bits()),
            IpAddr::V6(a) => self.v6.lookup(a.to_bits()),
        }
    }
}

/// Flattens nested-or-disjoint ranges `(first, last, label)` into disjoint ranges labelled
/// with the innermost range covering them.
fn flatten(mut items: Vec<(u128, u128, u32)>) -> Vec<(u128, u128, u32)> {
    // Outer ranges before the ranges they hold; equal ranges by label.
    items.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    items.dedup_by(|later, earlier| later.0 == earlier.0 && later.1 == earlier.1);
    let mut out = Vec::with_capacity(items.len());
    let mut open: Vec<(u128, u128, u32)> = Vec::new();
    // The first address not yet given to a range; None once past the top of the space.
    let mut cursor = Some(0u128);
    let emit = |out: &mut Vec<_>, cursor: Option<u128>, last: u128, label: u32| {
        if let Some(c) = cursor
            && c <= last
        {
            out.push((c, last, label));
        }
    };
    for item in items {
        while let Some(&top) = open.last() {
            if top.1 >= item.0 {
                break;
            }
            emit(&mut out, cursor, top.1, top.2);
            cursor = top.1.checked_add(1);
            open.pop();
        }
        // Whatever is still open holds `item` entirely (prefixes nest or are disjoint).
        if let (Some(&top), Some(c)) = (open.last(), cursor)
            && c < item.0
        {
            out.push((c, item.0 - 1, top.2));
        }
        cursor = Some(item.0);
        open.push(item);
    }
    while let Some(top) = open.pop() {
        emit(&mut out, cursor, top.1, top.2);
        cursor = top.1.checked_add(1);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn table(items: &[&str]) -> PrefixTable {
        PrefixTable::build(
            items
                .iter()
                .enumerate()
                .map(|(i, s)| (s.parse().unwrap(), i as u32)),
        )
    }

    fn at(t: &PrefixTable, a: &str) -> Option<u32> {
        t.lookup(a.parse().unwrap())
    }

    #[test]
    fn nested_prefixes_pick_the_most_specific() {
        let t = table(&[
            "10.0.0.0/8",
            "10.1.0.0/16",
            "10.1.2.0/24",
            "192.0.2.0/24",
            "0.0.0.0/0",
        ]);
        assert_eq!(at(&t, "10.1.2.3"), Some(2));
        assert_eq!(at(&t, "10.1.3.3"), Some(1));
        assert_eq!(at(&t, "10.2.0.0"), Some(0));
        assert_eq!(at(&t, "10.255.255.255"), Some(0));
        assert_eq!(at(&t, "192.0.2.255"), Some(3));
        assert_eq!(at(&t, "8.8.8.8"), Some(4));
        assert_eq!(at(&t, "255.255.255.255"), Some(4));
        assert_eq!(at(&t, "::1"), None);
    }

    #[test]
    fn edges_of_the_space_and_duplicates() {
        let t = table(&[
            "::/0",
            "ffff::/16",
            "::/128",
            "ffff::/16",
            "255.255.255.255/32",
        ]);
        assert_eq!(at(&t, "::"), Some(2));
        assert_eq!(at(&t, "::1"), Some(0));
        assert_eq!(at(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), Some(1));
        assert_eq!(at(&t, "255.255.255.255"), Some(4));
        assert_eq!(at(&t, "255.255.255.254"), None);
        assert_eq!(table(&[]).lookup(Ipv4Addr::LOCALHOST.into()), None);
    }

    fn naive(items: &[(Prefix, u32)], a: IpAddr) -> Option<u32> {
        items
            .iter()
            .filter(|(p, _)| p.contains(a))
            .max_by(|x, y| x.0.len().cmp(&y.0.len()).then(y.1.cmp(&x.1)))
            .map(|(_, l)| *l)
    }

    proptest! {
        #[test]
        fn agrees_with_a_linear_scan(
            nets in proptest::collection::vec((any::<u32>(), 0u8..=32), 0..40),
            probes in proptest::collection::vec(any::<u32>(), 0..40),
        ) {
            // Cluster the values so that prefixes nest often.
            let items: Vec<(Prefix, u32)> = nets
                .iter()
                .enumerate()
                .map(|(i, &(b, l))| (Prefix::v4((b & 0xff0f_0000).to_be_bytes(), l), i as u32))
                .collect();
            let t = PrefixTable::build(items.clone());
            for &(b, _) in &nets {
                for a in [b & 0xff0f_0000, b & 0xff0f_ffff, b] {
                    let a = IpAddr::V4(Ipv4Addr::from_bits(a));
                    prop_assert_eq!(t.lookup(a), naive(&items, a));
                }
            }
            for p in probes {
                let a = IpAddr::V4(Ipv4Addr::from_bits(p & 0xff0f_ffff));
                prop_assert_eq!(t.lookup(a), naive(&items, a));
            }
        }

        #[test]
        fn agrees_with_a_linear_scan_v6(
            nets in proptest::collection::vec((any::<u16>(), 0u8..=128), 0..30),
            probes in proptest::collection::vec(any::<u128>(), 0..30),
        ) {
            let items: Vec<(Prefix, u32)> = nets
                .iter()
                .enumerate()
                .map(|(i, &(b, l))| (Prefix::v6([b & 0xf0f0, 0, 0, 0, 0, 0, 0, b], l), i as u32))
                .collect();
            let t = PrefixTable::build(items.clone());
            for (p, _) in &items {
                let a = p.addr();
                prop_assert_eq!(t.lookup(a), naive(&items, a));
            }
            for p in probes {
                let a = IpAddr::V6(Ipv6Addr::from_bits(p & 0xf0f0_0000_0000_0000_0000_0000_0000_ffff));
                prop_assert_eq!(t.lookup(a), naive(&items, a));
            }
        }
    }
}
