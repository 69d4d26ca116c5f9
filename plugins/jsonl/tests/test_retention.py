"""Retention keeps the newest data, whatever rotates the segments (issue 10 §1).

Before the fix, a size rotation reused the first free ``_NNN`` name and retention sorted by
name, so it deleted the newest segment: 2,000 events into ``JsonlSink("ev", max_size=100_000,
retention_size=250_000)`` kept events 182-363 and lost the rest, the final segment included.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bussdcc.event import Event
from bussdcc.message import Message
from bussdcc_framework_jsonl import JsonlSink
from bussdcc_framework_jsonl.segments import create_segment, list_segments, segment_order

from bussdcc_framework.recordings import index_path, read_index

T0 = datetime(2026, 3, 9, 12, 0, 0, tzinfo=UTC)


@dataclass(slots=True, frozen=True)
class Sample(Message):
    n: int
    pad: str = "x" * 100


class Ctx:
    def __init__(self) -> None:
        self.emitted: list[Message] = []

    def emit(self, message: Message) -> None:
        self.emitted.append(message)


def numbers(root: Path) -> list[int]:
    """The event numbers on disk, reading the segments in the order they were written."""
    out: list[int] = []
    for path in list_segments(root):
        opener: Any = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as fh:
            out.extend(json.loads(line)["data"]["n"] for line in fh)
    return out


def disk_usage(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def record(root: Path, n: int, *, step: timedelta, **options: Any) -> JsonlSink:
    sink = JsonlSink(root, **options)
    sink.start(Ctx())  # type: ignore[arg-type]
    for i in range(n):
        sink.handle(Event(time=T0 + step * i, payload=Sample(i)))
    sink.stop()
    return sink


def test_the_reported_case_keeps_the_newest_events(tmp_path: Path) -> None:
    """The exact reproduction from the issue: every event at (nearly) the same time."""
    root = tmp_path / "ev"
    sink = JsonlSink(root, max_size=100_000, retention_size=250_000)
    sink.start(Ctx())  # type: ignore[arg-type]
    for i in range(2000):
        sink.handle(Event(time=datetime.now(UTC), payload=Sample(i)))
    sink.stop()
    kept = numbers(root)
    assert kept and kept[-1] == 1999, "the final segment was deleted"
    assert kept == list(range(2000 - len(kept), 2000)), "retention kept older events than it deleted"
    assert disk_usage(root) <= 250_000 and len(kept) > 1000


ROTATIONS = {
    "interval": {"interval": 60, "step": timedelta(seconds=7)},
    "size": {"interval": 3600, "max_size": 20_000, "step": timedelta(milliseconds=5)},
    "both": {"interval": 60, "max_size": 8_000, "step": timedelta(seconds=1)},
}


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("rotation", list(ROTATIONS))
def test_retention_by_size_deletes_oldest_first_for_every_rotation(
    tmp_path: Path, rotation: str, compress: bool
) -> None:
    options = dict(ROTATIONS[rotation])
    step = options.pop("step")
    limit = 40_000 if not compress else 6_000
    record(tmp_path, 1500, step=step, retention_size=limit, compress=compress, **options)
    kept = numbers(tmp_path)
    assert kept and kept[-1] == 1499
    assert kept == list(range(1500 - len(kept), 1500))
    assert disk_usage(tmp_path) <= limit
    assert len(list_segments(tmp_path)) >= 2  # it did rotate and keep several
    # Every segment kept has its index, and no index is left without its segment.
    for path in list_segments(tmp_path):
        assert read_index(path).status == "ok", path
    for idx in tmp_path.rglob(".*.idx"):
        assert any(index_path(p) == idx for p in list_segments(tmp_path)), idx


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_restarts_within_one_interval_keep_the_newest(tmp_path: Path, compress: bool) -> None:
    """Each restart adds segments to the same interval; later ones must sort after."""
    total = 0
    for _ in range(6):
        sink = JsonlSink(tmp_path, 3600, max_size=5_000, retention_size=20_000, compress=compress)
        sink.start(Ctx())  # type: ignore[arg-type]
        for i in range(total, total + 150):
            sink.handle(Event(time=T0 + timedelta(seconds=i), payload=Sample(i)))
        sink.stop()
        total += 150
        kept = numbers(tmp_path)
        assert kept == list(range(total - len(kept), total))


def test_retention_by_age_and_size_together(tmp_path: Path) -> None:
    record(
        tmp_path,
        600,
        step=timedelta(seconds=6),
        interval=60,
        max_size=3_000,
        retention_size=15_000,
        retention_age=10 * 365 * 86400.0,
    )
    kept = numbers(tmp_path)
    assert kept == list(range(600 - len(kept), 600)) and disk_usage(tmp_path) <= 15_000


def test_segment_numbers_grow_past_999_and_sort_numerically(tmp_path: Path) -> None:
    day = tmp_path / "2026-03-09"
    day.mkdir()
    (day / "12-00-00_998.jsonl.gz").write_bytes(b"")
    (day / "12-00-00_999.jsonl.gz.tmp").write_bytes(b"")  # being compressed: taken
    path, fd = create_segment(tmp_path, T0.timestamp())
    assert path.name == "12-00-00_1000.jsonl"
    names = ["12-00-00_1000.jsonl", "12-00-00_999.jsonl", "12-00-00.jsonl", "12-00-00_002.jsonl.gz"]
    order = sorted((day / n for n in names), key=segment_order)
    assert [p.name for p in order] == [
        "12-00-00.jsonl",
        "12-00-00_002.jsonl.gz",
        "12-00-00_999.jsonl",
        "12-00-00_1000.jsonl",
    ]
    import os

    os.close(fd)


def test_a_free_lower_number_is_never_reused(tmp_path: Path) -> None:
    """Retention deleting the first segments of an interval must not make room below."""
    day = tmp_path / "2026-03-09"
    day.mkdir()
    (day / "12-00-00_005.jsonl").write_bytes(b"")
    path, fd = create_segment(tmp_path, T0.timestamp())
    import os

    os.close(fd)
    assert path.name == "12-00-00_006.jsonl"


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    yield
    import threading

    assert not [t for t in threading.enumerate() if t.name.startswith("bussdcc-jsonl")]
