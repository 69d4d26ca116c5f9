"""The replay controller: pause, resume, step, seek (deterministic), speed, loop, on real files."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message
from bussdcc.process import Process
from bussdcc_framework_replay import JsonlSource, ReplayRuntime
from bussdcc_framework_replay.control import ControlError
from replay_helpers import PumpFault, SoilMoisture, at, event, registry, write_log

from bussdcc_framework.replay_control import ReplayControllerProtocol, replay_controller
from bussdcc_framework.testing import MemorySink

N = 300


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``condition`` until it holds (a busy machine may be slow; never a tight bound)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@dataclass(frozen=True, slots=True)
class Dry(Message):
    """Derived by ``Watcher`` when a bed gets dry: events processes emit take part too."""

    sensor: str
    level: int


class Watcher(Process):
    """Keeps derived state, emits derived events, and remembers every event it saw."""

    name = "watcher"

    def __init__(self) -> None:
        self.seen: list[tuple[datetime, str, Any]] = []
        self.clock_times: list[datetime] = []
        self._dry: set[str] = set()

    def start(self, ctx: ContextProtocol) -> None:
        self._dry = set()  # what it derives is reset at start: a seek back restarts it
        ctx.state.set("beds.count", 0)

    def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        msg = evt.payload
        if isinstance(msg, APP_TYPES):  # not the runtime's own lifecycle
            self.seen.append((evt.time, type(msg).__name__, _data(msg)))
            self.clock_times.append(ctx.clock.now_utc())
        if isinstance(msg, SoilMoisture):
            ctx.state.update("beds.count", lambda n: (n or 0) + 1)
            ctx.state.set(f"beds.last.{msg.sensor}", msg.percent)
            ctx.state.update("beds.total", lambda v: round((v or 0.0) + msg.percent, 6))
            if msg.percent < 33 and msg.sensor not in self._dry:
                self._dry.add(msg.sensor)
                ctx.emit(Dry(msg.sensor, len(self._dry)))
            elif msg.percent >= 36:
                self._dry.discard(msg.sensor)


APP_TYPES = (SoilMoisture, PumpFault, Dry)


def _data(msg: Message) -> Any:
    if isinstance(msg, SoilMoisture):
        return (msg.sensor, msg.percent)
    if isinstance(msg, Dry):
        return (msg.sensor, msg.level)
    if isinstance(msg, PumpFault):
        return (msg.code, msg.text)
    return None


def recording(path: Path, n: int = N) -> Path:
    """n readings one second apart over three beds, an error in the middle."""
    events = []
    for i in range(n):
        events.append(event(1 + i, SoilMoisture(sensor=f"bed-{i % 3}", percent=30 + (i * 7) % 11)))
        if i == n // 2:
            events.append(event(1 + i, PumpFault(code=3, text="dry run")))
    return write_log(path / "run.jsonl", events)


class Player:
    """A ReplayRuntime replaying on a thread, held up after its last event."""

    def __init__(self, log: Path, *, speed: float = 0, paused: bool = True, sink: bool = False) -> None:
        self.runtime = ReplayRuntime(speed=speed)
        self.watcher = Watcher()
        self.runtime.add_process(self.watcher)
        self.sink = MemorySink() if sink else None
        if self.sink is not None:
            self.runtime.add_sink(self.sink)
        self.source = JsonlSource(log, registry=registry())
        self.error: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.paused = paused
        self.speed = speed

    def _run(self) -> None:
        try:
            self.runtime.replay(self.source, speed=self.speed, hold=True, paused=self.paused)
        except BaseException as exc:  # pragma: no cover - reported by the test
            self.error.append(exc)

    @property
    def ctl(self) -> Any:
        return self.runtime.controller

    def __enter__(self) -> Player:
        self.thread.start()
        wait_until(lambda: self.ctl.running, what="the replay to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.runtime.stop_replay()
        self.thread.join(30)
        assert not self.thread.is_alive()
        assert not self.error, self.error

    def state(self) -> dict[str, Any]:
        return self.runtime.state.snapshot("beds")  # type: ignore[attr-defined,no-any-return]

    def readings_seen(self) -> list[float]:
        return [d[1] for _, name, d in self.watcher.seen if name == "SoilMoisture"]


def reference(log: Path, cut: datetime) -> tuple[dict[str, Any], list[tuple[datetime, str, Any]]]:
    """Play from the start: the state just before the first event at/after ``cut``, and what
    the watcher saw from then on."""
    runtime = ReplayRuntime(speed=0)
    watcher = Watcher()
    snapshot: dict[str, Any] = {}

    class Cut(Process):
        name = "cut"

        def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
            pass

    class Snap(Process):
        """Registered first: sees each event before the watcher changes the state."""

        name = "snap"

        def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
            if not snapshot and evt.time >= cut and not isinstance(evt.payload, Dry):
                snapshot.update(runtime.state.snapshot("beds"))  # type: ignore[attr-defined]

    runtime.add_process(Snap())
    runtime.add_process(watcher)
    runtime.add_process(Cut())
    runtime.replay(JsonlSource(log, registry=registry()))
    start = next(i for i, s in enumerate(watcher.seen) if s[0] >= cut)
    return snapshot, watcher.seen[start:]


def test_the_runtime_exposes_its_controller_through_the_core_protocol(tmp_path: Path) -> None:
    runtime = ReplayRuntime()
    controller = replay_controller(runtime)
    assert controller is runtime.replay_controller
    assert isinstance(controller, ReplayControllerProtocol)
    assert replay_controller(runtime.ctx) is controller
    from bussdcc_framework.runtime import Runtime

    assert replay_controller(Runtime()) is None
    assert replay_controller(Runtime().ctx) is None


def test_paused_start_emits_nothing_then_steps_one_event_at_a_time(tmp_path: Path) -> None:
    log = recording(tmp_path)
    with Player(log, sink=True) as p:
        assert p.ctl.wait(10)
        time.sleep(0.2)  # nothing may arrive while paused
        assert p.readings_seen() == []
        assert p.ctl.status()["paused"] is True
        p.ctl.step()
        assert p.ctl.wait(10)
        assert p.readings_seen() == [30.0]
        p.ctl.step(4)
        assert p.ctl.wait(10)
        assert p.readings_seen() == [30.0, 37.0, 33.0, 40.0, 36.0]
        status = p.ctl.status()
        assert status["events"] == 5
        assert status["position"] == at(5).isoformat()
        assert status["paused"] is True and status["stepping"] is False
        time.sleep(0.2)
        assert len(p.readings_seen()) == 5
        assert p.sink is not None
        assert [e.payload.percent for e in p.sink.events if isinstance(e.payload, SoilMoisture)] == [
            30.0,
            37.0,
            33.0,
            40.0,
            36.0,
        ]


class Gate(Process):
    """Holds the runtime's boot until the test opens it."""

    name = "gate"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    def start(self, ctx: ContextProtocol) -> None:
        self.entered.set()
        assert self.opened.wait(60)


