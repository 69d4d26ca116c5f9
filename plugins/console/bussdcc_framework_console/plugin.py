"""Entry point of the console plugin: the hook implementations bussdcc-framework calls.

Imported for every ``bussdcc`` command, so it stays cheap: settings live in ``config.py``; the
sink, its formatters and the codec are imported only when a runtime is composed.
"""

from __future__ import annotations

from collections.abc import Iterable

from bussdcc.io import EventSinkProtocol
from bussdcc.message import Message

from bussdcc_framework import hookimpl
from bussdcc_framework.settings import Setting, Settings

from .config import SETTINGS, ConsoleConfig
from .messages import ConsoleDropped


@hookimpl
def register_settings() -> Iterable[Setting]:
    return SETTINGS


@hookimpl
def register_sinks(settings: Settings) -> Iterable[EventSinkProtocol]:
    config = ConsoleConfig.from_settings(settings)
    return [config.sink()] if config.enabled else []


@hookimpl
def register_message_types() -> Iterable[type[Message]]:
    return [ConsoleDropped]
