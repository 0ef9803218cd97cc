#!/bin/sh
# Whole-prober figures for Vantage (root only). Builds a direct veth link between two
# network namespaces made for the purpose (vantage-bench-vp, vantage-bench-tg, addresses
# in 10.201.0.0/24), runs the release build of the prober against the target side and
# prints figures; removes the namespaces on exit, also on failure. Run it once: the
# machine has few cores and other work on it skews the numbers.
#
#   bench/probe.sh                  everything
#   SECONDS_PER_STEP=3 RATES="10000 20000 50000 100000 150000 200000" bench/probe.sh
#   RPS=1 bench/probe.sh            prober on CPU 0, the emulated target's kernel work on CPU 1
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

# Counters of where replies can be lost outside the prober: the target kernel's ICMP
# send errors (its reply socket's buffer full) and the per-CPU input backlogs' drops.
target_losses() {
    out_err=$(ip netns exec "$TG" awk '/^Icmp:/ { n++; if (n == 2) print $17 }' /proc/net/snmp)
    backlog=$(python3 -c 'import sys
print(sum(int(l.split()[1], 16) for l in open("/proc/net/softnet_stat")))' 2>/dev/null || echo 0)
    echo "$out_err $backlog"
}

step() { # RATE BATCH
    before=$(target_losses)
    line=$(ip netns exec "$VP" $PIN "$BENCH" rate "$1" "$SECONDS_PER_STEP" "$DST" "$2")
    after=$(target_losses)
    set -- $before $after
    echo "$line target_icmp_out_errors=$(($3 - $1)) backlog_drops=$(($4 - $2))"
}

echo "== kernel $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${RPS:-0}" = 1 ]; then
    # The target's kernel work on CPU 1 (receive packet steering), the prober on CPU 0.
    ip netns exec "$TG" sh -c 'echo 2 > /sys/class/net/vbench1/queues/rx-0/rps_cpus'
    PIN="taskset -c 0"
    echo "== RPS=1: prober pinned to CPU 0, the target's kernel work steered to CPU 1"
else
    PIN=""
    echo "== one CPU does it all: on a veth link the target's kernel work runs in the prober's"
    echo "   system calls (set RPS=1 to steer it to another CPU)"
fi
echo "== 1. loss-free rate (ICMP echo, ${SECONDS_PER_STEP} s per step, exact transmit times: 1 packet per send call)"
# A step counts as sustained when nothing was lost and the rate measured over the middle
# of the run is at least 95% of the step's.
best=0
best_achieved=0
for r in $RATES; do
    line=$(step "$r" 1)
    echo "$line"
    achieved=$(echo "$line" | sed -n 's/.* achieved_pps=\([0-9]*\).*/\1/p')
    case "$line" in
        *" loss=0 "*)
            [ "$achieved" -gt "$best_achieved" ] && best_achieved=$achieved
            [ $((achieved * 100)) -ge $((r * 95)) ] && best=$r
            ;;
    esac
done
echo "highest step sustained (>= 95% of it achieved) with zero loss: $best pps;" \
    "highest loss-free rate achieved: $best_achieved pps"

echo "== 2. the top steps again with 16 packets per sendmmsg call"
for r in 150000 200000; do
    step "$r" 16
done

echo "== 3. 10,000 concurrent ping tasks (5 probes 1 s apart each, 20,000 pps)"
ip netns exec "$VP" $PIN "$BENCH" tasks 10000 5 1 20000 "$DST"
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
ip netns exec "$VP" $PIN "$BENCH" burst 10000 10000 "$DST"
ip netns exec "$VP" $PIN "$BENCH" burst 10000 10000 "$DST" -o 1
i=0
while [ $i -lt 10000 ]; do
    echo "ping -c 1 -o 1 $DST"
    i=$((i + 1))
done > "$CMDS"
/usr/bin/time -f "vantage run (CLI, -o 1, JSON to /dev/null): wall_s=%e cpu_s=%U+%S peak_rss_kb=%M" \
    ip netns exec "$VP" "$VANTAGE" run --pps 10000 --window 10000 -o /dev/null "$CMDS"
