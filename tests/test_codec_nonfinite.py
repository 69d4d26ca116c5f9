"""The codec's slow path for float NaN and infinities: written as strings, read back as floats.

``encode_record`` writes them as ``null`` (msgspec does); ``encode_record_nonfinite`` writes
``"nan"``/``"inf"``/``"-inf"``; ``decode_record`` reads those into float fields only after a
strict decode failed, so any other wrong value is still refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Optional

import pytest
from bussdcc.event import Event
from bussdcc.message import Message

from bussdcc_framework.codec import Codec, DecodeError, default_registry
from bussdcc_framework.codec.nonfinite import nonfinite_untyped

T0 = datetime(2026, 3, 9, 12, 0, 1, 250000, tzinfo=UTC)


@dataclass(slots=True, frozen=True)
class Gauge(Message):
    value: float
    count: int = 0
    when: Optional[datetime] = None
    table: dict[str, float] = field(default_factory=dict)
    pair: tuple[float, float] = (0.0, 0.0)
    extra: Any = None
    maybe: Optional[list[float]] = None


@dataclass(slots=True, frozen=True)
class Wrapped(Message):
    inner: Optional[Event[Gauge]] = None
    note: str = ""


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec(default_registry(plugins=False))


def record(data: str, name: str = "Gauge") -> bytes:
    return f'{{"time":"2026-03-09T12:00:01+00:00","type":"{__name__}:{name}","data":{data}}}'.encode()


def test_a_nested_event_keeps_its_nan(codec: Codec) -> None:
    inner = Event(time=T0, payload=Gauge(math.inf, table={"a": math.nan}, pair=(-math.inf, 1.0)))
    evt = Event(time=T0, payload=Wrapped(inner=inner, note="nan"))
    line = codec.encode_record_nonfinite(evt)
    assert b'"value":"inf"' in line and b'"pair":["-inf",1.0]' in line
    back = codec.decode_record(line).payload
    assert isinstance(back, Wrapped) and back.note == "nan" and back.inner is not None
    gauge = back.inner.payload
    assert gauge.value == math.inf and math.isnan(gauge.table["a"]) and gauge.pair == (-math.inf, 1.0)
    assert back.inner.time == T0
    assert codec.encode_record_exact(evt) == line


def test_a_finite_record_is_encoded_as_before(codec: Codec) -> None:
    evt = Event(time=T0, payload=Gauge(1.5, 3, table={"b": 2.0, "a": 1.0}, extra={"z": [1, None]}))
    assert codec.encode_record_exact(evt) == codec.encode_record(evt)
    assert codec.encode_record_nonfinite(evt) == codec.encode_record(evt)  # same text, same order


@pytest.mark.parametrize(
    "data",
    [
        '{"value":"1.5"}',  # a numeric string: lax mode would take it, but there is no nan in it
        '{"value":"nan","count":"3"}',  # lax mode would take "3": only NaN strings are lax
        '{"value":"banana"}',
        '{"value":null}',  # written before the fix: the value is lost, still invalid
        '{"value":1.0,"when":1741521601}',  # a number for a datetime: lax mode would take it
    ],
)
def test_other_wrong_values_are_still_refused(codec: Codec, data: str) -> None:
    with pytest.raises(DecodeError) as err:
        codec.decode_record(record(data))
    assert err.value.reason == "invalid_data"


def test_nan_strings_read_back_into_float_fields_only(codec: Codec) -> None:
    gauge = codec.decode_record(record('{"value":"-inf","table":{"k":"nan"},"extra":"nan"}')).payload
    assert isinstance(gauge, Gauge) and gauge.value == -math.inf and math.isnan(gauge.table["k"])
    assert gauge.extra == "nan"  # an Any field holds what JSON held: the string
    maybe = codec.decode_record(record('{"value":1.0,"maybe":["inf",2.0]}')).payload
    assert isinstance(maybe, Gauge) and maybe.maybe == [math.inf, 2.0]


def test_untyped_places_are_told_apart() -> None:
    assert not nonfinite_untyped(Gauge(math.nan, table={"a": math.inf}, pair=(math.nan, 1.0)))
    assert not nonfinite_untyped(Gauge(1.0, maybe=[math.nan, -math.inf]))  # Optional[list[float]]
    assert nonfinite_untyped(Gauge(1.0, extra=[math.nan]))
    inner = Event(time=T0, payload=Gauge(1.0, extra=math.inf))
    assert nonfinite_untyped(Wrapped(inner=inner))
    assert not nonfinite_untyped(Wrapped(inner=Event(time=T0, payload=Gauge(math.nan))))
