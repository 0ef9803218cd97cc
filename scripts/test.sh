#!/usr/bin/env bash
# The whole Vantage test suite: formatting, lints, unit and namespace integration tests.
# Namespace tests need root; without it they skip themselves and say so.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked 2>&1 | tee target/test.log
