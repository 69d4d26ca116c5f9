"""The runtime dispatches over snapshots of processes, interfaces and running services.

These tests fail if a snapshot goes stale: a stopped service still receiving events, a
restarted or dead one not tracked, a process registered late not dispatched to.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from bussdcc import Message, Process, Service
from bussdcc.context import ContextProtocol
from bussdcc.event import Event

from bussdcc_framework.interface import Interface
from bussdcc_framework.runtime import Runtime
from bussdcc_framework.testing import MemorySink


@dataclass(slots=True, frozen=True)
class Ping(Message):
    n: int


class Listener(Service):
    interval = 0.01

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[int] = []

    def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        if isinstance(evt.payload, Ping):
            self.seen.append(evt.payload.n)


class DiesOnFirstTick(Service):
    name = "dies"
    interval = 0.01
    restart = False

    def tick(self, ctx: ContextProtocol) -> None:
        raise RuntimeError("gone")


class Recorder(Process):
    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[int] = []

    def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        if isinstance(evt.payload, Ping):
            self.seen.append(evt.payload.n)


class Panel(Interface):
    name = "panel"

    def __init__(self) -> None:
        self.seen: list[int] = []

    def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        if isinstance(evt.payload, Ping):
            self.seen.append(evt.payload.n)


def test_stopping_and_starting_a_service_changes_who_gets_events() -> None:
    runtime = Runtime()
    listener = Listener("listener")
    runtime.add_service(listener)
    runtime.boot()
    try:
        runtime.ctx.emit(Ping(1))
        runtime.services.stop("listener")
        assert runtime.services.running() == []
        runtime.ctx.emit(Ping(2))
        runtime.services.start("listener")
        assert runtime.services.running() == [listener]
        runtime.ctx.emit(Ping(3))
    finally:
        runtime.shutdown()
    assert listener.seen == [1, 3]


def test_a_service_that_exits_on_its_own_leaves_the_snapshot() -> None:
    runtime = Runtime()
    sink = MemorySink()
    runtime.add_sink(sink)
    runtime.add_service(DiesOnFirstTick())
    runtime.boot()
    try:
        from bussdcc.message import ServiceStopped

        sink.wait_for(lambda m: isinstance(m, ServiceStopped) and m.service == "dies")
        assert runtime.services.running() == []
        assert runtime.services.running_snapshot() == ()
    finally:
        runtime.shutdown()


def test_processes_and_interfaces_registered_at_any_time_are_dispatched_to() -> None:
    runtime = Runtime()
    early, panel = Recorder("early"), Panel()
    runtime.add_process(early)
    runtime.add_interface(panel)
    runtime.boot()
    try:
        runtime.ctx.emit(Ping(1))
        late = Recorder("late")
        runtime.processes.register(late)  # the kernel's own API, not add_process
        runtime.ctx.emit(Ping(2))
    finally:
        runtime.shutdown()
    assert early.seen == [1, 2] and panel.seen == [1, 2] and late.seen == [2]
    assert runtime.processes.list() == [early, late]
    assert runtime.interfaces.list() == [panel]


def test_the_running_snapshot_is_consistent_under_concurrent_start_and_stop() -> None:
    runtime = Runtime()
    services = [Listener(f"svc{i}") for i in range(6)]
    for service in services:
        runtime.add_service(service)
    runtime.boot()
    try:

        def churn(name: str) -> None:
            for _ in range(20):
                runtime.services.stop(name)
                runtime.services.start(name)

        threads = [threading.Thread(target=churn, args=(s.name,)) for s in services]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        expected = {s.name for s in services if runtime.services.is_running(s.name)}
        assert {s.name for s in runtime.services.running_snapshot()} == expected
    finally:
        runtime.shutdown()
