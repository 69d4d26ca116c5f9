"""The extension API of bussdcc-framework: every hook a plugin can implement.

Every ``register_*`` hook returns an iterable of things (or ``None``); the framework flattens the
results of all plugins. ``register_routes`` and ``on_event`` act instead of returning.
Each hook has a section with an example in ``docs/plugin-hooks.md``.

Nothing calls these through ``pm.hook``: the typed methods of ``FrameworkPluginManager``
(``pm.sinks(settings)``, ``pm.commands(settings)``, ...) call each plugin on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.io import EventSinkProtocol
from bussdcc.message import Message
from bussdcc.process import ProcessProtocol
from bussdcc.service import ServiceProtocol

from . import hookspec

if TYPE_CHECKING:
    import click

    from .settings import Setting, Settings
    from .sources import SourceFactory


@hookspec
def register_settings() -> Iterable[Setting] | None:
    """Declare the settings this plugin reads (name, type, default, help)."""


@hookspec
def register_message_types() -> Iterable[type[Message]] | None:
    """Return message classes that replay and the web interface may rebuild from data."""


@hookspec
def register_sinks(settings: Settings) -> Iterable[EventSinkProtocol] | None:
    """Return event sinks for a plugin-composed runtime; every event reaches every sink."""


@hookspec
def register_services(settings: Settings) -> Iterable[ServiceProtocol] | None:
    """Return services (ticking on their own threads) for a plugin-composed runtime."""


@hookspec
def register_processes(settings: Settings) -> Iterable[ProcessProtocol] | None:
    """Return processes and interfaces (``bussdcc_framework.Interface``) for a composed runtime."""


@hookspec
def register_sources(settings: Settings) -> Iterable[SourceFactory] | None:
    """Return replay source factories that open recorded event streams from paths."""


@hookspec
def register_commands(settings: Settings) -> Iterable[click.Command] | None:
    """Return click commands to add as ``bussdcc`` sub-commands (``settings`` is optional)."""


@hookspec
def register_routes(app: Any, ctx: ContextProtocol) -> None:
    """Add routes or blueprints to the web interface's Flask app before it serves."""


@hookspec
def on_event(ctx: ContextProtocol, evt: Event[Message]) -> None:
    """Observe every event of a plugin-composed runtime, after the sinks have seen it."""
