//! The Internet checksum (RFC 1071), the IPv4/IPv6 pseudo-headers, incremental
//! update (RFC 1624), and the Paris traceroute trick: choosing one 16-bit payload
//! word so that a packet's checksum field holds a value chosen in advance.
//!
//! All sums here are ones'-complement sums folded to 16 bits and *not* complemented;
//! [`finish`] complements a sum into the value stored in a checksum field. Sums of
//! separate pieces can be added with [`combine`] as long as every piece but the last
//! has an even length (the 16-bit words must stay aligned).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Folds a wide accumulator into a 16-bit ones'-complement sum.
#[inline]
fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Ones'-complement sum of `data` taken as big-endian 16-bit words; an odd final
/// byte is padded with a zero byte, as RFC 1071 says.
#[inline]
pub fn sum(data: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        acc += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        acc += u64::from(u32::from_be_bytes([c[4], c[5], c[6], c[7]]));
    }
    let mut rest = chunks.remainder();
    while rest.len() >= 2 {
        acc += u64::from(u16::from_be_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
    }
    if let Some(&last) = rest.first() {
        acc += u64::from(last) << 8;
    }
    fold(acc)
}

/// Ones'-complement addition of two sums.
#[inline]
pub fn combine(a: u16, b: u16) -> u16 {
    fold(u64::from(a) + u64::from(b))
}

/// Complements a sum into the value a checksum field holds.
#[inline]
pub fn finish(sum: u16) -> u16 {
    !sum
}

/// The checksum of `data` alone: `finish(sum(data))`. A buffer whose checksum field
/// is already filled in verifies when this returns 0.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(data))
}

/// Sum of the IPv4 pseudo-header (RFC 768, RFC 793): source, destination, zero,
/// protocol, and the upper-layer length.
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u16 {
    let s = src.octets();
    let d = dst.octets();
    let acc = u64::from(u16::from_be_bytes([s[0], s[1]]))
        + u64::from(u16::from_be_bytes([s[2], s[3]]))
        + u64::from(u16::from_be_bytes([d[0], d[1]]))
        + u64::from(u16::from_be_bytes([d[2], d[3]]))
        + u64::from(protocol)
        + u64::from(length);
    fold(acc)
}

/// Sum of the IPv6 pseudo-header (RFC 8200 §8.1): source, destination, the 32-bit
/// upper-layer length and the next-header value.
#[inline]
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, length: u32) -> u16 {
    let acc = u64::from(sum(&src.octets()))
        + u64::from(sum(&dst.octets()))
        + u64::from(length >> 16)
        + u64::from(length & 0xffff)
        + u64::from(next_header);
    fold(acc)
}

/// Sum of the pseudo-header for either family. If the two addresses are of
/// different families (no such packet exists on the wire) both are taken as IPv6,
/// an IPv4 address in its IPv4-mapped form, so that the function stays total.
pub fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, length: u32) -> u16 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            // An IPv4 upper-layer length never exceeds 16 bits; wider values are
            // folded so that the function stays total.
            let len = fold(u64::from(length));
            pseudo_header_v4(s, d, protocol, len)
        }
        _ => pseudo_header_v6(v6(src), v6(dst), protocol, length),
    }
}

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

/// Incremental update (RFC 1624, equation 3): the new checksum field value after
/// one 16-bit word of the covered data changes from `old_word` to `new_word`,
/// given the old checksum field value.
#[inline]
pub fn update(old_checksum: u16, old_word: u16, new_word: u16) -> u16 {
    !combine(combine(!old_checksum, !old_word), new_word)
}

