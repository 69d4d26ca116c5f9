"""What each ``flush`` and ``overflow`` mode really does, observed rather than inferred from counters.

* ``overflow="block"``: with the disk stalled on purpose, the queue never holds more than
  ``queue_size`` events and the emitter is really held inside the sink until there is room.
* ``flush="fsync"`` calls ``os.fsync`` on the segment (counted through a monkeypatched
  ``os.fsync``); ``"interval"`` and ``"line"`` never do.
* ``flush="line"`` puts each event in the file at once, read back from the file while the sink
  runs, even with the writer's interval timer switched off; ``"interval"`` waits for the timer.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bussdcc.event import Event
from bussdcc.message import Message
from bussdcc_framework_jsonl import JsonlSink
from bussdcc_framework_jsonl.writer import SegmentWriter

from bussdcc_framework.codec import type_name
from bussdcc_framework.recordings import index_path

T0 = datetime(2026, 3, 9, 12, 0, 1, tzinfo=UTC)


@dataclass(slots=True, frozen=True)
class Sample(Message):
    n: int


class FakeCtx:
    def __init__(self) -> None:
        self.emitted: list[Message] = []

    def emit(self, message: Message) -> None:
        self.emitted.append(message)


def evt(n: int) -> Event[Message]:
    return Event(time=T0, payload=Sample(n))


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)
    return value


def on_disk(root: Path) -> list[int]:
    """The ``Sample`` numbers in the complete lines of the segments, read from the files now."""
    found: list[int] = []
    for path in sorted(root.rglob("*.jsonl")):
        for line in path.read_bytes().split(b"\n")[:-1]:
            record = json.loads(line)
            if record["type"].endswith(":Sample"):
                found.append(record["data"]["n"])
    return found


# -- overflow="block" ----------------------------------------------------------------------------


def held_in_the_sink(emitter: threading.Thread) -> bool:
    """``emitter`` is inside ``JsonlSink._admit``, waiting for room in the queue."""
    frame = sys._current_frames().get(emitter.ident or 0)
    while frame is not None:
        # "_admit", or its copies under mutation testing ("xǁJsonlSinkǁ_admit__mutmut_orig", ..._3)
        name = frame.f_code.co_name
        if name == "_admit" or "ǁ_admit__mutmut_" in name:
            return True
        frame = frame.f_back
    return False


def test_block_mode_holds_the_emitter_and_never_queues_more_than_queue_size(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path, queue_size=16, overflow="block", flush_interval=1.0)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    disk = threading.Event()  # the disk is stalled until this is set
    writer = sink._writer
    assert writer is not None
    real_write = writer.write

    def stalled_write(items: list[Any]) -> None:
        disk.wait(120)
        real_write(items)

    writer.write = stalled_write  # type: ignore[method-assign]
    emitted: list[int] = []
    peak = 0

    def emit() -> None:
        nonlocal peak
        for i in range(500):
            sink.handle(evt(i))
            peak = max(peak, len(sink._queue))
            emitted.append(i)

    emitter = threading.Thread(target=emit, name="emitter")
    began = time.monotonic()
    emitter.start()
    try:
        # The emitter ends up waiting inside the sink for room, not returning.
        wait_for(lambda: held_in_the_sink(emitter), "the emitter to wait for room in the queue")
        assert emitter.is_alive() and len(emitted) < 500
        assert len(sink._queue) <= 16
        assert peak <= 16  # never more than queue_size, however long the disk stalls
    finally:
        disk.set()
        emitter.join(60)
    elapsed = time.monotonic() - began
    sink.stop()
    assert not emitter.is_alive() and emitted == list(range(500))
    assert 0 < sink.waited <= elapsed  # one emitter: its waits fit in the time it ran
    assert peak <= 16
    assert sink.dropped == 0 and sink.waits >= 1 and sink.waited > 0
    assert on_disk(tmp_path) == list(range(500))  # nothing lost


class GatedDisk:
    """The sink's writes, each held until the test lets one through (``release``)."""

    def __init__(self, sink: JsonlSink) -> None:
        writer = sink._writer
        assert writer is not None
        self._real_write = writer.write
        self._gate = threading.Semaphore(0)
        self.writing = threading.Event()  # the writer thread is in a write, held
        self.open = False
        self.fail: type[BaseException] | None = None  # raised by the held write once released
        writer.write = self._write  # type: ignore[method-assign]

    def _write(self, items: list[Any]) -> None:
        if not self.open:
            self.writing.set()
            self._gate.acquire(timeout=120)
            self.writing.clear()
            if self.fail is not None:
                raise self.fail
        self._real_write(items)

    def release(self) -> None:
        """Let the write being held (or the next one) through."""
        self._gate.release()

    def unstall(self) -> None:
        self.open = True
        self._gate.release()


