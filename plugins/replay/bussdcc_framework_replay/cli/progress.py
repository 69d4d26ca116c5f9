"""The progress bar of ``bussdcc replay``: bytes of the logs read, events, recorded time.

Drawn on stderr with ``click.progressbar``, only when both stdout and stderr are terminals
(or ``--progress``); piped or redirected output stays clean.
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Self

import click

from ..clock import replay_time
from ..runtime import ReplayRuntime
from .common import MergedSource
from .format import count


def wanted(flag: bool | None) -> bool:
    """``--progress``/``--no-progress`` if given, else whether we are on a terminal."""
    if flag is not None:
        return flag
    return sys.stdout.isatty() and sys.stderr.isatty()


class Progress(AbstractContextManager["Progress"]):
    """Polled from the main thread while the replay runs on another one."""

    def __init__(self, source: MergedSource, runtime: ReplayRuntime, enabled: bool) -> None:
        self.source = source
        self.runtime = runtime
        self.enabled = enabled
        self._bar: Any = None
        self._done = 0

    def __enter__(self) -> Self:
        if self.enabled:
            self._bar = click.progressbar(
                length=1,
                label="replaying",
                file=sys.stderr,
                show_eta=True,
                item_show_func=lambda item: item,
            )
            self._bar.__enter__()
        return self

    def update(self) -> None:
        """Redraw with the current figures (cheap; call a few times a second)."""
        if self._bar is None:
            return
        done, total = self.source.progress()
        self._bar.length = max(total, 1)
        stats = self.runtime.stats
        clock_now = replay_time(self.runtime.clock)
        shown = f"{count(stats.replayed)} events"
        if clock_now is not None:
            shown += f"  {clock_now:%Y-%m-%d %H:%M:%S}"
        step = max(0, min(done, total) - self._done)
        self._done += step
        self._bar.update(step, shown)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)
