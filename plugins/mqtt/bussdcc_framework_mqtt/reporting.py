"""Reporting trouble once: one stderr line and one ``MqttError`` per component, operation and error.

A broker that refuses every message, a disk that is full or a flood of garbage must not print
a line per event: the first occurrence is reported, later ones are only counted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from bussdcc.message import Message

from bussdcc_framework.report import report as core_report

from .messages import MqttError


def report(line: str) -> None:
    """One flushed line on stderr (never raises: stderr may be closed at exit)."""
    core_report(line)


def printable(text: str) -> str:
    """``text`` with control characters shown as escapes (it may come from the network)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


class Reporter:
    """Reports each distinct (operation, error) of one component once."""

    def __init__(self, component: str) -> None:
        self.component = component
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def error(
        self, emit: Callable[[Message], None] | None, operation: str, error: str, kind: str | None = None
    ) -> bool:
        """Report unless already reported; True when this call reported.

        ``kind`` groups errors whose wording varies (a TLS refusal seen as an alert or as an
        EOF): one line per kind instead of one per wording.
        """
        first = error.splitlines()[0] if error else ""
        key = first if kind is None else f"kind:{kind}"
        with self._lock:
            if (operation, key) in self._seen:
                return False
            self._seen.add((operation, key))
        report(f"bussdcc mqtt: {self.component} {operation} failed: {printable(first)}")
        if emit is not None:
            try:
                emit(MqttError(component=self.component, operation=operation, error=first))
            except Exception:
                pass
        return True

    def forget(self, operation: str) -> bool:
        """Forget what was reported for ``operation``; True if something was.

        A connection that works again ends an outage: the next one is reported afresh, and the
        caller says that the one reported is over.
        """
        with self._lock:
            seen = {key for key in self._seen if key[0] == operation}
            self._seen -= seen
        return bool(seen)