def test_a_command_given_while_the_replay_boots_is_answered_once_applied(tmp_path: Path) -> None:
    # The web server answers while the replay still boots (before its thread drives): a step
    # asked then must be answered after it was emitted, not at once with nothing emitted.
    p = Player(recording(tmp_path))
    gate = Gate()
    p.runtime.add_process(gate)
    p.thread.start()
    try:
        assert gate.entered.wait(60)
        p.ctl.step(2)
        done: list[bool] = []
        asker = threading.Thread(target=lambda: done.append(p.ctl.wait(60)), daemon=True)
        asker.start()
        asker.join(0.5)
        assert done == []  # not answered before the replay thread applied it
        gate.opened.set()
        asker.join(60)
        assert done == [True]
        assert p.readings_seen() == [30.0, 37.0]
        assert p.ctl.status()["events"] == 2
    finally:
        gate.opened.set()
        p.__exit__()


def test_a_command_after_the_replay_ended_is_answered_at_once(tmp_path: Path) -> None:
    p = Player(recording(tmp_path))
    with p:
        pass
    p.ctl.step()
    assert p.ctl.wait(0)


def test_step_until_a_type_stops_after_the_first_event_of_that_type(tmp_path: Path) -> None:
    log = recording(tmp_path)
    with Player(log) as p:
        p.ctl.step(until="PumpFault")
        assert p.ctl.wait(20)
        names = [name for _, name, _ in p.watcher.seen if name in ("SoilMoisture", "PumpFault")]
        assert names[-1] == "PumpFault"
        assert names.count("SoilMoisture") == N // 2 + 1
        assert p.ctl.status()["paused"] is True


