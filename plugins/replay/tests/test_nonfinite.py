"""A float NaN or infinity survives recording and replay (JSON has no such numbers).

msgspec writes them as ``null``, which a ``float`` field cannot decode: replay and
``events cat --validate`` counted such records as invalid data and the value was lost. The sink
now writes them as the strings ``"nan"``, ``"inf"``, ``"-inf"`` and the codec reads those back.
Everything here is real: a ``JsonlSink`` in a framework ``Runtime`` writing files, the replay
plugin's reader, a ``ReplayRuntime``, the ``bussdcc`` command in a subprocess.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bussdcc.event import Event
from bussdcc.message import Message
from bussdcc_framework_jsonl import JsonlSink
from bussdcc_framework_replay import JsonlSource, ReplayRuntime
from nonfinite_messages import Level, Point, Sample
from replay_helpers import bussdcc, registry

from bussdcc_framework.codec import Codec
from bussdcc_framework.runtime import Runtime
from bussdcc_framework.testing import MemorySink

NAN, INF = math.nan, math.inf
T0 = datetime(2026, 3, 9, 12, 0, 0, tzinfo=UTC)

#: NaN, inf and -inf in every position: top level, nested dataclass, list, Optional.
PAYLOADS: list[Message] = [
    Sample("top-nan", NAN, Point(1.0, 2.0)),
    Sample("top-inf", INF, Point(1.0, 2.0)),
    Sample("top-minus-inf", -INF, Point(1.0, 2.0)),
    Sample("nested", 1.0, Point(NAN, -INF)),
    Sample("list", 1.0, Point(0.0, 0.0), series=[1.5, NAN, INF, -INF]),
    Sample("optional-nan", 1.0, Point(0.0, 0.0), low=NAN),
    Sample("optional-inf", 1.0, Point(0.0, 0.0), low=-INF),
    Sample("optional-none", 1.0, Point(0.0, 0.0), low=None),
    Sample("finite", 21.5, Point(3.0, 4.0), series=[0.5], low=1.25),
    Level("flat-nan", NAN),
    Level("flat-inf", INF),
    Level("flat-minus-inf", -INF),
    Level("flat-finite", 12.0),
]


def same(a: Any, b: Any) -> bool:
    """Equal field by field, a NaN equal to a NaN (``==`` says it differs from itself)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b):
        return False
    fields = getattr(a, "__dataclass_fields__", None)
    if fields is None:
        return bool(a == b)
    return all(same(getattr(a, name), getattr(b, name)) for name in fields)


def mine(payloads: list[Message]) -> list[Message]:
    return [p for p in payloads if isinstance(p, (Sample, Level))]


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """The payloads emitted through a framework Runtime into a real JsonlSink."""
    root = tmp_path / "rec"
    rt = Runtime()
    sink = JsonlSink(root)
    rt.add_sink(sink)
    rt.boot()
    for payload in PAYLOADS:
        rt.ctx.emit(payload)
    rt.shutdown()  # drains the sink: everything is on disk
    assert sink.nonfinite == 10 and sink.altered == 0 and sink.unencodable == 0
    return root


def test_the_reader_gives_the_values_back(recording: Path) -> None:
    source = JsonlSource(recording, registry=registry())
    back = mine([e.payload for e in source])
    assert len(back) == len(PAYLOADS)
    for got, sent in zip(back, PAYLOADS, strict=True):
        assert same(got, sent), (got, sent)
    assert source.stats.skipped == {} or not any(source.stats.skipped.values())
    first = back[0]
    assert isinstance(first, Sample) and math.isnan(first.value)
    assert isinstance(back[1], Sample) and back[1].value == INF
    assert isinstance(back[2], Sample) and back[2].value == -INF


def test_a_replay_runtime_emits_them_again(recording: Path) -> None:
    memory = MemorySink()
    rt = ReplayRuntime(speed=0)
    rt.add_sink(memory)
    stats = rt.replay(JsonlSource(recording, registry=registry()), speed=0)
    replayed = mine(memory.payloads)
    assert stats.replayed >= len(PAYLOADS)
    assert len(replayed) == len(PAYLOADS)
    assert all(same(got, sent) for got, sent in zip(replayed, PAYLOADS, strict=True))
    nested = replayed[3]
    assert isinstance(nested, Sample) and math.isnan(nested.where.x) and nested.where.y == -INF


