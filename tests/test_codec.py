"""The record codec: every field type round-trips, output is deterministic, data never imports."""

from __future__ import annotations

import enum
import json
import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Literal, Optional, Union

import pytest
from bussdcc.event import Event
from bussdcc.message import (
    EventSubscriberError,
    Message,
    ProcessError,
    RuntimeBooted,
    ServiceError,
    Severity,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from bussdcc_framework.codec import (
    DECODE_REASONS,
    Codec,
    DecodeError,
    EncodeError,
    TypeRegistry,
    default_registry,
    format_time,
    type_name,
)
from bussdcc_framework.codec.registry import _all_subclasses
from bussdcc_framework.message import SinkHandlerError, SystemIdentityEvent

T0 = datetime(2026, 3, 9, 12, 0, 1, 722504, tzinfo=UTC)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass(slots=True, frozen=True)
class Point:
    x: float
    y: float


@dataclass(slots=True, frozen=True)
class Reading:
    sensor: str
    at: Point
    tags: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class Everything(Message):
    """One field of every type the codec promises to handle."""

    text: str
    count: int
    ratio: float
    flag: bool
    nothing: None
    maybe: Optional[int]
    either: Union[int, str]
    mode: Literal["auto", "manual"]
    color: Color
    level: Level
    when: datetime
    day: date
    clock: time
    ident: uuid.UUID
    where: Path
    pair: tuple[int, str]
    items: list[int]
    unique: set[str]
    frozen: frozenset[int]
    by_name: dict[str, float]
    by_number: dict[int, str]
    by_color: dict[Color, int]
    reading: Reading
    readings: list[Reading]
    anything: Any
    obj: object
    json_map: dict[str, Any]
    later: Optional[datetime] = None


@dataclass(slots=True, frozen=True)
class Tick(Message):
    n: int


@dataclass(slots=True, frozen=True)
class Bag(Message):
    items: frozenset[str] = field(default_factory=frozenset)
    scores: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class StrOrId(Message):
    """A union msgspec cannot decode (two string-like types): decoded field by field."""

    key: Union[uuid.UUID, str]
    n: int = 0


@dataclass(slots=True, frozen=True)
class Opaque(Message):
    thing: Any


def everything() -> Everything:
    return Everything(
        text='héllo "quoted"\n',
        count=-3,
        ratio=0.25,
        flag=True,
        nothing=None,
        maybe=None,
        either="x",
        mode="manual",
        color=Color.GREEN,
        level=Level.HIGH,
        when=datetime(2026, 3, 9, 12, 0, 1, 5, tzinfo=UTC),
        day=date(2026, 3, 9),
        clock=time(12, 30, 1, 250),
        ident=uuid.UUID("6f1a1d2e-8a7e-4a4b-9b1e-0f7f3f2a9a11"),
        where=Path("/var/lib/app/data.bin"),
        pair=(1, "one"),
        items=[3, 1, 2],
        unique={"b", "a", "c"},
        frozen=frozenset({3, 1, 2}),
        by_name={"z": 1.5, "a": -2.0},
        by_number={10: "ten", 2: "two"},
        by_color={Color.RED: 1, Color.GREEN: 2},
        reading=Reading("t1", Point(1.0, 2.5), ("a", "b")),
        readings=[Reading("t2", Point(0.0, 0.0))],
        anything={"nested": [1, "two", None, True]},
        obj=[1, 2],
        json_map={"a": {"b": [1.5]}, "n": None},
        later=datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))),
    )


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec(default_registry(plugins=False))


def roundtrip(codec: Codec, msg: Message, when: datetime = T0) -> Event[Message]:
    line = codec.encode_record(Event(time=when, payload=msg))
    assert b"\n" not in line
    return codec.decode_record(line)


# -- round trips ---------------------------------------------------------------------------


