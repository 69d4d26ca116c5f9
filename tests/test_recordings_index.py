"""The recording index (``bussdcc_framework.recordings``): format, scanner, checks and runs.

Real files throughout: logs written with the codec, gzip files, FIFOs, symlinks to /dev/zero,
indexes appended to, truncated and replaced by garbage.
"""

from __future__ import annotations

import glob
import gzip
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from bussdcc.event import Event
from bussdcc.message import Message, RuntimeBooting, RuntimeShutdown, Severity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bussdcc_framework.codec import Codec, TypeRegistry
from bussdcc_framework.message import (
    ApplicationStarted,
    FrameworkBooted,
    FrameworkBootFailed,
    FrameworkShuttingDown,
)
from bussdcc_framework.recordings import (
    SegmentIndex,
    ensure_index,
    index_path,
    is_index_name,
    list_runs,
    load_index,
    read_index,
    registry_severity,
    scan_file,
    write_index,
)
from bussdcc_framework.recordings.index import decode_index, encode_index

T0 = datetime(2026, 3, 9, 12, 0, 0, tzinfo=UTC)


@dataclass(slots=True, frozen=True)
class Reading(Message):
    n: int


@dataclass(slots=True, frozen=True)
class Alarm(Message):
    severity = Severity.ERROR
    what: str


REGISTRY = TypeRegistry(include_imported=False)
REGISTRY.register_all(
    [Reading, Alarm, RuntimeBooting, RuntimeShutdown, FrameworkBooted, FrameworkShuttingDown]
)
CODEC = Codec(REGISTRY)
SEVERITY = registry_severity(REGISTRY)


def record(msg: Message, at: datetime) -> bytes:
    return CODEC.encode_record(Event(time=at, payload=msg))


def write_log(path: Path, messages: Iterable[tuple[Message, datetime]], *, gz: bool = False) -> bytes:
    data = b"".join(record(m, t) + b"\n" for m, t in messages)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return data


def readings(n: int, start: datetime = T0, step: float = 0.01) -> list[tuple[Message, datetime]]:
    return [(Reading(i), start + timedelta(seconds=step * i)) for i in range(n)]


def test_scan_counts_times_checkpoints_and_marks(tmp_path: Path) -> None:
    msgs = readings(2500)
    msgs[1234] = (Alarm("fire"), msgs[1234][1])
    data = write_log(tmp_path / "a.jsonl", msgs)
    index = scan_file(tmp_path / "a.jsonl", severity_of=SEVERITY)
    assert index.records == 2500 and index.data_size == len(data) and index.complete
    assert index.start == T0 and index.end == msgs[-1][1]
    assert index.types == {
        "tests.test_recordings_index:Alarm": 1,
        "tests.test_recordings_index:Reading": 2499,
    }
    assert index.severities == {"error": 1, "info": 2499}
    assert [(c.record, c.before) for c in index.checkpoints] == [(1000, msgs[999][1]), (2000, msgs[1999][1])]
    lines = data.split(b"\n")
    for cp in index.checkpoints:  # each offset is the start of that record's line
        assert data[cp.offset :].split(b"\n", 1)[0] == lines[cp.record]
    (mark,) = index.marks
    assert (mark.record, mark.severity, mark.type) == (1234, "error", "tests.test_recordings_index:Alarm")
    assert data[mark.offset :].startswith(lines[1234])


def test_without_severities_nothing_is_marked(tmp_path: Path) -> None:
    write_log(tmp_path / "a.jsonl", [(Alarm("x"), T0)])
    index = scan_file(tmp_path / "a.jsonl")
    assert index.severities == {"unknown": 1} and index.marks == []


def test_seek_is_safe_when_the_clock_steps_back(tmp_path: Path) -> None:
    msgs = readings(3000)
    # Records 1500-2499 carry times from before record 1000 (a clock stepped back).
    for i in range(1500, 2500):
        msgs[i] = (Reading(i), T0 + timedelta(seconds=0.01 * (i - 1000)))
    data = write_log(tmp_path / "a.jsonl", msgs)
    index = scan_file(tmp_path / "a.jsonl")
    for target in (T0 + timedelta(seconds=s) for s in (0, 3, 6, 9.99, 12, 25, 40)):
        cp = index.seek(target)
        start = cp.offset if cp else 0
        skipped = data[:start].split(b"\n")[:-1] if start else []
        # Nothing before the start offset is at or after the target: seeking loses nothing.
        assert all(datetime.fromisoformat(json.loads(x)["time"]) < target for x in skipped)


