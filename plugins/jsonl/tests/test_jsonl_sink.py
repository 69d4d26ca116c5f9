"""JsonlSink against real files, real threads and real subprocesses."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bussdcc.event import Event
from bussdcc.message import Message, ProcessError
from bussdcc_framework_jsonl import (
    JsonlSink,
    RecordingBackpressure,
    RecordingDropped,
    RecordingError,
    RecordingResumed,
)
from bussdcc_framework_jsonl.config import JsonlConfig
from bussdcc_framework_jsonl.writer import SegmentWriter

from bussdcc_framework.codec import Codec, TypeRegistry
from bussdcc_framework.codec import registry as codec_registry
from bussdcc_framework.recordings import load_index
from bussdcc_framework.runtime import Runtime

T0 = datetime(2026, 3, 9, 12, 0, 1, 500, tzinfo=UTC)


@dataclass(slots=True, frozen=True)
class Sample(Message):
    n: int
    text: str = "x"


class FakeCtx:
    """Collects what the sink emits about itself."""

    def __init__(self) -> None:
        self.emitted: list[Message] = []

    def emit(self, message: Message) -> None:
        self.emitted.append(message)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def records(root: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(root.rglob("*.jsonl*")):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as fh:
            out.extend(json.loads(line) for line in fh)
    return out


def evt(n: int, at: datetime = T0) -> Event[Message]:
    return Event(time=at, payload=Sample(n))


@pytest.fixture
def started() -> Iterator[Callable[..., tuple[JsonlSink, FakeCtx]]]:
    sinks: list[JsonlSink] = []

    def make(root: Path, *args: Any, **kwargs: Any) -> tuple[JsonlSink, FakeCtx]:
        sink = JsonlSink(root, *args, **kwargs)
        ctx = FakeCtx()
        sink.start(ctx)  # type: ignore[arg-type]
        sinks.append(sink)
        return sink, ctx

    yield make
    for sink in sinks:
        sink.stop()


def test_runtime_records_everything_from_booting_to_shutdown(tmp_path: Path) -> None:
    rt = Runtime()
    rt.add_sink(JsonlSink(tmp_path))
    rt.boot()
    for i in range(1000):
        rt.ctx.emit(Sample(i))
    rt.shutdown()
    recs = records(tmp_path)
    types = [r["type"].rsplit(":", 1)[1] for r in recs]
    assert types[0] == "RuntimeBooting" and types[-1] == "RuntimeShutdown"
    assert "FrameworkBooted" in types and "FrameworkShuttingDown" in types
    assert [r["data"]["n"] for r in recs if r["type"].endswith(":Sample")] == list(range(1000))
    day = next(tmp_path.iterdir())
    assert len(day.name) == 10 and any(p.name.endswith(".jsonl") for p in day.iterdir())


def test_segment_layout_and_time_rotation(tmp_path: Path, started: Any) -> None:
    sink, _ = started(tmp_path, 60)
    for i in range(5):
        sink.handle(evt(i, T0 + timedelta(seconds=45 * i)))
    sink.stop()
    names = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.jsonl"))
    assert names == [
        "2026-03-09/12-00-00.jsonl",
        "2026-03-09/12-01-00.jsonl",
        "2026-03-09/12-02-00.jsonl",
        "2026-03-09/12-03-00.jsonl",
    ]
    assert [r["data"]["n"] for r in records(tmp_path)] == [0, 1, 2, 3, 4]


def test_many_threads_no_line_lost_or_torn(tmp_path: Path, started: Any) -> None:
    sink, _ = started(tmp_path, queue_size=64)  # tiny queue: emitters block on the writer

    def emit(base: int) -> None:
        for i in range(2000):
            sink.handle(evt(base + i, datetime.now(UTC)))

    threads = [threading.Thread(target=emit, args=(k * 10_000,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.stop()
    got = sorted(r["data"]["n"] for r in records(tmp_path))
    assert got == sorted(k * 10_000 + i for k in range(8) for i in range(2000))
    assert sink.dropped == 0


def test_drop_policy_counts_and_reports(tmp_path: Path, started: Any) -> None:
    sink, ctx = started(tmp_path, queue_size=10, overflow="drop", flush_interval=1.0)
    for i in range(5000):
        sink.handle(evt(i))
    sink.stop()
    assert sink.dropped > 0
    assert len(records(tmp_path)) + sink.dropped == 5000
    reports = [m for m in ctx.emitted if isinstance(m, RecordingDropped)]
    assert reports and reports[-1].total == sink.dropped


def test_block_policy_loses_nothing_and_reports_the_waiting(
    tmp_path: Path, started: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sink, ctx = started(tmp_path, queue_size=10, overflow="block", flush_interval=1.0)
    for i in range(5000):
        sink.handle(evt(i))
    sink.stop()
    assert sink.dropped == 0 and len(records(tmp_path)) == 5000  # nothing lost ...
    assert sink.waits > 0 and sink.waited > 0  # ... but the emitters waited, and it is said
    reports = [m for m in ctx.emitted if isinstance(m, RecordingBackpressure)]
    assert reports and sum(r.waits for r in reports) == sink.waits
    assert all(r.queue_size == 10 for r in reports)
    assert f"{sink.waits} emits waited" in capsys.readouterr().err


def test_restart_in_same_interval_never_appends(tmp_path: Path) -> None:
    for run in range(3):
        sink = JsonlSink(tmp_path)
        sink.start(FakeCtx())  # type: ignore[arg-type]
        sink.handle(evt(run))
        sink.stop()
    # A torn last line left by a crash must never get glued to new lines.
    names = sorted(p.name for p in tmp_path.rglob("*.jsonl"))
    assert names == ["12-00-00.jsonl", "12-00-00_001.jsonl", "12-00-00_002.jsonl"]


def test_clock_step_back_opens_a_new_file(tmp_path: Path, started: Any) -> None:
    sink, _ = started(tmp_path, 60)
    sink.handle(evt(1, T0))
    sink.handle(evt(2, T0 + timedelta(minutes=1)))
    sink.handle(evt(3, T0 + timedelta(minutes=1) - timedelta(seconds=2)))  # small: stays
    sink.handle(evt(4, T0 + timedelta(seconds=5)))  # a real step back into the first segment
    sink.stop()
    by_file = {
        p.name: [json.loads(x)["data"]["n"] for x in p.read_bytes().splitlines()]
        for p in tmp_path.rglob("*.jsonl")
    }
    assert by_file == {"12-00-00.jsonl": [1], "12-01-00.jsonl": [2, 3], "12-00-00_001.jsonl": [4]}


def test_size_rotation(tmp_path: Path, started: Any) -> None:
    sink, _ = started(tmp_path, max_size=1000)
    for i in range(100):
        sink.handle(evt(i))
    sink.stop()
    files = list(tmp_path.rglob("*.jsonl"))
    assert len(files) > 5
    assert all(p.stat().st_size <= 1000 for p in files)
    assert sorted(r["data"]["n"] for r in records(tmp_path)) == list(range(100))


def test_compression_of_closed_segments(tmp_path: Path, started: Any) -> None:
    sink, _ = started(tmp_path, 60, compress=True)
    for i in range(3):
        sink.handle(evt(i, T0 + timedelta(minutes=i)))
    sink.stop()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        ".12-00-00.idx",
        ".12-01-00.idx",
        ".12-02-00.idx",
        "12-00-00.jsonl.gz",
        "12-01-00.jsonl.gz",
        "12-02-00.jsonl.gz",
    ]
    assert [r["data"]["n"] for r in records(tmp_path)] == [0, 1, 2]
    for gz in tmp_path.rglob("*.jsonl.gz"):  # each index was rewritten for the compressed file
        index = load_index(gz)
        assert index is not None and index.compressed and index.records == 1


def test_leftover_plain_segments_are_compressed_at_start(tmp_path: Path, started: Any) -> None:
    day = tmp_path / "2026-03-08"
    day.mkdir()
    (day / "23-50-00.jsonl").write_bytes(b'{"time":"2026-03-08T23:50:00+00:00"}\n')
    sink, _ = started(tmp_path, compress=True)
    sink.stop()
    assert (day / "23-50-00.jsonl.gz").exists() and not (day / "23-50-00.jsonl").exists()


def test_retention_by_size_and_age(tmp_path: Path, started: Any) -> None:
    old_day = tmp_path / "2020-01-01"
    old_day.mkdir()
    old = old_day / "00-00-00.jsonl"
    old.write_bytes(b"{}\n")
    os.utime(old, (0, 0))
    sink, _ = started(tmp_path, 60, retention_age=3600, retention_size=2000)
    for i in range(60):
        sink.handle(evt(i, T0 + timedelta(minutes=i)))
    sink.stop()
    assert not old_day.exists()
    files = list(tmp_path.rglob("*.jsonl"))
    assert sum(p.stat().st_size for p in files) <= 2000
    kept = [r["data"]["n"] for r in records(tmp_path)]
    assert kept == list(range(60 - len(kept), 60))  # the newest are kept


def test_write_errors_are_reported_once_and_recording_resumes(
    tmp_path: Path, started: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "rec"
    root.write_text("a file where the directory should be")
    sink, ctx = started(root)
    for i in range(10):
        sink.handle(evt(i))
    wait_for(lambda: any(isinstance(m, RecordingError) for m in ctx.emitted))
    for i in range(10, 20):
        sink.handle(evt(i))
    time.sleep(0.6)
    root.unlink()  # the problem goes away ...
    wait_for(lambda: sink.lost >= 20)
    sink.handle(evt(99, T0 + timedelta(seconds=1)))  # ... and the next write succeeds
    wait_for(lambda: any(isinstance(m, RecordingResumed) for m in ctx.emitted), timeout=5)
    sink.stop()
    errors = [m for m in ctx.emitted if isinstance(m, RecordingError)]
    assert len(errors) == 1 and errors[0].operation == "open"
    resumed = [m for m in ctx.emitted if isinstance(m, RecordingResumed)]
    assert resumed[0].lost == 20
    assert [r["data"]["n"] for r in records(root)] == [99]
    segment = next(root.rglob("*.jsonl"))
    assert resumed[0].path == str(segment) == str(sink.path)
    assert errors[0].path == str(root / "2026-03-09")  # the day directory it could not make
    assert errors[0].error == "NotADirectoryError: Not a directory"
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"bussdcc jsonl: recording failed (open {root / '2026-03-09'}: NotADirectoryError: Not a directory); "
        "events are counted as lost until it works again",
        f"bussdcc jsonl: recording resumed in {segment}; 20 events were lost",
        f"bussdcc jsonl: recorded 1 events in {root}; dropped 0 (queue full), lost 20 (write errors), "
        "0 could not be encoded, 0 will not read back as emitted (NaN where the type is no float), "
        "0 emits waited 0.00s (queue full)",
    ]


def test_disk_full_keeps_earlier_lines_intact(tmp_path: Path) -> None:
    """A real EFBIG from RLIMIT_FSIZE, the closest to a full disk a test can get safely."""
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from dataclasses import dataclass
        from datetime import datetime, timezone
        from bussdcc.event import Event
        from bussdcc.message import Message
        from bussdcc_framework_jsonl import JsonlSink

        @dataclass(slots=True, frozen=True)
        class Big(Message):
            n: int
            pad: str

        class Ctx:
            def emit(self, m):
                print("EMIT", type(m).__name__, flush=True)

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
        sink = JsonlSink({str(tmp_path)!r}, flush="line")
        sink.start(Ctx())
        for i in range(400):
            sink.handle(Event(datetime.now(timezone.utc), Big(i, "p" * 200)))
        import time; time.sleep(1.5)
        for i in range(400, 410):
            sink.handle(Event(datetime.now(timezone.utc), Big(i, "p" * 200)))
        sink.stop()
        print("LOST", sink.lost, "WRITTEN", sink.written, flush=True)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "EMIT RecordingError" in out.stdout and "EMIT RecordingResumed" in out.stdout
    assert out.stderr.count("recording failed") == 1
    files = sorted(tmp_path.rglob("*.jsonl"))
    assert len(files) >= 2
    for path in files:
        lines = path.read_bytes().split(b"\n")
        complete, last = lines[:-1], lines[-1]
        for line in complete:
            json.loads(line)  # every complete line is intact
        assert len(last) < 300  # at most one torn tail, never reused


KILL_SCRIPT = """
import sys, time
from dataclasses import dataclass
from bussdcc.message import Message
from bussdcc_framework.runtime import Runtime
from bussdcc_framework_jsonl import JsonlSink

