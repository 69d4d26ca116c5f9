"""Events as the pages and the JSON API see them: one small JSON-ready dict per event.

An event is encoded once, on the emitting thread, and the same dict is shared by the history
ring buffer and every client queue. Long strings (tracebacks, blobs) are cut so one large
event cannot dominate a page or a client's buffer; the API says how much was cut.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, TypedDict

from bussdcc.event import Event
from bussdcc.message import Message

from bussdcc_framework.codec import Codec, format_time, type_name

#: Strings longer than this are cut in pushed and listed events (Node-RED cuts at 1000).
MAX_STRING = 2000


class EventRecord(TypedDict):
    """One event for the browser and ``/api/events``."""

    seq: int
    time: str
    ts: float
    type: str
    name: str
    severity: int
    level: str
    data: Any


def _cut(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        if len(value) > limit:
            return f"{value[:limit]}… ({len(value) - limit} more characters)"
        return value
    if isinstance(value, dict):
        return {k: _cut(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v, limit) for v in value[:200]] + (
            [f"… ({len(value) - 200} more items)"] if len(value) > 200 else []
        )
    return value


class RecordMaker:
    """Numbers events and turns them into ``EventRecord``; thread-safe."""

    def __init__(self, codec: Codec, max_string: int = MAX_STRING) -> None:
        self._codec = codec
        self._max_string = max_string
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._names: dict[type, tuple[str, str]] = {}

    def make(self, evt: Event[Message]) -> EventRecord:
        payload = evt.payload
        cls = type(payload)
        names = self._names.get(cls)
        if names is None:
            names = self._names[cls] = (type_name(cls), cls.__qualname__)
        try:
            data: Any = self._codec.to_builtins(payload)
        except Exception as exc:  # an unencodable payload is shown, not fatal
            data = {"repr": repr(payload), "encode_error": f"{type(exc).__name__}: {exc}"}
        with self._lock:
            seq = next(self._seq)
        severity = payload.severity
        return EventRecord(
            seq=seq,
            time=format_time(evt.time),
            ts=evt.time.timestamp(),
            type=names[0],
            name=names[1],
            severity=int(severity),
            level=getattr(severity, "name", str(severity)),
            data=_cut(data, self._max_string),
        )
