"""The controller side of the API: ScamperCtrl, ScamperInst, ScamperVp,
ScamperTask, ScamperMux, ScamperInstError and the asyncio front AsyncCtrl.

The I/O is done by the Rust client library (`vantage-client`, reached through
`vantage._native._Mux`/`_Chan`); its reader threads queue events per channel
and wake the ctrl's `_Hub`. Events are turned into objects, queued and handed
to callbacks only on the caller's thread, inside `poll()`, `responses()` and
`sync=True` waits (or, for `AsyncCtrl`, inside the event loop's reader
callback), as the reference module does. Blocking waits release the GIL and
check for signals every 100 ms, so Ctrl-C interrupts them.

Where the reference is weak we do better (python-api.md, Appendix B): a
`sync=True` call ends with `ScamperInstError` when its instance goes away;
tasks pending on a VP that departs (or on a controller that goes away) each
surface as a `ScamperInstError`; `poll(timeout=0)` does one non-blocking
pass; `until=` accepts aware datetimes; `instances()` is in insertion order.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as _dt
import os
import stat
import threading
import weakref
from typing import Any, Callable, Generic, Iterator, TypeVar

from vantage import _native

__all__ = [
    "ScamperCtrl",
    "ScamperVp",
    "ScamperInst",
    "ScamperTask",
    "ScamperMux",
    "ScamperInstError",
    "AsyncCtrl",
]

_NO_INIT = "This class cannot be instantiated directly."

#: The type of a ScamperCtrl's `param` (python-api.md 2.1: `ScamperCtrl[PT]`).
PT = TypeVar("PT")
_TOKEN = object()


class ScamperInstError(Exception):
    """An error reported by, or about, one instance; `inst` names it."""

    def __init__(self, message: str, inst: "ScamperInst | None" = None) -> None:
        super().__init__(message)
        self.inst = inst


# ---------------------------------------------------------------- helpers


def _seconds(x: Any, what: str) -> float:
    """A duration input (timedelta or number of seconds) in seconds."""
    if isinstance(x, _dt.timedelta):
        return x.total_seconds()
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{what} must be a timedelta or a number of seconds")
    return float(x)


def _dur(x: Any, what: str) -> str:
    """A duration as the command language wants it: `str(float)` + `s`."""
    return f"{_dt.timedelta(seconds=_seconds(x, what)).total_seconds()}s"


def _deadline(timeout: Any, until: Any) -> float | None:
    """`timeout=`/`until=` as a deadline on the monotonic clock (None: none)."""
    import time

    if timeout is not None and until is not None:
        raise ValueError("specify timeout or until, not both")
    if timeout is not None:
        return time.monotonic() + max(0.0, _seconds(timeout, "timeout"))
    if until is not None:
        if not isinstance(until, _dt.datetime):
            raise TypeError("until must be a datetime.datetime")
        if until.tzinfo is None:
            left = (until - _dt.datetime.now()).total_seconds()
        else:
            left = (until - _dt.datetime.now(_dt.timezone.utc)).total_seconds()
        return time.monotonic() + max(0.0, left)
    return None


def _left(deadline: float | None) -> float | None:
    import time

    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


def _int(x: Any, what: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"{what} must be an int")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise ValueError(f"{what} out of range")
    return x


def _addr(x: Any, what: str) -> str:
    if x is None:
        raise ValueError(f"{what} is required")
    if not isinstance(x, (str, _native.ScamperAddr)):
        raise TypeError(f"{what} must be a str or ScamperAddr")
    s = str(x)
    if not s or any(c.isspace() for c in s):
        raise ValueError(f"invalid {what} {s!r}")
    return s


def _hexbytes(x: Any, what: str) -> str:
    if not isinstance(x, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes")
    return bytes(x).hex()


def _quote(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


# ---------------------------------------------------------------- VPs, muxes


def _upper(x: str | None) -> str | None:
    return x.upper() if x is not None else None


def _asn(x: str | None) -> int | str | None:
    if x is None:
        return None
    return int(x) if x.isdigit() else x


class ScamperVp:
    """A vantage point offered by a mux (handed out by ScamperCtrl.vps())."""

    __slots__ = ("_info", "_mux", "__weakref__")
    _info: dict[str, Any]
    _mux: Any  # the native _Mux (not the ScamperMux: no reference cycle)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(_NO_INIT)

    @classmethod
    def _make(cls, info: dict[str, Any], mux: Any) -> "ScamperVp":
        vp = object.__new__(cls)
        vp._info = info
        vp._mux = mux
        return vp

    @property
    def name(self) -> str | None:
        """The VP's monitor name."""
        return self._info.get("name")

    @property
    def shortname(self) -> str | None:
        """The short name (falls back to `name`)."""
        return self._info.get("shortname") or self._info.get("name")

    @property
    def tags(self) -> set[str]:
        """The VP's tags (an empty set when it has none)."""
        return set(self._info.get("tags") or ())

    @property
    def cc(self) -> str | None:
        """ISO 3166 country code, upper-cased."""
        return _upper(self._info.get("cc"))

    @property
    def st(self) -> str | None:
        """State code, upper-cased."""
        return _upper(self._info.get("st"))

    @property
    def place(self) -> str | None:
        """City or town."""
        return self._info.get("place")

    @property
    def loc(self) -> tuple[float, float] | None:
        """(latitude, longitude), or None when missing or unparsable."""
        ll = self._info.get("latlong")
        if not ll:
            return None
        parts = ll.replace(" ", ",").split(",")
        parts = [p for p in parts if p]
        if len(parts) != 2:
            return None
        try:
            return (float(parts[0]), float(parts[1]))
        except ValueError:
            return None

    @property
    def iata(self) -> str | None:
        """Nearest airport code, upper-cased."""
        return _upper(self._info.get("iata"))

    @property
    def ipv4(self) -> str | None:
        """The VP's IPv4 address as the controller sees it."""
        return self._info.get("ipv4")

    @property
    def ipv6(self) -> str | None:
        """The VP's IPv6 address as the controller sees it."""
        return self._info.get("ipv6")

    @property
    def asn4(self) -> int | str | None:
        """IPv4 AS number (int when all digits)."""
        return _asn(self._info.get("asn4"))

    @property
    def asn6(self) -> int | str | None:
        """IPv6 AS number (int when all digits)."""
        return _asn(self._info.get("asn6"))

    @property
    def policy(self) -> str | None:
        """The VP's policy text, when the mux publishes it (else None)."""
        return self._info.get("policy")

    @property
    def policy_hash(self) -> str | None:
        """The hash of the VP's policy, when the mux publishes it (else None)."""
        return self._info.get("policy_hash")

    def __str__(self) -> str:
        n = self.name
        return n if n is not None else object.__repr__(self)

    def __repr__(self) -> str:
        return f"<ScamperVp {self.name!r}>"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ScamperVp):
            return NotImplemented
        return id(self) < id(other)


