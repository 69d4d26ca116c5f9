"""Runs: the boot-to-shutdown stretches a recording directory holds, derived from file indexes.

A run starts at a ``RuntimeBooting`` record (or ``FrameworkBooted`` when booting was not
recorded) and ends at ``RuntimeShutdown``; ``FrameworkShuttingDown.reason`` says why it ended,
``FrameworkBootFailed`` that it never came up, and ``ApplicationStarted.app`` which application
it ran (emitted under ``bussdcc run`` since 1.1; older recordings have none). A run whose shutdown is missing
(the next run starts, or the data ends) ended by a crash or a kill, or is still running.

Everything comes from the indexes' ``lifecycle`` marks and record counts (see ``index.py``),
so listing the runs of a recording reads no data once its files are indexed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import msgspec

from .index import SegmentIndex

RunEnd = Literal["shutdown", "boot_failed", "crash", "unknown"]


class Run(msgspec.Struct, frozen=True, kw_only=True):
    """One run. ``number`` counts from 1 in time order; ``events`` is the number of records.

    ``ended``: ``shutdown`` (a clean stop; ``reason`` says why, e.g. ``KeyboardInterrupt``),
    ``boot_failed`` (``error`` says what failed), ``crash`` (no shutdown recorded: killed,
    crashed, power lost, or still running when this is the last run), ``unknown`` (the data
    holds no lifecycle records at all). ``partial``: the run's start was not recorded (the data
    begins mid-run, e.g. retention deleted its first segments); ``start`` is then the time of
    the first record there is.
    ``files`` are the data files holding its records, in order; reading ``files[0]`` from
    ``start_offset`` (uncompressed bytes) and ``files[-1]`` up to and including the line at
    ``end_offset`` (to its end when ``None``) gives exactly the run.
    """

    number: int
    start: datetime
    end: datetime
    events: int
    app: str | None = None
    version: str | None = None
    ended: RunEnd
    reason: str | None = None
    error: str | None = None
    partial: bool = False
    files: tuple[str, ...] = ()
    start_offset: int = 0
    end_offset: int | None = None

    @property
    def duration(self) -> timedelta:
        """``end - start``."""
        return self.end - self.start


class _Open:
    """A run being assembled while the marks are walked."""

    def __init__(self, start: datetime, pos: int, partial: bool, path: Path, offset: int) -> None:
        self.start, self.pos, self.partial = start, pos, partial
        self.path, self.offset = path, offset
        self.app: str | None = None
        self.version: str | None = None
        self.reason: str | None = None
        self.error: str | None = None
        self.failed = False
        self.marked = not partial  # saw a lifecycle record of its own


def list_runs(indexed: Iterable[tuple[Path, SegmentIndex]]) -> list[Run]:
    """The runs of a recording from the indexes of its files (any order; empty files ignored).

    Files are taken in order of their first record time (then path); runs never overlap.
    """
    segs = sorted(
        ((p, i) for p, i in indexed if i.records and i.start is not None),
        key=lambda pi: (pi[1].start, str(pi[0])),
    )
    spans: list[tuple[Path, int, int]] = []  # (path, first global position, count)
    out: list[Run] = []
    current: _Open | None = None
    next_pos = 0  # the first record not in a run yet
    gap_start: datetime | None = None  # time of the first record not in a run, if known
    gap_at: tuple[Path, int] | None = None
    latest: datetime | None = None  # the latest record time of the files walked so far
    base = 0

    def close(end: datetime, end_pos: int, ended: RunEnd, end_offset: int | None) -> None:
        nonlocal current, next_pos, gap_start, gap_at
        assert current is not None
        run = current
        files = tuple(str(p) for p, first, count in spans if first + count > run.pos and first <= end_pos)
        out.append(
            Run(
                number=len(out) + 1,
                start=run.start,
                end=max(end, run.start),
                events=end_pos - run.pos + 1,
                app=run.app,
                version=run.version,
                ended=ended,
                reason=run.reason,
                error=run.error,
                partial=run.partial,
                files=files,
                start_offset=run.offset,
                end_offset=end_offset,
            )
        )
        current, next_pos, gap_start, gap_at = None, end_pos + 1, None, None

    for path, index in segs:
        assert index.start is not None and index.end is not None
        spans.append((path, base, index.records))
        if next_pos == base and current is None:
            gap_start, gap_at = index.start, (path, 0)
        for mark in sorted(index.lifecycle, key=lambda m: m.record):
            pos = base + mark.record
            before = max((t for t in (mark.before, latest) if t is not None), default=None)
            if mark.kind == "booting" or (mark.kind == "booted" and current is None and next_pos == pos):
                if current is not None:
                    close(before or mark.time, pos - 1, "crash" if current.marked else "unknown", None)
                elif next_pos < pos:
                    current = _Open(gap_start or mark.time, next_pos, True, *(gap_at or (path, 0)))
                    close(before or mark.time, pos - 1, "unknown", None)
                current = _Open(mark.time, pos, False, path, mark.offset)
            elif current is None:
                current = _Open(gap_start or mark.time, next_pos, True, *(gap_at or (path, mark.offset)))
            current.marked = True
            if mark.kind == "booting" and mark.version and current.version is None:
                current.version = mark.version
            elif mark.kind == "booted":
                current.version = mark.version or current.version
            elif mark.kind == "app":
                current.app = mark.app or current.app
            elif mark.kind == "boot_failed":
                current.failed = True
                current.error = current.error or mark.error
            elif mark.kind == "shutting_down":
                current.reason = current.reason or mark.reason
            elif mark.kind == "shutdown":
                close(mark.time, pos, "boot_failed" if current.failed else "shutdown", mark.offset)
                gap_start, gap_at = mark.time, (path, mark.offset)
        latest = index.end if latest is None or index.end > latest else latest
        base += index.records
    if current is not None:
        assert latest is not None
        close(latest, base - 1, "crash" if current.marked else "unknown", None)
    elif next_pos < base:
        assert latest is not None
        current = _Open(gap_start or latest, next_pos, True, *(gap_at or (segs[0][0], 0)))
        current.marked = False
        close(latest, base - 1, "unknown", None)
    return out
