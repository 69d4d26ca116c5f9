"""The pytest plugin for plugin authors (``bussdcc_framework.testing``).

The fixtures are used here directly (they are loaded through the ``pytest11`` entry point, as in
any project that installs the framework), and a subprocess pytest run checks that a stranger's
test file gets them without a conftest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import types
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pluggy
import pytest
from bussdcc.message import Message
from bussdcc.service import Service

from bussdcc_framework import hookimpl
from bussdcc_framework.message import FrameworkBooted, FrameworkShuttingDown
from bussdcc_framework.plugins import load_plugins
from bussdcc_framework.settings import Setting
from bussdcc_framework.testing import (
    ManualClock,
    MemorySink,
    RuntimeFactory,
    isolated_plugin_manager,
    type_name,
)


@dataclass(slots=True, frozen=True)
class Ping(Message):
    n: int


class Counter(Service):
    """Emits Ping(n) on every tick."""

    name = "counter"
    interval = 10.0

    def __init__(self) -> None:
        self.n = 0

    def tick(self, ctx) -> None:  # type: ignore[no-untyped-def]
        self.n += 1
        ctx.emit(Ping(n=self.n))


def make_plugin() -> types.ModuleType:
    """A plugin module built in the test: a setting, a service and an ``on_event`` observer."""
    plugin = types.ModuleType("pingplugin")
    seen: list[str] = []

    @hookimpl
    def register_settings():  # type: ignore[no-untyped-def]
        return [Setting("ping", "greeting", "str", "hello", "what the pinger says")]

    @hookimpl
    def register_services(settings):  # type: ignore[no-untyped-def]
        service = Counter()
        service.name = f"counter-{settings['ping.greeting']}"
        return [service]

    @hookimpl
    def on_event(ctx, evt):  # type: ignore[no-untyped-def]
        seen.append(type(evt.payload).__name__)

    plugin.register_settings = register_settings  # type: ignore[attr-defined]
    plugin.register_services = register_services  # type: ignore[attr-defined]
    plugin.on_event = on_event  # type: ignore[attr-defined]
    plugin.seen = seen  # type: ignore[attr-defined]
    return plugin


# -- the fixtures in use -------------------------------------------------------------------


def test_runtime_fixture_is_booted_and_captures(runtime, captured_events: MemorySink) -> None:
    assert runtime.booted
    assert captured_events.started
    runtime.ctx.emit(Ping(n=1))
    assert captured_events.of_type(Ping) == [Ping(n=1)]
    assert isinstance(captured_events.of_type(FrameworkBooted)[0], FrameworkBooted)
    assert type_name(Ping) in captured_events.types


def test_make_runtime_uses_only_the_given_plugin(
    make_runtime: RuntimeFactory, captured_events: MemorySink, manual_clock: ManualClock
) -> None:
    plugin = make_plugin()
    rt = make_runtime(plugin, settings={"ping.greeting": "hi"}, clock=manual_clock)
    assert rt.booted
    assert rt.services.names() == ["counter-hi"]
    assert rt.plugins is not None and [r.name for r in rt.plugins.loaded()] == ["pingplugin"]
    first = captured_events.wait_for(Ping)
    assert first == Ping(n=1)
    assert "Ping" in plugin.seen  # type: ignore[attr-defined]


def test_make_runtime_ignores_the_environment_unless_asked(
    make_runtime: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUSSDCC_PING_GREETING", "from-env")
    assert make_runtime(make_plugin(), boot=False).services.names() == ["counter-hello"]
    import os

    rt = make_runtime(make_plugin(), environ=os.environ, boot=False)
    assert rt.services.names() == ["counter-from-env"]
    assert not rt.booted


def test_make_runtime_shuts_down_at_teardown(pytester_free_run: RunPytest) -> None:
    result = pytester_free_run(
        """
        def test_a(make_runtime, captured_events):
            global RT
            RT = make_runtime()
            assert RT.booted

        def test_b(captured_events):
            from bussdcc_framework.message import FrameworkShuttingDown
            assert not RT.booted
        """
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_manual_clock_releases_one_tick_per_interval(
    make_runtime: RuntimeFactory, captured_events: MemorySink, manual_clock: ManualClock
) -> None:
    make_runtime(make_plugin(), clock=manual_clock)
    captured_events.wait_for(lambda m: isinstance(m, Ping) and m.n == 1)
    for expected in (2, 3):
        manual_clock.wait_for_sleepers(1)
        manual_clock.advance(10)
        captured_events.wait_for(lambda m, e=expected: isinstance(m, Ping) and m.n == e)
    assert [p.n for p in captured_events.of_type(Ping)] == [1, 2, 3]
    assert captured_events.events[-1].time == datetime(2026, 1, 1, 0, 0, 20, tzinfo=UTC)


def test_plugin_registry_registers_for_one_test(plugin_registry) -> None:  # type: ignore[no-untyped-def]
    plugin = make_plugin()
    pm = plugin_registry(plugin, "registry-test-plugin")
    assert pm is load_plugins()
    assert pm.get_plugin("registry-test-plugin") is plugin
    assert pm.records["registry-test-plugin"].status == "loaded"


def test_plugin_registry_has_unregistered_it() -> None:
    # Runs after the test above (file order): the plugin must be gone.
    pm = load_plugins()
    assert pm.get_plugin("registry-test-plugin") is None
    assert "registry-test-plugin" not in pm.records


# -- the building blocks -------------------------------------------------------------------


def test_memory_sink_wait_for_sees_events_from_other_threads() -> None:
    sink = MemorySink()
    from bussdcc.event import Event

    def later() -> None:
        sink.handle(Event(time=datetime.now(UTC), payload=Ping(n=7)))

    timer = threading.Timer(0.05, later)
    timer.start()
    assert sink.wait_for(Ping, timeout=5) == Ping(n=7)
    assert len(sink) == 1
    sink.clear()
    assert sink.payloads == []


def test_memory_sink_wait_for_times_out_naming_what_it_saw() -> None:
    sink = MemorySink()
    from bussdcc.event import Event

    sink.handle(Event(time=datetime.now(UTC), payload=Ping(n=1)))
    with pytest.raises(AssertionError, match=r"no FrameworkShuttingDown within 0.1s.*Ping"):
        sink.wait_for(FrameworkShuttingDown, timeout=0.1)


def test_manual_clock_moves_only_when_advanced() -> None:
    clock = ManualClock(datetime(2030, 5, 1, tzinfo=UTC))
    assert clock.monotonic() == 0.0
    assert clock.advance(timedelta(minutes=1)) == datetime(2030, 5, 1, 0, 1, tzinfo=UTC)
    assert clock.uptime() == 60.0
    with pytest.raises(ValueError, match=r"^a ManualClock never goes backwards; advance by >= 0 seconds$"):
        clock.advance(-1)
    with pytest.raises(
        ValueError, match=r"^ManualClock needs an aware datetime, e\.g\. tzinfo=timezone\.utc$"
    ):
        ManualClock(datetime(2030, 5, 1))


def test_manual_clock_sleep_is_cancellable() -> None:
    clock = ManualClock()
    cancel = threading.Event()
    result: list[bool] = []
    sleeper = threading.Thread(target=lambda: result.append(clock.sleep(5, cancel=cancel)))
    sleeper.start()
    clock.wait_for_sleepers(1)
    cancel.set()
    sleeper.join(2)
    assert result == [True]
    assert clock.sleepers == 0
    with pytest.raises(AssertionError, match="expected 1 sleeper"):
        clock.wait_for_sleepers(1, timeout=0.1)


def test_isolated_plugin_manager_rejects_a_misspelt_hook() -> None:
    bad = types.SimpleNamespace()

    @hookimpl
    def register_sink(settings):  # type: ignore[no-untyped-def]
        return []

    bad.register_sink = register_sink
    with pytest.raises(pluggy.PluginValidationError, match="register_sinks"):
        isolated_plugin_manager([bad])


def test_isolated_plugin_manager_records_hooks() -> None:
    pm = isolated_plugin_manager([make_plugin()])
    record = pm.records["pingplugin"]
    assert record.hooks == ["on_event", "register_services", "register_settings"]


# -- the fixtures in a stranger's project --------------------------------------------------


class RunPytest:
    """Runs pytest in a subprocess on a test file, outside this repository's configuration."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, source: str) -> subprocess.CompletedProcess[str]:
        (self.root / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
        (self.root / "test_it.py").write_text(textwrap.dedent(source))
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:randomly",
                "test_it.py",
            ],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture
