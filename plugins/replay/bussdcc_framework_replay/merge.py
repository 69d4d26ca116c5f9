"""Merging the records of several files by time, opening each file only when it is needed.

``heapq.merge`` would open every file up front (it primes all its inputs), and a week of
ten-minute segments is a thousand files: more than a process may keep open. Segments of one
recording do not overlap in time, so this merge keeps files sorted by their first record's
time and opens the next one only when its start is due; while a single file is open, its
records stream straight through without a heap operation each. Overlapping files are merged
through a heap with all of them open; ``logfile.FileBudget`` keeps that within the process's
open-file limit (the files beyond it are read detached, without holding a descriptor).

Order: by time, ties broken by file index (the order paths were given, then path order within
a directory), then by line number, so the result is stable and the same on every run.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .reader import Item

_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Segment:
    """A file to merge: its index, the time of its first record (None: unknown) and an opener."""

    index: int
    start: datetime | None
    open: Callable[[], Iterator[Item]]

    @property
    def key(self) -> tuple[datetime, int]:
        """Where the segment sorts: unknown starts first, so their damage is counted early."""
        return (self.start if self.start is not None else _EARLIEST, self.index)


def merge_segments(segments: list[Segment]) -> Iterator[Any]:
    """Yield the events (or raw lines) of all segments in (time, file index, line) order."""
    pending = deque(sorted(segments, key=lambda s: s.key))
    heap: list[Item] = []
    iterators: dict[int, Iterator[Item]] = {}

    def open_next() -> None:
        segment = pending.popleft()
        iterator = segment.open()
        for item in iterator:
            iterators[segment.index] = iterator
            heapq.heappush(heap, item)
            return

    try:
        while heap or pending:
            if not heap:
                open_next()
                continue
            while pending and pending[0].key <= (heap[0][0], heap[0][1]):
                open_next()
            item = heap[0]
            iterator = iterators[item[1]]
            if len(heap) == 1:
                # One open file: stream it until the next pending file is due.
                yield item[3]
                if pending:
                    due = pending[0].key
                    for item in iterator:
                        if (item[0], item[1]) >= due:
                            heap[0] = item
                            break
                        yield item[3]
                    else:
                        heap.clear()
                        del iterators[item[1]]
                else:
                    for item in iterator:
                        yield item[3]
                    heap.clear()
                    iterators.clear()
                continue
            yield item[3]
            following = next(iterator, None)
            if following is None:
                heapq.heappop(heap)
                del iterators[item[1]]
            else:
                heapq.heapreplace(heap, following)
    finally:
        for iterator in iterators.values():
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
