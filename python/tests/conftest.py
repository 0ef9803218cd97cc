"""Shared fixtures: where the reference warts files and the CLI are."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _testdata() -> Path:
    env = os.environ.get("VANTAGE_TESTDATA")
    if env:
        return Path(env)
    return REPO.parent / "shared" / "testdata" / "warts"


TESTDATA = _testdata()

# Every warts file of the reference set (compressed ones included).
WARTS_FILES = sorted(
    p.name
    for p in TESTDATA.glob("*")
    if p.name.endswith((".warts", ".warts.gz", ".warts.bz2", ".warts.xz"))
) if TESTDATA.is_dir() else []


def json_lines(name: str) -> list[dict | None]:
    """The reference JSON lines of a warts file; None for a line that does not parse."""
    out: list[dict | None] = []
    for line in (TESTDATA / f"{name}.json").read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            out.append(None)
    return out


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not TESTDATA.is_dir():
        pytest.skip(f"reference warts files not found at {TESTDATA} (set VANTAGE_TESTDATA)")
    return TESTDATA


@pytest.fixture(scope="session")
def vantage_cli() -> str:
    """The `vantage` binary (VANTAGE_CLI, else target/{debug,release}/vantage, else PATH)."""
    env = os.environ.get("VANTAGE_CLI")
    candidates = [env] if env else []
    candidates += [str(REPO / "target" / "debug" / "vantage"), str(REPO / "target" / "release" / "vantage")]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    found = shutil.which("vantage")
    if found:
        return found
    pytest.skip("the vantage CLI is not built: cargo build -p vantage-cli")
    raise AssertionError("unreachable")
