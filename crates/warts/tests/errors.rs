//! Bad input: errors name the byte offset and record type, bad records are
//! skipped, nothing panics; plus streaming, filtering and compression.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::PathBuf;

use vantage_model::Record;
use vantage_warts::{ReadErrorKind, Reader, TypeFilter, Writer, create, open, types};

fn testdata(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("VANTAGE_TESTDATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/warts"),
        PathBuf::from,
    );
    std::fs::read(dir.join(name)).unwrap()
}

/// (offset, type, length) of every record.
fn frames(b: &[u8]) -> Vec<(usize, u16, usize)> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 8 <= b.len() {
        let len = u32::from_be_bytes([b[off + 4], b[off + 5], b[off + 6], b[off + 7]]) as usize;
        out.push((off, u16::from_be_bytes([b[off + 2], b[off + 3]]), len));
        off += 8 + len;
    }
    out
}

fn collect(b: &[u8]) -> (Vec<Record>, Vec<vantage_warts::ReadError>) {
    let mut recs = Vec::new();
    let mut errs = Vec::new();
    for r in Reader::new(b) {
        match r {
            Ok(x) => recs.push(x),
            Err(e) => errs.push(e),
        }
    }
    (recs, errs)
}

#[test]
fn truncated_file_names_offset_and_type() {
    let data = testdata("ping.warts");
    let f = frames(&data);
    let (off, kind, len) = f[5];
    assert_eq!(kind, types::PING);
    let cut = &data[..off + 8 + len / 2];
    let (recs, errs) = collect(cut);
    assert_eq!(recs.len(), 5);
    assert_eq!(errs.len(), 1);
    let e = &errs[0];
    assert_eq!((e.offset, e.record_type), (off as u64, Some(types::PING)));
    assert!(
        matches!(e.kind, ReadErrorKind::Truncated { missing } if missing == (len - len / 2) as u64)
    );
    assert!(!e.is_recoverable());
    assert_eq!(
        e.to_string(),
        format!(
            "warts ping record at byte offset {off}: input ends inside the record: {} byte(s) missing",
            len - len / 2
        )
    );
}

#[test]
fn corrupt_record_is_skipped_and_reading_goes_on() {
    let mut data = testdata("ping.warts");
    let f = frames(&data);
    let total = f.len();
    // Record 3 is a ping: break its first params length so fields run past the body.
    let (off, kind, _) = f[3];
    assert_eq!(kind, types::PING);
    // Flags bytes end at the first byte without the link bit; the u16 length follows.
    let mut p = off + 8;
    while data[p] & 0x80 != 0 {
        p += 1;
    }
    data[p + 1] = 0xff;
    data[p + 2] = 0xff;
    let (recs, errs) = collect(&data);
    assert_eq!(recs.len(), total - 1);
    assert_eq!(errs.len(), 1);
    let e = &errs[0];
    assert!(e.is_recoverable());
    assert_eq!((e.offset, e.record_type), (off as u64, Some(types::PING)));
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("warts ping record at byte offset {off}: ")),
        "{text}"
    );
    assert!(
        matches!(e.kind, ReadErrorKind::Decode { at, .. } if at > off as u64),
        "{text}"
    );
}

#[test]
fn bad_address_reference_is_reported_with_its_offset() {
    // A ping whose dst is a reference to an address that was never defined.
    let mut w = Writer::new(Vec::new());
    let mut p = vantage_model::Ping::new(
        "192.0.2.1".parse().unwrap(),
        vantage_model::Timestamp::new(1, 2),
    );
    p.src = Some("192.0.2.9".parse().unwrap());
    w.write_ping(&p).unwrap();
    let mut data = w.into_inner().unwrap();
    // The src definition `04 01 c0 00 02 09` becomes a reference to index 7.
    let at = data
        .windows(6)
        .position(|x| x == [4, 1, 192, 0, 2, 9])
        .unwrap();
    data.splice(at..at + 6, [0u8, 0, 0, 0, 7]);
    // Fix the lengths: the record and the params block are one byte shorter.
    let len = u32::from_be_bytes(data[4..8].try_into().unwrap()) - 1;
    data[4..8].copy_from_slice(&len.to_be_bytes());
    let mut q = 8;
    while data[q] & 0x80 != 0 {
        q += 1;
    }
    let plen = u16::from_be_bytes([data[q + 1], data[q + 2]]) - 1;
    data[q + 1..q + 3].copy_from_slice(&plen.to_be_bytes());
    let (recs, errs) = collect(&data);
    assert!(recs.is_empty());
    let e = &errs[0];
    assert_eq!(
        e.to_string(),
        format!(
            "warts ping record at byte offset 0: address reference 7 but only 0 address(es) defined so far (at byte offset {})",
            at + 1
        )
    );
}

#[test]
fn corrupt_header_resyncs_at_the_next_record() {
    let mut data = testdata("trace.warts");
    let f = frames(&data);
    let total = f.len();
    let (off, _, _) = f[4];
    data[off] = 0x99;
    let (recs, errs) = collect(&data);
    assert_eq!(recs.len(), total - 1);
    assert_eq!(errs.len(), 1);
    assert!(matches!(errs[0].kind, ReadErrorKind::BadMagic(0x9905)));
    assert_eq!(errs[0].offset, off as u64);
    assert!(errs[0].is_recoverable());
}