def test_block_mode_counts_each_waiting_emit_once_and_adds_up_the_time_waited(tmp_path: Path) -> None:
    """Two emits find the queue full: ``waits`` is 2, ``waited`` the sum of both waits.

    The first wait is held for half a second, the second one released at once: the total
    cannot be either wait alone. Bounds come from the test's own clock around each wait
    (held at least from "seen waiting" to "released", at most the whole ``handle`` call).
    """
    sink = JsonlSink(tmp_path, queue_size=4, overflow="block", flush_interval=1.0)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    disk = GatedDisk(sink)
    n = 0

    def fill() -> None:
        """Queue events until the queue is full (the writer is held: nothing drains it)."""
        nonlocal n
        while len(sink._queue) < 4:
            sink.handle(evt(n))
            n += 1

    def waiting_emit(hold: float) -> tuple[float, float]:
        """One emit that finds the queue full: (seconds surely waited, seconds it took at most)."""
        nonlocal n
        took: list[float] = []

        def emit(i: int) -> None:
            began = time.monotonic()
            sink.handle(evt(i))
            took.append(time.monotonic() - began)

        emitter = threading.Thread(target=emit, args=(n,), name="emitter")
        n += 1
        emitter.start()
        wait_for(lambda: held_in_the_sink(emitter), "the emitter to wait for room")
        seen = time.monotonic()
        if hold:
            time.sleep(hold)  # a lower bound on the wait, not a deadline
        released = time.monotonic()
        disk.release()
        emitter.join(60)
        assert not emitter.is_alive()
        return released - seen, took[0]

    try:
        sink.handle(evt(n))
        n += 1
        wait_for(disk.writing.is_set, "the writer to hold the first event")
        fill()
        surely1, at_most1 = waiting_emit(0.5)
        wait_for(disk.writing.is_set, "the writer to hold the next batch")
        fill()
        surely2, at_most2 = waiting_emit(0.0)
    finally:
        disk.unstall()
    sink.stop()
    assert on_disk(tmp_path) == list(range(n))
    assert sink.waits == 2 and sink.dropped == 0
    assert surely1 + surely2 <= sink.waited <= at_most1 + at_most2


def held_emitter(sink: JsonlSink, disk: GatedDisk) -> threading.Thread:
    """With ``disk`` holding the writer, fill the queue and start an emitter that must wait."""
    sink.handle(evt(-1))
    wait_for(disk.writing.is_set, "the writer to hold the first event")
    n = 0
    while len(sink._queue) < sink.queue_size:
        sink.handle(evt(n))
        n += 1
    emitter = threading.Thread(target=sink.handle, args=(evt(n),), name="emitter", daemon=True)
    emitter.start()
    wait_for(lambda: held_in_the_sink(emitter), "the emitter to wait for room")
    return emitter