class ScamperMux:
    """A connection to a mux socket; `vps()` lists its VPs."""

    __slots__ = ("_mux", "_path", "_vps", "__weakref__")
    _mux: Any
    _path: str
    _vps: list[ScamperVp]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(_NO_INIT)

    @classmethod
    def _connect(cls, path: str) -> "ScamperMux":
        m = object.__new__(cls)
        m._path = path
        m._mux = _native._Mux.connect(path)
        # The VP list is a snapshot taken when the mux connects.
        m._vps = [ScamperVp._make(info, m._mux) for info in m._mux.vps()]
        return m

    def vps(self) -> list[ScamperVp]:
        """The VPs the mux listed when it connected."""
        return list(self._vps)

    def __repr__(self) -> str:
        return f"<ScamperMux {self._path!r}>"


# ---------------------------------------------------------------- instances, tasks


class ScamperTask:
    """A handle on one asynchronous measurement (returned by do_* methods)."""

    __slots__ = ("_inst", "_ticket", "_id", "_halt", "_waiter", "_counted", "__weakref__")
    _inst: "ScamperInst"
    _ticket: int
    _id: int | None
    _halt: bool
    _waiter: Callable[[Any, BaseException | None], None] | None
    _counted: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(_NO_INIT)

    @classmethod
    def _make(cls, inst: "ScamperInst", ticket: int, counted: bool) -> "ScamperTask":
        t = object.__new__(cls)
        t._inst = inst
        t._ticket = ticket
        t._id = None
        t._halt = False
        t._waiter = None
        t._counted = counted
        return t

    def halt(self) -> None:
        """Ask the probe to stop this measurement (its partial result, stop
        reason halted, still arrives)."""
        inst = self._inst
        if inst is None or inst._eof or inst._removed:
            return
        if inst._tasks.get(self._ticket) is not self:
            return  # finished (result or error): nothing left to stop
        if self._id is None:
            self._halt = True
        else:
            inst._chan.halt(self._id)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ScamperTask):
            return NotImplemented
        return id(self) < id(other)


class ScamperInst:
    """One connected prober: a VP reached through a mux, or a probe's own
    control socket."""

    __slots__ = (
        "_ctrl",
        "_chan",
        "_name",
        "_raw",
        "_vp",
        "_tasks",
        "_done",
        "_eof",
        "_removed",
        "_resultc",
        "_eofcb_due",
        "__weakref__",
    )
    _ctrl: "weakref.ref[ScamperCtrl]"  # weak: a dropped ctrl closes its connections
    _chan: Any
    _name: str
    _raw: str
    _vp: ScamperVp | None
    _tasks: dict[int, ScamperTask]
    _done: bool
    _eof: bool
    _removed: bool
    _resultc: int
    _eofcb_due: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(_NO_INIT)

    @classmethod
    def _make(
        cls, ctrl: "ScamperCtrl", chan: Any, name: str, raw: str, vp: ScamperVp | None
    ) -> "ScamperInst":
        i = object.__new__(cls)
        i._ctrl = weakref.ref(ctrl)
        i._chan = chan
        i._name = name
        i._raw = raw
        i._vp = vp
        i._tasks = {}
        i._done = False
        i._eof = False
        i._removed = False
        i._resultc = 0
        i._eofcb_due = False
        return i

    @property
    def name(self) -> str:
        """Friendly name: the VP name for mux instances, the socket path or
        address otherwise."""
        return self._name

    def _vpattr(self, attr: str) -> Any:
        return getattr(self._vp, attr) if self._vp is not None else None

    @property
    def shortname(self) -> str | None:
        """As ScamperVp.shortname (mux instances only)."""
        return self._vpattr("shortname")

    @property
    def tags(self) -> set[str] | None:
        """As ScamperVp.tags (None for non-mux instances)."""
        return self._vpattr("tags")

    @property
    def cc(self) -> str | None:
        """As ScamperVp.cc."""
        return self._vpattr("cc")

    @property
    def st(self) -> str | None:
        """As ScamperVp.st."""
        return self._vpattr("st")

    @property
    def place(self) -> str | None:
        """As ScamperVp.place."""
        return self._vpattr("place")

    @property
    def loc(self) -> tuple[float, float] | None:
        """As ScamperVp.loc."""
        return self._vpattr("loc")

    @property
    def iata(self) -> str | None:
        """As ScamperVp.iata."""
        return self._vpattr("iata")

    @property
    def ipv4(self) -> str | None:
        """As ScamperVp.ipv4."""
        return self._vpattr("ipv4")

    @property
    def ipv6(self) -> str | None:
        """As ScamperVp.ipv6."""
        return self._vpattr("ipv6")

    @property
    def asn4(self) -> int | str | None:
        """As ScamperVp.asn4."""
        return self._vpattr("asn4")

    @property
    def asn6(self) -> int | str | None:
        """As ScamperVp.asn6."""
        return self._vpattr("asn6")

    @property
    def policy(self) -> str | None:
        """As ScamperVp.policy."""
        return self._vpattr("policy")

    @property
    def policy_hash(self) -> str | None:
        """As ScamperVp.policy_hash."""
        return self._vpattr("policy_hash")

    @property
    def taskc(self) -> int:
        """Outstanding asynchronous tasks on this instance."""
        return sum(1 for t in self._tasks.values() if t._counted)

    @property
    def resultc(self) -> int:
        """Results received but not yet delivered to the user."""
        return self._resultc

    def done(self) -> None:
        """Send done: no more commands; the probe finishes what it has, then
        the instance ends (EOF)."""
        if self._removed:
            raise ValueError("ScamperInst removed from ctrl")
        if self._done or self._eof:
            self._done = True
            return
        self._done = True
        try:
            self._chan.done()
        except RuntimeError:
            pass

    def is_done(self) -> bool:
        """Whether done was sent."""
        return self._done

    def is_eof(self) -> bool:
        """Whether the instance disconnected."""
        return self._eof

    def __str__(self) -> str:
        return self._raw

    def __repr__(self) -> str:
        return f"<ScamperInst {self._name!r}>"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ScamperInst):
            return NotImplemented
        return id(self) < id(other)


# ---------------------------------------------------------------- the ctrl


