#!/usr/bin/env bash
# The Vantage quick-start demo (run as root on a fresh Debian machine):
# installs what is needed, builds `vantage`, brings up the emulated Internet, runs the
# example scripts in examples/ against it, and takes it down again -- also on Ctrl-C or
# when a step fails.
#
# Environment: VANTAGE_DEMO_PREFIX (default vdemo) names the demo's testbed; leftovers of
# an earlier, killed demo under that name are removed first. VANTAGE_DEMO_DAEMONS=1 also
# starts `vantage controller` and a `vantage probe` per VP in the testbed (refused until the
# binary has those subcommands). When they and the Python module land, this becomes the
# default and the examples turn into Python scripts talking to the testbed's mux socket.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

PREFIX=${VANTAGE_DEMO_PREFIX:-vdemo}
TARGET=10.4.3.2 # `target` in the testbed: answers pings
ZONE=example.test

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
heading() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
note() { printf '%s\n' "$@" | sed 's/^/   /'; }

if [ "$(id -u)" != 0 ]; then
  echo "demo: run as root (the testbed builds network namespaces)" >&2
  exit 1
fi

heading "Setting up this machine (scripts/setup.sh)"
bash scripts/setup.sh

heading "Building vantage (debug build: the quickest from an empty target directory)"
cargo build --locked -p vantage-cli --bin vantage
export VANTAGE=$root/target/debug/vantage

if [ -f scripts/python-env.sh ]; then
  heading "Python module (virtual environment in .venv)"
  bash scripts/python-env.sh || echo "demo: the Python module did not build; the examples below do not need it yet"
fi

# From here on the testbed is always taken down: on success, on a failed step, on Ctrl-C.
teardown() {
  status=$?
  trap - EXIT INT TERM
  heading "Taking the testbed down"
  "$VANTAGE" testbed down "$PREFIX" || status=1
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -d "/run/vantage-testbed/$PREFIX" ] || ip netns list | grep "^$PREFIX-" >/dev/null; then
  heading "Removing the leftovers of an earlier demo"
  "$VANTAGE" testbed down "$PREFIX"
fi

heading "Bringing up the emulated Internet (vantage testbed up $PREFIX)"
up_flags=()
if [ "${VANTAGE_DEMO_DAEMONS:-0}" = 1 ]; then up_flags+=(--with-daemons); fi
"$VANTAGE" testbed up "$PREFIX" "${up_flags[@]}" >/dev/null
"$VANTAGE" testbed status "$PREFIX" | sed -n '1,2p'
note "map and addresses: docs/testbed.md; everything printed by up: /run/vantage-testbed/$PREFIX/layout.txt"

heading "The vantage points and their metadata (examples/list-vps.sh)"
examples/list-vps.sh "$PREFIX"

heading "The vantage points in Japan (examples/vps-in-country.sh $PREFIX jp)"
examples/vps-in-country.sh "$PREFIX" jp

heading "One ping from the first VP to $TARGET (examples/single-ping.sh)"
examples/single-ping.sh "$PREFIX" "$TARGET"

heading "The closest VP to $TARGET: a ping from every VP at once (examples/shortest-ping.sh)"
examples/shortest-ping.sh "$PREFIX" "$TARGET"

heading "A traceroute through the emulated core (examples/traceroute.sh)"
note "hop 1 is the VP's gateway, hop 2 core1 after the access delay; hops 3-4 are one of two" \
  "equal-cost paths; hop 5 sends MPLS labels in its time exceeded (RFC 4950); hop 6 is silent;" \
  "hop 7 rate-limits its ICMP errors."
examples/traceroute.sh "$PREFIX" "$TARGET"

heading "Nameserver delays for $ZONE from the first VP (examples/authns-delay.sh)"
examples/authns-delay.sh "$PREFIX" "$ZONE"
