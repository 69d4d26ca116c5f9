"""One behavioural test per hook (``test_hook_<name>``); ``test_hookspecs_meta.py`` checks they exist.

Each test uses an in-process plugin (``isolated_plugin_manager`` or the ``plugin_registry``
fixture) or, where the consumer is the CLI, a throw-away installed distribution.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message
from bussdcc.process import Process
from bussdcc.service import Service

from bussdcc_framework import hookimpl
from bussdcc_framework.interface import Interface
from bussdcc_framework.plugins import load_settings, reset_plugins
from bussdcc_framework.runtime import Runtime
from bussdcc_framework.settings import Setting, Settings
from bussdcc_framework.testing import MemorySink, isolated_plugin_manager


@dataclass(slots=True, frozen=True)
class SoilMoisture(Message):
    percent: float


@pytest.fixture
def no_installed_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process-wide manager with no installed plugin, so only the test's plugins count."""
    monkeypatch.setenv("BUSSDCC_PLUGINS", "")
    reset_plugins()
    yield
    reset_plugins()


class Recorder:
    """A sink configured from a setting."""

    name = "recorder"

    def __init__(self, label: str) -> None:
        self.label = label
        self.sink = MemorySink()

    def start(self, ctx: ContextProtocol) -> None:
        self.sink.start(ctx)

    def stop(self) -> None:
        self.sink.stop()

    def handle(self, evt: Event[Message]) -> None:
        self.sink.handle(evt)


def test_hook_register_settings(no_installed_plugins: None, plugin_registry: Any) -> None:
    class Greenhouse:
        @hookimpl
        def register_settings(self) -> list[Setting]:
            return [Setting("greenhouse", "vents", "int", 2, "Number of vents")]

    plugin_registry(Greenhouse(), "greenhouse")
    settings = load_settings(environ={"BUSSDCC_GREENHOUSE_VENTS": "4"})
    assert settings["greenhouse.vents"] == 4
    [resolved] = settings.resolved()
    assert (resolved.source, resolved.setting.env_var) == ("environment", "BUSSDCC_GREENHOUSE_VENTS")
    assert load_settings({"greenhouse.vents": "6"}, environ={})["greenhouse.vents"] == 6


def test_hook_register_message_types(no_installed_plugins: None, plugin_registry: Any) -> None:
    from bussdcc_framework.codec import default_registry

    class Types:
        @hookimpl
        def register_message_types(self) -> list[type[Message]]:
            return [SoilMoisture]

    name = f"{SoilMoisture.__module__}:{SoilMoisture.__qualname__}"
    registry_without = default_registry(plugins=True)
    assert SoilMoisture not in registry_without.registered()
    plugin_registry(Types(), "types")
    assert SoilMoisture in default_registry(plugins=True).registered()
    assert default_registry(plugins=True).resolve(name) is SoilMoisture


def test_hook_register_sinks() -> None:
    class Sinks:
        @hookimpl
        def register_settings(self) -> list[Setting]:
            return [Setting("rec", "label", "str", "default-label")]

        @hookimpl
        def register_sinks(self, settings: Settings) -> list[Recorder]:
            return [Recorder(settings["rec.label"])]

    pm = isolated_plugin_manager([Sinks()])
    settings = load_settings({"rec.label": "bench"}, environ={}, plugins=pm)
    runtime = Runtime.from_plugins(settings=settings, plugins=pm)
    [recorder] = runtime.sinks
    assert isinstance(recorder, Recorder) and recorder.label == "bench"
    with runtime:
        runtime.ctx.emit(SoilMoisture(41.5))
    assert SoilMoisture(41.5) in recorder.sink.payloads
    assert recorder.sink.started and recorder.sink.stopped


def test_hook_register_services() -> None:
    ticked = threading.Event()

    class Poller(Service):
        name = "poller"
        interval = 0.01

        def tick(self, ctx: ContextProtocol) -> None:
            ctx.emit(SoilMoisture(30.0))
            ticked.set()

    class Services:
        @hookimpl
        def register_services(self, settings: Settings) -> list[Service]:
            return [Poller()]

    sink = MemorySink()
    runtime = Runtime.from_plugins(plugins=isolated_plugin_manager([Services()]))
    runtime.add_sink(sink)
    with runtime:
        assert ticked.wait(5)
        sink.wait_for(SoilMoisture)
    assert runtime.services.names() == ["poller"]


def test_hook_register_processes() -> None:
    class Valve(Process):
        name = "valve"

        def __init__(self) -> None:
            self.seen: list[Message] = []

        def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
            self.seen.append(evt.payload)

    class Display(Interface):
        name = "display"

    valve, display = Valve(), Display()

    class Processes:
        @hookimpl
        def register_processes(self, settings: Settings) -> list[Process]:
            return [valve, display]

    runtime = Runtime.from_plugins(plugins=isolated_plugin_manager([Processes()]))
    assert runtime.processes.list() == [valve]
    assert runtime.interfaces.list() == [display]  # interfaces go to the interface manager
    with runtime:
        runtime.ctx.emit(SoilMoisture(12.0))
    assert SoilMoisture(12.0) in valve.seen