def test_every_field_type_round_trips(codec: Codec) -> None:
    msg = everything()
    evt = roundtrip(codec, msg)
    assert evt.time == T0
    assert evt.payload == msg
    assert type(evt.payload.color) is Color and type(evt.payload.level) is Level
    assert isinstance(evt.payload.where, Path)
    assert isinstance(evt.payload.pair, tuple) and isinstance(evt.payload.frozen, frozenset)


def test_record_shape_matches_the_original_format(codec: Codec) -> None:
    record = json.loads(codec.encode_record(Event(time=T0, payload=RuntimeBooted(version="0.42.0"))))
    assert record == {
        "time": "2026-03-09T12:00:01.722504+00:00",
        "type": "bussdcc.message.runtime:RuntimeBooted",
        "data": {"version": "0.42.0"},
    }
    assert list(record) == ["time", "type", "data"]


def test_field_encodings_are_plain_json(codec: Codec) -> None:
    data = codec.to_builtins(everything())
    assert data["color"] == "green" and data["level"] == 2
    assert data["ident"] == "6f1a1d2e-8a7e-4a4b-9b1e-0f7f3f2a9a11"
    assert data["where"] == "/var/lib/app/data.bin"
    assert data["day"] == "2026-03-09" and data["clock"] == "12:30:01.000250"
    assert data["unique"] == ["a", "b", "c"] and data["frozen"] == [1, 2, 3]
    assert data["by_number"] == {"10": "ten", "2": "two"}
    assert data["by_color"] == {"green": 2, "red": 1}
    assert data["reading"] == {"sensor": "t1", "at": {"x": 1.0, "y": 2.5}, "tags": ["a", "b"]}
    assert list(data)[:3] == ["text", "count", "ratio"]  # fields keep their declared order


def test_output_is_deterministic(codec: Codec) -> None:
    a = Bag(items=frozenset(["x", "b", "m"]), scores={"z": 1, "a": 2})
    b = Bag(items=frozenset(["m", "x", "b"]), scores={"a": 2, "z": 1})
    assert codec.encode_message(a) == codec.encode_message(b)
    assert codec.encode_message(a) == b'{"items":["b","m","x"],"scores":{"a":2,"z":1}}'
    # Determinism across processes too (hash randomisation changes set iteration order).
    script = textwrap.dedent(
        """
        from dataclasses import dataclass
        from bussdcc.message import Message
        from bussdcc_framework.codec import Codec, default_registry
        @dataclass(slots=True, frozen=True)
        class S(Message):
            s: frozenset[str]
        @dataclass(slots=True, frozen=True)
        class Mixed(Message):
            s: frozenset[object]
            nested: dict[str, object]
        codec = Codec(default_registry(plugins=False))
        print(codec.encode_message(S(frozenset("abcdefghij"))).decode())
        # Elements of mixed types cannot be compared: sorted by their JSON instead.
        mixed = frozenset({1, "a", 2.5, "zz", (3, "b"), "m", 7, None, False})
        print(codec.encode_message(Mixed(mixed, {"in": [set(mixed)]})).decode())
        """
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(seed), "PATH": ""},
        ).stdout
        for seed in (1, 2, 3, 4, 5)
    }
    assert len(outputs) == 1
    mixed = outputs.pop().splitlines()[1]
    assert json.loads(mixed)["s"] == ["a", "m", "zz", 1, 2.5, 7, [3, "b"], False, None]


def test_defaults_apply_to_missing_fields(codec: Codec) -> None:
    line = b'{"time":"2026-03-09T12:00:01+00:00","type":"%s","data":{}}' % type_name(Bag).encode()
    assert codec.decode_record(line).payload == Bag()


