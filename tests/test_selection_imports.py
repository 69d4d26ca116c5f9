"""A plugin that ``BUSSDCC_PLUGINS`` does not select is never imported, by any command.

Selection happens on entry-point metadata, before import: an installed but unselected plugin
may be broken, slow or hostile, and selecting others is the way to run without it. Each plugin
here leaves a marker file when its module is imported (the "bomb" also fails), so "not
imported" is observed, not inferred from a status column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

MARKED = """
from pathlib import Path
Path({marker!r}).write_text("imported")
{tail}
"""

ALPHA_TAIL = """
from bussdcc_framework import hookimpl
from bussdcc_framework.settings import Setting

@hookimpl
def register_settings():
    return [Setting("alpha", "greeting", "str", "hello")]
"""


@pytest.fixture
def plugins(site: Any, tmp_path: Path) -> dict[str, Path]:
    """Three installed plugins (alpha, bomb, gamma), each with its import marker."""
    markers = {}
    for name, tail in (
        ("alpha", ALPHA_TAIL),
        ("bomb", 'raise RuntimeError("kaboom")'),
        ("gamma", "from bussdcc_framework import hookimpl"),
    ):
        markers[name] = tmp_path / f"{name}-imported"
        site.add(
            f"bussdcc-test-{name}", MARKED.format(marker=str(markers[name]), tail=tail), entry_point=name
        )
    return markers


def imported(markers: dict[str, Path]) -> set[str]:
    return {name for name, marker in markers.items() if marker.exists()}


COMMANDS = [
    ("plugins", "--json"),
    ("plugins", "--json", "--all"),
    ("plugins", "--traceback"),
    ("settings", "--json"),
    ("--version",),
    ("--help",),
    ("run", "--help"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_only_selected_plugins_are_imported(
    plugins: dict[str, Path], run_cli: Any, args: tuple[str, ...]
) -> None:
    result = run_cli(*args, env={"BUSSDCC_PLUGINS": "alpha"})
    assert result.returncode == 0, result.stderr
    assert imported(plugins) == {"alpha"}, result.stderr
    assert "kaboom" not in result.stderr


def test_not_selected_plugins_are_listed_without_being_imported(
    plugins: dict[str, Path], run_cli: Any
) -> None:
    result = run_cli("plugins", "--json", "--all", env={"BUSSDCC_PLUGINS": "gamma"})
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert listed["alpha"]["status"] == listed["bomb"]["status"] == "not selected"
    assert listed["alpha"]["version"] == "1.0.0"  # from the distribution's metadata
    assert listed["gamma"]["status"] == "loaded"
    assert imported(plugins) == {"gamma"}


def test_an_empty_selection_imports_no_plugin(plugins: dict[str, Path], run_cli: Any) -> None:
    result = run_cli("settings", "--json", env={"BUSSDCC_PLUGINS": ""})
    assert result.returncode == 0, result.stderr
    assert imported(plugins) == set()


def test_load_plugins_imports_only_the_selection(plugins: dict[str, Path], python: Any, site: Any) -> None:
    result = python(
        """
        from bussdcc_framework.plugins import load_plugins
        from bussdcc_framework.runtime import Runtime

        pm = load_plugins()
        runtime = Runtime.from_plugins(plugins=pm)
        print(sorted(r.name for r in pm.loaded()))
        """,
        env={"BUSSDCC_PLUGINS": "alpha,gamma"},
        pythonpath=[site.root],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['alpha', 'gamma']"
    assert imported(plugins) == {"alpha", "gamma"}  # the bomb, installed and not selected: never
