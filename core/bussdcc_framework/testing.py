"""pytest fixtures for applications and plugin authors.

Installed with the core and loaded by pytest through the ``pytest11`` entry point, so a plugin's
test suite can use them without a ``conftest.py``:

* ``captured_events``: a ``MemorySink`` that keeps every event, with ``wait_for`` for threads.
* ``runtime``: a booted framework ``Runtime`` (no plugins) recording into ``captured_events``.
* ``make_runtime``: a factory for runtimes composed from *only* the plugins a test names, with
  settings given in the test instead of read from the environment; booted, and shut down when
  the test ends.
* ``plugin_registry``: register a plugin with the process-wide plugin manager for one test.
* ``manual_clock``: a ``ManualClock`` that moves only when the test says so, so services tick
  exactly when the test wants them to.

This module is imported by every pytest run in an environment where the framework is installed,
so it imports nothing heavy at module level (no runtime, no plugins).
See ``docs/testing-plugins.md``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Optional, Protocol, TypeVar, overload

import pytest
from bussdcc.clock import ClockProtocol
from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message

from .names import type_name

if TYPE_CHECKING:
    from .plugins import FrameworkPluginManager, PluginRecord
    from .runtime import Runtime

M = TypeVar("M", bound=Message)

__all__ = [
    "ManualClock",
    "MemorySink",
    "RuntimeFactory",
    "isolated_plugin_manager",
    "type_name",
]


class MemorySink:
    """An event sink that keeps every event in memory, for assertions.

    Events arrive from many threads (services tick on their own, web requests emit on theirs),
    so every access is under one condition variable, and ``wait_for`` lets a test block until
    something happened instead of sleeping for a guessed time.
    """

    name = "memory"

    def __init__(self) -> None:
        self.events: list[Event[Message]] = []
        self._cond = threading.Condition()
        self.ctx: ContextProtocol | None = None
        self.started = False
        self.stopped = False

    # -- the sink protocol ---------------------------------------------------------------

    def start(self, ctx: ContextProtocol) -> None:
        self.ctx = ctx
        self.started = True
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True

    def handle(self, evt: Event[Message]) -> None:
        with self._cond:
            self.events.append(evt)
            self._cond.notify_all()

    # -- assertions ----------------------------------------------------------------------

    def __len__(self) -> int:
        with self._cond:
            return len(self.events)

    @property
    def payloads(self) -> list[Message]:
        """The messages seen so far, in order."""
        with self._cond:
            return [evt.payload for evt in self.events]

    @property
    def types(self) -> list[str]:
        """The ``module:QualName`` of every message seen so far, in order."""
        return [type_name(type(p)) for p in self.payloads]

    def of_type(self, cls: type[M]) -> list[M]:
        """The messages that are instances of ``cls`` (subclasses included), in order."""
        return [p for p in self.payloads if isinstance(p, cls)]

    def clear(self) -> None:
        """Forget what was captured so far (e.g. the boot messages)."""
        with self._cond:
            self.events.clear()

    @overload
    def wait_for(self, predicate: type[M], timeout: float = 5.0) -> M: ...

    @overload
    def wait_for(self, predicate: Callable[[Message], bool], timeout: float = 5.0) -> Message: ...

    def wait_for(self, predicate: type[Message] | Callable[[Message], bool], timeout: float = 5.0) -> Message:
        """Block until a message matches (a type or a predicate) and return it.

        Messages already captured count, so there is no race with an event emitted before
        the call. Raises ``AssertionError`` naming what was seen after ``timeout`` seconds.
        """
        check: Callable[[Message], bool]
        if isinstance(predicate, type):
            cls = predicate
            check = lambda m: isinstance(m, cls)  # noqa: E731
            wanted = cls.__name__
        else:
            check = predicate
            wanted = getattr(predicate, "__name__", "predicate")
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for evt in self.events[seen:]:
                    if check(evt.payload):
                        return evt.payload
                seen = len(self.events)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    names = sorted({type(e.payload).__name__ for e in self.events})
                    raise AssertionError(
                        f"no {wanted} within {timeout}s; captured {seen} events of types: "
                        f"{', '.join(names) or 'none'}"
                    )
                self._cond.wait(remaining)


class ManualClock(ClockProtocol):
    """A clock that moves only when the test calls ``advance``.

    ``sleep`` (what the service supervisor calls between ticks) blocks until enough manual
    time has passed or the sleep is cancelled, so ``advance(service.interval)`` releases exactly
    one tick. ``wait_for_sleepers`` avoids the race of advancing before a service went to sleep.
    """

    def __init__(self, start: Optional[datetime] = None) -> None:
        self._time = start or datetime(2026, 1, 1, tzinfo=UTC)
        if self._time.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime, e.g. tzinfo=timezone.utc")
        self._mono = 0.0
        self._sleepers = 0
        self._cond = threading.Condition()

    def now_utc(self) -> datetime:
        with self._cond:
            return self._time

    def monotonic(self) -> float:
        with self._cond:
            return self._mono

    def uptime(self) -> float:
        return self.monotonic()

    @property
    def sleepers(self) -> int:
        """How many threads are blocked in ``sleep`` right now."""
        with self._cond:
            return self._sleepers

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move time forward, wake every sleeper whose deadline passed, return the new time."""
        step = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
        if step < 0:
            raise ValueError("a ManualClock never goes backwards; advance by >= 0 seconds")
        with self._cond:
            self._time += timedelta(seconds=step)
            self._mono += step
            self._cond.notify_all()
            return self._time

    def wait_for_sleepers(self, count: int = 1, timeout: float = 5.0) -> None:
        """Block until at least ``count`` threads sleep on this clock; ``AssertionError`` if not."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._sleepers < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} sleeper(s) on the clock within {timeout}s, found {self._sleepers}"
                    )
                self._cond.wait(min(remaining, 0.05))

    def sleep(self, seconds: float, cancel: Optional[threading.Event] = None) -> bool:
        """Wait for ``seconds`` of manual time; ``True`` if ``cancel`` was set first."""
        with self._cond:
            target = self._mono + seconds
            self._sleepers += 1
            self._cond.notify_all()
            try:
                while self._mono < target:
                    if cancel is not None and cancel.is_set():
                        return True
                    # A short wait, because setting ``cancel`` does not notify this condition.
                    self._cond.wait(0.05)
            finally:
                self._sleepers -= 1
        return False


def isolated_plugin_manager(plugins: Iterable[object], *, strict: bool = False) -> FrameworkPluginManager:
    """A plugin manager holding only ``plugins`` (modules or objects with hookimpls).

    Nothing is discovered from entry points, so a test sees its own plugin and no other,
    whatever else is installed. Each plugin is validated like an installed one: a misspelt hook
    or a wrong argument fails here, naming the plugin and the hook. ``strict=True`` makes a
    hook failure raise ``PluginHookError`` and a hook-named function without ``@hookimpl``
    raise ``PluginLoadError`` (as ``BUSSDCC_STRICT_PLUGINS=1`` does).
    """
    from .plugins import FrameworkPluginManager, add_plugin

    pm = FrameworkPluginManager(strict=strict)
    for index, plugin in enumerate(plugins):
        name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{index}"
        add_plugin(pm, plugin, name, f"{name} (test)")
    return pm


class RuntimeFactory(Protocol):
    """The signature of the ``make_runtime`` fixture."""

    def __call__(
        self,
        *plugins: object,
        settings: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        clock: ClockProtocol | None = None,
        boot: bool = True,
        strict: bool = True,
    ) -> Runtime: ...


@pytest.fixture
def captured_events() -> MemorySink:
    """An in-memory sink; the ``runtime`` and ``make_runtime`` runtimes record into it."""
    return MemorySink()


@pytest.fixture
def manual_clock() -> ManualClock:
    """A clock advanced by hand with ``manual_clock.advance(seconds)``."""
    return ManualClock()


@pytest.fixture
def runtime(captured_events: MemorySink) -> Iterator[Runtime]:
    """A booted framework ``Runtime`` (no plugins) that records into ``captured_events``."""
    from .runtime import Runtime

    rt = Runtime()
    rt.add_sink(captured_events)
    rt.boot()
    try:
        yield rt
    finally:
        rt.shutdown("test finished")


@pytest.fixture
def make_runtime(captured_events: MemorySink) -> Iterator[RuntimeFactory]:
    """``make_runtime(*plugins, settings=..., clock=..., boot=True, strict=True)``.

    A runtime composed (sinks, services, processes, ``on_event``) from the given plugins
    only. ``settings`` are overrides keyed ``plugin.name`` (strings are parsed like
    ``--set``); the environment is ignored unless ``environ`` is given, so tests do not depend
    on the developer's shell. Every runtime made is shut down when the test ends.

    Strict by default: a hook of the plugin that raises (or returns the wrong thing) fails the
    test. A ``register_*`` hook raises ``PluginHookError`` from ``make_runtime`` itself; an
    ``on_event`` failure (which the runtime isolates, as it must in production) fails the
    test when it ends, with the plugin's traceback. ``strict=False`` restores production
    behaviour: one line on stderr, the failure in ``runtime.plugins.failures``.
    """
    from .runtime import Runtime
    from .settings import Settings

    made: list[tuple[Runtime, bool]] = []

    def make(
        *plugins: object,
        settings: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        clock: ClockProtocol | None = None,
        boot: bool = True,
        strict: bool = True,
    ) -> Runtime:
        pm = isolated_plugin_manager(plugins, strict=strict)
        resolved = Settings.from_declarations(
            pm.declared_settings(), settings, environ if environ is not None else {}
        )
        rt = Runtime(clock=clock)
        rt.add_sink(captured_events)
        rt.add_plugins(settings=resolved, plugins=pm)
        made.append((rt, strict))
        if boot:
            rt.boot()
        return rt

    try:
        yield make
    finally:
        for rt, _strict in reversed(made):
            rt.shutdown("test finished")
    failures = [f for rt, strict in made if strict and rt.plugins is not None for f in rt.plugins.failures]
    if failures:
        details = "\n".join(f"{f.line}\n{f.traceback}" for f in failures)
        pytest.fail(
            f"a plugin hook failed during the test (make_runtime is strict; pass strict=False "
            f"to allow it):\n{details}",
            pytrace=False,
        )


@pytest.fixture
def plugin_registry() -> Iterator[Callable[..., FrameworkPluginManager]]:
    """``plugin_registry(plugin, name=None)`` registers a plugin process-wide until the test ends.

    Use it when the code under test calls ``load_plugins()`` itself (the CLI, ``bussdcc run``
    helpers, ``Runtime.from_plugins()``); for a runtime of just your plugin, ``make_runtime``
    is simpler and does not discover installed plugins.

    A plugin that is registered already, such as the plugin under test found through its
    entry point after ``pip install -e .``, is left as it is (and stays after the test).
    """
    from .plugins import load_plugins, register_plugin, unregister_plugin

    added: list[tuple[str, PluginRecord | None]] = []

    def register(plugin: object, name: Optional[str] = None) -> FrameworkPluginManager:
        pm = load_plugins()
        if pm.is_registered(plugin):
            return pm
        plugin_name = name or getattr(plugin, "__name__", None) or f"test-plugin-{len(added)}"
        previous = pm.records.get(plugin_name)
        register_plugin(plugin, plugin_name)
        added.append((plugin_name, previous))
        return pm

    try:
        yield register
    finally:
        for plugin_name, previous in reversed(added):
            unregister_plugin(plugin_name)
            if previous is not None:  # e.g. the record of a not-selected entry point
                load_plugins().records[plugin_name] = previous
