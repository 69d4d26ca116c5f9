"""Sink failure message (``bussdcc_framework.message.sink``, as in the original)."""

from dataclasses import dataclass
from typing import Optional

from bussdcc.event import Event
from bussdcc.message import Message, Severity


@dataclass(slots=True, frozen=True)
class SinkHandlerError(Message):
    """A sink raised while handling ``evt``; the other sinks kept running."""

    severity = Severity.ERROR

    sink: str
    error: str
    evt: Optional[Event[Message]] = None
    traceback: Optional[str] = None
