"""``CsvSink``: one CSV row per event, for spreadsheets and quick ``grep`` work.

A sink is any object with ``start(ctx)``, ``handle(evt)`` and ``stop()``. The runtime calls
``handle`` on whichever thread emitted the event, so the writer is guarded by a lock; rows are
flushed at most once a second (flushing every row costs several times more) and on ``stop``.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import IO, Any

import msgspec
from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message

COLUMNS = ("time", "severity", "type", "data")
"""The header row: ISO-8601 time, severity name, ``module:QualName``, fields as JSON."""


def _fallback(value: Any) -> str:
    # Field values msgspec cannot encode are written as their repr rather than losing the row.
    return repr(value)


class CsvSink:
    """Append every event (or those whose type matches ``types``) to the CSV file ``path``."""

    name = "csv"

    def __init__(self, path: str | Path, types: Sequence[str] = (), flush_interval: float = 1.0):
        self.path = Path(path)
        self.types = tuple(types)
        self.flush_interval = flush_interval
        self.rows = 0
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._writer: Any = None
        self._last_flush = 0.0
        self._encoder = msgspec.json.Encoder(enc_hook=_fallback)

    def start(self, ctx: ContextProtocol) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new_file = not self.path.exists() or self.path.stat().st_size == 0
        with self._lock:
            self._file = self.path.open("a", newline="", encoding="utf-8")
            self._writer = csv.writer(self._file)
            if new_file:
                self._writer.writerow(COLUMNS)
            self._last_flush = time.monotonic()

    def wants(self, type_name: str) -> bool:
        """Whether a type passes the ``types`` patterns (``fnmatch``, full or class name)."""
        if not self.types:
            return True
        short = type_name.rpartition(":")[2]
        return any(fnmatchcase(type_name, p) or fnmatchcase(short, p) for p in self.types)

    def handle(self, evt: Event[Message]) -> None:
        payload = evt.payload
        cls = type(payload)
        type_name = f"{cls.__module__}:{cls.__qualname__}"
        if not self.wants(type_name):
            return
        # Encode outside the lock: only the write itself is serialised.
        row = (
            evt.time.isoformat(),
            payload.severity.name,
            type_name,
            self._encoder.encode(payload).decode(),
        )
        with self._lock:
            if self._writer is None or self._file is None:
                return  # not started, or already stopped
            self._writer.writerow(row)
            self.rows += 1
            now = time.monotonic()
            if now - self._last_flush >= self.flush_interval:
                self._file.flush()
                self._last_flush = now

    def stop(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
            self._file = None
            self._writer = None
