"""``JsonlSource``: recorded JSONL logs as a stream of events, in time order, never fatal.

``for evt in JsonlSource("./events")`` is the kernel's ``EventSourceProtocol``. Each iteration
discovers the files again (a live recording may have grown), merges them by time and streams
them line by line; nothing is loaded whole. Damaged lines are skipped and counted in
``source.stats`` unless ``strict=True``, which raises ``ReplayDataError`` on the first one.
``source.records()`` is the raw pass of ``events cat``: the matching lines themselves.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from bussdcc.event import Event
from bussdcc.message import Message

from bussdcc_framework.codec import Codec, TypeRegistry, default_registry
from bussdcc_framework.recordings import Run, SegmentIndex

from .files import discover, file_size
from .filters import TimeBound, TypeFilter, resolve_bound
from .indexes import check_index, confirms_end, confirms_start
from .logfile import FileBudget, LogFile
from .merge import Segment, merge_segments
from .reader import (
    DEFAULT_MAX_LINE,
    WHOLE,
    RawRecord,
    ReadOptions,
    ReplayDataError,
    Span,
    TypeNameFilter,
    peek_start,
    read_file,
)
from .stats import FileStats, SourceStats

PathArg = str | os.PathLike[str]


class JsonlSource:
    """Events recorded as JSON lines, from a directory (recursively), a file, or several paths.

    ``start``/``end`` bound the time window (inclusive); each is a ``datetime`` (naive means
    UTC) or a ``timedelta`` counted from the first recorded event. ``types`` are shell
    patterns on ``module:QualName`` or the short class name (``!pattern`` excludes).
    ``registry`` decides which types can be rebuilt (default: kernel, framework, plugins and
    imported classes); ``codec`` may be given instead to share one. ``max_line`` is the
    longest line read (bytes); a longer one is skipped as ``too_long`` without being held.
    ``max_open`` caps the files held open at once (default: what the process's limit allows).
    """

    def __init__(
        self,
        path: PathArg | Sequence[PathArg],
        start: TimeBound = None,
        end: TimeBound = None,
        types: Iterable[str] = (),
        *,
        strict: bool = False,
        registry: TypeRegistry | None = None,
        codec: Codec | None = None,
        max_line: int = DEFAULT_MAX_LINE,
        max_open: int | None = None,
        use_index: bool = True,
        spans: Mapping[str, Span] | None = None,
        origin: datetime | None = None,
    ) -> None:
        if isinstance(path, (str, os.PathLike)):
            self.paths: tuple[PathArg, ...] = (path,)
        else:
            self.paths = tuple(path)
        if not self.paths:
            raise ValueError("JsonlSource needs at least one path")
        if max_line < 1:
            raise ValueError(f"max_line must be at least 1 byte, not {max_line!r}")
        for p in self.paths:
            if not os.path.lexists(p):
                raise FileNotFoundError(f"no such file or directory: {os.fspath(p)}")
        self.start = start
        self.end = end
        self.types = TypeFilter(types)
        self.strict = strict
        self.max_line = max_line
        self.max_open = max_open
        self.use_index = use_index
        self.spans = dict(spans or {})
        self.origin = origin
        self._registry = registry
        self._codec = codec
        self.stats = SourceStats()
        self._opened: set[LogFile] = set()
        self._sizes: dict[int, int] = {}

    @property
    def codec(self) -> Codec:
        """The codec records are decoded with (built on first use)."""
        if self._codec is None:
            registry = self._registry if self._registry is not None else default_registry()
            self._codec = Codec(registry)
        return self._codec

    def clone(self) -> JsonlSource:
        """An independent source over the same paths, window and types (never strict).

        A replay's timeline reads it on another thread without touching this one's position
        or statistics.
        """
        return JsonlSource(
            self.paths,
            self.start,
            self.end,
            self.types.patterns,
            registry=self._registry,
            codec=self.codec,
            max_line=self.max_line,
            max_open=self.max_open,
            use_index=self.use_index,
            spans=self.spans,
            origin=self.origin,
        )

    @classmethod
    def of_run(cls, run: Run, **options: Any) -> JsonlSource:
        """The records of one run (``bussdcc events runs``): its files, from its first record to
        its last (offsets from the indexes), offsets such as ``start=timedelta(...)`` counted
        from the run's start."""
        spans: dict[str, Span] = {}
        for i, name in enumerate(run.files):
            begin = run.start_offset if i == 0 else 0
            stop = run.end_offset if i == len(run.files) - 1 else None
            if begin or stop is not None:
                spans[name] = Span(begin=begin, stop=stop)
        return cls(list(run.files), spans=spans, origin=run.start, **options)

    def __repr__(self) -> str:
        return f"JsonlSource({', '.join(os.fspath(p) for p in self.paths)})"

    def __iter__(self) -> Iterator[Event[Message]]:
        """One pass over the logs; ``stats`` counts this pass."""
        return self._pass(raw=False)

    def records(self) -> Iterator[RawRecord]:
        """One raw pass: the matching records as ``RawRecord`` (time, type, line), whether or
        not their type is known here; only ``time`` and ``type`` are decoded. ``stats`` counts
        this pass."""
        return self._pass(raw=True)

    def _pass(self, *, raw: bool) -> Iterator[Any]:
        codec = self.codec
        found = discover(self.paths)
        budget = FileBudget(self.max_open)
        stats = self.stats = SourceStats(shadowed=[str(p) for p in found.shadowed])
        stats.notes = budget.notes
        stats.import_errors = codec.registry.module_errors
        for rejected in found.rejected:
            if self.strict:
                raise ReplayDataError(str(rejected.path), rejected.reason, rejected.detail)
            stats.skip(rejected.reason, str(rejected.path), rejected.detail)
        indexes: list[SegmentIndex | None] = []
        for path in found.files:
            check = check_index(path, self.max_line) if self.use_index else None
            if check is not None:
                stats.indexes[check.status] += 1
            indexes.append(check.index if check is not None else None)
        starts = [
            idx.start if idx is not None else peek_start(path, codec, self.max_line)
            for path, idx in zip(found.files, indexes, strict=True)
        ]
        known = [s for s in starts if s is not None]
        origin = self.origin if self.origin is not None else (min(known) if known else None)
        options = ReadOptions(
            start=resolve_bound(self.start, origin),
            end=resolve_bound(self.end, origin),
            keep_type=TypeNameFilter(self.types, codec) if self.types else None,
            strict=self.strict,
            max_line=self.max_line,
            raw=raw,
        )
        segments: list[Segment] = []
        for number, (path, first, idx) in enumerate(zip(found.files, starts, indexes, strict=True)):
            fstats = FileStats(path=str(path), size=file_size(path))
            stats.files.append(fstats)
            span = self.spans.get(str(path), WHOLE)
            if span is WHOLE and idx is not None:
                planned = self._plan(path, idx, options, stats, fstats, codec, self.max_line)
                if planned is None:
                    continue
                span = planned
            elif options.end is not None and first is not None and first > options.end:
                fstats.skipped_after_end = True
                continue
            opener = partial(
                read_file, path, number, codec, stats, fstats, options, self._opened, budget, span
            )
            segments.append(Segment(index=number, start=first, open=opener))
        return merge_segments(segments)

    @staticmethod
    def _plan(
        path: Path,
        index: SegmentIndex,
        options: ReadOptions,
        stats: SourceStats,
        fstats: FileStats,
        codec: Codec,
        max_line: int,
    ) -> Span | None:
        """What of an indexed file a pass reads: all, from a checkpoint, or nothing (None).

        A file whose records all lie outside the window is not read (its records count as
        outside) once a glance at the data confirms the index (``indexes.confirms_*``);
        otherwise reading starts at the last checkpoint before ``start``, when that offset is a
        line start (an index is never trusted over the data).
        """
        start, end = options.start, options.end
        before = start is not None and index.end is not None and index.end < start
        after = end is not None and index.start is not None and index.start > end
        if index.records and (
            (before and confirms_end(path, index, codec, max_line))
            or (after and confirms_start(path, index, peek_start(path, codec, max_line)))
        ):
            fstats.records = index.records
            fstats.first, fstats.last = index.start, index.end
            fstats.skipped_after_end = end is not None and index.start is not None and index.start > end
            stats.records += index.records
            stats.outside_window += index.records
            stats.index_skipped_files += 1
            return None
        if start is None:
            return WHOLE
        checkpoint = index.seek(start)
        if checkpoint is None:
            return WHOLE
        if not index.compressed and not LogFile.starts_line(path, checkpoint.offset):
            stats.notes.append(f"{path}: its index points inside a line; read from the start")
            return WHOLE
        stats.index_seeks += 1
        return Span(begin=checkpoint.offset, skipped=checkpoint.record)

    def progress(self) -> tuple[int, int]:
        """(bytes read, bytes in all files) of the pass in progress; safe from another thread."""
        stats = self.stats
        total = sum(f.size for f in stats.files)
        reading = {str(log.path): log.position() for log in list(self._opened)}
        done = 0
        for f in stats.files:
            if f.path in reading:
                done += min(reading[f.path], f.size)
            elif f.records or f.damaged or f.unknown or f.skipped_after_end:
                done += f.size
        return done, total
