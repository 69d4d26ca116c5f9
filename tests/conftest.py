"""Shared fixtures: throw-away plugin distributions and the ``bussdcc`` CLI as a real subprocess.

A plugin distribution is made the way an installer leaves it: a directory on ``sys.path``
holding the module and ``<dist>-<version>.dist-info/{METADATA,entry_points.txt}``. Putting that
directory on ``PYTHONPATH`` of a subprocess makes ``importlib.metadata`` discover the entry point
exactly as it would for a pip-installed plugin.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
BUSSDCC = BIN / "bussdcc"
WORKSPACE_PLUGINS = ["console", "identity", "jsonl", "mqtt", "replay", "web"]


@dataclass
class PluginDist:
    """One throw-away plugin distribution inside a site directory."""

    site: Path
    dist: str
    version: str
    entry_point: str
    module: str


class SiteDir:
    """A directory of fake installed distributions, usable on ``PYTHONPATH``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def add(
        self,
        dist: str,
        source: str,
        *,
        version: str = "1.0.0",
        entry_point: str | None = None,
        module: str | None = None,
        group: str = "bussdcc_framework",
        extra_entry_points: Sequence[tuple[str, str]] = (),
    ) -> PluginDist:
        """Write ``module.py`` with ``source`` and a dist-info declaring its entry point."""
        module = module or dist.replace("-", "_").replace(".", "_")
        entry_point = entry_point or module
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = [f"[{group}]", f"{entry_point} = {module}"]
        lines += [f"{name} = {value}" for name, value in extra_entry_points]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        return PluginDist(self.root, dist, version, entry_point, module)


@pytest.fixture
def site(tmp_path: Path) -> SiteDir:
    """A fresh site directory for throw-away plugin distributions."""
    return SiteDir(tmp_path / "site")


def clean_env(
    extra: Mapping[str, str | None] | None = None, pythonpath: Sequence[Path] = ()
) -> dict[str, str]:
    """The test process environment without any ``BUSSDCC_*`` variable, plus ``extra``.

    A value of ``None`` in ``extra`` removes the variable (to test "unset").
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
    env.pop("PYTHONPATH", None)
    env["PYTHONUNBUFFERED"] = "1"
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_cli(site: SiteDir, tmp_path: Path) -> RunCli:
    """``run_cli(*args, env={...}, timeout=30)``: run the ``bussdcc`` console script.

    The site directory of throw-away plugins is on ``PYTHONPATH``; the working directory is
    ``tmp_path``; no ``BUSSDCC_*`` variable leaks in from the developer's shell.
    """

    def run(
        *args: str,
        env: Mapping[str, str | None] | None = None,
        timeout: float = 60,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BUSSDCC), *args],
            env=clean_env(env, [site.root]),
            cwd=cwd or tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


def run_python(
    code: str,
    env: Mapping[str, str | None] | None = None,
    pythonpath: Sequence[Path] = (),
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter of the test venv."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=clean_env(env, pythonpath),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def python() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``python(code, env=..., pythonpath=...)``: run code in a fresh interpreter."""
    return run_python


def stderr_lines(result: subprocess.CompletedProcess[str], prefix: str = "bussdcc:") -> list[str]:
    """The lines of stderr that start with ``prefix``."""
    return [line for line in result.stderr.splitlines() if line.startswith(prefix)]


TRACE_LINE = re.compile(r"^bussdcc trace: (\w+)\(", re.M)


@pytest.fixture
def hook_trace(request: pytest.FixtureRequest) -> Callable[[str], set[str]]:
    """``hook_trace(stderr)``: the hooks a ``bussdcc`` run with ``BUSSDCC_TRACE_PLUGINS=1`` called.

    Also notes them for ``test_hookspecs_meta.py`` (``tests/hook_exercise.py``), which requires
    each ``test_hook_<name>`` to call its hook, here or in a subprocess it traces.
    """

    def seen(stderr: str) -> set[str]:
        hooks = set(TRACE_LINE.findall(stderr))
        request.node.user_properties.extend(("hook_called", hook) for hook in sorted(hooks))
        return hooks

    return seen


def abort_with_stacks(proc: subprocess.Popen[str]) -> str:
    """Abort a child that should have exited; say how it handled signals while it hung.

    A child started with ``PYTHONFAULTHANDLER=1`` prints every thread's stack on stderr when
    SIGABRT kills it, so the caller's failure message (with the child's stderr) shows where
    it waited; the ``Sig*`` lines of ``/proc`` show whether Ctrl-C was ignored or blocked.
    """
    try:
        status = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
    except OSError:
        status = []
    proc.send_signal(signal.SIGABRT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return " ".join(
        line.replace("\t", " ") for line in status if line.startswith(("SigBlk", "SigIgn", "SigCgt"))
    )


@pytest.fixture
def hang_report() -> Callable[[subprocess.Popen[str]], str]:
    """``abort_with_stacks``, for tests whose child must exit after a signal."""
    return abort_with_stacks