def test_gzip_gives_the_same_index_with_offsets_in_the_stream(tmp_path: Path) -> None:
    msgs = readings(2100)
    write_log(tmp_path / "p" / "a.jsonl", msgs)
    write_log(tmp_path / "z" / "a.jsonl.gz", msgs, gz=True)
    plain = scan_file(tmp_path / "p" / "a.jsonl")
    packed = scan_file(tmp_path / "z" / "a.jsonl.gz")
    assert packed.compressed and not plain.compressed
    assert packed.with_source(plain.source, compressed=False) == plain


def test_original_format_log_is_indexed(tmp_path: Path) -> None:
    """A log as the original framework wrote it (``+00:00`` times, same keys)."""
    lines = [
        '{"time":"2025-06-01T10:00:00+00:00","type":"bussdcc.message.runtime:RuntimeBooting","data":{"version":"0.40.0"}}',
        '{"time":"2025-06-01T10:00:00.500000+00:00","type":"myapp.messages:Temp","data":{"c":21.5}}',
        '{"time":"2025-06-01T10:00:01+00:00","type":"bussdcc_framework.message.framework:FrameworkShuttingDown","data":{"version":"0.46.0","reason":"SIGTERM"}}',
        '{"time":"2025-06-01T10:00:01.100000+00:00","type":"bussdcc.message.runtime:RuntimeShutdown","data":{"version":"0.40.0"}}',
    ]
    path = tmp_path / "old.jsonl"
    path.write_text("\n".join(lines) + "\n")
    index = scan_file(path)
    assert index.records == 4 and index.types["myapp.messages:Temp"] == 1
    (run,) = list_runs([(path, index)])
    assert (run.ended, run.reason, run.events, run.app) == ("shutdown", "SIGTERM", 4, None)
    assert run.duration == timedelta(seconds=1.1)


def test_damaged_lines_are_counted_by_reason(tmp_path: Path) -> None:
    good = record(Reading(1), T0)
    lines = [
        good,
        b"",
        b"   ",
        b"not json",
        b'{"time":"2026-03-09T12:00:00","type":"a:B","data":{}}',  # no UTC offset
        b'{"time":"yesterday","type":"a:B","data":{}}',
        b'{"type":"a:B","data":{}}',
        b'{"time":"2026-03-09T12:00:00Z","type":"a:B","data":"\xff\xfe"}',  # invalid UTF-8
        b'{"time":"2026-03-09T12:00:00Z","type":"a:B","ignored":'
        + b"[" * 5000
        + b"]" * 5000
        + b',"data":{}}',
        b"[1,2]",
        good,
        b'{"time":"2026-03-09T12:00:0',  # torn last line
    ]
    (tmp_path / "a.jsonl").write_bytes(b"\n".join(lines))
    index = scan_file(tmp_path / "a.jsonl")
    assert index.records == 2 and not index.complete
    assert index.skipped == {"bad_json": 3, "bad_time": 2, "blank": 2, "not_record": 2, "torn": 1}


