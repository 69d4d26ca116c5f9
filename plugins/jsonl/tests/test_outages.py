"""A full disk and a failed boot leave no litter; 0 means "no limit" (issue 10 §1, 11 §3)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bussdcc.event import Event
from bussdcc.message import Message
from bussdcc_framework_jsonl import JsonlSink, RecordingError, RecordingResumed
from bussdcc_framework_jsonl import writer as writer_module

from bussdcc_framework.interface import Interface
from bussdcc_framework.message.framework import FrameworkBooted
from bussdcc_framework.recordings import read_index
from bussdcc_framework.runtime import Runtime


@dataclass(slots=True, frozen=True)
class Big(Message):
    n: int
    pad: str = "p" * 200


class Ctx:
    def __init__(self) -> None:
        self.emitted: list[Message] = []

    def emit(self, message: Message) -> None:
        self.emitted.append(message)


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def segments(root: Path) -> list[Path]:
    return sorted(root.rglob("*.jsonl"))


DISK_FULL_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    from dataclasses import dataclass
    from datetime import datetime, timedelta, timezone
    from pathlib import Path
    from bussdcc.event import Event
    from bussdcc.message import Message
    from bussdcc_framework_jsonl import JsonlSink

    @dataclass(slots=True, frozen=True)
    class Big(Message):
        n: int
        pad: str = "p" * 200

    class Ctx:
        def emit(self, m):
            print("EMIT", type(m).__name__, flush=True)

    # Event times, not the clock: a run that crossed a segment boundary (every 10 minutes of
    # the wall clock) would open one segment more than the outage does.
    AT = datetime(2026, 3, 9, 12, 0, 1, tzinfo=timezone.utc)
    mount = Path(sys.argv[1])
    filler = mount / "filler"
    filler.write_bytes(b"f" * 160 * 1024)  # most of the 256 KiB file system
    sink = JsonlSink(mount / "rec", flush="line")
    sink.start(Ctx())
    n = 0
    def emit_for(seconds):
        global n
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            sink.handle(Event(AT + timedelta(milliseconds=n), Big(n)))
            n += 1
            time.sleep(0.004)      # about 50 KB a second
    emit_for(3.0)                  # fills the disk: the outage starts
    emit_for(4.5)                  # about four retries, one a second, all failing
    filler.unlink()                # 160 KiB free again
    emit_for(1.5)                  # recording resumes
    sink.stop()
    names = sorted(str(p.relative_to(mount / "rec")) for p in (mount / "rec").rglob("*.jsonl"))
    print("RESULT", json.dumps({"lost": sink.lost, "written": sink.written, "emitted": n, "files": names}))
    """
)


