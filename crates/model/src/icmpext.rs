//! ICMP extension objects (RFC 4884) carried by ICMP error replies.

/// One ICMP extension object as received: class, type and raw data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct IcmpExt {
    /// The class number (1 = MPLS label stack, RFC 4950).
    pub class: u8,
    /// The C-type within the class (1 = incoming MPLS label stack).
    pub ctype: u8,
    /// The object's payload, without the 4-byte object header.
    pub data: Vec<u8>,
}

/// One MPLS label stack entry decoded from an [`IcmpExt`] of class 1, type 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MplsLabel {
    /// The 20-bit label.
    pub label: u32,
    /// The 3-bit traffic class (formerly EXP) field.
    pub exp: u8,
    /// The bottom-of-stack bit.
    pub s: bool,
    /// The TTL.
    pub ttl: u8,
}

impl IcmpExt {
    /// Whether this is an MPLS label stack object (class 1, type 1).
    #[must_use]
    pub const fn is_mpls(&self) -> bool {
        self.class == 1 && self.ctype == 1
    }

    /// The MPLS label stack entries (empty unless [`Self::is_mpls`]); a trailing
    /// partial entry is ignored.
    pub fn mpls_labels(&self) -> impl Iterator<Item = MplsLabel> + '_ {
        let n = if self.is_mpls() {
            self.data.len() / 4
        } else {
            0
        };
        self.data.chunks_exact(4).take(n).map(|c| {
            let v = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
            MplsLabel {
                label: v >> 12,
                exp: ((v >> 9) & 7) as u8,
                s: (v >> 8) & 1 == 1,
                ttl: (v & 0xff) as u8,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpls_decoding() {
        let ext = IcmpExt {
            class: 1,
            ctype: 1,
            data: vec![0x00, 0x01, 0x21, 0xfe],
        };
        let l: Vec<_> = ext.mpls_labels().collect();
        assert_eq!(
            l,
            [MplsLabel {
                label: 18,
                exp: 0,
                s: true,
                ttl: 254
            }]
        );
        let other = IcmpExt {
            class: 2,
            ctype: 1,
            data: vec![0; 4],
        };
        assert_eq!(other.mpls_labels().count(), 0);
    }
}
