"""ScamperCtrl against a real Vantage controller and real probes.

A session-scoped fixture starts a testbed (`vantage testbed up PREFIX
--with-daemons`: five VPs in network namespaces, a controller, targets) under
a prefix of its own and takes it down afterwards, even when tests fail. It
needs root and the `vantage` binary (`cargo build -p vantage-cli`, which
`scripts/python-env.sh --check` does); without them the tests skip and say why.

The test that kills a probe runs last (it takes one VP away for good) and
waits out the controller's grace period (60 s) for the VP to depart.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import vantage
from scamper import (
    ScamperCtrl,
    ScamperFile,
    ScamperHost,
    ScamperInst,
    ScamperInstError,
    ScamperPing,
    ScamperTask,
    ScamperTrace,
    ScamperTracelb,
    ScamperVp,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO.parent / "shared" / "examples"
VANTAGE = Path(os.environ.get("VANTAGE_BIN", REPO / "target" / "debug" / "vantage"))

TARGET = "10.4.3.2"  # answers pings
DARK = "10.4.6.2"  # answers nothing
VP_NAMES = {
    "akl-nz.vp.example.test",
    "san-us.vp.example.test",
    "fra-de.vp.example.test",
    "nrt-jp.vp.example.test",
    "gru-br.vp.example.test",
}
CLOSEST = "san-us.vp.example.test"  # 2 ms access RTT, the others 25-120 ms


@dataclass
class Bed:
    prefix: str
    mux: str
    state: Path

    def probe_pid(self, shortname: str) -> int:
        """The pid of the probe of VP `shortname` (from the testbed's pid records)."""
        rec = (self.state / "pids" / f"hook-probe-{shortname}.pid").read_text().split()
        return int(rec[0])


def _down(prefix: str) -> None:
    subprocess.run([str(VANTAGE), "testbed", "down", prefix], capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def testbed():
    if os.geteuid() != 0:
        pytest.skip("the controller tests start a testbed in network namespaces: run them as root")
    if not VANTAGE.exists():
        pytest.skip(f"no vantage binary at {VANTAGE}: run `cargo build -p vantage-cli` first")
    prefix = f"py{os.getpid() % 1000000}"
    try:
        up = subprocess.run(
            [str(VANTAGE), "testbed", "up", prefix, "--with-daemons"],
            capture_output=True, text=True, timeout=300,
        )
        assert up.returncode == 0, f"testbed up failed:\n{up.stdout}\n{up.stderr}"
        m = re.search(r"mux socket\s+(\S+)", up.stdout)
        assert m, f"no mux path in:\n{up.stdout}"
        mux = m.group(1)
        # Every probe dials in by itself: wait until all five are listed.
        names: set[str] = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                names = {vp.name for vp in ScamperCtrl(mux=mux).vps()}
            except RuntimeError:
                names = set()
            if names >= VP_NAMES:
                break
            time.sleep(0.2)
        assert names >= VP_NAMES, f"VPs listed by the mux: {names}"
        yield Bed(prefix, mux, Path(mux).parent)
    finally:
        _down(prefix)


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True, text=True, timeout=120,
    )


# ------------------------------------------------------------------ the examples, unchanged


def test_example_mux_vps(testbed):
    r = run_example("mux-vps.py", testbed.mux)
    assert r.returncode == 0, r.stderr
    assert set(r.stdout.split()) == VP_NAMES


def test_example_mux_vps_cc(testbed):
    r = run_example("mux-vps-cc.py", testbed.mux, "DE")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["fra-de.vp.example.test"]
    r = run_example("mux-vps-cc.py", testbed.mux, "FR")
    assert r.returncode == 0 and r.stdout == ""


def test_example_single_ping(testbed):
    first = ScamperCtrl(mux=testbed.mux).vps()[0].name
    r = run_example("single-ping.py", testbed.mux, TARGET)
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"(\S+) (\d+\.\d) ms\n", r.stdout)
    assert m, r.stdout
    assert m.group(1) == first and float(m.group(2)) > 0


def test_example_single_ping_no_answer(testbed):
    r = run_example("single-ping.py", testbed.mux, DARK)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"no responses for {DARK}\n"


def test_example_shortest_ping(testbed):
    r = run_example("shortest-ping.py", testbed.mux, TARGET)
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"(\S+) (\d+\.\d) ms\n", r.stdout)
    assert m, r.stdout
    assert m.group(1) == CLOSEST


