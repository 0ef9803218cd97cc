#!/usr/bin/env python3
"""ScamperFile read throughput: 1,000,000 pings, touching `dst` and `min_rtt` of each.

    bash scripts/python-env.sh --release && .venv/bin/python bench/python_file.py

The input is made once (target/bench/pings-1m.warts) by writing the 32 pings of
shared/testdata/warts/ping.warts over and over with ScamperFile. The script
prints results/s for the loop the issue asks about, for plain iteration, and
the CPU time per result (wall figures depend on what else the 2 cores run;
the CPU figure less so). Goal: at least 1,000,000 results/s. The reference
module (PyPI `scamper`) cannot be built here: its sdist links against
libscamperfile and libscamperctrl of scamper 2026, and Debian ships only
libscamperfile 20211212 and no libscamperctrl, so there is no side-by-side run.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from vantage import ScamperFile, ScamperPing

REPO = Path(__file__).resolve().parents[1]


def make_input(path: Path, n: int, source: Path) -> None:
    pings = [o for o in ScamperFile(str(source)) if isinstance(o, ScamperPing)]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    t = time.perf_counter()
    with ScamperFile(str(tmp), "w", kind="warts") as w:
        for i in range(n):
            w.write(pings[i % len(pings)])
    tmp.rename(path)
    dt = time.perf_counter() - t
    print(f"made {path} ({path.stat().st_size / 1e6:.0f} MB, {n} pings) in {dt:.1f} s: {n / dt:,.0f} writes/s")


def run(path: Path, touch: bool) -> tuple[int, float, float]:
    t, c = time.perf_counter(), time.process_time()
    n = 0
    if touch:
        for o in ScamperFile(str(path), filter_types=[ScamperPing]):
            o.dst
            o.min_rtt
            n += 1
    else:
        for _o in ScamperFile(str(path), filter_types=[ScamperPing]):
            n += 1
    return n, time.perf_counter() - t, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--file", type=Path, default=REPO / "target" / "bench" / "pings-1m.warts")
    ap.add_argument("--source", type=Path, default=REPO.parent / "shared" / "testdata" / "warts" / "ping.warts")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not args.file.exists():
        make_input(args.file, args.records, args.source)
    load = os.getloadavg()[0]
    print(f"load average before: {load:.2f} on {os.cpu_count()} cores")
    for touch, label in ((True, "dst + min_rtt"), (False, "iteration only")):
        best = None
        for _ in range(args.runs):
            n, wall, cpu = run(args.file, touch)
            if best is None or wall < best[1]:
                best = (n, wall, cpu)
        n, wall, cpu = best
        print(
            f"{label:15}: {n:,} pings in {wall:.3f} s = {n / wall:,.0f} results/s "
            f"({n / wall / 1e6:.2f}x the 1M/s goal); CPU {cpu / n * 1e9:.0f} ns/result over both threads"
        )


if __name__ == "__main__":
    main()