def test_pause_stops_the_events_and_resume_plays_on(tmp_path: Path) -> None:
    log = recording(tmp_path)
    with Player(log, speed=20, paused=False) as p:
        wait_until(lambda: len(p.readings_seen()) >= 3, what="some readings")
        p.ctl.pause()
        assert p.ctl.wait(10)
        frozen = len(p.readings_seen())
        time.sleep(0.5)  # at 20x, 10 more readings would have come
        assert len(p.readings_seen()) == frozen
        p.ctl.resume()
        wait_until(lambda: len(p.readings_seen()) >= frozen + 3, what="readings after resume")


def test_speed_changes_take_effect_at_once(tmp_path: Path) -> None:
    log = recording(tmp_path)
    with Player(log, speed=0.1, paused=False) as p:
        # At 0.1x the second reading is 10 s away; max speed gets through all of them now.
        wait_until(lambda: len(p.readings_seen()) >= 1, what="the first reading")
        p.ctl.set_speed(0)
        wait_until(lambda: p.ctl.status()["finished"], what="the end at max speed")
        assert len(p.readings_seen()) == N
        assert p.ctl.status()["max"] is True


def test_speed_limits_are_checked() -> None:
    runtime = ReplayRuntime()
    for bad in (0.05, 101, -1, float("nan"), "fast", True):
        with pytest.raises(ControlError):
            runtime.controller.set_speed(bad)  # type: ignore[arg-type]
    runtime.controller.set_speed(0.1)
    runtime.controller.set_speed(100)
    runtime.controller.faster()
    assert runtime.controller.speed == 0  # beyond 100x: as fast as possible
    runtime.controller.slower()
    assert runtime.controller.speed == 100
    for bad_count in (0, -1, 1.5, True, 10**9):
        with pytest.raises(ControlError):
            runtime.controller.step(bad_count)  # type: ignore[arg-type]


@pytest.mark.parametrize("cut_at", [1, 2, 77.5, 151, 299.2])
def test_forward_seek_then_play_equals_playing_from_the_start(tmp_path: Path, cut_at: float) -> None:
    log = recording(tmp_path)
    cut = at(cut_at)
    expected_state, expected_seen = reference(log, cut)
    with Player(log) as p:
        p.ctl.seek(cut)
        assert p.ctl.wait(30)
        assert p.ctl.status()["position"] == cut.isoformat()
        assert p.state() == expected_state
        mark = len(p.watcher.seen)
        p.ctl.resume()
        wait_until(lambda: p.ctl.status()["finished"], what="the end")
        assert p.watcher.seen[mark:] == expected_seen