def test_example_authns_delay(testbed):
    r = run_example("authns-delay.py", testbed.mux, "example.test")
    if r.returncode != 0 and ("not supported" in r.stderr or "no nameserver" in r.stderr):
        pytest.xfail("the probe does not run DNS `host` commands with a default resolver yet: "
                     + r.stderr.strip().splitlines()[-1])
    assert r.returncode == 0, r.stderr
    lines = [ln.split() for ln in r.stdout.splitlines()]
    assert lines, "no nameserver printed"
    addrs = [ln[1] for ln in lines]
    # ns1 is 3 hops from every VP, ns2 behind the long-haul link.
    assert set(addrs) == {"10.4.2.2", "fd00:4:2::2", "10.4.7.2", "fd00:4:7::2"}, r.stdout
    assert set(addrs[:2]) == {"10.4.2.2", "fd00:4:2::2"}, r.stdout
    rtts = [float(ln[2]) for ln in lines]
    assert rtts == sorted(rtts)


# ------------------------------------------------------------------ the API


def test_vp_metadata(testbed):
    ctrl = ScamperCtrl(mux=testbed.mux)
    vps = {vp.name: vp for vp in ctrl.vps()}
    nz = vps["akl-nz.vp.example.test"]
    assert isinstance(nz, ScamperVp) and str(nz) == nz.name
    assert nz.shortname == "akl-nz" and nz.cc == "NZ" and nz.place == "Auckland"
    assert nz.st == "AUK" and nz.iata == "AKL"
    assert nz.loc == pytest.approx((-36.8485, 174.7633))
    assert nz.asn4 == 64496 and nz.asn6 == 64496
    assert {"os:linux", "access:fibre", "continent:oceania"} <= nz.tags
    assert nz.ipv4 == "10.1.1.1" or nz.ipv6 == "fd00:1:1::1"
    assert nz.policy is None or isinstance(nz.policy, str)
    # Fresh list each call, same objects.
    assert ctrl.vps() == ctrl.vps() and ctrl.vps() is not ctrl.vps()
    assert hash(ctrl.vps()[0]) == hash(ctrl.vps()[0])


def test_sync_ping_and_trace(testbed):
    ctrl = ScamperCtrl(mux=testbed.mux)
    (inst,) = ctrl.add_vps([vp for vp in ctrl.vps() if vp.shortname == "fra-de"])
    assert isinstance(inst, ScamperInst) and inst.name == "fra-de.vp.example.test"
    assert inst.cc == "DE" and inst.shortname == "fra-de"
    p = ctrl.do_ping(TARGET, attempts=2, wait_probe=0.2, wait_timeout=1, sync=True)
    assert isinstance(p, ScamperPing) and p.inst is inst
    assert str(p.dst) == TARGET and p.min_rtt is not None and p.probe_count == 2
    t = ctrl.do_trace(TARGET, method="icmp-paris", sync=True)
    assert isinstance(t, ScamperTrace) and t.inst is inst and t.stop_reason_str == "completed"
    assert t.hop_count == 9
    # The sync tasks are not counted and left nothing queued.
    assert ctrl.taskc == 0 and ctrl.poll(timeout=0) is None
    assert list(ctrl.exceptions()) == []
    ctrl.done()
    assert ctrl.poll(timeout=10) is None and ctrl.is_done() and inst.is_eof()


def test_tracelb_through_the_mux(testbed):
    """MDA traceroute from fra-de through the emulated core: every hop's interface, both
    sides of the equal-cost section when MDA finds them (it may miss one by design, so
    only addresses on the real paths are accepted and the single-path hops required)."""
    ctrl = ScamperCtrl(mux=testbed.mux)
    (inst,) = ctrl.add_vps([vp for vp in ctrl.vps() if vp.shortname == "fra-de"])
    ctrl.do_tracelb(TARGET, inst=inst, wait_probe=0.15, wait_timeout=1)
    (t,) = list(ctrl.responses(timeout=datetime.timedelta(seconds=120)))
    assert isinstance(t, ScamperTracelb) and t.inst is inst and str(t.dst) == TARGET
    assert t.confidence == 95 and t.probe_count > 0 and t.errmsg is None
    nodes = {str(n.src): n for n in t.nodes()}
    single = {"10.1.3.2", "10.2.3.2", "10.3.5.2", "10.3.7.2", "10.3.8.2", TARGET}
    ecmp = {"10.3.1.2", "10.3.2.2", "10.3.3.2", "10.3.4.2"}
    assert single <= set(nodes) <= single | ecmp, sorted(nodes)
    assert len(nodes) >= len(single) + 2  # at least one path through the ECMP section
    assert nodes[TARGET].link_count == 0
    assert all(n.link_count >= 1 for a, n in nodes.items() if a != TARGET)
    assert t.node_count == len(nodes) and list(ctrl.exceptions()) == []
    ctrl.done()


