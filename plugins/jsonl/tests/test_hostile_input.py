"""Hostile input for the recorder: whatever a message holds, the sink records it faithfully or
counts and reports it; nothing raises into the emitter and nothing vanishes (issue 10 §1, §4).

This module only grows: each attack found stays here so that no change can bring it back.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Optional

import pytest
from bussdcc.event import Event
from bussdcc.message import Message
from bussdcc_framework_jsonl import JsonlSink, RecordingError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bussdcc_framework.codec import Codec, DecodeError, TypeRegistry
from bussdcc_framework.message import SinkHandlerError
from bussdcc_framework.recordings import scan_file
from bussdcc_framework.runtime import Runtime
from bussdcc_framework.testing import MemorySink

T0 = datetime(2026, 3, 9, 12, 0, 0, tzinfo=UTC)


@dataclass(slots=True, frozen=True)
class Free(Message):
    """An ``Any`` field: the place where anything can arrive (``/api/emit``, MQTT, apps)."""

    value: Any


@dataclass(slots=True, frozen=True)
class Typed(Message):
    text: str
    number: int
    reading: float
    flag: bool
    note: Optional[str] = None
    series: list[float] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    extra: Any = None


@dataclass(slots=True, frozen=True)
class Flat(Message):
    """Scalars only: its NaN is found by the writer thread, from the line alone."""

    sensor: str
    value: float
    count: int = 0
    note: Optional[str] = None
    low: float = 0.0


REGISTRY = TypeRegistry(include_imported=False)
REGISTRY.register_all([Free, Typed, Flat])
CODEC = Codec(REGISTRY)


class Ctx:
    def __init__(self) -> None:
        self.emitted: list[Message] = []

    def emit(self, message: Message) -> None:
        self.emitted.append(message)


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


def lines(root: Path) -> list[bytes]:
    out: list[bytes] = []
    for path in sorted(root.rglob("*.jsonl*")):
        raw = path.read_bytes()
        out.extend((gzip.decompress(raw) if path.name.endswith(".gz") else raw).splitlines())
    return out


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[JsonlSink, Ctx]]:
    ctx = Ctx()
    s = JsonlSink(tmp_path / "rec")
    s.start(ctx)  # type: ignore[arg-type]
    yield s, ctx
    s.stop()


def encode_errors(ctx: Ctx) -> list[RecordingError]:
    return [m for m in ctx.emitted if isinstance(m, RecordingError) and m.operation == "encode"]


@pytest.mark.parametrize(
    "payload",
    [
        Free("\udcff"),  # a lone surrogate, accepted by POST /api/emit
        Free({"key\ud800": 1}),  # ... in a key
        Free(deep(1000)),  # nested ~1,000 deep: vanished without a trace before
        Free(deep(100_000)),
        Free(object()),
        Free(10**5000),  # more digits than int -> str allows
        Typed(text="\udcff", number=1, reading=1.0, flag=True),
    ],
    ids=["surrogate", "surrogate-key", "deep-1000", "deep-100000", "object", "huge-int", "typed-surrogate"],
)
def test_an_unencodable_event_is_counted_and_reported_not_raised(
    tmp_path: Path, sink: tuple[JsonlSink, Ctx], payload: Message
) -> None:
    s, ctx = sink
    s.handle(Event(time=T0, payload=payload))  # must not raise
    s.handle(Event(time=T0, payload=payload))
    s.handle(Event(time=T0, payload=Free("fine")))
    s.stop()
    assert s.unencodable == 2
    (error,) = encode_errors(ctx)
    assert type(payload).__name__ in error.error
    error.error.encode("utf-8")  # the report itself can be recorded
    CODEC.encode_record(Event(time=T0, payload=error))
    assert s.unencodable_types == {f"{type(payload).__module__}:{type(payload).__qualname__}": 2}
    assert [json.loads(x)["data"]["value"] for x in lines(tmp_path / "rec")] == ["fine"]


def test_through_a_runtime_the_sink_reports_instead_of_failing(tmp_path: Path) -> None:
    """Before the fix a lone surrogate made the sink raise (SinkHandlerError)."""
    rt = Runtime()
    sink = JsonlSink(tmp_path)
    memory = MemorySink()
    rt.add_sink(sink)
    rt.add_sink(memory)
    rt.boot()
    rt.ctx.emit(Free("\udcff"))
    rt.ctx.emit(Free(deep(1000)))
    deadline = time.monotonic() + 10
    while not memory.of_type(RecordingError) and time.monotonic() < deadline:
        time.sleep(0.01)  # reported from the writer thread, like any event
    rt.shutdown()
    assert memory.of_type(SinkHandlerError) == []
    errors = [e for e in memory.of_type(RecordingError) if e.operation == "encode"]
    assert len(errors) == 1 and sink.unencodable == 2  # one report per type, every event counted
    recorded = [json.loads(x)["type"] for x in lines(tmp_path)]
    assert recorded.count(f"{Free.__module__}:{Free.__qualname__}") == 0
    assert any(t.endswith(":RecordingError") for t in recorded)


def test_the_stop_summary_counts_per_type(
    tmp_path: Path, sink: tuple[JsonlSink, Ctx], capsys: pytest.CaptureFixture[str]
) -> None:
    s, _ = sink
    for _ in range(3):
        s.handle(Event(time=T0, payload=Free("\udcff")))
    s.handle(Event(time=T0, payload=Typed("\udcff", 1, 1.0, True)))
    s.stop()
    err = capsys.readouterr().err
    free, typed = (f"{cls.__module__}:{cls.__qualname__}" for cls in (Free, Typed))
    assert f" 4 could not be encoded ({free}: 3, {typed}: 1), " in err  # by name


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN (``==`` says NaN differs from itself), iteratively."""
    if a == b:
        return True
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, float):
            if not same_float(x, y):
                return False
        elif isinstance(x, (list, tuple)):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif isinstance(x, dict):
            if x.keys() != y.keys():
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif dataclasses.is_dataclass(x):
            stack.extend((getattr(x, f.name), getattr(y, f.name)) for f in dataclasses.fields(x))
        elif x != y:
            return False
    return True


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_nan_and_infinity_are_recorded_as_strings_and_read_back(
    tmp_path: Path, sink: tuple[JsonlSink, Ctx], bad: float
) -> None:
    """They were written as null, which a float field could not decode (the value was lost)."""
    s, ctx = sink
    s.handle(Event(time=T0, payload=Typed(text="t", number=1, reading=bad, flag=False, series=[1.0, bad])))
    s.handle(Event(time=T0, payload=Free({"deep": [1.0, {"x": bad}]})))
    s.handle(Event(time=T0, payload=Typed(text="t", number=1, reading=2.0, flag=False, note=None)))
    s.stop()
    assert s.nonfinite == 2 and s.unencodable == 0
    # Only the Any field does not read back as it was: the string stays a string.
    assert s.altered == 1
    (error,) = encode_errors(ctx)
    assert "Free" in error.error
    text = "nan" if math.isnan(bad) else ("inf" if bad > 0 else "-inf")
    typed, free, finite = lines(tmp_path / "rec")
    assert json.loads(typed)["data"]["reading"] == text
    assert json.loads(free)["data"]["value"] == {"deep": [1.0, {"x": text}]}
    back = CODEC.decode_record(typed).payload
    assert isinstance(back, Typed) and same_float(back.reading, bad) and same_float(back.series[1], bad)
    assert CODEC.decode_record(free).payload == Free({"deep": [1.0, {"x": text}]})
    assert CODEC.decode_record(finite).payload == Typed(text="t", number=1, reading=2.0, flag=False)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_nan_in_a_flat_class_is_written_as_a_string(
    tmp_path: Path, sink: tuple[JsonlSink, Ctx], bad: float
) -> None:
    s, ctx = sink
    s.handle(Event(time=T0, payload=Flat("a", 1.0)))  # note=None: a null that is no NaN
    s.handle(Event(time=T0, payload=Flat("b", 2.0, low=bad)))
    s.handle(Event(time=T0, payload=Flat("c", bad)))
    s.handle(Event(time=T0, payload=Flat('"value":null', 3.0, note='"low":null')))  # only text
    s.stop()
    assert s.nonfinite == 2 and s.altered == 0 and s.written == 4 and encode_errors(ctx) == []
    back = [CODEC.decode_record(line).payload for line in lines(tmp_path / "rec")]
    assert back[0] == Flat("a", 1.0) and back[3] == Flat('"value":null', 3.0, note='"low":null')
    assert isinstance(back[1], Flat) and same_float(back[1].low, bad) and back[1].value == 2.0
    assert isinstance(back[2], Flat) and same_float(back[2].value, bad)


