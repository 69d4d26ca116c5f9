"""bussdcc-framework plugin: fleets over MQTT (device bridge, collector, fleet page).

Names are imported on first use (PEP 562): plugin discovery imports this package for every
``bussdcc`` command, and the bridge and the collector need paho, msgspec and sqlite3, which
``bussdcc --help`` (and every runtime without a broker URL) must not pay for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bussdcc_framework.lazy import lazy_exports

if TYPE_CHECKING:
    from .bridge import MqttBridge
    from .collector import Collector, CollectorService
    from .config import MqttConfig
    from .messages import (
        FleetNodeStatus,
        MqttBacklog,
        MqttBadInput,
        MqttCommandAccepted,
        MqttCommandRefused,
        MqttConnected,
        MqttDisconnected,
        MqttError,
        MqttOutboxDropped,
    )

_MESSAGES = (
    "FleetNodeStatus",
    "MqttBacklog",
    "MqttBadInput",
    "MqttCommandAccepted",
    "MqttCommandRefused",
    "MqttConnected",
    "MqttDisconnected",
    "MqttError",
    "MqttOutboxDropped",
)

__all__ = [
    "Collector",
    "CollectorService",
    "FleetNodeStatus",
    "MqttBacklog",
    "MqttBadInput",
    "MqttBridge",
    "MqttCommandAccepted",
    "MqttCommandRefused",
    "MqttConfig",
    "MqttConnected",
    "MqttDisconnected",
    "MqttError",
    "MqttOutboxDropped",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Collector": ".collector",
        "CollectorService": ".collector",
        "MqttBridge": ".bridge",
        "MqttConfig": ".config",
        **dict.fromkeys(_MESSAGES, ".messages"),
    },
)
