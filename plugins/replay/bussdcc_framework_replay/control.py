"""``ReplayController``: pause, resume, step, seek, speed and loop for one ``ReplayRuntime``.

Any thread may give commands; they only record what is wanted and wake the replay thread,
which applies them between two events (``ReplayRuntime`` calls ``checkpoint`` whenever
``pending`` is set). So the replay loop pays one attribute test per event for all of this, and
every decision about what is emitted next is taken on the replay thread, in order: that is
what makes seeking deterministic.

What a command means:

* ``pause`` stops before the next event; ``resume`` plays on, paced from where it stands.
* ``step(n)`` pauses and emits the next ``n`` events at once (``until="Type"``: up to and
  including the next event of that type); events processes emit in reaction are not counted.
* ``seek(t)`` stands at recorded time ``t``: every event before ``t`` played, none after. The
  events in between are played at full speed to processes (and the state) but not to sinks,
  and the web interface shows only the result. A backward seek first resets what the replay
  derived: the processes are stopped and started again, the state is put back as it was right
  after boot, and the recording is read again from its first event.
* ``set_speed``: ``MIN_SPEED``..``MAX_SPEED`` times the recorded pace, 0 as fast as possible.
* ``set_loop``: after the last event start again from the first (the same reset).

``wait()`` returns when every command given so far is applied.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bussdcc_framework.replay_control import MAX_SPEED, MIN_SPEED, ReplayNotice

from .filters import TypeFilter

if TYPE_CHECKING:
    from .timeline import Timeline

Listener = Callable[[ReplayNotice], None]

#: What ``decide`` tells the replay loop (see there).
GO, NOW, HALT, REWIND, SEEK_BEGIN, SEEK_END, END = range(7)

#: The largest ``step(count)``.
MAX_STEP = 1_000_000


class ControlError(ValueError):
    """A command that cannot be applied; the message says why and what to do (one line)."""


def check_speed(speed: Any) -> float:
    """A speed for ``set_speed``: 0 (as fast as possible) or ``MIN_SPEED``..``MAX_SPEED``."""
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or math.isnan(speed):
        raise ControlError(f"speed must be a number, not {speed!r}")
    if speed != 0 and not MIN_SPEED <= speed <= MAX_SPEED:
        raise ControlError(f"speed must be from {MIN_SPEED:g} to {MAX_SPEED:g}, or 0 for as fast as possible")
    return float(speed)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


class ReplayController:
    """Commands for one replay, applied by its replay thread (see the module docstring).

    It implements ``bussdcc_framework.replay_control.ReplayControllerProtocol``; a
    ``ReplayRuntime`` exposes it as ``runtime.replay_controller``.
    """

    def __init__(self, speed: float, position: Callable[[], datetime | None]) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._position = position
        #: Set while anything is asked of the replay thread: the loop's one test per event.
        self.pending = False
        #: Set by every command: wakes the replay thread out of a pacing wait.
        self.wake = threading.Event()
        # What is wanted (under the lock).
        self._paused = False
        self._speed = float(speed)
        self._loop = False
        self._repace = False
        self._step_left = 0
        self._step_until: TypeFilter | None = None
        self._seek_to: datetime | None = None
        self._halt = False
        self._restart = False
        self._given = 0
        self._done = 0
        # What the replay thread reports.
        self.running = False
        #: A replay began and boots (``begin``): its thread will drive and apply commands.
        self.starting = False
        self.rewindable = True
        self.seeking_to: datetime | None = None
        self.finished = False
        self.events = 0
        self.epoch = 0
        self.start: datetime | None = None
        self.end: datetime | None = None
        self.run: dict[str, Any] | None = None
        self.timeline_source: Timeline | None = None
        self._listeners: tuple[Listener, ...] = ()
        #: (speed, wall-clock anchor, replay time at the anchor): how ``GO`` events are paced.
        self.pace: tuple[float, float, datetime | None] = (self._speed, time.perf_counter(), None)

    # -- commands (any thread) -------------------------------------------------------------

    def begin(self) -> None:
        """A replay starts: a stop asked for before (the last replay's) is forgotten.

        Called before the runtime boots, so a stop asked for while it boots is kept.
        """
        with self._cond:
            self._halt = False
            self.starting = True
            self._update()

    def speed_at_start(self, speed: float) -> None:
        """The speed a replay starts with (any speed >= 0; ``set_speed`` checks its range)."""
        with self._cond:
            self._speed = float(speed)
            self.pace = (self._speed, time.perf_counter(), None)
            self._paused = False
            self.finished = False
            self.seeking_to = None
            self._seek_to = None
            self._step_left, self._step_until = 0, None
            self._repace = False
            self._restart = False
            self._update()

    def pause(self) -> None:
        """Stop before the next event."""
        with self._cond:
            self._paused = True
            self._command()

    def resume(self) -> None:
        """Play on from the current position (after the last event: from the first again)."""
        with self._cond:
            self._paused = False
            self._step_left = 0
            self._step_until = None
            self._repace = True
            if self.finished:
                self._restart = True
            self._command()

    def toggle(self) -> None:
        """Pause when playing, resume when paused (the space key)."""
        with self._cond:
            if self._paused:
                self.resume()
            else:
                self.pause()

    def step(self, count: int = 1, *, until: str | None = None) -> None:
        """Pause, then emit the next ``count`` events, or up to the next one of type ``until``."""
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_STEP:
            raise ControlError(f"step count must be a whole number from 1 to {MAX_STEP}, not {count!r}")
        flt: TypeFilter | None = None
        if until is not None:
            flt = TypeFilter([until])
            if not flt:
                raise ControlError(f"step until needs a type pattern, not {until!r}")
        with self._cond:
            self._paused = True
            if flt is not None:
                self._step_until, self._step_left = flt, 0
            else:
                self._step_until, self._step_left = None, count
            self._command()

    def seek(self, to: datetime) -> None:
        """Stand at recorded time ``to`` (naive: UTC); clamped to the recording's start."""
        if not isinstance(to, datetime):
            raise ControlError(f"seek needs a datetime, not {type(to).__name__}")
        target = to.replace(tzinfo=UTC) if to.tzinfo is None else to
        with self._cond:
            here = self._position()
            if not self.rewindable and here is not None and target < here:
                raise ControlError(
                    "this replay cannot seek backwards: its state store cannot be put back "
                    "(use the runtime's default NotifyingStateStore)"
                )
            self._seek_to = target
            self._step_left = 0
            self._step_until = None
            self._command()

    def set_speed(self, speed: float) -> None:
        """Change the pace from here on (0: as fast as possible)."""
        value = check_speed(speed)
        with self._cond:
            self._speed = value
            self._repace = True
            self._command()

    def faster(self) -> None:
        """The next speed up in 1-2-5 steps (the ``+`` key); from max nothing changes."""
        with self._cond:
            current = self._speed
            if current == 0:
                return
            ladder = _LADDER
            nxt = next((s for s in ladder if s > current * 1.0001), 0.0)
            self.set_speed(nxt)

    def slower(self) -> None:
        """The next speed down in 1-2-5 steps (the ``-`` key); from max, 100x."""
        with self._cond:
            current = self._speed
            ladder = _LADDER
            if current == 0:
                self.set_speed(ladder[-1])
                return
            lower = [s for s in ladder if s < current * 0.9999]
            self.set_speed(lower[-1] if lower else ladder[0])

    def set_loop(self, loop: bool) -> None:
        """Start again from the first event after the last one."""
        with self._cond:
            if loop and not self.rewindable:
                raise ControlError(
                    "this replay cannot loop: its state store cannot be put back "
                    "(use the runtime's default NotifyingStateStore)"
                )
            self._loop = bool(loop)
            self._command()

    def halt(self) -> None:
        """End the replay (``ReplayRuntime.stop_replay`` calls this)."""
        with self._cond:
            self._halt = True
            self._command()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every command given so far is applied; False on timeout."""
        with self._cond:
            wanted = self._given
            # While the replay boots (its web server already answers) a command waits for the
            # replay thread; before a replay began or after it ended nothing will apply it.
            return self._cond.wait_for(lambda: self._done >= wanted or not self._driven(), timeout)

    # -- reading (any thread) --------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """Whether the replay stands (or will stand before the next event)."""
        return self._paused

    @property
    def speed(self) -> float:
        """The speed asked for (0: as fast as possible)."""
        return self._speed

    @property
    def loop(self) -> bool:
        """Whether the replay starts again after its last event."""
        return self._loop

    @property
    def stepping(self) -> bool:
        """Whether a step is being emitted."""
        return bool(self._step_left or self._step_until is not None)

    def status(self) -> dict[str, Any]:
        """The position and settings, JSON-ready (see ``bussdcc_framework.replay_control``)."""
        with self._cond:
            position = self.seeking_to or self._seek_to or self._position()
            start, end = self.start, self.end
            timeline = self.timeline_source
            if timeline is not None:
                start = start or timeline.start
                end = timeline.end or end
            return {
                "replaying": True,
                "position": _iso(position),
                "position_ts": _ts(position),
                "start": _iso(start),
                "start_ts": _ts(start),
                "end": _iso(end),
                "end_ts": _ts(end),
                "speed": self._speed,
                "max": self._speed == 0,
                "paused": self._paused,
                "seeking": self.seeking_to is not None or self._seek_to is not None,
                "stepping": self.stepping,
                "finished": self.finished,
                "loop": self._loop,
                "events": self.events,
                "epoch": self.epoch,
                "run": self.run,
                "marks": len(timeline.marks) if timeline is not None else 0,
                "timeline_complete": timeline.complete if timeline is not None else False,
            }

    def timeline(self) -> dict[str, Any]:
        """Start, end and the warning/error marks of the recording (as far as known)."""
        source = self.timeline_source
        if source is None:
            return {
                "start": _iso(self.start),
                "start_ts": _ts(self.start),
                "end": _iso(self.end),
                "end_ts": _ts(self.end),
                "complete": False,
                "marks": [],
                "marks_dropped": 0,
            }
        return source.as_dict(self.start, self.end)

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(notice)`` on the replay thread; returns a function removing it."""
        with self._cond:
            self._listeners = (*self._listeners, listener)

        def remove() -> None:
            with self._cond:
                self._listeners = tuple(x for x in self._listeners if x is not listener)

        return remove

    # -- the replay thread -----------------------------------------------------------------

    def decide(self, t: datetime, cls: type) -> tuple[int, datetime | None]:
        """What to do with the next event (time ``t``, class ``cls``); may block while paused.

        Returns ``(GO, None)``: emit it, paced by ``pace``; ``(NOW, None)``: emit it at once
        (a step, or a seek passing through); ``(HALT, None)``; ``(REWIND, target)``: read the
        recording again from its first event and fast-forward to ``target``;
        ``(SEEK_BEGIN, target)`` / ``(SEEK_END, target)``: a seek starts or reached its
        target (the caller mutes or unmutes, then asks again).
        """
        with self._cond:
            self.wake.clear()
            while True:
                if self._halt:
                    return HALT, None
                if self._seek_to is not None:
                    target, self._seek_to = self._seek_to, None
                    if self.start is not None and target < self.start:
                        target = self.start
                    here = self._position()
                    self.seeking_to = target
                    self._update()
                    if here is not None and target < here:
                        return REWIND, target
                    return SEEK_BEGIN, target
                if self.seeking_to is not None:
                    if t < self.seeking_to:
                        return NOW, None
                    target, self.seeking_to = self.seeking_to, None
                    self._repace = True
                    self._update()
                    return SEEK_END, target
                if self._repace:
                    self._repace = False
                    self._update()
                    self.pace = (self._speed, time.perf_counter(), self._position() or t)
                if self._step_until is not None:
                    if self._step_until(cls):
                        self._step_until = None
                        self._update()
                    return NOW, None
                if self._step_left:
                    self._step_left -= 1
                    self._update()
                    return NOW, None
                if self._paused:
                    self._settle_locked()
                    self._cond.wait()
                    self.wake.clear()
                    continue
                self._settle_locked()
                return GO, None

    def at_end(self, hold: bool) -> tuple[int, datetime | None]:
        """After the last event: ``(END, None)``, ``(HALT, None)`` or ``(REWIND, target)``.

        With ``hold`` it waits for a command: a backward seek, a loop or ``resume`` read the
        recording again (``target`` None: play from the first event); steps have nothing to
        emit, forward seeks nowhere to go.
        """
        with self._cond:
            self.finished = True
            while True:
                self.wake.clear()
                if self._halt:
                    return HALT, None
                if self._seek_to is not None:
                    target, self._seek_to = self._seek_to, None
                    if self.start is not None and target < self.start:
                        target = self.start
                    here = self._position()
                    if here is not None and target < here:
                        self.seeking_to = target
                        self._update()
                        return REWIND, target
                if self._loop or self._restart:
                    self._restart = False
                    self._repace = True
                    self._update()
                    return REWIND, None
                self._step_left, self._step_until = 0, None
                self._repace = False
                self._update()
                self._settle_locked()
                if not hold:
                    return END, None
                self._cond.wait()

    def restarted(self) -> None:
        """The replay reads its recording again from the first event (a seek back, a loop)."""
        with self._cond:
            self.finished = False
            self.epoch += 1

    def seek_done(self) -> None:
        """A seek reached its target: pages showing the replay fetch what they show again."""
        with self._cond:
            self.epoch += 1
            self._settle_locked()

    def notify(self, notice: ReplayNotice) -> None:
        """Tell every listener (on the replay thread, outside the lock); one failing is ignored."""
        for listener in self._listeners:
            try:
                listener(notice)
            except Exception:  # a display's bug must not stop the replay
                continue

    def settle(self) -> None:
        """Everything given so far counts as applied (nothing of it is still in progress)."""
        with self._cond:
            self._settle_locked()

    def _settle_locked(self) -> None:
        if self._done != self._given and not self._in_progress():
            self._done = self._given
            self._cond.notify_all()

    def set_running(self, running: bool) -> None:
        """The replay thread starts or stops driving; once it stopped, commands no longer wait."""
        with self._cond:
            self.running = running
            self.starting = False
            self._update()
            self._cond.notify_all()

    def _driven(self) -> bool:
        # Under the lock: a replay thread drives, or is about to once the runtime booted.
        return self.running or self.starting

    def _in_progress(self) -> bool:
        return self._seek_to is not None or self.seeking_to is not None or self.stepping

    def _command(self) -> None:
        # Under the lock.
        self._given += 1
        self._update()
        self.wake.set()
        self._cond.notify_all()
        if not self._driven():
            self._done = self._given

    def _update(self) -> None:
        self.pending = bool(
            self._halt
            or self._paused
            or self._repace
            or self._step_left
            or self._step_until is not None
            or self._seek_to is not None
            or self.seeking_to is not None
        )


#: The speeds ``+`` and ``-`` go through.
_LADDER = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
