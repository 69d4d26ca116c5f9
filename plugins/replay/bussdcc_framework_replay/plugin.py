"""Entry point of the replay plugin: the hook implementations bussdcc-framework calls.

Kept light: the commands are ``LazyCommand`` placeholders (``bussdcc --help`` lists them
without importing the codec), settings live in ``config.py``, and the source factory is
imported when a replay asks for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

from bussdcc_framework import hookimpl
from bussdcc_framework.cli.lazy import LazyCommand
from bussdcc_framework.settings import Setting

from .config import SETTINGS, ReplayConfig

if TYPE_CHECKING:
    from bussdcc_framework.settings import Settings
    from bussdcc_framework.sources import SourceFactory


@hookimpl
def register_settings() -> Iterable[Setting]:
    return SETTINGS


@hookimpl
def register_sources(settings: Settings) -> Iterable[SourceFactory]:
    """The JSONL source factory: directories and ``.jsonl``/``.jsonl.gz`` files."""
    from .factory import JsonlSourceFactory

    return [JsonlSourceFactory(max_line=ReplayConfig.from_settings(settings).max_line)]


@hookimpl
def register_commands() -> Iterable[click.Command]:
    """``bussdcc replay`` and ``bussdcc events info|cat``."""
    return [
        LazyCommand(
            "replay",
            "bussdcc_framework_replay.cli:replay_command",
            short_help="Replay recorded events (directories, .jsonl and .jsonl.gz files, merged by time).",
        ),
        LazyCommand(
            "events",
            "bussdcc_framework_replay.cli:events_group",
            short_help="Inspect recorded event logs (directories, .jsonl and .jsonl.gz files).",
        ),
    ]
