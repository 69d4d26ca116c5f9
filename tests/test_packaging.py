"""Release smoke test: build every wheel, install ``bussdcc-framework[web,jsonl]`` offline.

The install uses ``--no-index`` with a local wheelhouse holding our wheels and their
dependencies, so it can never pick up the unrelated ``bussdcc-framework`` 0.46.0 on PyPI. The
third-party wheels are downloaded once and cached in pytest's cache directory, keyed by the
locked requirements; our own wheels are rebuilt every run (they are what is being tested).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv to build the workspace"),
]


def run(*args: str | Path, cwd: Path = ROOT, timeout: float = 600) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BUSSDCC_", "VIRTUAL_ENV", "PYTHONPATH", "UV_PROJECT"))
    }
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="session")
def dependency_wheels(request: pytest.FixtureRequest) -> Path:
    """Wheels of every locked third-party dependency, downloaded once per lock file."""
    requirements = run(
        "uv",
        "export",
        "--all-packages",
        "--all-extras",
        "--no-dev",
        "--no-emit-workspace",
        "--no-hashes",
        "--frozen",
        "--no-header",
        "--no-annotate",
    )
    key = hashlib.sha256(f"{PYTHON}\n{requirements}".encode()).hexdigest()[:16]
    if getattr(request.config, "cache", None) is not None:
        cache = Path(request.config.cache.mkdir("bussdcc-wheelhouse"))
    else:  # -p no:cacheprovider: download once per session
        cache = request.getfixturevalue("tmp_path_factory").mktemp("bussdcc-wheelhouse")
    folder = cache / key
    if (folder / ".complete").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.txt").write_text(requirements)
    tools = cache / "pip-venv"
    if not (tools / "bin" / "pip").exists():
        run("uv", "venv", "--seed", "--python", sys.executable, tools)
    run(
        tools / "bin" / "python",
        "-m",
        "pip",
        "download",
        "--quiet",
        "--only-binary=:all:",
        "--python-version",
        PYTHON,
        "-r",
        folder / "requirements.txt",
        "-d",
        folder,
    )
    (folder / ".complete").write_text("ok")
    return folder


@pytest.fixture(scope="session")
def our_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One wheel per distribution of the workspace, freshly built."""
    out = tmp_path_factory.mktemp("dist")
    run("uv", "build", "--all-packages", "--wheel", "--out-dir", out, timeout=900)
    return out


def test_build_gives_one_wheel_per_distribution(our_wheels: Path) -> None:
    names = sorted(p.name.split("-")[0] for p in our_wheels.glob("*.whl"))
    assert names == [
        "bussdcc_framework",
        "bussdcc_framework_console",
        "bussdcc_framework_identity",
        "bussdcc_framework_jsonl",
        "bussdcc_framework_mqtt",
        "bussdcc_framework_replay",
        "bussdcc_framework_web",
    ]
    [core] = our_wheels.glob("bussdcc_framework-*.whl")
    assert core.name.split("-")[1] >= "1.0.0"


def test_offline_install_of_web_and_jsonl_discovers_exactly_those(
    our_wheels: Path, dependency_wheels: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    run("uv", "venv", "--seed", "--python", sys.executable, venv)
    run(
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-index",
        "--find-links",
        our_wheels,
        "--find-links",
        dependency_wheels,
        "bussdcc-framework[web,jsonl]",
    )

    listed = json.loads(run(venv / "bin" / "bussdcc", "plugins", "--json", cwd=tmp_path))
    assert sorted((p["name"], p["distribution"], p["status"]) for p in listed) == [
        ("jsonl", "bussdcc-framework-jsonl", "loaded"),
        ("web", "bussdcc-framework-web", "loaded"),
    ]
    everything = json.loads(run(venv / "bin" / "bussdcc", "plugins", "--json", "--all", cwd=tmp_path))
    assert len(everything) == 2  # console, replay, identity are not installed at all

    versions = run(venv / "bin" / "bussdcc", "--version", cwd=tmp_path).splitlines()
    assert versions[0].startswith("bussdcc-framework ") and versions[0].split()[1] >= "1.0.0"
    installed = run(venv / "bin" / "python", "-m", "pip", "list", "--format", "json")
    names = {p["name"].lower() for p in json.loads(installed)}
    assert "bussdcc-framework-console" not in names
    assert {"bussdcc-framework", "bussdcc-framework-web", "bussdcc-framework-jsonl"} <= names

    # the original import paths work from the installed wheels, and a plugin that was not
    # installed says which extra to install
    check = run(
        venv / "bin" / "python",
        "-c",
        (
            "from bussdcc_framework.io.jsonl import JsonlSink\n"
            "from bussdcc_framework.interface.web import WebInterface\n"
            "try:\n"
            "    from bussdcc_framework.io.console import ConsoleSink\n"
            "except ImportError as exc:\n"
            "    print(exc)\n"
        ),
        cwd=tmp_path,
    )
    assert "pip install 'bussdcc-framework[console]'" in check


def test_plain_pip_installs_the_checkout_in_one_command(dependency_wheels: Path, tmp_path: Path) -> None:
    # The README's pip path: `pip install ./ ./plugins/*/` from a checkout, in one command.
    # Build requirements (hatchling, node for the web assets) come from the index; the
    # checkout's own directories win over the unrelated bussdcc-framework on PyPI.
    venv = tmp_path / "venv"
    run("uv", "venv", "--seed", "--python", sys.executable, venv)
    plugins = sorted(str(p) + "/" for p in (ROOT / "plugins").iterdir() if p.is_dir())
    run(
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--find-links",
        dependency_wheels,
        "./",
        *plugins,
        timeout=900,
    )
    listed = json.loads(run(venv / "bin" / "bussdcc", "plugins", "--json", cwd=tmp_path))
    assert sorted(p["name"] for p in listed if p["status"] == "loaded") == [
        "console",
        "identity",
        "jsonl",
        "mqtt",
        "replay",
        "web",
    ]
    version = run(venv / "bin" / "bussdcc", "--version", cwd=tmp_path).splitlines()[0]
    assert version.startswith("bussdcc-framework 1.")
