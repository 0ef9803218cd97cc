"""The command text do_* sends (python-api.md Appendix A) and the argument
checks, without a probe: a stand-in channel records what would be sent."""

from __future__ import annotations

import datetime

import pytest

from scamper import ScamperAddr, ScamperCtrl, ScamperInst, ScamperInstError, ScamperTask


class FakeChan:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.halted: list[int] = []
        self.done_sent = False

    def submit(self, cmd: str) -> int:
        self.sent.append(cmd)
        return len(self.sent)

    def halt(self, task: int) -> None:
        self.halted.append(task)

    def done(self) -> None:
        self.done_sent = True

    def events(self, inst, limit=4096):
        return []


def ctrl_with(n: int = 1) -> tuple[ScamperCtrl, list[FakeChan]]:
    ctrl = ScamperCtrl()
    chans = [FakeChan() for _ in range(n)]
    for i, c in enumerate(chans):
        ctrl._add_inst(c, f"vp{i}", f"vp{i}", None)
    return ctrl, chans


@pytest.mark.parametrize(
    "kwargs,text",
    [
        ({}, "ping 192.0.2.1"),
        ({"attempts": 3, "wait_timeout": 1}, "ping -c 3 -W 1.0s 192.0.2.1"),
        ({"wait_probe": 0.01, "ttl": 5, "size": 100}, "ping -i 0.01s -m 5 -s 100 192.0.2.1"),
        ({"method": "tcp-syn", "dport": 25}, "ping -d 25 -P tcp-syn 192.0.2.1"),
        ({"method": "tcp-ack", "tcp_ack": 7, "sport": 1}, "ping -A 7 -F 1 -P tcp-ack 192.0.2.1"),
        ({"payload": b"\x01\xab", "stop_count": 2}, "ping -B 01ab -o 2 192.0.2.1"),
        ({"icmp_id": 9, "icmp_seq": 3, "icmp_sum": 4}, "ping -C 4 -d 3 -F 9 192.0.2.1"),
        ({"ip_rr": True, "dltx": True, "tos": 8, "userid": 4},
         "ping -R -O dltx -U 4 -z 8 192.0.2.1"),
        ({"ip_ts": ["192.0.2.9", ScamperAddr("192.0.2.8")]},
         "ping -T tsprespec=192.0.2.9,192.0.2.8 192.0.2.1"),
        ({"src": "192.0.2.2", "rtr": "192.0.2.3", "mtu": 1280},
         "ping -M 1280 -r 192.0.2.3 -S 192.0.2.2 192.0.2.1"),
        ({"wait_timeout": datetime.timedelta(milliseconds=500)}, "ping -W 0.5s 192.0.2.1"),
    ],
)
def test_ping_text(kwargs, text):
    ctrl, (chan,) = ctrl_with()
    task = ctrl.do_ping("192.0.2.1", **kwargs)
    assert isinstance(task, ScamperTask)
    assert chan.sent == [text]


def test_other_texts():
    ctrl, (chan,) = ctrl_with()
    ctrl.do_trace("192.0.2.1", method="icmp-paris", attempts=1, hoplimit=20, wait_timeout=2,
                  ptr=True, all_attempts=True)
    ctrl.do_trace("192.0.2.1", icmp_sum=5)
    ctrl.do_trace("192.0.2.1", method="udp", sport=1, dport=2, firsthop=2, gaplimit=3,
                  wait_probe=0.5, pmtud=True, squeries=2, confidence=99)
    ctrl.do_tracelb("192.0.2.1", method="icmp-echo", confidence=95, wait_probe=0.1)
    ctrl.do_dns("example.test", "192.0.2.53", qtype="ns", attempts=2, wait_timeout=1, rd=False,
                nsid=True, ecs="192.0.2.0/24", mqtypes=["A", "AAAA"])
    ctrl.do_dns("id.server", qclass="ch", qtype="txt", tcp=True, rd=True)
    ctrl.do_http("192.0.2.80", "https://www.example.test/it's", headers={"X-A": "b"},
                 insecure=True, limit_time=5, userid=1)
    ctrl.do_udpprobe("192.0.2.7", 123, bytearray(b"\x1b\x00"), attempts=2, stop_count=1)
    assert chan.sent == [
        "trace -m 20 -O ptr -P icmp-paris -q 1 -Q -w 2.0s 192.0.2.1",
        "trace -d 5 -P icmp-paris 192.0.2.1",
        "trace -s 1 -d 2 -C 99 -f 2 -g 3 -M -N 2 -P udp -W 0.5s 192.0.2.1",
        "tracelb -c 95 -P icmp-echo -W 0.1s 192.0.2.1",
        "host -s 192.0.2.53 -t ns -R 2 -W 1.0s -r -O nsid -O subnet=192.0.2.0/24 "
        "-O mqtypes=A,AAAA example.test",
        "host -c ch -t txt -T id.server",
        "http -O insecure -m 5.0s -H 'X-A: b' -U 1 -u 'https://www.example.test/it\\'s' 192.0.2.80",
        "udpprobe -d 123 -p 1b00 -c 2 -o 1 192.0.2.7",
    ]


