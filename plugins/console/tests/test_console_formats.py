"""ConsoleSink output: the exact record line, the human format, fallbacks and filters."""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from bussdcc.event import Event
from bussdcc.message import Message, ProcessError, Severity
from bussdcc_framework_console import ConsoleSink, TypeFilter
from bussdcc_framework_console.formats import HumanFormatter, JsonFormatter

from bussdcc_framework.message.framework import FrameworkBooted
from bussdcc_framework.message.system import SystemIdentityEvent

T0 = datetime(2026, 3, 9, 12, 0, 1, 722504, tzinfo=UTC)
README_LINE = (
    '{"time":"2026-03-09T12:00:01.722504+00:00","type":"bussdcc_framework.message.framework:'
    'FrameworkBooted","data":{"version":"0.1.0"}}'
)


@dataclass(slots=True, frozen=True)
class Reading(Message):
    sensor: str
    value: float
    note: str | None = None


@dataclass(slots=True, frozen=True)
class Alarm(Message):
    severity = Severity.ERROR
    reason: str
    traceback: str | None = None


@dataclass(slots=True, frozen=True)
class Chatter(Message):
    severity = Severity.DEBUG
    text: str


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr either")


@dataclass(slots=True, frozen=True)
class Weird(Message):
    thing: Any


def evt(payload: Message, when: datetime = T0) -> Event[Message]:
    return Event(time=when, payload=payload)


def run_sink(sink: ConsoleSink, events: list[Event[Message]]) -> str:
    sink.start(None)
    for e in events:
        sink.handle(e)
    sink.stop()
    assert isinstance(sink.stream, io.BytesIO)
    return sink.stream.getvalue().decode()


def test_default_output_is_exactly_the_readme_record_line() -> None:
    out = run_sink(ConsoleSink(stream=io.BytesIO()), [evt(FrameworkBooted(version="0.1.0"))])
    assert out == README_LINE + "\n"


def test_default_goes_to_stdout_through_a_runtime(capfd: pytest.CaptureFixture[str]) -> None:
    from bussdcc_framework.runtime import Runtime

    rt = Runtime()
    rt.add_sink(ConsoleSink())
    rt.boot()
    rt.ctx.emit(Reading(sensor="t1", value=21.5))
    rt.shutdown("test")
    lines = capfd.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["type"].rsplit(":", 1)[1] for r in records][:3] == [
        "RuntimeBooting",
        "RuntimeBooted",
        "FrameworkBooted",
    ]
    reading = next(r for r in records if r["type"].endswith(":Reading"))
    assert reading["data"] == {"sensor": "t1", "value": 21.5, "note": None}
    assert records[-1]["type"] == "bussdcc.message.runtime:RuntimeShutdown"


def test_nested_event_of_a_process_error_is_encoded() -> None:
    inner = evt(Reading(sensor="a", value=1.0))
    out = run_sink(
        ConsoleSink(stream=io.BytesIO()), [evt(ProcessError(process="p", error="boom", evt=inner))]
    )
    record = json.loads(out)
    assert record["type"] == "bussdcc.message.process:ProcessError"
    assert record["data"]["evt"]["type"].endswith(":Reading")
    assert record["data"]["evt"]["data"]["sensor"] == "a"


def test_unencodable_payload_gives_a_marked_fallback_and_the_sink_carries_on() -> None:
    out = run_sink(
        ConsoleSink(stream=io.BytesIO()),
        [
            evt(Weird(thing=Unprintable())),
            evt(Weird(thing=object())),
            evt(FrameworkBooted(version="0.1.0")),
        ],
    )
    lines = out.splitlines()
    assert len(lines) == 3
    first, second = json.loads(lines[0]), json.loads(lines[1])
    for record in (first, second):
        assert record["type"].endswith(":Weird")
        assert record["data"] is None
        assert record["console_error"].startswith("cannot encode")
    assert "repr failed" in first["repr"]
    assert lines[2] == README_LINE


def test_human_fallback_is_marked() -> None:
    line = HumanFormatter().fallback(evt(Reading(sensor="a", value=1.0)), KeyError("x"))
    assert b" Reading !! cannot format: KeyError" in line
    assert line.endswith(b"\n") and line.count(b"\n") == 1


def test_human_format_line() -> None:
    fmt = HumanFormatter(utc=True)
    line = fmt(evt(Reading(sensor="living room", value=21.5))).decode()
    assert line == '2026-03-09 12:00:01.722Z INFO     Reading sensor="living room" value=21.5\n'


