"""The module surface: names, the scamper alias, enums, constructors."""

from __future__ import annotations

import datetime as dt
import enum

import pytest

import scamper
import vantage
from vantage import ScamperDealiasMidardiscRound, ScamperDealiasProbedef

RESULT_CLASSES = [
    "ScamperPing", "ScamperTrace", "ScamperTracelb", "ScamperDealias", "ScamperHost",
    "ScamperHttp", "ScamperUdpprobe", "ScamperSniff", "ScamperNeighbourdisc", "ScamperTbit",
    "ScamperSting", "ScamperOwamp",
]
NOT_CONSTRUCTIBLE = RESULT_CLASSES + [
    "ScamperList", "ScamperCycle", "ScamperVp", "ScamperInst", "ScamperTask", "ScamperMux",
    "ScamperPingReply", "ScamperPingReplyIPTS", "ScamperTraceHop", "ScamperTracePmtud",
    "ScamperTracePmtudNote", "ScamperIcmpExts", "ScamperIcmpExt", "ScamperTracelbNode",
    "ScamperTracelbLink", "ScamperTracelbProbeset", "ScamperTracelbProbe", "ScamperTracelbReply",
    "ScamperHostRR", "ScamperHostMX", "ScamperHostSOA", "ScamperHostTXT", "ScamperHostOPT",
    "ScamperHostOPTElem", "ScamperHostSVCB", "ScamperHostSVCBParam", "ScamperHttpBuf",
    "ScamperUdpprobeProbe", "ScamperUdpprobeReply", "ScamperSniffPkt", "ScamperDealiasProbe",
    "ScamperDealiasReply", "ScamperHostQuery",
]
ENUMS = {
    "ScamperPingStop": {"NoReason": 0, "Completed": 1, "Error": 2, "Halted": 3, "InProgress": 4},
    "ScamperTraceStop": {"NoReason": 0, "Completed": 1, "Unreach": 2, "Icmp": 3, "Loop": 4, "GapLimit": 5,
                         "Error": 6, "HopLimit": 7, "GSS": 8, "Halted": 9, "InProgress": 10},
    "ScamperHostStop": {"NoReason": 0, "Completed": 1, "Timeout": 2, "Halted": 3, "Error": 4},
    "ScamperHttpStop": {"NoReason": 0, "Halted": 1, "NoConnection": 2, "Completed": 3, "Error": 4,
                        "Timeout": 5, "Insecure": 6},
    "ScamperUdpprobeStop": {"NoReason": 0, "Completed": 1, "Halted": 2, "Error": 3},
    "ScamperSniffStop": {"NoReason": 0, "Error": 1, "LimitTime": 2, "LimitPktC": 3, "Halted": 4},
    "ScamperTracelbMethod": {"UdpDport": 1, "IcmpEcho": 2, "UdpSport": 3, "TcpSport": 4, "TcpAckSport": 5},
    "ScamperOwampSchedType": {"Fixed": 0, "Exponential": 1},
    "ScamperOwampResult": {"NoReason": 0, "Completed": 1, "Halted": 2, "Error": 3, "NoConn": 4,
                           "NotAccepted": 5, "NoMode": 6, "Timeout": 7},
    "ScamperHttpEchStatus": {"NoStatus": 0, "Unknown": 1, "Failed": 2, "Success": 3, "Grease": 4,
                             "GreaseEch": 5, "Backend": 6, "BadCall": 7, "NotTried": 8, "BadName": 9,
                             "NotConfigured": 10, "FailedEch": 11, "FailedEchBadName": 12},
    "ScamperHostType": {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
                        "OPT": 41, "DS": 43, "SSHFP": 44, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48,
                        "SVCB": 64, "HTTPS": 65},
}


def test_scamper_module_is_the_same_objects():
    for name in vantage.__all__:
        assert getattr(scamper, name) is getattr(vantage, name), name
    ns: dict = {}
    exec("from scamper import *", ns)
    for name in RESULT_CLASSES + ["ScamperCtrl", "ScamperFile", "ScamperAddr", "ScamperInstError"]:
        assert ns[name] is getattr(vantage, name)


@pytest.mark.parametrize("name", NOT_CONSTRUCTIBLE)
def test_not_constructible(name):
    cls = getattr(vantage, name)
    with pytest.raises(TypeError, match=r"^This class cannot be instantiated directly\.$"):
        cls()
    with pytest.raises(TypeError, match=r"^This class cannot be instantiated directly\.$"):
        cls(1, x=2)


