#!/usr/bin/env bash
# list-vps.sh PREFIX -- every vantage point of a testbed with its metadata
# (what the Python module's `ctrl.vps()` returns; cf. mux-vps.py).
set -euo pipefail
# shellcheck source=examples/lib.sh
. "$(dirname "$0")/lib.sh"
use_testbed "$1"

printf '%-24s %-10s %-3s %-4s %-18s %-8s %-8s %s\n' NAME PLACE CC ST LAT,LONG ASN4 ASN6 TAGS
for vp in $(vps); do
  printf '%-24s %-10s %-3s %-4s %-18s %-8s %-8s %s\n' "$vp" \
    "$(vp_attr "$vp" place)" "$(vp_attr "$vp" cc)" "$(vp_attr "$vp" st)" \
    "$(vp_attr "$vp" latlong)" "$(vp_attr "$vp" asn4)" "$(vp_attr "$vp" asn6)" \
    "$(vp_attr "$vp" tag)"
done
