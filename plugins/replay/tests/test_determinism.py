"""Record a run, replay it at full speed while recording again: same records, same state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message, ProcessError
from bussdcc.process import Process
from bussdcc_framework_jsonl import JsonlSink
from bussdcc_framework_replay import JsonlSource, ReplayRuntime
from greenhouse.app import GreenhouseState
from greenhouse.messages import PumpFault, SoilMoisture, WateringStarted, Zone
from replay_helpers import at, registry

from bussdcc_framework.message import SystemIdentityEvent
from bussdcc_framework.runtime import Runtime

APP_PREFIXES = ("greenhouse.", "bussdcc_framework.message.system:")


class FaultyValve(Process):
    """Fails on one watering, so the recording holds a ProcessError with a nested event.

    (The kernel reports no error for a failure on an error-level event such as PumpFault.)
    """

    name = "faulty-valve"

    def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        if isinstance(evt.payload, WateringStarted) and evt.payload.seconds == 21:
            raise RuntimeError("valve stuck")


def records(root: Path) -> list[dict[str, Any]]:
    lines = []
    for path in sorted(root.rglob("*.jsonl")):
        lines.extend(json.loads(line) for line in path.read_text().splitlines())
    return lines


def app_records(root: Path) -> list[tuple[str, str, Any]]:
    return [(r["time"], r["type"], r["data"]) for r in records(root) if r["type"].startswith(APP_PREFIXES)]


def record_a_run(root: Path) -> Runtime:
    rt = Runtime()
    rt.add_sink(JsonlSink(root))
    rt.add_process(GreenhouseState())
    rt.add_process(FaultyValve())
    with rt:
        rt.ctx.emit(SystemIdentityEvent(hostname="greenhouse-pi", model="Pi 4", serial="00ab"))
        for i in range(500):
            rt.ctx.emit(SoilMoisture(sensor=f"bed-{i % 3}", percent=30 + (i * 7) % 20 / 2))
            if i % 100 == 0:
                rt.ctx.emit(
                    WateringStarted(
                        zone=Zone.SOUTH,
                        seconds=i // 10 + 1,
                        planned_at=at(i),
                        tags=("auto", str(i)),
                        extra={"i": i, "nested": {"ok": True}},
                    )
                )
            if i == 250:
                rt.ctx.emit(PumpFault(code=3, text="dry run"))
    return rt


def test_replay_reproduces_records_and_state(tmp_path: Path) -> None:
    first_root, second_root = tmp_path / "first", tmp_path / "second"
    recorded = record_a_run(first_root)

    replay = ReplayRuntime(speed=0)
    replay.add_sink(JsonlSink(second_root))
    replay.add_process(GreenhouseState())
    replay.add_process(FaultyValve())
    source = JsonlSource(first_root, registry=registry())
    replay.add_source(source)
    replay.run()

    assert source.stats.damaged == 0
    first, second = app_records(first_root), app_records(second_root)
    assert len(first) == 1 + 500 + 5 + 1
    assert second == first  # same order, times, types and data for every application record
    assert replay.state.get("greenhouse") == recorded.state.get("greenhouse")
    assert replay.state.get("greenhouse.readings") == 500

    # Lifecycle once, from the replay runtime; the process error once, raised again by replay.
    kinds = [r["type"].rpartition(":")[2] for r in records(second_root)]
    assert kinds.count("RuntimeBooting") == 1 and kinds.count("FrameworkBooted") == 1
    assert kinds.count("ProcessError") == 1
    error = next(r for r in records(second_root) if r["type"].endswith(":ProcessError"))
    assert error["data"]["evt"]["type"] == "greenhouse.messages:WateringStarted"


def test_recorded_process_errors_replay_when_the_process_is_not_rerun(tmp_path: Path) -> None:
    record_a_run(tmp_path / "first")
    errors: list[ProcessError] = []

    class Collect(Process):
        name = "collect"

        def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
            if isinstance(evt.payload, ProcessError):
                errors.append(evt.payload)

    replay = ReplayRuntime(speed=0)
    replay.add_process(Collect())
    replay.replay(JsonlSource(tmp_path / "first", registry=registry()))

    assert len(errors) == 1
    assert errors[0].process == "faulty-valve"
    assert isinstance(errors[0].evt, Event) and isinstance(errors[0].evt.payload, WateringStarted)
