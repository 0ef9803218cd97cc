//! Temporary debugging aid.
#![allow(clippy::unwrap_used)]
use std::io::Read;
fn main() {
    let name = std::env::args().nth(1).unwrap();
    let mut orig = Vec::new();
    vantage_warts::decompress(std::fs::File::open(&name).unwrap())
        .unwrap()
        .read_to_end(&mut orig)
        .unwrap();
    let recs: Vec<_> = vantage_warts::open(&name)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut w = vantage_warts::Writer::new(Vec::new());
    for r in &recs {
        w.write_record(r).unwrap();
    }
    let out = w.into_inner().unwrap();
    let i = orig
        .iter()
        .zip(&out)
        .position(|(a, b)| a != b)
        .unwrap_or(orig.len().min(out.len()));
    // find record start
    let mut off = 0usize;
    while off + 8 <= orig.len() {
        let len = u32::from_be_bytes([orig[off + 4], orig[off + 5], orig[off + 6], orig[off + 7]])
            as usize;
        if off + 8 + len > i {
            break;
        }
        off += 8 + len;
    }
    println!(
        "diff at {i}, record at {off} type {}",
        u16::from_be_bytes([orig[off + 2], orig[off + 3]])
    );
    let olen =
        u32::from_be_bytes([orig[off + 4], orig[off + 5], orig[off + 6], orig[off + 7]]) as usize;
    let nlen =
        u32::from_be_bytes([out[off + 4], out[off + 5], out[off + 6], out[off + 7]]) as usize;
    let j = (off + 8..off + 8 + olen.min(nlen))
        .find(|&k| orig[k] != out[k])
        .unwrap_or(off + 8 + olen.min(nlen));
    println!("body diff at +{} (lens {olen} {nlen})", j - off - 8);
    let e = (j + 24).min(orig.len()).min(out.len());
    let off = j.saturating_sub(24);
    println!("orig: {:02x?}", &orig[off..e]);
    println!("out : {:02x?}", &out[off..e]);
}
