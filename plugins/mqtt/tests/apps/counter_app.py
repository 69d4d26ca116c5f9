"""A device for the mqtt tests: emits ``Tick(n)`` for n = START, START+1, ... up to COUNT events.

Environment: ``COUNTER_COUNT`` (events, default 100), ``COUNTER_START`` (first n, default 0),
``COUNTER_INTERVAL`` (seconds between events, default 0.01), ``COUNTER_MARKER`` (a file written
with the number emitted once all are emitted and the outbox holds them), ``COUNTER_BURST``
(events per tick, default 1), ``COUNTER_ALARM_EVERY`` (k: after every k-th Tick an ``Overheat``
warning, after every 2k-th also a ``SensorFault`` error). ``SetLevel`` is the command type the
tests send.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message, Severity
from bussdcc.service import Service

from bussdcc_framework import hookimpl
from bussdcc_framework.plugins import load_plugins, register_plugin
from bussdcc_framework.runtime import Runtime


@dataclass(slots=True, frozen=True)
class Tick(Message):
    """One numbered event."""

    n: int


@dataclass(slots=True, frozen=True)
class Overheat(Message):
    """A warning (every COUNTER_ALARM_EVERY ticks)."""

    severity = Severity.WARNING

    n: int


@dataclass(slots=True, frozen=True)
class SensorFault(Message):
    """An error (every 2 x COUNTER_ALARM_EVERY ticks)."""

    severity = Severity.ERROR

    n: int


@dataclass(slots=True, frozen=True)
class SetLevel(Message):
    """A command the tests send: set a level (0-100) with an optional note."""

    level: int
    note: str = ""


@dataclass(slots=True, frozen=True)
class LevelSet(Message):
    """The device's answer to SetLevel (so tests can see a command ran)."""

    level: int


class Counter(Service):
    name = "counter"

    def __init__(self) -> None:
        self.interval = float(os.environ.get("COUNTER_INTERVAL", "0.01"))
        self.count = int(os.environ.get("COUNTER_COUNT", "100"))
        self.n = int(os.environ.get("COUNTER_START", "0"))
        self.burst = int(os.environ.get("COUNTER_BURST", "1"))
        self.alarm_every = int(os.environ.get("COUNTER_ALARM_EVERY", "0"))
        self.end = self.n + self.count
        self.marker = os.environ.get("COUNTER_MARKER")
        self.done = False
        self.runtime: Runtime | None = None

    def tick(self, ctx: ContextProtocol) -> None:
        for _ in range(self.burst):
            if self.n >= self.end:
                break
            ctx.emit(Tick(n=self.n))
            self.n += 1
            if self.alarm_every and self.n % self.alarm_every == 0:
                ctx.emit(Overheat(n=self.n))
                if self.n % (2 * self.alarm_every) == 0:
                    ctx.emit(SensorFault(n=self.n))
        if self.n >= self.end and not self.done:
            self.done = True
            if self.marker:
                threading.Thread(target=self._mark, daemon=True).start()

    def _mark(self) -> None:
        # Written once every Tick is in the outbox: the tests may then kill the process.
        bridge = next((s for s in (self.runtime.sinks if self.runtime else []) if s.name == "mqtt"), None)
        deadline = time.monotonic() + 60
        while bridge is not None and time.monotonic() < deadline:
            if bridge.seq >= self.count and not bridge._queue:  # type: ignore[attr-defined]
                break
            time.sleep(0.01)
        assert self.marker is not None
        Path(self.marker).write_text(str(self.count))

    def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        if isinstance(evt.payload, SetLevel):
            ctx.emit(LevelSet(level=evt.payload.level))


class CounterTypes:
    """The app's types as an in-process plugin: SetLevel is what it accepts as a command."""

    @hookimpl
    def register_message_types(self) -> list[type[Message]]:
        return [SetLevel]


def setup(runtime: Runtime) -> None:
    if load_plugins().get_plugin("counter_app") is None:
        register_plugin(CounterTypes(), name="counter_app")
    counter = Counter()
    counter.runtime = runtime
    runtime.add_service(counter)
