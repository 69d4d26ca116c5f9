"""What a replay source factory looks like (the ``register_sources`` hook returns these)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from bussdcc.io import EventSourceProtocol


@runtime_checkable
class SourceFactory(Protocol):
    """Opens recorded event streams of one format, e.g. JSONL directories and files."""

    name: str

    def can_open(self, path: str) -> bool:
        """Whether this factory understands ``path`` (a file, a directory, a URI)."""
        ...

    def open(
        self,
        paths: Sequence[str],
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        types: Sequence[str] = (),
    ) -> EventSourceProtocol:
        """Return a source yielding the events of ``paths`` in time order."""
        ...
