#!/usr/bin/env bash
# traceroute.sh PREFIX DST [VP] -- a Paris traceroute from one VP (default: the first),
# then the next hops of several flows at the first hop where paths split (ECMP).
set -euo pipefail
# shellcheck source=examples/lib.sh
. "$(dirname "$0")/lib.sh"
use_testbed "$1"
dst=${2:?destination missing}
vp=${3:-$(vps | head -n 1)}

echo "from $vp ($(vp_attr "$vp" place)):"
on_vp "$vp" "$VANTAGE" trace -q 1 -w 1 "$dst"

# Paris traceroute keeps one flow per trace; routers that balance per flow show another
# path for another flow. Probe hop 3 with eight source ports.
echo
echo "hop 3 for eight flows (UDP source ports 40001-40008):"
for sport in $(seq 40001 40008); do
  hop=$(on_vp "$vp" "$VANTAGE" trace -f 3 -m 3 -q 1 -w 1 -s "$sport" "$dst" | awk '$1 == 3 { print $2 }')
  echo "  sport $sport -> ${hop:-*}"
done | sort -k4 | awk '{ print } { n[$4]++ } END { printf "  %d distinct next hops\n", length(n) }'
