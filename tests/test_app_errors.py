"""An application that does not import: one line with file and line, exit 2, no traceback.

A syntax error or a failed import in the user's code is the user's mistake; ``bussdcc run``
and ``bussdcc replay --app`` say where to fix it, as a compiler would, in real subprocesses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BUSSDCC = str(Path(sys.executable).parent / "bussdcc")

APPS = {
    "syntax": (
        {"app.py": "def setup(runtime):\n    x = (\n"},
        "app.py:2: SyntaxError: '(' was never closed",
    ),
    "indentation": (
        {"app.py": "def setup(runtime):\npass\n"},
        "app.py:2: IndentationError: expected an indented block after function definition on line 1",
    ),
    "missing module": (
        {"app.py": "import os\nimport no_such_module_anywhere\n\ndef setup(runtime):\n    pass\n"},
        "app.py:2: ModuleNotFoundError: No module named 'no_such_module_anywhere' "
        "(is it installed in this environment, and is the name right?)",
    ),
    "missing name": (
        {"app.py": "from os import no_such_name\n\ndef setup(runtime):\n    pass\n"},
        "app.py:1: ImportError: cannot import name 'no_such_name' from 'os'",
    ),
    "error in a module next to the app": (
        {
            "app.py": "import helpers\n\ndef setup(runtime):\n    pass\n",
            "helpers.py": "VALUE = 1\n\n\ndef broken(:\n    pass\n",
        },
        "helpers.py:4: SyntaxError: invalid syntax",
    ),
}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
    env["BUSSDCC_PLUGINS"] = "replay"  # nothing that opens a port or prints events
    return subprocess.run([BUSSDCC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(text)


def assert_one_clean_line(done: subprocess.CompletedProcess[str], expected: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # one message, no traceback
    assert lines[0].startswith(f"bussdcc: error: {expected}"), lines[0]
    assert "Traceback" not in done.stderr and "click" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("case", list(APPS))
def test_bussdcc_run_names_the_file_and_line(case: str, tmp_path: Path) -> None:
    files, expected = APPS[case]
    write(tmp_path, files)
    assert_one_clean_line(run("run", "app.py", cwd=tmp_path), expected)


@pytest.mark.parametrize("case", ["syntax", "missing module"])
def test_replay_app_names_the_file_and_line(case: str, tmp_path: Path) -> None:
    files, expected = APPS[case]
    write(tmp_path, files)
    (tmp_path / "events").mkdir()
    done = run("replay", "events", "--app", "app.py", cwd=tmp_path)
    assert_one_clean_line(done, expected)


def test_a_dotted_app_module_that_fails_to_import_is_located_too(tmp_path: Path) -> None:
    package = tmp_path / "myapp"
    package.mkdir()
    write(package, {"__init__.py": "", "main.py": "import no_such_dependency\n"})
    done = run("run", "myapp.main", cwd=tmp_path)
    assert_one_clean_line(done, f"{os.path.join('myapp', 'main.py')}:1: ModuleNotFoundError: No module named")


def test_an_app_outside_the_working_directory_is_named_by_its_path(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    write(tmp_path / "apps", {"app.py": "def setup(runtime)\n    pass\n"})
    (tmp_path / "elsewhere").mkdir()
    done = run("run", str(tmp_path / "apps" / "app.py"), cwd=tmp_path / "elsewhere")
    assert_one_clean_line(done, f"{tmp_path / 'apps' / 'app.py'}:1: SyntaxError: expected ':'")
