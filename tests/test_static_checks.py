"""The code type-checks with ``mypy --strict`` and passes ``ruff``: kept true by the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    ROOT / "core" / "bussdcc_framework",
    *sorted(path for path in (ROOT / "plugins").glob("*/bussdcc_framework_*") if path.is_dir()),
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


@pytest.mark.timeout(600)
def test_mypy_strict_is_clean_for_the_core_and_every_plugin() -> None:
    assert len(PACKAGES) == 7
    result = run("mypy", "--strict", *map(str, PACKAGES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_check_is_clean_for_the_whole_tree() -> None:
    """Code, tests, examples and benchmarks alike (``.``: everything git tracks)."""
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied_to_the_whole_tree() -> None:
    result = run("ruff", "format", "--check", ".")
    assert result.returncode == 0, "run `ruff format .`:\n" + result.stdout + result.stderr
