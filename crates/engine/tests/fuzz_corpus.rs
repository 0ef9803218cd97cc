//! Replays the committed fuzz corpus (`fuzz/corpus/engine_packets/`)
//! through the fuzz target's function, and (ignored) regenerates the seeds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::time::Instant;

use common::*;
use vantage_engine::fuzzing;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/engine_packets")
}

#[test]
fn replay_corpus() {
    let mut n = 0;
    for entry in std::fs::read_dir(corpus_dir()).expect("corpus directory") {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        fuzzing::engine_packets(&bytes);
        n += 1;
    }
    assert!(n >= 3, "only {n} corpus files");
}

#[test]
fn fuzz_world_builds() {
    let (e, _, _, probes) = fuzzing::world().expect("world");
    assert_eq!(probes.len(), fuzzing::COMMANDS.len() + 2); // two parallel icmp-paris extra hops
    assert_eq!(e.stats().tasks, fuzzing::COMMANDS.len());
}

#[test]
fn seed_replies_match_the_world() {
    let (mut e, t0, wall, _) = fuzzing::world().unwrap();
    let mut matched = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|d| d.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("reply-")
        })
        .collect();
    files.sort();
    for f in files {
        let bytes = std::fs::read(f).unwrap();
        let h = e.handle_packet(t0, wall, &bytes[3..]);
        if h == vantage_engine::Handled::Matched {
            matched += 1;
        }
    }
    assert!(matched >= 10, "{matched}");
}

fn frame(out: &mut Vec<u8>, pkt: &[u8], ctl: u8) {
    out.extend_from_slice(&(pkt.len() as u16).to_be_bytes());
    out.push(ctl);
    out.extend_from_slice(pkt);
}

/// Writes the seed corpus: genuine replies to the world's first probes.
#[test]
#[ignore = "run by hand to regenerate fuzz/corpus/engine_packets"]
fn write_corpus() {
    let (_, _, _, probes) = fuzzing::world().unwrap();
    let mut net = Net::default();
    net.add_path(v4(192, 0, 2, 1), Path::new(routers4(2)));
    let mut p6 = Path::new(routers6(2));
    p6.quote = QuoteLen::Transport(8);
    net.add_path("2001:db8::1".parse().unwrap(), p6);
    let t = Instant::now();
    for p in &probes {
        net.inject(t, p);
    }
    let mut replies = Vec::new();
    while let Some(b) = net.pop_due(t + std::time::Duration::from_secs(10)) {
        replies.push(b);
    }
    assert!(replies.len() >= 8);
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let mut all = Vec::new();
    for (i, r) in replies.iter().enumerate() {
        let mut one = Vec::new();
        frame(&mut one, r, 2);
        std::fs::write(dir.join(format!("reply-{i:02}")), &one).unwrap();
        frame(&mut all, r, 2);
    }
    // the same replies twice (duplicates), then an ICMPv6 message without its header
    let again = all.clone();
    all.extend_from_slice(&again);
    if let Some(v6) = replies.iter().find(|r| r[0] >> 4 == 6 && r[6] == 58) {
        frame(&mut all, &v6[40..], 3);
    }
    std::fs::write(dir.join("mixed"), &all).unwrap();
}
