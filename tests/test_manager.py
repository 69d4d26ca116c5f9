"""The plugin manager's typed facade: one method per hook, each plugin isolated, failures as records."""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from bussdcc.event import Event
from bussdcc.message import Message
from bussdcc.process import Process
from bussdcc.service import Service

from bussdcc_framework import hookimpl
from bussdcc_framework.message import SinkHandlerError
from bussdcc_framework.plugins import (
    EventObserverError,
    FrameworkPluginManager,
    HookFailure,
    HookResultError,
    PluginHookError,
)
from bussdcc_framework.runtime import Runtime
from bussdcc_framework.settings import Setting, SettingError, Settings
from bussdcc_framework.testing import MemorySink, isolated_plugin_manager

ROOT = Path(__file__).resolve().parents[1]


class Sink:
    def __init__(self, name: str = "sink") -> None:
        self.name = name
        self.seen: list[Event[Message]] = []

    def start(self, ctx: Any) -> None: ...

    def stop(self) -> None: ...

    def handle(self, evt: Event[Message]) -> None:
        self.seen.append(evt)


def manager(*plugins: object, strict: bool = False) -> FrameworkPluginManager:
    pm = FrameworkPluginManager(strict=strict)
    for index, plugin in enumerate(plugins):
        pm.register(plugin, name=getattr(plugin, "NAME", f"p{index}"))
    return pm


def settings_for(pm: FrameworkPluginManager) -> Settings:
    return Settings.from_declarations(pm.declared_settings(), {}, {})


@pytest.fixture
def on_disk(tmp_path: Path) -> Iterator[Any]:
    """``on_disk({"pkg/__init__.py": src, ...})`` writes a package and imports its top module."""
    added: list[str] = []

    def write(files: dict[str, str]) -> Any:
        suffix = uuid.uuid4().hex[:8]
        top = ""
        for relative, source in files.items():
            relative = relative.replace("PKG", f"pkg_{suffix}")
            top = relative.split("/")[0].removesuffix(".py")
            path = tmp_path / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        sys.path.insert(0, str(tmp_path))
        added.append(top)
        return importlib.import_module(top)

    try:
        yield write
    finally:
        for name in added:
            for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[module]
        if str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))


# -- the typed methods ------------------------------------------------------------------------


def test_each_typed_method_returns_what_the_plugins_contribute() -> None:
    sink, service, process = Sink(), Service(), Process()
    service.name, process.name = "svc", "proc"

    @click.command("hello")
    def hello() -> None: ...

    class Plugin:
        NAME = "all"

        @hookimpl
        def register_settings(self) -> list[Setting]:
            return [Setting("all", "x", "int", 1)]

        @hookimpl
        def register_message_types(self) -> list[type[Message]]:
            return [SinkHandlerError]

        @hookimpl
        def register_sinks(self, settings: Settings) -> list[Any]:
            return [sink]

        @hookimpl
        def register_services(self, settings: Settings) -> list[Any]:
            return [service]

        @hookimpl
        def register_processes(self, settings: Settings) -> list[Any]:
            return [process]

        @hookimpl
        def register_commands(self, settings: Settings) -> list[Any]:
            assert settings["all.x"] == 1
            return [hello]

        @hookimpl
        def register_routes(self, app: Any, ctx: Any) -> None:
            app.append(ctx)

    pm = manager(Plugin())
    settings = settings_for(pm)
    assert [s.key for s in pm.declared_settings()] == ["all.x"]
    assert pm.message_types() == [SinkHandlerError]
    assert pm.sinks(settings) == [sink]
    assert pm.services(settings) == [service]
    assert pm.processes(settings) == [process]
    assert pm.commands(settings) == [("all", hello)]
    app: list[Any] = []
    pm.routes(app, "ctx")  # type: ignore[arg-type]
    assert app == ["ctx"]
    assert pm.failures == []


def test_register_commands_works_with_and_without_settings() -> None:
    @click.command("old")
    def old() -> None: ...

    @click.command("new")
    def new() -> None: ...

    class Old:
        NAME = "old"

        @hookimpl
        def register_commands(self) -> list[Any]:  # written before the hook had settings
            return [old]

    class New:
        NAME = "new"

        @hookimpl
        def register_commands(self, settings: Settings) -> list[Any]:
            return [new] if settings is not None else []

    pm = isolated_plugin_manager([Old(), New()])
    assert sorted(c.name or "" for _, c in pm.commands(settings_for(pm))) == ["new", "old"]


