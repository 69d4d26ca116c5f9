"""Build the index of any JSONL file by reading it: ``scan_file`` and the push-style ``LineScanner``.

Works on the sink's segments, on logs of the original framework, on ``.jsonl.gz`` (offsets are
then positions in the decompressed stream) and on anything hostile: memory stays bounded by
``max_line`` (a longer line is streamed past and counted as ``too_long``), a line that is not a
record is counted by reason and skipped, and only regular files are opened (a FIFO, a device
or ``/dev/zero`` behind a ``*.jsonl`` name is refused without reading it).
"""

from __future__ import annotations

import gzip
import os
import stat
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Final

import msgspec

from .builder import IndexBuilder
from .index import DEFAULT_EVERY, SegmentIndex, identity_of_open, index_path, read_index, write_index

#: Lines longer than this are not decoded: they are skipped as ``too_long`` without being held.
DEFAULT_MAX_LINE: Final = 8 * 1024 * 1024
#: Bytes read at a time.
CHUNK: Final = 1024 * 1024

SeverityOf = Callable[[str], "str | None"]

#: The severities a record may carry in a top-level ``severity`` key, by their JSON text. The
#: mqtt plugin's collector writes the one the device's class has (``"severity":"warning"``):
#: the central side has no classes to ask.
_SEVERITY_TEXT: Final = {
    b'"' + name.encode() + b'"': name for name in ("debug", "info", "warning", "error", "critical")
}
_NO_SEVERITY: Final = msgspec.Raw(b"")


class _Head(msgspec.Struct):
    time: datetime
    type: str
    data: msgspec.Raw
    severity: msgspec.Raw = _NO_SEVERITY  # kept raw: any value there must not cost the record


_head: Final = msgspec.json.Decoder(_Head)


class _SeverityKey(msgspec.Struct):
    severity: msgspec.Raw = _NO_SEVERITY


_severity_key: Final = msgspec.json.Decoder(_SeverityKey)

#: A scanned record's key: its type name, or (type name, the severity the record carries).
ScanKey = str | tuple[str, str]


def severity_text(raw: msgspec.Raw) -> str | None:
    """The severity a record's raw ``severity`` value names (``"warning"``), None for any other."""
    return _SEVERITY_TEXT.get(bytes(raw)) if len(raw) else None


def record_severity(line: bytes) -> str | None:
    """The severity in a record's top-level ``severity`` key (a fleet record), else None."""
    if b'"severity"' not in line:
        return None
    try:
        return severity_text(_severity_key.decode(line).severity)
    except (msgspec.DecodeError, RecursionError, ValueError):
        return None


def _no_severity(name: str) -> str | None:
    return None


class LineScanner:
    """Feeds an ``IndexBuilder[str]`` from the bytes of a file, chunk by chunk.

    ``feed(chunk)`` any number of times, then ``close()``. ``size`` is the number of bytes fed.
    """

    def __init__(self, builder: IndexBuilder[ScanKey], *, max_line: int = DEFAULT_MAX_LINE) -> None:
        if max_line < 1:
            raise ValueError(f"max_line={max_line!r}: expected at least 1 byte")
        self.builder = builder
        self.max_line = max_line
        self.size = 0
        self._parts: list[bytes] = []  # the line being assembled across chunks ...
        self._pending = 0  # ... and its length
        self._skipping = False  # inside a line longer than max_line
        self._line_start = 0

    def feed(self, chunk: bytes) -> None:
        """Process the complete lines in ``chunk``; keep (or skip) the unfinished last one."""
        if not chunk:
            return
        base = self.size
        self.size += len(chunk)
        start = 0
        first_nl = chunk.find(b"\n")
        if self._skipping:
            if first_nl < 0:
                return
            self._skipping = False
            self.builder.skip("too_long")
            start = first_nl + 1
            self._line_start = base + start
        elif self._parts:
            if first_nl < 0:
                self._hold(chunk)
                return
            self._hold(chunk[:first_nl])
            if self._skipping:  # the completed line turned out too long
                self._skipping = False
                self.builder.skip("too_long")
            else:
                line = b"".join(self._parts)
                self._parts, self._pending = [], 0
                self._lines([line], [self._line_start], _utf8(line))
            start = first_nl + 1
            self._line_start = base + start
        last_nl = chunk.rfind(b"\n")
        if last_nl >= start:
            region = chunk[start:last_nl]
            lines = region.split(b"\n")
            offsets = []
            pos = base + start
            for line in lines:
                offsets.append(pos)
                pos += len(line) + 1
            self._lines(lines, offsets, _utf8(region))
            start = last_nl + 1
            self._line_start = base + start
        if start < len(chunk):
            self._hold(chunk[start:])

    def _hold(self, part: bytes) -> None:
        if self._skipping or not part:
            return
        self._pending += len(part)
        if self._pending > self.max_line:
            self._parts, self._pending, self._skipping = [], 0, True
            return
        self._parts.append(part)

    def _lines(self, lines: list[bytes], offsets: list[int], utf8: bool) -> None:
        """Classify complete lines; ``utf8``: all of them are known to be valid UTF-8."""
        items: list[tuple[datetime, bytes, ScanKey]] = []
        where: list[int] = []
        builder, limit = self.builder, self.max_line
        for line, pos in zip(lines, offsets, strict=True):
            reason = _classify(line, limit, items) if utf8 or _utf8(line) else "bad_json"
            if reason is None:
                where.append(pos)
            else:
                builder.skip(reason, length=len(line))
        builder.add_batch(items, 0, where)

    def close(self) -> bool:
        """End of data: the last line, if unterminated, is a record or ``torn``. True: complete."""
        if self._skipping:
            self._skipping = False
            self.builder.skip("too_long")
            return False
        if not self._parts:
            return True
        line = b"".join(self._parts)
        self._parts, self._pending = [], 0
        items: list[tuple[datetime, bytes, ScanKey]] = []
        reason = _classify(line, self.max_line, items) if _utf8(line) else "bad_json"
        if reason is None:
            self.builder.add_batch(items, 0, [self._line_start])
        else:
            self.builder.skip("blank" if reason == "blank" else "torn", length=len(line))
        return False


