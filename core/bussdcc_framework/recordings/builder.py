"""``IndexBuilder``: one index from a stream of records, fed by the sink or by the scanner.

Both the ``jsonl`` sink (while it writes a segment) and ``scan.scan_file`` (reading any file)
feed the same builder, so the index a sink writes equals the index a scan of its file builds.

The sink feeds whole batches from its writer thread, so the usual case costs a few C-level
passes per batch (a ``Counter`` of the record keys, ``min``/``max`` of the times, a sum of line
lengths per checkpoint); only a batch holding a warning, an error or a lifecycle record is
walked record by record. A key is whatever identifies a record's type cheaply for the feeder:
the message class for the sink, the type name for the scanner; ``describe(key)`` turns it into
``(type name, severity name or None)`` once per key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, Final, Generic, TypeVar

import msgspec

from .index import (
    DEFAULT_EVERY,
    MAX_LIFECYCLE,
    MAX_MARKS,
    MAX_TYPES,
    Checkpoint,
    LifecycleKind,
    LifecycleMark,
    Mark,
    SegmentIndex,
    Source,
)

K = TypeVar("K")  # hashable: a message class (the sink) or a type name (the scanner)

#: Severities at or above this are listed in ``SegmentIndex.marks`` (warning, error, critical).
MARKED_SEVERITIES: Final = frozenset({"warning", "error", "critical"})

#: The record types that delimit runs, and what each one means.
LIFECYCLE_TYPES: Final[dict[str, LifecycleKind]] = {
    "bussdcc.message.runtime:RuntimeBooting": "booting",
    "bussdcc_framework.message.framework:FrameworkBooted": "booted",
    "bussdcc_framework.message.framework:ApplicationStarted": "app",
    "bussdcc_framework.message.framework:FrameworkBootFailed": "boot_failed",
    "bussdcc_framework.message.framework:FrameworkShuttingDown": "shutting_down",
    "bussdcc.message.runtime:RuntimeShuttingDown": "shutting_down",
    "bussdcc.message.runtime:RuntimeShutdown": "shutdown",
}

#: Distinct keys a builder tells apart; records of further keys count as ``other_types``.
_KEY_LIMIT: Final = 4 * MAX_TYPES

_line: Final = itemgetter(1)
_key: Final = itemgetter(2)

#: What a record's ``data`` may say about its run; decoded only for lifecycle records.
_LifecycleData = msgspec.json.Decoder(dict[str, Any])


class _Record(msgspec.Struct):
    data: msgspec.Raw = msgspec.Raw(b"{}")


_record_data: Final = msgspec.json.Decoder(_Record)


class _KeyInfo:
    __slots__ = ("lifecycle", "marked", "name", "severity", "special")

    def __init__(self, name: str, severity: str | None) -> None:
        self.name = name
        self.severity = severity or "unknown"
        self.marked = self.severity in MARKED_SEVERITIES
        self.lifecycle = LIFECYCLE_TYPES.get(name)
        self.special = self.marked or self.lifecycle is not None


def _text(value: object, limit: int = 1000) -> str | None:
    """A lifecycle field as a short string (data is untrusted: anything else is dropped)."""
    if not isinstance(value, str):
        return None
    return value if len(value) <= limit else value[: limit - 3] + "..."


def lifecycle_details(line: bytes) -> dict[str, str | None]:
    """``version``, ``app``, ``reason`` and ``error`` of a lifecycle record's data (best effort)."""
    try:
        data = _LifecycleData.decode(_record_data.decode(line).data)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError, ValueError):
        return {}
    return {k: _text(data.get(k)) for k in ("version", "app", "reason", "error")}


