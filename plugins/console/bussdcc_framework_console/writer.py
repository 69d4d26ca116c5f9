"""A bounded buffer drained by one writer thread: emitters never wait for the terminal or pipe.

Why: every event crosses the sink pipeline on the thread that emitted it. Writing to stdout on
that thread would make the whole runtime as slow as whoever reads stdout (a paused ``less``, a
stuck log shipper, an unread pipe). Here the emitting thread only appends the event to a deque
(no lock, no encoding); one daemon thread formats and writes in batches.

The bound: at most ``capacity`` events wait (a few more under heavy contention, as the length
check and the append are separate atomic steps). When the buffer is full new events are dropped
and counted; the first line written after a streak of drops says how many were lost, and
``stop()`` reports the total once on stderr. Lines are only ever written whole, by one thread,
so events from many threads never share a line.

Output goes straight to the file descriptor with ``os.write`` when the stream has one. That
keeps the writer out of Python's stdout buffer lock: a writer blocked on a full pipe can then
never stall ``print`` elsewhere nor interpreter shutdown.
"""

from __future__ import annotations

import io
import os
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

from bussdcc.event import Event
from bussdcc.message import Message

from bussdcc_framework.report import report

#: Events formatted and written per ``write`` call at most.
BATCH = 512
#: How long the idle writer sleeps before it re-checks (a wake-up normally comes sooner).
IDLE_WAIT = 0.5


class _Output:
    """Writes whole chunks to a stream: its file descriptor if it has one, else ``write``."""

    def __init__(self, stream: IO[Any]) -> None:
        self.stream = stream
        self.fd: int | None = None
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            fd = None
        if fd is not None:
            try:
                stream.flush()  # what was printed before us comes first
            except (OSError, ValueError):
                pass
            self.fd = fd
        self.binary = fd is None and not isinstance(stream, io.TextIOBase)

    def write(self, data: bytes) -> None:
        if self.fd is not None:
            view = memoryview(data)
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
            return
        if self.binary:
            self.stream.write(data)
        else:
            self.stream.write(data.decode("utf-8", "replace"))
        self.stream.flush()


class BufferedLineWriter:
    """Queue events on any thread; one writer thread renders and writes them in order."""

    def __init__(
        self,
        stream: IO[Any],
        render: Callable[[Event[Message]], bytes],
        *,
        capacity: int = 10_000,
        name: str = "console",
        drop_notice: Callable[[int, int], bytes] | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"console buffer must hold at least 1 event, not {capacity}")
        self.capacity = capacity
        self.name = name
        self._render = render
        self._drop_notice = drop_notice or _default_drop_notice
        self._out = _Output(stream)
        self._queue: deque[Event[Message]] = deque()
        self._wake = threading.Event()
        self._idle = False
        self._stopping = False
        self._closed = False
        self._drop_lock = threading.Lock()
        self.dropped = 0
        """Events lost because the buffer was full or the output was closed."""
        self.written = 0
        """Events written (including marked fallback lines)."""
        self._reported_drops = 0
        self._write_failed = False
        self._thread = threading.Thread(target=self._run, name=f"{name}-writer", daemon=True)
        self._thread.start()

    # -- emitting threads ----------------------------------------------------------------

    def put(self, evt: Event[Message]) -> None:
        """Queue one event; never blocks, drops (and counts) when the buffer is full."""
        queue = self._queue
        if len(queue) >= self.capacity or self._closed:
            with self._drop_lock:
                self.dropped += 1
            return
        queue.append(evt)
        if self._idle:
            self._idle = False
            self._wake.set()

    @property
    def pending(self) -> int:
        """Events queued and not yet written."""
        return len(self._queue)

    # -- lifecycle -----------------------------------------------------------------------

    def close(self, timeout: float) -> bool:
        """Write what is queued (waiting at most ``timeout`` s) and stop; True if all was written.

        Events still queued when the timeout expires (the output is blocked) count as dropped.
        """
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._closed = True
            left = len(self._queue)
            self._queue.clear()
            with self._drop_lock:
                self.dropped += left
            return False
        return True

    # -- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        queue = self._queue
        while True:
            if not queue:
                if self._stopping:
                    return
                self._wake.clear()
                self._idle = True
                if not queue and not self._stopping:
                    self._wake.wait(IDLE_WAIT)
                self._idle = False
                continue
            chunks: list[bytes] = []
            notice = self._pending_drop_notice()
            if notice:
                chunks.append(notice)
            popleft = queue.popleft
            for _ in range(min(BATCH, len(queue))):
                chunks.append(self._safe_render(popleft()))
            self._write(b"".join(chunks), len(chunks) - (1 if notice else 0))

    def _safe_render(self, evt: Event[Message]) -> bytes:
        try:
            return self._render(evt)
        except Exception as exc:
            text = f"!! {self.name}: cannot render {type(evt.payload).__qualname__}: {exc!r}\n"
            return text.encode("utf-8", "replace")

    def _pending_drop_notice(self) -> bytes:
        dropped = self.dropped
        if dropped == self._reported_drops:
            return b""
        lost = dropped - self._reported_drops
        self._reported_drops = dropped
        try:
            return self._drop_notice(lost, self.capacity)
        except Exception:
            return b""

    def _write(self, data: bytes, events: int) -> None:
        if self._closed:
            with self._drop_lock:
                self.dropped += events
            return
        try:
            self._out.write(data)
            self.written += events
        except (BrokenPipeError, ValueError) as exc:
            # The reader went away (``| head``) or the stream was closed: stop writing,
            # keep counting, say so once. The runtime itself carries on.
            self._closed = True
            with self._drop_lock:
                self.dropped += events
            _warn(
                f"bussdcc: {self.name}: output closed ({type(exc).__name__}); "
                "console output stopped, the runtime continues"
            )
        except OSError as exc:
            with self._drop_lock:
                self.dropped += events
            if not self._write_failed:
                self._write_failed = True
                _warn(f"bussdcc: {self.name}: write failed: {exc}; dropped events are counted")


def _default_drop_notice(lost: int, capacity: int) -> bytes:
    now = datetime.now(UTC).isoformat()
    return (f"!! {now} console dropped {lost} events: output too slow (buffer {capacity} events)\n").encode()


def _warn(line: str) -> None:
    try:
        report(line)
    except Exception:
        pass
