#!/usr/bin/env python3
"""Results per second through the mux, from Python.

    vantage testbed up bench --with-daemons          # prints the mux path
    .venv/bin/python bench/python_mux.py /run/vantage-testbed/bench/mux
    vantage testbed down bench

Runs, against every VP of the mux (the testbed has five) and one target:
  1. sync:    sequential `do_ping(..., sync=True)` calls (round trips bound);
  2. batch:   N pings issued with `inst=ctrl.instances()`, then `responses()`;
  3. poll:    the same N consumed with `poll()` and a `morecb` feeding work;
  4. asyncio: N `await ctrl.ping(...)` through `AsyncCtrl` with asyncio.gather.
Each ping is one probe (`-c 1`) with a short reply wait, so the figures measure
the path script -> mux -> controller -> probe -> back, not the network.
Prints results/s and ratios; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import vantage
from scamper import ScamperCtrl


def bench_sync(mux: str, dst: str, n: int, wait: float) -> float:
    ctrl = ScamperCtrl(mux=mux)
    insts = ctrl.add_vps(ctrl.vps())
    t0 = time.perf_counter()
    for i in range(n):
        p = ctrl.do_ping(dst, attempts=1, wait_timeout=wait, inst=insts[i % len(insts)], sync=True)
        assert p is not None
    dt = time.perf_counter() - t0
    ctrl.done()
    return n / dt


def bench_batch(mux: str, dst: str, n: int, wait: float) -> float:
    ctrl = ScamperCtrl(mux=mux)
    insts = ctrl.add_vps(ctrl.vps())
    t0 = time.perf_counter()
    for _ in range(n // len(insts)):
        ctrl.do_ping(dst, attempts=1, wait_timeout=wait, inst=insts)
    got = sum(1 for _ in ctrl.responses(timeout=600))
    dt = time.perf_counter() - t0
    errors = list(ctrl.exceptions())
    ctrl.done()
    if errors:
        print(f"  batch: {len(errors)} errors, first: {errors[0]}")
    return got / dt


def bench_poll(mux: str, dst: str, n: int, wait: float) -> float:
    left = {"n": n}

    def more(ctrl, inst, param):
        if left["n"] > 0:
            left["n"] -= 1
            ctrl.do_ping(dst, attempts=1, wait_timeout=wait, inst=inst)
        else:
            inst.done()

    ctrl = ScamperCtrl(mux=mux, morecb=more)
    ctrl.add_vps(ctrl.vps())
    t0 = time.perf_counter()
    got = 0
    while not ctrl.is_done():
        try:
            o = ctrl.poll(timeout=60)
        except vantage.ScamperInstError as e:
            print(f"  poll: {e}")
            continue
        if o is None:
            break
        got += 1
    return got / (time.perf_counter() - t0)


async def _bench_async(mux: str, dst: str, n: int, wait: float) -> float:
    async with vantage.AsyncCtrl(mux=mux) as ctrl:
        vps = ctrl.vps()
        ctrl.add_vps(vps)
        t0 = time.perf_counter()
        rs = await asyncio.gather(
            *(ctrl.ping(dst, vp=vps[i % len(vps)], attempts=1, wait_timeout=wait) for i in range(n))
        )
        dt = time.perf_counter() - t0
        assert len(rs) == n
        return n / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mux", help="the controller's mux socket")
    ap.add_argument("--dst", default="10.4.3.2", help="target to ping (default: the testbed's target)")
    ap.add_argument("-n", "--count", type=int, default=2000, help="pings for batch, poll and asyncio")
    ap.add_argument("--sync-count", type=int, default=100, help="sequential sync pings")
    ap.add_argument("--wait", type=float, default=0.5, help="reply wait of each ping (-W), seconds")
    a = ap.parse_args()
    nvp = len(ScamperCtrl(mux=a.mux).vps())
    print(f"{nvp} VPs, target {a.dst}, one probe per ping, -W {a.wait}s")
    sync = bench_sync(a.mux, a.dst, a.sync_count, a.wait)
    print(f"sync     {a.sync_count:6d} pings  {sync:9.1f} results/s")
    rows = [
        ("batch", bench_batch(a.mux, a.dst, a.count, a.wait)),
        ("poll", bench_poll(a.mux, a.dst, a.count, a.wait)),
        ("asyncio", asyncio.run(_bench_async(a.mux, a.dst, a.count, a.wait))),
    ]
    for name, rate in rows:
        print(f"{name:8s} {a.count:6d} pings  {rate:9.1f} results/s  ({rate / sync:.1f}x sync)")


if __name__ == "__main__":
    main()
