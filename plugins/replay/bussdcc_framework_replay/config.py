"""The replay plugin's settings: the limits readers and the replay runtime keep under hostile input.

Declared once here (``register_settings``) and read into a frozen ``ReplayConfig``; nothing
else reads ``replay.*`` values. Importing this module is cheap (no codec, no msgspec).
"""

from __future__ import annotations

from dataclasses import dataclass

from bussdcc_framework.settings import Setting, Settings, values_of

PLUGIN = "replay"

#: The default of ``replay.max_line`` (kept equal to ``reader.DEFAULT_MAX_LINE``).
DEFAULT_MAX_LINE = 8 * 1024 * 1024

#: The default of ``replay.max_wait``: the longest wall-clock wait between two events.
DEFAULT_MAX_WAIT = 600.0


def _above_zero(seconds: float) -> float:
    if not seconds > 0:
        raise ValueError("a duration above 0, e.g. 10m")
    return seconds


SETTINGS: tuple[Setting, ...] = (
    Setting(
        PLUGIN,
        "max_line",
        "size",
        DEFAULT_MAX_LINE,
        "Longest line read from a recording (bytes); a longer one is skipped as too_long "
        "without being held in memory.",
        min=1024,
    ),
    Setting(
        PLUGIN,
        "max_wait",
        "duration",
        DEFAULT_MAX_WAIT,
        "Longest wall-clock wait between two replayed events at any speed; a longer gap "
        "in recorded time (between runs, or a corrupt time) is jumped over and reported.",
        validator=_above_zero,
    ),
)


def declared_settings() -> list[Setting]:
    """What ``register_settings`` returns."""
    return list(SETTINGS)


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    """The ``replay.*`` settings (checked when settings are resolved)."""

    max_line: int = DEFAULT_MAX_LINE
    max_wait: float = DEFAULT_MAX_WAIT

    @classmethod
    def from_settings(cls, settings: Settings | None) -> ReplayConfig:
        """The configuration ``settings`` describe (declared defaults for what they lack)."""
        return cls(**values_of(SETTINGS, settings))