def _remote_name(path: str) -> str:
    """The name of an `sc_remoted -U` socket: its file name without the
    trailing `-<peer>` that sc_remoted appends to the monitor name (the peer
    is `ip:port`, or `addr.port` for IPv6, so it always has a colon and never
    a dash)."""
    base = os.path.basename(path.rstrip("/"))
    name, sep, peer = base.rpartition("-")
    if sep and name and ":" in peer:
        return name
    return base


_ALLOW_LIST = {
    "ping", "trace", "tracelb", "dns", "http", "udpprobe",
    "sniff", "tbit", "mercator", "radargun",
}


class ScamperCtrl(Generic[PT]):
    """The client-side controller: instances, their results, callbacks.

    ScamperCtrl(meta=False, morecb=None, eofcb=None, param=None, unix=None,
    remote=None, remote_dir=None, mux=None, outfile=None)

    Generic in the type of `param` (`ScamperCtrl[PT]`), which is the third
    argument of `morecb` and `eofcb`.
    """

    def __init__(
        self,
        meta: bool = False,
        morecb: Callable[[ScamperCtrl[PT], ScamperInst, PT], Any] | None = None,
        eofcb: Callable[[ScamperCtrl[PT], ScamperInst, PT], Any] | None = None,
        param: PT = None,  # type: ignore[assignment]  # PT is None when omitted
        unix: str | None = None,
        remote: str | None = None,
        remote_dir: str | None = None,
        mux: str | None = None,
        outfile: Any = None,
    ) -> None:
        if outfile is not None:
            if not isinstance(outfile, _native.ScamperFile):
                raise ValueError("outfile not ScamperFile")
            if not outfile.is_write():
                raise RuntimeError("outfile not opened for writing")
        self._lock = threading.RLock()
        self._hub = _native._Hub()
        self._meta = bool(meta)
        self.morecb = morecb
        self.eofcb = eofcb
        self.param = param
        self.outfile = outfile
        self.sync_timeout: Any = None
        self._muxes: list[ScamperMux] = []
        self._insts: list[ScamperInst] = []
        self._results: collections.deque[tuple[ScamperInst | None, Any]] = collections.deque()
        self._exceptions: collections.deque[BaseException] = collections.deque()
        self._on_activity: Callable[[], None] | None = None
        if unix is not None:
            self.add_unix(unix)
        if remote is not None:
            self.add_remote(remote)
        if remote_dir is not None:
            self.add_remote_dir(remote_dir)
        if mux is not None:
            self.add_mux(mux)

    # -- context manager (does nothing on exit, like the reference)
    def __enter__(self) -> "ScamperCtrl":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    # -- connections
    def add_mux(self, path: str) -> None:
        """Connect to a mux socket and fetch its VP list."""
        if not isinstance(path, str):
            raise TypeError("path must be a str")
        m = ScamperMux._connect(path)
        with self._lock:
            self._muxes.append(m)

    def add_unix(self, path: str) -> "ScamperInst":
        """Connect to a probe's unix control socket (`vantage probe -U`)."""
        if not isinstance(path, str):
            raise TypeError("path must be a str")
        chan = _native._Chan.unix(path, self._hub)
        return self._add_inst(chan, path, path, None)

    def add_inet(self, port: int, addr: str | None = None) -> "ScamperInst":
        """Connect to a probe's TCP control port (loopback when addr is None)."""
        port = _int(port, "port", 1, 65535)
        host = "127.0.0.1" if addr is None else str(addr)
        chan = _native._Chan.tcp(host, port, self._hub)
        raw = f"{host}:{port}"
        return self._add_inst(chan, raw, raw, None)

    def add_remote(self, path: str) -> "ScamperInst":
        """Connect to one per-VP socket that `sc_remoted -U dir` exports
        (the peer is already attached: no attach line). RuntimeError on
        failure."""
        if not isinstance(path, str):
            raise TypeError("path must be a str")
        chan = _native._Chan.remote(path, self._hub)
        return self._add_inst(chan, _remote_name(path), path, None)

    def add_remote_dir(self, path: str) -> None:
        """Connect to every unix socket in a `sc_remoted -U` directory;
        other entries are ignored and connection failures skipped. OSError
        if the directory cannot be read."""
        if not isinstance(path, str):
            raise TypeError("path must be a str")
        with os.scandir(path) as it:
            entries = sorted(e.path for e in it)
        for p in entries:
            try:
                if not stat.S_ISSOCK(os.stat(p).st_mode):
                    continue
                self.add_remote(p)
            except (OSError, RuntimeError):
                continue

    def _add_inst(self, chan: Any, name: str, raw: str, vp: ScamperVp | None) -> ScamperInst:
        inst = ScamperInst._make(self, chan, name, raw, vp)
        with self._lock:
            self._insts.append(inst)
        return inst

    def vps(self) -> list[ScamperVp]:
        """Every VP of every mux added (in mux order)."""
        out: list[ScamperVp] = []
        for m in self._muxes:
            out.extend(m._vps)
        return out

    def add_vps(self, vps: Any) -> list[ScamperInst]:
        """Open one instance per VP (a ScamperVp, or a list/set of them)."""
        if isinstance(vps, ScamperVp):
            vps = [vps]
        elif isinstance(vps, (list, set)):
            for v in vps:
                if not isinstance(v, ScamperVp):
                    raise TypeError("add_vps takes ScamperVp objects")
        else:
            raise TypeError("add_vps takes a ScamperVp or a list of them")
        out = []
        for vp in vps:
            try:
                chan = vp._mux.open(vp._info["id"], self._hub)
            except RuntimeError:
                continue
            name = vp.name or vp.ipv4 or vp.ipv6 or f"vp{vp._info['id']}"
            out.append(self._add_inst(chan, name, name, vp))
        return out

    def instances(self) -> list[ScamperInst]:
        """The live instances, in the order they were added."""
        return list(self._insts)

    def remove(self, inst: ScamperInst) -> None:
        """Detach an instance now; its outstanding tasks are forgotten."""
        if not isinstance(inst, ScamperInst):
            raise TypeError("inst not ScamperInst type")
        with self._lock:
            if inst not in self._insts or inst._ctrl() is not self:
                raise ValueError("instance not in this ctrl")
            self._insts.remove(inst)
            inst._removed = True
            inst._tasks.clear()
            try:
                inst._chan.done()
            except RuntimeError:
                pass

    @property
    def instc(self) -> int:
        """Number of live instances."""
        return len(self._insts)

    @property
    def taskc(self) -> int:
        """Number of outstanding asynchronous tasks over all instances."""
        return sum(i.taskc for i in self._insts)

    # -- lifecycle
    def done(self) -> None:
        """Send done to every instance."""
        for i in list(self._insts):
            if not i._done:
                i.done()

    def is_done(self) -> bool:
        """True when no result is queued and no instance is live."""
        return not self._results and not self._insts

    def exceptions(self) -> Iterator[BaseException]:
        """Pop and yield the queued exceptions, oldest first."""
        while self._exceptions:
            yield self._exceptions.popleft()

    # -- event processing (caller's thread only)
    def _pump(self) -> None:
        """Take every waiting event of every instance and act on it."""
        with self._lock:
            for inst in list(self._insts):
                if inst._removed:
                    continue
                for ev in inst._chan.events(inst):
                    self._on_event(inst, ev)

    def _call(self, cb: Callable[..., Any] | None, inst: ScamperInst) -> None:
        if cb is None:
            return
        try:
            cb(self, inst, self.param)
        except Exception as e:  # queued, surfaces from poll()/exceptions()
            self._exceptions.append(e)

    def _on_event(self, inst: ScamperInst, ev: tuple[Any, ...]) -> None:
        kind = ev[0]
        if kind == "result":
            _, ticket, _task, obj, inprog = ev
            task = inst._tasks.get(ticket) if ticket is not None else None
            if task is not None and not inprog:
                del inst._tasks[ticket]
            if isinstance(obj, BaseException):
                exc = obj
                if task is not None and task._waiter is not None:
                    task._waiter(None, exc)
                else:
                    self._exceptions.append(exc)
                return
            out = self.outfile
            if out is not None:
                try:
                    out.write(obj)
                except Exception:
                    pass
            if task is not None and task._waiter is not None and not inprog:
                task._waiter(obj, None)
                return
            inst._resultc += 1
            self._results.append((inst, obj))
        elif kind == "more":
            if not inst._done:
                self._call(self.morecb, inst)
        elif kind == "accepted":
            _, ticket, task_id = ev
            task = inst._tasks.get(ticket)
            if task is not None:
                task._id = task_id
                if task._halt:
                    inst._chan.halt(task_id)
        elif kind == "meta":
            if self._meta:
                inst._resultc += 1
                self._results.append((inst, ev[1]))
        elif kind == "failed":
            _, ticket, _task, fkind, end, msg = ev
            task = inst._tasks.pop(ticket, None)
            if fkind == "rejected":
                exc = ScamperInstError(f"got err from {inst.name}: {msg}", inst)
            elif fkind == "undecodable":
                exc = RuntimeError(msg)
            elif end == "closed_by_client":
                # This side closed the connection: nothing to report, except
                # to a sync=True wait, which must not hang (Appendix B3).
                if task is not None and task._waiter is not None:
                    task._waiter(None, ScamperInstError(f"got fatal from {inst.name}: {msg}", inst))
                return
            else:
                exc = ScamperInstError(f"got fatal from {inst.name}: {msg}", inst)
            if task is not None and task._waiter is not None:
                task._waiter(None, exc)
            else:
                self._exceptions.append(exc)
        elif kind == "ended":
            inst._eof = True
            for t in list(inst._tasks.values()):
                if t._waiter is not None:
                    t._waiter(None, ScamperInstError(f"got fatal from {inst.name}: {ev[2]}", inst))
            inst._tasks.clear()
            if inst in self._insts:
                self._insts.remove(inst)
            if inst._resultc == 0:
                self._call(self.eofcb, inst)
            else:
                inst._eofcb_due = True
        if self._on_activity is not None:
            self._on_activity()

    def _take(self) -> Any:
        """The oldest queued object (caller holds the lock), or _TOKEN."""
        while self._results:
            inst, obj = self._results.popleft()
            if inst is not None:
                inst._resultc -= 1
                if inst._eofcb_due and inst._resultc == 0:
                    inst._eofcb_due = False
                    if self.eofcb is not None:
                        # [quirk, kept] an eofcb exception here leaves poll();
                        # the object stays queued for the next call.
                        try:
                            self.eofcb(self, inst, self.param)
                        except BaseException:
                            self._results.appendleft((None, obj))
                            raise
            return obj
        return _TOKEN

    # -- consuming results
    def poll(self, timeout: Any = None, until: Any = None) -> Any:
        """One result object, or None when the ctrl is done or the time ran
        out. Raises the oldest queued exception first."""
        deadline = _deadline(timeout, until)
        self._pump()
        while True:
            with self._lock:
                if self._exceptions:
                    raise self._exceptions.popleft()
                obj = self._take()
                if obj is not _TOKEN:
                    return obj
                if self.is_done():
                    return None
            left = _left(deadline)
            if left is not None and left <= 0:
                return None
            self._hub.wait(left)
            self._pump()

    def responses(self, timeout: Any = None, until: Any = None) -> Iterator[Any]:
        """Yield every result until no asynchronous task is outstanding or
        the time runs out. Queued exceptions stay in exceptions()."""
        deadline = _deadline(timeout, until)
        return self._responses(deadline)

    def _responses(self, deadline: float | None) -> Iterator[Any]:
        self._pump()
        while True:
            while True:
                with self._lock:
                    obj = self._take()
                if obj is _TOKEN:
                    break
                yield obj
            if self.taskc == 0:
                return
            left = _left(deadline)
            if left is not None and left <= 0:
                return
            self._hub.wait(left)
            self._pump()

    # -- issuing commands
    def _targets(self, inst: Any, kind: str, sync: bool) -> tuple[list[ScamperInst], bool]:
        if inst is None:
            if not self._insts:
                raise RuntimeError("no connected ScamperInst")
            if len(self._insts) > 1:
                raise RuntimeError("specify a ScamperInst")
            return [self._insts[0]], False
        if isinstance(inst, ScamperInst):
            if inst._removed or inst._ctrl() is not self:
                raise RuntimeError("ScamperInst removed from ctrl")
            if inst._eof:
                raise RuntimeError(f"ScamperInst {inst.name} has signalled EOF")
            return [inst], False
        if isinstance(inst, (list, set)):
            if kind not in _ALLOW_LIST:
                raise RuntimeError(f"list of ScamperInst not allowed with {kind}")
            for i in inst:
                if not isinstance(i, ScamperInst):
                    raise TypeError("inst not ScamperInst type")
            if sync:
                raise RuntimeError("cannot run synchronous measurements with list")
            seen: list[ScamperInst] = []
            for i in inst:
                if i in seen or i._removed or i._eof or i._ctrl() is not self:
                    continue
                seen.append(i)
            if not seen:
                raise RuntimeError("no usable ScamperInst")
            return seen, True
        raise TypeError("inst not ScamperInst type")

    def _submit(self, inst: ScamperInst, cmd: str, counted: bool = True) -> ScamperTask:
        if inst._done:
            raise RuntimeError("could not schedule command: instance marked done")
        try:
            ticket = inst._chan.submit(cmd)
        except RuntimeError as e:
            raise RuntimeError(f"could not schedule command: {e}") from None
        task = ScamperTask._make(inst, ticket, counted)
        inst._tasks[ticket] = task
        return task

    def _do(self, kind: str, cmd: str, inst: Any, sync: bool) -> Any:
        if not isinstance(sync, bool):
            raise TypeError("sync must be a bool")
        with self._lock:
            targets, many = self._targets(inst, kind, sync)
            if many:
                tasks = []
                for i in targets:
                    try:
                        tasks.append(self._submit(i, cmd))
                    except RuntimeError:
                        continue
                return tasks
            if not sync:
                return self._submit(targets[0], cmd)
            task = self._submit(targets[0], cmd, counted=False)
        return self._wait_sync(task)

    def _wait_sync(self, task: ScamperTask) -> Any:
        import time

        slot: list[Any] = []

        def waiter(obj: Any, exc: BaseException | None) -> None:
            slot.append((obj, exc))

        task._waiter = waiter
        limit = self.sync_timeout
        deadline = None if limit is None else time.monotonic() + _seconds(limit, "sync_timeout")
        try:
            self._pump()
            while True:
                if slot:
                    obj, exc = slot[0]
                    if exc is not None:
                        raise exc
                    return obj
                with self._lock:
                    if self._exceptions:
                        raise self._exceptions.popleft()
                left = _left(deadline)
                if left is not None and left <= 0:
                    # Halted (now, or once accepted); its partial result is
                    # queued when it comes.
                    task.halt()
                    raise ScamperInstError(
                        f"no result from {task._inst.name} within the sync_timeout", task._inst
                    )
                self._hub.wait(left)
                self._pump()
        finally:
            if not slot:
                # Left early (another error, Ctrl-C): a late result is queued
                # like any other instead of vanishing.
                task._waiter = None

    # -- do_* (command text: python-api.md Appendix A)
    def do_ping(
        self, dst: Any, tcp_ack: Any = None, tcp_seq: Any = None, tcp_mss: Any = None,
        attempts: Any = None, icmp_id: Any = None, icmp_seq: Any = None,
        icmp_sum: Any = None, dport: Any = None, sport: Any = None,
        wait_probe: Any = None, ttl: Any = None, mtu: Any = None,
        stop_count: Any = None, method: Any = None, payload: Any = None,
        rtr: Any = None, ip_rr: Any = None, ip_ts: Any = None, dltx: Any = None,
        size: Any = None, src: Any = None, wait_timeout: Any = None,
        tos: Any = None, userid: Any = None, inst: Any = None, sync: bool = False,
    ) -> Any:
        """Ping dst; returns a ScamperTask (a list for a list inst) or, with
        sync=True, the ScamperPing."""
        d = _addr(dst, "dst")
        m = None
        if method is not None:
            if not isinstance(method, str):
                raise TypeError("method must be a str")
            m = method.lower()
            if m not in ("icmp-echo", "icmp-time", "udp", "udp-port", "tcp-syn",
                         "tcp-syn-sport", "tcp-synack", "tcp-ack", "tcp-ack-sport", "tcp-rst"):
                raise ValueError(f"invalid ping method {method}")
        if tcp_ack is not None or tcp_seq is not None or tcp_mss is not None:
            if m is None:
                raise ValueError("specify method when specifying tcp_ack, tcp_seq or tcp_mss")
            if tcp_ack is not None and tcp_seq is not None:
                raise ValueError("tcp_ack and tcp_seq are mutually exclusive")
            if tcp_ack is not None and not m.startswith("tcp-ack"):
                raise ValueError("tcp_ack needs a tcp-ack method")
            if tcp_seq is not None and not (m.startswith("tcp-syn") or m == "tcp-rst"):
                raise ValueError("tcp_seq needs a tcp-syn or tcp-rst method")
            if tcp_mss is not None and not m.startswith("tcp-syn"):
                raise ValueError("tcp_mss needs a tcp-syn method")
            if icmp_sum is not None:
                raise ValueError("icmp_sum cannot be combined with tcp options")
        if (icmp_id is not None or icmp_seq is not None or icmp_sum is not None) and (
            m is not None and not m.startswith("icmp")
        ):
            raise ValueError("icmp_id, icmp_seq and icmp_sum need an icmp method")
        if (sport is not None or dport is not None) and (
            m is None or not (m.startswith("tcp") or m.startswith("udp"))
        ):
            raise ValueError("specify method when specifying the source or destination port")
        a = ["ping"]
        if tcp_ack is not None:
            a += ["-A", str(_int(tcp_ack, "tcp_ack"))]
        if tcp_seq is not None:
            a += ["-A", str(_int(tcp_seq, "tcp_seq"))]
        if tcp_mss is not None:
            a += ["-O", f"mss={_int(tcp_mss, 'tcp_mss')}"]
        if payload is not None:
            a += ["-B", _hexbytes(payload, "payload")]
        if attempts is not None:
            a += ["-c", str(_int(attempts, "attempts", 1))]
        if icmp_sum is not None:
            a += ["-C", str(_int(icmp_sum, "icmp_sum"))]
        if dport is not None:
            a += ["-d", str(_int(dport, "dport", 0, 65535))]
        if icmp_seq is not None:
            a += ["-d", str(_int(icmp_seq, "icmp_seq"))]
        if sport is not None:
            a += ["-F", str(_int(sport, "sport", 0, 65535))]
        if icmp_id is not None:
            a += ["-F", str(_int(icmp_id, "icmp_id"))]
        if wait_probe is not None:
            a += ["-i", _dur(wait_probe, "wait_probe")]
        if ttl is not None:
            a += ["-m", str(_int(ttl, "ttl", 1, 255))]
        if mtu is not None:
            a += ["-M", str(_int(mtu, "mtu"))]
        if stop_count is not None:
            a += ["-o", str(_int(stop_count, "stop_count"))]
        if method is not None:
            a += ["-P", method]
        if rtr is not None:
            a += ["-r", _addr(rtr, "rtr")]
        if ip_rr:
            a += ["-R"]
        if ip_ts is not None:
            if isinstance(ip_ts, str):
                if ip_ts not in ("tsonly", "tsandaddr"):
                    raise ValueError("ip_ts must be 'tsonly', 'tsandaddr' or a list of addresses")
                a += ["-T", ip_ts]
            elif isinstance(ip_ts, list) and 1 <= len(ip_ts) <= 4:
                a += ["-T", "tsprespec=" + ",".join(_addr(x, "ip_ts") for x in ip_ts)]
            else:
                raise ValueError("ip_ts must be 'tsonly', 'tsandaddr' or a list of up to 4 addresses")
        if dltx:
            a += ["-O", "dltx"]
        if size is not None:
            a += ["-s", str(_int(size, "size"))]
        if src is not None:
            a += ["-S", _addr(src, "src")]
        if userid is not None:
            a += ["-U", str(_int(userid, "userid", 0))]
        if wait_timeout is not None:
            a += ["-W", _dur(wait_timeout, "wait_timeout")]
        if tos is not None:
            a += ["-z", str(_int(tos, "tos", 0, 255))]
        a.append(d)
        return self._do("ping", " ".join(a), inst, sync)

    def do_trace(
        self, dst: Any, confidence: Any = None, dport: Any = None, icmp_id: Any = None,
        icmp_sum: Any = None, firsthop: Any = None, gaplimit: Any = None,
        loops: Any = None, hoplimit: Any = None, pmtud: Any = None,
        squeries: Any = None, ptr: Any = None, payload: Any = None,
        method: Any = None, attempts: Any = None, all_attempts: Any = None,
        rtr: Any = None, sport: Any = None, src: Any = None, tos: Any = None,
        wait_timeout: Any = None, wait_probe: Any = None, userid: Any = None,
        inst: Any = None, sync: bool = False,
    ) -> Any:
        """Traceroute to dst; a ScamperTask, a list of them, or (sync) the
        ScamperTrace."""
        d = _addr(dst, "dst")
        m = None
        if method is not None:
            if not isinstance(method, str):
                raise TypeError("method must be a str")
            m = method.lower()
            if m not in ("udp-paris", "icmp-paris", "udp", "icmp", "tcp", "tcp-ack"):
                raise ValueError(f"invalid trace method {method}")
        if (sport is not None or dport is not None) and (
            m is None or not (m.startswith("tcp") or m.startswith("udp"))
        ):
            raise ValueError("specify method when specifying the source or destination port")
        if icmp_sum is not None and m not in (None, "icmp-paris"):
            raise ValueError("icmp_sum needs the icmp-paris method")
        if icmp_id is not None and m is not None and not m.startswith("icmp"):
            raise ValueError("icmp_id needs an icmp method")
        a = ["trace"]
        if sport is not None:
            a += ["-s", str(_int(sport, "sport", 0, 65535))]
        if dport is not None:
            a += ["-d", str(_int(dport, "dport", 0, 65535))]
        if icmp_sum is not None:
            a += ["-d", str(_int(icmp_sum, "icmp_sum"))]
        if icmp_id is not None:
            a += ["-s", str(_int(icmp_id, "icmp_id"))]
        if confidence is not None:
            a += ["-C", str(_int(confidence, "confidence"))]
        if firsthop is not None:
            a += ["-f", str(_int(firsthop, "firsthop", 1, 255))]
        if gaplimit is not None:
            a += ["-g", str(_int(gaplimit, "gaplimit", 1))]
        if loops is not None:
            a += ["-l", str(_int(loops, "loops", 0))]
        if hoplimit is not None:
            a += ["-m", str(_int(hoplimit, "hoplimit", 1, 255))]
        if pmtud:
            a += ["-M"]
        if squeries is not None:
            a += ["-N", str(_int(squeries, "squeries", 1))]
        if ptr:
            a += ["-O", "ptr"]
        if payload is not None:
            a += ["-p", _hexbytes(payload, "payload")]
        if method is not None:
            a += ["-P", method]
        elif icmp_sum is not None or icmp_id is not None:
            a += ["-P", "icmp-paris"]
        if attempts is not None:
            a += ["-q", str(_int(attempts, "attempts", 1))]
        if all_attempts:
            a += ["-Q"]
        if rtr is not None:
            a += ["-r", _addr(rtr, "rtr")]
        if src is not None:
            a += ["-S", _addr(src, "src")]
        if tos is not None:
            a += ["-t", str(_int(tos, "tos", 0, 255))]
        if userid is not None:
            a += ["-U", str(_int(userid, "userid", 0))]
        if wait_timeout is not None:
            a += ["-w", _dur(wait_timeout, "wait_timeout")]
        if wait_probe is not None:
            a += ["-W", _dur(wait_probe, "wait_probe")]
        a.append(d)
        return self._do("trace", " ".join(a), inst, sync)

    def do_tracelb(
        self, dst: Any, confidence: Any = None, dport: Any = None, firsthop: Any = None,
        gaplimit: Any = None, method: Any = None, attempts: Any = None,
        ptr: Any = None, rtr: Any = None, sport: Any = None, tos: Any = None,
        wait_timeout: Any = None, wait_probe: Any = None, userid: Any = None,
        inst: Any = None, sync: bool = False,
    ) -> Any:
        """MDA traceroute to dst; a ScamperTask, a list, or (sync) the
        ScamperTracelb."""
        d = _addr(dst, "dst")
        m = None
        if method is not None:
            if not isinstance(method, str):
                raise TypeError("method must be a str")
            m = method.lower()
            if m not in ("udp-dport", "icmp-echo", "udp-sport", "tcp-sport", "tcp-ack-sport"):
                raise ValueError(f"invalid tracelb method {method}")
        if (sport is not None or dport is not None) and (
            m is None or not (m.startswith("tcp") or m.startswith("udp"))
        ):
            raise ValueError("specify method when specifying the source or destination port")
        a = ["tracelb"]
        if confidence is not None:
            a += ["-c", str(_int(confidence, "confidence"))]
        if dport is not None:
            a += ["-d", str(_int(dport, "dport", 0, 65535))]
        if firsthop is not None:
            a += ["-f", str(_int(firsthop, "firsthop", 1, 255))]
        if gaplimit is not None:
            a += ["-g", str(_int(gaplimit, "gaplimit", 1))]
        if method is not None:
            a += ["-P", method]
        if attempts is not None:
            a += ["-q", str(_int(attempts, "attempts", 1))]
        if ptr:
            a += ["-O", "ptr"]
        if rtr is not None:
            a += ["-r", _addr(rtr, "rtr")]
        if sport is not None:
            a += ["-s", str(_int(sport, "sport", 0, 65535))]
        if tos is not None:
            a += ["-t", str(_int(tos, "tos", 0, 255))]
        if userid is not None:
            a += ["-U", str(_int(userid, "userid", 0))]
        if wait_timeout is not None:
            a += ["-w", _dur(wait_timeout, "wait_timeout")]
        if wait_probe is not None:
            a += ["-W", _dur(wait_probe, "wait_probe")]
        a.append(d)
        return self._do("tracelb", " ".join(a), inst, sync)

    def do_dns(
        self, qname: Any, server: Any = None, qclass: Any = None, qtype: Any = None,
        mqtypes: Any = None, attempts: Any = None, rd: Any = None,
        wait_timeout: Any = None, tcp: Any = None, nsid: Any = None, ecs: Any = None,
        userid: Any = None, inst: Any = None, sync: bool = False,
    ) -> Any:
        """DNS query for qname; a ScamperTask, a list, or (sync) the
        ScamperHost."""
        if qname is None:
            raise ValueError("qname is required")
        q = str(qname)
        if not q or any(c.isspace() for c in q):
            raise ValueError(f"invalid qname {q!r}")
        a = ["host"]
        if server is not None:
            a += ["-s", _addr(server, "server")]
        if qclass is not None:
            if not isinstance(qclass, str) or not qclass.isalnum():
                raise ValueError("invalid qclass")
            a += ["-c", qclass]
        if qtype is not None:
            if not isinstance(qtype, str) or not qtype.isalnum():
                raise ValueError("invalid qtype")
            a += ["-t", qtype]
        if attempts is not None:
            a += ["-R", str(_int(attempts, "attempts", 1))]
        if wait_timeout is not None:
            a += ["-W", _dur(wait_timeout, "wait_timeout")]
        if userid is not None:
            a += ["-U", str(_int(userid, "userid", 0))]
        if rd is not None and not rd:
            a += ["-r"]
        if tcp:
            a += ["-T"]
        if nsid:
            a += ["-O", "nsid"]
        if ecs is not None:
            if not isinstance(ecs, str) or not ecs or any(c.isspace() for c in ecs):
                raise ValueError("ecs must be a prefix string such as 192.0.2.0/24")
            a += ["-O", f"subnet={ecs}"]
        if mqtypes is not None:
            if not isinstance(mqtypes, list) or not mqtypes or not all(
                isinstance(t, str) and t.isalnum() for t in mqtypes
            ):
                raise ValueError("mqtypes must be a non-empty list of str")
            a += ["-O", "mqtypes=" + ",".join(mqtypes)]
        a.append(q)
        return self._do("dns", " ".join(a), inst, sync)

    def do_http(
        self, dst: Any, url: Any, headers: Any = None, insecure: bool = False,
        limit_time: Any = None, ech_grease: bool = False, ech_config_list: Any = None,
        userid: Any = None, inst: Any = None, sync: bool = False,
    ) -> Any:
        """HTTP(S) GET of url from address dst; a ScamperTask, a list, or
        (sync) the ScamperHttp."""
        d = _addr(dst, "dst")
        if not isinstance(url, str) or not (url.startswith("http://") or url.startswith("https://")):
            raise ValueError("url must be an http:// or https:// URL")
        if ech_grease and ech_config_list is not None:
            raise ValueError("ech_grease and ech_config_list are mutually exclusive")
        a = ["http"]
        if insecure:
            a += ["-O", "insecure"]
        if limit_time is not None:
            a += ["-m", _dur(limit_time, "limit_time")]
        if headers is not None:
            if not isinstance(headers, dict):
                raise ValueError("headers must be a dict")
            for k, v in headers.items():
                if not isinstance(k, str) or not isinstance(v, str) or not (k + v).isascii():
                    raise ValueError("headers must be ASCII str: str")
                a += ["-H", _quote(f"{k}: {v}")]
        if ech_grease:
            a += ["-O", "grease"]
        if ech_config_list is not None:
            if not isinstance(ech_config_list, str) or not ech_config_list.isascii():
                raise ValueError("ech_config_list must be an ASCII str")
            a += ["-O", f"ecl={ech_config_list}"]
        if userid is not None:
            a += ["-U", str(_int(userid, "userid", 0))]
        a += ["-u", _quote(url), d]
        return self._do("http", " ".join(a), inst, sync)

    def do_udpprobe(
        self, dst: Any, dport: Any, payload: Any, attempts: Any = None, src: Any = None,
        stop_count: Any = None, userid: Any = None, inst: Any = None, sync: bool = False,
    ) -> Any:
        """One UDP probe (payload to dst:dport); a ScamperTask, a list, or
        (sync) the ScamperUdpprobe."""
        d = _addr(dst, "dst")
        a = ["udpprobe", "-d", str(_int(dport, "dport", 1, 65535)),
             "-p", _hexbytes(payload, "payload")]
        if attempts is not None:
            a += ["-c", str(_int(attempts, "attempts", 1))]
        if stop_count is not None:
            a += ["-o", str(_int(stop_count, "stop_count", 1))]
        if src is not None:
            a += ["-S", _addr(src, "src")]
        if userid is not None:
            a += ["-U", str(_int(userid, "userid", 0))]
        a.append(d)
        return self._do("udpprobe", " ".join(a), inst, sync)

    def _unsupported(self, what: str) -> Any:
        raise NotImplementedError(
            f"{what}: the Vantage probe does not run this measurement yet "
            "(ping, trace, tracelb, dns, http and udpprobe are wired)"
        )

    def do_ally(self, *args: Any, **kwargs: Any) -> Any:
        """Not available yet (dealias -m ally)."""
        return self._unsupported("do_ally (ScamperDealias)")

    def do_mercator(self, *args: Any, **kwargs: Any) -> Any:
        """Not available yet (dealias -m mercator)."""
        return self._unsupported("do_mercator (ScamperDealias)")

    def do_prefixscan(self, *args: Any, **kwargs: Any) -> Any:
        """Not available yet (dealias -m prefixscan)."""
        return self._unsupported("do_prefixscan (ScamperDealias)")

    def do_radargun(self, *args: Any, **kwargs: Any) -> Any:
        """Not available yet (dealias -m radargun)."""
        return self._unsupported("do_radargun (ScamperDealias)")

    def do_midarest(self, *args: Any, **kwargs: Any) -> Any:
        """Not available yet (dealias -m midarest)."""
        return self._unsupported("do_midarest (ScamperDealias)")

    def do_midardisc(self, *args: Any, **kwargs: Any) -> Any:
        """Not available yet (dealias -m midardisc)."""
        return self._unsupported("do_midardisc (ScamperDealias)")

    def do_sniff(self, *args: Any, **kwargs: Any) -> Any:
        """Not available yet (ScamperSniff)."""
        return self._unsupported("do_sniff (ScamperSniff)")

    def do_tbit(self, *args: Any, **kwargs: Any) -> Any:
        """Not available yet (ScamperTbit)."""
        return self._unsupported("do_tbit (ScamperTbit)")

    def do_owamp(self, *args: Any, **kwargs: Any) -> Any:
        """Not available yet (ScamperOwamp)."""
        return self._unsupported("do_owamp (ScamperOwamp)")

    def do_inject(self, *args: Any, **kwargs: Any) -> Any:
        """Not available: Vantage sends only the do_* command texts."""
        return self._unsupported("do_inject")


