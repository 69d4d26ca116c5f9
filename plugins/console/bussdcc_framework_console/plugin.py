"""Entry point of the console plugin: its settings, its sink and its message type.

Kept light: importing this module (done for every ``bussdcc`` command) loads no formatter and
starts no thread; the sink is only built when a runtime is composed.
"""

from __future__ import annotations

from collections.abc import Iterable

from bussdcc.io import EventSinkProtocol
from bussdcc.message import Message

from bussdcc_framework import hookimpl
from bussdcc_framework.settings import Setting, SettingError, Settings

from .filters import LEVELS
from .messages import ConsoleDropped
from .sink import COLOR_MODES, DEFAULT_BUFFER, DEFAULT_FLUSH_TIMEOUT, FORMATS, STREAMS, ConsoleSink

PLUGIN = "console"


@hookimpl
def register_settings() -> Iterable[Setting]:
    return [
        Setting(PLUGIN, "enabled", "bool", True, "Print events on the console."),
        Setting(
            PLUGIN,
            "format",
            "str",
            "auto",
            "auto: human on a terminal, JSON lines when piped or redirected; json; human.",
            choices=FORMATS,
        ),
        Setting(PLUGIN, "level", "str", "debug", "Minimum severity shown.", choices=tuple(LEVELS)),
        Setting(
            PLUGIN,
            "types",
            "list",
            (),
            "Only these types: shell patterns over module:Class or Class, e.g. Service*.",
        ),
        Setting(
            PLUGIN, "exclude", "list", (), "Never these types (patterns as for console.types; exclude wins)."
        ),
        Setting(PLUGIN, "stream", "str", "stdout", "Where to print.", choices=STREAMS),
        Setting(
            PLUGIN,
            "color",
            "str",
            "auto",
            "Colour the human format: auto (terminal and no NO_COLOR), always, never.",
            choices=COLOR_MODES,
        ),
        Setting(PLUGIN, "utc", "bool", False, "Human format time stamps in UTC, not local time."),
        Setting(
            PLUGIN,
            "buffer",
            "int",
            DEFAULT_BUFFER,
            "Events held while the output is slow; more are dropped and counted.",
        ),
        Setting(
            PLUGIN,
            "flush_timeout",
            "duration",
            DEFAULT_FLUSH_TIMEOUT,
            "How long shutdown waits for buffered events to be written.",
        ),
    ]


def sink_from_settings(settings: Settings) -> ConsoleSink:
    """The ``ConsoleSink`` the ``console.*`` settings describe."""
    values = settings.for_plugin(PLUGIN)
    if int(values.get("buffer", DEFAULT_BUFFER)) < 1:
        raise SettingError(
            f"BUSSDCC_CONSOLE_BUFFER={values['buffer']} is not valid: expected at least 1 event"
        )
    return ConsoleSink(
        values.get("format", "auto"),
        level=values.get("level", "debug"),
        types=values.get("types", ()),
        exclude=values.get("exclude", ()),
        stream=values.get("stream", "stdout"),
        color=values.get("color", "auto"),
        utc=bool(values.get("utc", False)),
        buffer=int(values.get("buffer", DEFAULT_BUFFER)),
        flush_timeout=float(values.get("flush_timeout", DEFAULT_FLUSH_TIMEOUT)),
    )


@hookimpl
def register_sinks(settings: Settings) -> Iterable[EventSinkProtocol]:
    if not settings.get("console.enabled", True):
        return []
    return [sink_from_settings(settings)]


@hookimpl
def register_message_types() -> Iterable[type[Message]]:
    return [ConsoleDropped]
