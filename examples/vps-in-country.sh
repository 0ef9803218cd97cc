#!/usr/bin/env bash
# vps-in-country.sh PREFIX CC -- the vantage points in one country, CC in either case
# (cf. mux-vps-cc.py; the Python module upper-cases country codes).
set -euo pipefail
# shellcheck source=examples/lib.sh
. "$(dirname "$0")/lib.sh"
use_testbed "$1"
cc=${2:?country code missing}

for vp in $(vps); do
  cc_vp=$(vp_attr "$vp" cc)
  [ "${cc_vp^^}" = "${cc^^}" ] && echo "$vp"
done
true
