"""The suite's own rules (the repository's ``conftest.py``), checked in child pytest runs.

No ``BUSSDCC_*`` variable of the shell reaches a test, and one test's leak does not reach the
next; in CI a skipped test fails unless ``ALLOWED_SKIPS`` lists it with its reason.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def suite_conftest() -> object:
    spec = importlib.util.spec_from_file_location("suite_conftest", ROOT / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def child_pytest(
    where: Path,
    files: dict[str, str],
    *args: str,
    env: dict[str, str] | None = None,
    ignoring_ctrl_c: bool = False,
) -> subprocess.CompletedProcess[str]:
    """pytest in ``where`` (its rootdir) with the repository's conftest.py as a plugin.

    ``ignoring_ctrl_c`` starts it the way ``nohup`` and a non-interactive shell's background
    job (``nohup ./tests/run &`` in a script) do: with SIGINT, SIGHUP (and here SIGTERM)
    ignored, which every child inherits.
    """
    for name, text in files.items():
        path = where / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    base = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_") and k != "CI"}
    base.update(PYTHONPATH=str(ROOT), **(env or {}))
    ignore_ctrl_c = (
        (lambda: [signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM)])
        if ignoring_ctrl_c
        else None
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "conftest",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-rA",
            "--rootdir",
            str(where),
            *args,
        ],
        cwd=where,
        env=base,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=ignore_ctrl_c,
    )


ENVIRONMENT_TESTS = """
import os

def test_a_sees_only_test_machine_variables():
    assert sorted(k for k in os.environ if k.startswith("BUSSDCC_")) == ["BUSSDCC_TEST_CHROMIUM"]

def test_b_leaks_a_variable():
    os.environ["BUSSDCC_WEB_PORT"] = "1"

def test_c_does_not_see_the_leak():
    assert "BUSSDCC_WEB_PORT" not in os.environ
"""


def test_no_bussdcc_variable_of_the_shell_nor_of_another_test_reaches_a_test(tmp_path: Path) -> None:
    result = child_pytest(
        tmp_path,
        {"test_env.py": ENVIRONMENT_TESTS},
        env={
            "BUSSDCC_PLUGINS": "jsonl",
            "BUSSDCC_WEB_PORT": "70000",
            "BUSSDCC_TEST_CHROMIUM": "/usr/bin/chromium",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


CTRL_C_TESTS = """
import signal, subprocess, sys

def test_a_child_process_can_be_interrupted():
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    child = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    assert subprocess.run([sys.executable, "-c", child], capture_output=True, text=True).stdout == "True\\n"

def test_a_child_gets_hangup_and_term_at_their_defaults_while_the_suite_ignores_them():
    status = subprocess.run(["cat", "/proc/self/status"], capture_output=True, text=True).stdout
    ignored = int(next(l for l in status.splitlines() if l.startswith("SigIgn:")).split()[1], 16)
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        assert not ignored & (1 << (signum - 1)), signum
    signal.raise_signal(signal.SIGHUP)  # the suite itself still ignores it
    signal.raise_signal(signal.SIGTERM)

def test_b_leaves_its_own_handler():
    signal.signal(signal.SIGINT, lambda *_: None)

def test_c_starts_with_pythons_handler():
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
"""


def test_every_test_and_its_children_get_ctrl_c_even_when_the_suite_ignores_it(tmp_path: Path) -> None:
    """A suite started as a background job ignores SIGINT, and so would every process it starts:
    the tests that stop a child with Ctrl-C would wait for it forever."""
    result = child_pytest(tmp_path, {"test_ctrl_c.py": CTRL_C_TESTS}, ignoring_ctrl_c=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


SKIPPING_TESTS = {
    "plugins/jsonl/tests/test_outages.py": """
        import pytest

        def test_a_real_full_disk_leaves_at_most_one_new_segment_per_outage():
            pytest.skip("cannot mount a tmpfs: unshare: operation not permitted")
    """,
    "tests/test_other.py": """
        import pytest

        def test_skips_for_no_listed_reason():
            pytest.skip("chromium is not installed")

        @pytest.mark.skipif(True, reason="BUSSDCC_SKIP_BROWSER_TESTS=1")
        def test_skipped_by_a_marker():
            pass

        @pytest.mark.xfail(reason="a known bug", strict=True)
        def test_expected_to_fail():
            assert False
    """,
}


def test_in_ci_a_skip_fails_unless_it_is_allowed_with_its_reason(tmp_path: Path) -> None:
    strict = child_pytest(tmp_path, SKIPPING_TESTS, "--strict-skips")
    out = strict.stdout
    assert strict.returncode == 1, out + strict.stderr
    assert "SKIPPED [1] plugins/jsonl/tests/test_outages.py" in out  # allowed, with its reason
    assert "FAILED tests/test_other.py::test_skips_for_no_listed_reason" in out
    assert "ERROR tests/test_other.py::test_skipped_by_a_marker" in out  # skipped at set-up
    assert "skipped in CI (chromium is not installed)" in out
    assert "XFAIL tests/test_other.py::test_expected_to_fail" in out  # not a skip
    assert "1 failed, 1 skipped, 1 xfailed, 1 error" in out

    as_ci = child_pytest(tmp_path / "ci", SKIPPING_TESTS, env={"CI": "true"})
    assert "1 failed, 1 skipped, 1 xfailed, 1 error" in as_ci.stdout, as_ci.stdout

    local = child_pytest(tmp_path / "local", SKIPPING_TESTS)
    assert local.returncode == 0, local.stdout + local.stderr
    assert "3 skipped, 1 xfailed" in local.stdout


def test_every_allowed_skip_names_a_test_that_exists() -> None:
    conftest = suite_conftest()
    tests: list[str] = []
    for path in [*ROOT.glob("tests/**/test_*.py"), *ROOT.glob("plugins/*/tests/**/test_*.py")]:
        tree = ast.parse(path.read_text(), str(path))
        tests += [
            f"{path.relative_to(ROOT)}::{node.name}"
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        ]
    for entry in conftest.ALLOWED_SKIPS:  # type: ignore[attr-defined]
        assert entry.why and entry.reason
        assert fnmatch.filter(tests, entry.nodeid), f"ALLOWED_SKIPS names no existing test: {entry.nodeid}"


def test_tests_run_asks_for_strict_skips() -> None:
    assert "pytest --strict-skips" in (ROOT / "tests" / "run").read_text()
