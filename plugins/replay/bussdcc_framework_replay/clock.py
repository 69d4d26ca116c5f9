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

from bussdcc.clock import ClockProtocol
from bussdcc.clock import ReplayClock as KernelReplayClock


class ReplayClock(KernelReplayClock):
    """A ``bussdcc.clock.ReplayClock`` for ``ReplayRuntime`` (see the module docstring).

    It keeps its own state and overrides every method, so it relies on none of the kernel
    clock's private attributes (they stay unused); it subclasses the kernel's clock only so
    that code checking ``isinstance(clock, bussdcc.clock.ReplayClock)`` accepts it.
    """

    #: How often a sleeping service checks its cancel event while replay time stands still.
    poll_interval = 0.02

    def __init__(self, *, speed: float = 0.0) -> None:
        super().__init__(speed=speed)
        self._cond = threading.Condition()
        self._time: datetime | None = None
        self._elapsed = 0.0
        self._active = False
        self._waiting: list[float] = []
        self._next_wake = math.inf

    def now_utc(self) -> datetime:
        """The replay time: the time of the event being replayed."""
        now = self._time
        if now is None:
            raise RuntimeError("the replay clock has not started; ReplayRuntime starts it when it replays")
        return now

    def monotonic(self) -> float:
        """Seconds of replay time since ``start`` (never goes backwards)."""
        return self._elapsed

    def uptime(self) -> float:
        """The same as ``monotonic``: replay time since ``start``."""
        return self._elapsed

    def start(self, start_time: datetime) -> None:
        """Start replay time at ``start_time``; once per ``reset``."""
        with self._cond:
            if self._time is not None:
                raise RuntimeError("ReplayClock already started")
            self._active = True
            self._time = start_time
            self._elapsed = 0.0
            self._cond.notify_all()

    def stop(self) -> None:
        """Wake every sleeper for good: sleeps return at once until the next ``start``."""
        with self._cond:
            self._active = False
            self._cond.notify_all()

    def advance_to(self, new_time: datetime) -> None:
        """Move replay time to ``new_time`` (never backwards in monotonic time).

        Only the replay thread advances the clock, and assigning an attribute is atomic, so
        the lock is taken only to wake sleepers. A sleeper that registers while the time
        moves is woken by its poll interval at the latest.
        """
        now = self._time
        if now is None:
            with self._cond:
                self._time = new_time
            return
        delta = (new_time - now).total_seconds()
        if delta > 0 and self.speed > 0:
            # Only when used directly: ReplayRuntime paces itself and keeps speed at 0.
            time.sleep(delta / self.speed)
        self._time = new_time
        if delta > 0:
            elapsed = self._elapsed + delta
            self._elapsed = elapsed
            if elapsed >= self._next_wake:
                with self._cond:
                    self._cond.notify_all()

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        """Block until replay time has advanced by ``seconds``; True if ``cancel`` was set."""
        with self._cond:
            target = self._elapsed + seconds
            self._waiting.append(target)
            self._next_wake = min(self._next_wake, target)
            try:
                while self._active and self._elapsed < target:
                    if cancel is not None and cancel.is_set():
                        return True
                    self._cond.wait(self.poll_interval)
            finally:
                self._waiting.remove(target)
                self._next_wake = min(self._waiting, default=math.inf)
        return cancel is not None and cancel.is_set()

    def reset(self) -> None:
        """Forget the replay time so that ``start`` may be called again (the next replay)."""
        with self._cond:
            self._active = False
            self._time = None
            self._elapsed = 0.0
            self._cond.notify_all()

    @property
    def started(self) -> bool:
        """Whether the clock has a replay time (``start`` was called)."""
        return self._time is not None

    @property
    def current_time(self) -> datetime | None:
        """The replay time, or None before ``start`` (``now_utc`` raises then)."""
        return self._time


def replay_time(clock: ClockProtocol) -> datetime | None:
    """The replay time of a replay clock (this one or the kernel's); None before it started.

    None too for a clock that does not replay (the system clock).
    """
    if isinstance(clock, ReplayClock):
        return clock.current_time
    if isinstance(clock, KernelReplayClock):
        from bussdcc_framework._kernel import replay_clock_time

        return replay_clock_time(clock)
    return None
