"""Indexes for readers: an index is used only when it still describes its file, never trusted.

``bussdcc_framework.recordings`` defines the sidecar index (``DIR/.STEM.idx``) and checks it
against the data (name, size, mtime, fingerprint) and for consistency (counts that add up,
offsets inside the data). Readers use it to start reading at the right offset, to leave out
files entirely outside a time window, and ``events info``/``events runs`` to answer without
reading the data; whatever is wrong with an index (``missing``, ``stale``, ``damaged``) means
reading the data instead, never a failure.

An index file is input too, and can rot: a flipped bit in a time that still parses would make a
seek start too late or a whole file be left out. So a reader also refuses an index whose times
contradict each other (``plausible``), and confirms with the data itself, cheaply, before it
leaves a whole file unread (``confirms_*``): the first record for a file said to start after
the window, the records after the last checkpoint for a plain file said to end before it.

An index's counts hold only for the line-length limit it was built under: a reader with
another ``replay.max_line`` may count a line the index took for a record as ``too_long``, or
read a line the index skipped as ``too_long``. ``check_index(path, max_line)`` takes such an
index as ``stale`` (the data is read, ``events index`` rebuilds it for that limit) and says so
in its detail, naming ``replay.max_line``; ``limit_mismatch`` tells the two stale kinds apart.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bussdcc_framework.codec import Codec
from bussdcc_framework.recordings import IndexCheck, SegmentIndex, read_index
from bussdcc_framework.report import describe

from .logfile import LogFile


def plausible(index: SegmentIndex) -> str | None:
    """Why the times of ``index`` contradict each other, or None when they do not.

    ``start`` <= ``end``; a checkpoint's ``before`` is the latest time so far, so it never
    decreases and lies within [start, end]; marks and lifecycle records lie within it too.
    """
    start, end = index.start, index.end
    if start is None or end is None:
        return None if not index.checkpoints else "checkpoints without records"
    if start > end:
        return "its start is after its end"
    previous = start
    for checkpoint in index.checkpoints:
        if not previous <= checkpoint.before <= end:
            return "a checkpoint's time is out of order"
        previous = checkpoint.before
    times = [m.time for m in index.marks] + [m.time for m in index.lifecycle]
    if any(not start <= t <= end for t in times):
        return "a mark lies outside its time range"
    return None


#: How the detail of an index not used because of the reader's line limit begins (after the path).
LIMIT_DETAIL = "index built under another replay.max_line"


def check_index(path: Path, max_line: int | None = None) -> IndexCheck:
    """``read_index(path)``, with an implausible index (or any failure) taken as damaged.

    With ``max_line`` (the reader's ``replay.max_line``), an index whose counts do not hold for
    that limit is ``stale`` (``SegmentIndex.limit_mismatch``; the detail says why).
    """
    try:
        check = read_index(path)
    except Exception as exc:  # a cache must never be a reason to fail
        return IndexCheck("damaged", detail=describe(exc))
    if check.index is not None:
        problem = plausible(check.index)
        if problem is not None:
            return IndexCheck("damaged", detail=f"{path}: index: {problem}")
        if max_line is not None:
            why = check.index.limit_mismatch(max_line)
            if why is not None:
                return IndexCheck("stale", detail=f"{path}: {LIMIT_DETAIL}: {why}")
    return check


def limit_mismatch(check: IndexCheck) -> bool:
    """Whether ``check`` is an index not used only because of the reader's ``replay.max_line``."""
    return check.status == "stale" and LIMIT_DETAIL in check.detail


def confirms_start(path: Path, index: SegmentIndex, first: datetime | None) -> bool:
    """Whether the file's first record (``first``, from ``peek_start``) agrees with ``index``."""
    return first is not None and index.start is not None and first >= index.start


def confirms_end(path: Path, index: SegmentIndex, codec: Codec, max_line: int) -> bool:
    """Whether no record after the last checkpoint of a plain file is later than ``index.end``.

    Reads at most ``every`` records (from the last checkpoint to the end of the file). A gzip
    file cannot be entered there without inflating all before it: its index is believed.
    """
    if index.compressed:
        return True
    if index.end is None:
        return False
    begin = index.checkpoints[-1].offset if index.checkpoints else 0
    if not LogFile.starts_line(path, begin):
        return False
    limit = max_line + 1
    try:
        with LogFile(path, offset=begin) as log:
            readline = log.stream.readline
            while line := readline(limit):
                try:
                    t = codec.decode_head(line).time
                except Exception:
                    continue  # not a record: the reader counts it, the check ignores it
                if t > index.end:
                    return False
    except OSError:
        return False
    return True
