//! ICMP extensions (RFC 4884): the extension structure appended to ICMP error
//! messages after the quoted datagram, its objects, and MPLS label stack entries
//! (RFC 4950). Objects of other classes (interface information, RFC 5837, and any
//! unknown class) are kept as raw bytes.
//!
//! Where the extension sits is decided by the ICMP header's length field (in
//! 32-bit words for ICMPv4, 64-bit words for ICMPv6). Routers that predate RFC 4884
//! send no length but put the extension after a 128-byte quote; that layout is
//! accepted only when a valid version-2 header with a correct, non-zero checksum
//! sits at byte 128.

use crate::{Error, Result, be16, be32, checksum, need, put16, room};

/// The extension-structure version of RFC 4884.
pub const VERSION: u8 = 2;
/// Length of the extension header.
pub const HEADER_LEN: usize = 4;
/// Length of an object header.
pub const OBJECT_HEADER_LEN: usize = 4;
/// Class number of the MPLS label stack object (RFC 4950).
pub const CLASS_MPLS: u8 = 1;
/// C-type of the MPLS incoming label stack (RFC 4950).
pub const CTYPE_MPLS_INCOMING: u8 = 1;
/// Class number of the interface information object (RFC 5837).
pub const CLASS_INTERFACE_INFO: u8 = 2;
/// Where pre-RFC 4884 routers put extensions, and the smallest quote an RFC 4884
/// sender uses when extensions follow.
pub const LEGACY_OFFSET: usize = 128;

/// A view of an extension structure: header then objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extensions<'a> {
    bytes: &'a [u8],
}

impl<'a> Extensions<'a> {
    /// Wraps bytes that start with the extension header. Fails if fewer than four
    /// bytes are present; the version is not checked (see [`version`](Self::version)).
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        need("ICMP extension header", HEADER_LEN, bytes.len())?;
        Ok(Self { bytes })
    }

    /// The version field (2 for RFC 4884).
    pub fn version(&self) -> u8 {
        self.bytes[0] >> 4
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.bytes, 2)
    }

    /// True when the checksum field verifies over the whole structure. A zero
    /// field (no checksum sent) does not verify unless the sum happens to.
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(self.bytes) == 0
    }

    /// The whole structure as bytes (what warts stores after its own framing).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The objects. Yields an error once and stops at a malformed object.
    pub fn objects(&self) -> ObjectIter<'a> {
        ObjectIter {
            rest: &self.bytes[HEADER_LEN..],
            done: false,
        }
    }
}

/// One extension object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Object<'a> {
    /// Class number.
    pub class_num: u8,
    /// C-type.
    pub c_type: u8,
    /// The object payload, after its four-byte header.
    pub payload: &'a [u8],
}

impl<'a> Object<'a> {
    /// For an MPLS incoming label stack object, its entries; `None` for other
    /// objects. A trailing partial entry is ignored.
    pub fn mpls_entries(&self) -> Option<impl Iterator<Item = MplsEntry> + 'a> {
        if self.class_num == CLASS_MPLS && self.c_type == CTYPE_MPLS_INCOMING {
            Some(
                self.payload
                    .chunks_exact(4)
                    .map(|c| MplsEntry::from_bytes([c[0], c[1], c[2], c[3]])),
            )
        } else {
            None
        }
    }

    /// Bytes needed to emit this object.
    pub fn buffer_len(&self) -> usize {
        OBJECT_HEADER_LEN + self.payload.len()
    }

    /// Writes the object (header and payload) at the start of `buf`; returns the
    /// bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        room("ICMP extension object", len, buf.len())?;
        let field = u16::try_from(len).map_err(|_| Error::Unrepresentable {
            what: "ICMP extension object",
            reason: "objects are at most 65535 bytes",
        })?;
        put16(buf, 0, field);
        buf[2] = self.class_num;
        buf[3] = self.c_type;
        buf[4..len].copy_from_slice(self.payload);
        Ok(len)
    }
}

/// Iterator over extension objects.
#[derive(Debug, Clone)]
pub struct ObjectIter<'a> {
    rest: &'a [u8],
    done: bool,
}

impl<'a> Iterator for ObjectIter<'a> {
    type Item = Result<Object<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.rest.is_empty() {
            return None;
        }
        if self.rest.len() < OBJECT_HEADER_LEN {
            self.done = true;
            return Some(Err(Error::Truncated {
                what: "ICMP extension object header",
                need: OBJECT_HEADER_LEN,
                have: self.rest.len(),
            }));
        }
        let len = usize::from(be16(self.rest, 0));
        if len < OBJECT_HEADER_LEN || len > self.rest.len() {
            self.done = true;
            return Some(Err(Error::BadLength {
                what: "ICMP extension object",
                field: len,
                have: self.rest.len(),
            }));
        }
        let o = Object {
            class_num: self.rest[2],
            c_type: self.rest[3],
            payload: &self.rest[OBJECT_HEADER_LEN..len],
        };
        self.rest = &self.rest[len..];
        Some(Ok(o))
    }
}