def test_instance_choice_rules(testbed):
    ctrl = ScamperCtrl(mux=testbed.mux)
    with pytest.raises(RuntimeError, match="no connected ScamperInst"):
        ctrl.do_ping(TARGET)
    insts = ctrl.add_vps(ctrl.vps())
    assert ctrl.instances() == insts and ctrl.instc == 5
    with pytest.raises(RuntimeError, match="specify a ScamperInst"):
        ctrl.do_ping(TARGET)
    with pytest.raises(RuntimeError, match="cannot run synchronous measurements with list"):
        ctrl.do_ping(TARGET, inst=insts, sync=True)
    with pytest.raises(TypeError):
        ctrl.do_ping(TARGET, inst=tuple(insts))
    with pytest.raises(TypeError):
        ctrl.do_ping(TARGET, reply_count=4)
    with pytest.raises(ValueError, match="specify method"):
        ctrl.do_ping(TARGET, dport=80, inst=insts[0])
    with pytest.raises(ValueError):
        ctrl.do_ping(None, inst=insts[0])
    with pytest.raises(ValueError, match="both"):
        ctrl.poll(timeout=1, until=datetime.datetime.now())
    insts[0].done()
    with pytest.raises(RuntimeError, match="instance marked done"):
        ctrl.do_ping(TARGET, inst=insts[0])
    ctrl.remove(insts[1])
    with pytest.raises(RuntimeError, match="removed"):
        ctrl.do_ping(TARGET, inst=insts[1])
    with pytest.raises(ValueError, match="not in this ctrl"):
        ctrl.remove(insts[1])
    ctrl.done()


def test_responses_fan_out(testbed):
    ctrl = ScamperCtrl(mux=testbed.mux)
    ctrl.add_vps(ctrl.vps())
    tasks = ctrl.do_ping(TARGET, attempts=1, inst=ctrl.instances())
    assert len(tasks) == 5 and all(isinstance(t, ScamperTask) for t in tasks)
    assert ctrl.taskc == 5
    got = {}
    for o in ctrl.responses(timeout=datetime.timedelta(seconds=20)):
        got[o.inst.name] = o.min_rtt
    assert set(got) == VP_NAMES and all(r is not None for r in got.values())
    assert min(got, key=lambda n: got[n]) == CLOSEST
    assert ctrl.taskc == 0 and list(ctrl.exceptions()) == []
    ctrl.done()


def test_rejected_command_is_an_inst_error(testbed):
    ctrl = ScamperCtrl(mux=testbed.mux)
    (inst,) = ctrl.add_vps(ctrl.vps()[0])
    # The probe refuses a source that is no address; the error names the VP.
    ctrl.do_ping(TARGET, attempts=1, src="nonsense")
    assert list(ctrl.responses(timeout=20)) == []
    (e,) = list(ctrl.exceptions())
    assert isinstance(e, ScamperInstError) and e.inst is inst
    assert str(e).startswith(f"got err from {inst.name}: ")
    # sync=True raises it.
    with pytest.raises(ScamperInstError, match="got err from"):
        ctrl.do_ping(TARGET, attempts=1, src="nonsense", sync=True)
    ctrl.done()


