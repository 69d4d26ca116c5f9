"""Reading one log file: lines to events, damaged lines counted and skipped, filters applied.

This is the hot path of replay. Per line it costs one codec call (msgspec, in C), two
comparisons for the time window and one dict lookup for the type filter; everything about a
damaged line (classifying it, keeping an example) happens only in the ``except`` branch.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import msgspec
from bussdcc.event import Event
from bussdcc.message import Message

from bussdcc_framework.codec import Codec, DecodeError

from .files import LogFile
from .stats import FileStats, SourceStats

#: What a file yields to the merge: (time, file index, line number, event).
Item = tuple[datetime, int, int, Event[Message]]

#: How many lines ``peek_start`` reads at most looking for a decodable record.
PEEK_LINES = 1000


class ReplayDataError(ValueError):
    """Strict mode met damaged input; the message is one line: ``file:line: reason: detail``."""

    def __init__(self, where: str, reason: str, detail: str) -> None:
        super().__init__(f"{where}: {reason}: {detail}")
        self.where = where
        self.reason = reason
        self.detail = detail


class _TypeOnly(msgspec.Struct):
    type: str


_type_only = msgspec.json.Decoder(_TypeOnly)


def _type_of(line: bytes) -> str | None:
    try:
        return _type_only.decode(line).type
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def peek_start(path: Path, codec: Codec) -> datetime | None:
    """The time of the first decodable record of a file (its start, for merging), or None."""
    try:
        with LogFile(path) as log:
            for count, line in enumerate(log.stream):
                if count >= PEEK_LINES:
                    break
                try:
                    return codec.decode_record(line).time
                except DecodeError:
                    continue
    except (OSError, EOFError, zlib.error):
        return None
    return None


def read_file(
    path: Path,
    index: int,
    codec: Codec,
    stats: SourceStats,
    fstats: FileStats,
    *,
    start: datetime | None,
    end: datetime | None,
    keep_type: Callable[[type], bool] | None,
    strict: bool,
    opened: set[LogFile],
) -> Iterator[Item]:
    """Yield the records of one file that pass the filters, counting everything else.

    ``opened`` holds the file while it is being read, so the source can report progress.
    """
    decode = codec.decode_record
    name = str(path)
    lineno = 0
    records = 0
    kept = 0
    outside = 0
    other_type = 0
    first: datetime | None = None
    last: datetime | None = None
    kept_first: datetime | None = None
    kept_last: datetime | None = None

    def damaged(reason: str, detail: str, line: bytes | None = None) -> None:
        fstats.damaged += 1
        where = f"{name}:{lineno}" if lineno else name
        if strict:
            raise ReplayDataError(where, reason, detail)
        stats.skip(reason, where, detail)
        if reason == "unknown_type" and line is not None:
            type_name = _type_of(line)
            if type_name is not None:
                stats.unknown_types[type_name] += 1

    try:
        log = LogFile(path)
    except OSError as exc:
        damaged("unreadable", f"{type(exc).__name__}: {exc.strerror or exc}")
        return
    opened.add(log)
    try:
        for lineno, line in enumerate(log.stream, 1):
            try:
                evt = decode(line)
            except DecodeError as exc:
                if not line.strip():
                    continue  # a blank line is not damage
                if exc.reason == "bad_json" and not line.endswith(b"\n"):
                    damaged("torn_line", f"incomplete last line ({len(line)} bytes)")
                else:
                    damaged(exc.reason, exc.detail, line)
                continue
            records += 1
            t = evt.time
            if first is None:
                first = t
            last = t
            if (start is not None and t < start) or (end is not None and t > end):
                outside += 1
                continue
            if keep_type is not None and not keep_type(type(evt.payload)):
                other_type += 1
                continue
            kept += 1
            if kept_first is None:
                kept_first = t
            kept_last = t
            yield (t, index, lineno, evt)
    except (EOFError, zlib.error) as exc:
        damaged("bad_gzip", f"{type(exc).__name__}: {exc}")
    except OSError as exc:  # gzip.BadGzipFile is an OSError too
        reason = "bad_gzip" if log.compressed else "unreadable"
        damaged(reason, f"{type(exc).__name__}: {exc}")
    finally:
        opened.discard(log)
        log.close()
        fstats.records = records
        fstats.first = first
        fstats.last = last
        stats.records += records
        stats.yielded += kept
        stats.outside_window += outside
        stats.filtered_type += other_type
        if kept_first is not None and (stats.first is None or kept_first < stats.first):
            stats.first = kept_first
        if kept_last is not None and (stats.last is None or kept_last > stats.last):
            stats.last = kept_last