def test_long_lines_are_streamed_past_not_held(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    with path.open("wb") as fh:
        fh.write(record(Reading(0), T0) + b"\n")
        fh.write(b'{"pad":"' + b"x" * (5 * 1024 * 1024) + b'"}\n')  # spans several chunks
        fh.write(record(Reading(1), T0) + b"\n")
        fh.write(b"y" * (3 * 1024 * 1024))  # an unterminated giant at the end
    index = scan_file(path, max_line=64 * 1024)
    assert index.records == 2 and index.skipped == {"too_long": 2} and not index.complete
    assert index.data_size == path.stat().st_size


def test_a_gzip_bomb_line_is_skipped_with_bounded_memory(tmp_path: Path) -> None:
    import resource

    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=9) as gz:
        gz.write(record(Reading(0), T0) + b"\n")
        block = b"z" * (1024 * 1024)
        for _ in range(300):  # one 300 MB line, about 300 KB compressed
            gz.write(block)
        gz.write(b"\n" + record(Reading(1), T0) + b"\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    index = scan_file(path)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert index.records == 2 and index.skipped == {"too_long": 1}
    assert grown_mb < 100, f"peak memory grew by {grown_mb:.0f} MB"


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.jsonl"
    zero.symlink_to("/dev/zero")
    loop = tmp_path / "loop.jsonl"
    loop.symlink_to(loop)
    result: list[BaseException] = []

    def scan_all() -> None:
        for path in (fifo, zero, loop):
            try:
                scan_file(path)
            except OSError as exc:
                result.append(exc)

    worker = threading.Thread(target=scan_all, daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "scanning a FIFO blocked"
    assert len(result) == 3


def test_index_file_name_is_not_picked_up_by_log_globs(tmp_path: Path) -> None:
    data = tmp_path / "2026-03-09" / "12-00-00_001.jsonl.gz"
    assert index_path(data) == tmp_path / "2026-03-09" / ".12-00-00_001.idx"
    assert index_path(tmp_path / "x.jsonl") == index_path(tmp_path / "x.jsonl.gz")
    write_log(tmp_path / "2026-03-09" / "12-00-00.jsonl", readings(3))
    ensure_index(tmp_path / "2026-03-09" / "12-00-00.jsonl")
    assert is_index_name(".12-00-00.idx") and not is_index_name("12-00-00.jsonl")
    assert [p.name for p in tmp_path.rglob("*.jsonl*")] == ["12-00-00.jsonl"]
    assert glob.glob(str(tmp_path / "*" / "*.jsonl*")) == [str(tmp_path / "2026-03-09" / "12-00-00.jsonl")]
    from bussdcc_framework_replay.files import discover

    assert [p.name for p in discover([tmp_path]).files] == ["12-00-00.jsonl"]


def test_a_current_index_is_used_and_a_stale_one_is_not(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write_log(path, readings(1500))
    assert read_index(path).status == "missing"
    built, status = ensure_index(path)
    assert status == "missing" and index_path(path).exists()
    assert read_index(path).status == "ok" and ensure_index(path) == (built, "ok")

    with path.open("ab") as fh:  # appended after indexing
        fh.write(record(Reading(9999), T0 + timedelta(hours=1)) + b"\n")
    check = read_index(path)
    assert check.status == "stale" and check.index is None and "size" in check.detail
    rebuilt, status = ensure_index(path)
    assert status == "stale" and rebuilt.records == 1501 and load_index(path) == rebuilt

    os.truncate(path, 1000)  # truncated after indexing
    assert read_index(path).status == "stale"
    assert ensure_index(path)[0].records == scan_file(path).records < 1501

    # Same size and same modification time, other bytes: the fingerprint tells them apart.
    stat = path.stat()
    ensure_index(path)
    raw = bytearray(path.read_bytes())
    raw[10:14] = b"XXXX"
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert read_index(path).status == "stale"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"garbage \x00\xff",
        b"[" * 100_000,
        b'{"format":"something-else","version":1}',
        b'{"format":"bussdcc-recording-index","version":99}',
    ],
)
def test_a_damaged_index_is_ignored_and_rebuilt(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "a.jsonl"
    write_log(path, readings(10))
    index_path(path).write_bytes(content)
    assert read_index(path).status == "damaged"
    index, status = ensure_index(path)
    assert status == "damaged" and index.records == 10 and read_index(path).status == "ok"


def test_an_inconsistent_index_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write_log(path, readings(2500))
    good, _ = ensure_index(path)
    for bad in (
        msgspec.structs.replace(good, records=good.records + 1),
        msgspec.structs.replace(good, checkpoints=list(reversed(good.checkpoints))),
        msgspec.structs.replace(
            good, checkpoints=[msgspec.structs.replace(good.checkpoints[0], offset=10**12)]
        ),
        msgspec.structs.replace(good, severities={"info": 1}),
        msgspec.structs.replace(good, max_line=good.longest_line - 1),
        msgspec.structs.replace(good, max_line=None, skipped={"too_long": 1}),
    ):
        write_index(path, bad)
        assert read_index(path).status == "damaged"
    index_path(path).write_bytes(b"x" * 100)
    assert ensure_index(path)[0] == good


def test_an_oversized_index_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write_log(path, readings(3))
    with index_path(path).open("wb") as fh:
        fh.truncate(64 * 1024 * 1024)  # sparse: costs no disk
    assert read_index(path).status == "damaged"


def test_an_unwritable_directory_costs_a_scan_not_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "ro" / "a.jsonl"
    write_log(path, readings(5))
    index_path(path).mkdir()  # the index's name is taken by a directory: it cannot be written
    index, status = ensure_index(path)
    assert index.records == 5 and status == "damaged"
    assert not list(path.parent.glob(".*.tmp*"))


def test_the_index_file_is_json(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write_log(path, readings(1001))
    index, _ = ensure_index(path)
    parsed = json.loads(index_path(path).read_text())
    assert parsed["format"] == "bussdcc-recording-index" and parsed["version"] == 2
    assert parsed["source"]["name"] == "a.jsonl" and parsed["records"] == 1001
    assert decode_index(encode_index(index)) == index


def _run(
    n: int, at: datetime, *, app: str | None, end: str | None = "done"
) -> list[tuple[Message, datetime]]:
    """The lifecycle of one run around n readings; end None: killed, "fail": boot failed."""
    out: list[tuple[Message, datetime]] = [(RuntimeBooting(version="0.42.0"), at)]
    if end == "fail":
        out.append((FrameworkBootFailed(version="1.1.0", error="WebBindError: port busy"), at))
        out.append((FrameworkShuttingDown(version="1.1.0", reason="boot failed"), at))
        out.append((RuntimeShutdown(version="0.42.0"), at + timedelta(seconds=1)))
        return out
    out.append((FrameworkBooted(version="1.1.0"), at + timedelta(seconds=1)))
    if app is not None:
        out.append((ApplicationStarted(app=app), at + timedelta(seconds=1)))
    out += readings(n, at + timedelta(seconds=2), step=1)
    if end is not None:
        last = at + timedelta(seconds=2 + n)
        out += [
            (FrameworkShuttingDown(version="1.1.0", reason=end), last),
            (RuntimeShutdown(version="0.42.0"), last),
        ]
    return out


def test_runs_are_listed_with_app_duration_events_and_end(tmp_path: Path) -> None:
    day = tmp_path / "2026-03-09"
    t1, t2, t3, t4 = (T0 + timedelta(hours=h) for h in (0, 1, 2, 3))
    logs = {
        "12-00-00.jsonl": _run(5, t1, app="greenhouse.py", end="KeyboardInterrupt")[:4],
        "12-00-00_001.jsonl": _run(5, t1, app="greenhouse.py", end="KeyboardInterrupt")[4:],  # size rotation
        "13-00-00.jsonl": _run(3, t2, app="greenhouse.py", end=None),  # kill -9
        "14-00-00.jsonl": _run(0, t3, app="greenhouse.py", end="fail"),
        "15-00-00.jsonl": _run(2, t4, app=None, end="SIGTERM"),
    }
    for name, msgs in logs.items():
        write_log(day / name, msgs)
    indexed = [(p, ensure_index(p)[0]) for p in sorted(day.glob("*.jsonl"), reverse=True)]
    runs = list_runs(indexed)
    assert [(r.number, r.ended, r.reason, r.events, r.app) for r in runs] == [
        (1, "shutdown", "KeyboardInterrupt", 10, "greenhouse.py"),
        (2, "crash", None, 6, "greenhouse.py"),
        (3, "boot_failed", "boot failed", 4, None),
        (4, "shutdown", "SIGTERM", 6, None),
    ]
    assert runs[0].start == t1 and runs[0].duration == timedelta(seconds=7)
    assert [Path(f).name for f in runs[0].files] == ["12-00-00.jsonl", "12-00-00_001.jsonl"]
    assert runs[1].end == t2 + timedelta(seconds=4)  # its last record: a crash has no end record
    assert runs[2].error == "WebBindError: port busy" and runs[3].version == "1.1.0"
    assert sum(r.events for r in runs) == sum(i.records for _, i in indexed)


def test_a_recording_that_starts_mid_run_gives_a_partial_run(tmp_path: Path) -> None:
    msgs = _run(4, T0, app="a.py")
    write_log(tmp_path / "a.jsonl", msgs[4:])  # its start was deleted by retention
    write_log(tmp_path / "b.jsonl", _run(0, T0 + timedelta(hours=1), app="a.py"))
    runs = list_runs([(p, scan_file(p)) for p in sorted(tmp_path.glob("*.jsonl"))])
    assert [(r.partial, r.ended, r.events) for r in runs] == [(True, "shutdown", 5), (False, "shutdown", 5)]
    assert runs[0].start == msgs[4][1] and runs[1].app == "a.py" and runs[0].app is None


def test_a_log_without_lifecycle_records_is_one_unknown_run(tmp_path: Path) -> None:
    write_log(tmp_path / "a.jsonl", readings(10))
    (run,) = list_runs([(tmp_path / "a.jsonl", scan_file(tmp_path / "a.jsonl"))])
    assert (run.ended, run.partial, run.events, run.start) == ("unknown", True, 10, T0)


def test_the_app_is_recorded_without_changing_framework_booted(tmp_path: Path) -> None:
    from bussdcc_framework.runtime import Runtime
    from bussdcc_framework.testing import MemorySink

    for app in (None, "greenhouse.py"):
        rt = Runtime()
        rt.app_name = app
        sink = MemorySink()
        rt.add_sink(sink)
        rt.boot()
        rt.shutdown()
        booted = sink.types.index("bussdcc_framework.message.framework:FrameworkBooted")
        following = sink.types[booted + 1]
        if app is None:
            assert following != "bussdcc_framework.message.framework:ApplicationStarted"
        else:
            assert following == "bussdcc_framework.message.framework:ApplicationStarted"
        line = CODEC.encode_record(Event(time=T0, payload=FrameworkBooted(version="0.1.0")))
        assert line.endswith(b'"data":{"version":"0.1.0"}}')  # the original framework's record


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(st.binary(max_size=80), st.sampled_from([b"", b"{}", b"\n", b"\r", b"\xff"])), max_size=30
    )
)
def test_any_bytes_scan_without_error_and_every_line_is_accounted_for(
    tmp_path: Path, chunks: list[bytes]
) -> None:
    good = record(Reading(1), T0)
    data = good + b"\n" + b"".join(c + b"\n" + good + b"\n" for c in chunks)  # never gzip magic first
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(data)
    index = scan_file(path, max_line=200)
    lines = data.split(b"\n")[:-1]
    assert index.records + sum(index.skipped.values()) == len(lines)
    assert index.records >= len(chunks) + 1
    for cp in index.checkpoints:
        assert data[cp.offset - 1 : cp.offset] == b"\n"


def test_a_file_that_only_looks_gzipped_is_counted_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_bytes(b"\x1f\x8b" + record(Reading(1), T0) + b"\n")
    index = scan_file(path)
    assert index.records == 0 and index.skipped == {"bad_gzip": 1} and not index.complete


def test_index_round_trips_through_write_and_read(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write_log(path, _run(2500, T0, app="x"))
    index = scan_file(path, severity_of=SEVERITY)
    write_index(path, index)
    assert load_index(path) == index
    assert isinstance(index, SegmentIndex) and index.lifecycle[2].app == "x"


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.sampled_from([b"", b"x" * 30, b"{bad", b'{"time":"2026-03-09T12:00:00Z","type":"a:B","data":{}}'])
        | st.integers(0, 50).map(lambda n: record(Reading(n), T0 + timedelta(seconds=n))),
        max_size=40,
    ),
    cuts=st.lists(st.integers(0, 5000), max_size=12),
    max_line=st.sampled_from([20, 60, 200, 10_000]),
)
def test_chunk_boundaries_do_not_change_the_index(lines: list[bytes], cuts: list[int], max_line: int) -> None:
    """Feeding the same bytes in any chunks gives the same index as feeding them at once."""
    from bussdcc_framework.recordings import IndexBuilder, LineScanner, Source

    data = b"\n".join(lines) + (b"\n" if lines else b"")
    source = Source(name="x", size=len(data), mtime_ns=0, fingerprint="")

    def build(parts: list[bytes]) -> SegmentIndex:
        builder: IndexBuilder[str] = IndexBuilder(lambda name: (name, None), every=3)
        scanner = LineScanner(builder, max_line=max_line)
        for part in parts:
            scanner.feed(part)
        complete = scanner.close()
        return builder.finish(source, data_size=scanner.size, writer="t", complete=complete)

    points = sorted({c % (len(data) + 1) for c in cuts})
    parts = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert build(parts) == build([data])


