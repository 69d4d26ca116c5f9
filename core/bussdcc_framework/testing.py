"""pytest fixtures for applications and plugin authors (loaded through the ``pytest11`` entry point).

* ``captured_events``: an in-memory sink; ``runtime``: a booted framework runtime using it.
* ``plugin_registry``: register a plugin for one test only.
* ``manual_clock``: a clock the test advances by hand.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, Optional, TypeVar

import pytest

from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message

M = TypeVar("M", bound=Message)


class MemorySink:
    """An event sink that keeps every event in memory, thread-safely, for assertions."""

    name = "memory"

    def __init__(self) -> None:
        self.events: list[Event[Message]] = []
        self._cond = threading.Condition()
        self.started = False
        self.stopped = False

    def start(self, ctx: ContextProtocol) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def handle(self, evt: Event[Message]) -> None:
        with self._cond:
            self.events.append(evt)
            self._cond.notify_all()

    @property
    def payloads(self) -> list[Message]:
        """The messages seen so far, in order."""
        with self._cond:
            return [evt.payload for evt in self.events]

    def of_type(self, cls: type[M]) -> list[M]:
        """The messages of one type seen so far."""
        return [p for p in self.payloads if isinstance(p, cls)]

    def wait_for(
        self, predicate: Callable[[Message], bool] | type[Message], timeout: float = 5.0
    ) -> Message:
        """Block until a message matches (a type or a predicate); ``AssertionError`` on timeout."""
        check: Callable[[Message], bool]
        if isinstance(predicate, type):
            cls = predicate
            check = lambda m: isinstance(m, cls)  # noqa: E731
        else:
            check = predicate
        with self._cond:
            seen = 0
            deadline = timedelta(seconds=timeout)
            start = datetime.now(timezone.utc)
            while True:
                for evt in self.events[seen:]:
                    if check(evt.payload):
                        return evt.payload
                seen = len(self.events)
                remaining = (deadline - (datetime.now(timezone.utc) - start)).total_seconds()
                if remaining <= 0:
                    raise AssertionError(f"no matching message within {timeout}s")
                self._cond.wait(remaining)


class ManualClock:
    """A clock that only moves when the test calls ``advance``; ``sleep`` waits for it."""

    def __init__(self, start: Optional[datetime] = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=timezone.utc)
        self._mono = 0.0
        self._cond = threading.Condition()

    def now_utc(self) -> datetime:
        with self._cond:
            return self._now

    def monotonic(self) -> float:
        with self._cond:
            return self._mono

    def uptime(self) -> float:
        return self.monotonic()

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline passed."""
        with self._cond:
            self._now += timedelta(seconds=seconds)
            self._mono += seconds
            self._cond.notify_all()

    def sleep(self, seconds: float, cancel: Optional[threading.Event] = None) -> bool:
        with self._cond:
            target = self._mono + seconds
            while self._mono < target:
                if cancel is not None and cancel.is_set():
                    return True
                self._cond.wait(0.05)
        return False


@pytest.fixture
def captured_events() -> MemorySink:
    """An in-memory sink to add to a runtime."""
    return MemorySink()


@pytest.fixture
def manual_clock() -> ManualClock:
    """A clock advanced by hand with ``manual_clock.advance(seconds)``."""
    return ManualClock()


@pytest.fixture
def runtime(captured_events: MemorySink) -> Iterator[Any]:
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
def plugin_registry() -> Iterator[Callable[..., Any]]:
    """``plugin_registry(plugin, name=None)`` registers a plugin until the test ends."""
    from .plugins import register_plugin, unregister_plugin

    names: list[str] = []

    def register(plugin: object, name: Optional[str] = None) -> Any:
        plugin_name = name or getattr(plugin, "__name__", None) or f"test-plugin-{len(names)}"
        names.append(plugin_name)
        return register_plugin(plugin, plugin_name)

    try:
        yield register
    finally:
        for plugin_name in names:
            unregister_plugin(plugin_name)
