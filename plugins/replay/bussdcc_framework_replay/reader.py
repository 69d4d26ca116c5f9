"""Reading one log file: lines to events, anything wrong counted and skipped, filters applied.

This is the hot path of replay. Without filters a line costs one ``readline`` and one codec call
(msgspec, in C). With a time window or type patterns the record's head (``time`` and the raw
``type`` string) is decoded first and filtered on: a record left out is never decoded further,
so it is counted as filtered, not as damaged, even when its type is unknown or its data would
not validate. Everything about a bad line (classifying it, keeping an example) happens only in
the ``except`` branches.

Nothing in a file may raise out of ``read_file`` (hostile input, see docs/hostile-input.md):
every line is either a record or a skip counted by reason. The limits it enforces:

* a line is at most ``max_line`` bytes (``replay.max_line``); a longer one is read past
  without being held (``too_long``);
* bytes that are not UTF-8 in a string (``bad_utf8``), JSON nested deeper than the parser's
  recursion limit (``too_deep``), a time that does not exist in UTC (``bad_time``), and
  whatever else a decoder might raise (``undecodable``) are damage, not errors;
* blank lines are counted (``SourceStats.blank_lines``) and skipped a buffer at a time.

``raw=True`` is the mode of ``events cat``: only the head is decoded and checked, and a
``RawRecord`` (time, type, the line itself) is yielded, whether or not its type is known here.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, NamedTuple

import msgspec
from bussdcc.event import Event
from bussdcc.message import Message

from bussdcc_framework.codec import Codec, DecodeError
from bussdcc_framework.recordings.scan import record_severity
from bussdcc_framework.report import describe

from . import config
from .filters import TypeFilter
from .lines import skip_blank, skip_rest
from .logfile import FileBudget, LogFile, NotRegularFile
from .stats import UNKNOWN_TYPE, FileStats, SourceStats

#: What a file yields to the merge: (time, file index, line number, event or ``RawRecord``).
Item = tuple[datetime, int, int, Any]


class RawRecord(NamedTuple):
    """A record as ``events cat`` prints it: its time and type decoded, its line as it is."""

    time: datetime
    type: str
    line: bytes
    """The record's line without its newline (and trailing whitespace)."""


#: How many lines ``peek_start`` reads at most looking for a decodable record.
PEEK_LINES = 1000

#: The default of ``replay.max_line``: the longest line (in bytes, newline excluded) read.
DEFAULT_MAX_LINE = config.DEFAULT_MAX_LINE

_UTC: Final = UTC


class ReplayDataError(ValueError):
    """Strict mode met damaged input; the message is one line: ``file:line: reason: detail``."""

    def __init__(self, where: str, reason: str, detail: str) -> None:
        super().__init__(f"{where}: {reason}: {detail}")
        self.where = where
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class NodeEvent(Event[Message]):
    """An event of a fleet recording (``bussdcc fleet collect``), with the node that sent it.

    ``node`` is ``site/node`` from the record's keys; sinks that know about it (the console)
    show it, the others see a plain ``Event``.
    """

    node: str | None = None


class _NodeKeys(msgspec.Struct):
    site: str | None = None
    node: str | None = None


_node_keys = msgspec.json.Decoder(_NodeKeys)


def _node_of(line: bytes) -> str | None:
    """``site/node`` of a fleet record, None for any other (only looked for when it may be there)."""
    try:
        keys = _node_keys.decode(line)
    except Exception:
        return None
    if not isinstance(keys.node, str):
        return None
    return f"{keys.site}/{keys.node}" if isinstance(keys.site, str) else keys.node


class _TypeOnly(msgspec.Struct):
    type: str


_type_only = msgspec.json.Decoder(_TypeOnly)


def _type_of(line: bytes) -> str | None:
    try:
        return _type_only.decode(line).type
    except Exception:  # the line was damaged in the first place; any failure means "no name"
        return None


def _outside_utc(t: datetime) -> bool:
    """Whether an aware time cannot be expressed in UTC (year 1 at +05:00, year 9999 at -05:00)."""
    try:
        t.astimezone(_UTC)
    except OverflowError:
        return True
    return False


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):,.1f} MiB"


@dataclass(frozen=True)
class Span:
    """The part of a file to read: from byte ``begin`` to the line starting at ``stop``.

    ``begin`` must be the start of a line (an index checkpoint, a run's first record);
    ``skipped`` is the number of records before it, which a pass counts as outside its window.
    """

    begin: int = 0
    stop: int | None = None
    skipped: int = 0


