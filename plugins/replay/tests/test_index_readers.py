"""Readers with indexes: events index, info from indexes, seeking, runs, replay --run.

An index is only a cache: each test that uses one also checks the answer against reading the
data (``--no-index``, ``use_index=False``), and the stale cases (appended after indexing,
truncated, garbage, an index pointing inside a line) must give exactly that answer.
"""

from __future__ import annotations

import gzip
import json
import os
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from bussdcc.event import Event
from bussdcc.message import Message, RuntimeBooting, RuntimeShutdown
from bussdcc_framework_replay import JsonlSource
from replay_helpers import CODEC, ORIGINAL_LOG, at, bussdcc, event, readings, registry, write_log

from bussdcc_framework.message import FrameworkShuttingDown
from bussdcc_framework.recordings import index_path, read_index, scan_file, write_index

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def index(path: Path, every: int = 10) -> None:
    """Store a scanner-built index of ``path`` with a checkpoint every ``every`` records."""
    write_index(path, scan_file(path, every=every))


def percents(events: list[Event[Message]]) -> list[float]:
    return [e.payload.percent for e in events]  # type: ignore[attr-defined]


def info(*args: str) -> dict[str, object]:
    result = bussdcc("events", "info", "--json", *args)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def same_info(a: dict[str, object], b: dict[str, object]) -> None:
    """Two ``events info --json`` answers agree on what a recording holds."""
    for key in ("records", "unknown", "damaged", "start", "end", "severities", "blank_lines"):
        assert a[key] == b[key], key
    assert sorted(map(json.dumps, a["types"])) == sorted(map(json.dumps, b["types"]))  # type: ignore[arg-type]