def test_union_msgspec_cannot_type_still_round_trips(codec: Codec) -> None:
    ident = uuid.uuid4()
    assert roundtrip(codec, StrOrId(key="plain", n=2)).payload == StrOrId(key="plain", n=2)
    # The UUID member is tried before str, so a UUID comes back as a UUID.
    back = roundtrip(codec, StrOrId(key=ident)).payload
    assert back == StrOrId(key=ident) and isinstance(back.key, uuid.UUID)
    with pytest.raises(DecodeError) as info:
        codec.decode_message(StrOrId, {"key": "k", "n": "three"})
    assert info.value.reason == "invalid_data" and "data.n" in info.value.detail


@dataclass(slots=True, frozen=True)
class Short:
    x: int


@dataclass(slots=True, frozen=True)
class Long:
    x: int
    y: int = 0


@dataclass(slots=True, frozen=True)
class Unions(Message):
    """Unions msgspec refuses to decode: two dataclasses, a custom type, two string-like types."""

    shape: Union[Short, Long]
    num_or_path: Union[int, Path]
    day_or_text: Union[date, str]
    shapes: list[Union[Short, Long]] = field(default_factory=list)
    maybe_path: Optional[Union[int, Path]] = None
    n: int = 0


@pytest.mark.parametrize(
    "msg",
    [
        Unions(Short(1), 3, date(2026, 3, 9)),
        Unions(Long(1, 2), Path("/y"), "text", [Short(1), Long(2, 3)], Path("/z"), n=4),
        Unions(Long(5), -7, "not a date", maybe_path=8),
    ],
)
def test_unions_msgspec_cannot_decode_round_trip_typed(codec: Codec, msg: Unions) -> None:
    back = roundtrip(codec, msg).payload
    assert back == msg
    assert type(back.shape) is type(msg.shape)  # a dataclass, not a dict
    assert type(back.num_or_path) is type(msg.num_or_path)  # a Path, not the string '/y'
    assert type(back.day_or_text) is type(msg.day_or_text)  # a date, not its ISO text
    assert [type(s) for s in back.shapes] == [type(s) for s in msg.shapes]
    assert codec.decode_message(Unions, codec.to_builtins(msg)) == msg


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"shape": 3, "num_or_path": 1, "day_or_text": "x"}, "data.shape"),
        ({"shape": {"x": 1}, "num_or_path": 1.5, "day_or_text": "x"}, "data.num_or_path"),
        ({"shape": {"x": 1}, "num_or_path": 1, "day_or_text": 5}, "data.day_or_text"),
        ({"shape": {"x": 1}, "num_or_path": 1, "day_or_text": "x", "shapes": [{}]}, "data.shapes[0]"),
    ],
)
def test_union_value_no_member_fits_is_invalid_data(codec: Codec, data: dict[str, Any], where: str) -> None:
    with pytest.raises(DecodeError) as info:
        codec.decode_message(Unions, data)
    assert info.value.reason == "invalid_data" and info.value.detail.startswith(where)
    line = json.dumps({"time": "2026-03-09T12:00:01+00:00", "type": type_name(Unions), "data": data})
    with pytest.raises(DecodeError) as info:
        codec.decode_record(line)
    assert info.value.reason == "invalid_data" and info.value.detail.startswith(where)


