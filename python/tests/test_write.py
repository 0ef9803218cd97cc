"""ScamperFile writes what `vantage warts2json` (and our own reader) reads."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import WARTS_FILES, json_lines
from vantage import (
    ScamperAddr,
    ScamperCycle,
    ScamperFile,
    ScamperList,
    ScamperPing,
    ScamperTbit,
    ScamperTrace,
)


def copy(src, dst, kind=None):
    with ScamperFile(str(src)) as r, ScamperFile(str(dst), "w", kind=kind) as w:
        for o in r:
            w.write(o)


def warts2json(cli, path):
    out = subprocess.run([cli, "warts2json", "--utc", str(path)], check=True, capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


@pytest.mark.parametrize("name", WARTS_FILES)
def test_copy_reads_back_identical(testdata, tmp_path, name):
    out = tmp_path / "copy.warts"
    copy(testdata / name, out)
    a = [(type(o).__name__, o.to_json()) for o in ScamperFile(str(testdata / name))]
    b = [(type(o).__name__, o.to_json()) for o in ScamperFile(str(out))]
    assert a == b


@pytest.mark.parametrize("name", WARTS_FILES)
def test_cli_reads_what_we_write(testdata, tmp_path, vantage_cli, name):
    out = tmp_path / "copy.warts"
    copy(testdata / name, out)
    ours = warts2json(vantage_cli, out)
    ref = [j for j in json_lines(name) if j is not None]
    # The CLI writes valid JSON where sc_warts2json does not (ping-ts), and
    # goes on past MIDAR records where sc_warts2json stops; compare what both have.
    if name == "ping-ts.warts":
        assert len(ours) == 4 and ours[2] == ref[1]
    else:
        assert ours[: len(ref)] == ref


@pytest.mark.parametrize("kind,suffix", [("warts.gz", ".gz"), ("warts.bz2", ".bz2"), ("warts.xz", ".xz")])
def test_compressed_kinds(testdata, tmp_path, vantage_cli, kind, suffix):
    by_name = tmp_path / f"a.warts{suffix}"
    copy(testdata / "ping.warts", by_name)  # kind from the file name
    by_kind = tmp_path / "b.out"
    copy(testdata / "ping.warts", by_kind, kind=kind)
    magic = {".gz": b"\x1f\x8b", ".bz2": b"BZh", ".xz": b"\xfd7zXZ"}[suffix]
    assert by_name.read_bytes().startswith(magic) and by_kind.read_bytes().startswith(magic)
    f = ScamperFile(str(by_name))
    assert len([o for o in f if isinstance(o, ScamperPing)]) == 32
    assert warts2json(vantage_cli, by_kind) == json_lines("ping.warts")


def test_json_kind_equals_cli_output(testdata, tmp_path, vantage_cli):
    out = tmp_path / "out.json"
    copy(testdata / "mixed.warts.gz", out)
    w = ScamperFile(str(tmp_path / "x.json"), "w")
    assert w.filetype == "json" and w.is_write()
    w.close()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines == warts2json(vantage_cli, testdata / "mixed.warts.gz")


def test_text_kind(testdata, tmp_path):
    out = tmp_path / "out.txt"
    copy(testdata / "trace.warts", out)
    assert out.read_text() == (testdata / "trace.warts.txt").read_text()


def test_write_one_result_brings_its_list_and_cycle(testdata, tmp_path):
    ping = next(o for o in ScamperFile(str(testdata / "ping.warts")) if isinstance(o, ScamperPing))
    out = tmp_path / "one.warts"
    with ScamperFile(str(out), "w") as w:
        w.write(ping)
        w.write(ScamperAddr("192.0.2.1"))  # accepted, written with nothing
    objs = list(ScamperFile(str(out)))
    assert [type(o) for o in objs] == [ScamperList, ScamperCycle, ScamperPing]
    assert objs[2].to_json() == ping.to_json()


def test_write_errors(testdata, tmp_path):
    w = ScamperFile(str(tmp_path / "x.warts"), "w")
    with pytest.raises(RuntimeError, match="unhandled object type"):
        w.write("not a result")
    with pytest.raises(ValueError, match="not readable"):
        iter(w)
    with pytest.raises(ValueError, match="not readable"):
        next(w)
    with pytest.raises(RuntimeError, match="not opened for reading"):
        w.read()
    with pytest.raises(ValueError):
        w.filter_types(ScamperPing)
    w.close()
    w.close()  # idempotent
    with pytest.raises(ValueError, match="I/O operation on closed file"):
        w.write(ScamperAddr("192.0.2.1"))
    r = ScamperFile(str(testdata / "ping.warts"))
    with pytest.raises(RuntimeError):
        r.write(ScamperAddr("192.0.2.1"))
    r.close()
    with pytest.raises(ValueError, match="I/O operation on closed file"):
        r.read()
    for f in (w, r):  # python-api.md 4.7: any operation on a closed file, `with` too
        with pytest.raises(ValueError, match="I/O operation on closed file"):
            with f:
                pass
    with pytest.raises(ValueError, match="invalid mode"):
        ScamperFile(str(tmp_path / "y"), "a")
    with pytest.raises(ValueError):
        ScamperFile(str(tmp_path / "y"), "w", kind="arts")
    with pytest.raises(ValueError):
        ScamperFile(str(testdata / "ping.warts"), "r", kind="warts")
    with pytest.raises(ValueError):
        ScamperFile(str(tmp_path / "y"), "w", filter_types=[ScamperPing])
    with pytest.raises(RuntimeError, match="could not open file"):
        ScamperFile(str(tmp_path / "missing.warts"))
    (tmp_path / "junk").write_bytes(b"hello, not warts")
    with pytest.raises(RuntimeError, match="could not open file"):
        ScamperFile(str(tmp_path / "junk"))


def test_path_objects(testdata, tmp_path):
    f = ScamperFile(testdata / "ping.warts")  # os.PathLike works as well as str
    assert f.filename == str(testdata / "ping.warts")
    with ScamperFile(tmp_path / "x.json", "w") as w:
        assert w.filetype == "json"


def test_dropping_a_writer_flushes(testdata, tmp_path):
    out = tmp_path / "dropped.warts.gz"
    w = ScamperFile(str(out), "w")
    for o in ScamperFile(str(testdata / "ping.warts")):
        w.write(o)
    del w
    assert len([o for o in ScamperFile(str(out)) if isinstance(o, ScamperPing)]) == 32


def test_filters(testdata):
    f = ScamperFile(str(testdata / "sniff.warts"), filter_types=[ScamperPing])
    assert [type(o) for o in f] == [ScamperPing, ScamperPing]
    f = ScamperFile(str(testdata / "mixed.warts.gz"))
    first = f.read()
    assert isinstance(first, ScamperList)
    f.filter_types(ScamperTrace)  # replaces any filter, from the next object on
    assert {type(o) for o in f} == {ScamperTrace}
    assert f.read() is None
    f.filter_types([ScamperPing, ScamperTrace])  # a list works too
    with pytest.raises(ValueError, match="nothing to filter"):
        f.filter_types()
    with pytest.raises(ValueError, match="nothing to filter"):
        ScamperFile(str(testdata / "ping.warts"), filter_types=[])
    for bad in (ScamperList, ScamperCycle, int, "ping"):
        with pytest.raises(ValueError, match="invalid type"):
            ScamperFile(str(testdata / "ping.warts"), filter_types=[bad])


def _record(kind: int, body: bytes = b"") -> bytes:
    return b"\x12\x05" + kind.to_bytes(2, "big") + len(body).to_bytes(4, "big") + body


def test_undecodable_types_raise_not_implemented(testdata, tmp_path):
    # A tbit record (type 11) between two pings: NotImplementedError names the
    # class, and reading goes on after it.
    pings = tmp_path / "p.warts"
    copy(testdata / "ping.warts", pings)
    data = pings.read_bytes()
    mixed = tmp_path / "tbit.warts"
    mixed.write_bytes(_record(11, b"\x00" * 4) + data)
    f = ScamperFile(str(mixed))
    with pytest.raises(NotImplementedError, match="ScamperTbit"):
        f.read()
    assert isinstance(f.read(), ScamperList)
    g = ScamperFile(str(mixed), filter_types=[ScamperPing])
    assert len(list(g)) == 32
    h = ScamperFile(str(mixed), filter_types=[ScamperTbit])
    with pytest.raises(NotImplementedError, match="ScamperTbit"):
        h.read()
    assert h.read() is None


def test_corrupt_record_is_an_error_then_reading_goes_on(testdata, tmp_path):
    data = (testdata / "ping.warts").read_bytes()
    bad = tmp_path / "bad.warts"
    # A ping record whose body is garbage, then the real file.
    bad.write_bytes(_record(7, b"\xff" * 3) + data)
    f = ScamperFile(str(bad))
    with pytest.raises(RuntimeError):
        f.read()
    assert isinstance(f.read(), ScamperList)


def test_big_file_in_batches(testdata, tmp_path):
    pings = [o for o in ScamperFile(str(testdata / "ping.warts")) if isinstance(o, ScamperPing)]
    out = tmp_path / "many.warts"
    with ScamperFile(str(out), "w") as w:
        for _ in range(200):
            for p in pings:
                w.write(p)
    n = 0
    for o in ScamperFile(str(out), filter_types=[ScamperPing]):
        assert o.to_json() == pings[n % 32].to_json()
        n += 1
    assert n == 6400


def _threads() -> int:
    import os

    return len(os.listdir("/proc/self/task"))


def test_reader_thread_ends_when_the_file_is_closed(testdata, tmp_path):
    import time

    pings = [o for o in ScamperFile(str(testdata / "ping.warts")) if isinstance(o, ScamperPing)]
    out = tmp_path / "many.warts"
    with ScamperFile(str(out), "w") as w:
        for _ in range(500):
            for p in pings:
                w.write(p)
    before = _threads()
    f = ScamperFile(str(out))
    assert isinstance(f.read(), ScamperList)
    assert _threads() == before + 1  # the decoder thread, blocked on a full queue
    f.close()
    deadline = time.monotonic() + 10
    while _threads() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _threads() == before
    g = ScamperFile(str(out))
    for n, _o in enumerate(g):
        if n == 10:
            break
    del g  # dropping works like close
    deadline = time.monotonic() + 10
    while _threads() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _threads() == before


@pytest.mark.parametrize("suffix", ["", ".gz", ".xz"])
def test_reads_what_the_cli_wrote(testdata, tmp_path, vantage_cli, suffix):
    out = tmp_path / f"cat.warts{suffix}"
    srcs = [testdata / "ping.warts", testdata / "trace.warts", testdata / "mixed.warts.bz2"]
    subprocess.run([vantage_cli, "wartscat", "-o", str(out), *map(str, srcs)], check=True)
    want = [o.to_json() for s in srcs for o in ScamperFile(str(s)) if not isinstance(o, (ScamperList, ScamperCycle))]
    got = [o.to_json() for o in ScamperFile(str(out)) if not isinstance(o, (ScamperList, ScamperCycle))]
    assert got == want and len(got) == 32 + 38 + 7
    out2 = tmp_path / "pings.warts"
    subprocess.run([vantage_cli, "wartscat", "-t", "ping", "-o", str(out2), *map(str, srcs)], check=True)
    assert {type(o) for o in ScamperFile(str(out2), filter_types=[ScamperPing, ScamperTrace])} == {ScamperPing}
