"""ScamperCtrl(remote=, remote_dir=), add_remote, add_remote_dir against the
real peer: Debian's sc_remoted (`-U dir`, one unix socket per VP, each accepted
connection its own already-attached channel) with a VP dialing it over
plaintext TCP: a `vantage probe`, and (second run) the real `scamper -R`.

Both run inside a network namespace the fixture creates (loopback only) and
removes afterwards, even when tests fail; the unix sockets are files, so the
test reaches them from outside the namespace. Needs root, `ip`, sc_remoted
(Debian package scamper) and the `vantage` binary (or scamper); without them those tests
skip and say why. The naming and bad-path tests need none of that.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from scamper import ScamperCtrl, ScamperInst, ScamperPing
from vantage._ctrl import _remote_name

VP_NAME = "vp1.test"
PORT = 31337  # inside the fixture's own namespace: no clash with the host


@dataclass
class Remote:
    dir: Path
    sock: Path
    name: str


def _stop(p: subprocess.Popen[bytes] | None) -> None:
    if p is None or p.poll() is not None:
        return
    p.terminate()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def _listening(run: list[str], port: int) -> bool:
    out = subprocess.run(run + ["ss", "-Hltn", f"sport = :{port}"],
                         capture_output=True, check=False)
    return bool(out.stdout.strip())


# The VPs dialing sc_remoted: our probe, and the real scamper.
PEERS = ["vantage", "scamper"]


@pytest.fixture(scope="module", params=PEERS)
def remote(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespace and raw sockets for ping)")
    if shutil.which("sc_remoted") is None:
        pytest.skip("sc_remoted is missing (Debian package scamper)")
    if shutil.which("ip") is None:
        pytest.skip("the ip command is missing (Debian package iproute2)")
    if request.param == "vantage":
        name = VP_NAME
        vp = [request.getfixturevalue("vantage_cli"), "probe", "--remote",
              f"127.0.0.1:{PORT}", "--plaintext", "--name", name, "--no-publish-policy"]
    else:
        if shutil.which("scamper") is None:
            pytest.skip("scamper is missing (Debian package scamper)")
        name = "vp2.scamper"
        vp = ["scamper", "-R", f"127.0.0.1:{PORT}", "-M", name]
    base = tmp_path_factory.mktemp(f"remote-{request.param}")
    sockdir = base / "socks"
    sockdir.mkdir()
    ns = f"vremote{os.getpid()}{request.param}"
    run = ["ip", "netns", "exec", ns]
    remoted = probe = None
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(run + ["ip", "link", "set", "lo", "up"], check=True)
        with open(base / "sc_remoted.log", "wb") as log:
            remoted = subprocess.Popen(
                run + ["sc_remoted", "-P", f"127.0.0.1:{PORT}", "-U", str(sockdir)],
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while not _listening(run, PORT) and time.monotonic() < deadline:
            time.sleep(0.05)
        with open(base / "vp.log", "wb") as log:
            probe = subprocess.Popen(run + vp, stdout=log, stderr=subprocess.STDOUT)
        socks: list[Path] = []
        while time.monotonic() < deadline and not socks:
            socks = [p for p in sockdir.iterdir() if stat.S_ISSOCK(p.lstat().st_mode)]
            if remoted.poll() is not None or probe.poll() is not None:
                break
            time.sleep(0.05)
        if len(socks) != 1:
            logs = (base / "sc_remoted.log").read_text(errors="replace") + (
                base / "vp.log").read_text(errors="replace")
            pytest.fail(f"sc_remoted made {len(socks)} VP sockets in {sockdir}; logs:\n{logs}")
        # Entries add_remote_dir must ignore or skip.
        (sockdir / "notes.txt").write_text("not a socket\n")
        (sockdir / "subdir").mkdir()
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dead.bind(str(sockdir / "dead-127.0.0.1:1"))
        dead.close()
        yield Remote(sockdir, socks[0], name)
    finally:
        _stop(probe)
        _stop(remoted)
        subprocess.run(["ip", "netns", "del", ns], check=False)


def _ping_ok(p: object, inst: ScamperInst) -> None:
    assert isinstance(p, ScamperPing), p
    assert p.inst is inst
    assert str(p.dst) == "127.0.0.1"
    assert len(list(p.replies())) == 2


def test_remote_dir_sees_one_vp_and_pings(remote: Remote) -> None:
    ctrl = ScamperCtrl(remote_dir=str(remote.dir))
    (inst,) = ctrl.instances()
    assert isinstance(inst, ScamperInst)
    assert inst.name == remote.name
    assert str(inst) == str(remote.sock)
    assert inst.tags is None and inst.cc is None
    p = ctrl.do_ping("127.0.0.1", attempts=2, wait_probe=0.2, sync=True)
    _ping_ok(p, inst)
    assert ctrl.taskc == 0 and ctrl.poll(timeout=0) is None
    # done: the VP finishes the channel and sc_remoted closes the connection.
    ctrl.done()
    assert ctrl.poll(timeout=20) is None
    assert ctrl.is_done() and inst.is_eof()


def test_add_remote_and_remote_arg(remote: Remote) -> None:
    ctrl = ScamperCtrl()
    inst = ctrl.add_remote(str(remote.sock))
    assert isinstance(inst, ScamperInst) and inst.name == remote.name
    assert ctrl.instances() == [inst]
    task = ctrl.do_ping("127.0.0.1", attempts=2, wait_probe=0.2)
    p = ctrl.poll(timeout=20)
    _ping_ok(p, inst)
    assert task is not None
    ctrl.done()
    assert ctrl.poll(timeout=20) is None and inst.is_eof()

    # The constructor argument; two channels to the same VP at once.
    ctrl2 = ScamperCtrl(remote=str(remote.sock))
    inst2 = ctrl2.add_remote(str(remote.sock))
    a, b = ctrl2.instances()
    assert b is inst2 and a.name == b.name == remote.name
    for i in (a, b):
        _ping_ok(ctrl2.do_ping("127.0.0.1", attempts=2, wait_probe=0.2, inst=i, sync=True), i)
    ctrl2.done()
    assert ctrl2.poll(timeout=20) is None and a.is_eof() and b.is_eof()


def test_bad_remote_paths(tmp_path: Path) -> None:
    ctrl = ScamperCtrl()
    with pytest.raises(RuntimeError):
        ctrl.add_remote(str(tmp_path / "vp1.test-127.0.0.1:1"))
    with pytest.raises(RuntimeError):
        ScamperCtrl(remote=str(tmp_path / "nope"))
    regular = tmp_path / "file"
    regular.write_text("x")
    with pytest.raises(RuntimeError):
        ctrl.add_remote(str(regular))
    with pytest.raises(TypeError):
        ctrl.add_remote(1)  # type: ignore[arg-type]
    # An unreadable directory is an OSError; one without sockets adds nothing.
    with pytest.raises(OSError):
        ctrl.add_remote_dir(str(tmp_path / "missing"))
    with pytest.raises(OSError):
        ScamperCtrl(remote_dir=str(regular))
    ctrl.add_remote_dir(str(tmp_path))
    assert ctrl.instances() == []


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/run/remote/foo-192.0.2.1:31337", "foo"),
        ("/run/remote/vp1.nz-ark-198.51.100.55:1025", "vp1.nz-ark"),
        ("socks/mon.example-2001:db8:1234::1.1026", "mon.example"),
        ("/run/remote/198.51.100.55:1025", "198.51.100.55:1025"),
        ("/run/remote/2001:db8:1234::1.1026", "2001:db8:1234::1.1026"),
        ("plain-name", "plain-name"),
    ],
)
def test_remote_socket_names(path: str, name: str) -> None:
    assert _remote_name(path) == name