def test_argument_errors():
    ctrl, (chan,) = ctrl_with()
    with pytest.raises(ValueError, match="specify method"):
        ctrl.do_ping("192.0.2.1", dport=80)
    with pytest.raises(ValueError):
        ctrl.do_ping("192.0.2.1", tcp_ack=1)
    with pytest.raises(ValueError):
        ctrl.do_ping("192.0.2.1", method="tcp-syn", tcp_ack=1)
    with pytest.raises(ValueError):
        ctrl.do_ping("192.0.2.1", method="udp", icmp_id=1)
    with pytest.raises(ValueError):
        ctrl.do_ping("192.0.2.1", ip_ts="bogus")
    with pytest.raises(ValueError):
        ctrl.do_ping("192.0.2.1", method="bogus")
    with pytest.raises(TypeError):
        ctrl.do_ping("192.0.2.1", reply_count=4)
    with pytest.raises(ValueError):
        ctrl.do_trace("192.0.2.1", method="udp", icmp_sum=1)
    with pytest.raises(ValueError):
        ctrl.do_dns("x", attempts=0)
    with pytest.raises(ValueError):
        ctrl.do_dns("x", mqtypes=[])
    with pytest.raises(ValueError):
        ctrl.do_http("192.0.2.1", "ftp://x/")
    with pytest.raises(ValueError):
        ctrl.do_http("192.0.2.1", "http://x/", headers={"a": "é"})
    with pytest.raises(ValueError):
        ctrl.do_http("192.0.2.1", "http://x/", ech_grease=True, ech_config_list="AA")
    with pytest.raises(ValueError):
        ctrl.do_udpprobe("192.0.2.1", 0, b"x")
    with pytest.raises(TypeError):
        ctrl.do_udpprobe("192.0.2.1", 7, "not bytes")
    with pytest.raises(TypeError):
        ctrl.poll(until=5)
    assert chan.sent == []


def test_fan_out_and_tasks():
    ctrl, chans = ctrl_with(3)
    insts = ctrl.instances()
    assert all(isinstance(i, ScamperInst) for i in insts) and ctrl.instc == 3
    tasks = ctrl.do_ping("192.0.2.1", inst=set(insts) | {insts[0]})
    assert len(tasks) == 3 and ctrl.taskc == 3 and [i.taskc for i in insts] == [1, 1, 1]
    assert all(c.sent == ["ping 192.0.2.1"] for c in chans)
    insts[1].done()
    assert chans[1].done_sent and insts[1].is_done()
    tasks = ctrl.do_ping("192.0.2.1", inst=insts)
    assert len(tasks) == 2
    with pytest.raises(RuntimeError, match="list of ScamperInst not allowed with ally"):
        ctrl._targets(insts, "ally", False)
    # halt before acceptance is sent once the probe accepts.
    t = tasks[0]
    t.halt()
    assert chans[0].halted == []
    ctrl._on_event(insts[0], ("accepted", t._ticket, 42))
    assert chans[0].halted == [42]
    # A refusal is queued as a ScamperInstError naming the instance.
    ctrl._on_event(insts[0], ("failed", t._ticket, 42, "rejected", None, "bad option"))
    (e,) = list(ctrl.exceptions())
    assert e.inst is insts[0] and str(e) == "got err from vp0: bad option"
    # EOF: the instance leaves, eofcb fires once.
    seen = []
    ctrl.eofcb = lambda c, i, p: seen.append((i, p))
    ctrl.param = "x"
    ctrl._on_event(insts[2], ("ended", "vp_departed", "gone"))
    assert seen == [(insts[2], "x")] and insts[2].is_eof() and insts[2] not in ctrl.instances()
    with pytest.raises(RuntimeError, match="has signalled EOF"):
        ctrl.do_ping("192.0.2.1", inst=insts[2])


def test_sync_timeout_halts_and_raises():
    ctrl, (chan,) = ctrl_with()
    ctrl.sync_timeout = 0.2
    (inst,) = ctrl.instances()
    # The probe accepts the command but no result ever comes.
    real_events = chan.events
    chan.events = lambda i, limit=4096: [("accepted", 1, 7)] if chan.sent and not chan.halted else []
    with pytest.raises(ScamperInstError, match="sync_timeout"):
        ctrl.do_ping("192.0.2.1", sync=True)
    chan.events = real_events
    assert chan.halted == [7] and inst.taskc == 0 and ctrl.taskc == 0