def test_a_scan_takes_a_records_own_severity_when_the_type_has_none_here(tmp_path: Path) -> None:
    """Fleet records carry ``"severity"`` (the collector writes what the device's class said).

    The scanner counts and marks them with it unless ``severity_of`` knows the type; any other
    value in that key (a number, an object, an unknown word) leaves the record counted, of
    unknown severity.
    """
    path = tmp_path / "fleet.jsonl"
    head = '{"time":"2026-03-09T12:00:0%d+00:00","type":"%s","data":{}'
    lines = [
        head % (1, "remote:Alarm") + ',"severity":"warning"}',
        head % (2, "remote:Alarm") + ',"severity":"error"}',
        head % (3, "remote:Tick") + ',"severity":5}',
        head % (4, "remote:Tick") + ',"severity":{"level":"error"}}',
        head % (5, "remote:Tick") + ',"severity":"WARNING"}',
        head % (6, "known:Tick") + ',"severity":"critical"}',  # severity_of knows better
    ]
    path.write_text("\n".join(lines) + "\n")
    index = scan_file(path, severity_of=lambda name: "info" if name == "known:Tick" else None)
    assert index.records == 6 and index.skipped == {}
    assert index.severities == {"warning": 1, "error": 1, "unknown": 3, "info": 1}
    assert [(m.type, m.severity) for m in index.marks] == [
        ("remote:Alarm", "warning"),
        ("remote:Alarm", "error"),
    ]
    assert index.types == {"remote:Alarm": 2, "remote:Tick": 3, "known:Tick": 1}