def pytester_free_run(tmp_path: Path) -> RunPytest:
    return RunPytest(tmp_path)


def test_fixtures_are_available_without_a_conftest(pytester_free_run: RunPytest) -> None:
    result = pytester_free_run(
        """
        from dataclasses import dataclass
        from bussdcc import Message
        from bussdcc_framework import hookimpl

        @dataclass(slots=True, frozen=True)
        class Hello(Message):
            name: str

        class plugin:
            @staticmethod
            @hookimpl
            def register_message_types():
                return [Hello]

        def test_runtime(runtime, captured_events):
            runtime.ctx.emit(Hello("x"))
            assert captured_events.wait_for(Hello).name == "x"

        def test_clock(manual_clock):
            manual_clock.advance(3)
            assert manual_clock.monotonic() == 3

        def test_make_runtime(make_runtime):
            rt = make_runtime(plugin)
            assert rt.plugins.message_types() == [Hello]
        """
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_make_runtime_is_strict_by_default(pytester_free_run: RunPytest) -> None:
    result = pytester_free_run(
        """
        import pytest
        from bussdcc_framework import hookimpl
        from bussdcc_framework.plugins import PluginHookError, PluginLoadError

        class Observer:
            @staticmethod
            @hookimpl
            def on_event(evt):
                raise RuntimeError("observer bug")

        class BadSinks:
            @staticmethod
            @hookimpl
            def register_sinks(settings):
                raise OSError("no disk")

        class Forgotten:
            @staticmethod
            def register_sinks(settings):  # no @hookimpl: never called
                return []

        def test_an_on_event_failure_fails_the_test(make_runtime):
            make_runtime(Observer)

        def test_a_register_failure_raises(make_runtime):
            with pytest.raises(PluginHookError, match="no disk"):
                make_runtime(BadSinks)

        def test_an_unmarked_hook_is_an_error(make_runtime):
            with pytest.raises(PluginLoadError, match="not marked @hookimpl"):
                make_runtime(Forgotten)

        def test_strict_false_opts_out(make_runtime):
            rt = make_runtime(Observer, BadSinks, strict=False)
            assert sorted(f.hook for f in rt.plugins.failures) == ["on_event", "register_sinks"]
        """
    )
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "4 passed, 1 error" in out, out  # the test body passed; its teardown failed it
    assert "ERROR at teardown of test_an_on_event_failure_fails_the_test" in out
    assert "make_runtime is strict; pass strict=False" in out
    assert 'bussdcc: plugin "Observer" failed in hook on_event: RuntimeError: observer bug' in out
    assert 'raise RuntimeError("observer bug")' in out  # the plugin's traceback


def test_plugin_registry_accepts_the_installed_plugin_under_test(tmp_path: Path) -> None:
    """After ``pip install -e .`` the plugin under test is loaded through its entry point too."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "regplug.py").write_text(
        "from bussdcc_framework import hookimpl\n\n@hookimpl\ndef register_message_types():\n    return []\n"
    )
    info = site / "regplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: regplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[bussdcc_framework]\nregplug = regplug\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    (project / "test_it.py").write_text(
        textwrap.dedent(
            """
            import regplug
            from bussdcc_framework.plugins import load_plugins

            def test_register(plugin_registry):
                pm = plugin_registry(regplug)
                assert pm.get_plugin("regplug") is regplug

            def test_still_loaded_afterwards():
                pm = load_plugins()
                assert pm.get_plugin("regplug") is regplug
                assert pm.records["regplug"].status == load_plugins().records["regplug"].status
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}

    def run(selection: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:randomly",
                "test_it.py",
            ],
            cwd=project,
            env={**env, "PYTHONPATH": str(site), "BUSSDCC_PLUGINS": selection},
            capture_output=True,
            text=True,
            timeout=120,
        )

    installed = run("regplug")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "2 passed" in installed.stdout

    # Not selected: registered for the test, then gone again, its record as it was.
    (project / "test_it.py").write_text(
        textwrap.dedent(
            """
            import regplug
            from bussdcc_framework.plugins import load_plugins

            def test_register(plugin_registry):
                assert load_plugins().records["regplug"].status == "not selected"
                pm = plugin_registry(regplug, "regplug")
                assert pm.get_plugin("regplug") is regplug

            def test_gone_afterwards():
                pm = load_plugins()
                assert pm.get_plugin("regplug") is None
                assert pm.records["regplug"].status == "not selected"
            """
        )
    )
    unselected = run("")
    assert unselected.returncode == 0, unselected.stdout + unselected.stderr
