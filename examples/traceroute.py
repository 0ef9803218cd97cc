#!/usr/bin/env python3
"""traceroute.py MUX DST -- a Paris traceroute (icmp-paris) from the first vantage point,
with MPLS labels where routers report them."""
import sys

from vantage import ScamperCtrl


def main() -> None:
    mux, dst = sys.argv[1], sys.argv[2]
    ctrl = ScamperCtrl(mux=mux)
    vp = sorted(ctrl.vps(), key=lambda v: v.name)[0]
    ctrl.add_vps(vp)
    trace = ctrl.do_trace(dst, method="icmp-paris", attempts=1, wait_timeout=1, sync=True)
    print(f"from {vp.name} ({vp.place}) to {trace.dst}, stop reason {trace.stop_reason_str}")
    for ttl, hop in enumerate(trace.hops(), start=trace.firsthop):
        if hop is None:
            print(f"  {ttl:2}  *")
            continue
        line = f"  {hop.probe_ttl:2}  {str(hop.src):<16} {hop.rtt.total_seconds() * 1000:7.1f} ms"
        if hop.icmp_exts is not None and hop.icmp_exts.mpls is not None:
            mpls = hop.icmp_exts.mpls
            labels = ", ".join(str(mpls.mpls_label(i)) for i in range(mpls.mpls_count))
            line += f"  MPLS labels {labels}"
        print(line)


if __name__ == "__main__":
    main()
