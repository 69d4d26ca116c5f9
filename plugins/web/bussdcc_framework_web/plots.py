"""What the Plot page draws: the recent events of each message type, and their numeric fields.

Every event is appended (its time and its message object, nothing converted) to a bounded
ring per type, on the emitting thread: a dict lookup and a ``deque.append``. Numbers are
taken out only when a page asks (``series``), so a busy system pays nothing for a plot
nobody looks at. Bounded by construction: at most ``max_types`` types of ``points`` events
each (the messages are frozen dataclasses, shared with whoever else holds them).

A numeric field is an ``int`` or ``float`` (not a ``bool``) at any depth of the message's
data, named by its dotted path (``climate.temperature``), as on the State page.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bussdcc.event import Event
from bussdcc.message import Message

from bussdcc_framework.codec import Codec, type_name

#: Events kept per message type.
POINTS = 2000
#: Message types followed at most (the first ones seen; the rest are counted).
MAX_TYPES = 200
#: Numeric fields offered per type at most.
MAX_FIELDS = 64
#: Nesting followed into a message's data.
MAX_DEPTH = 4


class PlotStore:
    """Recent events by message type, and the numbers in them (see the module docstring)."""

    def __init__(self, codec: Codec | None, points: int = POINTS, max_types: int = MAX_TYPES) -> None:
        self.codec = codec
        self.points = points
        self.max_types = max_types
        self._rings: dict[type, deque[tuple[datetime, Message]]] = {}
        self._lock = threading.Lock()
        self.types_dropped = 0

    def add(self, evt: Event[Message]) -> None:
        """Remember ``evt`` (the hot path: one lookup, one append)."""
        payload = evt.payload
        ring = self._rings.get(type(payload))
        if ring is None:
            ring = self._new_ring(type(payload))
            if ring is None:
                return
        ring.append((evt.time, payload))

    def _new_ring(self, cls: type) -> deque[tuple[datetime, Message]] | None:
        with self._lock:
            ring = self._rings.get(cls)
            if ring is None:
                if len(self._rings) >= self.max_types:
                    self.types_dropped += 1
                    return None
                ring = self._rings[cls] = deque(maxlen=self.points)
            return ring

    def clear(self) -> None:
        """Forget every event (a replay started again from its first event)."""
        with self._lock:
            for ring in self._rings.values():
                ring.clear()

    def _find(self, name: str) -> tuple[type, deque[tuple[datetime, Message]]] | None:
        for cls, ring in list(self._rings.items()):
            if name in (type_name(cls), cls.__qualname__):
                return cls, ring
        return None

    def _data(self, payload: Message) -> Any:
        if self.codec is None:
            return {}
        try:
            return self.codec.to_builtins(payload)
        except Exception:
            return {}

    def types(self) -> list[dict[str, Any]]:
        """Every type seen with at least one numeric field: name, fields, events kept."""
        out = []
        for cls, ring in list(self._rings.items()):
            try:
                latest = ring[-1][1]
            except IndexError:
                continue
            fields = sorted(numeric_fields(self._data(latest)))[:MAX_FIELDS]
            if fields:
                out.append(
                    {"type": type_name(cls), "name": cls.__qualname__, "fields": fields, "count": len(ring)}
                )
        return sorted(out, key=lambda t: (t["name"], t["type"]))

    def series(self, name: str, fields: list[str], since: float | None = None) -> dict[str, Any] | None:
        """``{"type", "name", "fields", "t": [epoch s], "values": {field: [number|None]}}``.

        None when no event of type ``name`` (``module:QualName`` or the class name) was seen.
        """
        found = self._find(name)
        if found is None:
            return None
        cls, ring = found
        items = list(ring)
        times: list[float] = []
        values: dict[str, list[float | None]] = {f: [] for f in fields}
        for when, payload in items:
            ts = when.timestamp()
            if since is not None and ts <= since:
                continue
            data = self._data(payload)
            times.append(ts)
            for field in fields:
                values[field].append(number_at(data, field))
        return {
            "type": type_name(cls),
            "name": cls.__qualname__,
            "fields": fields,
            "t": times,
            "values": values,
        }


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def numeric_fields(data: Any, prefix: str = "", depth: int = 0) -> Iterator[str]:
    """The dotted paths of the numbers in ``data`` (a message's builtins)."""
    if not isinstance(data, dict) or depth >= MAX_DEPTH:
        return
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if _is_number(value):
            yield path
        elif isinstance(value, dict):
            yield from numeric_fields(value, path, depth + 1)


def number_at(data: Any, path: str) -> float | None:
    """The number at dotted ``path`` in ``data``, or None."""
    node = data
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node) if _is_number(node) else None
