#!/usr/bin/env bash
# vps-in-country.sh PREFIX CC -- the vantage points in one country (cf. mux-vps-cc.py).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
use_testbed "$1"
cc=${2:?country code missing}

for vp in $(vps); do
  [ "$(vp_attr "$vp" cc)" = "$cc" ] && echo "$vp"
done
true
