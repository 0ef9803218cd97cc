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

# rate LABEL RECORDS BYTES WALL CPU
rate() {
  awk -v l="$1" -v n="$2" -v b="$3" -v w="$4" -v c="$5" 'BEGIN {
    printf "  %-24s %7.2f s wall %7.2f s cpu %10.0f records/s %8.1f MB/s (wall; %.0f records/s by cpu)\n",
      l, w, c, n / w, b / w / 1e6, n / c }'
}

# timed LABEL RECORDS BYTES COMMAND...: runs the command (output to /dev/null) and prints its
# rates; leaves the wall and cpu (user + system) seconds in $WALL and $CPU.
timed() {
  local label=$1 n=$2 bytes=$3 t
  shift 3
  t=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 )
  WALL=$(echo "$t" | awk '{ print $1 }')
  CPU=$(echo "$t" | awk '{ print $2 + $3 }')
  rate "$label" "$n" "$bytes" "$WALL" "$CPU"
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
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
  ours_wall=$WALL ours_cpu=$CPU
  if command -v sc_warts2json >/dev/null; then
    timed "sc_warts2json (Debian)" "$records" "$bytes" sc_warts2json "$file"
    awk -v a="$WALL" -v b="$ours_wall" -v c="$CPU" -v d="$ours_cpu" 'BEGIN {
      printf "  warts->JSON speed-up over sc_warts2json: %.1fx wall, %.1fx cpu\n", a / b, c / d }'
  else
    echo "  sc_warts2json not installed (apt-get install scamper): no ratio"
  fi
done
[ -n "${BENCH_DIR:-}" ] || rm -rf "$DIR"
