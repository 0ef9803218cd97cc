//! Fuzz target bodies, shared by `fuzz/fuzz_targets/` and the corpus replay test.

use vantage_model::Record;

use crate::{ReadErrorKind, Reader, WriteError, Writer};

/// Parses `data` as a warts stream, skipping bad records; every record parsed
/// is written again and read back, and must come back equal.
///
/// Panics on a bug: a re-encode failure other than a length overflow (possible
/// when invalid UTF-8 strings or deprecated global addresses grow on rewrite),
/// or a record that does not survive the round trip.
pub fn warts_read(data: &[u8]) {
    let mut reader = Reader::new(data).with_max_record_len(1 << 20);
    loop {
        match reader.next_record() {
            Ok(None) => break,
            Ok(Some(rec)) => reencode(&rec),
            Err(e) => {
                let text = e.to_string();
                assert!(text.contains("byte offset"), "error without offset: {text}");
                if let ReadErrorKind::Decode { at, .. } = e.kind {
                    assert!(
                        at >= e.offset + 8 && at <= data.len() as u64,
                        "bad error offset {at}: {text}"
                    );
                }
                if !e.is_recoverable() {
                    break;
                }
            }
        }
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
