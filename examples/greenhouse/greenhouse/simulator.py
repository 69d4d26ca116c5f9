"""A service that stands in for real sensors and a real pump.

It ticks on its own thread (the kernel's ``ServiceSupervisor`` calls ``tick`` every
``interval`` seconds of the runtime's clock) and emits a ``ClimateReading`` each time. It obeys
``SwitchPump`` commands, wherever they come from (the web UI, the alert monitor, a test), and
confirms each change with ``PumpSwitched``. The physics is a toy, but a seeded one: the same
seed gives the same readings, which keeps tests and demos reproducible.
"""

from __future__ import annotations

import math
import random
import threading

from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message
from bussdcc.service import Service

from .messages import ClimateReading, PumpSwitched, SwitchPump


class GreenhouseSimulator(Service):
    """Simulated temperature and humidity sensors plus an irrigation pump."""

    name = "greenhouse-sensors"

    def __init__(self, interval: float = 1.0, seed: int = 7, day_length: float = 90.0) -> None:
        self.interval = interval
        self.day_length = day_length
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._ticks = 0
        self._humidity = 55.0
        self._pump_on = False

    def tick(self, ctx: ContextProtocol) -> None:
        with self._lock:
            self._ticks += 1
            phase = 2 * math.pi * self._ticks * self.interval / self.day_length
            temperature = 24.0 + 7.0 * math.sin(phase) + self._random.gauss(0.0, 0.3)
            drift = 2.0 if self._pump_on else -0.7 - max(temperature - 24.0, 0.0) * 0.05
            self._humidity = min(95.0, max(10.0, self._humidity + drift))
            reading = ClimateReading(
                temperature_c=round(temperature, 2),
                humidity_pct=round(self._humidity, 2),
                pump_on=self._pump_on,
            )
        ctx.emit(reading)

    def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        command = evt.payload
        if not isinstance(command, SwitchPump):
            return
        with self._lock:
            changed = self._pump_on != command.on
            self._pump_on = command.on
        if changed:
            ctx.emit(PumpSwitched(on=command.on, reason=command.reason))