def _utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (msgspec does not check what it skips, e.g. ``data``)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _classify(line: bytes, limit: int, items: list[tuple[datetime, bytes, ScanKey]]) -> str | None:
    """Append ``line`` to ``items`` when it is a record, else return why it is not."""
    if len(line) > limit:
        return "too_long"
    if not line or line.isspace():
        return "blank"
    try:
        head = _head.decode(line)
    except msgspec.ValidationError as exc:
        return "bad_time" if "`$.time`" in str(exc) else "not_record"
    except (msgspec.DecodeError, RecursionError, ValueError):
        return "bad_json"
    if head.time.tzinfo is None:
        return "bad_time"
    # msgspec gives a missing key the default object itself: one identity test per record.
    sent = None if head.severity is _NO_SEVERITY else severity_text(head.severity)
    items.append((head.time, line, head.type if sent is None else (head.type, sent)))
    return None


def open_regular(path: Path) -> tuple[IO[bytes], os.stat_result]:
    """Open ``path`` for reading if it is a regular file (never blocks on a FIFO); ``OSError``."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path} is not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=0), st
    except BaseException:
        os.close(fd)
        raise


def scan_file(
    path: Path,
    *,
    severity_of: SeverityOf | None = None,
    every: int = DEFAULT_EVERY,
    max_line: int = DEFAULT_MAX_LINE,
) -> SegmentIndex:
    """The index of ``path``, built by reading it (plain or gzip, whatever its name says).

    ``severity_of(type_name)`` names the severity of a type (``"warning"``...), ``None`` when
    unknown; without it every record counts as ``unknown`` and no ``marks`` are listed (a
    reader passes ``registry_severity(registry)``). A record whose type it cannot name a
    severity for counts with the one the record carries in a top-level ``severity`` key, if
    any (a fleet recording: the collector writes what the device's class said), so a rebuilt
    index of a fleet recording equals the one the collector wrote. Raises ``OSError`` when the
    file cannot be read; a damaged gzip stream ends the scan where it breaks (``complete`` is
    then false).
    """
    of = severity_of or _no_severity

    def describe(key: ScanKey) -> tuple[str, str | None]:
        if isinstance(key, tuple):
            name, sent = key
            return name, of(name) or sent
        return key, of(key)

    builder: IndexBuilder[ScanKey] = IndexBuilder(describe, every=every)
    scanner = LineScanner(builder, max_line=max_line)
    raw, st = open_regular(path)
    with raw:
        source = identity_of_open(raw, path.name, st.st_size, st.st_mtime_ns)
        compressed = os.pread(raw.fileno(), 2, 0) == b"\x1f\x8b"
        complete = True
        if compressed:
            try:
                with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                    while chunk := gz.read(CHUNK):
                        scanner.feed(chunk)
            except (EOFError, OSError, zlib.error):
                builder.skip("bad_gzip")
                complete = False
        else:
            left = st.st_size  # a file still being written: describe the bytes it had
            while left > 0 and (chunk := raw.read(min(CHUNK, left))):
                scanner.feed(chunk)
                left -= len(chunk)
        complete = scanner.close() and complete
    return builder.finish(
        source,
        data_size=scanner.size,
        writer="scanner",
        compressed=compressed,
        complete=complete,
        max_line=max_line,
    )


def registry_severity(registry: object) -> SeverityOf:
    """``severity_of`` for ``scan_file`` from a ``TypeRegistry`` (types it cannot resolve: None)."""
    resolve = registry.resolve  # type: ignore[attr-defined]
    cache: dict[str, str | None] = {}

    def severity_of(name: str) -> str | None:
        if name not in cache:
            try:
                cls = resolve(name)
            except Exception:
                cls = None
            severity = getattr(cls, "severity", None)
            label = getattr(severity, "name", None)
            cache[name] = label.lower() if isinstance(label, str) else None
        return cache[name]

    return severity_of


def ensure_index(
    path: Path,
    *,
    severity_of: SeverityOf | None = None,
    write: bool = True,
    every: int = DEFAULT_EVERY,
    max_line: int = DEFAULT_MAX_LINE,
) -> tuple[SegmentIndex, str]:
    """The index of ``path``: the stored one when it is current, else a fresh scan.

    Returns ``(index, status)`` where status is ``read_index``'s (``ok``: from the index file;
    ``missing``/``stale``/``damaged``: scanned). A stored index whose counts do not hold for
    ``max_line`` (``SegmentIndex.limit_mismatch``) is ``stale``. With ``write`` a scanned index is stored
    (best effort: a read-only directory costs a scan next time, nothing else). Raises
    ``OSError`` only for the data file itself.
    """
    check = read_index(path)
    if check.index is not None and check.index.limit_mismatch(max_line) is None:
        return check.index, "ok"
    index = scan_file(path, severity_of=severity_of, every=every, max_line=max_line)
    if write:
        try:
            write_index(path, index)
        except OSError:
            pass
    return index, "stale" if check.index is not None else check.status


__all__ = [
    "CHUNK",
    "DEFAULT_MAX_LINE",
    "LineScanner",
    "ScanKey",
    "SeverityOf",
    "ensure_index",
    "index_path",
    "open_regular",
    "record_severity",
    "registry_severity",
    "scan_file",
]