def test_the_flat_probe_sees_opposite_infinities_and_ignores_a_finite_overflow(
    tmp_path: Path, sink: tuple[JsonlSink, Ctx]
) -> None:
    """Two float fields are probed by their fsum: inf - inf raises, 1e308 + 1e308 overflows."""
    s, ctx = sink
    s.handle(Event(time=T0, payload=Flat("both", math.inf, low=-math.inf)))
    s.handle(Event(time=T0, payload=Flat("big", 1e308, low=1e308)))
    s.stop()
    assert s.nonfinite == 1 and s.altered == 0 and s.written == 2 and encode_errors(ctx) == []
    both, big = lines(tmp_path / "rec")
    assert json.loads(both)["data"]["value"] == "inf" and json.loads(both)["data"]["low"] == "-inf"
    assert CODEC.decode_record(big).payload == Flat("big", 1e308, low=1e308)
    assert CODEC.encode_record(Event(time=T0, payload=Flat("big", 1e308, low=1e308))) == big


def test_only_events_that_may_hold_a_nan_get_the_full_check(
    tmp_path: Path, sink: tuple[JsonlSink, Ctx]
) -> None:
    """The full NaN check walks the event: ``handle`` runs it only when the flat probe fails
    (a flat class) or the line holds a ``null`` (any other class that can hold a float), not
    for every event of a class with a float field."""
    s, ctx = sink
    checked: list[Any] = []
    for cls in (Flat, Typed):
        n = ~s._number(cls)
        real_check = s._nan_checks[n]
        assert real_check is not None

        def check(payload: Any, real_check: Any = real_check) -> Any:
            checked.append(payload)
            return real_check(payload)

        s._nan_checks[n] = check
    for i in range(3):
        s.handle(Event(time=T0, payload=Flat("a", float(i))))  # note=None: a null, no NaN
        s.handle(Event(time=T0, payload=Typed(text="t", number=i, reading=1.5, flag=True, note="n", extra=1)))
    nan = Flat("b", math.nan)
    s.handle(Event(time=T0, payload=nan))
    s.stop()
    assert checked == [nan] and s.nonfinite == 1 and s.written == 7 and encode_errors(ctx) == []