def test_human_format_puts_a_traceback_below_the_line() -> None:
    text = HumanFormatter(utc=True)(evt(Alarm(reason="x", traceback="Traceback:\n  line 1\n")))
    lines = text.decode().splitlines()
    assert lines[0] == "2026-03-09 12:00:01.722Z ERROR    Alarm reason=x"
    assert lines[1:] == ["    Traceback:", "      line 1"]


def test_human_format_cuts_long_values_and_escapes_newlines() -> None:
    text = HumanFormatter(utc=True)(evt(Reading(sensor="a\nb" + "x" * 1000, value=0.0))).decode()
    assert text.count("\n") == 1
    assert '"a\\nb' in text and "…" in text
    assert len(text) < 400


@dataclass(slots=True, frozen=True)
class Bulky(Message):
    console_fields: ClassVar[tuple[str, ...]] = ("name", "size")

    name: str
    blob: dict[str, str]
    size: int | None = None


def test_console_fields_choose_what_the_human_format_shows() -> None:
    bulky = Bulky(name="n", blob={str(i): "x" * 50 for i in range(20)}, size=3)
    line = HumanFormatter(utc=True)(evt(bulky)).decode()
    assert line == "2026-03-09 12:00:01.722Z INFO     Bulky name=n size=3\n"
    # the JSON format (and so every recording) keeps every field
    assert json.loads(JsonFormatter()(evt(bulky)))["data"]["blob"] == bulky.blob


def test_the_identity_event_is_one_short_human_line() -> None:
    identity = SystemIdentityEvent(
        hostname="pi",
        model="Raspberry Pi 4 Model B Rev 1.4",
        serial="10000000abcdef01",
        machine_id="3d1219c7c4c5404aaa1f6d2a48adfda4",
        os="Debian GNU/Linux 12 (bookworm)",
        os_release="12",
        kernel="6.6.31+rpt-rpi-v8",
        arch="aarch64",
        python="3.11.2",
        versions={f"bussdcc-framework-{n}": "1.0.0" for n in ("a", "b", "c", "d", "e")},
    )
    line = HumanFormatter(utc=True)(evt(identity)).decode()
    assert line == (
        '2026-03-09 12:00:01.722Z INFO     SystemIdentityEvent hostname=pi model="Raspberry Pi 4 '
        'Model B Rev 1.4" os="Debian GNU/Linux 12 (bookworm)" arch=aarch64 python=3.11.2\n'
    )


@pytest.mark.parametrize(
    "environ, coloured",
    [({}, True), ({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False)],
)
def test_auto_colour_follows_no_color_and_dumb_terminals(
    environ: dict[str, str], coloured: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    stream = TerminalStream()
    sink = ConsoleSink("auto", stream=stream)
    sink.start()
    sink.handle(evt(Reading(sensor="a", value=1.0)))
    sink.stop()
    assert sink.resolved_format == "human"
    assert ("\x1b[" in stream.getvalue()) is coloured


class TerminalStream(io.StringIO):
    """A text stream that says it is a terminal (and has no file descriptor)."""

    def isatty(self) -> bool:
        return True


def test_colour_only_when_asked_and_per_severity() -> None:
    plain = HumanFormatter(color=False)(evt(Alarm(reason="x")))
    assert b"\x1b[" not in plain
    red = HumanFormatter(color=True)(evt(Alarm(reason="x")))
    green = HumanFormatter(color=True)(evt(Reading(sensor="a", value=1.0)))
    assert b"\x1b[31m" in red and b"\x1b[32m" in green


def test_json_formatter_never_raises_on_a_non_event() -> None:
    line = JsonFormatter()(object())  # type: ignore[arg-type]
    assert json.loads(line)["console_error"]


def test_level_filter() -> None:
    f = TypeFilter("warning")
    assert not f.allows(Reading) and not f.allows(Chatter) and f.allows(Alarm)
    assert TypeFilter("DEBUG").allows(Chatter) and TypeFilter(20).allows(Reading)
    with pytest.raises(ValueError, match="not one of debug"):
        TypeFilter("loud")


def test_type_patterns_match_full_and_short_names() -> None:
    assert TypeFilter(include=["Read*"]).allows(Reading)
    assert not TypeFilter(include=["Read*"]).allows(Alarm)
    assert TypeFilter(include=["bussdcc.message.*"]).allows(ProcessError)
    assert not TypeFilter(include=["bussdcc.message.*"]).allows(Reading)
    both = TypeFilter(include=["*"], exclude=["Chatter", "bussdcc_framework.message.*"])
    assert both.allows(Reading)
    assert not both.allows(Chatter) and not both.allows(FrameworkBooted)


def test_filters_applied_by_the_sink() -> None:
    sink = ConsoleSink(stream=io.BytesIO(), level="info", exclude=["Reading"])
    out = run_sink(
        sink, [evt(Chatter(text="hi")), evt(Reading(sensor="a", value=1.0)), evt(Alarm(reason="r"))]
    )
    assert [json.loads(line)["type"].rsplit(":")[-1] for line in out.splitlines()] == ["Alarm"]


def test_text_stream_and_stop_flushes_everything() -> None:
    stream = io.StringIO()
    sink = ConsoleSink("human", stream=stream, color="never")
    sink.start(None)
    for i in range(5000):
        sink.handle(evt(Reading(sensor=f"s{i}", value=float(i))))
    sink.stop()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5000 and lines[-1].endswith("sensor=s4999 value=4999.0")
    assert sink.written == 5000 and sink.dropped == 0


def test_many_threads_into_one_stream_never_share_a_line() -> None:
    sink = ConsoleSink(stream=io.BytesIO(), buffer=1_000_000)
    sink.start(None)

    def emit(tid: int) -> None:
        for i in range(2000):
            sink.handle(evt(Reading(sensor=f"t{tid}", value=float(i), note="x" * 300)))

    threads = [threading.Thread(target=emit, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.stop()
    assert isinstance(sink.stream, io.BytesIO)
    seen: dict[str, list[float]] = {}
    for line in sink.stream.getvalue().splitlines():
        data = json.loads(line)["data"]
        seen.setdefault(data["sensor"], []).append(data["value"])
    assert {k: v == [float(i) for i in range(2000)] for k, v in seen.items()} == {
        f"t{t}": True for t in range(8)
    }


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"format": "xml"}, "console format 'xml' is not one of json, human, auto"),
        ({"color": "sometimes"}, "console color"),
        ({"stream": "stdlog"}, "console stream"),
        ({"buffer": 0}, "at least 1 event"),
        ({"level": "loud"}, "console level"),
    ],
)
def test_bad_arguments_are_one_line_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        ConsoleSink(**kwargs)
    assert "\n" not in str(info.value)