def test_nothing_is_introspected_per_record(codec: Codec, monkeypatch: pytest.MonkeyPatch) -> None:
    msgs: list[Message] = [everything(), StrOrId(key="k"), Unions(Long(1, 2), Path("/y"), date(2026, 1, 1))]
    lines = [codec.encode_record(Event(time=T0, payload=m)) for m in msgs]
    for msg, line in zip(msgs, lines, strict=True):  # the first decode builds the plans
        assert codec.decode_record(line).payload == msg
        assert codec.decode_message(type(msg), codec.to_builtins(msg)) == msg

    def no_introspection(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("type hints introspected while decoding a record")

    monkeypatch.setattr("typing.get_type_hints", no_introspection)
    monkeypatch.setattr("dataclasses.fields", no_introspection)
    for msg, line in zip(msgs, lines, strict=True):
        assert codec.decode_record(line).payload == msg
        assert codec.decode_message(type(msg), codec.to_builtins(msg)) == msg
        assert codec.decode_record(codec.encode_record(Event(time=T0, payload=msg))).payload == msg


def test_unencodable_value_is_a_clear_error(codec: Codec) -> None:
    with pytest.raises(EncodeError, match="Opaque"):
        codec.encode_record(Event(time=T0, payload=Opaque(thing=object())))
    with pytest.raises(EncodeError, match="not a Message"):
        codec.encode_record(Event(time=T0, payload=Point(1, 2)))  # type: ignore[arg-type]


# -- nested events ---------------------------------------------------------------------------


def nested_messages() -> list[Message]:
    inner = Event(time=T0, payload=Tick(n=7))
    return [
        ProcessError(process="p", error="ValueError()", evt=inner, traceback="tb"),
        ServiceError(service="s", error="boom", evt=inner),
        EventSubscriberError(event=inner, handler="h", error="e"),
        SinkHandlerError(sink="jsonl", error="OSError()", evt=inner),
        ProcessError(process="p", error="x", evt=None),
        # Two levels deep: a sink failed on a process error.
        SinkHandlerError(
            sink="console",
            error="x",
            evt=Event(time=T0, payload=ProcessError(process="p", error="y", evt=inner)),
        ),
    ]


@pytest.mark.parametrize("msg", nested_messages(), ids=lambda m: type(m).__name__)
def test_nested_events_keep_their_type_and_replay(codec: Codec, msg: Message) -> None:
    line = codec.encode_record(Event(time=T0, payload=msg))
    record = json.loads(line)
    nested = record["data"].get("evt", record["data"].get("event"))
    if nested is not None:
        assert set(nested) == {"time", "type", "data"}
        assert nested["type"] in (type_name(Tick), type_name(ProcessError))
    assert codec.decode_record(line).payload == msg
    assert codec.decode_message(type_name(type(msg)), codec.to_builtins(msg)) == msg


def test_nested_event_with_unknown_type_is_reported(codec: Codec) -> None:
    line = codec.encode_record(Event(time=T0, payload=nested_messages()[0]))
    damaged = line.replace(type_name(Tick).encode(), b"gone.module:Tick")
    with pytest.raises(DecodeError) as info:
        codec.decode_record(damaged)
    assert info.value.reason == "unknown_type" and "gone.module:Tick" in info.value.detail


def test_nested_event_data_is_validated_with_its_path(codec: Codec) -> None:
    line = codec.encode_record(Event(time=T0, payload=nested_messages()[0]))
    with pytest.raises(DecodeError) as info:
        codec.decode_record(line.replace(b'{"n":7}', b'{"n":"seven"}'))
    assert info.value.reason == "invalid_data"
    assert info.value.detail.startswith("data.evt.data.n")


# -- registry and hostile names --------------------------------------------------------------


@pytest.fixture
def hostile_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A real importable module whose import leaves a marker file behind."""
    name = f"hostile_{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "imported.marker"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            f"""
            from dataclasses import dataclass
            from pathlib import Path
            from bussdcc.message import Message
            Path({str(marker)!r}).write_text("imported")

            @dataclass(slots=True, frozen=True)
            class Payload(Message):
                value: int

            class NotAMessage:
                pass
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, marker
    sys.modules.pop(name, None)


def _line(type_: str, data: str = "{}") -> str:
    return f'{{"time":"2026-03-09T12:00:01+00:00","type":"{type_}","data":{data}}}'


def test_a_module_named_in_data_is_never_imported(hostile_module: tuple[str, Path]) -> None:
    name, marker = hostile_module
    codec = Codec(default_registry(plugins=False))
    for type_ in (f"{name}:Payload", "os:system", "subprocess:Popen", "antigravity:fly"):
        with pytest.raises(DecodeError) as info:
            codec.decode_record(_line(type_, '{"value":1}'))
        assert info.value.reason == "unknown_type"
    assert not marker.exists()
    assert name not in sys.modules and "antigravity" not in sys.modules


def test_allow_list_permits_import(hostile_module: tuple[str, Path]) -> None:
    name, marker = hostile_module
    registry = default_registry(plugins=False)
    registry.allow_import(name)
    codec = Codec(registry)
    evt = codec.decode_record(_line(f"{name}:Payload", '{"value":5}'))
    assert marker.exists() and evt.payload.value == 5  # type: ignore[attr-defined]
    # Allowed, but not a message class: still refused, with the reason.
    with pytest.raises(DecodeError) as info:
        codec.decode_record(_line(f"{name}:NotAMessage"))
    assert info.value.reason == "unknown_type" and "not a Message" in info.value.detail
    # Other modules stay closed, and the error says how to open one.
    with pytest.raises(DecodeError, match=r"os:system is not a known message type; .* --import os$") as info:
        codec.decode_record(_line("os:system"))
    assert info.value.reason == "unknown_type"


def test_imported_application_types_resolve_without_registration() -> None:
    registry = TypeRegistry()
    assert registry.resolve(type_name(Tick)) is Tick
    assert registry.registered() == []
    assert TypeRegistry(include_imported=False).resolve(type_name(Tick)) is None


def _define_late(module: str, source: str) -> dict[str, Any]:
    """Define classes in a module that is never put in sys.modules (its count stays the same)."""
    namespace: dict[str, Any] = {"__name__": module}
    code = compile(textwrap.dedent(source), f"<{module}>", "exec", dont_inherit=True)
    exec(code, namespace)
    return namespace


def test_message_class_defined_after_a_failed_lookup_is_found() -> None:
    registry = TypeRegistry()
    assert registry.resolve("late_defined:Late") is None
    assert registry.resolve("late_defined:Later") is None
    modules = len(sys.modules)
    namespace = _define_late(
        "late_defined",
        """
        from dataclasses import dataclass
        from bussdcc.message import Message

        @dataclass(frozen=True)
        class Late(Message):
            n: int
        """,
    )
    assert len(sys.modules) == modules
    assert registry.resolve("late_defined:Late") is namespace["Late"]


def test_indirect_message_subclass_defined_later_is_found_after_the_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("bussdcc_framework.codec.registry.time.monotonic", lambda: clock[0])
    registry = TypeRegistry()
    assert registry.resolve("late_indirect:Deeper") is None  # walks at t=1000
    namespace = _define_late(
        "late_indirect",
        """
        from dataclasses import dataclass
        from bussdcc.message import RuntimeBooted

        @dataclass(frozen=True)
        class Deeper(RuntimeBooted):  # not a direct subclass: Message's count is unchanged
            extra: int = 0
        """,
    )
    assert registry.resolve("late_indirect:Deeper") is None  # nothing says to walk yet
    clock[0] += registry.rescan_interval
    assert registry.resolve("late_indirect:Deeper") is namespace["Deeper"]
    # Misses within the interval do not walk again: a file of unknown types stays fast.
    walks = []
    monkeypatch.setattr(
        "bussdcc_framework.codec.registry._all_subclasses", lambda root: walks.append(1) or []
    )
    for _ in range(1000):
        assert registry.resolve("late_indirect:Unknown") is None
    assert walks == []
    clock[0] += registry.rescan_interval
    assert registry.resolve("late_indirect:Unknown") is None
    assert walks == [1]


def test_registry_register_alias_and_refusal() -> None:
    registry = TypeRegistry(include_imported=False)
    registry.register(Tick)
    registry.alias("old.module:OldTick", Tick)
    assert registry.resolve("old.module:OldTick") is Tick
    assert registry.registered() == [Tick]
    with pytest.raises(TypeError, match="not a Message"):
        registry.register(Point)
    defaults = default_registry(plugins=False)
    assert RuntimeBooted in defaults.registered() and SystemIdentityEvent in defaults.registered()


def test_registry_refusal_says_what_can_be_registered() -> None:
    with pytest.raises(TypeError) as info:
        TypeRegistry().register(Point)
    assert str(info.value) == (
        f"{Point!r} is not a Message dataclass; only subclasses of bussdcc.message.Message "
        "decorated with @dataclass can be registered"
    )


def test_a_class_registered_under_an_old_name_also_resolves_under_its_own() -> None:
    registry = TypeRegistry(include_imported=False)
    registry.register(Tick, name="old.module:OldTick")
    assert registry.resolve("old.module:OldTick") is Tick
    assert registry.resolve(type_name(Tick)) is Tick
    assert registry.registered() == [Tick]


def test_allowed_modules_lists_the_allow_list_sorted_once_each() -> None:
    registry = TypeRegistry()
    for module in ("zeta.messages", "alpha", "zeta.messages"):
        registry.allow_import(module)
    assert registry.allowed_modules() == ["alpha", "zeta.messages"]


def test_a_class_registered_while_a_lookup_waits_for_the_lock_is_found() -> None:
    # resolve() looks a name up without the lock first, then again holding it: a plugin that
    # registers the class in between (on another thread) must be seen by the second look-up.
    # The dict below registers on the first miss, which puts that registration exactly there.
    registry = TypeRegistry(include_imported=False)

    class RegistersOnFirstMiss(dict[str, type]):
        fired = False

        def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
            found = super().get(key, default)
            if found is None and not self.fired:
                self.fired = True
                registry.register(Tick, name=key)
            return found

    registry._by_name = RegistersOnFirstMiss()
    assert registry.resolve("old.module:OldTick") is Tick


def test_the_subclass_walk_lists_a_class_reached_twice_once() -> None:
    # A diamond: D is a subclass of both A and B. Walking it twice would double the work per
    # diamond, which grows exponentially with stacked diamonds.
    class Root:
        pass

    class A(Root):
        pass

    class B(Root):
        pass

    class D(A, B):
        pass

    walked = _all_subclasses(Root)
    assert sorted(walked, key=lambda cls: cls.__name__) == [A, B, D] and len(walked) == 3


def test_default_registry_includes_plugin_message_types(plugin_registry: Any) -> None:
    from bussdcc_framework import hookimpl

    class Plugin:
        @hookimpl
        def register_message_types(self) -> list[type]:
            return [Bag]

    plugin_registry(Plugin(), "codec-test")
    assert Bag in default_registry().registered()


def test_a_plugin_message_type_without_an_importable_name_is_reported_and_the_others_registered(
    plugin_registry: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from bussdcc_framework import hookimpl

    @dataclass(frozen=True)
    class Local(Message):  # defined in a function: "tests.test_codec:...<locals>.Local"
        n: int

    class Plugin:
        @hookimpl
        def register_message_types(self) -> list[type]:
            return [Local, Bag]

    plugin_registry(Plugin(), "codec-bad-types")
    capsys.readouterr()
    registry = default_registry()
    assert Bag in registry.registered() and Local not in registry.registered()
    [line] = [line for line in capsys.readouterr().err.splitlines() if "register_message_types" in line]
    assert line.startswith("bussdcc: register_message_types: bad_type_name: 'tests.test_codec:test_a_")
    assert line.endswith("' is not of the form 'package.module:ClassName'")


# -- each decode error reason ----------------------------------------------------------------


BOOTED = type_name(RuntimeBooted)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"time":"2026-03-09T12:00:01+00:00","type":"a:B","da', "bad_json"),
        ("not json at all", "bad_json"),
        ("[1, 2]", "bad_json"),
        ("", "bad_json"),
        (f'{{"type":"{BOOTED}","data":{{}}}}', "missing_key"),
        ('{"time":"2026-03-09T12:00:01+00:00","data":{}}', "missing_key"),
        (f'{{"time":"2026-03-09T12:00:01+00:00","type":"{BOOTED}"}}', "missing_key"),
        (_line("bussdcc.message.runtime:RuntimeBooted:extra"), "bad_type_name"),
        (_line("no_colon"), "bad_type_name"),
        (_line("../../etc/passwd:X"), "bad_type_name"),
        ('{"time":"2026-03-09T12:00:01+00:00","type":5,"data":{}}', "bad_type_name"),
        (_line("nowhere.module:Missing"), "unknown_type"),
        (f'{{"time":"yesterday","type":"{BOOTED}","data":{{}}}}', "bad_time"),
        (f'{{"time":"2026-03-09T12:00:01","type":"{BOOTED}","data":{{"version":"1"}}}}', "bad_time"),
        (f'{{"time":1741521601,"type":"{BOOTED}","data":{{}}}}', "bad_time"),
        (_line(BOOTED, '{"version":3}'), "invalid_data"),
        (_line(BOOTED, "{}"), "invalid_data"),
        (_line(BOOTED, "[]"), "invalid_data"),
    ],
)
def test_each_damage_has_its_reason(codec: Codec, line: str, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        codec.decode_record(line)
    assert info.value.reason == reason
    assert info.value.reason in DECODE_REASONS
    assert info.value.detail and "\n" not in str(info.value)


def test_validation_detail_names_the_field(codec: Codec) -> None:
    with pytest.raises(DecodeError) as info:
        codec.decode_message(Everything, {**codec.to_builtins(everything()), "count": "three"})
    assert info.value.reason == "invalid_data" and info.value.detail.startswith("data.count")


def test_original_framework_lines_decode(codec: Codec) -> None:
    line = (
        '{"time":"2026-03-09T12:00:01.735301+00:00",'
        '"type":"bussdcc_framework.message.system:SystemIdentityEvent",'
        '"data":{"hostname":"pi","model":"Raspberry Pi 4","serial":"00000000abcd"}}\n'
    )
    evt = codec.decode_record(line)
    assert evt.payload == SystemIdentityEvent(hostname="pi", model="Raspberry Pi 4", serial="00000000abcd")
    assert evt.time == datetime(2026, 3, 9, 12, 0, 1, 735301, tzinfo=UTC)
    assert evt.payload.severity == Severity.INFO


# -- property-based --------------------------------------------------------------------------


aware = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 31), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(aware)
def test_format_time_is_isoformat(dt: datetime) -> None:
    assert format_time(dt) == dt.isoformat()


