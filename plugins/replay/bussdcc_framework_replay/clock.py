"""The replay clock: the kernel's ``ReplayClock``, made cheap to advance and safe to stop.

Two changes to the kernel's clock, both about services that tick on replay time:

* ``advance_to`` wakes sleeping services only when replay time has reached the earliest time
  one of them waits for. The kernel's wakes every sleeper on every event, and at full speed
  that is a thread switch per replayed event.
* ``sleep`` also notices its ``cancel`` event while replay time stands still (it waits in short
  slices), so a service stops promptly at shutdown without stopping the clock first, which in
  the kernel makes every sleep return at once and services tick in a tight loop.

Pacing (``speed``) is done by ``ReplayRuntime`` against the wall clock, without drift, so this
clock never sleeps while holding its lock. ``reset()`` lets one runtime replay more than once;
the kernel's clock can be started only once.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime

from bussdcc.clock import ReplayClock as KernelReplayClock


class ReplayClock(KernelReplayClock):
    """A ``bussdcc.clock.ReplayClock`` for ``ReplayRuntime`` (see the module docstring)."""

    #: How often a sleeping service checks its cancel event while replay time stands still.
    poll_interval = 0.02

    def __init__(self, *, speed: float = 0.0) -> None:
        super().__init__(speed=speed)
        self._waiting: list[float] = []
        self._next_wake = math.inf

    def advance_to(self, new_time: datetime) -> None:
        """Move replay time to ``new_time`` (never backwards in monotonic time).

        Only the replay thread advances the clock, and assigning an attribute is atomic, so
        the lock is taken only to wake sleepers. A sleeper that registers while the time
        moves is woken by its poll interval at the latest.
        """
        now = self._now
        if now is None:
            with self._lock:
                self._now = new_time
            return
        delta = (new_time - now).total_seconds()
        if delta > 0 and self.speed > 0:
            # Only when used directly: ReplayRuntime paces itself and keeps speed at 0.
            time.sleep(delta / self.speed)
        self._now = new_time
        if delta > 0:
            monotonic = self._monotonic + delta
            self._monotonic = monotonic
            if monotonic >= self._next_wake:
                with self._lock:
                    self._lock.notify_all()

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        """Block until replay time has advanced by ``seconds``; True if ``cancel`` was set."""
        with self._lock:
            target = self._monotonic + seconds
            self._waiting.append(target)
            self._next_wake = min(self._next_wake, target)
            try:
                while self._running and self._monotonic < target:
                    if cancel is not None and cancel.is_set():
                        return True
                    self._lock.wait(self.poll_interval)
            finally:
                self._waiting.remove(target)
                self._next_wake = min(self._waiting, default=math.inf)
        return cancel is not None and cancel.is_set()

    def reset(self) -> None:
        """Forget the replay time so that ``start`` may be called again (the next replay)."""
        with self._lock:
            self._running = False
            self._now = None
            self._monotonic = 0.0
            self._lock.notify_all()

    @property
    def started(self) -> bool:
        """Whether the clock has a replay time (``start`` was called)."""
        return self._now is not None
