"""The greenhouse's own typed messages.

Every fact the demo produces is one of these frozen dataclasses. Because they live in an
importable module, a recording names them ``greenhouse.messages:<Class>`` and replay rebuilds the
very same objects (``app.setup`` declares them with ``runtime.add_message_types``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bussdcc.message import Message, Severity


class Metric(str, Enum):  # noqa: UP042 (the original framework's style; StrEnum changes str())
    """What an alert is about."""

    TEMPERATURE = "temperature"
    HUMIDITY = "humidity"


@dataclass(slots=True, frozen=True)
class ClimateReading(Message):
    """One sample of the greenhouse sensors, emitted by the simulator every tick."""

    severity = Severity.DEBUG

    temperature_c: float
    humidity_pct: float
    pump_on: bool


@dataclass(slots=True, frozen=True)
class SwitchPump(Message):
    """A command: turn the irrigation pump on or off (sent from the web UI or by the monitor)."""

    on: bool
    reason: str = "manual"


@dataclass(slots=True, frozen=True)
class PumpSwitched(Message):
    """The pump actually changed state; the simulator emits it after obeying ``SwitchPump``."""

    on: bool
    reason: str


@dataclass(slots=True, frozen=True)
class AlertRaised(Message):
    """A reading crossed a threshold; stays raised until ``AlertCleared``."""

    severity = Severity.WARNING

    metric: Metric
    value: float
    limit: float
    message: str


@dataclass(slots=True, frozen=True)
class AlertCleared(Message):
    """A raised alert's metric is back inside its limits (with hysteresis)."""

    metric: Metric
    value: float


MESSAGE_TYPES: tuple[type[Message], ...] = (
    ClimateReading,
    SwitchPump,
    PumpSwitched,
    AlertRaised,
    AlertCleared,
)
"""Every greenhouse message, for ``runtime.add_message_types`` in ``app.setup``."""