@settings(max_examples=50, deadline=None)
@given(st.datetimes(timezones=st.timezones()))
def test_format_time_is_isoformat_in_any_zone(dt: datetime) -> None:
    assert format_time(dt) == dt.isoformat()


@dataclass(slots=True, frozen=True)
class Generated(Message):
    text: str
    number: int
    real: float
    maybe: Optional[str]
    names: frozenset[str]
    counts: dict[int, int]
    colors: list[Color]
    when: datetime
    payload: dict[str, Any]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    st.builds(
        Generated,
        text=st.text(),
        number=st.integers(-(2**63), 2**63 - 1),
        real=st.floats(allow_nan=False, allow_infinity=False),
        maybe=st.none() | st.text(),
        names=st.frozensets(st.text()),
        counts=st.dictionaries(st.integers(-1000, 1000), st.integers()),
        colors=st.lists(st.sampled_from(Color)),
        when=aware,
        payload=st.dictionaries(st.text(), json_values, max_size=4),
    ),
    aware,
)
def test_generated_messages_round_trip(msg: Generated, when: datetime) -> None:
    codec = _SHARED
    line = codec.encode_record(Event(time=when, payload=msg))
    assert b"\n" not in line
    evt = codec.decode_record(line)
    assert evt == Event(time=when, payload=msg)
    assert codec.encode_record(evt) == line  # byte-identical when written again


_SHARED = Codec(default_registry(plugins=False))
