"""The framework ``Runtime``: the original API, the sink pipeline, lifecycle and plugins."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from bussdcc import message as kernel
from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message, Severity
from bussdcc.process import Process
from bussdcc.service import Service

from bussdcc_framework import hookimpl
from bussdcc_framework.interface import Interface
from bussdcc_framework.message import (
    FrameworkBooted,
    FrameworkBootFailed,
    FrameworkShuttingDown,
    SinkHandlerError,
)
from bussdcc_framework.runtime import Runtime
from bussdcc_framework.testing import MemorySink, isolated_plugin_manager


@dataclass(slots=True, frozen=True)
class Ping(Message):
    n: int


@dataclass(slots=True, frozen=True)
class Alarm(Message):
    severity = Severity.ERROR


class Counter(Process):
    name = "counter"

    def __init__(self) -> None:
        self.seen: list[Message] = []

    def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        self.seen.append(evt.payload)


class Ticker(Service):
    name = "ticker"
    interval = 0.01

    def __init__(self) -> None:
        self.ticks = threading.Event()

    def tick(self, ctx: ContextProtocol) -> None:
        self.ticks.set()


class Panel(Interface):
    name = "panel"


class BadSink:
    """Raises on every event it handles."""

    name = "bad"

    def __init__(self) -> None:
        self.calls = 0

    def start(self, ctx: ContextProtocol) -> None:
        pass

    def stop(self) -> None:
        pass

    def handle(self, evt: Event[Message]) -> None:
        self.calls += 1
        raise OSError("disk full")


def of(sink: MemorySink, cls: type[Message]) -> list[Any]:
    return sink.of_type(cls)


# -- the original API -----------------------------------------------------------------------


def test_original_api_verbatim_boot_then_run_boots_once() -> None:
    runtime = Runtime()
    sink = MemorySink()
    runtime.add_sink(sink)
    counter, ticker, panel = Counter(), Ticker(), Panel()
    runtime.add_process(counter)
    runtime.add_service(ticker)
    runtime.add_interface(panel)
    runtime.state.set("app.version", "1.2.3")

    runtime.boot()
    runner = threading.Thread(target=runtime.run)
    runner.start()
    assert ticker.ticks.wait(5)
    runtime.ctx.emit(Ping(1))
    runtime.shutdown("done")
    runner.join(5)
    assert not runner.is_alive()

    assert len(of(sink, kernel.RuntimeBooting)) == 1
    assert [b.version for b in of(sink, FrameworkBooted)] == [runtime.framework_version]
    assert [s.reason for s in of(sink, FrameworkShuttingDown)] == ["done"]
    assert [s.interface for s in of(sink, kernel.InterfaceStarted)] == ["panel"]
    assert Ping(1) in counter.seen
    assert runtime.state.get("app.version") == "1.2.3"
    assert sink.started and sink.stopped


def test_framework_booted_comes_after_the_kernel_booted() -> None:
    runtime = Runtime()
    sink = MemorySink()
    runtime.add_sink(sink)
    with runtime:
        pass
    types = [type(p).__name__ for p in sink.payloads]
    assert types.index("RuntimeBooted") < types.index("FrameworkBooted")
    assert types.index("FrameworkShuttingDown") < types.index("RuntimeShuttingDown")
    assert types[0] == "RuntimeBooting"  # sinks start before the kernel boots


def test_run_works_from_a_non_main_thread() -> None:
    runtime = Runtime()
    sink = MemorySink()
    runtime.add_sink(sink)
    errors: list[BaseException] = []

    def target() -> None:
        try:
            runtime.run()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    runner = threading.Thread(target=target)
    runner.start()
    sink.wait_for(FrameworkBooted)
    assert runtime.booted
    runtime.shutdown()
    runner.join(5)
    assert not runner.is_alive() and errors == []
    assert len(of(sink, FrameworkShuttingDown)) == 1


# -- the sink pipeline ------------------------------------------------------------------------


def test_every_event_reaches_every_sink_and_a_raising_sink_is_isolated() -> None:
    runtime = Runtime()
    first, bad, last = MemorySink(), BadSink(), MemorySink()
    for sink in (first, bad, last):
        runtime.add_sink(sink)
    counter = Counter()
    runtime.add_process(counter)
    with runtime:
        for n in range(5):
            runtime.ctx.emit(Ping(n))
        runtime.ctx.emit(Alarm())

    assert first.payloads == last.payloads
    assert [p.n for p in of(last, Ping)] == [0, 1, 2, 3, 4]
    errors = of(last, SinkHandlerError)
    assert all(e.sink == "bad" and e.error == "OSError('disk full')" for e in errors)
    # one report per failed non-error event; none for error-level events, so no recursion
    reported = [e.evt.payload for e in errors]
    non_error = [p for p in last.payloads if p.severity < Severity.ERROR]
    assert reported == non_error
    assert bad.calls == len(last.payloads)  # the bad sink kept being called
    assert not any(isinstance(p, (SinkHandlerError, Alarm)) for p in reported)
    assert "OSError: disk full" in errors[0].traceback
    assert Ping(4) in counter.seen  # processes still see events


def test_a_sink_that_fails_to_start_is_reported_and_skipped() -> None:
    class NoStart(BadSink):
        name = "nostart"

        def start(self, ctx: ContextProtocol) -> None:
            raise PermissionError("read-only")

    runtime = Runtime()
    broken, good = NoStart(), MemorySink()
    runtime.add_sink(broken)
    runtime.add_sink(good)
    with runtime:
        runtime.ctx.emit(Ping(1))
    [error] = of(good, SinkHandlerError)
    assert error.sink == "nostart" and "read-only" in error.error
    assert broken.calls == 0


def test_sink_added_after_boot_starts_at_once() -> None:
    runtime = Runtime()
    with runtime:
        late = MemorySink()
        runtime.add_sink(late)
        runtime.ctx.emit(Ping(7))
    assert late.started and late.stopped
    assert Ping(7) in late.payloads


# -- lifecycle -----------------------------------------------------------------------------


def test_lifecycle_messages_exactly_once_per_boot_and_shutdown() -> None:
    runtime = Runtime()
    sink = MemorySink()
    runtime.add_sink(sink)
    runtime.boot()
    runtime.boot()
    runtime.shutdown("first")
    runtime.shutdown("again")
    assert len(of(sink, FrameworkBooted)) == 1
    assert [s.reason for s in of(sink, FrameworkShuttingDown)] == ["first"]

    runtime.boot()  # a runtime can boot again after a shutdown
    runtime.shutdown("second")
    assert len(of(sink, FrameworkBooted)) == 2
    assert [s.reason for s in of(sink, FrameworkShuttingDown)] == ["first", "second"]


def test_shutdown_is_thread_safe() -> None:
    runtime = Runtime()
    sink = MemorySink()
    stops: list[int] = []
    sink.stop = lambda: stops.append(1)  # type: ignore[method-assign]
    runtime.add_sink(sink)
    runtime.add_service(Ticker())
    runtime.boot()
    barrier = threading.Barrier(16)

    def stop(i: int) -> None:
        barrier.wait()
        runtime.shutdown(f"thread {i}")

    threads = [threading.Thread(target=stop, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(of(sink, FrameworkShuttingDown)) == 1
    assert len(of(sink, kernel.RuntimeShutdown)) == 1
    assert stops == [1]
    assert not runtime.booted


def test_a_runtime_shut_down_from_another_thread_gives_ctrl_c_back_to_python() -> None:
    """Booted on the main thread, stopped from a worker: its handler cannot be put back there.

    The next Ctrl-C then behaves exactly like Python's own (KeyboardInterrupt) and puts Python's
    handler back; a second boot on the main thread takes the handler over again.
    """
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    runtime = Runtime()
    runtime.boot()
    assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    worker = threading.Thread(target=runtime.shutdown, args=("from a worker",))
    worker.start()
    worker.join(10)
    assert not runtime.booted
    runtime.boot()  # again on the main thread, while the handler is still in place
    runtime.shutdown("main thread")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    runtime.boot()
    worker = threading.Thread(target=runtime.shutdown, args=("from a worker",))
    worker.start()
    worker.join(10)
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):  # and the next one too: no duplicate window left
        signal.raise_signal(signal.SIGINT)


def test_a_service_can_shut_the_runtime_down_from_its_own_thread() -> None:
    class Quitter(Service):
        name = "quitter"
        interval = 0.01

        def tick(self, ctx: ContextProtocol) -> None:
            ctx.runtime.shutdown("quitter done")  # type: ignore[attr-defined]

    runtime = Runtime()
    sink = MemorySink()
    runtime.add_sink(sink)
    runtime.add_service(Quitter())
    runner = threading.Thread(target=runtime.run)
    runner.start()
    runner.join(5)
    assert not runner.is_alive()
    assert [s.reason for s in sink.of_type(FrameworkShuttingDown)] == ["quitter done"]


def test_boot_failure_emits_framework_boot_failed_and_reraises() -> None:
    class Explodes(Process):
        name = "explodes"

        def start(self, ctx: ContextProtocol) -> None:
            raise RuntimeError("no hardware")

    runtime = Runtime()
    sink = MemorySink()
    runtime.add_sink(sink)
    runtime.add_process(Explodes())
    with pytest.raises(RuntimeError, match="no hardware"):
        runtime.boot()
    [failed] = of(sink, FrameworkBootFailed)
    assert failed.error == "RuntimeError: no hardware"
    assert failed.severity == Severity.CRITICAL
    assert "no hardware" in (failed.traceback or "")
    assert of(sink, FrameworkBooted) == []
    assert not runtime.booted
    assert sink.stopped  # the sinks were torn down too


def test_a_failing_stop_does_not_duplicate_events_after_reboot() -> None:
    class StopFails(Counter):
        name = "stopfails"

        def stop(self, ctx: ContextProtocol) -> None:
            raise RuntimeError("stuck")

    runtime = Runtime()
    process = StopFails()
    runtime.add_process(process)
    runtime.boot()
    with pytest.raises(RuntimeError, match="stuck"):
        runtime.shutdown()
    process.stop = lambda ctx: None  # type: ignore[method-assign]
    runtime.boot()
    process.seen.clear()
    runtime.ctx.emit(Ping(1))
    runtime.shutdown()
    assert process.seen.count(Ping(1)) == 1


# -- plugins ---------------------------------------------------------------------------------


class Composed:
    """A plugin contributing one of everything, and watching every event."""

    def __init__(self) -> None:
        self.sink = MemorySink()
        self.ticker = Ticker()
        self.counter = Counter()
        self.panel = Panel()
        self.observed: list[Message] = []
        self.order: list[str] = []

    @hookimpl
    def register_sinks(self, settings: Any) -> list[Any]:
        return [self.sink]

    @hookimpl
    def register_services(self, settings: Any) -> list[Any]:
        return [self.ticker]

    @hookimpl
    def register_processes(self, settings: Any) -> list[Any]:
        return [self.counter, self.panel]

    @hookimpl
    def on_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        assert self.sink.payloads[-1] is evt.payload, "on_event runs after the sinks"
        self.observed.append(evt.payload)


def test_runtime_from_plugins_composes_sinks_services_processes_and_on_event() -> None:
    plugin = Composed()
    pm = isolated_plugin_manager([plugin])
    runtime = Runtime.from_plugins(plugins=pm)
    assert runtime.plugins is pm and runtime.settings is not None
    assert runtime.sinks == [plugin.sink]
    assert runtime.interfaces.list() == [plugin.panel]  # Interface -> interface manager
    assert runtime.processes.list() == [plugin.counter]
    with runtime:
        assert plugin.ticker.ticks.wait(5)
        runtime.ctx.emit(Ping(3))
    assert plugin.observed == plugin.sink.payloads  # every event, in the same order
    assert Ping(3) in plugin.counter.seen
    assert [s.interface for s in plugin.sink.of_type(kernel.InterfaceStarted)] == ["panel"]


def test_add_plugins_without_services_keeps_everything_else() -> None:
    plugin = Composed()
    pm = isolated_plugin_manager([plugin])
    runtime = Runtime().add_plugins(plugins=pm, services=False)
    assert runtime.services.list() == []  # services produce live data: left out
    assert runtime.sinks == [plugin.sink]
    assert runtime.interfaces.list() == [plugin.panel]
    assert runtime.processes.list() == [plugin.counter]
    with runtime:
        runtime.ctx.emit(Ping(4))
    assert not plugin.ticker.ticks.is_set()
    assert Ping(4) in plugin.observed and Ping(4) in plugin.counter.seen
    assert Runtime().add_plugins(plugins=pm).services.list() == [plugin.ticker]  # the default


def test_add_plugins_twice_adds_nothing_twice() -> None:
    plugin = Composed()
    pm = isolated_plugin_manager([plugin])
    runtime = Runtime().add_plugins(plugins=pm)
    assert runtime.add_plugins(plugins=pm) is runtime
    assert runtime.sinks == [plugin.sink]


def test_a_failing_on_event_is_reported_like_a_sink_and_others_keep_observing() -> None:
    class Fails:
        @hookimpl
        def on_event(self, evt: Event[Message]) -> None:
            raise KeyError("nope")

    watcher = Composed()
    pm = isolated_plugin_manager([Fails(), watcher])
    runtime = Runtime.from_plugins(plugins=pm)
    with runtime:
        runtime.ctx.emit(Ping(1))
    errors = watcher.sink.of_type(SinkHandlerError)
    assert errors and {e.sink for e in errors} == {"on_event[Fails-0]"}
    assert Ping(1) in watcher.observed


def test_explicit_composition_without_any_plugin(python: Any) -> None:
    result = python(
        """
        from bussdcc.process import Process
        from bussdcc_framework.runtime import Runtime
        from bussdcc_framework.plugins import load_plugins
        from bussdcc_framework.testing import MemorySink

        class P(Process):
            name = "p"

        rt = Runtime()
        sink = MemorySink()
        rt.add_sink(sink)
        rt.add_process(P())
        with rt:
            pass
        assert load_plugins().loaded() == []
        assert Runtime.from_plugins().sinks == []
        print(" ".join(sink.types))
        """,
        env={"BUSSDCC_PLUGINS": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    names = [t.rsplit(":", 1)[1] for t in result.stdout.split()]
    assert names == [
        "RuntimeBooting",
        "ProcessStarted",
        "RuntimeBooted",
        "FrameworkBooted",
        "FrameworkShuttingDown",
        "RuntimeShuttingDown",
        "ProcessStopped",
        "RuntimeShutdown",
    ]
