"""The sink writes each segment's index when it closes it, equal to what a scan builds."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from bussdcc.event import Event
from bussdcc.message import Message, Severity
from bussdcc_framework_jsonl import JsonlSink

from bussdcc_framework.codec import TypeRegistry
from bussdcc_framework.recordings import (
    ensure_index,
    index_path,
    list_runs,
    load_index,
    read_index,
    registry_severity,
    scan_file,
)
from bussdcc_framework.runtime import Runtime

T0 = datetime(2026, 3, 9, 12, 0, 0, tzinfo=UTC)


@dataclass(slots=True, frozen=True)
class Tick(Message):
    n: int


@dataclass(slots=True, frozen=True)
class Overheat(Message):
    severity = Severity.WARNING
    celsius: float


class Ctx:
    def emit(self, message: Message) -> None:
        pass


def severities() -> object:
    registry = TypeRegistry()
    registry.register_all([Tick, Overheat])
    return registry_severity(registry)


def same_content(a: object, b: object) -> bool:
    """Equal but for who wrote them (the sink or the scanner) and the line limit the scanner had
    (the sink has none: it counts every line it writes)."""
    return msgspec.structs.replace(a, writer="x", max_line=1) == msgspec.structs.replace(
        b, writer="x", max_line=1
    )  # type: ignore[type-var]


def test_the_sink_index_equals_a_scan_of_the_segment(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path, 60, max_size=200_000)
    sink.start(Ctx())  # type: ignore[arg-type]
    for i in range(12_000):
        msg: Message = Overheat(80.0 + i) if i % 997 == 0 else Tick(i)
        # Small steps back and forth, as racing threads produce.
        sink.handle(Event(time=T0 + timedelta(milliseconds=i * 7 + (3 if i % 5 == 0 else 0)), payload=msg))
    sink.stop()
    segments = sorted(tmp_path.rglob("*.jsonl"))
    assert len(segments) > 3  # time and size rotation both happened
    total = 0
    for path in segments:
        written = load_index(path)
        assert written is not None and written.writer == "jsonl-sink"
        scanned = scan_file(path, severity_of=severities())  # type: ignore[arg-type]
        assert same_content(written, scanned), path
        total += written.records
    assert total == 12_000


def test_a_segment_written_in_several_batches_gets_its_index(tmp_path: Path) -> None:
    """Each batch is written after the ones before: the sink keeps the segment's size and the
    records' offsets across batches, and the index it stores matches a scan of the file."""
    sink = JsonlSink(tmp_path, flush="line")
    sink.start(Ctx())  # type: ignore[arg-type]
    for i in range(3):
        sink.handle(Event(time=T0 + timedelta(seconds=i), payload=Tick(i)))
        deadline = time.monotonic() + 60
        while sink.written < i + 1:  # one batch at a time
            assert time.monotonic() < deadline, "the writer did not write the event"
            time.sleep(0.005)
    sink.stop()
    (segment,) = sorted(tmp_path.rglob("*.jsonl"))
    written = load_index(segment)
    assert written is not None and written.records == 3
    assert same_content(written, scan_file(segment, severity_of=severities()))  # type: ignore[arg-type]


def test_runtime_segments_carry_runs_with_the_app_name(tmp_path: Path) -> None:
    for reason in ("first", "second"):
        rt = Runtime()
        rt.app_name = "greenhouse.py"
        rt.add_sink(JsonlSink(tmp_path))
        rt.boot()
        for i in range(50):
            rt.ctx.emit(Tick(i))
        rt.shutdown(reason)
    files = sorted(tmp_path.rglob("*.jsonl"))
    assert all(read_index(f).status == "ok" for f in files)
    runs = list_runs([(f, ensure_index(f)[0]) for f in files])
    assert [(r.app, r.reason, r.ended) for r in runs] == [
        ("greenhouse.py", "first", "shutdown"),
        ("greenhouse.py", "second", "shutdown"),
    ]
    assert all(r.events >= 56 for r in runs)


def test_a_segment_left_by_a_crash_has_no_index_and_is_scanned(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path)
    sink.start(Ctx())  # type: ignore[arg-type]
    sink.handle(Event(time=T0, payload=Tick(1)))
    import time

    deadline = time.monotonic() + 10
    while sink.written < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    path = sink.path
    assert path is not None and read_index(path).status == "missing"  # open: no index yet
    sink.stop()
    assert read_index(path).status == "ok"


def test_the_index_stays_a_cache_when_the_segment_changes(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path)
    sink.start(Ctx())  # type: ignore[arg-type]
    for i in range(10):
        sink.handle(Event(time=T0, payload=Tick(i)))
    sink.stop()
    (path,) = tmp_path.rglob("*.jsonl")
    with path.open("ab") as fh:  # someone appended to it afterwards
        fh.write(b'{"time":"2026-03-09T12:00:01Z","type":"x:Y","data":{}}\n')
    assert read_index(path).status == "stale"
    index, status = ensure_index(path)
    assert status == "stale" and index.records == 11 and index.writer == "scanner"


def test_an_unwritable_index_is_reported_once_and_recording_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports: list[Message] = []

    class Collect:
        def emit(self, message: Message) -> None:
            reports.append(message)

    sink = JsonlSink(tmp_path, 60)
    # The index names of the first segments are taken by directories: writing fails.
    day = tmp_path / "2026-03-09"
    day.mkdir()
    for minute in range(3):
        (day / f".12-0{minute}-00.idx").mkdir()
    sink.start(Collect())  # type: ignore[arg-type]
    for i in range(4):
        sink.handle(Event(time=T0 + timedelta(minutes=i), payload=Tick(i)))
    sink.stop()
    errors = [m for m in reports if type(m).__name__ == "RecordingError"]
    assert [getattr(e, "operation", None) for e in errors] == ["index"]
    first, error = str(day / "12-00-00.jsonl"), "IsADirectoryError: Is a directory"
    assert (getattr(errors[0], "path", None), getattr(errors[0], "error", None)) == (first, error)
    assert capsys.readouterr().err == (
        f"bussdcc jsonl: could not write the index of {first} ({error}); "
        "recording goes on, readers scan such segments instead\n"
    )
    got = [json.loads(line)["data"]["n"] for p in sorted(tmp_path.rglob("*.jsonl")) for line in p.open()]
    assert got == [0, 1, 2, 3] and sink.lost == 0
    assert read_index(day / "12-03-00.jsonl").status == "ok"


def test_index_is_written_durably_in_fsync_mode(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path, flush="fsync")
    sink.start(Ctx())  # type: ignore[arg-type]
    sink.handle(Event(time=T0, payload=Tick(1)))
    sink.stop()
    (path,) = tmp_path.rglob("*.jsonl")
    assert index_path(path).exists() and read_index(path).status == "ok"
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]
    assert os.stat(index_path(path)).st_size < 2000
