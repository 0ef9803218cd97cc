#!/usr/bin/env bash
# shortest-ping.sh PREFIX DST -- ping DST from every VP at once, print each VP's
# minimum RTT and the closest VP (cf. shortest-ping.py).
set -euo pipefail
# shellcheck source=examples/lib.sh
. "$(dirname "$0")/lib.sh"
use_testbed "$1"
dst=${2:?destination missing}

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for vp in $(vps); do
  on_vp "$vp" "$VANTAGE" ping -c 3 --json "$dst" >"$out/$vp" 2>&1 &
done
wait

best='' best_rtt=''
for vp in $(vps); do
  json=$(cat "$out/$vp")
  min=$(json_field "$json" min)
  if [ -n "$min" ]; then
    printf '%-24s %-10s %3s/3 replies  min %8.1f ms  avg %8.1f ms\n' "$vp" \
      "$(vp_attr "$vp" place)" "$(json_field "$json" replies)" "$min" "$(json_field "$json" avg)"
    if [ -z "$best" ] || awk -v a="$min" -v b="$best_rtt" 'BEGIN { exit !(a < b) }'; then
      best=$vp best_rtt=$min
    fi
  else
    printf '%-24s %-10s no reply\n' "$vp" "$(vp_attr "$vp" place)"
  fi
done
if [ -n "$best" ]; then
  printf 'closest VP to %s: %s (%s), %.1f ms\n' "$dst" "$best" "$(vp_attr "$best" place)" "$best_rtt"
else
  echo "no responses for $dst"
fi