def test_one_failing_plugin_is_isolated_and_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    good = Sink("good")

    class Bad:
        NAME = "bad"

        @hookimpl
        def register_sinks(self, settings: Settings) -> list[Any]:
            raise OSError("disk full")

    class Good:
        NAME = "good"

        @hookimpl
        def register_sinks(self, settings: Settings) -> list[Any]:
            return [good]

    pm = manager(Bad(), Good())
    assert pm.sinks(None) == [good]
    assert pm.sinks(None) == [good]  # reported once, however often the hook is called
    [failure] = pm.failures
    assert isinstance(failure, HookFailure)
    assert (failure.plugin, failure.hook, type(failure.error)) == ("bad", "register_sinks", OSError)
    raise_line = next(
        n
        for n, text in enumerate(Path(__file__).read_text().splitlines(), 1)
        if 'OSError("disk full")' in text
    )
    assert failure.location == f"{__file__}:{raise_line}"
    assert 'raise OSError("disk full")' in failure.traceback
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f'bussdcc: plugin "bad" failed in hook register_sinks: OSError: disk full ({__file__}:{raise_line}); '
        "disable it with BUSSDCC_DISABLE_PLUGINS=bad"
    ]
    assert failure.line == err[0]


def test_the_location_is_the_innermost_frame_in_the_plugins_own_code(on_disk: Any) -> None:
    package = on_disk(
        {
            "PKG/__init__.py": """
                from bussdcc_framework import hookimpl
                from . import helpers

                @hookimpl
                def register_settings():
                    return helpers.settings()
            """,
            "PKG/helpers.py": """
                import json

                def settings():
                    return json.loads("{not json")  # line 5: the plugin's call into a library
            """,
        }
    )
    pm = manager(package)
    assert pm.declared_settings() == []
    [failure] = pm.failures
    assert failure.location == f"{Path(package.__file__).parent / 'helpers.py'}:5"
    assert "json" in failure.traceback and "decoder.py" in failure.traceback  # the whole story


def test_a_result_of_the_wrong_kind_is_reported_at_the_hook_definition() -> None:
    class Single:
        NAME = "single"

        @hookimpl
        def register_settings(self) -> Any:
            return Setting("single", "x")

    class Mixed:
        NAME = "mixed"

        @hookimpl
        def register_message_types(self) -> Any:
            return [SinkHandlerError, "not a class"]

    pm = manager(Single(), Mixed())
    assert pm.declared_settings() == []
    assert pm.message_types() == [SinkHandlerError]  # the good item is kept
    single, mixed = pm.failures
    assert isinstance(single.error, HookResultError)
    assert single.summary.startswith("returned Setting(")
    assert "register_settings must return a list (or any iterable) or None" in single.summary
    definition = Single.register_settings.__code__
    assert single.location == f"{definition.co_filename}:{definition.co_firstlineno}"
    assert (
        mixed.summary
        == "returned 'not a class', which is not a Message class (a subclass of bussdcc.message.Message)"
    )


def test_strict_mode_raises_with_the_record() -> None:
    class Bad:
        NAME = "bad"

        @hookimpl
        def register_settings(self) -> Any:
            raise ValueError("nope")

    pm = manager(Bad(), strict=True)
    for _ in range(2):  # strict every time, not only the first
        with pytest.raises(PluginHookError, match='plugin "bad" failed in hook register_settings') as caught:
            pm.declared_settings()
        assert caught.value.failure is pm.failures[0]
        assert isinstance(caught.value.__cause__, ValueError)


def test_a_setting_error_in_a_hook_is_the_users_error_and_propagates() -> None:
    class Strict:
        NAME = "checks"

        @hookimpl
        def register_sinks(self, settings: Settings) -> Any:
            raise SettingError("BUSSDCC_CHECKS_LEVEL=7: expected an integer from 0 to 5")

    pm = manager(Strict())
    with pytest.raises(SettingError, match="BUSSDCC_CHECKS_LEVEL=7"):
        pm.sinks(None)
    assert pm.failures == []