def test_a_waiting_emitter_sleeps_until_there_is_room_instead_of_spinning(tmp_path: Path) -> None:
    """While the disk stalls, a waiting emitter looks at the queue only when the writer made
    room or every 0.05 s (to notice a writer thread that died), not in a busy loop that takes
    the core the writer needs: it waits at most once per 0.05 s while nothing is drained."""
    sink = JsonlSink(tmp_path, queue_size=4, overflow="block", flush_interval=1.0)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    disk = GatedDisk(sink)
    space = sink._space
    waits = 0

    def counting_wait(timeout: float | None = None) -> bool:
        nonlocal waits
        waits += 1
        return threading.Event.wait(space, timeout)

    space.wait = counting_wait  # type: ignore[method-assign]
    try:
        emitter = held_emitter(sink, disk)
        before, began = waits, time.monotonic()
        time.sleep(0.5)  # the emitter waits all along: the disk is held
        looked, took = waits - before, time.monotonic() - began
    finally:
        disk.unstall()
    emitter.join(60)
    sink.stop()
    assert not emitter.is_alive() and sink.waits == 1
    assert looked <= took / 0.05 + 2, (looked, took)  # a busy loop waits thousands of times
    assert on_disk(tmp_path) == list(range(-1, 5))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the SystemExit
def test_an_emitter_waiting_for_a_writer_thread_that_died_goes_on(tmp_path: Path) -> None:
    """If the writer thread ends without stop() (it cannot make room any more), an emitter
    waiting for room returns instead of waiting forever; stop() then writes what is queued."""
    sink = JsonlSink(tmp_path, queue_size=4, overflow="block", flush_interval=1.0)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    disk = GatedDisk(sink)
    writer_thread = sink._thread
    assert writer_thread is not None
    emitter = held_emitter(sink, disk)
    disk.fail = SystemExit  # the held write ends the writer thread: no drain will come
    disk.release()
    try:
        writer_thread.join(60)
        emitter.join(30)
        assert not writer_thread.is_alive() and not emitter.is_alive()
    finally:
        disk.unstall()
        sink.stop()
    assert sink.waits == 1 and sink.dropped == 0
    assert on_disk(tmp_path) == list(range(5))  # the first event went down with the writer


def stop_with_a_waiting_emitter(sink: JsonlSink) -> tuple[threading.Thread, threading.Thread]:
    """Hold the disk, make an emitter wait for room, stop the sink meanwhile, free the disk;
    return the stopping thread (joined) and the emitter (the caller decides when it ends)."""
    disk = GatedDisk(sink)
    emitter = held_emitter(sink, disk)
    stopper = threading.Thread(target=sink.stop, name="stopper", daemon=True)
    stopper.start()
    wait_for(lambda: sink._stopping, "stop() to begin")
    disk.unstall()
    stopper.join(60)
    return stopper, emitter


def test_an_emitter_waiting_when_the_sink_stops_returns(tmp_path: Path) -> None:
    """stop() while an emitter waits for room: the writer's last drain makes room, the
    emitter returns, and stop() writes everything that was queued before it."""
    sink = JsonlSink(tmp_path, queue_size=4, overflow="block", flush_interval=1.0)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    stopper, emitter = stop_with_a_waiting_emitter(sink)
    emitter.join(60)
    assert not stopper.is_alive() and not emitter.is_alive()
    assert sink.waits == 1 and sink.dropped == 0
    recorded = on_disk(tmp_path)
    assert recorded[:5] == list(range(-1, 4)) and recorded[5:] in ([], [4])  # see below
    # (the waiting event itself is written when the emitter gets it in before stop()'s own
    # drain; after that it cannot be written, and is counted as late)
    assert len(recorded) - 5 + sink.late == 1


