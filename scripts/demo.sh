#!/usr/bin/env bash
# The Vantage quick-start demo (run as root on a fresh Debian machine):
# installs what is needed, builds `vantage` and the Python module, brings up the emulated
# Internet with a controller and a probe on every VP, runs the Python example scripts in
# examples/ against its mux socket, and takes it down again -- also on Ctrl-C or when a
# step fails.
#
# Environment: VANTAGE_DEMO_PREFIX (default vdemo) names the demo's testbed; leftovers of
# an earlier, killed demo under that name are removed first.
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

heading "The Python module (virtual environment in .venv: scripts/python-env.sh)"
bash scripts/python-env.sh

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

heading "Bringing up the emulated Internet (vantage testbed up $PREFIX --with-daemons)"
note "a controller and one vantage probe per VP start inside the testbed; the probes dial the" \
  "controller, which serves them all on one mux socket"
"$VANTAGE" testbed up "$PREFIX" --with-daemons >/dev/null
"$VANTAGE" testbed status "$PREFIX" | sed -n '1,2p'
MUX=/run/vantage-testbed/$PREFIX/mux
note "mux socket: $MUX" \
  "map and addresses: docs/testbed.md; everything printed by up: /run/vantage-testbed/$PREFIX/layout.txt"
# The probes dial in within a second or two: wait until all five are on the mux.
for _ in $(seq 100); do
  [ "$("$VANTAGE" vps --mux "$MUX" --json 2>/dev/null | wc -l)" -ge 5 ] && break
  sleep 0.1
done

PY=$root/.venv/bin/python
example() {
  heading "$1"
  shift
  echo "\$ python examples/$*"
  "$PY" "examples/$@"
}

example "The vantage points and their metadata" list_vps.py "$MUX"
example "The vantage points in Japan" vps_in_country.py "$MUX" jp
example "One ping from the first VP to $TARGET (sync=True)" single_ping.py "$MUX" "$TARGET"
example "The closest VP to $TARGET: a ping from every VP at once" closest_vp.py "$MUX" "$TARGET"
note "hop 1 is the VP's gateway, hop 2 core1 after the access delay; hops 3-4 are one of two" \
  "equal-cost paths; hop 5 sends MPLS labels in its time exceeded (RFC 4950); hop 6 is silent;" \
  "hop 7 rate-limits its ICMP errors."
example "A Paris traceroute through the emulated core" traceroute.py "$MUX" "$TARGET"
example "Nameserver delays for $ZONE: DNS lookups, then pings, ordered by RTT" ns_delays.py "$MUX" "$ZONE"
example "asyncio: every VP's ping awaited at once, then a traceroute from the closest" \
  closest_vp_async.py "$MUX" "$TARGET"
example "Event-driven: VPs ask for work, answered targets get traced (morecb + poll)" \
  event_driven.py "$MUX" "$TARGET" 10.4.6.2 10.4.4.2 fd00:4:7::2

heading "The policy each VP published (vantage vps --mux $MUX)"
"$VANTAGE" vps --mux "$MUX"

heading "What the first VP allows, in plain language (vantage vps --policy, vantage policy explain)"
policy=$(mktemp)
"$VANTAGE" vps --mux "$MUX" --policy akl-nz >"$policy"
"$VANTAGE" policy explain "$policy"
rm -f "$policy"