WHOLE: Final = Span()


@dataclass(frozen=True)
class ReadOptions:
    """How a pass reads every file: the window, the type filter, the limits, the mode."""

    start: datetime | None = None
    end: datetime | None = None
    keep_type: Callable[[str], bool] | None = None
    strict: bool = False
    max_line: int = DEFAULT_MAX_LINE
    raw: bool = False


def peek_start(path: Path, codec: Codec, max_line: int = DEFAULT_MAX_LINE) -> datetime | None:
    """The time of the first decodable record of a file (its start, for merging), or None.

    Reads at most ``PEEK_LINES`` lines and stops at the first line longer than ``max_line``
    (its reader will count it), so a hostile first line costs no more than ``max_line`` bytes.
    """
    limit = max_line + 1
    try:
        with LogFile(path) as log:
            readline = log.stream.readline
            for _ in range(PEEK_LINES):
                line = readline(limit)
                if not line or (len(line) == limit and line[-1] != 0x0A):
                    return None
                try:
                    head = codec.decode_head(line)
                except Exception:  # damaged lines are the reader's business, not the peek's
                    continue
                if head.time.tzinfo is _UTC or not _outside_utc(head.time):
                    return head.time
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


#: How many records of a file are probed for the ``node`` key of a fleet recording.
NODE_PROBE = 64

#: How many distinct unknown type names one file remembers so as to skip their records
#: without an exception each.
UNKNOWN_CACHE_SIZE = 1024


