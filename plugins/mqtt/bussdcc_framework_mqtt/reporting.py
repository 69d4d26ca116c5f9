"""Reporting trouble once: one stderr line and one ``MqttError`` per component, operation and error.

A broker that refuses every message, a disk that is full or a flood of garbage must not print
a line per event: the first occurrence is reported, later ones are only counted.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from bussdcc.message import Message

from bussdcc_framework.report import report as core_report

from .address import BrokerAddress
from .messages import MqttError

if TYPE_CHECKING:  # paho is imported by the modules that run clients, never here at import
    from .client import TlsErrors, Unreachable


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


def connect_failed(
    tls_errors: TlsErrors | None, tls_refusal: Callable[[], None], address: BrokerAddress
) -> Unreachable | None:
    """Why paho's connection attempt failed: call it first thing in ``on_connect_fail``.

    paho calls ``on_connect_fail`` inside its ``except OSError`` with no argument: the exception
    being handled is the reason. A TLS error is kept for ``tls_errors`` and ``tls_refusal`` (the
    caller's, which queues or reports it) runs at once; a socket error comes back in words (None
    for a TLS error or nothing paho said). The bridge and the collector each count the attempt
    and report the cause their own way.
    """
    from .client import unreachable

    error = sys.exception()
    if tls_errors is not None:
        tls_errors.keep(error)
    tls_refusal()
    return unreachable(error, address)
