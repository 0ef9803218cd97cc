# shellcheck shell=bash
# Shared helpers for the example scripts (sourced, not run).
#
# Until the controller and the Python module land, the examples reach the vantage points
# of a testbed directly: the VP list and metadata come from the testbed's metadata file
# (the one the controller will read), and a measurement "from a VP" is `vantage` run
# inside that VP's network namespace. The Python versions will use the mux socket instead.

VANTAGE=${VANTAGE:-vantage}
STATE_ROOT=${VANTAGE_TESTBED_STATE_ROOT:-/run/vantage-testbed}

# use_testbed PREFIX: check that testbed PREFIX is up and set STATE and METADATA.
use_testbed() {
  PREFIX=${1:?testbed prefix missing}
  STATE=$STATE_ROOT/$PREFIX
  METADATA=$STATE/vp-metadata.txt
  if [ ! -f "$STATE/up" ] || [ ! -f "$METADATA" ]; then
    echo "no testbed \`$PREFIX\` is up (start one with: vantage testbed up $PREFIX)" >&2
    exit 1
  fi
}

# vps: the monitor names of every VP, in metadata-file order.
vps() {
  awk '!/^#/ && NF { if (!seen[$1]++) print $1 }' "$METADATA"
}

# vp_attr NAME ATTR: the VP's attribute (every value, space-separated, for `tag`).
vp_attr() {
  awk -v n="$1" -v a="$2" '$1 == n && $2 == a { $1 = ""; $2 = ""; sub(/^  /, ""); v = v sep $0; sep = " " }
                           END { print v }' "$METADATA"
}

# vp_node NAME: the testbed node a VP runs in (from the layout `up` wrote).
vp_node() {
  awk -v n="$1" '/^Vantage points:/ { f = 1; next } /^$/ { f = 0 } f && $2 == n { print $1 }' \
    "$STATE/layout.txt"
}

# on_vp NAME COMMAND...: run COMMAND in the VP's network namespace.
on_vp() {
  local node
  node=$(vp_node "$1")
  if [ -z "$node" ]; then
    echo "unknown VP $1" >&2
    return 1
  fi
  shift
  ip netns exec "$PREFIX-$node" "$@"
}

# json_field JSON NAME: a number field of a JSON record, e.g. `min` of a ping's statistics.
json_field() {
  grep -o "\"$2\":[-0-9.]*" <<<"$1" | head -n 1 | cut -d: -f2
}