#[test]
fn oversized_length_is_rejected_without_allocating_it() {
    let mut data = testdata("sniff.warts");
    let f = frames(&data);
    let (off, _, _) = f[3];
    data[off + 4..off + 8].copy_from_slice(&0xfff0_0000u32.to_be_bytes());
    let mut errs = 0;
    for x in Reader::new(&data[..]).with_max_record_len(1 << 20) {
        if let Err(e) = x {
            assert!(
                matches!(
                    e.kind,
                    ReadErrorKind::TooLarge {
                        len: 0xfff0_0000,
                        ..
                    }
                ),
                "{e}"
            );
            errs += 1;
        }
    }
    assert_eq!(errs, 1);
}

#[test]
fn garbage_never_panics() {
    let mut seed = 0x1234_5678_u32;
    for len in [0usize, 1, 7, 8, 9, 64, 1000] {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        for x in Reader::new(&data[..]) {
            if let Err(e) = x {
                assert!(e.to_string().contains("byte offset"));
            }
        }
    }
}

/// A reader that hands out one byte per call, like a slow socket.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0.is_empty() || buf.is_empty() {
            return Ok(0);
        }
        buf[0] = self.0[0];
        self.0 = &self.0[1..];
        Ok(1)
    }
}

#[test]
fn streams_from_a_byte_at_a_time_reader() {
    let data = testdata("host.warts");
    let bulk: Vec<Record> = Reader::new(&data[..]).map(Result::unwrap).collect();
    let trickle: Vec<Record> = Reader::new(Trickle(&data)).map(Result::unwrap).collect();
    assert_eq!(bulk, trickle);
    assert_eq!(bulk.len(), 30);
}

#[test]
fn filter_returns_only_chosen_types_with_their_lists() {
    let data = testdata("sniff.warts");
    let mut r = Reader::new(&data[..]);
    r.set_filter(Some(TypeFilter::none().with(types::PING)));
    let recs: Vec<Record> = r.map(Result::unwrap).collect();
    assert_eq!(recs.len(), 2);
    for x in &recs {
        let Record::Ping(p) = x else { panic!("{x:?}") };
        assert_eq!(p.list.as_ref().unwrap().name, "default");
        assert_eq!(p.cycle.as_ref().unwrap().hostname.as_deref(), Some("vm"));
    }
}

#[test]
fn compressed_files_write_and_read_back() {
    let data = testdata("udpprobe.warts");
    let recs: Vec<Record> = Reader::new(&data[..]).map(Result::unwrap).collect();
    let dir = tempfile::tempdir().unwrap();
    for ext in ["warts", "warts.gz", "warts.bz2", "warts.xz"] {
        let path = dir.path().join(format!("out.{ext}"));
        let mut w = create(&path).unwrap();
        for x in &recs {
            w.write_record(x).unwrap();
        }
        w.close().unwrap();
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(
            vantage_warts::Compression::detect(&raw),
            vantage_warts::Compression::from_path(&path)
        );
        let back: Vec<Record> = open(&path).unwrap().map(Result::unwrap).collect();
        assert_eq!(back, recs, "{ext}");
        if ext == "warts" {
            assert_eq!(raw, data, "plain rewrite is byte-identical");
        }
    }
}

#[test]
fn push_decoder_matches_the_reader_however_bytes_arrive() {
    let data = testdata("dealias.warts");
    let want: Vec<Record> = Reader::new(&data[..]).map(Result::unwrap).collect();
    for piece in [1usize, 7, 100, 4096] {
        let mut dec = vantage_warts::Decoder::new();
        let mut got = Vec::new();
        for chunk in data.chunks(piece) {
            dec.push(chunk);
            while let Some(r) = dec.next_record().unwrap() {
                got.push(r);
            }
        }
        dec.finish().unwrap();
        assert_eq!(got, want, "pieces of {piece} bytes");
        assert_eq!(dec.offset(), data.len() as u64);
    }
    // One record per push, as control-socket DATA objects deliver them.
    let mut dec = vantage_warts::Decoder::new();
    let mut got = Vec::new();
    let mut off = 0;
    while off < data.len() {
        let len = u32::from_be_bytes(data[off + 4..off + 8].try_into().unwrap()) as usize;
        dec.push(&data[off..off + 8 + len]);
        got.extend(dec.next_record().unwrap());
        assert_eq!(dec.buffered(), 0);
        off += 8 + len;
    }
    assert_eq!(got, want);
    // Ending inside a record is reported by finish.
    let mut dec = vantage_warts::Decoder::new();
    dec.push(&data[..data.len() - 3]);
    while dec.next_record().unwrap().is_some() {}
    let e = dec.finish().unwrap_err();
    assert!(
        matches!(e.kind, ReadErrorKind::Truncated { missing: 3 }),
        "{e}"
    );
}
