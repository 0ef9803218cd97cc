#!/usr/bin/env python3
"""ns_delays.py MUX ZONE -- from the first vantage point: the zone's nameservers (DNS NS
lookup), their addresses (A and AAAA), each address pinged, ordered by RTT (no reply last)."""
import sys
from datetime import timedelta

from vantage import ScamperCtrl


def main() -> None:
    mux, zone = sys.argv[1], sys.argv[2]
    ctrl = ScamperCtrl(mux=mux)
    vp = sorted(ctrl.vps(), key=lambda v: v.name)[0]
    ctrl.add_vps(vp)
    ns = ctrl.do_dns(zone, qtype="NS", wait_timeout=2, sync=True)
    names = sorted(set(ns.ans_nses()))
    print(f"from {vp.name} ({vp.place}): {len(names)} nameservers for {zone}")
    for name in names:
        ctrl.do_dns(name, qtype="A", wait_timeout=2)
        ctrl.do_dns(name, qtype="AAAA", wait_timeout=2)
    name_of = {}
    for host in ctrl.responses(timeout=timedelta(seconds=10)):
        for addr in host.ans_addrs():
            name_of[addr] = host.qname
    for addr in name_of:
        ctrl.do_ping(addr, attempts=3)
    rtts = {}
    for ping in ctrl.responses(timeout=timedelta(seconds=15)):
        rtts[ping.dst] = ping.min_rtt
    ordered = sorted(rtts, key=lambda a: (rtts[a] is None, rtts[a] or timedelta(0)))
    for addr in ordered:
        rtt = rtts[addr]
        shown = f"{rtt.total_seconds() * 1000:.1f} ms" if rtt is not None else "no reply"
        print(f"  {name_of[addr]:<22} {str(addr):<16} {shown}")


if __name__ == "__main__":
    main()
