"""Events as the pages and the JSON API see them: one small JSON-ready dict per event.

An event is encoded once, on the emitting thread, and the same dict is shared by the history
ring buffer and every client queue. Its data is cut (``cut.py``: long strings, long lists,
deep nesting, invalid Unicode, a byte budget) so one large or hostile event can neither
dominate a page or a client's buffer nor break the encoding for everyone; the API says how
much was cut.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, TypedDict

import msgspec
from bussdcc.event import Event
from bussdcc.message import Message

from bussdcc_framework.codec import Codec, format_time, type_name

from .cut import MAX_STRING, cut, safe_repr


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
        except Exception as exc:  # invalid Unicode, too deep, ...: shown as well as can be
            try:
                data = msgspec.to_builtins(payload, enc_hook=safe_repr, str_keys=True)
            except Exception:
                data = {"repr": safe_repr(payload), "encode_error": safe_repr(exc)}
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
            data=cut(data, max_string=self._max_string),
        )