def read_file(
    path: Path,
    index: int,
    codec: Codec,
    stats: SourceStats,
    fstats: FileStats,
    options: ReadOptions,
    opened: set[LogFile],
    budget: FileBudget | None = None,
    span: Span = WHOLE,
) -> Iterator[Item]:
    """Yield the records of one file that pass the filters, counting everything else.

    ``options.keep_type`` judges a record's raw type name (a ``TypeNameFilter``). Records
    outside the window or of other types are counted as filtered without decoding their data.
    ``opened`` holds the file while it is being read, so the source can report progress.
    ``span`` reads only part of the file (a checkpoint of its index to the end, or one run):
    from byte ``span.begin`` (a line start; ``span.skipped`` records lie before it and are
    counted as outside the window) to the line starting at ``span.stop`` included. Lines of a
    part are located as ``FILE@BYTE`` in examples, since their line numbers are not known.
    """
    start, end, keep_type, strict = options.start, options.end, options.keep_type, options.strict
    raw = options.raw
    decode_head = codec.decode_head
    decode_event = codec.decode_event
    window = start is not None or end is not None
    name = str(path)
    limit = options.max_line + 1
    skipped = stats.skipped
    lineno = 0
    pos = span.begin
    stop = span.stop
    records = span.skipped
    kept = 0
    outside = span.skipped
    other_type = 0
    blank = 0
    unknown: dict[str, None] = {}
    fleet = False
    probe_nodes = NODE_PROBE
    first: datetime | None = None
    last: datetime | None = None
    kept_first: datetime | None = None
    kept_last: datetime | None = None

    def damaged(reason: str, detail: str, line: bytes | None = None) -> None:
        if reason == UNKNOWN_TYPE:
            fstats.unknown += 1
            if fstats.node is None and line is not None and b'"node":' in line:
                fstats.node = _node_of(line)
        else:
            fstats.damaged += 1
        if not lineno:
            where = name
        elif span.begin or stop is not None:
            where = f"{name}@{line_at}"
        else:
            where = f"{name}:{lineno}"
        if strict:
            raise ReplayDataError(where, reason, detail)
        stats.skip(reason, where, detail)
        if reason == UNKNOWN_TYPE and line is not None:
            type_name = _type_of(line)
            if type_name is not None:
                stats.count_unknown(type_name)
                count_severity(line)
                if len(unknown) < UNKNOWN_CACHE_SIZE:
                    unknown[type_name] = None

    def count_severity(line: bytes) -> None:
        """A record of an unknown type: count the severity it carries (a fleet's devices knew it)."""
        severity = record_severity(line)
        if severity is not None:
            stats.unknown_severities[severity] += 1

    def unknown_at(t: datetime) -> None:
        """A record of an unknown type lies in the file's and the window's time range."""
        nonlocal first, last, kept_first, kept_last
        if first is None or t < first:
            first = t
        if last is None or t > last:
            last = t
        if kept_first is None or t < kept_first:
            kept_first = t
        if kept_last is None or t > kept_last:
            kept_last = t

    line_at = pos
    try:
        log = LogFile(path, budget, span.begin)
    except NotRegularFile as exc:
        damaged("not_a_file", str(exc))
        return
    except OSError as exc:
        damaged("unreadable", f"{type(exc).__name__}: {exc.strerror or exc}")
        return
    opened.add(log)
    stream = log.stream
    readline = stream.readline
    try:
        while True:
            line = readline(limit)
            if not line or (stop is not None and pos > stop):
                break
            lineno += 1
            line_at = pos
            pos += len(line)
            if len(line) == limit and line[-1] != 0x0A:
                rest, ended = skip_rest(readline)
                pos += rest
                damaged(
                    "too_long",
                    f"a line of {_mib(limit + rest - ended)} is longer than replay.max_line "
                    f"({_mib(limit - 1)}); read past, raise the limit to read it",
                )
                continue
            item: Any
            try:
                head = decode_head(line)
                t = head.time
                if t.tzinfo is not _UTC and _outside_utc(t):
                    raise DecodeError("bad_time", f"{t.isoformat()} is outside the range of UTC")
                if window and ((start is not None and t < start) or (end is not None and t > end)):
                    item = None
                    outside += 1
                elif keep_type is not None and not keep_type(head.type):
                    item = None
                    other_type += 1
                elif raw:
                    line.decode()  # a raw record must still be UTF-8 throughout
                    item = RawRecord(t, head.type, line.rstrip())
                elif head.type in unknown:
                    # Seen before in this file: count it without an exception and a lookup.
                    if strict:
                        damaged(UNKNOWN_TYPE, f"{head.type} is not a known message type")
                    fstats.unknown += 1
                    skipped[UNKNOWN_TYPE] += 1
                    stats.count_unknown(head.type)
                    count_severity(line)
                    unknown_at(t)
                    continue
                else:
                    item = decode_event(head)
                    if probe_nodes:
                        # Looking for "node" in every line costs a third of a record's time:
                        # only the first lines of a file are probed, and a fleet file (node
                        # keys found) is then read for them line by line.
                        probe_nodes -= 1
                        if b'"node":' in line:
                            fleet = True
                    if fleet and (node := _node_of(line)) is not None:
                        item = NodeEvent(item.time, item.payload, node)
                        if fstats.node is None:
                            fstats.node = node
            except DecodeError as exc:
                if exc.reason == UNKNOWN_TYPE:  # the head was decoded: t is this record's
                    damaged(exc.reason, exc.detail, line)
                    unknown_at(t)
                    continue
                if not line.strip():
                    more, length = skip_blank(stream)  # a blank line is not damage
                    blank += 1 + more
                    lineno += more
                    pos += length
                    continue
                if exc.reason == "bad_json" and line[-1] != 0x0A:
                    damaged("torn_line", f"incomplete last line ({len(line)} bytes)")
                else:
                    damaged(exc.reason, exc.detail, line)
                continue
            except UnicodeDecodeError as exc:
                damaged("bad_utf8", f"bytes that are not UTF-8 in a string at byte {exc.start}")
                continue
            except RecursionError:
                damaged("too_deep", "JSON nested deeper than the decoder's recursion limit")
                continue
            except MemoryError:
                raise
            except Exception as exc:  # a decoder bug or a message class's own check
                damaged("undecodable", describe(exc))
                continue
            records += 1
            if first is None:
                first = t
            last = t
            if item is None:
                continue  # filtered out, its data never decoded
            kept += 1
            if kept_first is None:
                kept_first = t
            kept_last = t
            yield (t, index, lineno, item)
    except (EOFError, zlib.error) as exc:
        damaged("bad_gzip", describe(exc))
    except NotRegularFile as exc:  # a detached file swapped for a FIFO between two blocks
        damaged("not_a_file", str(exc))
    except OSError as exc:  # gzip.BadGzipFile is an OSError too
        reason = "bad_gzip" if log.compressed and not isinstance(exc, FileNotFoundError) else "unreadable"
        damaged(reason, describe(exc))
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
        stats.blank_lines += blank
        if kept_first is not None and (stats.first is None or kept_first < stats.first):
            stats.first = kept_first
        if kept_last is not None and (stats.last is None or kept_last > stats.last):
            stats.last = kept_last