def test_events_after_stop_are_ignored_and_start_again_works() -> None:
    stream = io.BytesIO()
    sink = ConsoleSink(stream=stream)
    sink.handle(evt(FrameworkBooted(version="0.1.0")))  # first use starts the sink
    sink.stop()
    sink.handle(evt(FrameworkBooted(version="late")))
    assert sink._writer is None
    sink.start(None)
    sink.handle(evt(FrameworkBooted(version="again")))
    sink.stop()
    versions = [json.loads(line)["data"]["version"] for line in stream.getvalue().splitlines()]
    assert versions == ["0.1.0", "again"]


@dataclass(slots=True, frozen=True)
class Level(Message):
    tank: str
    litres: float


@dataclass(slots=True, frozen=True)
class Series(Message):
    values: list[float]
    low: float | None = None


def test_the_json_format_keeps_nan_and_infinities_as_the_recorder_does(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """``bussdcc run app.py > events.jsonl`` is a recording: a NaN must replay, not read null."""
    import math

    from bussdcc_framework.codec import Codec, TypeRegistry
    from bussdcc_framework.runtime import Runtime

    rt = Runtime()
    rt.add_sink(ConsoleSink())
    rt.boot()
    sent: list[Message] = [
        Level("a", math.nan),
        Level("b", -math.inf),
        Level("c", 2.5),
        Series([1.0, math.inf, math.nan], low=-math.inf),
        Series([1.0], low=None),
    ]
    for message in sent:
        rt.ctx.emit(message)
    rt.shutdown("test")
    lines = [line for line in capfd.readouterr().out.splitlines() if f"{__name__}:" in line]
    assert [json.loads(line)["data"] for line in lines] == [
        {"tank": "a", "litres": "nan"},
        {"tank": "b", "litres": "-inf"},
        {"tank": "c", "litres": 2.5},
        {"values": [1.0, "inf", "nan"], "low": "-inf"},
        {"values": [1.0], "low": None},
    ]
    registry = TypeRegistry(include_imported=False)
    registry.register_all([Level, Series])
    codec = Codec(registry)
    back = [codec.decode_record(line).payload for line in lines]
    assert isinstance(back[0], Level) and math.isnan(back[0].litres)
    assert back[1] == Level("b", -math.inf) and back[2] == Level("c", 2.5) and back[4] == sent[4]
    series = back[3]
    assert (
        isinstance(series, Series) and series.values[:2] == [1.0, math.inf] and math.isnan(series.values[2])
    )
    assert series.low == -math.inf
    # A record without one is byte for byte the recorder's.
    assert lines[2].encode() == codec.encode_record(Event(time=json_time(lines[2]), payload=sent[2]))


def json_time(line: str) -> datetime:
    return datetime.fromisoformat(json.loads(line)["time"])
