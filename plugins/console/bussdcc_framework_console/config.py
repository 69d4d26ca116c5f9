"""The console plugin's settings (``BUSSDCC_CONSOLE_*``) and the configuration built from them.

Values are checked when settings are resolved, so ``ConsoleConfig.from_settings`` only
assembles. Importing this module is cheap: the sink and its formatters (which need the codec)
are imported by ``sink()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bussdcc_framework.settings import Setting, Settings, values_of

from .filters import LEVELS

if TYPE_CHECKING:
    from .sink import ConsoleSink

PLUGIN = "console"

FORMATS = ("json", "human", "auto")
COLOR_MODES = ("auto", "always", "never")
STREAMS = ("stdout", "stderr")
DEFAULT_BUFFER = 10_000
DEFAULT_FLUSH_TIMEOUT = 2.0

SETTINGS: tuple[Setting, ...] = (
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
        "Only these types: type patterns such as Service*, myapp.*:* or !Debug* (exclude).",
    ),
    Setting(PLUGIN, "exclude", "list", (), "Never these types (type patterns; exclude wins)."),
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
        min=1,
    ),
    Setting(
        PLUGIN,
        "flush_timeout",
        "duration",
        DEFAULT_FLUSH_TIMEOUT,
        "How long shutdown waits for buffered events to be written.",
        min=0,
    ),
)


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    """The ``console.*`` settings of one run."""

    enabled: bool
    format: str
    level: str
    types: tuple[str, ...]
    exclude: tuple[str, ...]
    stream: str
    color: str
    utc: bool
    buffer: int
    flush_timeout: float

    @classmethod
    def from_settings(cls, settings: Settings | None) -> ConsoleConfig:
        """The configuration the resolved settings describe (defaults for what they lack)."""
        return cls(**values_of(SETTINGS, settings))

    def sink(self) -> ConsoleSink:
        """A new ``ConsoleSink`` with this configuration."""
        from .sink import ConsoleSink

        return ConsoleSink(
            self.format,
            level=self.level,
            types=self.types,
            exclude=self.exclude,
            stream=self.stream,
            color=self.color,
            utc=self.utc,
            buffer=self.buffer,
            flush_timeout=self.flush_timeout,
        )
