"""The ``bussdcc`` command as a real subprocess: run, plugins, settings, --version, plugin commands."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bussdcc_framework.app import AppError, build_runtime, resolve
from bussdcc_framework.runtime import Runtime

# An application piece shared by the app files below: prints events, stops after booting.
APP_COMMON = '''
import threading
from bussdcc.process import Process
from bussdcc.service import Service


class Printer(Process):
    name = "printer"

    def handle_event(self, ctx, evt):
        name = type(evt.payload).__name__
        if name in {"FrameworkBooted", "FrameworkShuttingDown", "Hello"}:
            print(f"event {name} runtime={type(ctx.runtime).__name__}", flush=True)


class Quit(Service):
    """Stops the runtime after its first tick, so `bussdcc run` returns."""

    name = "quit"
    interval = 0.01

    def tick(self, ctx):
        ctx.runtime.shutdown("app finished")
'''


def write_app(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(APP_COMMON + textwrap.dedent(body))
    return path


# A plugin contributing a sink (to show plugins are added to every app) and a command.
TOOLS = '''
import click
from bussdcc_framework import hookimpl


class EchoSink:
    name = "echo"

    def start(self, ctx):
        pass

    def stop(self):
        pass

    def handle(self, evt):
        if type(evt.payload).__name__ == "FrameworkBooted":
            print("plugin sink saw FrameworkBooted", flush=True)


@click.command("hello")
@click.option("--name", default="world")
def hello(name):
    """Say hello (from a plugin)."""
    click.echo(f"hello {name}")


@click.command("run")
def clash():
    """A plugin command whose name the core already uses."""


@hookimpl
def register_sinks(settings):
    return [EchoSink()]


@hookimpl
def register_commands():
    return [hello, clash]
'''


@pytest.fixture
def tools(site: Any) -> Any:
    return site.add("bussdcc-test-tools", TOOLS, version="3.1.4", entry_point="tools")


# -- bussdcc run [APP] ----------------------------------------------------------------------


def test_run_app_file_with_setup_function(tools: Any, run_cli: Any, tmp_path: Path) -> None:
    app = write_app(
        tmp_path,
        "myapp",
        """
        def setup(runtime):
            print("setup called", flush=True)
            runtime.add_process(Printer())
            runtime.add_service(Quit())
    """,
    )
    result = run_cli("run", str(app), env={"BUSSDCC_PLUGINS": "tools"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "setup called",
        "plugin sink saw FrameworkBooted",
        "event FrameworkBooted runtime=Runtime",
        "event FrameworkShuttingDown runtime=Runtime",
    ]


def test_run_module_attr_with_runtime_factory(tools: Any, run_cli: Any, tmp_path: Path) -> None:
    write_app(
        tmp_path,
        "factoryapp",
        """
        from bussdcc_framework.runtime import Runtime

        class PlantRuntime(Runtime):
            pass

        def make():
            rt = PlantRuntime()
            rt.add_process(Printer())
            rt.add_service(Quit())
            return rt
    """,
    )
    # a module name (importable from the working directory) and an explicit attribute
    result = run_cli("run", "factoryapp:make", env={"BUSSDCC_PLUGINS": "tools"})
    assert result.returncode == 0, result.stderr
    assert "event FrameworkBooted runtime=PlantRuntime" in result.stdout
    assert "plugin sink saw FrameworkBooted" in result.stdout  # plugins added to the app's runtime


def test_run_runtime_instance_and_default_names(run_cli: Any, tmp_path: Path) -> None:
    write_app(
        tmp_path,
        "instanceapp",
        """
        from bussdcc_framework.runtime import Runtime

        runtime = Runtime.from_plugins()  # already composed: `bussdcc run` must not add twice
        runtime.add_process(Printer())
        runtime.add_service(Quit())
    """,
    )
    write_app(
        tmp_path,
        "createapp",
        """
        from bussdcc_framework.runtime import Runtime

        def create_runtime():
            rt = Runtime()
            rt.add_process(Printer())
            rt.add_service(Quit())
            return rt
    """,
    )
    for target in ("instanceapp.py", "createapp"):
        result = run_cli("run", target, env={"BUSSDCC_PLUGINS": ""})
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("event FrameworkBooted") == 1


def test_run_without_app_runs_the_plugins_alone(site: Any, run_cli: Any) -> None:
    site.add(
        "bussdcc-test-solo",
        APP_COMMON
        + """
