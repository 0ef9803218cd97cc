#!/usr/bin/env bash
# The whole Vantage test suite: formatting, lints, docs, unit and namespace integration tests,
# fuzz targets (built, their corpora replayed by the unit tests) and the Python module's tests.
# Namespace tests need root; without it they skip themselves and say so.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target

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
cargo build --manifest-path fuzz/Cargo.toml --locked --quiet

step "cargo test"
cargo test --workspace --locked 2>&1 | tee target/test.log
cargo test -p vantage-proto --features tokio-codec --locked --quiet 2>&1 | tail -3

step "Python module: build, stub check (mypy.stubtest) and pytest"
bash scripts/python-env.sh --check