FAKE_SOURCE_PLUGIN = '''
from datetime import datetime, timezone

from bussdcc.event import Event
from bussdcc.message import SystemSignal
from bussdcc_framework import hookimpl


class FakeFactory:
    """Opens `.fake` files: one SystemSignal per line, holding the line's number."""

    name = "fake"

    def can_open(self, path):
        return path.endswith(".fake")

    def open(self, paths, *, start=None, end=None, types=()):
        events = []
        for path in paths:
            with open(path) as f:
                for i, line in enumerate(f):
                    t = datetime(2026, 1, 1, 0, 0, i, tzinfo=timezone.utc)
                    events.append(Event(time=t, payload=SystemSignal(signal=int(line), action="fake")))
        return events


@hookimpl
def register_sources(settings):
    return [FakeFactory()]


@hookimpl
def on_event(evt):
    if type(evt.payload).__name__ == "SystemSignal":
        print("replayed", evt.payload.signal, flush=True)
'''


def test_hook_register_sources(site: Any, run_cli: Any, tmp_path: Any, hook_trace: Any) -> None:
    site.add("bussdcc-test-fake-source", FAKE_SOURCE_PLUGIN, entry_point="fakesource")
    recording = tmp_path / "run1.fake"
    recording.write_text("7\n8\n9\n")
    result = run_cli(
        "replay",
        "--speed",
        "0",
        str(recording),
        env={"BUSSDCC_PLUGINS": "fakesource,replay", "BUSSDCC_TRACE_PLUGINS": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert "register_sources" in hook_trace(result.stderr)
    assert [line for line in result.stdout.splitlines() if line.startswith("replayed")] == [
        "replayed 7",
        "replayed 8",
        "replayed 9",
    ]


COMMAND_PLUGIN = '''
import click
from bussdcc_framework import hookimpl


@click.group("greenhouse")
def greenhouse():
    """Greenhouse tools."""


@greenhouse.command("vents")
@click.argument("count", type=int)
def vents(count):
    click.echo(f"opening {count} vents")


@hookimpl
def register_commands():
    return [greenhouse]
'''


def test_hook_register_commands(site: Any, run_cli: Any, hook_trace: Any) -> None:
    site.add("bussdcc-test-greenhouse", COMMAND_PLUGIN, entry_point="greenhouse")
    env = {"BUSSDCC_PLUGINS": "greenhouse", "BUSSDCC_TRACE_PLUGINS": "1"}
    result = run_cli("greenhouse", "vents", "3", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "opening 3 vents\n"
    assert "register_commands" in hook_trace(result.stderr)
    bad = run_cli("greenhouse", "vents", "many", env={"BUSSDCC_PLUGINS": "greenhouse"})
    assert bad.returncode == 2 and "'many' is not a valid integer" in bad.stderr


def test_hook_register_routes() -> None:
    pytest.importorskip("flask")
    from bussdcc_framework.interface.web import WebInterface
    from bussdcc_framework.message.web import WebInterfaceStarted

    class Routes:
        @hookimpl
        def register_routes(self, app: Any, ctx: ContextProtocol) -> None:
            @app.route("/greenhouse/vents")
            def vents() -> Any:
                ctx.emit(SoilMoisture(50.0))
                return {"vents": ctx.state.get("greenhouse.vents")}

    sink = MemorySink()
    runtime = Runtime.from_plugins(plugins=isolated_plugin_manager([Routes()]))
    runtime.add_sink(sink)
    runtime.add_interface(WebInterface(host="127.0.0.1", port=0))
    runtime.state.set("greenhouse.vents", 3)
    with runtime:
        started = sink.wait_for(WebInterfaceStarted, timeout=10)
        url = f"http://127.0.0.1:{started.port}/greenhouse/vents"
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read())
        sink.wait_for(SoilMoisture)
    assert body == {"vents": 3}


def test_hook_on_event() -> None:
    seen: list[tuple[Message, bool]] = []

    class Watch:
        @hookimpl
        def on_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
            seen.append((evt.payload, ctx.runtime is runtime))

    class Sink:
        @hookimpl
        def register_sinks(self, settings: Settings) -> list[MemorySink]:
            return [sink]

    sink = MemorySink()
    runtime = Runtime.from_plugins(plugins=isolated_plugin_manager([Watch(), Sink()]))
    with runtime:
        runtime.ctx.emit(SoilMoisture(1.0))
    assert [payload for payload, _ in seen] == sink.payloads  # every event, sinks first
    assert all(same for _, same in seen)
    assert SoilMoisture(1.0) in sink.payloads