@pytest.mark.parametrize("overflow", ["drop", "block"])
def test_events_handled_while_stop_drains_are_written_not_dropped_or_waited_for(
    tmp_path: Path, overflow: str
) -> None:
    """Between the writer thread's end and stop()'s own drain, a full queue neither drops nor
    holds an emitter (nothing would make room): stop() writes what it finds."""
    sink = JsonlSink(tmp_path, queue_size=2, overflow=overflow, flush_interval=1.0)  # type: ignore[arg-type]
    sink.start(FakeCtx())  # type: ignore[arg-type]
    real_drain = sink._drain
    late: list[int] = []

    def drain() -> list[Any]:
        writer_thread = sink._thread
        if not sink._accepting and writer_thread is not None and not late:  # stop()'s drain
            assert not writer_thread.is_alive()
            late.extend(range(100, 105))
            for i in late:  # more than the queue holds
                sink.handle(evt(i))
        return real_drain()

    sink._drain = drain  # type: ignore[method-assign]
    sink.handle(evt(0))
    sink.stop()
    assert late and on_disk(tmp_path) == [0, *late]
    assert sink.dropped == 0 and sink.waits == 0


class HeldWake(threading.Event):
    """The sink's "room in the queue" event, whose waiters sleep until the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.gate.wait(120)
        return super().wait(0)


def test_an_emitter_that_waited_through_the_whole_stop_is_counted_late(tmp_path: Path) -> None:
    """An emitter that gets its turn only after stop() drained for the last time cannot be
    written: it is counted as late, not left in the queue where nobody sees it."""
    sink = JsonlSink(tmp_path, queue_size=4, overflow="block", flush_interval=1.0)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    sink._space = space = HeldWake()
    stopper, emitter = stop_with_a_waiting_emitter(sink)
    assert not stopper.is_alive() and emitter.is_alive()  # stop() is over; the emitter waits
    space.gate.set()
    emitter.join(60)
    assert not emitter.is_alive()
    assert on_disk(tmp_path) == list(range(-1, 4))
    assert sink.late == 1 and not sink._queue and sink.waits == 1


def test_events_handled_after_stop_are_counted_and_said_once(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A sink used after it stopped (its owner stopped it, not the runtime) writes nothing, but
    loses nothing silently: each event is counted, and one line says what happened."""
    sink = JsonlSink(tmp_path, flush_interval=1.0)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    sink.handle(evt(0))
    sink.stop()
    assert capfd.readouterr().err == ""  # nothing was lost: no summary
    for i in range(1, 4):
        sink.handle(evt(i))
    assert sink.late == 3
    assert on_disk(tmp_path) == [0]
    [line] = capfd.readouterr().err.splitlines()
    assert line == (
        f"bussdcc jsonl: an event of type {type_name(Sample)} arrived after the recording in "
        f"{tmp_path} stopped and is not recorded (stop the runtime, not the sink)"
    )
    sink.start(FakeCtx())  # type: ignore[arg-type]  # started again: recording again
    sink.handle(evt(4))
    sink.stop()
    assert on_disk(tmp_path) == [0, 4] and sink.late == 3