def test_poll_with_callbacks(testbed):
    """The event-driven style: morecb feeds one ping per MORE, done() when
    a VP's list is empty; eofcb fires once per instance."""
    work: dict[ScamperInst, list[str]] = {}
    eofs: list[ScamperInst] = []

    def more(ctrl, inst, param):
        assert param == "p"
        if work[inst]:
            ctrl.do_ping(work[inst].pop(0), attempts=1, inst=inst)
        else:
            inst.done()

    def eof(ctrl, inst, param):
        eofs.append(inst)

    ctrl = ScamperCtrl(mux=testbed.mux, morecb=more, eofcb=eof, param="p")
    for inst in ctrl.add_vps(ctrl.vps()[:3]):
        work[inst] = [TARGET, "10.4.4.2", "10.4.5.2"]
    got: list[ScamperPing] = []
    while not ctrl.is_done():
        o = ctrl.poll(timeout=datetime.timedelta(seconds=20))
        if o is None:
            break
        got.append(o)
    assert ctrl.is_done(), "poll timed out before every VP finished"
    assert len(got) == 9 and all(isinstance(o, ScamperPing) for o in got)
    assert sorted(eofs, key=id) == sorted(work, key=id)
    assert all(not w for w in work.values())


def test_morecb_is_called_again_after_a_refused_command(testbed):
    """A command the probe refuses leaves room for another: morecb is called
    again right after the error (the probe itself sends no MORE after ERR)."""
    work = ["nonsense-source", TARGET]
    calls = []

    def more(ctrl, inst, param):
        calls.append(len(work))
        if not work:
            inst.done()
        elif work[0] == "nonsense-source":
            work.pop(0)
            ctrl.do_ping(TARGET, attempts=1, src="nonsense", inst=inst)
        else:
            ctrl.do_ping(work.pop(0), attempts=1, inst=inst)

    ctrl = ScamperCtrl(mux=testbed.mux, morecb=more)
    ctrl.add_vps(ctrl.vps()[0])
    got, errors = [], []
    while not ctrl.is_done():
        try:
            o = ctrl.poll(timeout=datetime.timedelta(seconds=20))
        except ScamperInstError as e:  # poll raises the refusal first
            errors.append(str(e))
            continue
        if o is None:
            break
        got.append(o)
    assert ctrl.is_done(), f"the VP idled after the refusal; morecb calls: {calls}"
    assert calls[:2] == [2, 1], calls  # the refusal asked for more work
    assert len(got) == 1 and isinstance(got[0], ScamperPing)
    assert len(errors) == 1 and "got err from" in errors[0], errors


def test_poll_timeout_zero_services_io_and_until_aware(testbed):
    ctrl = ScamperCtrl(mux=testbed.mux)
    (inst,) = ctrl.add_vps(ctrl.vps()[0])
    ctrl.do_ping(TARGET, attempts=1)
    o = None
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=20)
    while o is None and datetime.datetime.now(datetime.timezone.utc) < until:
        o = ctrl.poll(timeout=0)
        if o is None:
            time.sleep(0.05)
    assert isinstance(o, ScamperPing)
    ctrl.done()
    assert ctrl.poll(until=until) is None and ctrl.is_done()


def test_outfile_gets_every_result(testbed, tmp_path):
    path = tmp_path / "out.warts"
    f = ScamperFile(str(path), "w")
    ctrl = ScamperCtrl(mux=testbed.mux, outfile=f)
    ctrl.add_vps(ctrl.vps()[:2])
    ctrl.do_ping(TARGET, attempts=1, inst=ctrl.instances())
    sync = ctrl.do_trace(TARGET, inst=ctrl.instances()[0], sync=True)
    assert isinstance(sync, ScamperTrace)
    n = sum(1 for _ in ctrl.responses(timeout=20))
    assert n == 2
    ctrl.done()
    f.close()
    kinds = sorted(
        type(o).__name__ for o in ScamperFile(str(path)) if isinstance(o, (ScamperPing, ScamperTrace))
    )
    assert kinds == ["ScamperPing", "ScamperPing", "ScamperTrace"]
    with pytest.raises(ValueError, match="outfile not ScamperFile"):
        ScamperCtrl(outfile=str(path))


def test_asyncio(testbed):
    async def main():
        async with vantage.AsyncCtrl(mux=testbed.mux) as ctrl:
            vps = ctrl.vps()
            pings = await asyncio.gather(*(ctrl.ping(TARGET, vp=vp, attempts=1) for vp in vps))
            assert {p.inst.name for p in pings} == VP_NAMES
            assert all(isinstance(p, ScamperPing) and p.min_rtt is not None for p in pings)
            t = await ctrl.do("trace", TARGET, vp="fra-de")
            assert isinstance(t, ScamperTrace) and t.inst.name == "fra-de.vp.example.test"
            # A refusal is raised by the await.
            with pytest.raises(ScamperInstError):
                await ctrl.ping(TARGET, vp=vps[0], attempts=1, src="nonsense")
            # Many at once: no wakeup may be lost between the reader threads
            # and the event loop.
            many = await asyncio.gather(
                *(ctrl.ping(TARGET, vp=vps[i % 5], attempts=1, wait_timeout=0.5) for i in range(500))
            )
            assert len(many) == 500 and all(isinstance(p, ScamperPing) for p in many)
            ctrl.do_nowait("ping", TARGET, attempts=1, inst=ctrl.instances())
            names = [r.inst.name async for r in ctrl.results(timeout=20)]
            assert sorted(names) == sorted(VP_NAMES)
            return True

    assert asyncio.run(main())


