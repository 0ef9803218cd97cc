"""Placeholders for the controller side of the API.

`ScamperCtrl`, `ScamperVp`, `ScamperInst`, `ScamperTask` and `ScamperMux`
need the Vantage client library (the Rust `client` crate), which this build
of the module does not include yet. They exist so that imports and
`isinstance` checks work; using them raises a clear error instead of doing
nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ScamperCtrl",
    "ScamperVp",
    "ScamperInst",
    "ScamperTask",
    "ScamperMux",
    "ScamperInstError",
]

_MISSING = (
    "{name} is not available in this build of Vantage: the controller side of "
    "the module (ScamperCtrl, ScamperInst, ScamperVp, ScamperTask, do_*) needs "
    "the Vantage client library, which is not wired in yet. Reading and writing "
    "files with ScamperFile works."
)


class ScamperCtrl:
    """The client-side controller (not available yet: raises NotImplementedError)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(_MISSING.format(name="ScamperCtrl"))


class _NotConstructible:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("This class cannot be instantiated directly.")


class ScamperVp(_NotConstructible):
    """A vantage point offered by a mux (handed out by ScamperCtrl.vps())."""


class ScamperInst(_NotConstructible):
    """One connected prober (handed out by ScamperCtrl)."""


class ScamperTask(_NotConstructible):
    """A handle on one asynchronous measurement (returned by do_* methods)."""


class ScamperMux(_NotConstructible):
    """A connection to a mux socket."""


class ScamperInstError(Exception):
    """An error reported by, or about, one instance; `inst` names it."""

    def __init__(self, message: str, inst: ScamperInst | None = None) -> None:
        super().__init__(message)
        self.inst = inst