class IndexBuilder(Generic[K]):
    """Accumulates the index of one data file; ``finish`` returns the ``SegmentIndex``.

    Feed records in file order with ``add_batch`` (items are ``(time, line, key)``; ``line``
    without its newline), and lines that are not records with ``skip``.
    """

    def __init__(
        self, describe: Callable[[K], tuple[str, str | None]], *, every: int = DEFAULT_EVERY
    ) -> None:
        if every < 1:
            raise ValueError(f"every={every!r}: expected at least 1")
        self._describe = describe
        self.every = every
        self.records = 0
        self.start: datetime | None = None
        self.end: datetime | None = None
        self._counts: Counter[K] = Counter()
        self._info: dict[K, _KeyInfo] = {}
        self._next_checkpoint = every
        self.checkpoints: list[Checkpoint] = []
        self.marks: list[Mark] = []
        self.marks_dropped = 0
        self.lifecycle: list[LifecycleMark] = []
        self.lifecycle_dropped = 0
        self.skipped: Counter[str] = Counter()
        self._overflow = 0  # records of keys beyond _KEY_LIMIT
        self.longest_line = 0  # the longest line counted (as a record or not), too_long aside

    def skip(self, reason: str, count: int = 1, *, length: int = 0) -> None:
        """Count lines that are not records (``blank``, ``bad_json``, ...).

        ``length``: the longest of them in bytes (ignored for ``too_long``: ``longest_line``
        is what a reader's limit is checked against, and those lines were not counted as read).
        """
        self.skipped[reason] += count
        if length > self.longest_line and reason != "too_long":
            self.longest_line = length

    def add_batch(
        self,
        items: Sequence[tuple[datetime, bytes, Any]],
        offset: int,
        offsets: Sequence[int] | None = None,
        *,
        keys: Sequence[K] | None = None,
        span: tuple[datetime, datetime] | None = None,
        lines: Sequence[bytes] | None = None,
    ) -> Collection[K]:
        """Records in file order: ``(time, line, key)``; ``offsets[i]``: where line ``i`` starts.

        Without ``offsets`` the lines lie back to back from ``offset``, each followed by one
        newline (what the sink writes). ``keys``: the records' keys when the items' third
        element is not the key itself (the sink's items carry the event). ``span``: the
        earliest and latest time of the items, when the caller knows them already; ``lines``
        the items' lines as a list (the sink has one). Returns the batch's distinct keys.
        """
        n = len(items)
        if not n:
            return ()
        batch: Counter[K] = Counter(map(_key, items) if keys is None else keys)
        info = self._info
        special = False
        for key in list(batch):
            entry = info.get(key)
            if entry is None:
                if len(info) >= _KEY_LIMIT:  # hostile data: millions of type names
                    self._overflow += batch.pop(key)
                    continue
                name, severity = self._describe(key)
                entry = info[key] = _KeyInfo(name, severity)
            special = special or entry.special
        first = self.records
        # One C-level pass: the longest line tells a reader whether the counts hold for its limit.
        longest = max(map(len, lines if lines is not None else map(_line, items)))
        if longest > self.longest_line:
            self.longest_line = longest
        if special:
            self._walk(items, list(map(_key, items)) if keys is None else keys, offset, offsets)
        elif first + n > self._next_checkpoint:
            self._checkpoints(items, offset, offsets, lines)
        # Items compare by time first (tuples): cheaper than mapping a getter over them.
        lo, hi = span if span is not None else (min(items)[0], max(items)[0])
        if self.start is None or lo < self.start:
            self.start = lo
        if self.end is None or hi > self.end:
            self.end = hi
        self._counts.update(batch)
        self.records = first + n
        return batch.keys()

    def _checkpoints(
        self,
        items: Sequence[tuple[datetime, bytes, Any]],
        offset: int,
        offsets: Sequence[int] | None,
        lines: Sequence[bytes] | None = None,
    ) -> None:
        """The checkpoints falling inside a batch, from slices (no per-record Python code)."""
        first, every = self.records, self.every
        latest, prev, pos = self.end, 0, offset
        r = self._next_checkpoint
        while r < first + len(items):
            j = r - first
            chunk = items[prev:j]
            if chunk:
                top = max(chunk)[0]
                latest = top if latest is None or top > latest else latest
            if offsets is not None:
                pos = offsets[j]
            else:
                part = lines[prev:j] if lines is not None else map(_line, chunk)
                pos += sum(map(len, part)) + len(chunk)
            assert latest is not None  # j > 0 or records before: some time was seen
            self.checkpoints.append(Checkpoint(offset=pos, record=r, before=latest))
            prev, r = j, r + every
        self._next_checkpoint = r

    def _walk(
        self,
        items: Sequence[tuple[datetime, bytes, Any]],
        keys: Sequence[K],
        offset: int,
        offsets: Sequence[int] | None,
    ) -> None:
        """Record by record: checkpoints, marks and lifecycle records of a special batch."""
        info, every = self._info, self.every
        latest = self.end
        r = self.records
        pos = offset
        next_cp = self._next_checkpoint
        for i, (t, line, _) in enumerate(items):
            key = keys[i]
            if offsets is not None:
                pos = offsets[i]
            if r == next_cp:
                assert latest is not None
                self.checkpoints.append(Checkpoint(offset=pos, record=r, before=latest))
                next_cp += every
            entry = info.get(key)
            if entry is not None and entry.special:
                self._special(entry, t, line, pos, r, latest)
            if latest is None or t > latest:
                latest = t
            pos += len(line) + 1
            r += 1
        self._next_checkpoint = next_cp

    def _special(
        self, entry: _KeyInfo, t: datetime, line: bytes, pos: int, r: int, latest: datetime | None
    ) -> None:
        if entry.marked:
            if len(self.marks) < MAX_MARKS:
                self.marks.append(
                    Mark(offset=pos, record=r, time=t, type=entry.name, severity=entry.severity)
                )
            else:
                self.marks_dropped += 1
        if entry.lifecycle is not None:
            if len(self.lifecycle) < MAX_LIFECYCLE:
                self.lifecycle.append(
                    LifecycleMark(
                        kind=entry.lifecycle,
                        offset=pos,
                        record=r,
                        time=t,
                        type=entry.name,
                        before=latest,
                        **lifecycle_details(line),
                    )
                )
            else:
                self.lifecycle_dropped += 1

    def finish(
        self,
        source: Source,
        *,
        data_size: int,
        writer: str,
        compressed: bool = False,
        complete: bool = True,
        max_line: int | None = None,
    ) -> SegmentIndex:
        """The index of everything fed so far, describing the file ``source`` names.

        ``max_line``: the limit the feeder skipped longer lines under (``too_long``); ``None``
        for a feeder that counts every line (the sink).
        """
        types: dict[str, int] = {}
        severities: Counter[str] = Counter()
        for key, count in self._counts.items():
            entry = self._info[key]
            types[entry.name] = types.get(entry.name, 0) + count
            severities[entry.severity] += count
        other = self._overflow
        if other:
            severities["unknown"] += other
        if len(types) > MAX_TYPES:
            ranked = sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))
            types = dict(ranked[:MAX_TYPES])
            other += sum(count for _, count in ranked[MAX_TYPES:])
        return SegmentIndex(
            source=source,
            writer=writer,
            compressed=compressed,
            data_size=data_size,
            complete=complete,
            every=self.every,
            records=self.records,
            start=self.start,
            end=self.end,
            types=dict(sorted(types.items())),
            other_types=other,
            severities=dict(sorted(severities.items())),
            skipped=dict(sorted(self.skipped.items())),
            checkpoints=list(self.checkpoints),
            marks=list(self.marks),
            marks_dropped=self.marks_dropped,
            lifecycle=list(self.lifecycle),
            lifecycle_dropped=self.lifecycle_dropped,
            max_line=max_line,
            longest_line=self.longest_line,
        )
