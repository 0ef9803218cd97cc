#!/usr/bin/env bash
# The whole Vantage test suite: formatting, lints, docs, unit and namespace integration tests,
# fuzz targets (built, their corpora replayed by the unit tests) and the Python module's tests.
# Namespace tests need root; without it they skip themselves and say so.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target

# Keep the build small: a CI machine may have only a few GB of free disk. Without this the suite's
# debug build took 13 GB (debug info and incremental caches); with it, 3.2 GB at its peak.
# Line tables stay, so a failing test's backtrace still names files and lines.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}
export CARGO_PROFILE_TEST_DEBUG=${CARGO_PROFILE_TEST_DEBUG:-line-tables-only}

# Free disk, printed before and after the heavy steps so that a run that runs out says so plainly.
disk() { df -h --output=avail,target . | tail -1 | awk -v at="$1" '{print "disk: " $1 " free on " $2 " (" at ")"}'; }
disk "start"
avail_kb=$(df --output=avail -k . | tail -1)
if [ "$avail_kb" -lt 3500000 ]; then
    echo "warning: only $((avail_kb / 1024)) MB free here; the suite's build needs about 3.5 GB" >&2
fi

# Installs what the suite needs; quick when everything is already there.
bash scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p vantage-proto --all-targets --features tokio-codec --locked -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "fuzz targets build on stable"
if [ -n "${CI:-}" ]; then
    # On CI the fuzz binaries are only checked to build; their own target directory is removed after.
    CARGO_TARGET_DIR=target/fuzz-ci cargo build --manifest-path fuzz/Cargo.toml --locked --quiet
    rm -rf target/fuzz-ci
else
    cargo build --manifest-path fuzz/Cargo.toml --locked --quiet
fi
disk "after clippy, doc and the fuzz build"

step "cargo test"
cargo test --workspace --locked 2>&1 | tee target/test.log
cargo test -p vantage-proto --features tokio-codec --locked --quiet 2>&1 | tail -3
disk "after cargo test"

step "Python module: build, stub check (mypy.stubtest) and pytest"
bash scripts/python-env.sh --check
disk "end"
