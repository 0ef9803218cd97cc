#!/usr/bin/env bash
# authns-delay.sh PREFIX ZONE [VP] -- the zone's authoritative nameservers, every
# address of them pinged from one VP, sorted by RTT, unresponsive last
# (cf. authns-delay.py). Until DNS measurements are in the `vantage` command line, the
# lookups are made with dig (from the same VP, against the testbed's nameservers).
set -euo pipefail
# shellcheck source=examples/lib.sh
. "$(dirname "$0")/lib.sh"
use_testbed "$1"
zone=${2:?zone missing}
vp=${3:-$(vps | head -n 1)}

declare -A name_of
for ns in $(on_vp "$vp" dig +short NS "$zone"); do
  for a in $(on_vp "$vp" dig +short A "$ns") $(on_vp "$vp" dig +short AAAA "$ns"); do
    name_of[$a]=${ns%.}
  done
done
[ "${#name_of[@]}" -gt 0 ] || { echo "no nameservers found for $zone"; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
i=0
for a in "${!name_of[@]}"; do
  i=$((i + 1))
  echo "$a" >"$out/$i.addr"
  on_vp "$vp" "$VANTAGE" ping -c 3 --json "$a" >"$out/$i.json" 2>&1 &
done
wait

echo "from $vp ($(vp_attr "$vp" place)):"
for f in "$out"/*.addr; do
  a=$(cat "$f")
  min=$(json_field "$(cat "${f%.addr}.json")" min)
  printf '%s\t%s\t%s\n' "${min:-inf}" "${name_of[$a]}" "$a"
done | sort -t$'\t' -k1,1g | awk -F'\t' '{ printf "  %-20s %-14s %s\n", $2, $3, ($1 == "inf" ? "no reply" : sprintf("%.1f ms", $1)) }'
