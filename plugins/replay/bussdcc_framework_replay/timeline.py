"""The timeline of a replay: the recording's time range and where warnings and errors are.

The web UI's scrubber needs the end of the recording before the replay gets there, and marks
for every warning and error to jump to. When every file has a current index (the jsonl sink
writes one per segment, ``bussdcc events index`` builds them), they answer at once: time
range and ``marks``. Otherwise a ``Timeline`` finds them with one pass of its own over the
recording, on a background thread, started only when something asks for it (the web page's
first look): a replay nobody watches, or one driven from the terminal, never pays for it. The
pass reads an independent copy of the source (``JsonlSource.clone``), so it disturbs neither
the replay's position nor its statistics.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bussdcc.event import Event
from bussdcc.message import Message, Severity

from bussdcc_framework.codec import type_name
from bussdcc_framework.report import describe

#: At most this many marks are kept (the rest are counted in ``marks_dropped``).
MAX_MARKS = 5000


@dataclass(frozen=True, slots=True)
class Mark:
    """A warning, an error or a critical event of the recording."""

    time: datetime
    type: str
    name: str
    severity: str


class Timeline:
    """Start, end and marks of a recording, found by a background pass (see the module)."""

    def __init__(self, make_pass: Callable[[], Iterator[Event[Message]]] | None) -> None:
        self._make_pass = make_pass
        self.start: datetime | None = None
        self.end: datetime | None = None
        self.marks: list[Mark] = []
        self.marks_dropped = 0
        self.records = 0
        self.complete = False
        self.error: str | None = None
        #: Where the figures come from: "indexes", "survey" (a pass over a copy) or "none".
        self.origin = "survey" if make_pass is not None else "none"
        self._started = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def available(self) -> bool:
        """Whether the recording can be surveyed (its source can be read a second time)."""
        return self._make_pass is not None

    def ensure_started(self) -> None:
        """Start the survey (once); later calls do nothing."""
        with self._lock:
            if self._started or self._make_pass is None:
                return
            self._started = True
            self._thread = threading.Thread(target=self._run, name="bussdcc-replay-timeline", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the survey (the replay ended)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the survey finished (tests); False on timeout or when it never started."""
        thread = self._thread
        if thread is None:
            return self.complete
        thread.join(timeout)
        return self.complete

    def _run(self) -> None:
        assert self._make_pass is not None
        names: dict[type, tuple[str, str]] = {}
        warning = Severity.WARNING
        stop = self._stop
        events = self._make_pass()
        try:
            for count, evt in enumerate(events, 1):
                t = evt.time
                if self.start is None or t < self.start:
                    self.start = t
                if self.end is None or t > self.end:
                    self.end = t
                payload = evt.payload
                severity = payload.severity
                if severity >= warning:
                    if len(self.marks) < MAX_MARKS:
                        cls = type(payload)
                        name = names.get(cls)
                        if name is None:
                            name = names[cls] = (type_name(cls), cls.__qualname__)
                        level = getattr(severity, "name", str(severity)).lower()
                        self.marks.append(Mark(t, name[0], name[1], level))
                    else:
                        self.marks_dropped += 1
                if not count & 0x3FF:
                    self.records = count
                    if stop.is_set():
                        return
                self.records = count
            self.complete = True
        except Exception as exc:  # a damaged recording gives a partial timeline, never a crash
            self.error = describe(exc)
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()

    def as_dict(self, start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
        """JSON-ready: ``start``/``end`` (the survey's, else the given), marks in time order."""
        self.ensure_started()
        first = self.start or start
        last = self.end or end
        marks = sorted(self.marks[: len(self.marks)], key=lambda m: m.time)
        return {
            "start": first.isoformat() if first else None,
            "start_ts": first.timestamp() if first else None,
            "end": last.isoformat() if last else None,
            "end_ts": last.timestamp() if last else None,
            "complete": self.complete,
            "from": self.origin,
            "surveyed": self.records,
            "error": self.error,
            "marks": [
                {
                    "time": m.time.isoformat(),
                    "ts": m.time.timestamp(),
                    "type": m.type,
                    "name": m.name,
                    "severity": m.severity,
                }
                for m in marks
            ],
            "marks_dropped": self.marks_dropped,
        }


def survey(source: Any) -> Timeline:
    """A ``Timeline`` for ``source`` (a source, a merged source or a list of them).

    Only sources that can be read a second time independently (``clone()``, as
    ``JsonlSource`` has) can be surveyed; for others the timeline stays empty.
    """
    parts = _parts(source)
    indexed = from_indexes(parts)
    if indexed is not None:
        return indexed
    clones: list[Callable[[], Any]] = []
    for part in parts:
        clone = getattr(part, "clone", None)
        if not callable(clone):
            return Timeline(None)
        clones.append(clone)
    if not clones:
        return Timeline(None)

    def make_pass() -> Iterator[Event[Message]]:
        import heapq
        from operator import attrgetter

        copies = [clone() for clone in clones]
        if len(copies) == 1:
            return iter(copies[0])
        return heapq.merge(*copies, key=attrgetter("time"))

    return Timeline(make_pass)


def from_indexes(parts: list[Any]) -> Timeline | None:
    """The timeline from the files' indexes, when every file of every part has a current one.

    None (survey instead) for anything else: a source that is not a ``JsonlSource``, a file
    without a current index, a run (``spans``: part of a file). Marks are kept to the
    source's window and type patterns. An index whose counts do not hold for the source's
    ``max_line`` is not current (``indexes.check_index``).
    """
    from .files import discover
    from .filters import resolve_bound
    from .indexes import check_index
    from .source import JsonlSource

    if not parts:
        return None
    timeline = Timeline(None)
    starts: list[datetime] = []
    ends: list[datetime] = []
    marks: list[Mark] = []
    for part in parts:
        if not isinstance(part, JsonlSource) or part.spans or not part.use_index:
            return None
        try:
            found = discover(part.paths)
            indexes = [check_index(path, part.max_line).index for path in found.files]
        except (OSError, ValueError):
            return None
        if any(index is None for index in indexes):
            return None
        known = [index for index in indexes if index is not None and index.start is not None]
        origin = part.origin or min((index.start for index in known if index.start), default=None)
        low = resolve_bound(part.start, origin)
        high = resolve_bound(part.end, origin)
        for index in known:
            assert index.start is not None and index.end is not None
            if (low is not None and index.end < low) or (high is not None and index.start > high):
                continue
            starts.append(max(index.start, low) if low is not None else index.start)
            ends.append(min(index.end, high) if high is not None else index.end)
            timeline.records += index.records
            timeline.marks_dropped += index.marks_dropped
            for mark in index.marks:
                if (low is not None and mark.time < low) or (high is not None and mark.time > high):
                    continue
                if part.types and not part.types.matches_name(mark.type):
                    continue
                short = mark.type.rpartition(":")[2]
                marks.append(Mark(mark.time, mark.type, short, mark.severity))
    timeline.start = min(starts, default=None)
    timeline.end = max(ends, default=None)
    timeline.marks = sorted(marks, key=lambda m: m.time)[:MAX_MARKS]
    timeline.complete = True
    timeline.origin = "indexes"
    return timeline


def _parts(source: Any) -> list[Any]:
    if source is None:
        return []
    if isinstance(source, (list, tuple)):
        return [p for item in source for p in _parts(item)]
    inner: Iterable[Any] | None = getattr(source, "sources", None)
    if inner is not None and not callable(inner):
        return [p for item in inner for p in _parts(item)]
    return [source]
