#!/usr/bin/env bash
# Creates or updates the Python environment of Vantage in .venv and installs the
# `vantage` module (with the `scamper` compatibility module) into it. Idempotent:
# run it again after changing crates/python or python/.
#
#   bash scripts/python-env.sh            # venv + maturin, pytest, mypy + module (debug build)
#   bash scripts/python-env.sh --release  # the module built with optimisations (for benchmarks)
#   bash scripts/python-env.sh --check    # also build the CLI and run pytest and mypy.stubtest (CI)
#
# Then: . .venv/bin/activate && python -c 'from scamper import ScamperFile'
set -euo pipefail
cd "$(dirname "$0")/.."

release=()
check=0
for arg in "$@"; do
    case "$arg" in
        --release) release=(--release) ;;
        --check) check=1 ;;
        *) echo "usage: $0 [--release] [--check]" >&2; exit 2 ;;
    esac
done

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv with $($python --version)"
    "$python" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
# Already-satisfied requirements do not touch the network.
pip install -q "maturin>=1.16,<2" pytest mypy

echo "== building and installing the vantage module (maturin develop ${release[*]:-})"
maturin develop -q "${release[@]}"

if [ "$check" = 1 ]; then
    echo "== building the vantage CLI (the tests read what ScamperFile writes with it)"
    cargo build -q -p vantage-cli
    echo "== mypy.stubtest"
    python -m mypy.stubtest vantage scamper
    echo "== pytest"
    python -m pytest -q python/tests
fi
