"""Segment files: naming, listing, retention and compression (no threads, no state).

Layout: ``root/YYYY-MM-DD/HH-MM-SS.jsonl`` (UTC, the segment's interval start). A segment
file is always created new (``O_EXCL``): when the name is taken (a restart within the same
interval, a size rotation, the clock stepping back) the next free ``HH-MM-SS_NNN.jsonl`` is
used. Appending to an existing file could glue new lines onto a torn last line left by a crash.
"""

from __future__ import annotations

import gzip
import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

SUFFIX = ".jsonl"
GZ_SUFFIX = ".jsonl.gz"


def segment_start(ts: float, interval: float) -> float:
    """The POSIX time at which the segment containing ``ts`` starts."""
    return (ts // interval) * interval


def segment_stem(start: float) -> tuple[str, str]:
    """``("YYYY-MM-DD", "HH-MM-SS")`` of a segment start, in UTC."""
    dt = datetime.fromtimestamp(start, UTC)
    return dt.strftime("%Y-%m-%d"), dt.strftime("%H-%M-%S")


def create_segment(root: Path, start: float) -> tuple[Path, int]:
    """Create a new, empty segment file for ``start``; return its path and a write-only fd.

    Never opens an existing file: the first free name among ``HH-MM-SS.jsonl``,
    ``HH-MM-SS_001.jsonl``, ... (also skipping names whose ``.jsonl.gz`` exists).
    """
    day, stem = segment_stem(start)
    directory = root / day
    directory.mkdir(parents=True, exist_ok=True)
    for n in range(100_000):
        name = stem if n == 0 else f"{stem}_{n:03d}"
        path = directory / (name + SUFFIX)
        if (directory / (name + GZ_SUFFIX)).exists():
            continue
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            continue
        return path, fd
    raise FileExistsError(f"{directory}: no free segment name for {stem}")


def list_segments(root: Path) -> list[Path]:
    """Every segment under ``root`` (plain and compressed), oldest name first."""
    if not root.is_dir():
        return []
    found = [p for p in root.glob("*/*") if p.name.endswith((SUFFIX, GZ_SUFFIX)) and p.is_file()]
    return sorted(found, key=lambda p: (p.parent.name, p.name.split(".", 1)[0]))


def fsync_dir(directory: Path) -> None:
    """Make a file creation or rename in ``directory`` durable (fsync mode)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def compress(path: Path, *, durable: bool = False) -> Path:
    """Gzip a closed segment into ``.jsonl.gz`` atomically, then remove the original.

    Written to a temporary name and renamed, so a crash leaves either the plain segment or
    the complete compressed one, never a truncated ``.gz`` under the final name.
    """
    target = path.with_name(path.name[: -len(SUFFIX)] + GZ_SUFFIX)
    tmp = target.with_name(target.name + ".tmp")
    with path.open("rb") as src, open(tmp, "wb") as raw:
        with gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, compresslevel=6, mtime=0) as gz:
            shutil.copyfileobj(src, gz, 1 << 20)
        if durable:
            raw.flush()
            os.fsync(raw.fileno())
    os.replace(tmp, target)
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
    then the oldest until the total size is at most ``max_total`` bytes. ``keep`` is never removed.
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
        sized.append((path, st.st_size))
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


def remove_empty_days(root: Path) -> None:
    """Remove day directories retention emptied (best effort)."""
    for day in root.glob("*"):
        if day.is_dir():
            try:
                day.rmdir()
            except OSError:
                pass