# ---------------------------------------------------------------- asyncio


class AsyncCtrl:
    """The controller for asyncio: `async with AsyncCtrl(mux=path) as ctrl`,
    `await ctrl.ping(dst, vp=...)`, `await ctrl.do("trace", dst, vp=...)`,
    `async for result in ctrl.results()`.

    No polling: the event loop watches the ctrl's wakeup socket, which the
    client library's reader threads signal when anything arrives.
    """

    def __init__(
        self,
        mux: str | None = None,
        unix: str | None = None,
        meta: bool = False,
        outfile: Any = None,
    ) -> None:
        self._ctrl: ScamperCtrl[Any] = ScamperCtrl(meta=meta, unix=unix, mux=mux, outfile=outfile)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._by_vp: dict[ScamperVp, ScamperInst] = {}
        self._changed = asyncio.Event()

    @property
    def ctrl(self) -> ScamperCtrl[Any]:
        """The underlying ScamperCtrl (do not poll it while the loop runs)."""
        return self._ctrl

    async def __aenter__(self) -> "AsyncCtrl":
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._loop.add_reader(self._ctrl._hub.fileno(), self._wake)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop watching the ctrl and send done to every instance."""
        if self._loop is not None:
            self._loop.remove_reader(self._ctrl._hub.fileno())
            self._loop = None
        self._ctrl.done()

    def _wake(self) -> None:
        self._ctrl._hub.drain()
        self._ctrl._pump()
        self._changed.set()

    def vps(self) -> list[ScamperVp]:
        """Every VP of the mux."""
        return self._ctrl.vps()

    def instances(self) -> list[ScamperInst]:
        """The live instances."""
        return self._ctrl.instances()

    def add_vps(self, vps: Any) -> list[ScamperInst]:
        """Open instances for VPs (as ScamperCtrl.add_vps)."""
        out = self._ctrl.add_vps(vps)
        for i in out:
            if i._vp is not None:
                self._by_vp.setdefault(i._vp, i)
        return out

    def _inst(self, vp: Any, inst: Any) -> Any:
        if inst is not None:
            return inst
        if vp is None:
            return None
        if isinstance(vp, str):
            found = [v for v in self.vps() if vp in (v.name, v.shortname)]
            if not found:
                raise ValueError(f"no VP named {vp!r}")
            vp = found[0]
        if not isinstance(vp, ScamperVp):
            raise TypeError("vp must be a ScamperVp or a VP name")
        i = self._by_vp.get(vp)
        if i is None or i._eof or i._removed:
            opened = self._ctrl.add_vps(vp)
            if not opened:
                raise RuntimeError(f"could not open a channel to VP {vp.name}")
            i = opened[0]
            self._by_vp[vp] = i
        return i

    def submit(self, kind: str, *args: Any, vp: Any = None, inst: Any = None, **kwargs: Any) -> "asyncio.Future[Any]":
        """Start a measurement (`kind` is ping, trace, tracelb, dns, http or
        udpprobe, with do_<kind>'s arguments) and return a future of its
        result; a refusal or a departed VP sets ScamperInstError on it."""
        if self._loop is None:
            raise RuntimeError("use AsyncCtrl inside `async with`")
        fn = getattr(self._ctrl, f"do_{kind}", None)
        if fn is None:
            raise ValueError(f"unknown measurement {kind!r}")
        target = self._inst(vp, inst)
        if isinstance(target, (list, set)):
            raise TypeError("one vp or inst per call; gather several calls instead")
        fut: asyncio.Future[Any] = self._loop.create_future()
        task = fn(*args, inst=target, **kwargs)
        task._counted = False

        def waiter(obj: Any, exc: BaseException | None) -> None:
            if fut.done():
                return
            if exc is not None:
                fut.set_exception(exc)
            else:
                fut.set_result(obj)

        task._waiter = waiter

        def cancelled(f: "asyncio.Future[Any]") -> None:
            if f.cancelled():
                task._waiter = None
                task.halt()

        fut.add_done_callback(cancelled)
        # The answer may already be waiting.
        self._loop.call_soon(self._wake)
        return fut

    async def do(self, kind: str, *args: Any, vp: Any = None, inst: Any = None, **kwargs: Any) -> Any:
        """Run a measurement and return its result (see submit)."""
        return await self.submit(kind, *args, vp=vp, inst=inst, **kwargs)

    async def ping(self, dst: Any, vp: Any = None, inst: Any = None, **kwargs: Any) -> Any:
        """Ping dst from vp (or inst); returns the ScamperPing."""
        return await self.do("ping", dst, vp=vp, inst=inst, **kwargs)

    async def trace(self, dst: Any, vp: Any = None, inst: Any = None, **kwargs: Any) -> Any:
        """Traceroute to dst; returns the ScamperTrace."""
        return await self.do("trace", dst, vp=vp, inst=inst, **kwargs)

    async def dns(self, qname: Any, vp: Any = None, inst: Any = None, **kwargs: Any) -> Any:
        """DNS query; returns the ScamperHost."""
        return await self.do("dns", qname, vp=vp, inst=inst, **kwargs)

    def do_nowait(self, kind: str, *args: Any, vp: Any = None, inst: Any = None, **kwargs: Any) -> Any:
        """Start a measurement whose result goes to results() (like
        ScamperCtrl.do_<kind>; inst may be a list)."""
        fn = getattr(self._ctrl, f"do_{kind}", None)
        if fn is None:
            raise ValueError(f"unknown measurement {kind!r}")
        target = self._inst(vp, inst)
        return fn(*args, inst=target, **kwargs)

    async def results(self, timeout: Any = None) -> Any:
        """Async iterator over results of do_nowait() measurements, until none
        is outstanding (or `timeout` seconds pass). Raises queued exceptions
        (refused commands, departed VPs) like poll()."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + _seconds(timeout, "timeout")
        c = self._ctrl
        c._pump()
        while True:
            while True:
                with c._lock:
                    if c._exceptions:
                        raise c._exceptions.popleft()
                    obj = c._take()
                if obj is _TOKEN:
                    break
                yield obj
            if c.taskc == 0:
                return
            self._changed.clear()
            if deadline is None:
                await self._changed.wait()
            else:
                left = deadline - loop.time()
                if left <= 0:
                    return
                try:
                    await asyncio.wait_for(self._changed.wait(), left)
                except asyncio.TimeoutError:
                    return
