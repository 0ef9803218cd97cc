#!/usr/bin/env python3
"""event_driven.py MUX DST... -- event-driven measurement: every VP asks for work when it
has room (morecb) and takes the next job of a shared queue; results are handled as they
arrive (poll), and a target that answers a ping is then traced: new work decided by a
result. When no job is queued or running, the VPs are told they are done."""
import sys
from datetime import timedelta

from vantage import ScamperCtrl


class Work:
    """The shared queue of jobs and the VPs waiting for one."""

    def __init__(self, targets):
        self.queue = [("ping", dst) for dst in targets]
        self.idle = []

    def start(self, ctrl, inst):
        kind, dst = self.queue.pop(0)
        if kind == "ping":
            ctrl.do_ping(dst, attempts=2, inst=inst)
        else:
            ctrl.do_trace(dst, method="icmp-paris", attempts=1, wait_timeout=1, inst=inst)


def more(ctrl, inst, work):
    """A VP has room for another measurement: give it the next job, or let it wait."""
    if work.queue:
        work.start(ctrl, inst)
    else:
        work.idle.append(inst)


def main() -> None:
    mux, targets = sys.argv[1], sys.argv[2:]
    work = Work(targets)
    ctrl = ScamperCtrl(mux=mux, morecb=more, param=work)
    ctrl.add_vps(sorted(ctrl.vps(), key=lambda vp: vp.name)[:2])
    while not ctrl.is_done():
        try:
            o = ctrl.poll(timeout=timedelta(seconds=15))
        except Exception as err:  # a refused command or a lost VP: report it, go on
            print(f"  error: {err}")
            o = None
        if o is not None and o.__class__.__name__ == "ScamperPing":
            shown = f"{o.min_rtt.total_seconds() * 1000:.1f} ms" if o.min_rtt else "no reply"
            print(f"  {o.inst.name:<24} ping  {str(o.dst):<12} {shown}")
            if o.min_rtt is not None:
                work.queue.append(("trace", str(o.dst)))
        elif o is not None:
            print(f"  {o.inst.name:<24} trace {str(o.dst):<12} {o.hop_count} hops, {o.stop_reason_str}")
        while work.queue and work.idle:
            work.start(ctrl, work.idle.pop(0))
        if not work.queue and ctrl.taskc == 0:
            for inst in work.idle:
                inst.done()
            work.idle.clear()
        elif o is None and ctrl.taskc == 0 and not work.idle:
            break  # nothing arrived for 15 s and nothing is running


if __name__ == "__main__":
    main()
