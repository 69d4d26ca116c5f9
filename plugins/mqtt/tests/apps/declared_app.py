"""A device that declares its command type with ``runtime.add_message_types`` (no plugin)."""

from __future__ import annotations

from dataclasses import dataclass

from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message
from bussdcc.process import Process

from bussdcc_framework.runtime import Runtime


@dataclass(slots=True, frozen=True)
class OpenValve(Message):
    """Open a valve for some seconds."""

    seconds: float


@dataclass(slots=True, frozen=True)
class ValveOpened(Message):
    seconds: float


class Valve(Process):
    name = "valve"

    def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        if isinstance(evt.payload, OpenValve):
            ctx.emit(ValveOpened(seconds=evt.payload.seconds))


def setup(runtime: Runtime) -> None:
    runtime.add_message_types(OpenValve)
    runtime.add_process(Valve())