def test_none_in_a_float_field_is_recorded_as_null_and_reported(
    tmp_path: Path, sink: tuple[JsonlSink, Ctx]
) -> None:
    s, ctx = sink
    s.handle(Event(time=T0, payload=Flat("a", 1.0)))
    s.handle(Event(time=T0, payload=Flat("b", 2.0, low=None)))  # type: ignore[arg-type]
    s.handle(Event(time=T0, payload=Flat("c", None)))  # type: ignore[arg-type]
    s.stop()
    assert s.altered == 2 and s.nonfinite == 0 and s.written == 3
    (error,) = encode_errors(ctx)
    assert "Flat" in error.error
    assert json.loads(lines(tmp_path / "rec")[2])["data"]["value"] is None


def test_a_null_without_nan_costs_no_report(tmp_path: Path, sink: tuple[JsonlSink, Ctx]) -> None:
    s, ctx = sink
    for i in range(100):
        s.handle(Event(time=T0, payload=Typed(text="t", number=i, reading=1.5, flag=True, extra=None)))
    s.stop()
    assert s.altered == 0 and encode_errors(ctx) == [] and s.written == 100


# -- property: anything a message can hold -------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec=None, blacklist_categories=()), max_size=30),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.text(max_size=10), inner, max_size=5),
    ),
    max_leaves=30,
)
TEXT = st.text(alphabet=st.characters(codec=None, blacklist_categories=()), max_size=40)
PAYLOADS = st.one_of(
    st.builds(
        Flat,
        sensor=TEXT,
        value=st.floats(),
        count=st.integers(min_value=-(2**63), max_value=2**63),
        note=st.none() | TEXT,
        low=st.floats(),
    ),
    st.builds(Free, JSON_VALUES),
    st.builds(Free, st.integers(min_value=0, max_value=1500).map(deep)),
    st.builds(
        Typed,
        text=TEXT,
        number=st.integers(min_value=-(2**63), max_value=2**63),
        reading=st.floats(),
        flag=st.booleans(),
        note=st.none() | TEXT,
        series=st.lists(st.floats(), max_size=5),
        labels=st.dictionaries(TEXT, TEXT, max_size=4),
        extra=JSON_VALUES,
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payloads=st.lists(PAYLOADS, min_size=1, max_size=8))
def test_whatever_a_payload_holds_it_is_recorded_faithfully_or_counted(
    tmp_path_factory: pytest.TempPathFactory, payloads: list[Message]
) -> None:
    root = tmp_path_factory.mktemp("rec")
    ctx = Ctx()
    sink = JsonlSink(root)
    sink.start(ctx)  # type: ignore[arg-type]
    for i, payload in enumerate(payloads):
        sink.handle(Event(time=T0 + timedelta(microseconds=i), payload=payload))
    sink.stop()
    recorded = lines(root)
    # Nothing vanished: every event is on disk or counted as unencodable.
    assert len(recorded) + sink.unencodable == len(payloads)
    faithful = 0
    for line in recorded:
        try:
            evt = CODEC.decode_record(line)  # every recorded line decodes ...
        except DecodeError:
            continue
        faithful += any(same(evt.payload, p) for p in payloads)  # ... to what was emitted,
    # ... except the events with a NaN/infinity where the type is not a float (an Any field
    # reads the string back), which are counted and reported.
    assert faithful + sink.altered == len(recorded)
    if sink.unencodable or sink.altered:
        assert encode_errors(ctx), "counted but not reported"
    index = scan_file(next(root.rglob("*.jsonl"))) if recorded else None
    assert index is None or index.records == len(recorded)


# -- the reports, word for word ------------------------------------------------------------


def test_the_encode_reports_name_the_type_the_problem_and_the_recording(
    tmp_path: Path, sink: tuple[JsonlSink, Ctx], capsys: pytest.CaptureFixture[str]
) -> None:
    s, ctx = sink
    s.handle(Event(time=T0, payload=Free("\udcff")))
    s.handle(Event(time=T0, payload=Flat("c", None)))  # type: ignore[arg-type]
    s.handle(Event(time=T0, payload=Free(math.nan)))
    s.stop()
    free, flat = f"{Free.__module__}:{Free.__qualname__}", f"{Flat.__module__}:{Flat.__qualname__}"
    unencodable = (
        f"cannot encode {free}: a string holds a character UTF-8 cannot encode (surrogates not allowed)"
    )
    altered = (
        "holds a float NaN or infinity where its type is not a float (recorded as the string 'nan', "
        "'inf' or '-inf', read back as that string) or None in a float field (recorded as null, "
        "which will not decode on replay)"
    )
    assert [(e.path, e.error) for e in encode_errors(ctx)] == [
        (str(tmp_path / "rec"), unencodable),
        (str(tmp_path / "rec"), f"{flat} {altered}"),
        (str(tmp_path / "rec"), f"{free} {altered}"),
    ]
    err = capsys.readouterr().err.splitlines()
    assert err[:3] == [
        f"bussdcc jsonl: {unencodable}; such events are counted and not recorded",
        f"bussdcc jsonl: {flat} {altered}; such events are counted",
        f"bussdcc jsonl: {free} {altered}; such events are counted",
    ]
    assert s.unencodable == 1 and s.altered == 2 and s.nonfinite == 1