/// The Paris traceroute trick. `partial_sum` is the sum of everything the checksum
/// covers (pseudo-header included) with the checksum field already holding
/// `target` and the 16-bit payload word to be chosen set to zero. Writing the
/// returned word at that (even) offset makes the packet verify with `target` in its
/// checksum field.
///
/// Every `target` is reachable. For UDP, a field of 0 means "no checksum", so a
/// caller wanting UDP checksum 0 gets 0xffff, which is the same value in
/// ones'-complement arithmetic.
#[inline]
pub fn solve_word(partial_sum: u16) -> u16 {
    !partial_sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Word-at-a-time reference straight from RFC 1071.
    fn naive_sum(data: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        let mut i = 0;
        while i < data.len() {
            let hi = u32::from(data[i]) << 8;
            let lo = data.get(i + 1).map_or(0, |&b| u32::from(b));
            acc += hi | lo;
            acc = (acc & 0xffff) + (acc >> 16);
            i += 2;
        }
        acc as u16
    }

    #[test]
    fn rfc1071_example() {
        // The worked example in RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(&data), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn ipv4_header_vector() {
        // A classic IPv4 header with its checksum b861 (well-known example).
        let mut hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&hdr), 0xb861);
        hdr[10] = 0xb8;
        hdr[11] = 0x61;
        assert_eq!(checksum(&hdr), 0);
    }

    #[test]
    fn pseudo_header_matches_bytes() {
        let s = Ipv4Addr::new(192, 0, 2, 1);
        let d = Ipv4Addr::new(198, 51, 100, 7);
        let mut b = Vec::new();
        b.extend_from_slice(&s.octets());
        b.extend_from_slice(&d.octets());
        b.extend_from_slice(&[0, 17, 0x01, 0x02]);
        assert_eq!(pseudo_header_v4(s, d, 17, 0x0102), naive_sum(&b));
        assert_eq!(
            pseudo_header(IpAddr::V4(s), IpAddr::V4(d), 17, 0x0102),
            naive_sum(&b)
        );
    }

    proptest! {
        #[test]
        fn sum_matches_naive(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(sum(&data), naive_sum(&data));
        }

        #[test]
        fn combine_matches_concatenation(a in proptest::collection::vec(any::<u8>(), 0..64),
                                         b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut a = a;
            if a.len() % 2 == 1 { a.push(0); }
            let mut ab = a.clone();
            ab.extend_from_slice(&b);
            // 0x0000 and 0xffff are both zero in ones' complement.
            let x = combine(sum(&a), sum(&b));
            let y = naive_sum(&ab);
            prop_assert!(x == y || (x == 0xffff && y == 0) || (x == 0 && y == 0xffff));
        }

        #[test]
        fn v6_pseudo_matches_bytes(s in any::<[u8; 16]>(), d in any::<[u8; 16]>(), nh in any::<u8>(), len in any::<u32>()) {
            let mut b = Vec::new();
            b.extend_from_slice(&s);
            b.extend_from_slice(&d);
            b.extend_from_slice(&len.to_be_bytes());
            b.extend_from_slice(&[0, 0, 0, nh]);
            let x = pseudo_header_v6(Ipv6Addr::from(s), Ipv6Addr::from(d), nh, len);
            let y = naive_sum(&b);
            prop_assert!(x == y || (x == 0xffff && y == 0) || (x == 0 && y == 0xffff));
        }

        #[test]
        fn incremental_update_matches_recompute(mut data in proptest::collection::vec(any::<u8>(), 4..100),
                                                idx in any::<prop::sample::Index>(),
                                                new_word in any::<u16>()) {
            // checksum field at 0..2; pick another word to change.
            data[0] = 0;
            data[1] = 0;
            let c = checksum(&data);
            data[0..2].copy_from_slice(&c.to_be_bytes());
            let words = data.len() / 2;
            let w = 1 + idx.index(words - 1);
            let old = u16::from_be_bytes([data[2 * w], data[2 * w + 1]]);
            data[2 * w..2 * w + 2].copy_from_slice(&new_word.to_be_bytes());
            let c2 = update(c, old, new_word);
            data[0..2].copy_from_slice(&c2.to_be_bytes());
            prop_assert!(checksum(&data) == 0 || checksum(&data) == 0xffff);
        }

        #[test]
        fn solve_word_hits_target(mut data in proptest::collection::vec(any::<u8>(), 4..100),
                                  target in any::<u16>(),
                                  idx in any::<prop::sample::Index>()) {
            data[0..2].copy_from_slice(&target.to_be_bytes());
            let words = data.len() / 2;
            let w = 1 + idx.index(words - 1);
            data[2 * w] = 0;
            data[2 * w + 1] = 0;
            let fix = solve_word(sum(&data));
            data[2 * w..2 * w + 2].copy_from_slice(&fix.to_be_bytes());
            prop_assert_eq!(naive_sum(&data), 0xffff);
            prop_assert_eq!(u16::from_be_bytes([data[0], data[1]]), target);
        }
    }
}
