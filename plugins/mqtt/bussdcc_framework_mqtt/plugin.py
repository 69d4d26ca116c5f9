"""Entry point of the mqtt plugin: its hookimpls only.

Cheap to import: paho, sqlite and threads are only touched when a runtime is composed with a
broker URL set (``BUSSDCC_MQTT_URL``); without one the plugin contributes nothing but its
settings, its message types and the ``bussdcc fleet`` command.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bussdcc.context import ContextProtocol
from bussdcc.io import EventSinkProtocol
from bussdcc.message import Message
from bussdcc.service import ServiceProtocol

from bussdcc_framework import hookimpl
from bussdcc_framework.settings import Setting, Settings

from .config import SETTINGS, MqttConfig
from .messages import MESSAGE_TYPES

if TYPE_CHECKING:
    import click


@hookimpl
def register_settings() -> Iterable[Setting]:
    return SETTINGS


@hookimpl
def register_message_types() -> Iterable[type[Message]]:
    return MESSAGE_TYPES


@hookimpl
def register_sinks(settings: Settings) -> Iterable[EventSinkProtocol]:
    config = MqttConfig.from_settings(settings)
    if not config.bridge:
        return []
    from .birth import birth_info
    from .bridge import MqttBridge
    from .commands import CommandHandler

    commands = CommandHandler(config.outbox) if config.commands else None
    return [MqttBridge(config, birth=birth_info, commands=commands)]


@hookimpl
def register_services(settings: Settings) -> Iterable[ServiceProtocol]:
    config = MqttConfig.from_settings(settings)
    if not config.collect:
        return []
    from .collector import CollectorService

    return [CollectorService(config)]


@hookimpl
def register_commands() -> Iterable[click.Command]:
    from .cli import fleet_command

    return [fleet_command]


@hookimpl
def register_routes(app: Any, ctx: ContextProtocol) -> None:
    # The fleet page exists where the fleet is collected (the collector holds its state).
    from .web import add_routes, find_fleet

    service = find_fleet(ctx)
    if service is not None:
        add_routes(app, ctx, service.fleet, service)
