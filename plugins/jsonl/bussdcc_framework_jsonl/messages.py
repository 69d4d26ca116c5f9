"""Messages the JSONL sink emits about itself, so recordings and consoles show recording trouble.

They are registered through ``register_message_types`` so that recordings containing them replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bussdcc.message import Message, Severity


@dataclass(slots=True, frozen=True)
class RecordingError(Message):
    """Recording failed (``operation`` = open, write, flush, encode, compress, retention).

    Emitted once per outage, not per failed write; events that could not be written are counted
    in ``RecordingResumed.lost`` and in the summary printed on stop.
    """

    severity: ClassVar[Severity] = Severity.ERROR

    path: str
    operation: str
    error: str


@dataclass(slots=True, frozen=True)
class RecordingResumed(Message):
    """Writing works again after a ``RecordingError``; ``lost`` events were not recorded."""

    severity: ClassVar[Severity] = Severity.WARNING

    path: str
    lost: int


@dataclass(slots=True, frozen=True)
class RecordingDropped(Message):
    """The queue was full (``overflow="drop"``): ``dropped`` events since the last report."""

    severity: ClassVar[Severity] = Severity.WARNING

    dropped: int
    total: int
    queue_size: int


@dataclass(slots=True, frozen=True)
class RecordingBackpressure(Message):
    """The queue was full (``overflow="block"``): emitting threads waited for the disk.

    ``waits`` emits had to wait, ``waited`` seconds in all, since the last report (at most one
    report every ``BACKPRESSURE_REPORT_INTERVAL`` seconds). Nothing was lost; the system ran
    slower than its events were produced.
    """

    severity: ClassVar[Severity] = Severity.WARNING

    waits: int
    waited: float
    queue_size: int


MESSAGE_TYPES: tuple[type[Message], ...] = (
    RecordingError,
    RecordingResumed,
    RecordingDropped,
    RecordingBackpressure,
)