def test_controller_errors_are_clear():
    ctrl = vantage.ScamperCtrl()
    assert ctrl.instances() == [] and ctrl.vps() == [] and ctrl.is_done()
    with pytest.raises(RuntimeError, match="no mux socket at /nonexistent/mux"):
        scamper.ScamperCtrl(mux="/nonexistent/mux")
    with pytest.raises(RuntimeError, match="no control socket at /run/ark/vps/foo-192.0.2.1:31337"):
        scamper.ScamperCtrl(remote="/run/ark/vps/foo-192.0.2.1:31337")
    with pytest.raises(RuntimeError, match="no connected ScamperInst"):
        ctrl.do_ping("192.0.2.1")
    with pytest.raises(NotImplementedError, match="do_ally"):
        ctrl.do_ally("192.0.2.1", "192.0.2.2")
    e = vantage.ScamperInstError("got err from vp1: bad", None)
    assert isinstance(e, Exception) and str(e) == "got err from vp1: bad" and e.inst is None


@pytest.mark.parametrize("name,members", ENUMS.items())
def test_enums(name, members):
    cls = getattr(vantage, name)
    assert issubclass(cls, enum.IntEnum)
    assert {m.name: m.value for m in cls} == members


def test_probedef():
    pd = ScamperDealiasProbedef("icmp-echo", dst="192.0.2.1", ttl=255)
    assert str(pd) == "-P icmp-echo -i 192.0.2.1 -t 255"
    assert pd.is_icmp() and not pd.is_udp() and pd.sport is None and str(pd.dst) == "192.0.2.1"
    assert repr(pd) == "ScamperDealiasProbedef('icmp-echo', dst='192.0.2.1', ttl=255)"
    udp = ScamperDealiasProbedef("udp", dport=33435, sport=4000)
    assert str(udp) == "-P udp -F 4000 -d 33435" and udp.is_udp() and udp.icmp_sum is None
    with pytest.raises(ValueError):
        ScamperDealiasProbedef("bogus")
    with pytest.raises(ValueError):
        ScamperDealiasProbedef("icmp-echo", dport=1)
    with pytest.raises(ValueError):
        ScamperDealiasProbedef("udp", icmp_sum=1)
    with pytest.raises(ValueError):
        ScamperDealiasProbedef("udp", ttl=256)
    with pytest.raises(ValueError):
        ScamperDealiasProbedef("udp", dst="nonsense")
    with pytest.raises(TypeError):
        ScamperDealiasProbedef("udp", bogus=1)


def test_midardisc_round():
    r = ScamperDealiasMidardiscRound(dt.timedelta(seconds=1, microseconds=5), 0, 3)
    assert str(r) == "1.000005:0:3" and r.begin == 0 and r.end == 3
    assert r.start == dt.timedelta(seconds=1, microseconds=5)
    with pytest.raises(TypeError):
        ScamperDealiasMidardiscRound(1.0, 0, 3)
    with pytest.raises(TypeError):
        ScamperDealiasMidardiscRound(dt.timedelta(0), "0", 3)


def test_times_are_aware_utc(testdata):
    p = next(o for o in vantage.ScamperFile(str(testdata / "ping.warts")) if isinstance(o, vantage.ScamperPing))
    assert p.start.tzinfo is not None and p.start.utcoffset() == dt.timedelta(0)
    assert p.start == dt.datetime(2026, 11, 27, 3, 19, 57, 420040, tzinfo=dt.timezone.utc)
    assert isinstance(p.wait_timeout, dt.timedelta)


MORECB_SCRIPT = '''
from scamper import ScamperCtrl, ScamperInst

def more(ctrl: ScamperCtrl[list[str]], inst: ScamperInst, todo: list[str]) -> None:
    if todo:
        ctrl.do_ping(todo.pop(), inst=inst)
    else:
        inst.done()

ctrl: ScamperCtrl[list[str]] = ScamperCtrl(morecb=more, param=["192.0.2.1"])
'''


def test_ctrl_is_generic_in_param(tmp_path):
    # python-api.md 2.1: ScamperCtrl[PT], PT the type of param (scripts annotate with it).
    ctrl = vantage.ScamperCtrl[int](param=5)
    assert isinstance(ctrl, scamper.ScamperCtrl) and ctrl.param == 5
    mypy_api = pytest.importorskip("mypy.api")
    script = tmp_path / "script.py"
    script.write_text(MORECB_SCRIPT)
    out, err, status = mypy_api.run(["--cache-dir", str(tmp_path / "cache"), str(script)])
    assert status == 0, out + err


def test_host_query_class():
    # python-api.md 4.3: ScamperHostQuery exists (exported, not constructible)
    # with the per-query members; the reference offers no way to list them.
    members = ("tx rx rtt rcode_num rcode extended_rcode_num extended_rcode flags id ancount "
               "an nscount ns arcount ar udpsize edns_version edns_do").split()
    assert [m for m in members if not hasattr(scamper.ScamperHostQuery, m)] == []
    for m in ("an", "ns", "ar"):
        assert callable(getattr(scamper.ScamperHostQuery, m))
