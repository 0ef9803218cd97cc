#!/usr/bin/env bash
# single-ping.sh PREFIX DST -- one ping from the first VP, waiting for its result
# (cf. single-ping.py).
set -euo pipefail
# shellcheck source=examples/lib.sh
. "$(dirname "$0")/lib.sh"
use_testbed "$1"
dst=${2:?destination missing}

vp=$(vps | head -n 1)
on_vp "$vp" "$VANTAGE" ping -c 3 "$dst" || true
