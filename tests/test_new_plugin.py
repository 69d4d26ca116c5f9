"""The third-party plugin kit: ``bussdcc new-plugin`` and ``examples/plugins/bussdcc-csv-sink``.

The slow tests do what an outside author does: create a fresh virtual environment, install the
core from this workspace and the plugin distribution into it (a real build through its
``pyproject.toml``), then run ``bussdcc plugins`` and the plugin's own tests with that
environment's interpreter. One environment is shared by the whole module.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bussdcc_framework.cli import cli
from bussdcc_framework.cli.new_plugin import PluginNames, render_skeleton

REPO = Path(__file__).resolve().parents[1]
CSV_PLUGIN = REPO / "examples" / "plugins" / "bussdcc-csv-sink"


# -- names and rendering (fast) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "dist", "package", "entry", "env"),
    [
        ("csv-sink", "bussdcc-csv-sink", "bussdcc_csv_sink", "csv_sink", "BUSSDCC_CSV_SINK_GREETING"),
        ("Modbus", "bussdcc-modbus", "bussdcc_modbus", "modbus", "BUSSDCC_MODBUS_GREETING"),
        (
            "bussdcc-mqtt_bridge",
            "bussdcc-mqtt-bridge",
            "bussdcc_mqtt_bridge",
            "mqtt_bridge",
            "BUSSDCC_MQTT_BRIDGE_GREETING",
        ),
    ],
)
def test_names_are_derived_from_one_name(raw: str, dist: str, package: str, entry: str, env: str) -> None:
    names = PluginNames.from_name(raw)
    assert (names.dist, names.package, names.entry_name, names.env_var) == (dist, package, entry, env)


@pytest.mark.parametrize("bad", ["", "9lives", "has space", "a--b", "x/../y", "ünï", "-x"])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a plugin name"):
        PluginNames.from_name(bad)


def test_skeleton_is_complete_and_valid_python() -> None:
    rendered = render_skeleton(PluginNames.from_name("csv-sink"))
    assert sorted(str(p) for p in rendered) == [
        ".gitignore",
        "CHANGELOG.md",
        "README.md",
        "bussdcc_csv_sink/__init__.py",
        "bussdcc_csv_sink/command.py",
        "bussdcc_csv_sink/config.py",
        "bussdcc_csv_sink/messages.py",
        "bussdcc_csv_sink/plugin.py",
        "bussdcc_csv_sink/py.typed",
        "bussdcc_csv_sink/service.py",
        "bussdcc_csv_sink/sink.py",
        "bussdcc_csv_sink/web.py",
        "pyproject.toml",
        "tests/test_plugin.py",
    ]
    for path, text in rendered.items():
        assert "$" not in text.replace("$ ", ""), f"unfilled placeholder in {path}"
        if path.suffix == ".py":
            ast.parse(text, filename=str(path))
    import tomllib

    pyproject = tomllib.loads(rendered[Path("pyproject.toml")])
    assert pyproject["project"]["name"] == "bussdcc-csv-sink"
    assert pyproject["project"]["entry-points"]["bussdcc_framework"] == {
        "csv_sink": "bussdcc_csv_sink.plugin"
    }


def test_cli_writes_the_skeleton_and_refuses_to_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["new-plugin", "weather", "--dir", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert "created" in first.output and "bussdcc-weather" in first.output
    assert (tmp_path / "bussdcc-weather" / "bussdcc_weather" / "plugin.py").is_file()
    again = runner.invoke(cli, ["new-plugin", "weather", "--dir", str(tmp_path)])
    assert again.exit_code == 2
    assert "already exists" in again.output
    bad = runner.invoke(cli, ["new-plugin", "no good", "--dir", str(tmp_path)])
    assert bad.exit_code == 2 and "is not a plugin name" in bad.output


@pytest.mark.parametrize("name", ["weather", "greenhouse-extras"])
def test_generated_code_is_formatted_lint_clean_and_typed(name: str, tmp_path: Path) -> None:
    """An author starts from code that passes ruff and mypy --strict under the project's settings."""
    runner = CliRunner()
    assert runner.invoke(cli, ["new-plugin", name, "--dir", str(tmp_path)]).exit_code == 0
    project = tmp_path / PluginNames.from_name(name).dist
    bin_dir = Path(sys.executable).parent
    for command in (
        [str(bin_dir / "ruff"), "check", "--no-cache", "."],
        [str(bin_dir / "ruff"), "format", "--no-cache", "--check", "."],
        [str(bin_dir / "mypy"), "--strict", "--no-incremental", PluginNames.from_name(name).package],
    ):
        done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command[0]}: {done.stdout}{done.stderr}"


