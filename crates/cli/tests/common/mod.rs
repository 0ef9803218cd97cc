//! Helpers shared by `app_cli.rs` and `probe_cli.rs` (each says `mod common;`): running the
//! `vantage` binary here or in a testbed node, checking a usage error, and asserting on
//! what a node's run printed.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use vantage_testbed::{CommandOutput, Topology, is_root};

/// The `vantage` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_vantage");

/// Runs `vantage ARGS` here.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// Bytes as (lossy) text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `vantage ARGS`, which should fail with a usage error: status 2, nothing on
/// standard output, one line on standard error, which it returns.
#[track_caller]
pub fn usage_error(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{args:?}: {err:?}");
    assert!(out.stdout.is_empty(), "{args:?}");
    err
}

/// True (after a note) when the test cannot build network namespaces: it then passes,
/// skipped.
pub fn skip_without_root() -> bool {
    let skip = !is_root();
    if skip {
        eprintln!("skipping: building network namespaces needs root");
    }
    skip
}

/// Runs `vantage ARGS` in the testbed node `node`.
pub fn exec(topo: &Topology, node: &str, args: &[&str]) -> CommandOutput {
    let mut a = vec![BIN];
    a.extend_from_slice(args);
    topo.exec(node, &a).unwrap()
}

/// Asserts that `out` printed `prefix` first.
#[track_caller]
pub fn assert_starts(out: &CommandOutput, prefix: &str) {
    assert!(out.stdout.starts_with(prefix), "{}", out.stdout);
}

/// Asserts that `out` printed `part` somewhere.
#[track_caller]
pub fn assert_prints(out: &CommandOutput, part: &str) {
    assert!(out.stdout.contains(part), "{}", out.stdout);
}
