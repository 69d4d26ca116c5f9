"""``bussdcc replay --run N``: the source of one run of a recording (see ``events runs``)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from bussdcc_framework.codec import Codec, TypeRegistry
from bussdcc_framework.report import report

from ..catalog import RunNotFound, catalog, select_run
from ..config import ReplayConfig
from ..filters import TimeBound
from ..source import JsonlSource
from .common import MergedSource, fail
from .format import count, duration, printable, when


def run_source(
    paths: Sequence[str],
    which: str,
    *,
    start: TimeBound,
    end: TimeBound,
    types: Sequence[str],
    strict: bool,
    registry: TypeRegistry,
    config: ReplayConfig,
) -> MergedSource:
    """A source reading exactly the run ``which`` names, from its first record to its last.

    The runs come from the files' indexes (files without a current one are read first, and
    the line says so). Exits 2 with one line when the run does not exist.
    """
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        fail(f"no such file or directory: {printable(missing[0])}", 2)
    found = catalog(paths, registry, max_line=config.max_line)
    runs = found.runs()
    try:
        run = select_run(runs, which)
    except RunNotFound as exc:
        fail(str(exc), 2)
    scanned = f"; {found.scanned} file(s) without a current index read to find it" if found.scanned else ""
    report(
        f"bussdcc replay: run {run.number} of {len(runs)}: {when(run.start)} .. {when(run.end)} "
        f"({duration(run.duration.total_seconds())}, {count(run.events)} events){scanned}"
    )
    codec = Codec(registry)
    source = JsonlSource.of_run(
        run,
        start=start,
        end=end,
        types=types,
        strict=strict,
        codec=codec,
        max_line=config.max_line,
    )
    merged = MergedSource([source], codec)
    merged.run = {
        "number": run.number,
        "of": len(runs),
        "start": run.start.isoformat(),
        "end": run.end.isoformat(),
        "events": run.events,
        "app": run.app,
        "ended": run.ended,
    }
    return merged
