"""ReplayRuntime: both driving styles, lifecycle without duplicates, pacing, services, stopping."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from bussdcc.clock import ReplayClock as KernelReplayClock
from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import (
    Message,
    ProcessStarted,
    RuntimeBooted,
    RuntimeBooting,
    RuntimeShutdown,
    RuntimeShuttingDown,
)
from bussdcc.process import Process
from bussdcc.service import Service
from bussdcc_framework_replay import JsonlSource, ReplayRuntime
from replay_helpers import SoilMoisture, at, event, readings, registry, write_log

from bussdcc_framework import hookimpl
from bussdcc_framework.message import FrameworkBooted, FrameworkShuttingDown
from bussdcc_framework.runtime import ReplayRuntime as ShimmedReplayRuntime
from bussdcc_framework.testing import MemorySink, isolated_plugin_manager


def log_with_lifecycle(path: Path, n: int = 5, step: float = 1.0) -> Path:
    return write_log(
        path,
        [
            event(0, RuntimeBooting(version="0.42.0")),
            event(0, RuntimeBooted(version="0.42.0")),
            event(0, ProcessStarted(process="old")),
            event(0, FrameworkBooted(version="0.29.0")),
            *readings([1 + i * step for i in range(n)]),
            event(1 + n * step, FrameworkShuttingDown(version="0.29.0")),
            event(1 + n * step, RuntimeShuttingDown(reason=None)),
            event(1 + n * step, RuntimeShutdown(version="0.42.0")),
        ],
    )


def jsonl(path: Path) -> JsonlSource:
    return JsonlSource(path, registry=registry())


def test_original_style_add_source_and_run_returns_when_exhausted(tmp_path: Path) -> None:
    log = log_with_lifecycle(tmp_path / "x.jsonl")
    sink = MemorySink()
    rt = ShimmedReplayRuntime(speed=0)
    rt.add_sink(sink)
    rt.add_source(jsonl(log))

    rt.run()

    names = [type(p).__name__ for p in sink.payloads]
    # The runtime's own lifecycle once, the recorded one not at all, the readings in between.
    assert names == [
        "RuntimeBooting",
        "RuntimeBooted",
        "FrameworkBooted",
        "SoilMoisture",
        "SoilMoisture",
        "SoilMoisture",
        "SoilMoisture",
        "SoilMoisture",
        "FrameworkShuttingDown",
        "RuntimeShuttingDown",
        "RuntimeShutdown",
    ]
    assert sink.of_type(FrameworkBooted)[0].version != "0.29.0"
    assert not rt.booted
    assert rt.stats.replayed == 5
    assert sum(rt.stats.lifecycle_skipped.values()) == 7


def test_lifecycle_events_carry_recorded_time(tmp_path: Path) -> None:
    log = log_with_lifecycle(tmp_path / "x.jsonl", n=3)
    sink = MemorySink()
    rt = ReplayRuntime()
    rt.add_sink(sink)

    rt.replay(jsonl(log), speed=0)

    times = {type(e.payload).__name__: e.time for e in sink.events}
    assert times["RuntimeBooting"] == at(0)
    assert times["RuntimeShutdown"] == at(3)  # the last replayed event


def test_kernel_style_replay_with_start_at(tmp_path: Path) -> None:
    log = write_log(tmp_path / "x.jsonl", readings([10, 11]))
    sink = MemorySink()
    rt = ReplayRuntime()
    rt.add_sink(sink)

    stats = rt.replay(jsonl(log), speed=0, start_at=at(5))

    assert sink.events[0].time == at(5)  # RuntimeBooting at start_at
    assert stats.replayed == 2 and stats.first == at(10) and stats.last == at(11)


def test_several_sources_are_merged_by_time(tmp_path: Path) -> None:
    rt = ReplayRuntime(speed=0)
    sink = MemorySink()
    rt.add_sink(sink)
    rt.add_source(jsonl(write_log(tmp_path / "a.jsonl", readings([1, 3]))))
    rt.add_source(jsonl(write_log(tmp_path / "b.jsonl", readings([2, 4]))))

    rt.run()

    assert [p.percent for p in sink.of_type(SoilMoisture)] == [1, 2, 3, 4]


def test_speed_paces_against_recorded_time(tmp_path: Path) -> None:
    # Only bounds a busy machine cannot break: load makes a replay slower, never faster, and
    # the recorded spans are chosen so that a wrong pace is off by orders of magnitude.
    log = write_log(tmp_path / "x.jsonl", readings([0, 10, 20]))  # 20 recorded seconds

    started = time.perf_counter()
    ReplayRuntime(speed=100).replay(jsonl(log))
    paced = time.perf_counter() - started
    assert paced >= 0.19  # 20 s at 100x: it waited for the recorded gaps
    assert paced < 10  # and not at 1x (20 s) nor anything near it

    long = write_log(tmp_path / "long.jsonl", readings([0, 500, 1000]))  # 1000 recorded seconds
    started = time.perf_counter()
    ReplayRuntime(speed=0).replay(jsonl(long))
    fast = time.perf_counter() - started
    assert fast < 10  # as fast as possible: pacing at any speed up to 100x would take 10 s


def test_processes_see_replayed_events_and_ctx_clock_shows_recorded_time(tmp_path: Path) -> None:
    seen: list[tuple[float, object]] = []

    class Watcher(Process):
        name = "watcher"

        def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
            if isinstance(evt.payload, SoilMoisture):
                seen.append((evt.payload.percent, ctx.clock.now_utc()))

    rt = ReplayRuntime(speed=0)
    rt.add_process(Watcher())
    rt.replay(jsonl(write_log(tmp_path / "x.jsonl", readings([1, 2]))))

    assert seen == [(1.0, at(1)), (2.0, at(2))]


def test_services_tick_on_the_replay_clock(tmp_path: Path) -> None:
    ticks: list[object] = []

    class Sampler(Service):
        name = "sampler"
        interval = 1.0  # one replayed second

        def tick(self, ctx: ContextProtocol) -> None:
            ticks.append(ctx.clock.now_utc())

    log = write_log(tmp_path / "x.jsonl", readings([i * 0.25 for i in range(41)]))  # 10 s
    rt = ReplayRuntime(speed=20)  # 0.5 s of wall time
    rt.add_service(Sampler())

    started = time.perf_counter()
    rt.replay(jsonl(log))
    elapsed = time.perf_counter() - started

    assert elapsed < 3
    # Ticks are spaced by replayed seconds, and every tick sees recorded (2026) time.
    assert 4 <= len(ticks) <= 12, ticks
    assert all(at(0) <= t <= at(10) for t in ticks)  # type: ignore[operator]


def test_stop_replay_from_another_thread_shuts_down_cleanly(tmp_path: Path) -> None:
    log = write_log(tmp_path / "x.jsonl", readings(range(600)))  # ten minutes at recorded pace
    sink = MemorySink()
    rt = ReplayRuntime(speed=1)
    rt.add_sink(sink)
    threading.Timer(0.3, rt.stop_replay).start()

    started = time.perf_counter()
    stats = rt.replay(jsonl(log))

    assert time.perf_counter() - started < 3
    assert stats.cancelled and 0 < stats.replayed < 600
    assert type(sink.payloads[-1]).__name__ == "RuntimeShutdown"
    assert not rt.booted


def test_a_process_may_end_the_replay_by_shutting_down(tmp_path: Path) -> None:
    class StopAtThree(Process):
        name = "stopper"

        def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
            if isinstance(evt.payload, SoilMoisture) and evt.payload.percent == 3:
                ctx.runtime.shutdown("seen enough")

    rt = ReplayRuntime(speed=0)
    rt.add_process(StopAtThree())
    stats = rt.replay(jsonl(write_log(tmp_path / "x.jsonl", readings(range(10)))))

    assert stats.replayed == 4 and stats.cancelled


def test_one_runtime_can_replay_twice(tmp_path: Path) -> None:
    log = write_log(tmp_path / "x.jsonl", readings([1, 2]))
    sink = MemorySink()
    rt = ReplayRuntime(speed=0)
    rt.add_sink(sink)

    rt.replay(jsonl(log))
    rt.replay(jsonl(log))

    assert len(sink.of_type(SoilMoisture)) == 4
    assert len(sink.of_type(RuntimeBooting)) == 2


def test_a_used_kernel_clock_gives_a_clear_error(tmp_path: Path) -> None:
    log = write_log(tmp_path / "x.jsonl", readings([1]))
    rt = ReplayRuntime(speed=0, clock=KernelReplayClock())
    rt.replay(jsonl(log))

    with pytest.raises(RuntimeError, match="can be started only once"):
        rt.replay(jsonl(log))


def test_misuse_is_reported_clearly(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no source"):
        ReplayRuntime().run()
    with pytest.raises(RuntimeError, match="boots itself"):
        ReplayRuntime().boot()
    with pytest.raises(ValueError, match="speed must be a number >= 0"):
        ReplayRuntime(speed=-1)
    with pytest.raises(TypeError, match="needs a bussdcc ReplayClock"):
        ReplayRuntime(clock=object())  # type: ignore[arg-type]


def test_empty_source_replays_nothing_and_does_not_boot(tmp_path: Path) -> None:
    log = write_log(tmp_path / "x.jsonl", [], tail=b"not json\n")
    sink = MemorySink()
    rt = ReplayRuntime(speed=0)
    rt.add_sink(sink)

    stats = rt.replay(jsonl(log))

    assert stats.replayed == 0 and sink.events == [] and not sink.started


class _LiveService(Service):
    name = "live"
    interval = 0.01


class _Plugin:
    """A plugin with a live-data service, a sink and an on_event hook."""

    def __init__(self) -> None:
        self.sink = MemorySink()
        self.service = _LiveService()
        self.seen: list[Message] = []

    @hookimpl
    def register_sinks(self, settings: object) -> list[object]:
        return [self.sink]

    @hookimpl
    def register_services(self, settings: object) -> list[object]:
        return [self.service]

    @hookimpl
    def on_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        self.seen.append(evt.payload)


def test_replay_runtime_composes_plugins_without_their_services(tmp_path: Path) -> None:
    plugin = _Plugin()
    runtime = ReplayRuntime.from_plugins(plugins=isolated_plugin_manager([plugin]))
    assert runtime.services.list() == []  # a replay must not invent live data
    assert runtime.sinks == [plugin.sink]
    runtime.replay(JsonlSource(write_log(tmp_path / "x.jsonl", readings([1])), registry=registry()), speed=0)
    assert SoilMoisture(sensor="bed-1", percent=1.0) in plugin.seen
    assert SoilMoisture(sensor="bed-1", percent=1.0) in plugin.sink.payloads
    explicit = ReplayRuntime().add_plugins(plugins=isolated_plugin_manager([plugin]), services=True)
    assert explicit.services.list() == [plugin.service]
