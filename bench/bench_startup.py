"""Start-up cost of ``bussdcc --help`` and ``bussdcc --version``: import time and heavy modules.

Every ``bussdcc`` command discovers the plugins, so what the core and each plugin's entry
module import is paid by every command, ``--help`` included. The goal (docs/performance.md):
neither imports msgspec nor Flask, and each stays under 150 ms of import time as measured by
``python -X importtime`` (the sum of every module's own time, the interpreter's start-up
modules included), with the bare kernel's ``import bussdcc`` measured in the same run for scale.

    uv run --no-sync python bench/bench_startup.py [--runs 15]

The best of ``--runs`` runs is reported: on a busy machine any single run can be twice as slow.
Byte-code caching is on (``PYTHONDONTWRITEBYTECODE`` is dropped) and a first run warms it, as
for an installed ``bussdcc``: compiling the sources would otherwise dominate.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Sequence

HEAVY = ("msgspec", "flask", "flask_socketio", "werkzeug", "jinja2", "engineio", "socketio")
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")

CLI = """
from bussdcc_framework.cli import main
import contextlib, io, sys
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main({args!r})
    except SystemExit:
        pass
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
"""


def measure(code: str) -> tuple[float, dict[str, float], list[str]]:
    """One run: total import time in ms, own time per module, heavy top-level packages loaded."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env
    )
    own: dict[str, float] = {}
    heavy: list[str] = []
    for line in result.stderr.splitlines():
        match = LINE.match(line)
        if match:
            own[match.group(4)] = int(match.group(1)) / 1000
        elif line.startswith("HEAVY="):
            heavy = [m for m in line[6:].split(",") if m]
    return sum(own.values()), own, heavy


def best(code: str, runs: int) -> tuple[float, dict[str, float], list[str]]:
    measure(code)  # writes the byte-code caches
    results = [measure(code) for _ in range(runs)]
    return min(results, key=lambda r: r[0])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--top", type=int, default=8, help="show the N most expensive modules")
    options = parser.parse_args(argv)

    kernel, _, _ = best("import bussdcc", options.runs)
    print(f"bare kernel (import bussdcc): {kernel:6.1f} ms")
    for args in (["--help"], ["--version"]):
        total, own, heavy = best(CLI.format(args=args, heavy=HEAVY), options.runs)
        verdict = "ok" if total < 150 and not heavy else "OVER GOAL"
        print(
            f"bussdcc {args[0]:<9}: {total:6.1f} ms ({total / kernel:.1f} x the kernel), "
            f"heavy modules: {', '.join(heavy) or 'none'}  [{verdict}]"
        )
        for name, ms in sorted(own.items(), key=lambda item: -item[1])[: options.top]:
            print(f"    {ms:6.2f} ms  {name}")


if __name__ == "__main__":
    main()