def can_mount_tmpfs(tmp_path: Path) -> str | None:
    """None when this machine lets a test mount a private tmpfs, else why not."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {tmp_path} && echo ok"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return None if probe.stdout.strip() == "ok" else f"cannot mount a tmpfs: {probe.stderr.strip()}"


def test_a_real_full_disk_leaves_at_most_one_new_segment_per_outage(tmp_path: Path) -> None:
    """A 256 KiB tmpfs in a private mount namespace: ENOSPC from a real file system."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    reason = can_mount_tmpfs(mount)
    if reason is not None:
        pytest.skip(reason + " (test_enospc_retries_leave_no_empty_segments covers the logic)")
    script = tmp_path / "fill.py"
    script.write_text(DISK_FULL_SCRIPT)
    out = subprocess.run(
        [
            "unshare",
            "-rm",
            "sh",
            "-c",
            f'mount -t tmpfs -o size=256k tmpfs "{mount}" && exec "{sys.executable}" "{script}" "{mount}"',
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "EMIT RecordingError" in out.stdout and "EMIT RecordingResumed" in out.stdout
    assert out.stderr.count("recording failed") == 1
    result = json.loads(out.stdout.split("RESULT ", 1)[1])
    # The segment that filled up, plus the one recording resumed in: nothing from the retries.
    assert len(result["files"]) == 2, result["files"]
    assert result["lost"] > 0 and result["written"] + result["lost"] == result["emitted"]


class FullDisk:
    """``os`` for the writer module, whose ``write`` fails with ENOSPC while ``full``."""

    def __init__(self) -> None:
        self.full = False
        self.failed_writes = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        proxy = types.SimpleNamespace(
            **{name: getattr(os, name) for name in dir(os) if not name.startswith("__")}
        )
        proxy.write = self.write
        monkeypatch.setattr(writer_module, "os", proxy)

    def write(self, fd: int, data: Any) -> int:
        if self.full:
            self.failed_writes += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)


def test_enospc_retries_leave_no_empty_segments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = FullDisk()
    disk.install(monkeypatch)
    ctx = Ctx()
    sink = JsonlSink(tmp_path, flush="line")
    sink.start(ctx)  # type: ignore[arg-type]
    sink.handle(Event(AT, Big(0)))  # event times: no segment boundary in the run
    wait_for(lambda: sink.written == 1)
    first_segment = sink.path
    disk.full = True
    full_since = time.monotonic()
    n = 1
    deadline = time.monotonic() + 3.5  # the writer retries about three times
    while time.monotonic() < deadline:
        sink.handle(Event(AT + timedelta(milliseconds=n), Big(n)))
        n += 1
        time.sleep(0.01)
    assert disk.failed_writes >= 3
    # ... and no more often than every RETRY_INTERVAL (a busy machine only makes it fewer)
    retries_allowed = (time.monotonic() - full_since) / writer_module.RETRY_INTERVAL + 2
    assert disk.failed_writes <= retries_allowed, (disk.failed_writes, retries_allowed)
    assert len(segments(tmp_path)) == 1  # the retries left nothing behind
    assert sink.path is None or sink.path.exists()  # never names a segment that was removed
    disk.full = False

    def resumed() -> bool:
        nonlocal n
        sink.handle(Event(AT + timedelta(milliseconds=n), Big(n)))
        n += 1
        time.sleep(0.05)
        return any(isinstance(m, RecordingResumed) for m in ctx.emitted)

    wait_for(resumed)
    sink.stop()
    assert len(segments(tmp_path)) == 2
    assert [m.operation for m in ctx.emitted if isinstance(m, RecordingError)] == ["write"]
    (error,) = [m for m in ctx.emitted if isinstance(m, RecordingError)]
    assert error.path == str(first_segment) and error.error == "OSError: No space left on device"
    assert sink.written + sink.lost == n
    recorded = [json.loads(line)["data"]["n"] for p in segments(tmp_path) for line in p.open()]
    assert recorded[0] == 0 and recorded[-1] == n - 1 and len(recorded) == sink.written


def test_a_new_segment_whose_first_write_fails_after_the_boot_is_removed_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a successful boot the writer stops tracking its segments (only a failed boot
    removes them); an empty segment it cannot write is still removed, reported once as the
    write error it is, and no longer named as the sink's path."""
    disk = FullDisk()
    disk.install(monkeypatch)
    ctx = Ctx()
    sink = JsonlSink(tmp_path, flush="line")
    sink.start(ctx)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    sink.handle(Event(now, FrameworkBooted(version="test")))
    wait_for(lambda: sink.written == 1)
    first = sink.path
    writer = sink._writer
    assert writer is not None and writer.indexer.booted and writer.created == [first]
    disk.full = True
    sink.handle(Event(now + timedelta(seconds=sink.interval), Big(1)))  # the next segment
    wait_for(lambda: sink.lost == 1 and disk.failed_writes == 1)
    sink.stop()
    assert segments(tmp_path) == [first] and sink.path is None
    errors = [m for m in ctx.emitted if isinstance(m, RecordingError)]
    assert [(m.operation, m.error) for m in errors] == [("write", "OSError: No space left on device")]
    assert writer.created == [first]


def test_segments_opened_after_a_successful_boot_are_not_tracked(tmp_path: Path) -> None:
    """Only a failed boot removes segments, so only those opened before the boot succeeded
    are remembered (a long recording would otherwise keep every name until the cap)."""
    sink = JsonlSink(tmp_path, flush="line")
    sink.start(Ctx())  # type: ignore[arg-type]
    now = datetime.now(UTC)
    sink.handle(Event(now, FrameworkBooted(version="test")))
    wait_for(lambda: sink.written == 1)
    first = sink.path
    sink.handle(Event(now + timedelta(seconds=sink.interval), Big(1)))  # the next segment
    wait_for(lambda: sink.written == 2)
    sink.stop()
    writer = sink._writer
    assert writer is not None and len(segments(tmp_path)) == 2 and writer.created == [first]


def test_a_segment_removed_before_the_boot_succeeded_is_no_longer_tracked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the boot succeeded the writer tracks its segments (a failed boot removes them):
    one removed because its first write failed is dropped from that list, so retries during
    a long outage cannot fill it (it is bounded) with names of files long gone."""
    disk = FullDisk()
    disk.install(monkeypatch)
    sink = JsonlSink(tmp_path, flush="line")
    sink.start(Ctx())  # type: ignore[arg-type]
    now = datetime.now(UTC)
    sink.handle(Event(now, Big(0)))
    wait_for(lambda: sink.written == 1)
    first = sink.path
    disk.full = True
    sink.handle(Event(now + timedelta(seconds=sink.interval), Big(1)))  # the next segment
    wait_for(lambda: sink.lost == 1 and disk.failed_writes == 1)
    sink.stop()
    writer = sink._writer
    assert writer is not None and not writer.indexer.booted
    assert segments(tmp_path) == [first] and writer.created == [first]


def test_a_batch_arriving_before_the_retry_is_counted_as_lost(
    tmp_path: Path, direct_writer: Callable[..., writer_module.SegmentWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a failed write the writer waits RETRY_INTERVAL before it opens a segment again:
    several events handed over in one batch meanwhile are counted as lost, all of them, and
    the outage is reported once (the writer, driven directly: one batch, no thread)."""
    disk = FullDisk()
    disk.install(monkeypatch)
    monkeypatch.setattr(writer_module, "RETRY_INTERVAL", 3600.0)  # no retry during the test
    reports: list[Message] = []
    writer = direct_writer(tmp_path, [Big], reports)  # the items' class number 0
    at = datetime(2026, 3, 9, 12, 0, 1, tzinfo=UTC)

    def batch(*numbers: int) -> list[Any]:
        return [(at, f'{{"n":{n}}}'.encode(), 0) for n in numbers]

    writer.write(batch(0))
    disk.full = True
    writer.write(batch(1))  # fails: the segment is given up
    writer.write(batch(2, 3, 4))
    writer.close()
    assert (writer.written, writer.lost) == (1, 4)
    assert [type(m).__name__ for m in reports] == ["RecordingError"]


def test_each_outage_is_reported_once_and_each_resumption_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = FullDisk()
    disk.install(monkeypatch)
    ctx = Ctx()
    sink = JsonlSink(tmp_path, flush="line")
    sink.start(ctx)  # type: ignore[arg-type]
    n = 0

    def emit() -> None:
        nonlocal n
        sink.handle(Event(datetime.now(UTC), Big(n)))
        n += 1

    def kinds() -> list[str]:
        return [type(m).__name__ for m in ctx.emitted if isinstance(m, (RecordingError, RecordingResumed))]

    for outage in (1, 2):
        emit()
        wait_for(lambda: sink.written + sink.lost == n)
        disk.full = True
        emit()
        wait_for(lambda o=outage: len(kinds()) == 2 * o - 1)  # type: ignore[misc]  # reported ...
        disk.full = False

        def resumed(reports: int = 2 * outage) -> bool:
            emit()
            time.sleep(0.05)
            return len(kinds()) == reports  # ... and so is its end, after a retry

        wait_for(resumed)
        for _ in range(3):  # writes after the resumption are no resumption
            emit()
        wait_for(lambda: sink.written + sink.lost == n)
    sink.stop()
    assert kinds() == ["RecordingError", "RecordingResumed"] * 2
    assert sum(m.lost for m in ctx.emitted if isinstance(m, RecordingResumed)) == sink.lost > 0


class BrokenInterface(Interface):
    """An interface whose start fails, as the web interface does on a busy port."""

    name = "broken"

    def start(self, ctx: Any) -> None:
        raise OSError(errno.EADDRINUSE, "address already in use")


def test_a_failed_boot_leaves_no_segment(tmp_path: Path) -> None:
    root = tmp_path / "events"
    rt = Runtime()
    rt.add_sink(JsonlSink(root, max_size=300))  # several segments before the failure
    rt.add_interface(BrokenInterface())
    for i in range(20):
        rt.ctx.emit(Big(i))  # not booted: nothing is recorded yet
    with pytest.raises(Exception, match="address already in use"):
        rt.boot()
    assert not root.exists(), sorted(root.rglob("*"))


def test_a_failed_boot_leaves_no_compressed_segment_or_index_either(tmp_path: Path) -> None:
    root = tmp_path / "events"
    rt = Runtime()
    sink = JsonlSink(root, max_size=300, compress=True)  # closed segments become .gz
    rt.add_sink(sink)
    rt.add_interface(BrokenInterface())
    for i in range(20):
        rt.ctx.emit(Big(i))
    with pytest.raises(OSError, match="address already in use"):
        rt.boot()
    assert not root.exists(), sorted(root.rglob("*"))
    assert sink.path is None  # no segment is left to name


def test_a_failed_boot_in_an_existing_directory_keeps_the_directory(tmp_path: Path) -> None:
    rt = Runtime()
    rt.add_sink(JsonlSink(tmp_path, max_size=300))
    rt.add_interface(BrokenInterface())
    with pytest.raises(OSError, match="address already in use"):
        rt.boot()
    assert tmp_path.is_dir() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_a_failed_boot_keeps_the_recordings_already_there(tmp_path: Path, compress: bool) -> None:
    rt = Runtime()
    rt.add_sink(JsonlSink(tmp_path))
    rt.boot()
    rt.shutdown("fine")
    (earlier,) = segments(tmp_path)
    failing = Runtime()
    failing.add_sink(JsonlSink(tmp_path, compress=compress))
    failing.add_interface(BrokenInterface())
    with pytest.raises(OSError, match="address already in use"):  # BrokenInterface's, not another
        failing.boot()
    names = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    day = earlier.parent.name
    kept = earlier.name + (".gz" if compress else "")  # leftovers are compressed at start
    assert names == [day, f"{day}/.{earlier.name[: -len('.jsonl')]}.idx", f"{day}/{kept}"]
    assert read_index(earlier.with_name(kept)).status == "ok"


@pytest.mark.parametrize("option", ["max_size", "retention_size", "retention_age"])
def test_zero_means_no_limit(tmp_path: Path, option: str) -> None:
    sink = JsonlSink(tmp_path, **{option: 0})
    assert getattr(sink, option) is None
    sink.start(Ctx())  # type: ignore[arg-type]
    for i in range(100):
        sink.handle(Event(AT + timedelta(milliseconds=i), Big(i)))
    sink.stop()
    assert sink.written == 100 and len(segments(tmp_path)) == 1


def test_negative_limits_are_still_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_size=-1"):
        JsonlSink(tmp_path, max_size=-1)


def test_a_size_rotation_that_cannot_open_its_next_segment_is_reported_and_retried(tmp_path: Path) -> None:
    at = datetime(2026, 3, 9, 12, 0, 1, tzinfo=UTC)
    line = len(JsonlSink(tmp_path / "probe")._encode(Event(time=at, payload=Big(10)))) + 1
    root = tmp_path / "events"
    sink = JsonlSink(root, max_size=2 * line)
    ctx = Ctx()
    sink.start(ctx)  # type: ignore[arg-type]
    for i in (10, 11):
        sink.handle(Event(time=at, payload=Big(i)))
    wait_for(lambda: sink.written == 2)
    day = root / "2026-03-09"
    shutil.rmtree(day)
    day.write_text("a file where the day directory was")  # the next segment cannot be made
    sink.handle(Event(time=at, payload=Big(12)))  # the segment is full: rotate
    wait_for(lambda: sink.lost == 1 and len([m for m in ctx.emitted if isinstance(m, RecordingError)]) == 2)
    errors = [m for m in ctx.emitted if isinstance(m, RecordingError)]
    assert [e.operation for e in errors] == ["index", "open"]  # the full one's index, the next one
    assert errors[1].path == str(day) and errors[1].error == "FileExistsError: File exists"
    day.unlink()
    n = 13
    while not any(isinstance(m, RecordingResumed) for m in ctx.emitted):  # retried, then it works
        sink.handle(Event(time=at, payload=Big(n)))
        n += 1
        time.sleep(0.05)
    sink.stop()
    recorded = [json.loads(x)["data"]["n"] for p in segments(root) for x in p.read_bytes().splitlines()]
    assert recorded[0] > 12 and recorded == list(range(recorded[0], n))
    assert sink.lost == recorded[0] - 12 and sink.written == 2 + len(recorded)


def test_a_segment_that_cannot_be_compressed_is_reported_and_stays_plain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = tmp_path / "2026-03-09"
    sink = JsonlSink(tmp_path, 60, compress=True)
    ctx = Ctx()
    sink.start(ctx)  # type: ignore[arg-type]
    sink.handle(Event(time=datetime(2026, 3, 9, 12, 0, 1, tzinfo=UTC), payload=Big(1)))
    wait_for(lambda: sink.written == 1)
    (day / "12-00-00.jsonl.gz.tmp").mkdir()  # the compressor's temporary name is taken
    sink.handle(Event(time=datetime(2026, 3, 9, 12, 1, 1, tzinfo=UTC), payload=Big(2)))  # closes it
    wait_for(lambda: any(isinstance(m, RecordingError) for m in ctx.emitted))
    # its own daemon thread: a process that never calls stop() can still exit
    (compressor_thread,) = [t for t in threading.enumerate() if t.name == "bussdcc-jsonl-compress"]
    assert compressor_thread.daemon
    sink.stop()
    (error,) = [m for m in ctx.emitted if isinstance(m, RecordingError)]
    plain = day / "12-00-00.jsonl"
    assert error.operation == "compress" and error.path == str(plain)
    assert error.error.startswith("IsADirectoryError(21, 'Is a directory')")
    assert (
        f"bussdcc jsonl: could not compress {plain} ([Errno 21] Is a directory: "
        f"'{day / '12-00-00.jsonl.gz.tmp'}'); it stays uncompressed\n"
    ) in capsys.readouterr().err
    assert plain.exists() and (day / "12-01-00.jsonl.gz").exists()
    assert [json.loads(x)["data"]["n"] for x in plain.read_bytes().splitlines()] == [1]


def test_a_retention_that_cannot_delete_is_reported_once_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bussdcc_framework_jsonl import segments as segments_module

    old = tmp_path / "2020-01-01" / "00-00-00.jsonl"
    old.parent.mkdir()
    old.write_bytes(b"")
    os.utime(old, (time.time() - 3600, time.time() - 3600))  # retention goes by modification time

    def refuse(path: Path) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(segments_module, "remove_segment", refuse)
    ctx = Ctx()
    sink = JsonlSink(tmp_path, 60, retention_age=1)  # the 2020 segment is long expired
    sink.start(ctx)  # type: ignore[arg-type]
    at = datetime(2026, 3, 9, 12, 0, 1, tzinfo=UTC)
    for i in range(3):  # (a failed retention used to make these "lost" for a second)
        sink.handle(Event(time=at, payload=Big(i)))
    sink.handle(Event(time=at.replace(minute=1), payload=Big(3)))  # a rotation: retention again
    sink.stop()
    errors = [m for m in ctx.emitted if isinstance(m, RecordingError)]
    assert [(e.operation, e.path, e.error) for e in errors] == [
        ("retention", str(old), "PermissionError: Permission denied")  # once, not at each rotation
    ]
    assert not any(isinstance(m, RecordingResumed) for m in ctx.emitted)  # it was no outage
    assert capsys.readouterr().err == (
        f"bussdcc jsonl: retention could not delete {old} (PermissionError: Permission denied); "
        "recording goes on, the old segments stay\n"
    )
    assert old.exists() and sink.lost == 0 and sink.written == 4
    first, second = [p for p in segments(tmp_path) if p != old]
    assert [json.loads(x)["data"]["n"] for x in first.read_bytes().splitlines()] == [0, 1, 2]
    assert [json.loads(x)["data"]["n"] for x in second.read_bytes().splitlines()] == [3]


def test_a_failing_fsync_is_reported_and_the_segment_stays_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    proxy = types.SimpleNamespace(
        **{name: getattr(os, name) for name in dir(os) if not name.startswith("__")}
    )
    proxy.fsync = failing_fsync
    monkeypatch.setattr(writer_module, "os", proxy)
    ctx = Ctx()
    sink = JsonlSink(tmp_path, flush="fsync", flush_interval=0.05)
    sink.start(ctx)  # type: ignore[arg-type]
    at = datetime(2026, 3, 9, 12, 0, 1, tzinfo=UTC)
    for i in range(3):
        sink.handle(Event(time=at, payload=Big(i)))
        wait_for(lambda i=i: sink.written == i + 1)  # type: ignore[misc]  # each its own fsync
    sink.stop()
    errors = [m for m in ctx.emitted if isinstance(m, RecordingError)]
    # once for as long as it fails, not after every write; nothing "resumed", nothing lost
    assert [(e.operation, e.error) for e in errors] == [("fsync", "OSError: Input/output error")]
    assert not [m for m in ctx.emitted if isinstance(m, RecordingResumed)]
    (segment,) = segments(tmp_path)  # the data is still written: the segment was not given up
    assert [json.loads(x)["data"]["n"] for x in segment.read_bytes().splitlines()] == [0, 1, 2]
    assert sink.lost == 0
    assert errors[0].path == str(segment)  # the file whose fsync failed, not the directory


def test_fsync_working_again_is_reported_once_and_nothing_was_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = threading.Event()
    broken.set()
    real_fsync = os.fsync

    def flaky_fsync(fd: int) -> None:
        if broken.is_set():
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    proxy = types.SimpleNamespace(
        **{name: getattr(os, name) for name in dir(os) if not name.startswith("__")}
    )
    proxy.fsync = flaky_fsync
    monkeypatch.setattr(writer_module, "os", proxy)
    ctx = Ctx()
    sink = JsonlSink(tmp_path, flush="fsync", flush_interval=0.05)
    sink.start(ctx)  # type: ignore[arg-type]
    at = datetime(2026, 3, 9, 12, 0, 1, tzinfo=UTC)
    for i in range(2):
        sink.handle(Event(time=at, payload=Big(i)))
        wait_for(lambda i=i: sink.written == i + 1)  # type: ignore[misc]
    broken.clear()
    sink.handle(Event(time=at, payload=Big(2)))
    wait_for(lambda: any(isinstance(m, RecordingResumed) for m in ctx.emitted))
    sink.stop()
    errors = [m for m in ctx.emitted if isinstance(m, RecordingError)]
    resumed = [m for m in ctx.emitted if isinstance(m, RecordingResumed)]
    assert [e.operation for e in errors] == ["fsync"] and [r.lost for r in resumed] == [0]
    (segment,) = segments(tmp_path)  # both name the file whose fsync failed, then worked
    assert [e.path for e in errors] == [str(segment)] == [r.path for r in resumed]
    err = capsys.readouterr().err
    assert err.count("fsync failed") == 1 and "may not survive a power cut" in err
    assert (
        f"bussdcc jsonl: fsync failed ({segment}: OSError: Input/output error); events are still "
        "written but may not survive a power cut until fsync works again\n"
    ) in err
    assert err.count("fsync works again in ") == 1 and "events were lost" not in err
    assert f"bussdcc jsonl: fsync works again in {segment}; every event since is durable\n" in err
    assert sink.lost == 0


def test_short_writes_are_continued_where_they_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``os.write`` may write less than asked (a signal, a pipe, a nearly full disk)."""

    def short_write(fd: int, data: Any) -> int:
        return os.write(fd, bytes(data[:7]))

    proxy = types.SimpleNamespace(
        **{name: getattr(os, name) for name in dir(os) if not name.startswith("__")}
    )
    proxy.write = short_write
    monkeypatch.setattr(writer_module, "os", proxy)
    sink = JsonlSink(tmp_path)
    sink.start(Ctx())  # type: ignore[arg-type]
    at = datetime(2026, 3, 9, 12, 0, 1, tzinfo=UTC)
    for i in range(5):
        sink.handle(Event(time=at, payload=Big(i)))
    sink.stop()
    (segment,) = segments(tmp_path)
    assert [json.loads(x)["data"]["n"] for x in segment.read_bytes().splitlines()] == [0, 1, 2, 3, 4]
    assert sink.written == 5 and sink.lost == 0


def test_a_write_that_fails_midway_counts_its_complete_lines_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = datetime(2026, 3, 9, 12, 0, 1, tzinfo=UTC)
    size = len(JsonlSink(tmp_path / "probe")._encode(Event(time=at, payload=Big(0)))) + 1
    calls = 0

    def failing_write(fd: int, data: Any) -> int:
        nonlocal calls
        calls += 1
        if calls > 1:  # the disk fills up after two lines and a half
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, bytes(data[: 2 * size + size // 2]))

    proxy = types.SimpleNamespace(
        **{name: getattr(os, name) for name in dir(os) if not name.startswith("__")}
    )
    proxy.write = failing_write
    monkeypatch.setattr(writer_module, "os", proxy)
    root = tmp_path / "events"
    sink = JsonlSink(root)
    for i in range(5):  # queued before start: the writer takes them as one batch
        sink.handle(Event(time=at, payload=Big(i)))
    sink.start(Ctx())  # type: ignore[arg-type]
    sink.stop()
    assert (sink.written, sink.lost) == (2, 3)
    (segment,) = segments(root)
    complete = segment.read_bytes().split(b"\n")[:-1]  # and a torn third line after them
    assert [json.loads(x)["data"]["n"] for x in complete] == [0, 1]


# -- the writer driven directly: one batch at a time, no thread -------------------------------


AT = datetime(2026, 3, 9, 12, 0, 1, tzinfo=UTC)


def item(n: int, at: datetime = AT) -> Any:
    return (at, json.dumps({"data": {"n": n, "pad": "p" * 200}}).encode(), 0)


def test_events_of_the_closed_segment_after_a_failed_open_are_each_counted_lost_once(
    tmp_path: Path, direct_writer: Callable[..., writer_module.SegmentWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer closes its segment before it opens the next: when that fails, the rest of
    the batch is lost too, the events of the closed segment counted once each, no more."""
    reports: list[Message] = []
    writer = direct_writer(tmp_path, [Big], reports)
    writer.write([item(0)])

    def refuse(root: Path, start: float) -> Any:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(root))

    monkeypatch.setattr(writer_module.segments, "create_segment", refuse)
    writer.write([item(1, AT + timedelta(seconds=600)), item(2)])  # the next segment first
    writer.close()
    assert (writer.written, writer.lost) == (1, 2)
    assert [(type(m).__name__, m.operation) for m in reports] == [("RecordingError", "open")]  # type: ignore[attr-defined]


