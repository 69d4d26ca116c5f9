"""``ConsoleSink``: every event on stdout, as JSON records or a human format.

The sink does three things on the emitting thread, each cheap: look up the cached filter
decision for the payload class, check the buffer length, append. Formatting and writing happen
on the writer thread (see ``writer.py`` for the bound and what happens when it is reached).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any, Literal

from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message, Severity

from bussdcc_framework.report import report

from .config import COLOR_MODES, DEFAULT_BUFFER, DEFAULT_FLUSH_TIMEOUT, FORMATS, STREAMS
from .filters import TypeFilter
from .formats import make_formatter
from .messages import ConsoleDropped
from .writer import BufferedLineWriter

Format = Literal["json", "human", "auto"]
ColorMode = Literal["auto", "always", "never"]


class ConsoleSink:
    """Print every event, one JSON record per line by default.

    ``ConsoleSink()`` prints exactly the record format the JSONL recorder writes::

        {"time":"2026-03-09T12:00:01.722504+00:00","type":"…:FrameworkBooted","data":{…}}

    Arguments (all optional, all also plugin settings ``console.*``):

    * ``format``: ``json``, ``human`` or ``auto`` (human on a terminal, JSON otherwise).
    * ``level``: minimum severity shown, a name (``info``) or number.
    * ``types`` / ``exclude``: shell patterns over the type name; see ``TypeFilter``.
    * ``stream``: ``"stdout"``, ``"stderr"`` or an open file; looked up at ``start()``.
    * ``color``: ``auto`` (a terminal, without ``NO_COLOR`` or ``TERM=dumb``), ``always`` or
      ``never``.
    * ``utc``: human time stamps in UTC instead of local time.
    * ``buffer``: events held while the output is slow; beyond that they are dropped and counted.
    * ``flush_timeout``: seconds ``stop()`` waits for the buffer to drain.
    """

    name = "console"

    def __init__(
        self,
        format: Format | str = "json",
        *,
        level: str | int | Severity = "debug",
        types: Iterable[str] = (),
        exclude: Iterable[str] = (),
        stream: str | IO[Any] = "stdout",
        color: ColorMode | str | bool = "auto",
        utc: bool = False,
        buffer: int = DEFAULT_BUFFER,
        flush_timeout: float = DEFAULT_FLUSH_TIMEOUT,
    ) -> None:
        if format not in FORMATS:
            raise ValueError(f"console format {format!r} is not one of {', '.join(FORMATS)}")
        if isinstance(color, bool):
            color = "always" if color else "never"
        if color not in COLOR_MODES:
            raise ValueError(f"console color {color!r} is not one of {', '.join(COLOR_MODES)}")
        if isinstance(stream, str) and stream not in STREAMS:
            raise ValueError(f"console stream {stream!r} is not one of {', '.join(STREAMS)}")
        if buffer < 1:
            raise ValueError(f"console buffer must hold at least 1 event, not {buffer}")
        if flush_timeout < 0:
            raise ValueError(f"console flush timeout must not be negative, not {flush_timeout}")
        self.format = format
        self.color = color
        self.stream = stream
        self.utc = utc
        self.buffer = buffer
        self.flush_timeout = flush_timeout
        self.filter = TypeFilter(level, types, exclude)
        self.resolved_format: str | None = None
        """``json`` or ``human`` once started (``auto`` resolved against the stream)."""
        self._writer: BufferedLineWriter | None = None
        self._lock = threading.Lock()
        self._dropped_before = 0
        self._started = False
        self._written_before = 0

    # -- statistics ----------------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """Events lost so far because the output was too slow or closed."""
        writer = self._writer
        return self._dropped_before + (writer.dropped if writer else 0)

    @property
    def written(self) -> int:
        """Events written so far."""
        writer = self._writer
        return self._written_before + (writer.written if writer else 0)

    # -- EventSinkProtocol ---------------------------------------------------------------

    def start(self, ctx: ContextProtocol | None = None) -> None:
        """Resolve the stream and format, and start the writer thread."""
        with self._lock:
            if self._writer is not None:
                return
            stream = self._resolve_stream()
            tty = _isatty(stream)
            fmt = self.format if self.format != "auto" else ("human" if tty else "json")
            color = self.color == "always" or (self.color == "auto" and tty and _colour_wanted())
            render = make_formatter(fmt, color=color, utc=self.utc)

            def notice(lost: int, capacity: int) -> bytes:
                evt: Event[Message] = Event(
                    time=datetime.now(UTC),
                    payload=ConsoleDropped(count=lost, buffer=capacity),
                )
                return render(evt)

            self.resolved_format = fmt
            self._started = True
            self._writer = BufferedLineWriter(
                stream, render, capacity=self.buffer, name=self.name, drop_notice=notice
            )

    def handle(self, evt: Event[Message]) -> None:
        """Queue ``evt`` if the filters let it through; never blocks, never raises on content."""
        if not self.filter.allows(type(evt.payload)):
            return
        writer = self._writer
        if writer is None:
            if self._started:  # stopped: a late event from another thread is not printed
                return
            self.start()  # used without a runtime: start on first use
            writer = self._writer
            if writer is None:
                return
        writer.put(evt)

    def stop(self) -> None:
        """Write what is buffered (at most ``flush_timeout`` s), then report drops once."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is None:
            return
        drained = writer.close(self.flush_timeout)
        self._dropped_before += writer.dropped
        self._written_before += writer.written
        if writer.dropped:
            why = "output too slow" if drained else "output blocked at shutdown"
            _report(
                f"bussdcc: console dropped {writer.dropped} events ({why}; "
                f"buffer {writer.capacity} events, flush timeout {self.flush_timeout:g}s)"
            )

    def _resolve_stream(self) -> IO[Any]:
        if self.stream == "stdout":
            return sys.stdout
        if self.stream == "stderr":
            return sys.stderr
        assert not isinstance(self.stream, str)
        return self.stream

    def __repr__(self) -> str:
        return f"<ConsoleSink format={self.resolved_format or self.format} stream={self.stream!r}>"


def _colour_wanted() -> bool:
    """No colour when ``NO_COLOR`` is set to anything (no-color.org) or the terminal is dumb."""
    return not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _isatty(stream: IO[Any]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def _report(line: str) -> None:
    try:
        report(line)
    except Exception:
        pass
