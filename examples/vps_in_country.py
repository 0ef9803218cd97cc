#!/usr/bin/env python3
"""vps_in_country.py MUX CC -- the vantage points in one country (ISO code)."""
import sys

from vantage import ScamperCtrl


def main() -> None:
    mux, cc = sys.argv[1], sys.argv[2].upper()
    ctrl = ScamperCtrl(mux=mux)
    found = [vp for vp in ctrl.vps() if vp.cc == cc]
    if not found:
        print(f"no vantage points in {cc}")
    for vp in found:
        print(f"  {vp.name} ({vp.place})")


if __name__ == "__main__":
    main()