def test_sync_result_is_returned_not_queued():
    ctrl, (chan,) = ctrl_with()
    (inst,) = ctrl.instances()
    sentinel = object()
    chan.events = lambda i, limit=4096: [("result", 1, 7, sentinel, False)] if chan.sent else []
    assert ctrl.do_ping("192.0.2.1", sync=True) is sentinel
    chan.events = lambda i, limit=4096: []
    assert ctrl.poll(timeout=0) is None and inst.resultc == 0


def test_a_sync_call_left_early_queues_its_late_result():
    ctrl, chans = ctrl_with(2)
    a, b = ctrl.instances()
    # Another instance's refusal is raised out of the sync call...
    chans[1].events = lambda i, limit=4096: [("failed", 99, None, "rejected", None, "no")]
    with pytest.raises(ScamperInstError, match="got err from vp1: no"):
        ctrl.do_ping("192.0.2.1", inst=a, sync=True)
    chans[1].events = lambda i, limit=4096: []
    # ...and the sync task's result, when it comes, is queued like any other.
    late = object()
    chans[0].events = lambda i, limit=4096: [("result", 1, 7, late, False)]
    assert ctrl.poll(timeout=0) is late


def test_missing_mux_socket_names_the_path(tmp_path) -> None:
    path = tmp_path / "no-such-mux"
    with pytest.raises(RuntimeError, match=str(path)):
        ScamperCtrl(mux=str(path))
    ctrl = ScamperCtrl()
    with pytest.raises(RuntimeError, match="no mux socket"):
        ctrl.add_mux(str(path))


def test_missing_control_socket_is_a_runtime_error(tmp_path) -> None:
    with pytest.raises(RuntimeError):
        ScamperCtrl(unix=str(tmp_path / "no-such-socket"))


def events(chan: FakeChan, evs: list) -> None:
    """The chan hands out `evs` at the next pump, then nothing."""
    pending = list(evs)

    def ev(inst, limit=4096):
        out = pending[:]
        pending.clear()
        return out

    chan.events = ev


def test_eofcb_error_on_delivery_leaves_poll_and_keeps_the_result():
    # python-api.md 1.8: an eofcb exception raised while poll() dequeues the
    # instance's last result leaves poll() (kept quirk); the result is not lost.
    ctrl, (chan,) = ctrl_with()
    (inst,) = ctrl.instances()
    calls = []

    def eofcb(c, i, p):
        calls.append(i)
        raise KeyError("eofcb failed")

    ctrl.eofcb = eofcb
    ctrl.do_ping("192.0.2.1")
    events(chan, [("accepted", 1, 5), ("result", 1, 5, "R1", False),
                  ("ended", "finished", "finished after done")])
    with pytest.raises(KeyError):
        ctrl.poll(timeout=0)
    assert calls == [inst] and not ctrl.is_done()
    assert ctrl.poll(timeout=0) == "R1"
    assert ctrl.is_done() and ctrl.poll(timeout=0) is None and calls == [inst]


def test_halt_of_a_finished_task_sends_nothing():
    # python-api.md 2.4: halt() stops a running measurement; once its result
    # (or refusal) is in there is nothing to stop, and no "halt" goes out
    # (the probe would refuse it, and a refusal is followed by a MORE).
    ctrl, (chan,) = ctrl_with()
    done = ctrl.do_ping("192.0.2.1")
    refused = ctrl.do_ping("192.0.2.2")
    running = ctrl.do_ping("192.0.2.3")
    events(chan, [("accepted", 1, 5), ("result", 1, 5, "R1", False),
                  ("failed", 2, None, "rejected", None, "no"), ("accepted", 3, 7)])
    assert list(ctrl.responses(timeout=0)) == ["R1"]
    done.halt()
    refused.halt()
    assert chan.halted == []
    running.halt()
    assert chan.halted == [7]


def test_meta_objects_only_with_meta():
    # python-api.md 1.5 (6): list/cycle records reach the user only with meta=True.
    for meta in (False, True):
        ctrl = ScamperCtrl(meta=meta)
        chan = FakeChan()
        inst = ctrl._add_inst(chan, "vp0", "vp0", None)
        events(chan, [("meta", "LIST"), ("result", None, 5, "R1", False)])
        got = [ctrl.poll(timeout=0), ctrl.poll(timeout=0)]
        assert got == (["LIST", "R1"] if meta else ["R1", None]) and inst.resultc == 0