# -- installed into a fresh environment, as an outside author would (slow) -----------------


class Venv:
    """A virtual environment made with uv, with helpers to install and run in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.python = root / "bin" / "python"
        self.uv = _uv()

    def create(self) -> None:
        self.run_uv("venv", "--quiet", "--python", sys.executable, str(self.root))

    def install(self, *requirements: str) -> None:
        self.run_uv("pip", "install", "--quiet", "--python", str(self.python), *requirements)

    def run_uv(self, *args: str) -> None:
        done = subprocess.run([*self.uv, *args], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"uv {' '.join(args)} failed:\n{done.stdout}{done.stderr}"

    def bussdcc(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.root / "bin" / "bussdcc"), *args], capture_output=True, text=True, timeout=60, **kw
        )  # type: ignore[call-overload]

    def pytest(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=180,
        )


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    probe = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", "uv"]
    pytest.skip("uv is not installed (tests/run installs it)")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    env = Venv(tmp_path_factory.mktemp("author") / "venv")
    env.create()
    env.install(str(REPO), "pytest>=8")  # the core only, built from this workspace
    yield env


@pytest.mark.slow
def test_generated_plugin_installs_is_discovered_and_passes_its_tests(venv: Venv, tmp_path: Path) -> None:
    made = venv.bussdcc("new-plugin", "greenhouse-extras", "--dir", str(tmp_path))
    assert made.returncode == 0, made.stderr
    project = tmp_path / "bussdcc-greenhouse-extras"
    venv.install("-e", f"{project}[test]")

    listed = venv.bussdcc("plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    record = next(p for p in json.loads(listed.stdout) if p["name"] == "greenhouse_extras")
    assert record["status"] == "loaded"
    assert record["distribution"] == "bussdcc-greenhouse-extras"

    tests = venv.pytest(cwd=project)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    # a service, a sink, a command and a route, each tested, plus settings and discovery
    assert "7 passed" in tests.stdout
    tree = ast.parse((project / "tests" / "test_plugin.py").read_text())
    names = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert {
        "test_the_service_greets_on_every_tick",
        "test_the_sink_counts_every_event_by_type",
        "test_the_command_prints_the_greeting",
        "test_the_route_reports_the_ticks",
    } <= names
    command = venv.bussdcc("greenhouse-extras", "--text", "hi")
    assert (command.returncode, command.stdout) == (0, "hi\n"), command.stderr


@pytest.mark.slow
def test_csv_sink_example_installs_like_a_third_party_plugin(venv: Venv, tmp_path: Path) -> None:
    project = tmp_path / "bussdcc-csv-sink"
    shutil.copytree(CSV_PLUGIN, project, ignore=shutil.ignore_patterns("__pycache__"))
    venv.install(f"{project}[test]")  # a regular (non-editable) install: a real wheel build

    listed = venv.bussdcc("plugins")
    assert listed.returncode == 0, listed.stderr
    assert "bussdcc_csv_sink.plugin" in listed.stdout
    settings = venv.bussdcc(
        "settings", "--json", env={"BUSSDCC_CSV_TYPES": "*Alert*", "PATH": "/usr/bin:/bin"}
    )
    by_key = {s["key"]: s for s in json.loads(settings.stdout)}
    assert by_key["csv.types"] == {**by_key["csv.types"], "value": ["*Alert*"], "source": "environment"}

    # Its tests run against the installed distribution: the package folder is moved away.
    shutil.rmtree(project / "bussdcc_csv_sink")
    tests = venv.pytest(cwd=project)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "7 passed" in tests.stdout
