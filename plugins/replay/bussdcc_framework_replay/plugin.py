"""Entry point of the replay plugin: the hook implementations bussdcc-framework calls.

Kept light: the click commands are defined in ``cli`` (click is already imported by the
``bussdcc`` command), and nothing here imports the runtime or the codec.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bussdcc_framework import hookimpl

if TYPE_CHECKING:
    import click

    from bussdcc_framework.settings import Setting, Settings
    from bussdcc_framework.sources import SourceFactory


@hookimpl
def register_settings() -> Iterable[Setting]:
    """``replay.max_line`` and ``replay.max_wait`` (see ``config``)."""
    from .config import declared_settings

    return declared_settings()


@hookimpl
def register_sources(settings: Settings) -> Iterable[SourceFactory]:
    """The JSONL source factory: directories and ``.jsonl``/``.jsonl.gz`` files."""
    from .config import ReplayConfig
    from .factory import JsonlSourceFactory

    return [JsonlSourceFactory(max_line=ReplayConfig.from_settings(settings).max_line)]


@hookimpl
def register_commands() -> Iterable[click.Command]:
    """``bussdcc replay`` and ``bussdcc events info|cat``."""
    from .cli import events_group, replay_command

    return [replay_command, events_group]
