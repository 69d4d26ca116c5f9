"""Segment files: naming, listing, retention and compression (no threads, no state).

Layout: ``root/YYYY-MM-DD/HH-MM-SS.jsonl`` (UTC, the segment's interval start). A segment
file is always created new (``O_EXCL``): when the name is taken (a restart within the same
interval, a size rotation, the clock stepping back) ``HH-MM-SS_NNN.jsonl`` is used with ``NNN``
one more than the highest number of that interval present, never a lower free one: within an
interval the numbers grow with each segment, so (day, interval start, number) is the order in
which segments were written, and retention deletes by that order (``segment_order``).
Appending to an existing file could glue new lines onto a torn last line left by a crash.
Each segment may have a hidden sidecar index (``.HH-MM-SS.idx``, see
``bussdcc_framework.recordings``); retention deletes it with its segment.
"""

from __future__ import annotations

import gzip
import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from bussdcc_framework.recordings.index import index_path, remove_index

SUFFIX = ".jsonl"
GZ_SUFFIX = ".jsonl.gz"
#: ``HH-MM-SS`` or ``HH-MM-SS_NNN`` (any number of digits), then a segment suffix.
_NAME = re.compile(r"(\d\d-\d\d-\d\d)(?:_(\d+))?\.jsonl(?:\.gz)?")


def segment_start(ts: float, interval: float) -> float:
    """The POSIX time at which the segment containing ``ts`` starts."""
    return (ts // interval) * interval


def segment_stem(start: float) -> tuple[str, str]:
    """``("YYYY-MM-DD", "HH-MM-SS")`` of a segment start, in UTC."""
    dt = datetime.fromtimestamp(start, UTC)
    return dt.strftime("%Y-%m-%d"), dt.strftime("%H-%M-%S")


def create_segment(root: Path, start: float) -> tuple[Path, int]:
    """Create a new, empty segment file for ``start``; return its path and a write-only fd.

    Never opens an existing file, and never takes a number lower than one in use for the
    same interval (plain, compressed or being compressed): ``HH-MM-SS.jsonl`` when the
    interval has no segment yet, else ``HH-MM-SS_NNN.jsonl`` with NNN above the highest.
    """
    day, stem = segment_stem(start)
    directory = root / day
    directory.mkdir(parents=True, exist_ok=True)
    n = _next_number(directory, stem)
    for _ in range(100_000):
        name = stem if n == 0 else f"{stem}_{n:03d}"
        path = directory / (name + SUFFIX)
        n += 1
        if (directory / (name + GZ_SUFFIX)).exists():
            continue
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            continue
        return path, fd
    raise FileExistsError(f"{directory}: no free segment name for {stem}")


def _next_number(directory: Path, stem: str) -> int:
    """One more than the highest segment number of interval ``stem`` in ``directory`` (0: none)."""
    highest = -1
    prefix = stem
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    for name in names:
        if not name.startswith(prefix):
            continue
        match = _NAME.match(name)  # also matches ``.jsonl.gz.tmp`` (being compressed)
        if match is not None and match.group(1) == stem:
            highest = max(highest, int(match.group(2) or 0))
    return highest + 1


def segment_order(path: Path) -> tuple[str, str, int, str]:
    """The order segments were written in: day, interval start, number (then the name).

    Retention deletes in this order, oldest first. Files not named by the sink sort by name.
    """
    match = _NAME.fullmatch(path.name)
    if match is None:
        return (path.parent.name, path.name, -1, path.name)
    return (path.parent.name, match.group(1), int(match.group(2) or 0), path.name)


def list_segments(root: Path) -> list[Path]:
    """Every segment under ``root`` (plain and compressed), in ``segment_order``."""
    if not root.is_dir():
        return []
    found = [
        p
        for p in root.glob("*/*")
        if p.name.endswith((SUFFIX, GZ_SUFFIX)) and not p.name.startswith(".") and p.is_file()
    ]
    return sorted(found, key=segment_order)


def fsync_dir(directory: Path) -> None:
    """Make a file creation or rename in ``directory`` durable (fsync mode)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def compress(path: Path, *, durable: bool = False, observe: Callable[[bytes], None] | None = None) -> Path:
    """Gzip a closed segment into ``.jsonl.gz`` atomically, then remove the original.

    Written to a temporary name and renamed, so a crash leaves either the plain segment or
    the complete compressed one, never a truncated ``.gz`` under the final name.
    ``observe`` sees every chunk of the data (to build an index while the file is read anyway).
    """
    target = path.with_name(path.name[: -len(SUFFIX)] + GZ_SUFFIX)
    tmp = target.with_name(target.name + ".tmp")
    try:
        with path.open("rb") as src, open(tmp, "wb") as raw:
            with gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, compresslevel=6, mtime=0) as gz:
                while chunk := src.read(1 << 20):
                    gz.write(chunk)
                    if observe is not None:
                        observe(chunk)
            if durable:
                raw.flush()
                os.fsync(raw.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    path.unlink()
    if durable:
        fsync_dir(target.parent)
    return target


def expired(
    segments: list[Path],
    *,
    keep: set[Path],
    max_age: float | None,
    max_total: int | None,
    now: float | None = None,
) -> Iterator[Path]:
    """The segments retention removes: older than ``max_age`` seconds (by modification time),
    then the oldest (``segments`` come in ``segment_order``) until the total size, indexes
    included, is at most ``max_total`` bytes. ``keep`` is never removed.
    """
    now = time.time() if now is None else now
    sized: list[tuple[Path, int]] = []
    for path in segments:
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        if path not in keep and max_age is not None and now - st.st_mtime > max_age:
            yield path
            continue
        sized.append((path, st.st_size + _index_size(path)))
    if max_total is None:
        return
    total = sum(size for _, size in sized)
    for path, size in sized:
        if total <= max_total:
            break
        if path in keep:
            continue
        total -= size
        yield path


def _index_size(path: Path) -> int:
    try:
        return index_path(path).stat().st_size
    except OSError:
        return 0


def remove_segment(path: Path) -> None:
    """Delete a segment and its index (``FileNotFoundError`` is fine: already gone)."""
    path.unlink(missing_ok=True)
    twin = path.with_name(path.name[: -len(GZ_SUFFIX)] + SUFFIX) if path.name.endswith(GZ_SUFFIX) else None
    if twin is None or not twin.exists():
        remove_index(path)


def remove_empty_days(root: Path) -> None:
    """Remove day directories retention emptied, with indexes left without data (best effort)."""
    for day in root.glob("*"):
        if not day.is_dir():
            continue
        try:
            names = os.listdir(day)
        except OSError:
            continue
        if names and all(_orphan_index(day, name) for name in names):
            for name in names:
                (day / name).unlink(missing_ok=True)
        try:
            day.rmdir()
        except OSError:
            pass


def _orphan_index(day: Path, name: str) -> bool:
    """An index file of the sink's naming whose segment is gone."""
    if not (name.startswith(".") and name.endswith(".idx")):
        return False
    stem = name[1 : -len(".idx")]
    return not (day / (stem + SUFFIX)).exists() and not (day / (stem + GZ_SUFFIX)).exists()
