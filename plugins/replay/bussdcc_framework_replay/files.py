"""Finding and opening recorded logs: directories are walked, ``.jsonl.gz`` is read transparently.

A recording directory written by ``JsonlSink`` holds ``YYYY-MM-DD/HH-MM-SS.jsonl`` segments and,
when compression is on, ``.jsonl.gz`` ones. While a closed segment is being compressed both
``x.jsonl`` and ``x.jsonl.gz`` can exist for a moment; the plain file is the complete one, so
the compressed twin is left out instead of replaying every record twice.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Self

#: File names a directory walk picks up (a file named explicitly is read whatever its name).
LOG_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")


def is_log_name(name: str) -> bool:
    """Whether a file name looks like a JSONL log (plain or gzip-compressed)."""
    return name.endswith(LOG_SUFFIXES) and not name.startswith(".")


def is_gzip_name(name: str) -> bool:
    """Whether a log file is gzip-compressed, judged by its name."""
    return name.endswith(".gz")


@dataclass
class Discovery:
    """The files found under some paths, in reading order, and the ones deliberately left out."""

    files: list[Path] = field(default_factory=list)
    shadowed: list[Path] = field(default_factory=list)


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    # followlinks=False: a symlink loop must not hang the walk.
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(folder)
        found.extend(base / name for name in sorted(names) if is_log_name(name))
    return found


def discover(paths: Sequence[str | os.PathLike[str]]) -> Discovery:
    """Expand directories recursively into their log files; keep the order paths were given.

    Within a directory files are sorted by relative path, which for ``JsonlSink`` layouts is
    time order. A path named twice (or reached twice) is read once. ``FileNotFoundError`` if a
    path does not exist.
    """
    result = Discovery()
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = _drop_compressed_twins(_walk(path), result.shadowed)
        elif path.exists():
            candidates = [path]
        else:
            raise FileNotFoundError(f"no such file or directory: {os.fspath(raw)}")
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                result.files.append(candidate)
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


class LogFile:
    """One open log: iterate its lines as bytes; ``position()`` is how far it has been read.

    The raw file is opened here so that progress can be measured in bytes of the file on disk
    (compressed bytes for ``.gz``), which is what the file sizes add up to.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._raw: BinaryIO = open(path, "rb")  # noqa: SIM115 (closed in close())
        self.stream: BinaryIO
        if is_gzip_name(path.name) or _has_gzip_magic(self._raw):
            self.stream = gzip.GzipFile(fileobj=self._raw, mode="rb")  # type: ignore[assignment]
        else:
            self.stream = self._raw

    @property
    def compressed(self) -> bool:
        """Whether the file is read through gzip."""
        return self.stream is not self._raw

    def position(self) -> int:
        """Bytes of the file on disk consumed so far (read-ahead included); 0 once closed."""
        try:
            return self._raw.tell()
        except (ValueError, OSError):
            return 0

    def close(self) -> None:
        """Close the stream and the raw file."""
        try:
            if self.compressed:
                self.stream.close()
        finally:
            self._raw.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _has_gzip_magic(raw: BinaryIO) -> bool:
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    return head == b"\x1f\x8b"


def file_size(path: Path) -> int:
    """The size of a file on disk, 0 when it cannot be read."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