def test_ctrl_c_interrupts_a_wait(testbed):
    script = (
        "import sys\n"
        "from scamper import ScamperCtrl\n"
        "ctrl = ScamperCtrl(mux=sys.argv[1])\n"
        "ctrl.add_vps(ctrl.vps()[0])\n"
        "print('waiting', flush=True)\n"
        f"ctrl.do_ping('{DARK}', attempts=200, wait_probe=1, sync=True)\n"
        "print('finished', flush=True)\n"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", script, testbed.mux],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert p.stdout is not None
        assert p.stdout.readline() == "waiting\n"
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "KeyboardInterrupt" in err and "finished" not in out
    assert p.returncode != 0


def test_wait_releases_the_gil(testbed):
    ctrl = ScamperCtrl(mux=testbed.mux)
    ctrl.add_vps(ctrl.vps()[0])
    ticks = []
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.01)

    th = threading.Thread(target=spin)
    th.start()
    try:
        p = ctrl.do_ping(TARGET, attempts=3, wait_probe=0.5, sync=True)
    finally:
        stop.set()
        th.join()
    assert isinstance(p, ScamperPing)
    assert len(ticks) > 3
    ctrl.done()


def test_probe_control_socket_unix_and_inet(testbed, tmp_path):
    """add_unix / add_inet: a probe's own control socket, without a controller."""
    sock = tmp_path / "probe.sock"
    port = 20000 + os.getpid() % 10000
    log = open(tmp_path / "probe.log", "w")
    probe = subprocess.Popen(
        ["ip", "netns", "exec", f"{testbed.prefix}-vp_de", str(VANTAGE), "probe",
         "--unix", str(sock), "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        ctrl = ScamperCtrl(unix=str(sock))
        (inst,) = ctrl.instances()
        assert inst.name == str(sock) and inst.tags is None and inst.cc is None
        p = ctrl.do_ping(TARGET, attempts=1, sync=True)
        assert isinstance(p, ScamperPing) and p.inst is inst and str(p.src) == "10.1.3.1"
        ctrl.done()
        assert ctrl.poll(timeout=20) is None and ctrl.is_done()
        # The TCP port listens on the namespace's loopback: a child in it connects.
        script = (
            "import sys\n"
            "from scamper import ScamperCtrl\n"
            "ctrl = ScamperCtrl()\n"
            "inst = ctrl.add_inet(int(sys.argv[1]))\n"
            f"p = ctrl.do_ping('{TARGET}', attempts=1, sync=True)\n"
            "print(inst.name, p.src, p.min_rtt is not None)\n"
        )
        r = subprocess.run(
            ["ip", "netns", "exec", f"{testbed.prefix}-vp_de", sys.executable, "-c", script,
             str(port)],
            capture_output=True, text=True, timeout=60,
        )
        assert r.returncode == 0, r.stderr
        assert r.stdout == f"127.0.0.1:{port} 10.1.3.1 True\n"
    finally:
        probe.terminate()
        try:
            probe.wait(timeout=20)
        except subprocess.TimeoutExpired:
            probe.kill()
            probe.wait()
        log.close()


def test_dropped_ctrl_closes_its_connection(testbed):
    """No reference cycle keeps a ctrl (and its mux connection's threads)
    alive once the script drops it."""
    import gc
    import weakref

    gc.disable()
    try:
        ctrl = ScamperCtrl(mux=testbed.mux)
        (inst,) = ctrl.add_vps(ctrl.vps()[0])
        p = ctrl.do_ping(TARGET, attempts=1, wait_timeout=0.2, sync=True)
        assert p.inst is inst
        ref = weakref.ref(ctrl)
        mux = weakref.ref(ctrl._muxes[0])
        del ctrl, inst, p
        assert ref() is None and mux() is None
    finally:
        gc.enable()


# ------------------------------------------------------------------ last: a VP goes away


def test_vp_departure_is_an_inst_error(testbed):
    """Kill one VP's probe while tasks are pending on it: after the
    controller's grace period the VP departs, the sync call raises
    ScamperInstError, the async task's error is queued, eofcb fires."""
    eofs = []
    ctrl = ScamperCtrl(mux=testbed.mux, eofcb=lambda c, i, p: eofs.append(i))
    ctrl.sync_timeout = 180  # fail, don't hang, if the VP never departs
    (inst,) = ctrl.add_vps([vp for vp in ctrl.vps() if vp.shortname == "gru-br"])
    (other,) = ctrl.add_vps([vp for vp in ctrl.vps() if vp.shortname == "san-us"])
    ctrl.do_ping(DARK, attempts=500, wait_probe=1, inst=inst)
    pid = testbed.probe_pid("gru-br")
    killer = threading.Timer(1.0, os.kill, (pid, signal.SIGKILL))
    killer.start()
    errors = []
    try:
        ctrl.do_ping(DARK, attempts=500, wait_probe=1, inst=inst, sync=True)
    except ScamperInstError as e:
        errors.append(e)
    finally:
        killer.join()
    errors.extend(ctrl.exceptions())
    assert len(errors) == 2, errors
    assert all(isinstance(e, ScamperInstError) and e.inst is inst for e in errors)
    assert all("got fatal from gru-br.vp.example.test" in str(e) for e in errors)
    assert inst.is_eof() and eofs == [inst] and ctrl.instances() == [other]
    with pytest.raises(RuntimeError, match="has signalled EOF"):
        ctrl.do_ping(TARGET, inst=inst)
    # The other VP is unaffected.
    p = ctrl.do_ping(TARGET, attempts=1, inst=other, sync=True)
    assert isinstance(p, ScamperPing) and p.min_rtt is not None


def test_vp_policy_published(testbed, tmp_path):
    """A probe started with --policy publishes it: vp.policy is the file's
    text, vp.policy_hash its hash, and the probe refuses what it forbids."""
    text = (
        "# python test policy\n"
        "[measurements]\n"
        'types = ["ping"]\n'
        "[destinations]\n"
        'allow = ["10.4.0.0/16"]\n'
    )
    pol = tmp_path / "policy.toml"
    pol.write_text(text)
    name = "pol-us.vp.example.test"
    log = open(tmp_path / "probe.log", "w")
    probe = subprocess.Popen(
        ["ip", "netns", "exec", f"{testbed.prefix}-vp_us", str(VANTAGE), "probe",
         "--remote", "10.4.1.2:4001", "--name", name,
         "--tls-ca", str(testbed.state / "tls" / "ca.pem"), "--policy", str(pol)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        vp = None
        deadline = time.monotonic() + 30
        while vp is None and time.monotonic() < deadline:
            vp = next((v for v in ScamperCtrl(mux=testbed.mux).vps() if v.name == name), None)
            if vp is None:
                time.sleep(0.2)
        assert vp is not None, (tmp_path / "probe.log").read_text()
        assert vp.policy == text
        assert vp.policy_hash is not None and re.fullmatch(r"[0-9a-f]{64}", vp.policy_hash)
        others = [v for v in ScamperCtrl(mux=testbed.mux).vps() if v.name in VP_NAMES]
        # The testbed's own probes run without --policy (they may publish the
        # default policy, never this one).
        assert others and all(v.policy != text and v.policy_hash != vp.policy_hash for v in others)
        ctrl = ScamperCtrl(mux=testbed.mux)
        (inst,) = ctrl.add_vps([v for v in ctrl.vps() if v.name == name])
        assert inst.policy == text and inst.policy_hash == vp.policy_hash
        p = ctrl.do_ping(TARGET, attempts=1, sync=True)
        assert isinstance(p, ScamperPing) and p.min_rtt is not None
        with pytest.raises(ScamperInstError, match="policy"):
            ctrl.do_trace(TARGET, sync=True)
        ctrl.done()
    finally:
        probe.terminate()
        try:
            probe.wait(timeout=20)
        except subprocess.TimeoutExpired:
            probe.kill()
            probe.wait()
        log.close()
