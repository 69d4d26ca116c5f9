"""Entry point of the jsonl plugin: the hook implementations bussdcc-framework calls.

Imported for every ``bussdcc`` command, so it stays cheap: settings live in ``config.py``, the
sink (and the codec it needs) is imported only when a runtime is composed.
"""

from __future__ import annotations

from collections.abc import Iterable

from bussdcc.io import EventSinkProtocol
from bussdcc.message import Message

from bussdcc_framework import hookimpl
from bussdcc_framework.settings import Setting, Settings

from .config import SETTINGS, JsonlConfig
from .messages import MESSAGE_TYPES


@hookimpl
def register_settings() -> Iterable[Setting]:
    return SETTINGS


@hookimpl
def register_sinks(settings: Settings) -> Iterable[EventSinkProtocol]:
    config = JsonlConfig.from_settings(settings)
    # Plugin-composed (bussdcc run): the sink says where it records.
    return [config.sink(announce=True)] if config.enabled else []


@hookimpl
def register_message_types() -> Iterable[type[Message]]:
    return MESSAGE_TYPES
