"""The replay plugin's settings: the limits readers and the replay runtime keep under hostile input.

Declared once here (``register_settings``) and read into a frozen ``ReplayConfig``; nothing
else reads ``replay.*`` values. Importing this module is cheap (no codec, no msgspec).
"""

from __future__ import annotations

from dataclasses import dataclass

from bussdcc_framework.settings import Setting, SettingError, Settings

PLUGIN = "replay"

#: The default of ``replay.max_line`` (kept equal to ``reader.DEFAULT_MAX_LINE``).
DEFAULT_MAX_LINE = 8 * 1024 * 1024

#: The default of ``replay.max_wait``: the longest wall-clock wait between two events.
DEFAULT_MAX_WAIT = 600.0


def declared_settings() -> list[Setting]:
    """What ``register_settings`` returns."""
    return [
        Setting(
            PLUGIN,
            "max_line",
            "size",
            DEFAULT_MAX_LINE,
            "Longest line read from a recording (bytes); a longer one is skipped as too_long "
            "without being held in memory.",
        ),
        Setting(
            PLUGIN,
            "max_wait",
            "duration",
            DEFAULT_MAX_WAIT,
            "Longest wall-clock wait between two replayed events at any speed; a longer gap "
            "in recorded time (between runs, or a corrupt time) is jumped over and reported.",
        ),
    ]


@dataclass(frozen=True)
class ReplayConfig:
    """The ``replay.*`` settings, checked."""

    max_line: int = DEFAULT_MAX_LINE
    max_wait: float = DEFAULT_MAX_WAIT

    @classmethod
    def from_settings(cls, settings: Settings | None) -> ReplayConfig:
        """The configuration ``settings`` describe (defaults for settings not declared)."""
        if settings is None:
            return cls()
        max_line = int(settings.get(f"{PLUGIN}.max_line", DEFAULT_MAX_LINE))
        max_wait = float(settings.get(f"{PLUGIN}.max_wait", DEFAULT_MAX_WAIT))
        if max_line < 1024:
            raise SettingError(
                f"BUSSDCC_REPLAY_MAX_LINE={max_line} is not valid: expected a size of at least 1k"
            )
        if not max_wait > 0:
            raise SettingError(
                f"BUSSDCC_REPLAY_MAX_WAIT={max_wait:g} is not valid: expected a duration > 0, e.g. 10m"
            )
        return cls(max_line=max_line, max_wait=max_wait)
