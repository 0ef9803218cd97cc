#!/usr/bin/env python3
"""single_ping.py MUX DST -- one ping from the first vantage point, waited for (sync=True)."""
import sys

from vantage import ScamperCtrl


def main() -> None:
    mux, dst = sys.argv[1], sys.argv[2]
    ctrl = ScamperCtrl(mux=mux)
    vp = sorted(ctrl.vps(), key=lambda v: v.name)[0]
    ctrl.add_vps(vp)
    ping = ctrl.do_ping(dst, attempts=3, sync=True)
    print(f"from {vp.name} ({vp.place}) to {ping.dst}: {ping.nreplies}/{ping.probe_count} replies")
    for reply in ping:
        print(f"  {reply}")
    if ping.min_rtt is not None:
        print(f"  min {ping.min_rtt.total_seconds() * 1000:.1f} ms, avg {ping.avg_rtt.total_seconds() * 1000:.1f} ms")


if __name__ == "__main__":
    main()
