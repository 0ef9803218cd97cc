#!/bin/sh
# Whole-prober figures for Vantage (root only). Builds a direct veth link between two
# network namespaces made for the purpose (vantage-bench-vp, vantage-bench-tg, addresses
# in 10.201.0.0/24), runs the release build of the prober against the target side and
# prints figures; removes the namespaces on exit, also on failure. Run it once: the
# machine has few cores and other work on it skews the numbers.
#
#   bench/probe.sh                  everything
#   SECONDS_PER_STEP=3 RATES="10000 20000 50000 100000 150000 200000" bench/probe.sh
#
# Figures:
#  1. the highest ping rate one prober sustains with zero loss (stepping RATES up),
#     with CPU seconds per 100,000 probes (user + system of the prober process; on a
#     veth link the kernel's work for the target's replies runs in it too);
#  2. the same highest steps with 16 packets per sendmmsg call, for comparison;
#  3. peak RSS with 10,000 concurrent ping tasks (library, and the `vantage run` CLI);
#  4. the time for 10,000 one-probe pings to ONE destination at 10,000 pps (default wait, and
#     -o 1 which ends each ping at its reply).
set -eu

cd "$(dirname "$0")/.."
RATES=${RATES:-"10000 20000 50000 100000 150000 200000"}
SECONDS_PER_STEP=${SECONDS_PER_STEP:-3}
VP=vantage-bench-vp
TG=vantage-bench-tg
DST=10.201.0.2

if [ "$(id -u)" != 0 ]; then
    echo "bench/probe.sh: needs root (network namespaces, raw sockets)" >&2
    exit 1
fi

cleanup() {
    ip netns del "$VP" 2>/dev/null || true
    ip netns del "$TG" 2>/dev/null || true
    rm -f "${CMDS:-}"
}
trap cleanup EXIT INT TERM
cleanup

echo "== building (release)"
cargo build --release -q -p vantage-probe --example probe_bench
cargo build --release -q -p vantage-cli
BENCH=${CARGO_TARGET_DIR:-target}/release/examples/probe_bench
VANTAGE=${CARGO_TARGET_DIR:-target}/release/vantage

ip netns add "$VP"
ip netns add "$TG"
ip link add vbench0 netns "$VP" type veth peer name vbench1 netns "$TG"
ip -n "$VP" addr add 10.201.0.1/24 dev vbench0
ip -n "$TG" addr add 10.201.0.2/24 dev vbench1
for ns in "$VP" "$TG"; do
    ip -n "$ns" link set lo up
done
ip -n "$VP" link set vbench0 up
ip -n "$TG" link set vbench1 up
sleep 1
ip netns exec "$VP" ping -c 1 -W 2 "$DST" >/dev/null

echo "== kernel $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== 1. loss-free rate (ICMP echo, ${SECONDS_PER_STEP} s per step, exact transmit times: 1 packet per send call)"
best=0
for r in $RATES; do
    line=$(ip netns exec "$VP" "$BENCH" rate "$r" "$SECONDS_PER_STEP" "$DST" 1)
    echo "$line"
    case "$line" in
        *" loss=0 "*) best=$r ;;
    esac
done
echo "highest step with zero loss: $best pps"

echo "== 2. the top steps again with 16 packets per sendmmsg call"
for r in 150000 200000; do
    ip netns exec "$VP" "$BENCH" rate "$r" "$SECONDS_PER_STEP" "$DST" 16
done

echo "== 3. 10,000 concurrent ping tasks (5 probes 1 s apart each, 20,000 pps)"
ip netns exec "$VP" "$BENCH" tasks 10000 5 1 20000 "$DST"
CMDS=$(mktemp)
i=0
while [ $i -lt 10000 ]; do
    echo "ping -c 5 -i 1 $DST"
    i=$((i + 1))
done > "$CMDS"
/usr/bin/time -f "vantage run (CLI, JSON to /dev/null): wall_s=%e cpu_s=%U+%S peak_rss_kb=%M" \
    ip netns exec "$VP" "$VANTAGE" run --pps 20000 --window 10000 -o /dev/null "$CMDS"

echo "== 4. 10,000 one-probe pings to one destination at 10,000 pps"
echo "   (a ping ends -W = 1 s after its last probe, as scamper's; -o 1 ends it at the reply)"
ip netns exec "$VP" "$BENCH" burst 10000 10000 "$DST"
ip netns exec "$VP" "$BENCH" burst 10000 10000 "$DST" -o 1
i=0
while [ $i -lt 10000 ]; do
    echo "ping -c 1 -o 1 $DST"
    i=$((i + 1))
done > "$CMDS"
/usr/bin/time -f "vantage run (CLI, -o 1, JSON to /dev/null): wall_s=%e cpu_s=%U+%S peak_rss_kb=%M" \
    ip netns exec "$VP" "$VANTAGE" run --pps 10000 --window 10000 -o /dev/null "$CMDS"