def test_wrappers_wrap_each_plugins_call_of_a_collecting_hook() -> None:
    calls: list[str] = []

    class Wrapper:
        NAME = "wrapper"

        @hookimpl(wrapper=True)
        def register_sinks(self, settings: Settings) -> Any:
            result = yield  # pluggy's result: one list per implementation called
            calls.append(f"wrapped {len(result)}")
            return [*result, [Sink("added by the wrapper")]]

    class One:
        NAME = "one"

        @hookimpl
        def register_sinks(self, settings: Settings) -> Any:
            return [Sink("one")]

    pm = manager(Wrapper(), One())
    assert [s.name for s in pm.sinks(None)] == ["one", "added by the wrapper"]  # type: ignore[attr-defined]
    assert calls == ["wrapped 1"]


# -- on_event ---------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Tick(Message):
    n: int


def composed(*plugins: object, strict: bool = False) -> tuple[Runtime, MemorySink]:
    pm = manager(*plugins, strict=strict)
    sink = MemorySink()
    rt = Runtime()
    rt.add_sink(sink)
    rt.add_plugins(settings=settings_for(pm), plugins=pm)
    return rt, sink


@pytest.mark.parametrize("style", ["wrapper", "hookwrapper"])
def test_an_on_event_wrapper_runs_without_tracing(style: str) -> None:
    wrapped: list[str] = []

    class Plain:
        NAME = "plain"

        @hookimpl
        def on_event(self, evt: Event[Message]) -> None:
            wrapped.append(f"plain {type(evt.payload).__name__}")

    if style == "wrapper":

        class Wrapper:
            NAME = "wrapper"

            @hookimpl(wrapper=True)
            def on_event(self, ctx: Any, evt: Event[Message]) -> Any:
                wrapped.append("before")
                result = yield
                wrapped.append("after")
                return result

    else:

        class Wrapper:  # type: ignore[no-redef]
            NAME = "wrapper"

            @hookimpl(hookwrapper=True)
            def on_event(self, ctx: Any, evt: Event[Message]) -> Any:
                wrapped.append("before")
                yield
                wrapped.append("after")

    rt, _ = composed(Plain(), Wrapper())
    assert not rt.plugins.tracing  # type: ignore[union-attr]
    rt.boot()
    try:
        wrapped.clear()
        rt.ctx.emit(Tick(1))
        assert wrapped == ["before", "plain Tick", "after"]
    finally:
        rt.shutdown()


def test_on_event_follows_pluggys_call_order() -> None:
    order: list[str] = []

    class First:
        NAME = "first"

        @hookimpl(tryfirst=True)
        def on_event(self, evt: Event[Message]) -> None:
            order.append("first")

    class Middle:
        NAME = "middle"

        @hookimpl
        def on_event(self, evt: Event[Message]) -> None:
            order.append("middle")

    class Last:
        NAME = "last"

        @hookimpl(trylast=True)
        def on_event(self, evt: Event[Message]) -> None:
            order.append("last")

    rt, _ = composed(Last(), First(), Middle())
    rt.boot()
    try:
        order.clear()
        rt.ctx.emit(Tick(1))
        assert order == ["first", "middle", "last"]
    finally:
        rt.shutdown()


def test_a_failing_on_event_is_isolated_reported_and_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[int] = []

    class Broken:
        NAME = "broken"

        @hookimpl
        def on_event(self, evt: Event[Message]) -> None:
            if isinstance(evt.payload, Tick):
                raise RuntimeError("observer bug")

    class Fine:
        NAME = "fine"

        @hookimpl
        def on_event(self, evt: Event[Message]) -> None:
            if isinstance(evt.payload, Tick):
                seen.append(evt.payload.n)

    rt, sink = composed(Broken(), Fine())
    rt.boot()
    try:
        rt.ctx.emit(Tick(1))
        rt.ctx.emit(Tick(2))
        errors = sink.of_type(SinkHandlerError)
        assert [e.sink for e in errors] == ["on_event[broken]", "on_event[broken]"]
    finally:
        rt.shutdown()
    assert seen == [1, 2]
    [failure] = rt.plugins.failures  # type: ignore[union-attr]
    assert (failure.plugin, failure.hook) == ("broken", "on_event")
    assert failure.location.startswith(f"{__file__}:")
    assert capsys.readouterr().err.count("failed in hook on_event: RuntimeError: observer bug") == 1