from bussdcc_framework import hookimpl

@hookimpl
def register_processes(settings):
    return [Printer()]

@hookimpl
def register_services(settings):
    return [Quit()]
""",
        entry_point="solo",
    )
    result = run_cli("run", env={"BUSSDCC_PLUGINS": "solo"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "event FrameworkBooted runtime=Runtime",
        "event FrameworkShuttingDown runtime=Runtime",
    ]


@pytest.mark.parametrize(
    ("target", "body", "message"),
    [
        ("missing.py", None, "application file 'missing.py' does not exist"),
        ("nosuchmodule", None, "cannot import application module 'nosuchmodule'"),
        ("empty.py", "X = 1\n", "'empty.py' defines none of setup, create_runtime, runtime"),
        ("empty.py:nothing", "X = 1\n", "'empty.py' has no attribute 'nothing'"),
        ("empty.py:X", "X = 1\n", "'empty.py:X' is a int, not a Runtime or a function"),
        (
            "bad.py",
            "def create_runtime():\n    return 42\n",
            "'bad.py' returned int; a factory must return a bussdcc_framework.runtime.Runtime",
        ),
        (
            "two.py",
            "def setup(a, b):\n    pass\n",
            "'two.py' takes 2 arguments; expected setup(runtime) or create_runtime()",
        ),
        (
            "json.py",
            "def setup(rt):\n    pass\n",
            "would shadow the already imported module 'json'; rename the file",
        ),
    ],
)
def test_run_app_errors_are_one_line(
    run_cli: Any, tmp_path: Path, target: str, body: str | None, message: str
) -> None:
    if body is not None:
        (tmp_path / target.split(":")[0]).write_text(body)
    result = run_cli("run", target, env={"BUSSDCC_PLUGINS": ""})
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("bussdcc: error: ") and message in line, line


def test_run_boot_failure_exits_non_zero_with_one_line(run_cli: Any, tmp_path: Path) -> None:
    write_app(
        tmp_path,
        "failapp",
        """
        class Broken(Process):
            name = "broken"

            def start(self, ctx):
                raise OSError("serial port missing")

        def setup(runtime):
            runtime.add_process(Broken())
    """,
    )
    result = run_cli("run", "failapp.py", env={"BUSSDCC_PLUGINS": ""})
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["bussdcc: error: OSError: serial port missing"]


def test_app_contract_in_process(tmp_path: Path) -> None:
    path = tmp_path / "inproc_app_contract.py"
    path.write_text("calls = []\ndef setup(runtime):\n    calls.append(runtime)\n")
    composed: list[Runtime] = []

    def compose(runtime: Runtime) -> Runtime:
        composed.append(runtime)
        return runtime

    runtime = build_runtime(str(path), compose)
    module = resolve(f"{path}:calls")
    assert module == [runtime] and composed == [runtime]  # composed before setup sees it
    with pytest.raises(AppError, match="does not exist"):
        build_runtime(str(tmp_path / "nope.py"), compose)
    assert isinstance(build_runtime(None, compose), Runtime)


# -- bussdcc plugins -------------------------------------------------------------------------


def test_plugins_table_lists_the_workspace_plugins(run_cli: Any) -> None:
    result = run_cli("plugins", env={"BUSSDCC_PLUGINS": None})
    assert result.returncode == 0, result.stderr
    header, rule, *rows = result.stdout.splitlines()
    assert header.split() == ["name", "version", "entry", "point", "hooks", "status"]
    assert set(rule) <= {"-", " "}
    names = [row.split()[0] for row in rows]
    assert names == ["console", "identity", "jsonl", "mqtt", "replay", "web"]
    for row in rows:
        name, version = row.split()[:2]
        assert version == "1.0.0" or version > "1"
        assert f"{name} = bussdcc_framework_{name}" in row
        assert row.rstrip().endswith("loaded")


def test_selected_plugin_only_in_json(run_cli: Any) -> None:
    result = run_cli("plugins", "--json", env={"BUSSDCC_PLUGINS": "jsonl"})
    assert result.returncode == 0
    [only] = json.loads(result.stdout)
    assert only["name"] == "jsonl"
    assert only["distribution"] == "bussdcc-framework-jsonl"
    assert only["status"] == "loaded"
    assert set(only) == {
        *("name", "distribution", "version", "entry_point"),
        *("status", "error", "hooks", "warnings"),
    }


def test_a_plugin_raising_on_import_is_one_line_and_plugins_still_lists(site: Any, run_cli: Any) -> None:
    site.add("bussdcc-test-bomb", "raise ImportError('needs libfoo')\n", version="0.9", entry_point="bomb")
    result = run_cli("plugins", env={"BUSSDCC_PLUGINS": None})
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        'bussdcc: plugin "bussdcc-test-bomb 0.9" (bomb = bussdcc_test_bomb) failed to load: '
        "ImportError: needs libfoo; disable it with BUSSDCC_DISABLE_PLUGINS=bomb"
    ]
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[2:]}
    assert set(rows) == {"bomb", "console", "identity", "jsonl", "mqtt", "replay", "web"}
    assert rows["bomb"].endswith("failed: ImportError: needs libfoo")


def test_plugins_all_and_hook_filters(tools: Any, site: Any, run_cli: Any) -> None:
    site.add("bussdcc-test-other", "", entry_point="other")
    env = {"BUSSDCC_PLUGINS": "tools,other"}
    shown = json.loads(run_cli("plugins", "--json", env=env).stdout)
    assert [p["name"] for p in shown] == ["other", "tools"]
    everything = json.loads(run_cli("plugins", "--json", "--all", env=env).stdout)
    assert {p["name"]: p["status"] for p in everything}["jsonl"] == "not selected"
    hooked = json.loads(run_cli("plugins", "--json", "--hook", "register_commands", env=env).stdout)
    assert [(p["name"], p["version"], p["hooks"]) for p in hooked] == [
        ("tools", "3.1.4", ["register_commands", "register_sinks"])
    ]
    none = run_cli("plugins", "--hook", "on_event", env=env)
    assert none.stdout.strip() == "no plugins implement on_event"
    bad = run_cli("plugins", "--hook", "on_events", env=env)
    assert bad.returncode == 2 and "'on_events' is not a hook; hooks: register_settings" in bad.stderr


# -- bussdcc --version -----------------------------------------------------------------------


def test_version_lists_core_kernel_and_loaded_plugins(tools: Any, run_cli: Any) -> None:
    from importlib.metadata import version

    result = run_cli("--version", env={"BUSSDCC_PLUGINS": "tools,jsonl"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"bussdcc-framework {version('bussdcc-framework')}",
        f"bussdcc (kernel) {version('bussdcc')}",
        f"plugin jsonl: bussdcc-framework-jsonl {version('bussdcc-framework-jsonl')}",
        "plugin tools: bussdcc-test-tools 3.1.4",
    ]
    assert version("bussdcc-framework") >= "1.0.0"


# -- plugin sub-commands ---------------------------------------------------------------------


def test_plugins_add_sub_commands(tools: Any, run_cli: Any) -> None:
    env = {"BUSSDCC_PLUGINS": "tools"}
    result = run_cli("hello", "--name", "plants", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello plants\n"
    # the clash with the core's `run` is reported naming the plugin, and the core keeps `run`
    assert result.stderr.splitlines() == [
        'bussdcc: plugin "tools" registers the command "run", which bussdcc itself already '
        "provides; ignoring it (rename the command, or disable the plugin with "
        "BUSSDCC_DISABLE_PLUGINS=tools)"
    ]
    helptext = run_cli("--help", env=env).stdout
    assert "hello" in helptext and "Say hello (from a plugin)." in helptext
    assert "Boot a runtime with the selected plugins" in helptext
    gone = run_cli("hello", env={"BUSSDCC_PLUGINS": ""})
    assert gone.returncode == 2 and "No such command 'hello'" in gone.stderr


def test_python_dash_m_runs_the_cli(python: Any) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "bussdcc_framework", "plugins", "--json"],
        capture_output=True,
        text=True,
        env={"BUSSDCC_PLUGINS": "", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0 and json.loads(result.stdout) == []