def test_fsync_at_the_close_of_a_segment_is_reported_with_the_segment(
    tmp_path: Path, direct_writer: Callable[..., writer_module.SegmentWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A segment's last fsync happens when it closes (a rotation, the end): failing, or working
    again, there is reported like in a writer cycle, naming that segment."""
    broken = True
    real_fsync = os.fsync

    def flaky_fsync(fd: int) -> None:
        if broken:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    proxy = types.SimpleNamespace(
        **{name: getattr(os, name) for name in dir(os) if not name.startswith("__")}
    )
    proxy.fsync = flaky_fsync
    monkeypatch.setattr(writer_module, "os", proxy)
    reports: list[Message] = []
    writer = direct_writer(tmp_path, [Big], reports, flush="fsync")
    writer.write([item(0)])
    writer.flush()  # fails: reported
    first = writer.path
    broken = False
    writer.write([item(1, AT + timedelta(seconds=600))])  # closes the first: its fsync works
    second = writer.path
    broken = True
    writer.close()  # fails again, at the close of the second
    assert [(type(m).__name__, m.path) for m in reports] == [  # type: ignore[attr-defined]
        ("RecordingError", str(first)),
        ("RecordingResumed", str(first)),
        ("RecordingError", str(second)),
    ]
    assert writer.lost == 0 and writer.written == 2


def test_at_stop_retention_keeps_the_total_within_its_size_the_last_segment_too(
    tmp_path: Path, direct_writer: Callable[..., writer_module.SegmentWriter]
) -> None:
    """Nothing is open any more after the end: retention deletes the last segment too when it
    alone is larger than ``retention_size`` (it is never deleted while it is open)."""
    reports: list[Message] = []
    writer = direct_writer(tmp_path, [Big], reports, retention_size=100)
    writer.write([item(0)])  # one line of more than 200 bytes
    writer.write([item(1)])
    assert writer.path is not None and writer.path.exists()  # open: kept
    writer.close()
    assert segments(tmp_path) == [] and list(tmp_path.iterdir()) == [] and reports == []


def test_retention_keeps_the_compressed_file_of_a_segment_still_being_compressed(
    tmp_path: Path, direct_writer: Callable[..., writer_module.SegmentWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compressor is done with a segment only once ``compress`` returned (in fsync mode it
    still syncs the directory after the ``.gz`` replaced the plain file): until then its
    ``.gz`` is as safe from retention as the plain file was."""
    real_compress = writer_module.segments.compress
    compressed, release = threading.Event(), threading.Event()

    def slow_compress(path: Path, **options: Any) -> Path:
        target = real_compress(path, **options)
        compressed.set()
        release.wait(60)
        return target

    monkeypatch.setattr(writer_module.segments, "compress", slow_compress)
    reports: list[Message] = []
    writer = direct_writer(tmp_path, [Big], reports, compress=True, retention_size=1)  # keeps nothing else
    try:
        writer.write([item(0)])
        writer.write([item(1, AT + timedelta(seconds=600))])  # closes 12:00, compressed ...
        assert compressed.wait(60)
        gz = tmp_path / "2026-03-09" / "12-00-00.jsonl.gz"
        assert gz.exists() and not gz.with_name("12-00-00.jsonl").exists()
        writer.write([item(2, AT + timedelta(seconds=1200))])  # ... while retention runs again
        assert gz.exists()
    finally:
        release.set()
        writer.close()
    assert reports == []
