"""The sink's side of the recording index: one ``IndexBuilder`` per open segment.

The writer thread feeds each written batch (``add``); when the segment closes, ``finish``
checks the file (size, fingerprint) and writes the sidecar index atomically. An index is a
cache (see ``bussdcc_framework.recordings``): failing to write one loses nothing, so errors are
counted and reported once, never retried and never raised into the writer.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from pathlib import Path

from bussdcc.message import Message

from bussdcc_framework.codec import type_name
from bussdcc_framework.recordings.builder import IndexBuilder
from bussdcc_framework.recordings.index import DEFAULT_EVERY, SegmentIndex, file_identity, write_index

#: ``SegmentIndex.writer`` of the indexes the sink writes.
WRITER = "jsonl-sink"

#: What the writer writes: a record's time, its encoded line and its type, as the number of its
#: message class in ``classes`` (what ``JsonlSink`` queues: ints are not tracked by the garbage
#: collector, classes are, and a queue of tuples holding classes made every collection walk the
#: whole queue) or as the class itself (other writers, such as the mqtt collector's).
Key = int | type[Message]
Item = tuple[datetime, bytes, Key]


def describe(cls: type[Message]) -> tuple[str, str | None]:
    """A message class as the index names it: its record type and its severity."""
    severity = getattr(cls, "severity", None)
    label = getattr(severity, "name", None)
    return type_name(cls), label.lower() if isinstance(label, str) else None


class SegmentIndexer:
    """Builds the index of the segment being written and stores it when the segment closes."""

    def __init__(
        self,
        classes: Sequence[type[Message]],
        *,
        durable: bool,
        on_error: Callable[[Path, OSError], None],
        every: int = DEFAULT_EVERY,
    ) -> None:
        self.classes = classes  # item numbers -> message classes (grows as the sink numbers)
        self.durable = durable
        self.every = every
        self._on_error = on_error
        self._builder: IndexBuilder[Key] | None = None
        self.boot_failed = False  # a FrameworkBootFailed record was written
        self.booted = False  # a FrameworkBooted record was written: the boot succeeded
        self._lifecycle_seen = 0

    def open(self) -> None:
        """A new segment starts (empty)."""
        classes = self.classes
        self._builder = IndexBuilder(
            lambda key: describe(classes[key] if isinstance(key, int) else key), every=self.every
        )
        self._lifecycle_seen = 0

    def add(
        self,
        items: list[Item],
        offset: int,
        span: tuple[datetime, datetime] | None = None,
        lines: list[bytes] | None = None,
    ) -> Collection[Key]:
        """Records written back to back from byte ``offset``; returns their class numbers."""
        builder = self._builder
        if builder is None:
            return ()
        numbers = builder.add_batch(items, offset, span=span, lines=lines)
        if len(builder.lifecycle) != self._lifecycle_seen:
            new = builder.lifecycle[self._lifecycle_seen :]
            self._lifecycle_seen = len(builder.lifecycle)
            kinds = {mark.kind for mark in new}
            self.boot_failed = self.boot_failed or "boot_failed" in kinds
            self.booted = self.booted or "booted" in kinds
        return numbers

    def abandon(self) -> None:
        """The open segment will get no index (a write failed: it may end in a torn line)."""
        self._builder = None

    def finish(self, path: Path, size: int) -> SegmentIndex | None:
        """The closed segment's index, written next to it; ``None`` if it could not be."""
        builder, self._builder = self._builder, None
        if builder is None:
            return None
        try:
            source = file_identity(path)
            if source.size != size:  # someone else wrote to it: describe nothing rather than lie
                return None
            index = builder.finish(source, data_size=size, writer=WRITER)
            write_index(path, index, durable=self.durable)
        except OSError as exc:
            self._on_error(path, exc)
            return None
        return index

    def recompressed(self, index: SegmentIndex, target: Path) -> None:
        """``index`` described a plain segment now compressed into ``target``: rewrite it."""
        try:
            write_index(
                target, index.with_source(file_identity(target), compressed=True), durable=self.durable
            )
        except OSError as exc:
            self._on_error(target, exc)
