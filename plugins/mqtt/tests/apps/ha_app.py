"""A device for the Home Assistant test: one message type with numbers, a flag and a text."""

from __future__ import annotations

from dataclasses import dataclass

from bussdcc.message import Message

from bussdcc_framework import hookimpl
from bussdcc_framework.plugins import load_plugins, register_plugin
from bussdcc_framework.runtime import Runtime


@dataclass(slots=True, frozen=True)
class Climate(Message):
    temperature_c: float
    humidity_pct: int
    pump_on: bool
    label: str = ""


class Types:
    @hookimpl
    def register_message_types(self) -> list[type[Message]]:
        return [Climate]


def setup(runtime: Runtime) -> None:
    if load_plugins().get_plugin("ha_app") is None:
        register_plugin(Types(), name="ha_app")
