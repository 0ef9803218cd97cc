#!/bin/sh
# Controller figures for Vantage, from the ignored figure tests, built in release once.
# Loopback and unix sockets only. Run it once: the machine has few cores and other
# work on it skews the numbers.
#
#   bench/controller.sh
#   VANTAGE_BENCH_RELAY_N=100000 VANTAGE_BENCH_DELAY_US=10000 VANTAGE_BENCH_VPS=5000 bench/controller.sh
#
# Figures (lines starting with FIGURE):
#  1. relay: commands/s and results/s through the mux to ONE fake VP that answers
#     every ping command at once with a canned result (VANTAGE_BENCH_RELAY_N commands,
#     default 50,000, pipelined on one channel; client, mux, controller and fake VP in
#     one process);
#  2. sync ping: the time of send() + next_result() for one ping, with the VP on
#     loopback and with the VP behind a proxy that delays every byte
#     VANTAGE_BENCH_DELAY_US each way (default 5000); the overhead is the time beyond
#     one round trip (2 x delay), median and p90 over VANTAGE_BENCH_SAMPLES (default
#     50); TCP_NODELAY is checked on the controller's and the fake VP's sockets;
#  3. controller RSS per connected VP: a `vantage controller` process with
#     VANTAGE_BENCH_VPS (default 10,000) plaintext VP links (raw TCP + MASTER_NEW),
#     VmRSS before and after all are listed on the mux. It raises RLIMIT_NOFILE
#     (65536 with CAP_SYS_RESOURCE, else the hard limit, which must exceed the VP count).
set -eu

cd "$(dirname "$0")/.."
cargo test --release --locked -p vantage-controller -p vantage-cli \
    --test bench_relay --test controller_scale --no-run
cargo test --release --locked -p vantage-controller --test bench_relay -- \
    --ignored --nocapture --test-threads=1
cargo test --release --locked -p vantage-cli --test controller_scale -- \
    --ignored --nocapture --test-threads=1
