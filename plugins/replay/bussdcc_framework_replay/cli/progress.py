"""The progress line of ``bussdcc replay``: recorded time, position, speed, paused.

Drawn on stderr, redrawn in place, only when both stdout and stderr are terminals (or
``--progress``); piped or redirected output stays clean. The position is the share of the
logs' bytes read; after a seek back it counts again from the start, as the replay does.
"""

from __future__ import annotations

import shutil
import sys
import threading
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Self

from ..clock import replay_time
from ..runtime import ReplayRuntime
from .common import MergedSource
from .format import count

#: The keys ``bussdcc replay`` takes on a terminal, as the line shows them.
KEYS_HELP = "space pause/resume  s or → step  +/- speed  q quit"


def wanted(flag: bool | None) -> bool:
    """``--progress``/``--no-progress`` if given, else whether we are on a terminal."""
    if flag is not None:
        return flag
    return sys.stdout.isatty() and sys.stderr.isatty()


def speed_text(speed: float) -> str:
    """``10x``, ``0.5x``, ``max``."""
    return "max" if speed == 0 else f"{speed:g}x"


class Progress(AbstractContextManager["Progress"]):
    """Polled from the main thread while the replay runs on another one."""

    def __init__(
        self, source: MergedSource, runtime: ReplayRuntime, enabled: bool, *, keys: bool = False
    ) -> None:
        self.source = source
        self.runtime = runtime
        self.enabled = enabled
        self.keys = keys
        self._last = ""
        self._drawn = False
        self._lock = threading.Lock()  # the main thread and the keys' thread both redraw

    def __enter__(self) -> Self:
        if self.enabled and self.keys:
            sys.stderr.write(f"bussdcc replay: keys: {KEYS_HELP}\n")
            sys.stderr.flush()
        return self

    def line(self) -> str:
        """The current line (without terminal control characters)."""
        ctl = self.runtime.controller
        done, total = self.source.progress()
        now = replay_time(self.runtime.clock)
        if ctl.seeking_to is not None:
            state = "seeking"
        elif ctl.finished:
            state = "finished"
        elif ctl.paused:
            state = "paused"
        else:
            state = "replaying"
        parts = [f"{state:<9}"]
        if now is not None:
            parts.append(f"{now:%Y-%m-%d %H:%M:%S}")
        if total:
            parts.append(f"{min(100, done * 100 // total):>3}%")
        parts.append(f"event {count(ctl.events)}")
        parts.append(f"speed {speed_text(ctl.speed)}")
        if ctl.loop:
            parts.append("loop")
        return "  ".join(parts)

    def update(self) -> None:
        """Redraw with the current figures (cheap; call a few times a second)."""
        if not self.enabled:
            return
        with self._lock:
            self._draw()

    def _draw(self) -> None:
        text = self.line()
        width = shutil.get_terminal_size((100, 24)).columns
        if len(text) >= width:
            text = text[: max(10, width - 1)]
        if text == self._last:
            return
        self._last = text
        self._drawn = True
        sys.stderr.write("\r\x1b[K" + text)
        sys.stderr.flush()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._drawn:
            self._last = ""
            self.update()
            sys.stderr.write("\n")
            sys.stderr.flush()
