#!/usr/bin/env python3
"""Regenerates python/vantage/_native.pyi from the compiled module's introspection.

`maturin generate-stubs --features inspect` writes a stub with the right
names, signatures and docstrings, but types everything PyO3 returns as a
generic Python object (datetimes, timedeltas, enum members, iterators) as
`Any`. This script runs it and then replaces those `Any`s using the table
below, so the committed stub stays reproducible. CI checks the result with
`python -m mypy.stubtest vantage` (scripts/python-env.sh --check).

Usage (venv active): python scripts/python-stubs.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "python" / "vantage" / "_native.pyi"

DATETIME = {"start", "finish", "tx", "rx", "timestamp", "startat", "stop"}
TIMEDELTA = {
    "rtt", "wait_probe", "wait_timeout", "wait_round", "min_rtt", "max_rtt", "avg_rtt",
    "stddev_rtt", "maxtime", "hsrtt", "limit_time", "icmp_tso", "icmp_tsr", "icmp_tst",
}
ENUM_OF = {
    ("ScamperPing", "stop_reason"): "ScamperPingStop",
    ("ScamperTrace", "stop_reason"): "ScamperTraceStop",
    ("ScamperHost", "stop_reason"): "ScamperHostStop",
    ("ScamperHttp", "stop_reason"): "ScamperHttpStop",
    ("ScamperHttp", "ech_status"): "ScamperHttpEchStatus",
    ("ScamperUdpprobe", "stop_reason"): "ScamperUdpprobeStop",
    ("ScamperSniff", "stop_reason"): "ScamperSniffStop",
    ("ScamperTracelb", "method"): "ScamperTracelbMethod",
}
ITER_OF = {
    ("ScamperPingReplyIPTS", "__iter__"): "tuple[ScamperAddr | None, datetime.timedelta]",
    ("ScamperIcmpExts", "__iter__"): "ScamperIcmpExt",
    ("ScamperTrace", "hops"): "ScamperTraceHop | None",
    ("ScamperTracePmtud", "notes"): "ScamperTracePmtudNote",
    ("ScamperTracelb", "nodes"): "ScamperTracelbNode",
    ("ScamperTracelb", "links"): "ScamperTracelbLink",
    ("ScamperTracelbNode", "links"): "ScamperTracelbLink",
    ("ScamperTracelbProbeset", "__iter__"): "ScamperTracelbProbe",
    ("ScamperHost", "ans"): "ScamperHostRR",
    ("ScamperHost", "nss"): "ScamperHostRR",
    ("ScamperHost", "ars"): "ScamperHostRR",
    ("ScamperHostTXT", "__iter__"): "str",
    ("ScamperHostOPT", "__iter__"): "ScamperHostOPTElem",
    ("ScamperHostSVCB", "__iter__"): "ScamperHostSVCBParam",
    ("ScamperDealias", "probedefs"): "ScamperDealiasProbedef",
    ("ScamperDealias", "probes"): "ScamperDealiasProbe",
    ("ScamperDealiasProbe", "replies"): "ScamperDealiasReply",
    ("ScamperHttp", "bufs"): "ScamperHttpBuf",
    ("ScamperHttp", "__iter__"): "ScamperHttpBuf",
    ("ScamperUdpprobe", "replies"): "ScamperUdpprobeReply",
    ("ScamperUdpprobe", "__iter__"): "ScamperUdpprobeProbe",
    ("ScamperUdpprobeProbe", "__iter__"): "ScamperUdpprobeReply",
    ("ScamperSniff", "__iter__"): "ScamperSniffPkt",
}
# Argument types PyO3 cannot know (it sees `&Bound<PyAny>`).
ARGS = {
    ("ScamperAddr", "__new__", "addr"): "str | bytes",
    ("ScamperAddr", "__setstate__", "state"): "dict[str, Any]",
    ("ScamperDealiasProbedef", "__new__", "src"): "str | ScamperAddr | None",
    ("ScamperDealiasProbedef", "__new__", "dst"): "str | ScamperAddr | None",
    ("ScamperDealiasMidardiscRound", "__new__", "start"): "datetime.timedelta",
    ("ScamperDealiasMidardiscRound", "__new__", "begin"): "int",
    ("ScamperDealiasMidardiscRound", "__new__", "end"): "int",
    ("ScamperFile", "__new__", "filter_types"): "list[type] | None",
    ("ScamperFile", "filter_types", "types"): "type | list[type]",
    ("ScamperTrace", "hop", "i"): "int",
    ("ScamperHost", "ans", "rrtypes"): "list[str] | None",
    ("ScamperHost", "nss", "rrtypes"): "list[str] | None",
    ("ScamperHost", "ars", "rrtypes"): "list[str] | None",
    ("ScamperHttp", "response_hdr_byname", "name"): "str",
    ("ScamperHttp", "transmit_hdr_byname", "name"): "str",
}

DEF = re.compile(r"^(\s*)def (\w+)\((.*)\) -> (.*?):(.*)$")


def set_arg_type(args: str, name: str, new: str) -> str:
    """Replaces the annotation of argument `name` (`*name` too) in a signature."""
    m = re.search(rf"(^|[ (,*])({re.escape(name)})(: )?", args)
    if not m:
        return args
    start = m.end(2)
    i, depth = start, 0
    if m[3]:
        i = m.end()
        while i < len(args):
            ch = args[i]
            if ch in "[(":
                depth += 1
            elif ch in "])":
                depth -= 1
            elif depth == 0 and (ch == "," or args.startswith(" = ", i)):
                break
            i += 1
    return args[:start] + ": " + new + args[i:]


def refine(text: str) -> str:
    cls = None
    out = []
    for line in text.splitlines():
        m = re.match(r"^class (\w+)", line)
        if m:
            cls = m[1]
        d = DEF.match(line)
        if d and cls:
            indent, name, args, ret, rest = d.groups()
            for (c, f, a), t in ARGS.items():
                if c == cls and f == name:
                    args = set_arg_type(args, a, t)
            if "Any" in ret:
                opt = " | None" if ret.endswith("| None") else ""
                if (cls, name) in ENUM_OF:
                    ret = f"{ENUM_OF[(cls, name)]} | int"
                elif (cls, name) in ITER_OF:
                    ret = f"Iterator[{ITER_OF[(cls, name)]}]"
                elif name in DATETIME:
                    ret = "datetime.datetime" + opt
                elif name in TIMEDELTA:
                    ret = "datetime.timedelta" + opt
                elif name == "timestamps":
                    ret = "list[datetime.timedelta]"
                elif name == "to_dict":
                    ret = "dict[str, Any] | None"
                elif name == "__format__":
                    ret = "str"
                elif name in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"):
                    ret = "bool"
            line = f"{indent}def {name}({args}) -> {ret}:{rest}"
            # Result classes have a `list` property: name the builtin explicitly.
            line = re.sub(r"(?<![\w.])list\[", "builtins.list[", line)
        out.append(line)
    text = "\n".join(out) + "\n"
    header = (
        "# Generated by scripts/python-stubs.py from the module's introspection; do not edit by hand.\n"
        "import builtins\n"
        "import datetime\n"
        "from collections.abc import Iterator\n"
        "from vantage._enums import (\n"
        + "".join(f"    {e},\n" for e in sorted(set(ENUM_OF.values())))
        + ")\n"
    )
    text = text.replace("from _typeshed import SupportsGetItem\n", "")
    return re.sub(r'^("""(?:.|\n)*?"""\n)', lambda m: m[1] + "\n" + header, text, count=1)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["maturin", "generate-stubs", "--features", "inspect", "-q", "-o", tmp],
            cwd=REPO,
            check=True,
        )
        text = (Path(tmp) / "vantage" / "_native.pyi").read_text()
    OUT.write_text(refine(text))
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