def test_an_event_queued_by_a_dispatch_under_way_at_stop_is_counted(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A dispatch that fetched the fast handle before stop() swapped it queues after the last
    drain: stop() counts it as late in its summary instead of leaving it in the queue."""
    sink = JsonlSink(tmp_path, flush_interval=1.0)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    fast = sink.handle
    real_flush = sink._writer.flush  # type: ignore[union-attr]

    def flush() -> None:  # stop() flushes after its last drain: an old dispatch lands now
        if not sink._accepting:
            fast(evt(9))
        real_flush()

    sink._writer.flush = flush  # type: ignore[union-attr, method-assign]
    sink.handle(evt(0))
    sink.stop()
    assert sink.late == 1 and on_disk(tmp_path) == [0]
    assert not sink._queue
    assert capfd.readouterr().err == (
        f"bussdcc jsonl: recorded 1 events in {tmp_path}; dropped 0 (queue full), lost 0 (write "
        "errors), 0 could not be encoded, 0 will not read back as emitted (NaN where the type is "
        "no float), 0 emits waited 0.00s (queue full), 1 arrived after the recording stopped\n"
    )


def test_late_events_add_up_whichever_way_they_came(tmp_path: Path) -> None:
    """One event is queued by a dispatch under way after stop()'s last drain (stop() counts
    it), one emitter waited through the whole stop (counted when it gets its turn): two."""
    sink = JsonlSink(tmp_path, queue_size=4, overflow="block", flush_interval=1.0)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    sink._space = space = HeldWake()
    fast = sink.handle
    real_flush = sink._writer.flush  # type: ignore[union-attr]
    dispatched: list[int] = []

    def flush() -> None:  # stop()'s flush, after its last drain: an old dispatch lands now
        if not sink._accepting and not dispatched:
            dispatched.append(99)
            fast(evt(99))
        real_flush()

    sink._writer.flush = flush  # type: ignore[union-attr, method-assign]
    stopper, emitter = stop_with_a_waiting_emitter(sink)
    assert not stopper.is_alive() and emitter.is_alive() and dispatched
    assert sink.late == 1  # the dispatch, counted by stop()
    space.gate.set()
    emitter.join(60)
    assert not emitter.is_alive()
    assert on_disk(tmp_path) == list(range(-1, 4))
    assert sink.late == 2 and not sink._queue and sink.waits == 1


# -- fsync -------------------------------------------------------------------------------------


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The paths under ``tmp_path`` that ``os.fsync`` was called on, in order."""
    calls: list[str] = []
    real_fsync = os.fsync

    def counting_fsync(fd: Any) -> None:
        number = fd if isinstance(fd, int) else fd.fileno()
        path = os.readlink(f"/proc/self/fd/{number}")
        if path.startswith(str(tmp_path)):
            calls.append(path)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    return calls


def test_fsync_mode_fsyncs_the_segment_while_it_runs_and_at_stop(tmp_path: Path, fsyncs: list[str]) -> None:
    sink = JsonlSink(tmp_path / "rec", flush="fsync", flush_interval=0.05)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    sink.handle(evt(1))
    segment = wait_for(lambda: [p for p in fsyncs if p.endswith(".jsonl")], "an fsync of the segment")
    assert on_disk(tmp_path / "rec") == [1]  # what was fsynced is in the file
    running = len(fsyncs)
    sink.handle(evt(2))
    wait_for(lambda: len(fsyncs) > running, "an fsync after the second event")
    sink.stop()
    assert all(p == segment[0] or not p.endswith(".jsonl") for p in fsyncs)
    assert on_disk(tmp_path / "rec") == [1, 2]


def test_fsync_mode_fsyncs_the_compressed_segment_too(tmp_path: Path, fsyncs: list[str]) -> None:
    sink = JsonlSink(tmp_path / "rec", 60, flush="fsync", compress=True)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    sink.handle(evt(1))
    sink.handle(Event(time=T0.replace(minute=1), payload=Sample(2)))  # closes the first segment
    sink.stop()
    assert any(p.endswith("12-00-00.jsonl.gz.tmp") for p in fsyncs), fsyncs  # before its rename
    assert sorted(p.name for p in (tmp_path / "rec").rglob("*.gz")) == [
        "12-00-00.jsonl.gz",
        "12-01-00.jsonl.gz",
    ]


def test_fsync_mode_fsyncs_only_after_a_cycle_that_wrote(
    tmp_path: Path, direct_writer: Callable[..., SegmentWriter], fsyncs: list[str]
) -> None:
    """The writer thread ends every cycle with ``flush()``; an idle cycle has nothing to make
    durable (the writer driven directly: one cycle per call)."""
    writer = direct_writer(tmp_path, [Sample], flush="fsync")  # the items' class number 0

    def segment_fsyncs() -> int:
        return len([p for p in fsyncs if p.endswith(".jsonl")])

    writer.write([(T0, b'{"n":1}', 0)])
    writer.flush()
    assert segment_fsyncs() == 1
    writer.flush()  # idle cycles
    writer.flush()
    assert segment_fsyncs() == 1
    writer.write([(T0, b'{"n":2}', 0)])
    writer.flush()
    assert segment_fsyncs() == 2
    writer.close()  # and the last one when it closes
    assert segment_fsyncs() == 3


