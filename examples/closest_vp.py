#!/usr/bin/env python3
"""closest_vp.py MUX DST -- ping DST from every vantage point at once and name the closest.

Results are consumed as they arrive (ctrl.responses), the way a reactive script would.
"""
import sys
from datetime import timedelta

from vantage import ScamperCtrl


def main() -> None:
    mux, dst = sys.argv[1], sys.argv[2]
    ctrl = ScamperCtrl(mux=mux)
    ctrl.add_vps(ctrl.vps())
    ctrl.do_ping(dst, attempts=3, inst=ctrl.instances())
    best = None
    for ping in ctrl.responses(timeout=timedelta(seconds=20)):
        if ping.min_rtt is None:
            print(f"  {ping.inst.name:<24} {ping.inst.place or '':<12} no reply")
            continue
        ms = ping.min_rtt.total_seconds() * 1000
        print(f"  {ping.inst.name:<24} {ping.inst.place or '':<12} min {ms:7.1f} ms")
        if best is None or ping.min_rtt < best.min_rtt:
            best = ping
    for err in ctrl.exceptions():
        print(f"  error: {err}")
    if best is None:
        print(f"no replies from {dst}")
    else:
        print(f"closest VP to {dst}: {best.inst.name} ({best.inst.place}), "
              f"{best.min_rtt.total_seconds() * 1000:.1f} ms")


if __name__ == "__main__":
    main()
