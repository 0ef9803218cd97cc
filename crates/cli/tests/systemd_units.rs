//! The systemd units shipped in `packaging/systemd/` follow the program: every option
//! their `ExecStart` lines give exists and takes the value given (clap checks the whole
//! line before it prints the help that `--help` at the end asks for).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn units_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/systemd")
}

/// The words of a unit's `ExecStart=` (continuation lines joined).
fn exec_start(unit: &str) -> Vec<String> {
    let joined = unit.replace("\\\n", " ");
    let line = joined
        .lines()
        .find_map(|l| l.trim().strip_prefix("ExecStart="))
        .expect("no ExecStart= line");
    line.split_whitespace().map(str::to_owned).collect()
}

fn check_unit(file: &str, subcommand: &str) {
    let path = units_dir().join(file);
    let unit = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let words = exec_start(&unit);
    assert!(
        words[0].ends_with("/vantage"),
        "{file}: ExecStart runs {} instead of vantage",
        words[0]
    );
    assert_eq!(words[1], subcommand, "{file}: wrong subcommand");
    assert!(
        words.iter().any(|w| w.starts_with("--")),
        "{file}: no options found in ExecStart"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_vantage"))
        .args(&words[1..])
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{file}: `vantage {}` is not accepted:\n{}",
        words[1..].join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains(&format!("Usage: vantage {subcommand}")),
        "{file}: unexpected output:\n{help}"
    );
    assert!(
        unit.contains("ExecReload=/bin/kill -HUP $MAINPID"),
        "{file}: SIGHUP reloads (metadata, do-not-probe list): keep ExecReload"
    );
}

#[test]
fn controller_unit_options_exist() {
    check_unit("vantage-controller.service", "controller");
}

#[test]
fn probe_unit_options_exist() {
    check_unit("vantage-probe.service", "probe");
}

#[test]
fn a_wrong_option_or_value_is_noticed() {
    // The check itself can fail: an option the probe does not have, or a value its
    // option does not take, is refused before `--help` is reached.
    for args in [
        &["probe", "--no-such-option", "x", "--help"][..],
        &["probe", "--pps", "fast", "--help"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_vantage"))
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
    }
}