@dataclass(slots=True, frozen=True)
class Count(Message):
    n: int

rt = Runtime()
rt.add_sink(JsonlSink(sys.argv[1]))
rt.boot()
n = 0
while True:
    rt.ctx.emit(Count(n))
    if n % 1000 == 0:
        print(n, flush=True)
    n += 1
    if n % 100 == 0:
        time.sleep(0.001)
"""


def _counts_on_disk(root: Path) -> list[int]:
    """The ``Count`` numbers in the complete lines on disk now (the last line may be half written)."""
    data = b"".join(p.read_bytes() for p in sorted(root.rglob("*.jsonl")))
    complete = [json.loads(x) for x in data.split(b"\n")[:-1]]
    return [r["data"]["n"] for r in complete if r["type"].endswith(":Count")]


def test_kill_9_loses_only_what_was_not_yet_flushed(tmp_path: Path) -> None:
    """Interval mode writes to the OS on its own while events keep coming, so kill -9 loses only
    the events since the last flush; what reached the disk is whole, in order, without a gap.

    No wall-clock window (a starved writer thread may flush late on a busy machine): the test
    waits until an event the child announced is on disk while it still runs, then kills it.
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    stdout = proc.stdout
    seen: list[int] = []

    def read() -> None:
        for line in stdout:
            seen.append(int(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while (not seen or seen[-1] < 20_000) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen and seen[-1] >= 20_000, f"the child emitted only {seen[-1:]} events"
        announced = seen[-1]
        # The child never stops nor flushes on request: only the periodic flush brings it here.
        while time.monotonic() < deadline:
            on_disk = _counts_on_disk(tmp_path)
            if on_disk and on_disk[-1] >= announced:
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"event {announced} never reached the disk while the child ran")
        assert proc.poll() is None, "the child stopped on its own"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    reader.join(5)
    counts = _counts_on_disk(tmp_path)
    assert counts == list(range(len(counts)))  # in order, no gap, nothing corrupt
    assert counts[-1] >= announced


def test_unencodable_event_is_reported_not_raised(tmp_path: Path, started: Any) -> None:
    @dataclass(slots=True, frozen=True)
    class Weird(Message):
        thing: Any

    sink, ctx = started(tmp_path)
    sink.handle(Event(time=T0, payload=Weird(object())))
    sink.handle(Event(time=T0, payload=Weird(object())))
    sink.handle(evt(1))
    sink.stop()
    errors = [m for m in ctx.emitted if isinstance(m, RecordingError)]
    assert len(errors) == 1 and errors[0].operation == "encode" and "Weird" in errors[0].error
    assert sink.unencodable == 2 and [r["data"]["n"] for r in records(tmp_path)] == [1]


def test_nested_events_are_recorded_with_their_type(tmp_path: Path, started: Any) -> None:
    sink, _ = started(tmp_path)
    sink.handle(Event(time=T0, payload=ProcessError(process="p", error="e", evt=evt(5))))
    sink.stop()
    (rec,) = records(tmp_path)
    assert rec["data"]["evt"]["type"].endswith(":Sample") and rec["data"]["evt"]["data"] == {
        "n": 5,
        "text": "x",
    }


def test_fsync_and_line_modes_write_immediately(tmp_path: Path, started: Any) -> None:
    for mode in ("line", "fsync"):
        sink, _ = started(tmp_path / mode, flush=mode)
        sink.handle(evt(1))
        wait_for(lambda s=sink: s.written == 1, timeout=2)  # type: ignore[misc]


def test_bad_arguments_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="flush='sometimes'"):
        JsonlSink(tmp_path, flush="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="interval=0"):
        JsonlSink(tmp_path, 0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"interval": 0}, "interval=0: expected seconds > 0, e.g. 600"),
        ({"interval": -1.5}, "interval=-1.5: expected seconds > 0, e.g. 600"),
        ({"max_size": -1}, "max_size=-1: expected bytes, 0 for no limit"),
        ({"retention_age": -1}, "retention_age=-1: expected seconds, 0 to keep forever"),
        ({"retention_size": -1}, "retention_size=-1: expected bytes, 0 for no limit"),
        ({"flush": "sometimes"}, "flush='sometimes': expected one of interval, line, fsync"),
        ({"flush_interval": 0}, "flush_interval=0: expected seconds in (0, 1]"),
        ({"flush_interval": 1.01}, "flush_interval=1.01: expected seconds in (0, 1]"),
        ({"queue_size": 0}, "queue_size=0: expected at least 1"),
        ({"overflow": "spill"}, "overflow='spill': expected one of block, drop"),
    ],
)
def test_each_bad_argument_is_named_with_what_is_expected(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        JsonlSink(tmp_path, **options)
    assert str(refused.value) == f"JsonlSink: {message}"


def test_the_edges_of_each_argument_are_accepted_and_zero_means_no_limit(tmp_path: Path) -> None:
    sink = JsonlSink(
        tmp_path, 0.001, max_size=0, retention_age=0, retention_size=0, flush_interval=1.0, queue_size=1
    )
    assert sink.interval == 0.001 and sink.flush_interval == 1.0 and sink.queue_size == 1
    assert sink.max_size is None and sink.retention_age is None and sink.retention_size is None
    limited = JsonlSink(tmp_path, max_size=1, retention_age=0.5, retention_size=2)
    assert (limited.max_size, limited.retention_age, limited.retention_size) == (1, 0.5, 2)
    assert (limited.interval, limited.flush, limited.overflow) == (600.0, "interval", "block")
    assert limited.flush_interval == 0.5 and limited.compress is False and limited.announce is False
    for flush in ("interval", "line", "fsync"):
        for overflow in ("block", "drop"):
            assert JsonlSink(tmp_path, flush=flush, overflow=overflow).flush == flush  # type: ignore[arg-type]
    assert repr(JsonlSink(tmp_path / "rec", 60)) == f"JsonlSink({str(tmp_path / 'rec')!r}, interval=60)"


def test_settings_and_hooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bussdcc_framework_jsonl import plugin

    from bussdcc_framework.plugins import load_settings

    monkeypatch.setenv("BUSSDCC_JSONL_DIR", str(tmp_path))
    monkeypatch.setenv("BUSSDCC_JSONL_INTERVAL", "1m")
    monkeypatch.setenv("BUSSDCC_JSONL_MAX_SIZE", "10MB")
    monkeypatch.setenv("BUSSDCC_JSONL_RETENTION_AGE", "7d")
    monkeypatch.setenv("BUSSDCC_JSONL_FLUSH", "fsync")
    monkeypatch.setenv("BUSSDCC_JSONL_OVERFLOW", "drop")
    monkeypatch.setenv("BUSSDCC_JSONL_COMPRESS", "yes")
    settings = load_settings()
    sink = JsonlConfig.from_settings(settings).sink()
    assert (sink.root, sink.interval, sink.max_size) == (tmp_path, 60.0, 10 * 1024**2)
    assert (sink.retention_age, sink.retention_size) == (7 * 86400.0, None)
    assert (sink.flush, sink.overflow, sink.compress) == ("fsync", "drop", True)
    assert set(plugin.register_message_types()) == {
        RecordingError,
        RecordingResumed,
        RecordingDropped,
        RecordingBackpressure,
    }
    monkeypatch.setenv("BUSSDCC_JSONL_ENABLED", "false")
    assert plugin.register_sinks(load_settings()) == []


def test_shim_path_and_bussdcc_run_record(tmp_path: Path) -> None:
    from bussdcc_framework.io.jsonl import JsonlSink as Shim

    assert Shim is JsonlSink
    app = tmp_path / "app.py"
    app.write_text(
        textwrap.dedent(
            """
        import threading
        from dataclasses import dataclass
        from bussdcc.message import Message

        @dataclass(slots=True, frozen=True)
        class Hello(Message):
            who: str

        def setup(runtime):
            def later():
                runtime.ctx.emit(Hello("world"))
                runtime.shutdown("done")
            threading.Timer(0.5, later).start()
        """
        )
    )
    rec = tmp_path / "rec"
    out = subprocess.run(
        [str(Path(sys.executable).with_name("bussdcc")), "run", str(app), "--record", str(rec)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "BUSSDCC_PLUGINS": "jsonl", "BUSSDCC_JSONL_ENABLED": "false"},
    )
    assert out.returncode == 0, out.stderr
    types = [r["type"].rsplit(":", 1)[1] for r in records(rec)]
    assert types[0] == "RuntimeBooting" and "Hello" in types and types[-1] == "RuntimeShutdown"


# -- reports, the stop summary and the lifecycle, observed on a stalled disk -------------------


def stall(sink: JsonlSink) -> threading.Event:
    """Stall the sink's disk until the returned event is set (the writer thread waits in write)."""
    disk = threading.Event()
    writer = sink._writer
    assert writer is not None
    real_write = writer.write

    def stalled_write(items: list[Any]) -> None:
        disk.wait(120)
        real_write(items)

    writer.write = stalled_write  # type: ignore[method-assign]
    return disk


def test_drops_are_reported_as_they_happen_and_summed_up_at_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sink = JsonlSink(tmp_path, queue_size=4, overflow="drop", flush_interval=1.0)
    ctx = FakeCtx()
    sink.start(ctx)  # type: ignore[arg-type]
    disk = stall(sink)
    for i in range(20):
        sink.handle(evt(i))
    assert len(sink._queue) <= 4
    disk.set()
    sink.stop()
    written = len(records(tmp_path))
    assert sink.dropped >= 12 and written + sink.dropped == 20 and sink.written == written
    reports = [m for m in ctx.emitted if isinstance(m, RecordingDropped)]
    assert sum(r.dropped for r in reports) == sink.dropped == reports[-1].total
    assert all(r.queue_size == 4 for r in reports)
    err = capsys.readouterr().err
    for r in reports:
        assert (
            f"bussdcc jsonl: queue full, dropped {r.dropped} events ({r.total} in all); "
            "raise jsonl.queue_size or use jsonl.overflow=block\n"
        ) in err
    assert err.endswith(
        f"bussdcc jsonl: recorded {written} events in {tmp_path}; dropped {sink.dropped} (queue full), "
        "lost 0 (write errors), 0 could not be encoded, "
        "0 will not read back as emitted (NaN where the type is no float), "
        "0 emits waited 0.00s (queue full)\n"
    )


def test_a_run_that_lost_nothing_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sink = JsonlSink(tmp_path)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    sink.handle(evt(1))
    sink.stop()
    assert records(tmp_path)[0]["data"]["n"] == 1
    assert capsys.readouterr().err == ""


def test_backpressure_is_reported_at_once_then_at_most_every_interval_and_at_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bussdcc_framework_jsonl import sink as sink_module

    monkeypatch.setattr(sink_module, "BACKPRESSURE_REPORT_INTERVAL", 3600.0)
    sink = JsonlSink(tmp_path, queue_size=4, overflow="block", flush_interval=1.0)
    ctx = FakeCtx()
    sink.start(ctx)  # type: ignore[arg-type]

    def reports() -> list[RecordingBackpressure]:
        return [m for m in ctx.emitted if isinstance(m, RecordingBackpressure)]

    def episode(base: int) -> None:
        """The disk stalls, an emitter fills the queue and waits; then the disk comes back."""
        disk = stall(sink)
        emitter = threading.Thread(target=lambda: [sink.handle(evt(base + i)) for i in range(12)])
        waits = sink.waits
        emitter.start()
        wait_for(lambda: len(sink._queue) >= 4, timeout=60)
        disk.set()
        emitter.join(60)
        assert not emitter.is_alive() and sink.waits > waits

    episode(0)
    wait_for(lambda: len(reports()) == 1, timeout=60)  # the first one at once, before stop()
    first = reports()[0]
    assert 1 <= first.waits <= sink.waits and first.queue_size == 4 and first.waited >= 0
    episode(100)
    sink.stop()  # the interval has not passed: the rest is reported at stop, once
    assert len(reports()) == 2
    assert sum(r.waits for r in reports()) == sink.waits
    assert len(records(tmp_path)) == 24
    err = capsys.readouterr().err
    for r in reports():  # (the line shows the seconds to 2 places, the report to 3: not compared)
        assert re.search(
            rf"bussdcc jsonl: queue full, {r.waits} emits waited \d+\.\d\ds for the disk \(", err
        )
    assert f"({sink.waits} in all); raise jsonl.queue_size or use jsonl.overflow=drop\n" in err


def test_each_backpressure_report_counts_the_waits_and_seconds_since_the_last(tmp_path: Path) -> None:
    """The reports add up to the totals: each one says what is new since the one before
    (driven directly, with the counters set: when a wait is counted is up to the threads)."""
    sink = JsonlSink(tmp_path, queue_size=4)
    sink.waits, sink.waited = 2, 1.23456
    sink._report_backpressure(final=True)
    sink._report_backpressure(final=True)  # nothing new: no report
    sink.waits, sink.waited = 5, 2.5
    sink._report_backpressure(final=True)
    reports = [m for m, _ in sink._reports]
    assert reports == [  # seconds, to the millisecond
        RecordingBackpressure(waits=2, waited=1.235, queue_size=4),
        RecordingBackpressure(waits=3, waited=1.265, queue_size=4),
    ]


def test_a_class_is_numbered_once_even_if_two_threads_miss_it_at_once(tmp_path: Path) -> None:
    """``handle`` numbers a class it has not seen without a lock; two threads can both miss it
    and both call ``_number``, which must give the second the number the first one got."""
    sink = JsonlSink(tmp_path)
    first = sink._number(Sample)
    assert sink._number(Sample) == first  # the second thread, a moment later
    assert sink._classes == [Sample]


def test_announce_says_where_it_records_as_the_user_would_type_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    for root, shown in [(tmp_path / "events", "./events"), (Path("."), "."), (elsewhere, str(elsewhere))]:
        sink = JsonlSink(root, announce=True)
        sink.start(FakeCtx())  # type: ignore[arg-type]
        sink.stop()
        assert capsys.readouterr().err == (
            f"bussdcc jsonl: recording events to {shown} (change with --record DIR or "
            "BUSSDCC_JSONL_DIR; turn off with BUSSDCC_JSONL_ENABLED=false)\n"
        )
    sink = JsonlSink(tmp_path / "quiet")
    sink.start(FakeCtx())  # type: ignore[arg-type]
    sink.stop()
    assert capsys.readouterr().err == ""


def test_start_and_stop_are_idempotent_and_the_counters_start_at_zero(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path)
    assert (sink.written, sink.lost, sink.path) == (0, 0, None)
    sink.stop()  # before start: nothing to do
    ctx = FakeCtx()
    sink.start(ctx)  # type: ignore[arg-type]
    assert sink.path is None  # started, but no segment until the first event
    thread = sink._thread
    assert thread is not None and thread.is_alive() and thread.name == "bussdcc-jsonl-writer"
    assert thread.daemon  # a process that never calls stop() can still exit
    sink.start(FakeCtx())  # type: ignore[arg-type]
    assert sink._thread is thread and sink._ctx is ctx  # already started: kept as it was
    sink.handle(evt(7))
    sink.stop()
    assert not thread.is_alive() and sink._thread is None
    assert sink.written == 1 and sink.lost == 0
    assert sink.path is not None and sink.path.parent.parent == tmp_path
    sink.stop()  # twice: nothing more
    assert [r["data"]["n"] for r in records(tmp_path)] == [7]


def test_a_context_that_fails_to_take_a_report_does_not_stop_the_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    class Refusing:
        def emit(self, message: Message) -> None:
            raise RuntimeError("no")

    sink = JsonlSink(tmp_path, queue_size=2, overflow="drop")
    sink.start(Refusing())  # type: ignore[arg-type]
    disk = stall(sink)
    for i in range(10):
        sink.handle(evt(i))
    disk.set()
    sink.stop()
    assert sink.dropped > 0 and sink.written + sink.dropped == 10
    assert "bussdcc jsonl: queue full, dropped" in capsys.readouterr().err


def test_an_unexpected_writer_error_is_reported_and_the_writer_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exception the writer does not expect (not an ``OSError`` it handles itself) must not
    end the writer thread: it is reported, as an event and on stderr, and the next batch is
    written."""
    sink = JsonlSink(tmp_path, flush="line")
    ctx = FakeCtx()
    sink.start(ctx)  # type: ignore[arg-type]
    writer = sink._writer
    assert writer is not None
    real_write = writer.write
    failed: list[list[Any]] = []

    def write(items: list[Any]) -> None:
        if len(failed) < 2:
            failed.append(items)
            raise RuntimeError("boom")
        real_write(items)

    writer.write = write  # type: ignore[method-assign]
    for n, batches in ((1, 1), (10, 2)):  # two batches meet the error, one after the other
        sink.handle(evt(n))
        wait_for(lambda: len(failed) == batches)  # noqa: B023 (called within the iteration)
    wait_for(lambda: sum(isinstance(m, RecordingError) for m in ctx.emitted) == 2)
    sink.handle(evt(2))
    sink.stop()
    assert [m for m in ctx.emitted if isinstance(m, RecordingError)] == 2 * [
        RecordingError(path=str(tmp_path), operation="write", error="RuntimeError('boom')")
    ]
    # The batches that met the error are not written here; the writer cannot say how much of
    # a batch it wrote before an unexpected error, so their events are counted as unconfirmed.
    assert sink.unconfirmed == len(failed[0]) + len(failed[1]) == 2
    said = (
        "bussdcc jsonl: writer error RuntimeError('boom'); 1 events of its batch may not have "
        "been written (please report this bug)\n"
    )
    assert capsys.readouterr().err == 2 * said + (
        f"bussdcc jsonl: recorded 1 events in {tmp_path}; dropped 0 (queue full), lost 0 (write "
        "errors), 0 could not be encoded, 0 will not read back as emitted (NaN where the type is "
        "no float), 0 emits waited 0.00s (queue full), 2 may not have been written (writer error)\n"
    )
    assert [r["data"]["n"] for r in records(tmp_path)][-1:] == [2]


def test_the_sink_encodes_with_the_codec_it_is_given(tmp_path: Path) -> None:
    class Counting(Codec):
        def __init__(self) -> None:
            super().__init__(TypeRegistry(include_imported=False))
            self.encoded = 0

        def encode_record(self, evt: Event[Message]) -> bytes:
            self.encoded += 1
            return super().encode_record(evt)

    codec = Counting()
    sink = JsonlSink(tmp_path, codec=codec)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    sink.handle(evt(1))
    sink.handle(evt(2))
    sink.stop()
    assert codec.encoded == 2 and [r["data"]["n"] for r in records(tmp_path)] == [1, 2]


def test_a_sink_without_a_codec_discovers_no_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Encoding needs no registry: the sink's own codec must not load every plugin (slow, and
    a plugin that fails to load would then fail the recording)."""

    def no_discovery(**_: Any) -> Any:
        raise AssertionError("the sink asked for the default registry: plugin discovery")

    monkeypatch.setattr(codec_registry, "default_registry", no_discovery)
    sink = JsonlSink(tmp_path)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    sink.handle(evt(1))
    sink.stop()
    assert [r["data"]["n"] for r in records(tmp_path)] == [1]


def test_the_hot_path_numbers_a_class_once_then_only_looks_it_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_number`` takes a lock: ``handle`` calls it for the first event of a class only."""
    numbered: list[type] = []
    real_number = JsonlSink._number

    def counting(self: JsonlSink, cls: type[Message]) -> int:
        numbered.append(cls)
        return real_number(self, cls)

    monkeypatch.setattr(JsonlSink, "_number", counting)
    sink = JsonlSink(tmp_path)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    for i in range(5):
        sink.handle(evt(i))
    sink.stop()
    assert numbered == [Sample] and sink.written == 5


# -- segment boundaries, to the byte and to the microsecond ------------------------------------


def lines_by_file(root: Path) -> dict[str, list[int]]:
    return {
        p.name: [json.loads(x)["data"]["n"] for x in p.read_bytes().splitlines()]
        for p in sorted(root.rglob("*.jsonl"))
    }


def test_a_segment_is_filled_to_exactly_max_size_and_a_longer_line_stands_alone(tmp_path: Path) -> None:
    probe = JsonlSink(tmp_path / "probe")
    size = len(probe._encode(evt(10))) + 1  # every line of evt(10..99) has this size
    sink = JsonlSink(tmp_path / "exact", max_size=3 * size)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    for i in range(10, 17):
        sink.handle(evt(i))
    sink.stop()
    files = sorted((tmp_path / "exact").rglob("*.jsonl"))
    assert [p.stat().st_size for p in files] == [3 * size, 3 * size, size]
    assert list(lines_by_file(tmp_path / "exact").values()) == [[10, 11, 12], [13, 14, 15], [16]]
    short = JsonlSink(tmp_path / "short", max_size=3 * size - 1)  # one byte short of three lines
    short.start(FakeCtx())  # type: ignore[arg-type]
    for i in range(10, 15):
        short.handle(evt(i))
    short.stop()
    assert list(lines_by_file(tmp_path / "short").values()) == [[10, 11], [12, 13], [14]]
    small = JsonlSink(tmp_path / "small", max_size=size - 1)  # every line is longer than that
    small.start(FakeCtx())  # type: ignore[arg-type]
    for i in range(10, 13):
        small.handle(evt(i))
    small.stop()
    assert sorted(lines_by_file(tmp_path / "small").values()) == [[10], [11], [12]]
    assert small.written == 3 and small.lost == 0


def test_a_step_back_of_exactly_the_tolerance_stays_in_the_segment(tmp_path: Path, started: Any) -> None:
    start = datetime(2026, 3, 9, 12, 10, 0, tzinfo=UTC)
    sink, _ = started(tmp_path, 600)
    sink.handle(evt(1, start))
    sink.handle(evt(2, start - timedelta(seconds=5)))  # BACKSTEP_TOLERANCE: still this segment
    sink.handle(evt(3, start + timedelta(seconds=599, microseconds=999_999)))  # its last instant
    sink.handle(evt(4, start + timedelta(seconds=600)))  # the next segment's first
    sink.handle(evt(5, start - timedelta(seconds=5, microseconds=1)))  # a real step back
    sink.stop()
    assert lines_by_file(tmp_path) == {
        "12-10-00.jsonl": [1, 2, 3],
        "12-20-00.jsonl": [4],
        "12-00-00.jsonl": [5],
    }


def test_one_batch_is_split_exactly_at_the_bounds_of_the_open_segment(
    tmp_path: Path, direct_writer: Callable[..., SegmentWriter]
) -> None:
    """A batch handed to the writer at once (as the writer thread does) goes into the open
    segment only as far as its end, excluded, and its step-back tolerance, included; the
    writer is driven directly so that each batch is exactly the one given."""
    writer = direct_writer(tmp_path, [Sample])  # the items' class number 0
    start = datetime(2026, 3, 9, 12, 10, 0, tzinfo=UTC)

    def item(n: int, at: datetime) -> Any:
        return (at, json.dumps({"data": {"n": n}}).encode(), 0)

    writer.write([item(1, start)])  # opens 12:10
    # the open segment's last instant and the next one's first, in one batch
    writer.write(
        [
            item(2, start + timedelta(seconds=599, microseconds=999_999)),
            item(3, start + timedelta(seconds=600)),
        ]
    )
    # now 12:20 is open: its tolerance's first instant, then an event of 12:30, in one batch
    writer.write([item(4, start + timedelta(seconds=595)), item(5, start + timedelta(seconds=1200))])
    writer.close()
    assert lines_by_file(tmp_path) == {
        "12-10-00.jsonl": [1, 2],
        "12-20-00.jsonl": [3, 4],
        "12-30-00.jsonl": [5],
    }


def test_events_handled_before_start_are_all_kept_whatever_the_queue_size(tmp_path: Path) -> None:
    for overflow in ("drop", "block"):
        sink = JsonlSink(tmp_path / overflow, queue_size=2, overflow=overflow)  # type: ignore[arg-type]
        for i in range(5):
            sink.handle(evt(i))  # no writer yet: nothing to wait for, nothing dropped
        sink.start(FakeCtx())  # type: ignore[arg-type]
        sink.stop()
        assert [r["data"]["n"] for r in records(tmp_path / overflow)] == [0, 1, 2, 3, 4]
        assert sink.dropped == 0 and sink.waits == 0


def test_the_recording_itself_says_how_many_events_were_dropped(tmp_path: Path) -> None:
    """The writer's own reports go through every sink, this one included, and are never dropped."""
    rt = Runtime()
    sink = JsonlSink(tmp_path, queue_size=1, overflow="drop", flush_interval=0.05)
    rt.add_sink(sink)
    rt.boot()
    stop = threading.Event()

    def hammer() -> None:
        n = 0
        while not stop.is_set():
            rt.ctx.emit(Sample(n))
            n += 1

    emitter = threading.Thread(target=hammer)
    emitter.start()
    try:
        wait_for(lambda: sink.dropped > 0 and sink._dropped_reported > 0, timeout=60)
    finally:
        stop.set()
        emitter.join(60)
    quiet = sink.dropped

    def reported_on_disk() -> int:
        totals = [0]
        for path in tmp_path.rglob("*.jsonl"):
            for line in path.read_bytes().split(b"\n")[:-1]:  # complete lines only
                if b":RecordingDropped" in line:
                    totals.append(json.loads(line)["data"]["total"])
        return max(totals)

    wait_for(lambda: reported_on_disk() >= quiet, timeout=60)  # the writer caught up
    rt.shutdown()  # (in drop mode with one slot, shutdown's own events may be dropped too)
    reports = [r["data"] for r in records(tmp_path) if r["type"].endswith(":RecordingDropped")]
    totals = [r["total"] for r in reports]
    assert totals == list(itertools.accumulate(r["dropped"] for r in reports))  # none missing
    assert totals[-1] >= quiet > 0


def test_the_writers_own_reports_are_recorded_even_when_the_queue_is_full(tmp_path: Path) -> None:
    class Loopback:
        """Routes the sink's reports back into it, as a runtime does, after an emitter filled the queue."""

        def __init__(self) -> None:
            self.emitted: list[Message] = []

        def emit(self, message: Message) -> None:
            self.emitted.append(message)
            sink.handle(evt(-1))  # another emitter's event takes the last slot first
            sink.handle(Event(time=T0, payload=message))

    sink = JsonlSink(tmp_path, queue_size=1, overflow="drop")
    ctx = Loopback()
    sink.start(ctx)  # type: ignore[arg-type]
    disk = stall(sink)
    for i in range(4):
        sink.handle(evt(i))
    disk.set()
    wait_for(lambda: bool(ctx.emitted), timeout=60)
    sink.stop()
    recorded = [r for r in records(tmp_path) if r["type"].endswith(":RecordingDropped")]
    assert [r["data"]["total"] for r in recorded] == [m.total for m in ctx.emitted]  # type: ignore[attr-defined]
    assert recorded[-1]["data"]["total"] == sink.dropped >= 2
