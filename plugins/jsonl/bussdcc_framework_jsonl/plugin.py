"""Entry point of the jsonl plugin: its settings, its sink and its message types.

Importing it is cheap (no thread, no file): the sink is only built when a runtime is composed.
"""

from __future__ import annotations

from collections.abc import Iterable

from bussdcc.io import EventSinkProtocol
from bussdcc.message import Message

from bussdcc_framework import hookimpl
from bussdcc_framework.settings import Setting, SettingError, Settings

from .messages import MESSAGE_TYPES
from .sink import DEFAULT_QUEUE_SIZE, FLUSH_MODES, OVERFLOW_MODES, JsonlSink

PLUGIN = "jsonl"


@hookimpl
def register_settings() -> Iterable[Setting]:
    return [
        Setting(PLUGIN, "enabled", "bool", True, "Record every event (bussdcc run --record DIR)."),
        Setting(PLUGIN, "dir", "path", "events", "Directory of the recording."),
        Setting(PLUGIN, "interval", "duration", 600.0, "Start a new segment file every interval."),
        Setting(PLUGIN, "max_size", "size", 0, "Also start a new segment at this size (0: no limit)."),
        Setting(
            PLUGIN, "retention_age", "duration", 0.0, "Delete segments older than this (0: keep forever)."
        ),
        Setting(
            PLUGIN,
            "retention_size",
            "size",
            0,
            "Delete the oldest segments beyond this total size (0: no limit).",
        ),
        Setting(PLUGIN, "compress", "bool", False, "Gzip closed segments (.jsonl.gz)."),
        Setting(
            PLUGIN,
            "flush",
            "str",
            "interval",
            "interval: to the OS every 0.5 s; line: after each event; fsync: also to disk.",
            choices=FLUSH_MODES,
        ),
        Setting(
            PLUGIN,
            "queue_size",
            "int",
            DEFAULT_QUEUE_SIZE,
            "Events waiting for the writer before jsonl.overflow applies.",
        ),
        Setting(
            PLUGIN,
            "overflow",
            "str",
            "block",
            "When the queue is full: block the emitter, or drop and report.",
            choices=OVERFLOW_MODES,
        ),
    ]


def sink_from_settings(settings: Settings) -> JsonlSink:
    """The ``JsonlSink`` the ``jsonl.*`` settings describe (0 means "no limit")."""
    values = settings.for_plugin(PLUGIN)
    queue_size = int(values.get("queue_size", DEFAULT_QUEUE_SIZE))
    if queue_size < 1:
        raise SettingError(f"BUSSDCC_JSONL_QUEUE_SIZE={queue_size} is not valid: expected at least 1 event")
    interval = float(values.get("interval", 600.0))
    if interval <= 0:
        raise SettingError(
            f"BUSSDCC_JSONL_INTERVAL={interval:g} is not valid: expected a duration > 0, e.g. 10m"
        )
    return JsonlSink(
        values.get("dir", "events"),
        interval,
        max_size=int(values.get("max_size") or 0) or None,
        retention_age=float(values.get("retention_age") or 0) or None,
        retention_size=int(values.get("retention_size") or 0) or None,
        compress=bool(values.get("compress", False)),
        flush=values.get("flush", "interval"),
        queue_size=queue_size,
        overflow=values.get("overflow", "block"),
        announce=True,  # plugin-composed (bussdcc run): say where it records
    )


@hookimpl
def register_sinks(settings: Settings) -> Iterable[EventSinkProtocol]:
    if not settings.get(f"{PLUGIN}.enabled", True):
        return []
    return [sink_from_settings(settings)]


@hookimpl
def register_message_types() -> Iterable[type[Message]]:
    return MESSAGE_TYPES
