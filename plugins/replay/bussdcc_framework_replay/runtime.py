"""``ReplayRuntime``: a framework ``Runtime`` driven by recorded events on a replay clock.

It is a full framework runtime (sinks, plugins, processes, services), so a replay can be
observed by the console and web plugins and re-recorded by a ``JsonlSink``. Its clock is a
``ReplayClock`` that shows recorded time: ``ctx.clock.now_utc()`` is the time of the event
being replayed, and services sleep in replay time.

Two ways to drive it, as in the original framework and in the kernel::

    rt = ReplayRuntime(speed=1.0)
    rt.add_source(JsonlSource("./events"))
    rt.run()                                  # returns when the sources are exhausted

    ReplayRuntime().replay(JsonlSource("./events"), speed=0)

``speed`` 1.0 is the recorded pace, N is N times faster, 0 is as fast as possible. Pacing is
anchored to the wall clock at the start, so it does not drift over long replays. No wait is
longer than ``max_wait`` seconds (``replay.max_wait``): a longer gap in recorded time (between
two runs, or a corrupt time centuries away) is jumped over, counted in ``stats.jumps``, and
pacing starts again from the event after it. So does pacing after recorded time went back.

A replay does not invent live data: ``add_plugins`` (and so ``from_plugins``) composes the
plugins without their services, which produce live data (the identity plugin would announce
the replaying machine on top of the recorded one). Their sinks, processes, interfaces (the
web UI) and ``on_event`` hooks are added. Services added explicitly still run, on the replay
clock.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Self

from bussdcc.clock import ReplayClock as KernelReplayClock
from bussdcc.event import Event, EventBusProtocol
from bussdcc.io import EventSourceProtocol
from bussdcc.message import Message, ProcessError
from bussdcc.state import StateStoreProtocol

from bussdcc_framework.codec import type_name
from bussdcc_framework.runtime import Runtime

from .clock import ReplayClock, replay_time
from .config import DEFAULT_MAX_WAIT
from .lifecycle import LIFECYCLE_TYPES

if TYPE_CHECKING:
    from bussdcc_framework.plugins import FrameworkPluginManager
    from bussdcc_framework.settings import Settings

#: Waits shorter than this are not worth a sleep; they are made up on a later event.
_MIN_SLEEP = 0.002


@dataclass
class ReplayStats:
    """What one replay did."""

    replayed: int = 0
    """Events emitted into the runtime."""
    lifecycle_skipped: Counter[str] = field(default_factory=Counter)
    """Recorded lifecycle events (and errors of processes run again) not re-emitted, by type."""
    first: datetime | None = None
    last: datetime | None = None
    wall_seconds: float = 0.0
    cancelled: bool = False
    """True when the replay was stopped before the sources were exhausted."""
    held: bool = False
    """True when the runtime stayed up after the last event (``hold=True``)."""
    jumps: int = 0
    """Gaps in recorded time longer than ``max_wait`` (at the replay's speed) not waited for."""
    largest_jump: float = 0.0
    """The longest of them, in recorded seconds."""
    jump_to: datetime | None = None
    """The time of the event after the longest jump."""
    backwards: int = 0
    """Times recorded time went back by more than ``max_wait`` (pacing restarted there)."""

    @property
    def events_per_second(self) -> float:
        """Replayed events per wall-clock second."""
        return self.replayed / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        from bussdcc_framework.codec import format_time

        return {
            "replayed": self.replayed,
            "lifecycle_skipped": dict(self.lifecycle_skipped),
            "first": format_time(self.first) if self.first else None,
            "last": format_time(self.last) if self.last else None,
            "wall_seconds": self.wall_seconds,
            "cancelled": self.cancelled,
            "jumps": self.jumps,
            "largest_jump_seconds": self.largest_jump,
            "jump_to": format_time(self.jump_to) if self.jump_to else None,
            "backwards": self.backwards,
        }


class ReplayRuntime(Runtime):
    """A framework runtime that replays recorded events (see the module docstring)."""

    replaying = True
    """Always True: what ``bussdcc_framework.runtime.is_replaying(ctx)`` reports."""

    def __init__(
        self,
        speed: float = 1.0,
        *,
        clock: KernelReplayClock | None = None,
        events: EventBusProtocol | None = None,
        state: StateStoreProtocol | None = None,
        skip_types: Iterable[type[Message]] = LIFECYCLE_TYPES,
        max_wait: float = DEFAULT_MAX_WAIT,
    ) -> None:
        replay_clock = clock if clock is not None else ReplayClock()
        if not isinstance(replay_clock, KernelReplayClock):
            raise TypeError(f"ReplayRuntime needs a bussdcc ReplayClock, not {type(replay_clock).__name__}")
        _check_speed(speed)
        if not (isinstance(max_wait, (int, float)) and max_wait > 0 and math.isfinite(max_wait)):
            raise ValueError(f"max_wait must be a number of seconds > 0, not {max_wait!r}")
        super().__init__(clock=replay_clock, events=events, state=state)
        self.max_wait = float(max_wait)
        self._replay_clock = replay_clock
        self.speed = speed
        self.skip_types: frozenset[type[Message]] = frozenset(skip_types)
        self.stats = ReplayStats()
        self._sources: list[EventSourceProtocol] = []
        self._stop_replay = threading.Event()
        self._halt = False
        self._replaying = threading.Lock()
        #: Called (on the replay thread) when a ``hold=True`` replay has emitted its last event.
        self.on_hold: Callable[[], None] | None = None

    def add_plugins(
        self,
        settings: Settings | None = None,
        plugins: FrameworkPluginManager | None = None,
        *,
        services: bool = False,
    ) -> Self:
        """``Runtime.add_plugins`` without the plugins' services by default (no live data)."""
        return super().add_plugins(settings=settings, plugins=plugins, services=services)

    # -- sources -------------------------------------------------------------------------

    def add_source(self, source: EventSourceProtocol) -> None:
        """Add a source for ``run()``; several sources are merged by event time."""
        self._sources.append(source)

    @property
    def sources(self) -> list[EventSourceProtocol]:
        """The sources added so far (a copy)."""
        return list(self._sources)

    # -- driving -------------------------------------------------------------------------

    def run(self) -> None:
        """Replay the added sources at ``self.speed``; return when they are exhausted."""
        if not self._sources:
            raise RuntimeError("ReplayRuntime.run() has no source: call add_source(JsonlSource(path)) first")
        self.replay()

    def replay(
        self,
        source: EventSourceProtocol | None = None,
        *,
        speed: float | None = None,
        start_at: datetime | None = None,
        hold: bool = False,
    ) -> ReplayStats:
        """Boot, emit every recorded event in time order, shut down; return what was done.

        ``source`` defaults to the added sources. The replay clock starts at ``start_at``
        (default: the first event's time), so the runtime's own lifecycle events carry
        recorded time. Recorded lifecycle events (``skip_types``) are not re-emitted, nor
        a recorded ``ProcessError`` of a process this runtime runs: the process sees the same
        event again and reports its own error, so the recorded one would be a duplicate.
        With ``hold=True`` the runtime stays booted after the last event (the web interface
        keeps serving the replayed state) until ``stop_replay()``.
        """
        pace = self.speed if speed is None else speed
        _check_speed(pace)
        if source is not None:
            events: Iterator[Event[Message]] = iter(source)
        elif len(self._sources) == 1:
            events = iter(self._sources[0])
        elif self._sources:
            events = heapq.merge(*self._sources, key=attrgetter("time"))
        else:
            raise RuntimeError("ReplayRuntime.replay() needs a source, or add_source() first")
        if not self._replaying.acquire(blocking=False):
            raise RuntimeError("this ReplayRuntime is already replaying")
        try:
            return self._replay(events, pace, start_at, hold)
        finally:
            self._replaying.release()

    def stop_replay(self) -> None:
        """Stop a replay in progress from any thread; it shuts the runtime down and returns."""
        self._halt = True
        self._stop_replay.set()

    def _replay(
        self,
        events: Iterator[Event[Message]],
        speed: float,
        start_at: datetime | None,
        hold: bool = False,
    ) -> ReplayStats:
        if self.booted:
            raise RuntimeError("ReplayRuntime boots itself when the replay starts; do not call boot() first")
        stats = self.stats = ReplayStats()
        self._stop_replay.clear()
        self._halt = False
        wall_start = time.perf_counter()
        try:
            first = next(events, None)
            if first is None:
                return stats
            origin = start_at if start_at is not None else first.time
            self._start_clock(origin)
            self.boot()
            self._emit_all(first, events, origin, speed, wall_start, stats)
            if hold and not self._stop_replay.is_set():
                stats.held = True
                stats.wall_seconds = time.perf_counter() - wall_start  # not the time held
                if self.on_hold is not None:
                    self.on_hold()
                self._stop_replay.wait()
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
            stats.cancelled = self._stop_replay.is_set() and not stats.held
            try:
                self.shutdown("replay complete" if not stats.cancelled else "replay stopped")
            finally:
                self._replay_clock.stop()
                if not stats.held:
                    stats.wall_seconds = time.perf_counter() - wall_start
        return stats

    def _start_clock(self, origin: datetime) -> None:
        clock = self._replay_clock
        if isinstance(clock, ReplayClock):
            clock.reset()
        clock.speed = 0.0  # pacing is done here, against the wall clock
        try:
            clock.start(origin)
        except RuntimeError:
            raise RuntimeError(
                "the bussdcc ReplayClock given to ReplayRuntime was already started (it can "
                "be started only once); let ReplayRuntime create its own clock to replay again"
            ) from None

    def _emit_all(
        self,
        first: Event[Message],
        events: Iterator[Event[Message]],
        origin: datetime,
        speed: float,
        wall_start: float,
        stats: ReplayStats,
    ) -> None:
        advance = self._replay_clock.advance_to
        emit = self.events.emit
        skip = self.skip_types
        special = skip | {ProcessError}
        own_processes = {p.name for p in self.processes.list()}
        own_processes.update(i.name for i in self.interfaces.list())
        stop = self._stop_replay
        max_wait = self.max_wait
        skipped: Counter[type] = Counter()
        count = 0
        last: datetime | None = None
        anchor = time.perf_counter()
        clock = time.perf_counter
        try:
            for evt in chain((first,), events):
                cls = type(evt.payload)
                if cls in special and (
                    cls in skip or evt.payload.process in own_processes  # type: ignore[attr-defined]
                ):
                    skipped[cls] += 1
                    continue
                if self._halt:
                    break
                t = evt.time
                if speed > 0:
                    delay = anchor + (t - origin).total_seconds() / speed - clock()
                    if delay > max_wait or delay < -max_wait:
                        # A gap too long to wait for, time gone back, or far behind: pace from here.
                        if last is not None:
                            self._jumped(stats, (t - last).total_seconds(), t, speed)
                        anchor, origin, delay = clock(), t, 0.0
                    if delay > _MIN_SLEEP and stop.wait(delay):
                        break
                advance(t)
                emit(evt)
                count += 1
                if last is None:
                    stats.first = t
                last = t
                if not count & 0xFF:
                    stats.replayed = count
        finally:
            stats.replayed = count
            stats.last = last
            for cls, n in skipped.items():
                stats.lifecycle_skipped[type_name(cls)] += n

    def _jumped(self, stats: ReplayStats, gap: float, to: datetime, speed: float) -> None:
        """Count a jump of ``gap`` recorded seconds (negative: backwards) landing at ``to``."""
        if gap / speed < -self.max_wait:
            stats.backwards += 1
            return
        if gap / speed <= self.max_wait:
            return  # not a jump: the replay fell behind the recorded pace
        stats.jumps += 1
        if gap > stats.largest_jump:
            stats.largest_jump = gap
            stats.jump_to = to

    def boot(self) -> None:
        """Boot; only valid once the replay clock runs, which ``replay()``/``run()`` arrange."""
        if replay_time(self._replay_clock) is None:
            raise RuntimeError(
                "ReplayRuntime boots itself when the replay starts: use run() after "
                "add_source(), or replay(source)"
            )
        super().boot()

    def shutdown(self, reason: str | None = None) -> None:
        """Shut down (idempotent); a replay in progress stops at the next event."""
        self._halt = True
        self._stop_replay.set()
        super().shutdown(reason)


def _check_speed(speed: float) -> None:
    if not isinstance(speed, (int, float)) or math.isnan(speed) or speed < 0:
        raise ValueError(f"speed must be a number >= 0 (0: as fast as possible), not {speed!r}")
