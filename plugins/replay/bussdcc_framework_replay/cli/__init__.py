"""The plugin's commands: ``bussdcc replay`` and ``bussdcc events info|cat``."""

from .events_cmd import events_group
from .replay_cmd import replay_command

__all__ = ["events_group", "replay_command"]