@pytest.mark.parametrize("cut_at", [1, 50, 150.5, 151])
def test_backward_seek_then_play_equals_playing_from_the_start(tmp_path: Path, cut_at: float) -> None:
    log = recording(tmp_path)
    cut = at(cut_at)
    expected_state, expected_seen = reference(log, cut)
    with Player(log, paused=False, sink=True) as p:
        wait_until(lambda: p.ctl.status()["finished"], what="the end")
        assert p.sink is not None
        recorded = len(p.sink.events)
        epoch = p.ctl.status()["epoch"]
        p.ctl.pause()
        p.ctl.seek(cut)
        assert p.ctl.wait(30)
        status = p.ctl.status()
        assert status["position"] == cut.isoformat() and status["finished"] is False
        assert status["epoch"] > epoch
        assert p.state() == expected_state
        # The events played through on the way were not shown to the sinks again.
        assert len(p.sink.events) == recorded
        mark = len(p.watcher.seen)
        p.ctl.resume()
        wait_until(lambda: p.ctl.status()["finished"], what="the end again")
        assert p.watcher.seen[mark:] == expected_seen
        # The clock showed recorded time to processes throughout.
        assert p.watcher.clock_times[mark:] == [t for t, _, _ in expected_seen]


def test_seeking_back_and_forth_many_times_still_gives_the_same_state(tmp_path: Path) -> None:
    log = recording(tmp_path)
    cut = at(200)
    expected_state, expected_seen = reference(log, cut)
    with Player(log) as p:
        for t in (250, 10, 299, 120, 0, 300.5, 200):
            p.ctl.seek(at(t))
        assert p.ctl.wait(60)
        assert p.ctl.status()["position"] == cut.isoformat()
        assert p.state() == expected_state
        mark = len(p.watcher.seen)
        p.ctl.step(len(expected_seen))
        p.ctl.resume()
        wait_until(lambda: p.ctl.status()["finished"], what="the end")
        assert p.watcher.seen[mark:] == expected_seen


def test_seek_past_the_end_stands_at_the_end_and_before_the_start_at_the_start(tmp_path: Path) -> None:
    log = recording(tmp_path)
    with Player(log) as p:
        p.ctl.seek(at(10_000))
        assert p.ctl.wait(30)
        status = p.ctl.status()
        assert status["finished"] is True and status["events"] == N + 1
        assert status["position"] == at(N).isoformat()
        p.ctl.seek(at(-100))
        assert p.ctl.wait(30)
        assert p.ctl.status()["events"] == 0 and p.ctl.status()["position"] == at(1).isoformat()
        assert p.state() == {"beds": {"count": 0}}


def test_resume_after_the_end_and_loop_play_again_from_the_first_event(tmp_path: Path) -> None:
    log = recording(tmp_path, n=20)
    with Player(log, paused=False) as p:
        wait_until(lambda: p.ctl.status()["finished"], what="the end")
        assert len(p.readings_seen()) == 20
        p.ctl.resume()
        wait_until(lambda: len(p.readings_seen()) == 40 and p.ctl.status()["finished"], what="a second pass")
        assert p.readings_seen()[20:] == p.readings_seen()[:20]
        assert p.state()["beds"]["count"] == 20  # the state was put back before the second pass
        p.ctl.set_loop(True)
        wait_until(lambda: len(p.readings_seen()) >= 100, what="loops")
        assert p.ctl.status()["loop"] is True


def test_listeners_hear_reset_and_seek_around_the_quiet_events(tmp_path: Path) -> None:
    log = recording(tmp_path, n=30)
    notices: list[tuple[str, int]] = []
    with Player(log) as p:
        remove = p.ctl.add_listener(lambda notice: notices.append((notice, len(p.readings_seen()))))
        p.ctl.seek(at(10))
        assert p.ctl.wait(10)
        p.ctl.seek(at(5))
        assert p.ctl.wait(10)
        remove()
        p.ctl.step()
        assert p.ctl.wait(10)
    heard = [(n, seen) for n, seen in notices if n != "changed"]
    assert heard == [
        ("seek_start", 0),
        ("seek_end", 9),  # readings at 1..9 s played quietly
        ("seek_start", 9),
        ("reset", 9),
        ("seek_end", 9 + 4),  # then again from the start: 1..4 s
    ]
    assert ("changed", 9) in notices


