"""The jsonl plugin's settings (``BUSSDCC_JSONL_*``) and the configuration built from them.

Every value is checked when settings are resolved (types, ranges, choices), so
``JsonlConfig.from_settings`` only assembles. Importing this module is cheap: no codec, no
thread, no file; the sink is imported when ``sink()`` is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from bussdcc_framework.settings import Setting, Settings, values_of

if TYPE_CHECKING:
    from .sink import JsonlSink

PLUGIN = "jsonl"

FlushMode = Literal["interval", "line", "fsync"]
Overflow = Literal["block", "drop"]
FLUSH_MODES: tuple[FlushMode, ...] = get_args(FlushMode)
OVERFLOW_MODES: tuple[Overflow, ...] = get_args(Overflow)
DEFAULT_QUEUE_SIZE = 65536


def _above_zero(seconds: float) -> float:
    if seconds <= 0:
        raise ValueError("a duration above 0, e.g. 600, 30s, 10m")
    return seconds


SETTINGS: tuple[Setting, ...] = (
    Setting(PLUGIN, "enabled", "bool", True, "Record every event (bussdcc run --record DIR)."),
    Setting(
        PLUGIN,
        "dir",
        "path",
        "events",
        "Directory of the recording.",
        cli="--record",
        cli_metavar="DIR",
        cli_help="Record every event as JSONL under DIR (jsonl plugin).",
        implies=((f"{PLUGIN}.enabled", "true"),),
    ),
    Setting(
        PLUGIN,
        "interval",
        "duration",
        "10m",
        "Start a new segment file every interval.",
        validator=_above_zero,
    ),
    Setting(PLUGIN, "max_size", "size", 0, "Also start a new segment at this size (0: no limit).", min=0),
    Setting(
        PLUGIN,
        "retention_age",
        "duration",
        0,
        "Delete segments older than this (0: keep forever).",
        min=0,
    ),
    Setting(
        PLUGIN,
        "retention_size",
        "size",
        0,
        "Delete the oldest segments beyond this total size (0: no limit).",
        min=0,
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
        min=1,
    ),
    Setting(
        PLUGIN,
        "overflow",
        "str",
        "block",
        "When the queue is full: block the emitter, or drop and report.",
        choices=OVERFLOW_MODES,
    ),
)


@dataclass(frozen=True, slots=True)
class JsonlConfig:
    """The ``jsonl.*`` settings of one run; 0 means "no limit" for sizes and ages."""

    enabled: bool
    dir: Path
    interval: float
    max_size: int
    retention_age: float
    retention_size: int
    compress: bool
    flush: FlushMode
    queue_size: int
    overflow: Overflow

    @classmethod
    def from_settings(cls, settings: Settings | None) -> JsonlConfig:
        """The configuration the resolved settings describe (defaults for what they lack)."""
        return cls(**values_of(SETTINGS, settings))

    def sink(self, *, announce: bool = False) -> JsonlSink:
        """A new ``JsonlSink`` with this configuration (``announce``: say where it records)."""
        from .sink import JsonlSink

        return JsonlSink(
            self.dir,
            self.interval,
            max_size=self.max_size or None,
            retention_age=self.retention_age or None,
            retention_size=self.retention_size or None,
            compress=self.compress,
            flush=self.flush,
            queue_size=self.queue_size,
            overflow=self.overflow,
            announce=announce,
        )
