"""Fixtures for the web plugin's tests: a booted runtime with a real server on 127.0.0.1:0."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from types import SimpleNamespace
from typing import Any

import pytest
from bussdcc.context import ContextProtocol
from bussdcc.message import Message, Severity
from bussdcc.service import Service
from bussdcc_framework_web import WebInterface

from bussdcc_framework.runtime import Runtime
from bussdcc_framework.testing import MemorySink


class Mode(Enum):
    AUTO = "auto"
    MANUAL = "manual"


@dataclass(slots=True, frozen=True)
class Ping(Message):
    """A test message the web interface may emit."""

    count: int
    note: str = "hello"


@dataclass(slots=True, frozen=True)
class SetPoint(Message):
    """Change the target temperature of a zone."""

    zone: str
    celsius: float
    mode: Mode = Mode.AUTO
    boost: bool = False
    note: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class Alarm(Message):
    severity = Severity.ERROR

    text: str


class Ticker(Service):
    """A service that emits a Ping every 0.2 s (stopped and started from the pages)."""

    name = "ticker"
    interval = 0.2

    def __init__(self) -> None:
        self.ticks = 0

    def tick(self, ctx: ContextProtocol) -> None:
        self.ticks += 1
        ctx.emit(Ping(count=self.ticks, note="tick"))


@dataclass
class Live:
    runtime: Runtime
    web: WebInterface
    sink: MemorySink
    ticker: Ticker

    @property
    def url(self) -> str:
        return self.web.url

    def emit(self, message: Message) -> None:
        self.runtime.ctx.emit(message)


StartLive = Callable[..., Live]


@pytest.fixture
def start_live() -> Iterator[StartLive]:
    """Boot runtimes with a WebInterface on a free port; every one is shut down afterwards."""
    started: list[Runtime] = []

    def start(web: WebInterface | None = None, *, ticker: bool = True, **options: Any) -> Live:
        runtime = Runtime()
        sink = MemorySink()
        runtime.add_sink(sink)
        options.setdefault("port", 0)
        options.setdefault("message_types", [Ping, SetPoint, Alarm])
        interface = web if web is not None else WebInterface(**options)
        runtime.add_process(interface)
        service = Ticker()
        service.enabled = ticker
        runtime.add_service(service)
        runtime.boot()
        started.append(runtime)
        return Live(runtime, interface, sink, service)

    yield start
    for runtime in started:
        runtime.shutdown()


@pytest.fixture
def live(start_live: StartLive) -> Live:
    return start_live()


def _wait_until(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy; AssertionError on timeout."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    """``wait_until(predicate, timeout=5)``: poll until truthy."""
    return _wait_until


@pytest.fixture
def types() -> SimpleNamespace:
    """The test message classes."""
    return SimpleNamespace(Ping=Ping, SetPoint=SetPoint, Alarm=Alarm, Mode=Mode)
