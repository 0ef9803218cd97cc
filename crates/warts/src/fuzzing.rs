//! Fuzz target bodies, shared by `fuzz/fuzz_targets/` and the corpus replay test.

use vantage_model::Record;

use crate::{Decoder, ReadError, ReadErrorKind, Reader, WriteError, Writer};

/// Parses `data` as a warts stream, skipping bad records; every record parsed
/// is written again and read back, and must come back equal.
///
/// Panics on a bug: a re-encode failure other than a length overflow (possible
/// when invalid UTF-8 strings or deprecated global addresses grow on rewrite),
/// or a record that does not survive the round trip.
pub fn warts_read(data: &[u8]) {
    let mut reader = Reader::new(data).with_max_record_len(1 << 20);
    let mut seen: Vec<Result<Record, u64>> = Vec::new();
    loop {
        match reader.next_record() {
            Ok(None) => break,
            Ok(Some(rec)) => {
                reencode(&rec);
                seen.push(Ok(rec));
            }
            Err(e) => {
                check_error(&e, data.len());
                seen.push(Err(e.offset));
                if !e.is_recoverable() {
                    break;
                }
            }
        }
    }
    // The push decoder, fed in three uneven pieces, must see the same stream.
    let mut dec = Decoder::new().with_max_record_len(1 << 20);
    let mut pushed: Vec<Result<Record, u64>> = Vec::new();
    let (a, b) = (data.len() / 3, data.len() * 2 / 3 + 1);
    for piece in [
        &data[..a],
        &data[a..b.min(data.len())],
        &data[b.min(data.len())..],
    ] {
        dec.push(piece);
        loop {
            match dec.next_record() {
                Ok(None) => break,
                Ok(Some(rec)) => pushed.push(Ok(rec)),
                Err(e) => pushed.push(Err(e.offset)),
            }
        }
    }
    if let Err(e) = dec.finish() {
        pushed.push(Err(e.offset));
    }
    assert_eq!(pushed, seen, "push decoder and reader disagree");
}

fn check_error(e: &ReadError, len: usize) {
    let text = e.to_string();
    assert!(text.contains("byte offset"), "error without offset: {text}");
    if let ReadErrorKind::Decode { at, .. } = e.kind {
        assert!(
            at >= e.offset + 8 && at <= len as u64,
            "bad error offset {at}: {text}"
        );
    }
}

fn reencode(rec: &Record) {
    if matches!(
        rec,
        Record::List(_)
            | Record::CycleStart(_)
            | Record::CycleDef(_)
            | Record::CycleStop(_)
            | Record::Unsupported(_)
    ) {
        return;
    }
    let mut w = Writer::new(Vec::new());
    match w.write_record(rec) {
        Ok(()) => {}
        Err(WriteError::OutOfRange {
            field: "params block length" | "attribute length",
            ..
        }) => return,
        Err(e) => panic!("re-encoding a parsed record failed: {e}\n{rec:?}"),
    }
    let bytes = w.get_ref().clone();
    let mut back = Reader::new(&bytes[..]).filter(|r| {
        !matches!(
            r,
            Ok(Record::List(_)
                | Record::CycleStart(_)
                | Record::CycleDef(_)
                | Record::CycleStop(_))
        )
    });
    match back.next() {
        Some(Ok(again)) => assert_eq!(&again, rec, "record changed in a write/read round trip"),
        Some(Err(e)) => panic!("re-reading a written record failed: {e}\n{rec:?}"),
        None => panic!("written record not read back: {rec:?}"),
    }
}