/// One MPLS label stack entry (RFC 3032 layout, RFC 4950 object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MplsEntry {
    /// Label (20 bits).
    pub label: u32,
    /// Experimental / traffic-class bits (3 bits).
    pub exp: u8,
    /// Bottom-of-stack flag.
    pub bottom_of_stack: bool,
    /// Time to live.
    pub ttl: u8,
}

impl MplsEntry {
    /// Decodes an entry.
    pub fn from_bytes(b: [u8; 4]) -> Self {
        let v = be32(&b, 0);
        Self {
            label: v >> 12,
            exp: ((v >> 9) & 0x7) as u8,
            bottom_of_stack: v & 0x100 != 0,
            ttl: (v & 0xff) as u8,
        }
    }

    /// Encodes an entry; out-of-range label and exp bits are masked off.
    pub fn to_bytes(&self) -> [u8; 4] {
        let v = ((self.label & 0x000f_ffff) << 12)
            | (u32::from(self.exp & 0x7) << 9)
            | (u32::from(self.bottom_of_stack) << 8)
            | u32::from(self.ttl);
        v.to_be_bytes()
    }
}

/// Bytes needed for an extension structure holding `objects`.
pub fn buffer_len(objects: &[Object<'_>]) -> usize {
    HEADER_LEN + objects.iter().map(Object::buffer_len).sum::<usize>()
}

/// Writes a version-2 extension structure with `objects` and its checksum at the
/// start of `buf`; returns the bytes written.
pub fn emit(objects: &[Object<'_>], buf: &mut [u8]) -> Result<usize> {
    let len = buffer_len(objects);
    room("ICMP extension structure", len, buf.len())?;
    buf[0] = VERSION << 4;
    buf[1] = 0;
    put16(buf, 2, 0);
    let mut at = HEADER_LEN;
    for o in objects {
        at += o.emit(&mut buf[at..])?;
    }
    let c = checksum::checksum(&buf[..len]);
    put16(buf, 2, c);
    Ok(len)
}

/// Splits the body of an ICMP error message (the bytes after its 8-byte header)
/// into the quoted datagram and the extension structure, following RFC 4884.
/// `length_field` is the header's length field, `word` its unit (4 for ICMPv4,
/// 8 for ICMPv6). Nothing is lost: when no valid extension is found, the whole
/// body is the quote.
pub fn split_body(body: &[u8], length_field: u8, word: usize) -> (&[u8], Option<Extensions<'_>>) {
    let at = if length_field != 0 {
        let at = usize::from(length_field) * word;
        if at + HEADER_LEN > body.len() || body[at] >> 4 != VERSION {
            return (body, None);
        }
        at
    } else {
        // Pre-RFC 4884 layout: only with a checksum that proves it.
        let at = LEGACY_OFFSET;
        if at + HEADER_LEN > body.len() || body[at] >> 4 != VERSION {
            return (body, None);
        }
        let ext = &body[at..];
        if be16(ext, 2) == 0 || checksum::checksum(ext) != 0 {
            return (body, None);
        }
        at
    };
    (&body[..at], Some(Extensions { bytes: &body[at..] }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;

    // Version 2 header, checksum, one MPLS object with two entries:
    // label 16005 exp 0 S=0 ttl 1; label 299792 exp 5 S=1 ttl 254.
    const EXT: [u8; 16] = hex!("20 00 00 00" "00 0c 01 01" "03 e8 50 01" "49 31 0b fe");

    fn ext() -> [u8; 16] {
        let mut b = EXT;
        let c = checksum::checksum(&b);
        b[2..4].copy_from_slice(&c.to_be_bytes());
        b
    }

    #[test]
    fn parse_mpls_vector() {
        let b = ext();
        let e = Extensions::new_checked(&b).unwrap();
        assert_eq!(e.version(), 2);
        assert!(e.verify_checksum());
        let objs: Vec<_> = e.objects().collect::<Result<_>>().unwrap();
        assert_eq!(objs.len(), 1);
        let entries: Vec<_> = objs[0].mpls_entries().unwrap().collect();
        assert_eq!(
            entries,
            vec![
                MplsEntry {
                    label: 16005,
                    exp: 0,
                    bottom_of_stack: false,
                    ttl: 1
                },
                MplsEntry {
                    label: 299_792,
                    exp: 5,
                    bottom_of_stack: true,
                    ttl: 254
                },
            ]
        );
    }

    #[test]
    fn emit_mpls_vector() {
        let mut payload = [0u8; 8];
        payload[..4].copy_from_slice(
            &MplsEntry {
                label: 16005,
                exp: 0,
                bottom_of_stack: false,
                ttl: 1,
            }
            .to_bytes(),
        );
        payload[4..].copy_from_slice(
            &MplsEntry {
                label: 299_792,
                exp: 5,
                bottom_of_stack: true,
                ttl: 254,
            }
            .to_bytes(),
        );
        let objs = [Object {
            class_num: 1,
            c_type: 1,
            payload: &payload,
        }];
        let mut buf = [0u8; 16];
        assert_eq!(emit(&objs, &mut buf).unwrap(), 16);
        assert_eq!(buf, ext());
        assert!(emit(&objs, &mut [0u8; 15]).is_err());
    }

    #[test]
    fn malformed_objects() {
        let b = hex!("20 00 00 00" "00 03 01 01");
        let e = Extensions::new_checked(&b).unwrap();
        let mut it = e.objects();
        assert!(matches!(it.next(), Some(Err(Error::BadLength { .. }))));
        assert!(it.next().is_none());
        let b = hex!("20 00 00 00" "00 08 01");
        let mut it = Extensions::new_checked(&b).unwrap().objects();
        assert!(matches!(it.next(), Some(Err(Error::Truncated { .. }))));
        assert!(Extensions::new_checked(&b[..3]).is_err());
    }

    #[test]
    fn split_with_length_field() {
        let mut body = vec![0x45u8; 128];
        body.extend_from_slice(&ext());
        let (q, e) = split_body(&body, 32, 4);
        assert_eq!(q.len(), 128);
        assert_eq!(e.unwrap().as_bytes(), &ext());
        let (q, e) = split_body(&body, 16, 8);
        assert_eq!(q.len(), 128);
        assert!(e.is_some());
        // Length pointing past the end, or at a non-extension: all quote.
        let (q, e) = split_body(&body, 60, 4);
        assert_eq!(q.len(), body.len());
        assert!(e.is_none());
        let (q, e) = split_body(&body, 31, 4);
        assert_eq!(q.len(), body.len());
        assert!(e.is_none());
    }

    #[test]
    fn split_legacy() {
        let mut body = vec![0x45u8; 128];
        body.extend_from_slice(&ext());
        let (q, e) = split_body(&body, 0, 4);
        assert_eq!(q.len(), 128);
        assert!(e.is_some());
        // A wrong checksum: no extension, nothing lost.
        body[131] ^= 1;
        let (q, e) = split_body(&body, 0, 4);
        assert_eq!(q.len(), body.len());
        assert!(e.is_none());
        // Too short for an extension.
        let (q, e) = split_body(&body[..100], 0, 4);
        assert_eq!(q.len(), 100);
        assert!(e.is_none());
    }

    prop_compose! {
        fn arb_entry()(label in 0u32..0x10_0000, exp in 0u8..8, bottom_of_stack in any::<bool>(), ttl in any::<u8>()) -> MplsEntry {
            MplsEntry { label, exp, bottom_of_stack, ttl }
        }
    }

    proptest! {
        #[test]
        fn mpls_round_trip(e in arb_entry()) {
            prop_assert_eq!(MplsEntry::from_bytes(e.to_bytes()), e);
        }

        #[test]
        fn structure_round_trip(objs in proptest::collection::vec((any::<u8>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..40)), 0..5)) {
            let objects: Vec<Object<'_>> = objs.iter().map(|(c, t, p)| Object { class_num: *c, c_type: *t, payload: p }).collect();
            let mut buf = vec![0u8; buffer_len(&objects)];
            emit(&objects, &mut buf).unwrap();
            let e = Extensions::new_checked(&buf).unwrap();
            prop_assert_eq!(e.version(), 2);
            prop_assert!(e.verify_checksum());
            let back: Vec<_> = e.objects().collect::<Result<_>>().unwrap();
            prop_assert_eq!(back, objects);
        }

        #[test]
        fn split_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300), lf in any::<u8>(), v6 in any::<bool>()) {
            let (q, e) = split_body(&body, lf, if v6 { 8 } else { 4 });
            let elen = e.map_or(0, |e| e.as_bytes().len());
            prop_assert_eq!(q.len() + elen, body.len());
            if let Some(e) = e {
                for o in e.objects().flatten() {
                    let _ = o.mpls_entries().map(Iterator::count);
                }
            }
        }
    }
}
