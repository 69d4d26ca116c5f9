"""What the web server says on the terminal: one line per thing, tokens never, escapes made visible.

Three loggers, all under ``bussdcc_framework_web`` so an application can route them:

* ``.access``: one line per HTTP request when ``web.access_log`` is on;
* ``.server``: connection limit reached, requests that failed inside the server;
* ``.socketio``: what python-socketio and python-engineio report (malformed packets from
  clients, unknown sessions). They log an exception with its traceback; a client on the network
  can send such packets at will, so each becomes one line, and repeats are throttled.

When nothing is configured (``bussdcc run`` sets up no logging), ``enable`` attaches a handler
that prints ``bussdcc web: <line>`` on stderr; an application that configured logging keeps
its own handlers. Every line goes through ``printable``: request paths, packet contents and
names come from the network and must not drive the terminal with escape sequences.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from urllib.parse import unquote_plus

from bussdcc_framework.report import printable, report

ACCESS = logging.getLogger("bussdcc_framework_web.access")
SERVER = logging.getLogger("bussdcc_framework_web.server")
SOCKETIO = logging.getLogger("bussdcc_framework_web.socketio")

#: Repeated lines of one kind are printed at most this often; the next says how many were not.
THROTTLE_SECONDS = 10.0

_REDACTED = "***"


class _StderrHandler(logging.Handler):
    """``bussdcc web: <message>`` on stderr, made printable, one line per record."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            report(f"bussdcc web: {printable(record.getMessage())}")
        except Exception:
            self.handleError(record)


#: What python-engineio and python-socketio say, in words an operator can act on.
_PLAIN = {
    "message handler error": "ignored a malformed Socket.IO message from a client",
    "connect handler error": "a Socket.IO connect failed",
    "post request handler error": "ignored a malformed Socket.IO request from a client",
    "Unknown receive error": "ignored a malformed Socket.IO packet from a client",
}


class _OneLine(logging.Filter):
    """Turn a record with a traceback into one line naming the exception; throttle repeats."""

    def __init__(self) -> None:
        super().__init__()
        self._throttle = Throttle(THROTTLE_SECONDS)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        message = _PLAIN.get(message, message)
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            detail = str(error).splitlines()[0] if str(error) else ""
            message = (
                f"{message}: {type(error).__name__}: {detail}"
                if detail
                else f"{message}: {type(error).__name__}"
            )
            record.exc_info = None
            record.exc_text = None
        message = message.strip().splitlines()[-1] if message.strip() else message
        allowed, suppressed = self._throttle.allow(f"{record.name}:{record.msg}")
        if not allowed:
            return False
        if suppressed:
            message = f"{message} ({suppressed} more like this not shown)"
        record.msg = message
        record.args = ()
        return True


class Throttle:
    """At most one line per ``interval`` seconds per key, counting the ones left out."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> tuple[bool, int]:
        """(print this one?, how many were left out since the last printed one)."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False, 0
            if len(self._last) > 256:  # keys come from messages: keep the table small
                self._last.clear()
                self._suppressed.clear()
            self._last[key] = now
            return True, self._suppressed.pop(key, 0)


_configured = False
_configure_lock = threading.Lock()


def enable(access_log: bool) -> None:
    """Make the server's lines visible (stderr unless logging is configured); idempotent."""
    global _configured
    with _configure_lock:
        if not _configured:
            _configured = True
            for logger, level in ((SERVER, logging.INFO), (SOCKETIO, logging.ERROR)):
                logger.setLevel(level)
                logger.addFilter(_OneLine())
                if not logger.hasHandlers():
                    logger.addHandler(_StderrHandler())
        if access_log and ACCESS.level in (logging.NOTSET, logging.WARNING) and not _has_own(ACCESS):
            ACCESS.setLevel(logging.INFO)
            if not ACCESS.hasHandlers():
                ACCESS.addHandler(_StderrHandler())


def _has_own(logger: logging.Logger) -> bool:
    return any(isinstance(h, _StderrHandler) for h in logger.handlers)


def redact(target: str, token: str | None) -> str:
    """``target`` (a request path with its query) with every token value replaced by ``***``.

    Werkzeug decodes query names, so ``?tok%65n=...`` authenticates like ``?token=...``: any
    parameter whose name decodes to ``token`` (in any case, decoded repeatedly) is redacted,
    and so is any part of the line that decodes to the token itself, wherever it appears.
    """
    path, sep, query = target.partition("?")
    if token and _contains_token(path, token):
        path = _REDACTED
    if not sep:
        return path
    parts = []
    for part in re.split(r"([&;])", query):
        if part in ("&", ";"):
            parts.append(part)
            continue
        name, eq, _ = part.partition("=")
        if _decoded(name).strip().lower() == "token" or (token and _contains_token(part, token)):
            parts.append(f"{name}{eq}{_REDACTED}" if eq else _REDACTED)
        else:
            parts.append(part)
    return f"{path}?{''.join(parts)}"


def _decoded(text: str, rounds: int = 4) -> str:
    for _ in range(rounds):
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return text


def _contains_token(text: str, token: str) -> bool:
    return token in text or token in _decoded(text)