def test_event_observer_shows_every_plugin_the_event_then_raises() -> None:
    seen: list[str] = []

    class Broken:
        NAME = "broken"

        @hookimpl
        def on_event(self, evt: Event[Message]) -> None:
            raise RuntimeError("bug")

    class Fine:
        NAME = "fine"

        @hookimpl
        def on_event(self, ctx: Any, evt: Event[Message]) -> None:
            seen.append(ctx)

    pm = manager(Broken(), Fine())
    observe = pm.event_observer("the ctx")  # type: ignore[arg-type]
    assert observe is not None
    with pytest.raises(EventObserverError) as caught:
        observe(Event(time=None, payload=Tick(1)))  # type: ignore[arg-type]
    assert seen == ["the ctx"]
    assert [name for name, _ in caught.value.failures] == ["broken"]
    assert manager().event_observer("ctx") is None  # type: ignore[arg-type]


def test_on_event_calls_are_traced_per_plugin(capsys: pytest.CaptureFixture[str]) -> None:
    class Watch:
        NAME = "watch"

        @hookimpl
        def on_event(self, evt: Event[Message]) -> None: ...

    pm = FrameworkPluginManager(tracing=True)
    pm.register(Watch(), name="watch")
    rt = Runtime()
    rt.add_plugins(settings=settings_for(pm), plugins=pm)
    rt.boot()
    rt.shutdown()
    lines = capsys.readouterr().err.splitlines()
    assert any(
        re.fullmatch(r"bussdcc trace: on_event\(ctx=.*, evt=.*\) \[watch\] [\d.]+ ms", x) for x in lines
    )


def test_the_observers_run_on_the_emitting_threads() -> None:
    threads: set[str] = set()

    class Watch:
        NAME = "watch"

        @hookimpl
        def on_event(self, evt: Event[Message]) -> None:
            threads.add(threading.current_thread().name)

    rt, _ = composed(Watch())
    rt.boot()
    try:
        worker = threading.Thread(target=lambda: rt.ctx.emit(Tick(1)), name="emitter")
        worker.start()
        worker.join()
    finally:
        rt.shutdown()
    assert "emitter" in threads


# -- public pluggy API only -----------------------------------------------------------------


def test_no_private_pluggy_api_in_the_framework() -> None:
    private = re.compile(
        r"\._(hookexec|inner_hookexec|hookimpls|call_history|name2plugin|plugin2hookcallers)\b"
    )
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in [
            *ROOT.glob("core/bussdcc_framework/**/*.py"),
            *ROOT.glob("plugins/*/bussdcc_framework_*/**/*.py"),
        ]
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if private.search(line)
    ]
    assert offenders == []


# -- register_commands(settings) through the real CLI ---------------------------------------

SETTING_COMMAND_PLUGIN = """
import click
from bussdcc_framework import hookimpl
from bussdcc_framework.settings import Setting

@hookimpl
def register_settings():
    return [Setting("vents", "count", "int", 2, "roof vents")]

@hookimpl
def register_commands(settings):
    @click.command("vents")
    def vents():
        click.echo(f"{settings['vents.count']} vents")
    return [vents]
"""


def test_register_commands_gets_the_settings_from_the_environment(site: Any, run_cli: Any) -> None:
    site.add("bussdcc-test-vents", SETTING_COMMAND_PLUGIN, entry_point="vents")
    env = {"BUSSDCC_PLUGINS": "vents"}
    assert run_cli("vents", env=env).stdout == "2 vents\n"
    assert run_cli("vents", env={**env, "BUSSDCC_VENTS_COUNT": "4"}).stdout == "4 vents\n"
    # A wrong value does not hide the plugin's commands (nor --help) ...
    bad = {**env, "BUSSDCC_VENTS_COUNT": "many"}
    helped = run_cli("--help", env=bad)
    assert helped.returncode == 0 and "vents" in helped.stdout, helped.stderr
    # ... and the commands that resolve settings stop on it.
    refused = run_cli("settings", env=bad)
    assert refused.returncode == 2 and "BUSSDCC_VENTS_COUNT" in refused.stderr
