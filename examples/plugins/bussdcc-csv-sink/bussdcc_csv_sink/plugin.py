"""The hooks bussdcc-framework calls; the entry point ``csv`` names this module.

Settings (``bussdcc settings`` lists them):

* ``csv.path`` / ``BUSSDCC_CSV_PATH``: the CSV file to append to. Unset: the plugin adds no sink,
  so installing it changes nothing until you ask for it.
* ``csv.types`` / ``BUSSDCC_CSV_TYPES``: comma-separated type patterns to keep, e.g.
  ``greenhouse.*,*Alert*``; empty keeps everything.
"""

from __future__ import annotations

from collections.abc import Iterable

from bussdcc.io import EventSinkProtocol

from bussdcc_framework import hookimpl
from bussdcc_framework.settings import Setting, Settings

from .sink import CsvSink


@hookimpl
def register_settings() -> Iterable[Setting]:
    return [
        Setting("csv", "path", "path", None, "CSV file to append every event to (unset: off)"),
        Setting("csv", "types", "list", (), "only these type patterns, e.g. greenhouse.*"),
    ]


@hookimpl
def register_sinks(settings: Settings) -> Iterable[EventSinkProtocol]:
    path = settings.get("csv.path")
    if path is None:
        return []
    return [CsvSink(path, types=settings.get("csv.types", ()))]
