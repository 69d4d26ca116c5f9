"""Finding recorded logs: directories are walked, only regular files are ever opened.

A recording directory written by ``JsonlSink`` holds ``YYYY-MM-DD/HH-MM-SS.jsonl`` segments and,
when compression is on, ``.jsonl.gz`` ones. While a closed segment is being compressed both
``x.jsonl`` and ``x.jsonl.gz`` can exist for a moment; the plain file is the complete one, so
the compressed twin is left out instead of replaying every record twice.

A directory is data too, and may be hostile: a symlink loop, a FIFO (opening it blocks
forever) or a link to ``/dev/zero`` (an endless line) named ``*.jsonl``. Discovery therefore
``stat``s every candidate and keeps regular files only; the others are listed in
``Discovery.rejected`` with a reason, which the source counts like a damaged line. Opening
re-checks the file (see ``logfile.open_regular``), so a file swapped for a FIFO in between
does not hang a reader either.

Every file remembers the root it was found under (the path given), so that a property derived
from its place in a tree (``root/<site>/<node>/...``) can be attached to its events.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

#: File names a directory walk picks up (a file named explicitly is read whatever its name).
LOG_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")


def is_log_name(name: str) -> bool:
    """Whether a file name looks like a JSONL log (plain or gzip-compressed)."""
    return name.endswith(LOG_SUFFIXES) and not name.startswith(".")


def is_gzip_name(name: str) -> bool:
    """Whether a log file is gzip-compressed, judged by its name."""
    return name.endswith(".gz")


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words, for the reason a reader gives for skipping it."""
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a regular file"


@dataclass(frozen=True)
class Rejected:
    """A path discovery will not open: ``reason`` is a skip reason (``not_a_file``, ``unreadable``)."""

    path: Path
    reason: str
    detail: str


@dataclass
class Discovery:
    """The files found under some paths, in reading order, and the ones deliberately left out."""

    files: list[Path] = field(default_factory=list)
    roots: list[Path] = field(default_factory=list)
    """For each of ``files``, the path it was found under (itself for a file named directly)."""
    shadowed: list[Path] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def relative(self, index: int) -> PurePath:
        """Where file ``index`` lies under its root (``PurePath('.')`` for a file named directly)."""
        path, root = self.files[index], self.roots[index]
        return PurePath(".") if path == root else path.relative_to(root)


def _check(path: Path) -> os.stat_result | Rejected:
    """The ``stat`` of a regular file, or why it is rejected (loop, dangling link, FIFO...)."""
    try:
        st = os.stat(path)  # follows links: a link to a regular file is fine
    except OSError as exc:
        return Rejected(path, "unreadable", f"{type(exc).__name__}: {exc.strerror or exc}")
    if not stat.S_ISREG(st.st_mode):
        return Rejected(path, "not_a_file", f"{kind_of(st.st_mode)}, not a regular file")
    return st


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    # followlinks=False: a symlink loop among directories must not hang the walk.
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(folder)
        found.extend(base / name for name in sorted(names) if is_log_name(name))
    return found


def discover(paths: Sequence[str | os.PathLike[str]]) -> Discovery:
    """Expand directories recursively into their log files; keep the order paths were given.

    Within a directory files are sorted by relative path, which for ``JsonlSink`` layouts is
    time order. A file named twice (or reached twice, through a link) is read once. Anything
    that is not a regular file is rejected, not opened. ``FileNotFoundError`` if a path does
    not exist.
    """
    result = Discovery()
    seen: set[tuple[int, int]] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = _drop_compressed_twins(_walk(path), result.shadowed)
        elif os.path.lexists(path):
            candidates = [path]
        else:
            raise FileNotFoundError(f"no such file or directory: {os.fspath(raw)}")
        for candidate in candidates:
            checked = _check(candidate)
            if isinstance(checked, Rejected):
                result.rejected.append(checked)
                continue
            key = (checked.st_dev, checked.st_ino)
            if key not in seen:
                seen.add(key)
                result.files.append(candidate)
                result.roots.append(path)
    return result


def _drop_compressed_twins(files: Iterable[Path], shadowed: list[Path]) -> list[Path]:
    plain = {str(f) for f in files if not is_gzip_name(f.name)}
    kept: list[Path] = []
    for f in files:
        if is_gzip_name(f.name) and str(f)[: -len(".gz")] in plain:
            shadowed.append(f)
            continue
        kept.append(f)
    return kept


def file_size(path: Path) -> int:
    """The size of a file on disk, 0 when it cannot be read."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
