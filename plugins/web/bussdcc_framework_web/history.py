"""What the web interface remembers: a ring buffer of recent events and per-second counts.

Both are bounded by construction (``deque(maxlen=...)``), whatever the event rate.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .filters import EventFilter
from .records import EventRecord


class EventHistory:
    """The last ``size`` events, queried by ``/api/events`` and sent to pages when they open."""

    def __init__(self, size: int) -> None:
        self._events: deque[EventRecord] = deque(maxlen=size)
        self._lock = threading.Lock()
        self.total = 0

    def append(self, record: EventRecord) -> None:
        with self._lock:
            self._events.append(record)
            self.total += 1

    def clear(self) -> None:
        """Forget everything (a replay started again from its first event)."""
        with self._lock:
            self._events.clear()
            self.total = 0

    def count(self, n: int) -> None:
        """Count ``n`` events that are not kept (a replay's seek played them through)."""
        with self._lock:
            self.total += n

    def last_seq(self) -> int:
        with self._lock:
            return self._events[-1]["seq"] if self._events else 0

    def query(
        self,
        flt: EventFilter | None = None,
        since: float | None = None,
        limit: int = 100,
        since_is_time: bool = False,
    ) -> list[EventRecord]:
        """The newest ``limit`` matching events after ``since`` (a seq, or epoch seconds), oldest first."""
        with self._lock:
            events = list(self._events)
        out: list[EventRecord] = []
        for record in reversed(events):
            if since is not None:
                position = record["ts"] if since_is_time else record["seq"]
                if position <= since:
                    break
            if flt is None or flt.matches(record):
                out.append(record)
                if len(out) >= limit:
                    break
        out.reverse()
        return out


def parse_since(raw: str) -> tuple[float, bool]:
    """``"1234"`` is a sequence number; an ISO 8601 time is a timestamp. Returns (value, is_time)."""
    text = raw.strip()
    if text.isdigit():
        return int(text), False
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"since={raw!r} is neither a sequence number nor an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"since={raw!r} has no UTC offset; add Z or +00:00")
    return parsed.timestamp(), True


class RateCounter:
    """Events per second by type over the last ``window`` seconds (for the dashboard chart)."""

    def __init__(self, window: int = 300, clock: Callable[[], float] = time.time) -> None:
        self._window = window
        self._buckets: deque[tuple[int, Counter[str]]] = deque()
        self._lock = threading.Lock()
        #: "Now" in epoch seconds: the wall clock, or a replay's recorded time.
        self.clock = clock

    def clear(self) -> None:
        """Forget every count (a replay started again from its first event)."""
        with self._lock:
            self._buckets.clear()

    def add(self, name: str, ts: float | None = None) -> None:
        second = int(ts if ts is not None else self.clock())
        with self._lock:
            if self._buckets and self._buckets[-1][0] == second:
                self._buckets[-1][1][name] += 1
                return
            if self._buckets and second < self._buckets[-1][0]:
                # Out of order (another thread's older event): count it where it belongs.
                for sec, counts in reversed(self._buckets):
                    if sec == second:
                        counts[name] += 1
                        return
                return
            self._buckets.append((second, Counter({name: 1})))
            while self._buckets and self._buckets[0][0] <= second - self._window:
                self._buckets.popleft()

    def series(self, now: float | None = None, seconds: int | None = None) -> dict[str, Any]:
        """``{"start": s0, "end": s1, "counts": [{type: n}, ...]}`` for complete seconds."""
        end = int(now if now is not None else self.clock()) - 1
        span = min(seconds or self._window, self._window)
        start = end - span + 1
        with self._lock:
            by_second = {sec: dict(c) for sec, c in self._buckets if start <= sec <= end}
        return {
            "start": start,
            "end": end,
            "counts": [by_second.get(sec, {}) for sec in range(start, end + 1)],
        }

    def second(self, sec: int) -> dict[str, int]:
        with self._lock:
            for s, counts in reversed(self._buckets):
                if s == sec:
                    return dict(counts)
                if s < sec:
                    break
        return {}