def test_the_files_hold_strings_for_them(recording: Path) -> None:
    lines = [
        json.loads(line)
        for path in sorted(recording.rglob("*.jsonl"))
        for line in path.read_bytes().splitlines()
    ]
    data = {
        r["data"].get("sensor") or r["data"].get("tank"): r["data"] for r in lines if "nonfinite" in r["type"]
    }
    assert data["top-nan"]["value"] == "nan"
    assert data["top-minus-inf"]["value"] == "-inf"
    assert data["nested"]["where"] == {"x": "nan", "y": "-inf"}
    assert data["list"]["series"] == [1.5, "nan", "inf", "-inf"]
    assert data["optional-inf"]["low"] == "-inf" and data["optional-none"]["low"] is None
    assert data["flat-inf"]["litres"] == "inf"


def test_events_cat_and_info_read_them(recording: Path) -> None:
    raw = bussdcc("events", "cat", str(recording), "--import", "nonfinite_messages")
    assert raw.returncode == 0, raw.stderr
    assert '"value":"nan"' in raw.stdout
    validated = bussdcc("events", "cat", str(recording), "--import", "nonfinite_messages", "--validate")
    assert validated.returncode == 0, validated.stderr
    codec = Codec(registry())
    back = mine([codec.decode_record(line).payload for line in validated.stdout.splitlines() if line])
    assert len(back) == len(PAYLOADS), validated.stderr
    assert all(same(got, sent) for got, sent in zip(back, PAYLOADS, strict=True))
    info = bussdcc("events", "info", str(recording), "--import", "nonfinite_messages", "--json", "--no-index")
    assert info.returncode == 0, info.stderr
    summary = json.loads(info.stdout)
    assert summary["damaged"] == 0 and not any(summary["skipped"].values())
    counts = {t["type"]: t["count"] for t in summary["types"]}
    assert counts["nonfinite_messages:Sample"] == 9 and counts["nonfinite_messages:Level"] == 4


def test_a_record_without_them_is_written_as_before(tmp_path: Path) -> None:
    """Byte for byte: the fast path is untouched (these lines are the format of 1.0)."""
    sink = JsonlSink(tmp_path)
    sink.start(None)  # type: ignore[arg-type]
    sink.handle(Event(time=T0, payload=Sample("finite", 21.5, Point(3.0, 4.0), series=[0.5], low=None)))
    sink.handle(Event(time=T0 + timedelta(seconds=1), payload=Level("flat", 12.0)))
    sink.stop()
    (path,) = tmp_path.rglob("*.jsonl")
    assert path.read_bytes() == (
        b'{"time":"2026-03-09T12:00:00+00:00","type":"nonfinite_messages:Sample",'
        b'"data":{"sensor":"finite","value":21.5,"where":{"x":3.0,"y":4.0},"series":[0.5],"low":null}}\n'
        b'{"time":"2026-03-09T12:00:01+00:00","type":"nonfinite_messages:Level",'
        b'"data":{"tank":"flat","litres":12.0}}\n'
    )
    assert sink.nonfinite == 0


def test_an_old_recording_with_null_still_counts_it_as_invalid(tmp_path: Path) -> None:
    """Written before the fix: the value is gone, the record is skipped and counted as before."""
    path = tmp_path / "old.jsonl"
    path.write_bytes(
        b'{"time":"2026-03-09T12:00:00+00:00","type":"nonfinite_messages:Level","data":{"tank":"a","litres":null}}\n'
        b'{"time":"2026-03-09T12:00:01+00:00","type":"nonfinite_messages:Level","data":{"tank":"b","litres":1.0}}\n'
    )
    source = JsonlSource(path, registry=registry())
    assert [e.payload for e in source] == [Level("b", 1.0)]
    assert source.stats.skipped["invalid_data"] == 1