def test_callback_errors_are_queued_and_raised_by_poll():
    # python-api.md 1.8: an exception in morecb/eofcb called from the I/O layer
    # is queued; poll() raises it (before any result), responses() does not,
    # exceptions() hands it out. eofcb runs once, at EOF when nothing is queued.
    ctrl, (chan,) = ctrl_with()
    (inst,) = ctrl.instances()
    seen = []

    def morecb(c, i, p):
        seen.append(("more", i, p))
        raise ValueError("morecb failed")

    def eofcb(c, i, p):
        seen.append(("eof", i, p))
        raise LookupError("eofcb failed")

    ctrl.morecb, ctrl.eofcb, ctrl.param = morecb, eofcb, "P"
    ctrl.do_ping("192.0.2.1")
    events(chan, [("more",), ("accepted", 1, 5), ("result", 1, 5, "R1", False)])
    with pytest.raises(ValueError, match="morecb failed"):
        ctrl.poll(timeout=0)
    assert ctrl.poll(timeout=0) == "R1"
    events(chan, [("more",), ("ended", "finished", "finished after done")])
    assert list(ctrl.responses(timeout=0)) == []
    assert seen == [("more", inst, "P"), ("more", inst, "P"), ("eof", inst, "P")]
    assert [str(e) for e in ctrl.exceptions()] == ["morecb failed", "eofcb failed"]
    assert ctrl.is_done() and ctrl.poll() is None and inst.is_eof() and ctrl.instc == 0
    assert len(seen) == 3


SIGNATURES = {
    # python-api.md 2.1, 3.2-3.5: parameter names, positional order and defaults.
    "__init__": "meta=False morecb=None eofcb=None param=None unix=None remote=None "
                "remote_dir=None mux=None outfile=None",
    "do_ping": "dst tcp_ack=None tcp_seq=None tcp_mss=None attempts=None icmp_id=None "
               "icmp_seq=None icmp_sum=None dport=None sport=None wait_probe=None ttl=None "
               "mtu=None stop_count=None method=None payload=None rtr=None ip_rr=None "
               "ip_ts=None dltx=None size=None src=None wait_timeout=None tos=None "
               "userid=None inst=None sync=False",
    "do_trace": "dst confidence=None dport=None icmp_id=None icmp_sum=None firsthop=None "
                "gaplimit=None loops=None hoplimit=None pmtud=None squeries=None ptr=None "
                "payload=None method=None attempts=None all_attempts=None rtr=None sport=None "
                "src=None tos=None wait_timeout=None wait_probe=None userid=None inst=None "
                "sync=False",
    "do_tracelb": "dst confidence=None dport=None firsthop=None gaplimit=None method=None "
                  "attempts=None ptr=None rtr=None sport=None tos=None wait_timeout=None "
                  "wait_probe=None userid=None inst=None sync=False",
    "do_dns": "qname server=None qclass=None qtype=None mqtypes=None attempts=None rd=None "
              "wait_timeout=None tcp=None nsid=None ecs=None userid=None inst=None sync=False",
    "do_http": "dst url headers=None insecure=False limit_time=None ech_grease=False "
               "ech_config_list=None userid=None inst=None sync=False",
    "do_udpprobe": "dst dport payload attempts=None src=None stop_count=None userid=None "
                   "inst=None sync=False",
    "poll": "timeout=None until=None",
    "responses": "timeout=None until=None",
    "add_inet": "port addr=None",
}


@pytest.mark.parametrize("name,spec", SIGNATURES.items())
def test_signatures_match_the_spec(name, spec):
    import inspect

    params = list(inspect.signature(getattr(ScamperCtrl, name)).parameters.values())[1:]
    got = " ".join(
        p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
        for p in params
    )
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)
    assert got == spec


def test_sync_wait_ends_when_the_connection_is_closed_here():
    # python-api.md 1.7 (a), Appendix B3: a sync=True wait ends with
    # ScamperInstError when its instance ends, whatever the reason, also when
    # this side closed the connection (no exception is queued for others).
    ctrl, (chan,) = ctrl_with()
    ctrl.sync_timeout = 5  # before the fix: ends here instead of hanging
    chan.events = lambda i, limit=4096: (
        [("accepted", 1, 5), ("failed", 1, 5, "ended", "closed_by_client", "closed by this client"),
         ("ended", "closed_by_client", "closed by this client")] if chan.sent else [])
    with pytest.raises(ScamperInstError, match="got fatal from vp0: closed by this client"):
        ctrl.do_ping("192.0.2.1", sync=True)
    assert list(ctrl.exceptions()) == [] and ctrl.instc == 0
