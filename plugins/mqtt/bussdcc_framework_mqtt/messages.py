"""Messages the mqtt plugin emits about itself: connection, backlog, drops, refused input.

They are framework messages like the recorder's: recorded, shown by the console and the web
UI, and registered through ``register_message_types`` so recordings containing them replay.
The device never sends them as commands (their module is the plugin's, so they are internal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

from bussdcc.message import Message, Severity


@dataclass(slots=True, frozen=True)
class MqttConnected(Message):
    """The bridge is connected to the broker; ``backlog`` events wait in the outbox."""

    severity: ClassVar[Severity] = Severity.INFO

    broker: str
    node: str
    session: int
    session_present: bool
    backlog: int


@dataclass(slots=True, frozen=True)
class MqttDisconnected(Message):
    """The bridge lost (or could not get) its connection; events wait in the outbox meanwhile.

    Reported once per outage, not per failed attempt; the bridge retries with backoff.
    """

    severity: ClassVar[Severity] = Severity.WARNING

    broker: str
    node: str
    reason: str
    backlog: int


@dataclass(slots=True, frozen=True)
class MqttBacklog(Message):
    """The outbox size changed: ``backlog`` events not yet acknowledged by the broker.

    At most one every few seconds while it changes, and one when it is empty again.
    """

    severity: ClassVar[Severity] = Severity.INFO

    node: str
    backlog: int
    bytes: int
    connected: bool


@dataclass(slots=True, frozen=True)
class MqttOutboxDropped(Message):
    """The outbox was full (``reason="size"``) or its oldest events too old (``reason="age"``):
    ``dropped`` events were deleted unsent since the last report, ``total`` since the start."""

    severity: ClassVar[Severity] = Severity.WARNING

    node: str
    dropped: int
    reason: str
    total: int


@dataclass(slots=True, frozen=True)
class MqttError(Message):
    """Something the bridge or the collector cannot do (``operation``), with the error.

    Reported once per operation and error; the component keeps running where it can.
    """

    severity: ClassVar[Severity] = Severity.ERROR

    component: str
    operation: str
    error: str


@dataclass(slots=True, frozen=True)
class MqttBadInput(Message):
    """Input from the network was refused (``kind``: bad_json, bad_envelope, too_large,
    wrong_node, bad_topic, ...). Reported once per kind; ``count`` is how many so far."""

    severity: ClassVar[Severity] = Severity.WARNING

    component: str
    kind: str
    topic: str
    detail: str
    count: int


@dataclass(slots=True, frozen=True)
class MqttCommandRefused(Message):
    """A command was not run: ``reason`` is the ``cmd_res`` error code sent back."""

    severity: ClassVar[Severity] = Severity.WARNING

    id: str
    type: str
    reason: str
    detail: str


@dataclass(slots=True, frozen=True)
class MqttCommandAccepted(Message):
    """A command passed validation and its message was emitted (it follows this event)."""

    severity: ClassVar[Severity] = Severity.INFO

    id: str
    type: str
    sender: Optional[str] = None


@dataclass(slots=True, frozen=True)
class FleetNodeStatus(Message):
    """The collector saw a node come online or go offline (from its retained status topic)."""

    severity: ClassVar[Severity] = Severity.INFO

    site: str
    node: str
    online: bool
    boot: str
    session: int


MESSAGE_TYPES: tuple[type[Message], ...] = (
    MqttConnected,
    MqttDisconnected,
    MqttBacklog,
    MqttOutboxDropped,
    MqttError,
    MqttBadInput,
    MqttCommandRefused,
    MqttCommandAccepted,
    FleetNodeStatus,
)
