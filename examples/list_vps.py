#!/usr/bin/env python3
"""list_vps.py MUX -- every vantage point behind a Vantage mux, with its metadata."""
import sys

from vantage import ScamperCtrl


def main() -> None:
    ctrl = ScamperCtrl(mux=sys.argv[1])
    vps = sorted(ctrl.vps(), key=lambda vp: vp.name)
    print(f"{len(vps)} vantage points")
    for vp in vps:
        loc = f"{vp.loc[0]:.2f},{vp.loc[1]:.2f}" if vp.loc else "-"
        tags = ",".join(sorted(vp.tags)) or "-"
        print(f"  {vp.name:<24} {vp.cc or '-':<3} {vp.place or '-':<12} AS{vp.asn4 or '?':<7} {loc:<16} {tags}")


if __name__ == "__main__":
    main()