def test_fsync_mode_fsyncs_the_index_before_it_takes_its_name(tmp_path: Path, fsyncs: list[str]) -> None:
    sink = JsonlSink(tmp_path / "rec", flush="fsync")
    sink.start(FakeCtx())  # type: ignore[arg-type]
    sink.handle(evt(1))
    sink.stop()
    (segment,) = (tmp_path / "rec").rglob("*.jsonl")
    index = index_path(segment)
    assert index.exists()
    assert any(Path(p).name.startswith(index.name + ".tmp") for p in fsyncs), fsyncs


@pytest.mark.parametrize("mode", ["interval", "line"])
def test_interval_and_line_modes_never_fsync(tmp_path: Path, fsyncs: list[str], mode: str) -> None:
    sink = JsonlSink(tmp_path / "rec", flush=mode, flush_interval=0.05)  # type: ignore[arg-type]
    sink.start(FakeCtx())  # type: ignore[arg-type]
    for i in range(50):
        sink.handle(evt(i))
    wait_for(lambda: len(on_disk(tmp_path / "rec")) == 50, "the events on disk")
    sink.stop()
    assert on_disk(tmp_path / "rec") == list(range(50))
    assert fsyncs == []


# -- flush="line" ------------------------------------------------------------------------------


def timerless(sink: JsonlSink) -> None:
    """Switch off the writer's interval timer: it writes only when woken (or at stop)."""
    wake = sink._wake

    def wait(timeout: float | None = None) -> bool:
        return threading.Event.wait(wake)

    wake.wait = wait  # type: ignore[method-assign]


def test_line_mode_puts_each_event_in_the_file_at_once(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path, flush="line", queue_size=1000)
    timerless(sink)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    try:
        for i in range(3):
            sink.handle(evt(i))
            # read back from the file while the sink runs: no timer, no stop, no batch
            wait_for(lambda i=i: on_disk(tmp_path) == list(range(i + 1)), f"event {i} in the file")
    finally:
        sink.stop()
    assert on_disk(tmp_path) == [0, 1, 2]


def test_interval_mode_waits_for_its_timer(tmp_path: Path) -> None:
    """The control for the test above: without the timer, interval mode writes only at stop."""
    sink = JsonlSink(tmp_path, flush="interval", queue_size=1000)
    timerless(sink)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    sink.handle(evt(0))
    # Line mode wrote within this wait above; interval mode, with no timer to wake it, has not.
    wait_for(lambda: sink._queue or sink.written, "the event queued")
    time.sleep(0.5)
    assert on_disk(tmp_path) == []
    sink.stop()
    assert on_disk(tmp_path) == [0]


@pytest.mark.parametrize(("queue_size", "wake_at"), [(1, 1), (4, 1), (10, 2), (16, 4)])
def test_interval_mode_wakes_the_writer_when_a_quarter_of_the_queue_waits(
    tmp_path: Path, queue_size: int, wake_at: int
) -> None:
    """Without its timer, interval mode writes as soon as ``queue_size // 4`` events (at least 1) wait."""
    sink = JsonlSink(tmp_path, flush="interval", queue_size=queue_size)
    timerless(sink)
    sink.start(FakeCtx())  # type: ignore[arg-type]
    try:
        for i in range(wake_at - 1):
            sink.handle(evt(i))
        time.sleep(0.3)  # a writer woken too early would have written by now
        assert on_disk(tmp_path) == []
        sink.handle(evt(wake_at - 1))
        wait_for(lambda: on_disk(tmp_path) == list(range(wake_at)), "the batch in the file")
    finally:
        sink.stop()