def test_stop_while_paused_or_seeking_ends_the_replay_cleanly(tmp_path: Path) -> None:
    log = recording(tmp_path, n=3000)
    for seek in (False, True):
        p = Player(log, sink=True)
        with p:
            assert p.ctl.wait(10)
            if seek:
                p.ctl.seek(at(2999))  # stopped in the middle of the quiet fast-forward
                p.ctl.wait(0.05)
        assert not p.runtime.booted
        assert p.sink is not None and p.sink.stopped  # the sinks were not left muted and unstopped
        assert p.runtime.stats.cancelled is True


def test_commands_before_and_after_a_replay_do_not_block(tmp_path: Path) -> None:
    runtime = ReplayRuntime()
    runtime.controller.pause()
    runtime.controller.step(3)
    runtime.controller.seek(at(5))
    assert runtime.controller.wait(1)


def test_the_timeline_knows_the_end_and_the_errors_before_the_replay_gets_there(tmp_path: Path) -> None:
    log = recording(tmp_path)
    with Player(log) as p:
        status = p.ctl.status()
        assert status["start"] == at(1).isoformat() and status["end"] is None  # not surveyed yet
        first = p.ctl.timeline()  # the first look starts the survey
        assert first["start"] == at(1).isoformat()
        timeline_source = p.ctl.timeline_source
        assert timeline_source is not None and timeline_source.wait(30)
        timeline = p.ctl.timeline()
        assert timeline["complete"] is True
        assert timeline["end"] == at(N).isoformat()
        assert [(m["time"], m["name"], m["severity"]) for m in timeline["marks"]] == [
            (at(1 + N // 2).isoformat(), "PumpFault", "error")
        ]
        assert p.ctl.status()["end"] == at(N).isoformat() and p.ctl.status()["marks"] == 1
        # The survey read a copy: the replay itself has not moved.
        assert p.ctl.status()["events"] == 0 and p.readings_seen() == []


def test_a_stop_asked_for_while_the_replay_boots_is_not_lost(tmp_path: Path) -> None:
    """Ctrl-C while `bussdcc replay --hold` is still starting must end it, not be forgotten."""
    log = recording(tmp_path, n=50)
    runtime = ReplayRuntime(speed=0)

    class StopsAtBoot(Process):
        name = "stops-at-boot"

        def start(self, ctx: ContextProtocol) -> None:
            runtime.stop_replay()

    runtime.add_process(StopsAtBoot())
    done = threading.Event()
    thread = threading.Thread(
        target=lambda: (runtime.replay(JsonlSource(log, registry=registry()), hold=True), done.set()),
        daemon=True,
    )
    thread.start()
    assert done.wait(30), "the replay held on although it was stopped while booting"
    assert runtime.stats.cancelled is True and runtime.stats.replayed == 0


def test_with_current_indexes_the_timeline_needs_no_pass(tmp_path: Path) -> None:
    from bussdcc_framework.recordings import ensure_index, registry_severity

    log = recording(tmp_path)
    with Player(log) as p:
        p.ctl.timeline()
        surveyed = p.ctl.timeline_source
        assert surveyed is not None and surveyed.wait(30)
        by_survey = p.ctl.timeline()
    assert by_survey["from"] == "survey"
    ensure_index(log, severity_of=registry_severity(registry()))
    with Player(log) as p:
        timeline = p.ctl.timeline()  # complete at once, from the index
        assert timeline["from"] == "indexes" and timeline["complete"] is True
        for key in ("start", "end", "marks"):
            assert timeline[key] == by_survey[key], key
    # appended after indexing: the index is stale, so it is not trusted
    with log.open("ab") as f:
        f.write(log.read_bytes().splitlines(keepends=True)[-1])
    with Player(log) as p:
        p.ctl.timeline()
        assert p.ctl.timeline()["from"] == "survey"
