"""Reading one log file: lines to events, damaged lines counted and skipped, filters applied.

This is the hot path of replay. Without filters a line costs one codec call (msgspec, in C).
With a time window or type patterns the record's head (``time`` and the raw ``type`` string) is
decoded first and filtered on: a record left out is never decoded further, so it is counted as
filtered, not as damaged, even when its type is unknown or its data would not validate. Everything
about a damaged line (classifying it, keeping an example) happens only in the ``except`` branch.
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
from .filters import TypeFilter
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


#: How many distinct type names a ``TypeNameFilter`` remembers (a hostile file may hold many).
NAME_CACHE_SIZE = 4096


class TypeNameFilter:
    """The type patterns applied to a record's raw ``type`` string, before decoding its data.

    A name the registry knows is judged by its class (so an alias of a renamed class matches
    the class's current name), any other name by itself. Answers are cached per name.
    """

    def __init__(self, types: TypeFilter, codec: Codec) -> None:
        self._types = types
        self._resolve = codec.registry.resolve
        self._cache: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        """Whether records of type ``name`` pass the patterns."""
        keep = self._cache.get(name)
        if keep is None:
            cls = self._resolve(name)
            keep = self._types(cls) if cls is not None else self._types.matches_name(name)
            if len(self._cache) < NAME_CACHE_SIZE:
                self._cache[name] = keep
        return keep


def read_file(
    path: Path,
    index: int,
    codec: Codec,
    stats: SourceStats,
    fstats: FileStats,
    *,
    start: datetime | None,
    end: datetime | None,
    keep_type: Callable[[str], bool] | None,
    strict: bool,
    opened: set[LogFile],
) -> Iterator[Item]:
    """Yield the records of one file that pass the filters, counting everything else.

    ``keep_type`` judges a record's raw type name (a ``TypeNameFilter``). Records outside the
    window or of other types are counted as filtered without decoding their data.
    ``opened`` holds the file while it is being read, so the source can report progress.
    """
    decode = codec.decode_record
    decode_head = codec.decode_head
    decode_event = codec.decode_event
    prefilter = start is not None or end is not None or keep_type is not None
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
            evt: Event[Message] | None
            try:
                if prefilter:
                    head = decode_head(line)
                    t = head.time
                    if (start is not None and t < start) or (end is not None and t > end):
                        evt = None
                        outside += 1
                    elif keep_type is not None and not keep_type(head.type):
                        evt = None
                        other_type += 1
                    else:
                        evt = decode_event(head)
                else:
                    evt = decode(line)
                    t = evt.time
            except DecodeError as exc:
                if not line.strip():
                    continue  # a blank line is not damage
                if exc.reason == "bad_json" and not line.endswith(b"\n"):
                    damaged("torn_line", f"incomplete last line ({len(line)} bytes)")
                else:
                    damaged(exc.reason, exc.detail, line)
                continue
            records += 1
            if first is None:
                first = t
            last = t
            if evt is None:
                continue  # filtered out, its data never decoded
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