def test_the_index_says_its_line_limit_and_holds_only_for_the_limits_it_can_vouch_for(
    tmp_path: Path,
) -> None:
    """An index's counts depend on the line limit: it records the limit and its longest line, and
    ``ensure_index`` under a limit its counts do not hold for scans (``stale``) instead."""
    path = tmp_path / "a.jsonl"
    short = record(Reading(0), T0)
    long = b'{"time":"2026-03-09T12:00:01+00:00","type":"x:Y","data":{"p":"' + b"p" * 3000 + b'"}}'
    bad = b"{" + b"b" * 1500  # damage, counted as bad_json: its length counts too
    huge = b'{"time":"2026-03-09T12:00:02+00:00","type":"x:Y","data":{"p":"' + b"h" * 9000 + b'"}}'
    path.write_bytes(b"\n".join([short, long, bad, huge, b""]))
    index = scan_file(path, max_line=4096)
    assert index.max_line == 4096 and index.longest_line == len(long)
    assert index.records == 2 and index.skipped == {"bad_json": 1, "too_long": 1}
    assert index.limit_mismatch(4096) is None
    assert "longer than max_line=2048" in str(index.limit_mismatch(2048))
    assert "which max_line=16384 may read" in str(index.limit_mismatch(16384))
    assert scan_file(path, max_line=len(long)).limit_mismatch(4096) is not None  # looser: unknown
    write_index(path, index)
    assert ensure_index(path, max_line=4096) == (index, "ok")
    for limit, records in ((2048, 1), (16384, 3)):
        rescanned, status = ensure_index(path, max_line=limit, write=False)
        assert status == "stale" and rescanned.records == records and rescanned.max_line == limit
    without = b"\n".join([short, bad, b""])
    path.write_bytes(without)
    assert scan_file(path, max_line=4096).limit_mismatch(1 << 30) is None  # nothing too long


def test_a_version_1_index_is_damaged(tmp_path: Path) -> None:
    """Version 1 did not say which line limit its counts hold for: it is never used."""
    path = tmp_path / "a.jsonl"
    write_log(path, readings(10))
    ensure_index(path)
    raw = json.loads(index_path(path).read_bytes())
    for key in ("max_line", "longest_line"):
        del raw[key]
    index_path(path).write_text(json.dumps({**raw, "version": 1}))
    assert read_index(path).status == "damaged"
    assert ensure_index(path)[1] == "damaged" and read_index(path).status == "ok"
