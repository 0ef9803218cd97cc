//! Reads the real scamper files in /work/shared/testdata/warts (or
//! $VANTAGE_TESTDATA) and checks fields against the dumps and JSON of scamper's
//! own tools, and byte-identical write-back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use vantage_model::Record;
use vantage_warts::{Writer, open};

fn dir() -> PathBuf {
    std::env::var_os("VANTAGE_TESTDATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/warts"),
        PathBuf::from,
    )
}

fn read_all(name: &str) -> Vec<Record> {
    let r = open(dir().join(name)).unwrap();
    r.map(|x| x.unwrap_or_else(|e| panic!("{name}: {e}"))).collect()
}

fn raw(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap()
}

fn rewrite(recs: &[Record]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    for r in recs {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

fn first_diff(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x != y).or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

#[test]
fn ping_and_trace_rewrite_byte_identical() {
    for name in ["ping.warts", "trace.warts"] {
        let recs = read_all(name);
        let out = rewrite(&recs);
        let orig = raw(name);
        assert_eq!(first_diff(&orig, &out), None, "{name} differs");
    }
}
