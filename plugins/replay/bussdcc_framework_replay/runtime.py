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

import copy
import heapq
import math
import threading
import time
import traceback
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
from .control import END, GO, HALT, REWIND, SEEK_BEGIN, SEEK_END, ReplayController
from .lifecycle import LIFECYCLE_TYPES
from .timeline import Timeline, survey

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
        self._replaying = threading.Lock()
        self.controller = ReplayController(speed, lambda: replay_time(self._replay_clock))
        self._reopen: Callable[[], Iterator[Event[Message]]] = iter  # type: ignore[assignment]
        self._origin: datetime | None = None
        self._boot_state: dict[str, Any] | None = None
        self._muted: tuple[Any, Any] | None = None
        self._count = 0
        self._emitted = 0
        self._held_once = False
        self._held_after = 0.0
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
        paused: bool = False,
    ) -> ReplayStats:
        """Boot, emit every recorded event in time order, shut down; return what was done.

        ``source`` defaults to the added sources. The replay clock starts at ``start_at``
        (default: the first event's time), so the runtime's own lifecycle events carry
        recorded time. Recorded lifecycle events (``skip_types``) are not re-emitted, nor
        a recorded ``ProcessError`` of a process this runtime runs: the process sees the same
        event again and reports its own error, so the recorded one would be a duplicate.
        With ``hold=True`` the runtime stays booted after the last event (the web interface
        keeps serving the replayed state, and ``replay_controller`` can seek back) until
        ``stop_replay()``. ``paused=True`` boots and stands before the first event.

        While it runs, ``replay_controller`` pauses, steps, seeks and changes the speed.
        """
        pace = self.speed if speed is None else speed
        _check_speed(pace)
        if source is not None:
            reopen: Callable[[], Iterator[Event[Message]]] = source.__iter__
        elif len(self._sources) == 1:
            reopen = self._sources[0].__iter__
        elif self._sources:
            sources = list(self._sources)
            reopen = lambda: heapq.merge(*sources, key=attrgetter("time"))  # noqa: E731
        else:
            raise RuntimeError("ReplayRuntime.replay() needs a source, or add_source() first")
        if not self._replaying.acquire(blocking=False):
            raise RuntimeError("this ReplayRuntime is already replaying")
        try:
            return self._replay(reopen, pace, start_at, hold, paused, source)
        finally:
            self._replaying.release()

    def stop_replay(self) -> None:
        """Stop a replay in progress from any thread; it shuts the runtime down and returns."""
        self._stop_replay.set()
        self.controller.halt()

    @property
    def replay_controller(self) -> ReplayController:
        """Pause, resume, step, seek, speed and loop (``bussdcc_framework.replay_control``)."""
        return self.controller

    def _replay(
        self,
        reopen: Callable[[], Iterator[Event[Message]]],
        speed: float,
        start_at: datetime | None,
        hold: bool,
        paused: bool,
        source: EventSourceProtocol | None,
    ) -> ReplayStats:
        if self.booted:
            raise RuntimeError("ReplayRuntime boots itself when the replay starts; do not call boot() first")
        stats = self.stats = ReplayStats()
        ctl = self.controller
        self._stop_replay.clear()
        ctl.begin()
        self._reopen = reopen
        wall_start = time.perf_counter()
        events = reopen()
        timeline: Timeline | None = None
        self._count = self._emitted = 0
        self._held_once = False
        self._wall_start = wall_start
        try:
            first = next(events, None)
            if first is None:
                return stats
            origin = start_at if start_at is not None else first.time
            ctl.start = origin
            ctl.speed_at_start(speed)
            if paused:
                ctl.pause()
            self._start_clock(origin)
            self.boot()
            self._origin = origin
            self._boot_state = self._capture_state()
            ctl.rewindable = self._boot_state is not None
            timeline = survey(source if source is not None else self._sources)
            ctl.timeline_source = timeline
            ctl.set_running(True)
            self._play(events, first, stats, hold)
        finally:
            ctl.set_running(False)
            if timeline is not None:
                timeline.stop()
            self._unmute()
            close = getattr(events, "close", None)
            if close is not None:
                close()
            stats.cancelled = self._stop_replay.is_set() and not stats.held
            try:
                self.shutdown("replay complete" if not stats.cancelled else "replay stopped")
            finally:
                self._replay_clock.stop()
                # A held replay's figure is up to its last event, not the time it was held.
                stats.wall_seconds = self._held_after if stats.held else time.perf_counter() - wall_start
        return stats

    def _play(
        self,
        events: Iterator[Event[Message]],
        first: Event[Message] | None,
        stats: ReplayStats,
        hold: bool,
    ) -> None:
        """Emit passes over the recording until it ends, the replay stops or nothing is held."""
        ctl = self.controller
        while True:
            outcome, target = self._emit_pass(chain((first,), events) if first is not None else events, stats)
            first = None
            if outcome == HALT:
                return
            if outcome == END:
                if ctl.seeking_to is not None:  # sought past the last event: stand at the end
                    ctl.seeking_to = None
                    self._seek_end(None)
                ctl.events = self._count
                if not self._held_once and hold:
                    self._held_once = True
                    stats.held = True
                    self._held_after = time.perf_counter() - self._wall_start
                    if self.on_hold is not None:
                        self.on_hold()
                ctl.notify("changed")
                outcome, target = ctl.at_end(hold)
                if outcome != REWIND:
                    return
            close = getattr(events, "close", None)
            if close is not None:
                close()
            events = self._rewind(target)

    def _emit_pass(self, events: Iterator[Event[Message]], stats: ReplayStats) -> tuple[int, datetime | None]:
        """Emit events until the pass ends (``END``) or the controller says ``HALT``/``REWIND``.

        The hot loop: without commands, one attribute test per event on top of emitting it.
        """
        ctl = self.controller
        advance = self._replay_clock.advance_to
        emit = self.events.emit
        skip = self.skip_types
        special = skip | {ProcessError}
        own_processes = {p.name for p in self.processes.list()}
        own_processes.update(i.name for i in self.interfaces.list())
        wake = ctl.wake
        max_wait = self.max_wait
        skipped: Counter[type] = Counter()
        count = self._count
        base = self._emitted - count
        last: datetime | None = stats.last
        clock = time.perf_counter
        speed, anchor, origin = ctl.pace
        if origin is None:  # the first pass: paced from its first event, from now on
            anchor, origin = clock(), replay_time(self._replay_clock)
            ctl.pace = (speed, anchor, origin)
        try:
            for evt in events:
                cls = type(evt.payload)
                if cls in special and (
                    cls in skip or evt.payload.process in own_processes  # type: ignore[attr-defined]
                ):
                    skipped[cls] += 1
                    continue
                t = evt.time
                action = GO
                if ctl.pending:
                    self._count = count
                    ctl.events = count
                    action = self._checkpoint(t, cls)
                    if action in (HALT, REWIND):
                        return action, ctl.seeking_to
                    speed, anchor, origin = ctl.pace
                if action == GO and speed > 0 and origin is not None:
                    delay = anchor + (t - origin).total_seconds() / speed - clock()
                    if delay > max_wait or delay < -max_wait:
                        # A gap too long to wait for, time gone back, or far behind: pace from here.
                        if last is not None:
                            self._jumped(stats, (t - last).total_seconds(), t, speed)
                        anchor, origin, delay = clock(), t, 0.0
                        ctl.pace = (speed, anchor, origin)
                    if delay > _MIN_SLEEP and wake.wait(delay):
                        # A command (or a stop) came while waiting for this event.
                        self._count = count
                        ctl.events = count
                        action = self._interrupted(t, cls)
                        if action in (HALT, REWIND):
                            return action, ctl.seeking_to
                        speed, anchor, origin = ctl.pace
                    ctl.events = count + 1  # paced: the line on a terminal counts every event
                advance(t)
                emit(evt)
                count += 1
                if last is None:
                    stats.first = t
                last = t
                if not count & 0xFF:
                    stats.replayed = base + count
                    ctl.events = count
            return END, None
        finally:
            self._count = count
            self._emitted = base + count
            ctl.events = count
            stats.replayed = base + count
            stats.last = last
            for kind, n in skipped.items():
                stats.lifecycle_skipped[type_name(kind)] += n

    def _checkpoint(self, t: datetime, cls: type) -> int:
        """Ask the controller about the next event; carry out seeks until it says GO/NOW/stop."""
        ctl = self.controller
        while True:
            action, target = ctl.decide(t, cls)
            if action == SEEK_BEGIN:
                self._seek_begin()
                continue
            if action == SEEK_END:
                self._seek_end(target)
                continue
            if action == REWIND and self._halting():
                return HALT
            return action

    def _interrupted(self, t: datetime, cls: type) -> int:
        """A pacing wait was cut short: apply the commands, then wait out what is left."""
        ctl = self.controller
        while True:
            action = self._checkpoint(t, cls)
            if action != GO:
                return action
            speed, anchor, origin = ctl.pace
            if speed <= 0 or origin is None:
                return GO
            delay = anchor + (t - origin).total_seconds() / speed - time.perf_counter()
            if delay > self.max_wait:  # the new pace would wait too long: pace from here
                ctl.pace = (speed, time.perf_counter(), t)
                return GO
            if delay <= _MIN_SLEEP or not ctl.wake.wait(delay):
                return GO

    def _halting(self) -> bool:
        return self._stop_replay.is_set()

    # -- seeking -------------------------------------------------------------------------

    def _seek_begin(self) -> None:
        """Events until the target play to processes only: sinks and ``on_event`` are muted."""
        if not self._muted:
            self._mute()
            self.controller.notify("seek_start")

    def _seek_end(self, target: datetime | None) -> None:
        """The seek reached ``target`` (None: the end): stand there, unmute, tell the pages."""
        ctl = self.controller
        if target is not None:
            now = replay_time(self._replay_clock)
            if now is None or target > now:
                self._replay_clock.advance_to(target)
        self._unmute()
        ctl.seek_done()
        ctl.notify("seek_end")
        ctl.notify("changed")

    def _rewind(self, target: datetime | None) -> Iterator[Event[Message]]:
        """Start the recording again: processes restarted, state as after boot, clock back.

        ``target``: a backward seek continues quietly up to it; None (a loop, a restart)
        plays from the first event.
        """
        ctl = self.controller
        if target is not None:
            self._seek_begin()
        ctl.restarted()
        ctl.notify("reset")
        for process in self.processes.snapshot:
            try:
                process.stop(self.ctx)
                process.start(self.ctx)
            except Exception as exc:
                self.ctx.emit(
                    ProcessError(
                        process=process.name,
                        error=f"restart for a replay seek failed: {exc!r}",
                        traceback=traceback.format_exc(),
                    )
                )
        if self._boot_state is not None:
            restore = getattr(self.state, "restore", None)
            if callable(restore):
                restore(_copied(self._boot_state))
        assert self._origin is not None
        self._replay_clock.advance_to(self._origin)
        self._count = 0
        if target is None:
            ctl.notify("changed")
        return self._reopen()

    def _capture_state(self) -> dict[str, Any] | None:
        """A copy of the state right after boot, for rewinding; None if the store cannot."""
        snapshot = getattr(self.state, "snapshot", None)
        if not callable(snapshot) or not callable(getattr(self.state, "restore", None)):
            return None
        tree = snapshot()
        return _copied(tree) if isinstance(tree, dict) else None

    def _mute(self) -> None:
        # Sinks and on_event hooks saw these events already (or will not show them): the
        # framework runtime's pipeline is swapped out while a seek plays through, and back.
        if not self._muted:
            self._muted = (self._active_sinks, self._event_observers)
            self._active_sinks = ()
            self._event_observers = ()

    def _unmute(self) -> None:
        muted, self._muted = self._muted, None
        if muted:
            self._active_sinks, self._event_observers = muted

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
        self._stop_replay.set()
        self.controller.halt()
        self._unmute()
        super().shutdown(reason)


def _copied(tree: dict[str, Any]) -> dict[str, Any]:
    """A deep copy when the values allow it (so a process mutating one cannot change it)."""
    try:
        return copy.deepcopy(tree)
    except Exception:
        return dict(tree)


def _check_speed(speed: float) -> None:
    if not isinstance(speed, (int, float)) or math.isnan(speed) or speed < 0:
        raise ValueError(f"speed must be a number >= 0 (0: as fast as possible), not {speed!r}")
