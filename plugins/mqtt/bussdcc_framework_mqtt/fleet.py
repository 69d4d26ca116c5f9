"""What the central side knows about each node: presence, birth, traffic, backlog, last events.

Fed by the collector (and by ``bussdcc fleet status``), read by the fleet page and the CLI.
Presence follows the retained ``status`` topic with Sparkplug's rule: a status counts only if
its session counter is at least the last one seen for the node, so a will that arrives after a
newer birth (MQTT orders only per topic... and a will can be published late) is ignored.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

#: Events kept per node for the fleet page's live view.
RECENT_EVENTS = 100
#: Characters of an event's data kept for display.
MAX_DATA_TEXT = 1000

#: An event as the collector keeps it for display: time, type, raw data, seq, historical.
Recent = tuple[str, str, bytes, int, bool]


def _recent(record: Recent) -> dict[str, Any]:
    when, type_name, data, seq, historical = record
    text = bytes(data[:MAX_DATA_TEXT]).decode("utf-8", "replace") + (
        "..." if len(data) > MAX_DATA_TEXT else ""
    )
    return {"time": when, "type": type_name, "data": text, "seq": seq, "historical": historical}


def _backlog(data: bytes) -> int | None:
    try:
        value = json.loads(data).get("backlog")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


@dataclass
class NodeInfo:
    """One node as the central side sees it."""

    site: str
    node: str
    online: bool = False
    boot: str = ""
    session: int = -1
    status_time: str = ""
    last_seen: float = 0.0  # POSIX time of the last message from the node
    events: int = 0
    duplicates: int = 0
    rate: float = 0.0  # events per second, smoothed
    backlog: int | None = None
    birth: dict[str, Any] = field(default_factory=dict)
    recent: deque[Recent] = field(default_factory=lambda: deque(maxlen=RECENT_EVENTS))
    results: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=20))
    _window: int = 0

    @property
    def key(self) -> str:
        return f"{self.site}/{self.node}"

    def summary(self) -> dict[str, Any]:
        """A JSON-ready row for the fleet table."""
        versions = self.birth.get("versions") if isinstance(self.birth.get("versions"), dict) else {}
        return {
            "site": self.site,
            "node": self.node,
            "online": self.online,
            "boot": self.boot,
            "session": self.session,
            "since": self.status_time,
            "last_seen": self.last_seen or None,
            "events": self.events,
            "duplicates": self.duplicates,
            "rate": round(self.rate, 2),
            "backlog": self.backlog,
            "versions": versions,
            "hostname": self.birth.get("hostname"),
        }


class FleetState:
    """Every node seen so far; safe to use from the paho thread and from web requests."""

    def __init__(self) -> None:
        self._nodes: dict[tuple[str, str], NodeInfo] = {}
        self._lock = threading.Lock()
        self._last_tick = time.monotonic()

    def _node(self, site: str, node: str) -> NodeInfo:
        info = self._nodes.get((site, node))
        if info is None:
            info = self._nodes[(site, node)] = NodeInfo(site, node)
        return info

    def status(self, site: str, node: str, online: bool, boot: str, session: int, when: str) -> bool:
        """Apply a status message; True when it changed the node's presence or session."""
        with self._lock:
            info = self._node(site, node)
            if boot == info.boot:
                if session < info.session or (session == info.session and (online or not info.online)):
                    return False  # older, repeated, or an online after this session's offline
            elif session <= info.session and when <= info.status_time:
                # Another boot with no higher session: a late will of an earlier process. A
                # newer status time still wins (a device whose outbox, and counter, was wiped).
                return False
            info.online, info.boot, info.session, info.status_time = online, boot, session, when
            info.last_seen = time.time()
            return True

    def birth(self, site: str, node: str, body: dict[str, Any]) -> None:
        with self._lock:
            info = self._node(site, node)
            info.birth = body
            info.last_seen = time.time()

    def event(self, site: str, node: str, record: Recent | None, *, duplicate: bool = False) -> None:
        """Count an event (and keep it for the live view when ``record`` is given).

        ``record`` is ``(time, type, raw data, seq, historical)``, turned into text only when a
        page asks (``detail``): the collector's hot path stays cheap.
        """
        with self._lock:
            info = self._node(site, node)
            info.last_seen = time.time()
            if duplicate:
                info.duplicates += 1
                return
            info.events += 1
            info._window += 1
            if record is not None:
                info.recent.append(record)
                if record[1].endswith(":MqttBacklog"):
                    info.backlog = _backlog(record[2])

    def result(self, site: str, node: str, body: dict[str, Any]) -> None:
        """A command sent (``status: sent``) or its answer, which replaces the sent entry."""
        with self._lock:
            info = self._node(site, node)
            command_id = body.get("id")
            for i, previous in enumerate(info.results):
                if command_id is not None and previous.get("id") == command_id:
                    info.results[i] = {**previous, **body}
                    break
            else:
                info.results.append(body)
            if body.get("status") != "sent":
                info.last_seen = time.time()

    def tick(self) -> None:
        """Update the smoothed rates (call about once a second)."""
        now = time.monotonic()
        with self._lock:
            elapsed = max(now - self._last_tick, 1e-3)
            self._last_tick = now
            for info in self._nodes.values():
                current = info._window / elapsed
                info._window = 0
                info.rate = current if info.rate == 0 else 0.5 * info.rate + 0.5 * current

    def nodes(self) -> list[dict[str, Any]]:
        with self._lock:
            return [info.summary() for _, info in sorted(self._nodes.items())]

    def detail(self, site: str, node: str) -> dict[str, Any] | None:
        with self._lock:
            info = self._nodes.get((site, node))
            if info is None:
                return None
            return {
                **info.summary(),
                "birth": info.birth,
                "recent": [_recent(r) for r in info.recent],
                "results": list(info.results),
            }

    def get(self, site: str, node: str) -> NodeInfo | None:
        with self._lock:
            return self._nodes.get((site, node))
