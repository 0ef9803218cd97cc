#!/usr/bin/env python3
"""closest_vp_async.py MUX DST -- closest_vp.py with asyncio: one awaited ping per VP,
all in flight at once, then a traceroute from the winner."""
import asyncio
import sys

import vantage


async def main(mux: str, dst: str) -> None:
    async with vantage.AsyncCtrl(mux=mux) as ctrl:
        vps = ctrl.vps()
        pings = await asyncio.gather(*(ctrl.ping(dst, vp=vp, attempts=3) for vp in vps))
        answered = [p for p in pings if p.min_rtt is not None]
        for p in sorted(answered, key=lambda p: p.min_rtt):
            print(f"  {p.inst.name:<24} min {p.min_rtt.total_seconds() * 1000:7.1f} ms")
        if not answered:
            print(f"no replies from {dst}")
            return
        best = min(answered, key=lambda p: p.min_rtt)
        # React to the result: trace from the closest VP only.
        trace = await ctrl.trace(dst, vp=best.inst.name, method="icmp-paris", attempts=1)
        hops = sum(1 for hop in trace.hops() if hop is not None)
        print(f"closest VP {best.inst.name}: {trace.hop_count} hops to {dst} "
              f"({hops} answered), stop reason {trace.stop_reason_str}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