def test_events_index_builds_missing_and_stale_and_info_answers_from_them(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    write_log(root / "a.jsonl", readings(range(50)))
    write_log(root / "b.jsonl.gz", readings(range(50, 80)))
    (root / "original.jsonl").write_bytes(ORIGINAL_LOG.read_bytes())

    read = info(str(root), "--import", "greenhouse")
    assert read["indexes"] == {"missing": 3} and not read["from_index"]

    built = bussdcc("events", "index", str(root))
    assert built.returncode == 0, built.stderr
    assert built.stdout.strip() == "indexed 3 file(s) (3 missing), 0 already current"
    assert all(read_index(p).status == "ok" for p in root.iterdir() if not p.name.startswith("."))

    answered = info(str(root), "--import", "greenhouse")
    assert answered["from_index"] and answered["indexes"] == {"ok": 3}
    # What an index cannot know: the one record of the original log whose data is invalid
    # for its class counts as a record (reading calls it damaged). Everything else agrees.
    assert answered["records"] == read["records"] + 1 and answered["damaged"] == read["damaged"] - 1
    for key in ("unknown", "start", "end", "blank_lines", "unknown_types"):
        assert answered[key] == read[key], key
    (root / "original.jsonl").unlink()
    same_info(
        info(str(root), "--import", "greenhouse"), info(str(root), "--import", "greenhouse", "--no-index")
    )
    text = bussdcc("events", "info", str(root), "--import", "greenhouse").stdout
    assert "index:      2 of 2 file(s) answered from their index (--no-index reads every record)" in text

    again = bussdcc("events", "index", str(root))
    assert again.stdout.strip() == "indexed 0 file(s), 2 already current"
    with (root / "a.jsonl").open("ab") as f:
        f.write(CODEC.encode_record(readings([99])[0]) + b"\n")
    stale = bussdcc("events", "index", str(root))
    assert stale.stdout.strip() == "indexed 1 file(s) (1 stale), 1 already current"
    assert bussdcc("events", "index", str(root), "--force").stdout.startswith("indexed 2 file(s) (2 forced)")


@pytest.mark.parametrize("change", ["appended", "truncated", "garbage", "replaced", "inside_a_line"])
def test_a_stale_or_damaged_index_gives_the_answer_of_the_data(tmp_path: Path, change: str) -> None:
    log = write_log(tmp_path / "rec" / "a.jsonl", readings(range(100)))
    index(log)
    if change == "appended":
        with log.open("ab") as f:
            f.write(b"".join(CODEC.encode_record(e) + b"\n" for e in readings(range(100, 120))))
    elif change == "truncated":
        data = log.read_bytes()
        log.write_bytes(data[: data.index(b"\n", len(data) // 2) + 1])
    elif change == "garbage":
        index_path(log).write_bytes(b'{"format":"bussdcc-recording-index","version":1,"records":"lots"}')
    elif change == "replaced":
        stat = log.stat()
        log.write_bytes(log.read_bytes().replace(b'"bed-1"', b'"bed-9"'))  # same size, same mtime
        os.utime(log, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    else:  # a sound-looking index whose checkpoints point inside lines (hand-edited, hostile)
        good = scan_file(log, every=10)
        moved = [msgspec.structs.replace(c, offset=c.offset + 3) for c in good.checkpoints]
        write_index(log, msgspec.structs.replace(good, checkpoints=moved))
        assert read_index(log).status == "ok"

    expected = list(JsonlSource(log, registry=registry(), use_index=False))
    assert list(JsonlSource(log, registry=registry())) == expected
    window = {"start": at(50.5), "end": at(110)}
    with_index = JsonlSource(log, registry=registry(), **window)
    assert list(with_index) == list(JsonlSource(log, registry=registry(), use_index=False, **window))
    assert with_index.stats.damaged == 0
    if change == "inside_a_line":
        assert with_index.stats.index_seeks == 0
        assert with_index.stats.notes == [f"{log}: its index points inside a line; read from the start"]
    else:
        assert with_index.stats.indexes == {"damaged" if change == "garbage" else "stale": 1}
    same_info(info(str(log)), info(str(log), "--no-index"))


def test_start_seeks_to_a_checkpoint_and_files_outside_the_window_are_not_opened(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    logs = [
        write_log(root / "1.jsonl", readings(range(0, 100))),
        write_log(root / "2.jsonl.gz", readings(range(100, 200))),
        write_log(root / "3.jsonl", readings(range(200, 300))),
    ]
    for log in logs:
        index(log)

    source = JsonlSource(root, registry=registry(), start=at(155.5), end=at(160))
    got = list(source)

    assert percents(got) == [156, 157, 158, 159, 160]
    stats = source.stats
    assert stats.index_skipped_files == 2 and stats.index_seeks == 1
    # 1.jsonl and 3.jsonl are counted from their indexes, 2.jsonl.gz read from record 150 on.
    # 1.jsonl and 3.jsonl counted from their indexes; 2.jsonl.gz read from its record 50 (150).
    assert stats.outside_window == 100 + (50 + 6 + 39) + 100
    assert stats.records == 300 and stats.yielded == 5
    plain = JsonlSource(root, registry=registry(), start=at(155.5), end=at(160), use_index=False)
    # Without indexes 3.jsonl is left unread too (its first record is after the end), but
    # its records are not counted: only its index knows how many there are.
    assert list(plain) == got and plain.stats.outside_window == 195

    # The command says how it read.
    text = bussdcc(
        "events", "info", str(root), "--import", "greenhouse", "--start", "+155.5", "--end", "+160"
    )
    assert "records:    5" in text.stdout
    assert (
        "index:      read from a checkpoint in 1 file(s), 2 file(s) outside the window left unread"
        in text.stdout
    )


def test_replay_start_does_not_decode_what_it_skips(tmp_path: Path) -> None:
    # Records before the checkpoint are not even read: garbage there is never seen.
    log = tmp_path / "a.jsonl"
    body = b"".join(CODEC.encode_record(e) + b"\n" for e in readings(range(1000)))
    log.write_bytes(body)
    index(log)
    lines = body.splitlines(keepends=True)
    stat = log.stat()
    # Lines 100-199 broken in place: same size and time, outside the fingerprinted head and
    # tail, so the index still counts as current (the proof that these bytes are not read).
    broken = b"".join(line.replace(b'"percent":1', b'"percent":"') for line in lines[100:200])
    damaged = b"".join(lines[:100]) + broken + b"".join(lines[200:])
    assert len(damaged) == len(body) and broken != b"".join(lines[100:200])
    log.write_bytes(damaged)
    os.utime(log, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert read_index(log).status == "ok"

    source = JsonlSource(log, registry=registry(), start=at(600))
    assert percents(list(source))[:2] == [600, 601] and source.stats.damaged == 0
    assert source.stats.index_seeks == 1 and source.stats.outside_window == 600
    # Without the index the same window reads (and counts) the damage.
    plain = JsonlSource(log, registry=registry(), start=at(600), use_index=False)
    assert percents(list(plain))[:2] == [600, 601] and plain.stats.damaged == 100


def two_runs(path: Path) -> Path:
    """One file, two runs (the original format keeps every run in one file), then a crash."""
    first = [
        event(0, RuntimeBooting(version="0.42.0")),
        *readings([1, 2, 3]),
        event(4, FrameworkShuttingDown(version="1.0", reason="KeyboardInterrupt")),
        event(4.1, RuntimeShutdown(version="0.42.0")),
    ]
    second = [
        event(10, RuntimeBooting(version="0.42.0")),
        *readings([11, 12, 13, 14]),
        event(15, RuntimeShutdown(version="0.42.0")),
    ]
    crashed = [event(20, RuntimeBooting(version="0.42.0")), *readings([21, 22])]
    return write_log(path, first + second + crashed)


def test_events_runs_lists_runs_and_replay_run_picks_one(tmp_path: Path) -> None:
    log = two_runs(tmp_path / "rec" / "all.jsonl")

    listed = bussdcc("events", "runs", str(log.parent), "--json")
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)["runs"]
    assert [(r["number"], r["events"], r["ended"], r["reason"]) for r in runs] == [
        (1, 6, "shutdown", "KeyboardInterrupt"),
        (2, 6, "shutdown", None),
        (3, 3, "crash", None),
    ]
    assert json.loads(listed.stdout)["scanned"] == 1  # no index: read, not written
    assert not index_path(log).exists()
    text = bussdcc("events", "runs", str(log.parent))
    assert "shutdown (KeyboardInterrupt)" in text.stdout and "no shutdown (still running?)" in text.stdout
    assert "`bussdcc events index` makes this instant" in text.stderr

    out = tmp_path / "again"
    second = bussdcc(
        "replay",
        str(log.parent),
        "--run",
        "2",
        "--speed",
        "0",
        "--import",
        "greenhouse",
        "--record",
        str(out),
    )
    assert second.returncode == 0, second.stderr
    assert "run 2 of 3: 2026-03-09T12:00:10+00:00 .. 2026-03-09T12:00:15+00:00" in second.stderr
    replayed = [
        json.loads(line)["data"]["percent"]
        for f in out.rglob("*.jsonl")
        for line in f.read_text().splitlines()
        if "SoilMoisture" in line
    ]
    assert replayed == [11, 12, 13, 14]

    latest = bussdcc("events", "index", str(log.parent))
    assert latest.returncode == 0
    picked = JsonlSource.of_run(_runs(log)[-1], registry=registry())
    assert percents([e for e in picked if hasattr(e.payload, "percent")]) == [21, 22]
    # --start counts from the run's start.
    windowed = JsonlSource.of_run(_runs(log)[1], registry=registry(), start=timedelta(seconds=2))
    assert percents([e for e in windowed if hasattr(e.payload, "percent")]) == [12, 13, 14]

    bad = bussdcc("replay", str(log.parent), "--run", "7")
    assert bad.returncode == 2 and "the recording holds runs 1 to 3" in bad.stderr


def _runs(log: Path) -> list[object]:
    from bussdcc_framework.recordings import list_runs, load_index

    idx = load_index(log)
    assert idx is not None
    return list(list_runs([(log, idx)]))


def test_runs_of_a_compressed_file_and_a_garbage_index_are_read_from_data(tmp_path: Path) -> None:
    plain = two_runs(tmp_path / "x.jsonl")
    gz = tmp_path / "rec" / "all.jsonl.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    index_path(gz).write_bytes(b"\x00garbage")

    result = bussdcc("events", "runs", str(gz.parent), "--json")
    assert result.returncode == 0, result.stderr
    assert [r["events"] for r in json.loads(result.stdout)["runs"]] == [6, 6, 3]
    replay = bussdcc("replay", str(gz.parent), "--run", "latest", "--speed", "0", "--import", "greenhouse")
    assert replay.returncode == 0 and "replayed 2 events" in replay.stderr  # booting is lifecycle


def info_under(path: Path, limit: str | None, *extra: str) -> dict[str, object]:
    """``events info --json`` with ``replay.max_line`` set through the environment (or not)."""
    env = {"BUSSDCC_REPLAY_MAX_LINE": limit} if limit is not None else {}
    result = bussdcc("events", "info", "--json", "--import", "greenhouse", str(path), *extra, **env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def long_lines_log(root: Path, builder: str) -> Path:
    """A recording of short records, 3 of about 3 kB and 2 of about 6 kB, indexed by ``builder``:
    the jsonl sink's writer (no limit) or ``events index`` under ``replay.max_line=4k``."""
    events = [
        *readings(range(20)),
        *readings(range(20, 23), sensor="m" * 3000),
        *readings(range(23, 25), sensor="L" * 6000),
    ]
    if builder == "writer":
        from bussdcc_framework_jsonl import JsonlSink

        class Ctx:
            def emit(self, message: Message) -> None:
                pass

        sink = JsonlSink(root, 3600)
        sink.start(Ctx())  # type: ignore[arg-type]
        for e in events:
            sink.handle(e)
        sink.stop()
        (log,) = sorted(root.rglob("*.jsonl"))
        check = read_index(log)
        assert check.index is not None and check.index.max_line is None
    else:
        log = write_log(root / "a.jsonl", events)
        built = bussdcc("events", "--set", "replay.max_line=4k", "index", str(root))
        assert built.returncode == 0, built.stderr
        check = read_index(log)
        assert check.index is not None and check.index.max_line == 4096
        assert check.index.skipped == {"too_long": 2} and check.index.records == 23
    longest = check.index.longest_line
    assert 6000 < longest < 7000 if builder == "writer" else 3000 < longest < 4096
    return log


@pytest.mark.parametrize(
    ("builder", "limit", "used"),
    [
        ("writer", "4k", False),  # tighter than its longest line: the 6 kB records are too_long here
        ("writer", "8k", True),  # every line it counted fits: its counts hold
        ("writer", None, True),  # the default, 8 MiB
        ("events index", "2k", False),  # tighter than the 3 kB records it counted
        ("events index", "8k", False),  # looser: the 6 kB lines it skipped are records here
        ("events index", None, False),
        ("events index", "4k", True),  # the limit it was built under
        # Looser than its 4k: it cannot know whether the lines it skipped fit in 5k.
        ("events index", "5k", False),
    ],
)
def test_an_index_is_used_only_when_its_counts_hold_for_replay_max_line(
    tmp_path: Path, builder: str, limit: str | None, used: bool
) -> None:
    log = long_lines_log(tmp_path / "rec", builder)
    answered = info_under(log, limit)
    read = info_under(log, limit, "--no-index")
    same_info(answered, read)
    assert answered["skipped"] == read["skipped"] and answered["files"] and read["records"]
    assert answered["from_index"] is used
    assert answered["indexes"] == ({"ok": 1} if used else {"stale": 1})
    assert answered["index_max_line"] == (0 if used else 1)
    # A replay through the index reads what the data holds.
    max_line = {"2k": 2048, "4k": 4096, "5k": 5120, "8k": 8192, None: 8 * 1024 * 1024}[limit]
    window = {"start": at(10.5), "end": at(30)}
    through = JsonlSource(log, registry=registry(), max_line=max_line, **window)
    assert percents(list(through)) == percents(
        list(JsonlSource(log, registry=registry(), max_line=max_line, use_index=False, **window))
    )
    assert through.stats.indexes == ({"ok": 1} if used else {"stale": 1})


def test_events_info_says_the_index_was_built_under_another_max_line_and_index_rebuilds_it(
    tmp_path: Path,
) -> None:
    root = tmp_path / "rec"
    log = long_lines_log(root, "events index")
    text = bussdcc("events", "--set", "replay.max_line=2k", "info", "--import", "greenhouse", str(root))
    assert text.returncode == 0, text.stderr
    assert (
        "index:      1 index(es) not used: built under another replay.max_line, their counts may "
        "not hold for this one (`bussdcc events index` rebuilds them)"
    ) in text.stdout.splitlines()
    rebuilt = bussdcc("events", "--set", "replay.max_line=2k", "index", str(root))
    assert rebuilt.stdout.strip() == "indexed 1 file(s) (1 stale), 0 already current"
    now = info_under(log, "2k")
    assert now["from_index"] and now["indexes"] == {"ok": 1}
    same_info(now, info_under(log, "2k", "--no-index"))
    # The old limit's reader now finds an index built under a tighter one: read, then rebuilt.
    assert info_under(log, "4k")["indexes"] == {"stale": 1}


def test_an_index_of_the_previous_version_is_damaged_and_rebuilt(tmp_path: Path) -> None:
    """Version 1 indexes do not say which line limit their counts hold for: never used."""
    root = tmp_path / "rec"
    log = long_lines_log(root, "events index")
    raw = json.loads(index_path(log).read_bytes())
    for key in ("max_line", "longest_line"):
        del raw[key]
    raw["version"] = 1
    index_path(log).write_text(json.dumps(raw))
    assert read_index(log).status == "damaged"
    assert info_under(log, "8k")["indexes"] == {"damaged": 1}
    rebuilt = bussdcc("events", "index", str(root))
    assert rebuilt.stdout.strip() == "indexed 1 file(s) (1 damaged), 0 already current"
