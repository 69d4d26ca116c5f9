"""A device for the mqtt tests whose readings hold NaN and infinities (they must reach the
central recording as values, not as ``null``): emits the ``Gauge`` readings of ``READINGS`` once."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from bussdcc.context import ContextProtocol
from bussdcc.message import Message
from bussdcc.service import Service

from bussdcc_framework.runtime import Runtime


@dataclass(slots=True, frozen=True)
class Level(Message):
    """Scalars only: the bridge's cheapest NaN probe."""

    tank: str
    litres: float


@dataclass(slots=True, frozen=True)
class Gauge(Message):
    """Floats in a list and optional: the bridge searches the record for null."""

    name: str
    series: list[float] = field(default_factory=list)
    low: Optional[float] = None


READINGS: list[Message] = [
    Level("a", math.nan),
    Level("b", math.inf),
    Level("c", 1.5),
    Gauge("d", [1.0, -math.inf, math.nan], low=math.inf),
    Gauge("e", [2.0]),
]


class Emitter(Service):
    name = "nan-emitter"

    def __init__(self) -> None:
        self.interval = 0.05
        self.sent = False

    def tick(self, ctx: ContextProtocol) -> None:
        if not self.sent:
            self.sent = True
            for reading in READINGS:
                ctx.emit(reading)


def setup(runtime: Runtime) -> None:
    runtime.add_service(Emitter())
