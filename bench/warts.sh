#!/usr/bin/env bash
# Warts reading and warts->JSON throughput of Vantage, and of Debian's
# sc_warts2json on the same files (if installed), as records/s and MB/s of
# warts input. Run once on a quiet machine: it prints rates, never pass/fail.
#
#   bench/warts.sh [PINGS] [TRACES]     (defaults: 1000000 pings, 100000 traces)
#
# Release build; the files go to $BENCH_DIR (default: a temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."

PINGS=${1:-1000000}
TRACES=${2:-100000}
DIR=${BENCH_DIR:-$(mktemp -d)}
export TZ=UTC

echo "== building (release)"
cargo build --release -q -p vantage-cli --bin vantage --example warts_bench
BIN=${CARGO_TARGET_DIR:-target}/release
VANTAGE=$BIN/vantage
GEN=$BIN/examples/warts_bench

now() { date +%s.%N; }

# rate LABEL RECORDS BYTES SECONDS
rate() {
  awk -v l="$1" -v n="$2" -v b="$3" -v s="$4" 'BEGIN {
    printf "  %-28s %8.2f s %12.0f records/s %9.1f MB/s\n", l, s, n / s, b / s / 1e6 }'
}

# timed LABEL RECORDS BYTES COMMAND...: runs the command (stdout to /dev/null), prints its rate,
# and leaves the elapsed seconds in $ELAPSED.
timed() {
  local label=$1 n=$2 bytes=$3
  shift 3
  local t0 t1
  t0=$(now)
  "$@" >/dev/null
  t1=$(now)
  ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  rate "$label" "$n" "$bytes" "$ELAPSED"
}

for kind in ping trace; do
  if [ "$kind" = ping ]; then n=$PINGS; else n=$TRACES; fi
  file=$DIR/bench-$kind.warts
  echo "== $n $kind records"
  [ -s "$file" ] || "$GEN" "gen-$kind" "$n" "$file"
  bytes=$(stat -c %s "$file")
  records=$((n + 3)) # plus the list, cycle-start and cycle-stop records
  echo "  file: $file, $((bytes / 1000000)) MB"
  cat "$file" >/dev/null # warm the page cache
  timed "vantage read" "$records" "$bytes" "$GEN" read "$file"
  timed "vantage warts2json" "$records" "$bytes" "$VANTAGE" warts2json "$file"
  ours=$ELAPSED
  if command -v sc_warts2json >/dev/null; then
    timed "sc_warts2json (Debian)" "$records" "$bytes" sc_warts2json "$file"
    awk -v a="$ELAPSED" -v b="$ours" 'BEGIN { printf "  warts->JSON speed-up over sc_warts2json: %.1fx\n", a / b }'
  else
    echo "  sc_warts2json not installed (apt-get install scamper): no ratio"
  fi
done
[ -n "${BENCH_DIR:-}" ] || rm -rf "$DIR"
