"""Application messages with event fields spelled every way Python allows round-trip exactly.

The kernel's own messages spell their nested event ``Optional[Event[Message]]``; an application
may write ``Event | None``, ``Event[Tick] | None``, ``Optional[Event]`` or a required
``Event[Tick]``. Each must be written as a nested record (``time``, ``type``, ``data``) and read
back equal, not flattened into a plain dict that decodes to something else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Optional

import pytest
from bussdcc.event import Event
from bussdcc.message import Message

from bussdcc_framework.codec import Codec, default_registry
from bussdcc_framework.names import type_name

T0 = datetime(2026, 3, 9, 12, 0, 1, 250000, tzinfo=UTC)
T1 = datetime(2026, 3, 9, 12, 0, 2, tzinfo=UTC)


@dataclass(slots=True, frozen=True)
class Reading(Message):
    celsius: float


@dataclass(slots=True, frozen=True)
class Alarm(Message):
    cause: Event | None  # PEP 604, bare Event
    trigger: Event[Reading] | None = None  # PEP 604, parametrised
    previous: Optional[Event[Reading]] = None  # the kernel's spelling
    first: Optional[Event] = None


@dataclass(slots=True, frozen=True)
class Escalation(Message):
    alarm: Event[Alarm]  # required, and itself holding events
    note: str = ""


reading = Event(time=T1, payload=Reading(celsius=31.5))

MESSAGES = {
    "every field set": Alarm(cause=reading, trigger=reading, previous=reading, first=reading),
    "every field None": Alarm(cause=None),
    "some set": Alarm(cause=None, trigger=reading),
    "nested two levels": Escalation(alarm=Event(time=T0, payload=Alarm(cause=reading, trigger=reading))),
}


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec(default_registry(plugins=False))


@pytest.mark.parametrize("message", MESSAGES.values(), ids=list(MESSAGES))
def test_event_fields_round_trip_equal(codec: Codec, message: Message) -> None:
    line = codec.encode_record(Event(time=T0, payload=message))
    decoded = codec.decode_record(line)
    assert decoded.payload == message
    assert decoded.time == T0
    # and through the builtins path (the web interface's, /api/emit's)
    assert codec.decode_message(type_name(type(message)), codec.to_builtins(message)) == message


def test_event_fields_are_written_as_nested_records(codec: Codec) -> None:
    record = json.loads(codec.encode_record(Event(time=T0, payload=MESSAGES["every field set"])))
    for field in ("cause", "trigger", "previous", "first"):
        nested = record["data"][field]
        assert set(nested) == {"time", "type", "data"}, field
        assert nested["type"] == type_name(Reading)
        assert nested["data"] == {"celsius": 31.5}
        assert nested["time"].startswith("2026-03-09T12:00:02")
    empty = json.loads(codec.encode_record(Event(time=T0, payload=MESSAGES["every field None"])))
    assert empty["data"] == {"cause": None, "trigger": None, "previous": None, "first": None}


def test_a_decoded_event_field_is_an_event_of_the_recorded_type(codec: Codec) -> None:
    line = codec.encode_record(Event(time=T0, payload=MESSAGES["nested two levels"]))
    escalation = codec.decode_record(line).payload
    assert isinstance(escalation, Escalation)
    assert isinstance(escalation.alarm, Event) and isinstance(escalation.alarm.payload, Alarm)
    cause = escalation.alarm.payload.cause
    assert isinstance(cause, Event) and cause.payload == Reading(celsius=31.5) and cause.time == T1
