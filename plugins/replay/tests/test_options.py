"""Parsing of --start/--end values and the JSONL source factory."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from bussdcc_framework_replay import JsonlSource
from bussdcc_framework_replay.cli.timeparse import TIME_BOUND, parse_bound
from bussdcc_framework_replay.factory import JsonlSourceFactory
from replay_helpers import ORIGINAL, ORIGINAL_LOG, readings, registry, write_log

from bussdcc_framework.plugins import load_plugins


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+90", timedelta(seconds=90)),
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("+1h30m", timedelta(hours=1, minutes=30)),
        ("250ms", timedelta(milliseconds=250)),
        ("+1.5m", timedelta(seconds=90)),
        ("2026-03-09", datetime(2026, 3, 9, tzinfo=UTC)),
        ("2026-03-09 12:00:01", datetime(2026, 3, 9, 12, 0, 1, tzinfo=UTC)),
        ("2026-03-09T12:00:00Z", datetime(2026, 3, 9, 12, tzinfo=UTC)),
        ("2026-03-09T13:00:00+01:00", datetime(2026, 3, 9, 12, tzinfo=UTC)),
    ],
)
def test_time_bounds(text: str, expected: object) -> None:
    assert parse_bound(text) == expected


@pytest.mark.parametrize("text", ["90", "yesterday", "+", "+5x", "5 minutes", ""])
def test_bad_time_bounds(text: str) -> None:
    with pytest.raises(ValueError):
        parse_bound(text)
    # What the user reads (--start/--end): the value and both accepted forms.
    with pytest.raises(
        click.BadParameter,
        match=rf"^{re.escape(repr(text))} is not a time: use ISO-8601 \(2026-03-09T12:00:00, naive means "
        r"UTC; or a date\) or an offset from the first event such as \+90, 90s, 5m, 1h30m$",
    ):
        TIME_BOUND.convert(text, None, None)


def test_factory_opens_directories_and_jsonl_files(tmp_path: Path) -> None:
    factory = JsonlSourceFactory()
    odd_name = write_log(tmp_path / "capture.log", readings([1]))
    (tmp_path / "notes.txt").write_text("hello")

    assert factory.can_open(str(ORIGINAL)) and factory.can_open(str(ORIGINAL_LOG))
    assert factory.can_open(str(odd_name))  # sniffed: starts with "{"
    assert not factory.can_open(str(tmp_path / "notes.txt"))
    assert not factory.can_open(str(tmp_path / "missing.jsonl"))

    source = factory.with_options(registry=registry()).open([str(odd_name)], types=["Soil*"])
    assert isinstance(source, JsonlSource)
    assert len(list(source)) == 1


def test_plugin_registers_the_factory_and_the_commands() -> None:
    pm = load_plugins()  # no BUSSDCC_PLUGINS here (conftest.py): every installed plugin
    assert pm.get_plugin("replay") is not None
    factories = pm.sources(None)
    assert any(isinstance(f, JsonlSourceFactory) for f in factories)
    assert {c.name for _, c in pm.commands(None)} >= {"replay", "events"}
