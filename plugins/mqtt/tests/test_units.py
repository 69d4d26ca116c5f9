"""The pieces without a broker: topics, broker URLs, the envelope and the on-disk outbox."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from bussdcc_framework_mqtt.address import parse_address
from bussdcc_framework_mqtt.outbox import NewEvent, Outbox, OutboxError, SessionCounter
from bussdcc_framework_mqtt.payload import ENVELOPE_DECODER, EnvelopeHead
from bussdcc_framework_mqtt.topics import FleetTopics, NodeTopics, TopicError, slug, type_level


def test_topics_are_general_to_specific_with_safe_levels() -> None:
    topics = NodeTopics("acme/farms", "north", "gh-3")
    assert topics.status == "acme/farms/v1/north/gh-3/status"
    assert topics.birth == "acme/farms/v1/north/gh-3/birth"
    assert topics.evt("app.messages:SensorReading") == "acme/farms/v1/north/gh-3/evt/sensor_reading"
    assert topics.evt("app:HTTPError") == "acme/farms/v1/north/gh-3/evt/http_error"
    assert topics.cmd_filter == "acme/farms/v1/north/gh-3/cmd/+"
    assert slug("Greenhouse 3.local") == "greenhouse-3-local"
    assert type_level("x:Outer.Inner") == "inner"
    with pytest.raises(TopicError, match=r"^'!!!' has no letters or digits to make a topic level from$"):
        slug("!!!")


def test_fleet_topics_parse_only_what_fits() -> None:
    fleet = FleetTopics("bussdcc")
    parsed = fleet.parse("bussdcc/v1/site-a/gh1/evt/tick")
    assert parsed is not None and (parsed.site, parsed.node, parsed.kind, parsed.name) == (
        "site-a",
        "gh1",
        "evt",
        "tick",
    )
    assert fleet.parse("bussdcc/v1/site-a/gh1/status") is not None
    for bad in (
        "bussdcc/v2/s/n/status",
        "other/v1/s/n/status",
        "bussdcc/v1/s/n/status/extra",
        "bussdcc/v1/S/n/status",
        "bussdcc/v1/s/n/evt",
        "bussdcc/v1/s/../status",
        "bussdcc/v1/s/n/unknown",
    ):
        assert fleet.parse(bad) is None, bad
    assert fleet.filters("evt", "status") == ["bussdcc/v1/+/+/evt/+", "bussdcc/v1/+/+/status"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://broker.local", "mqtt://broker.local:1883"),
        ("mqtts://broker.local", "mqtts://broker.local:8883"),
        ("mqtt://127.0.0.1:1884", "mqtt://127.0.0.1:1884"),
        ("unix:///run/mosquitto.sock", "unix:///run/mosquitto.sock"),
    ],
)
def test_broker_urls(url: str, expected: str) -> None:
    assert str(parse_address(url)) == expected


@pytest.mark.parametrize(
    "url",
    [
        "broker.local",
        "http://x",
        "mqtt://",
        "mqtt://h:99999",
        "unix://relative",
        "mqtt://u:p@h",
        "mqtt://h/path",
    ],
)
def test_bad_broker_urls_say_what_is_expected(url: str) -> None:
    with pytest.raises(ValueError, match=r"mqtt://|unix:///"):
        parse_address(url)


def test_the_envelope_is_a_record_line_with_the_fleet_keys() -> None:
    record = b'{"time":"2026-03-09T12:00:01+00:00","type":"app:Tick","data":{"n":1}}'
    body = EnvelopeHead("s", "n1", "b1").wrap(record, "b0", 7, True)
    assert json.loads(body) == {
        "time": "2026-03-09T12:00:01+00:00",
        "type": "app:Tick",
        "data": {"n": 1},
        "site": "s",
        "node": "n1",
        "boot": "b0",
        "seq": 7,
        "historical": True,
    }
    env = ENVELOPE_DECODER.decode(body)
    assert (env.node, env.boot, env.seq, env.historical, bytes(env.data)) == ("n1", "b0", 7, True, b'{"n":1}')


def test_the_outbox_keeps_order_across_reopening_and_deletes_only_acknowledged_rows(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    box.add("b1", 1, [NewEvent(1.0, False, "t/a", b"{%d}" % i) for i in range(5)])
    rows = box.fetch(0, 3)
    assert [r.seq for r in rows] == [1, 2, 3]
    box.remove([(rows[1].id, len(rows[1].record))])
    box.close()
    again = Outbox(tmp_path)
    assert again.count == 4
    assert [r.seq for r in again.fetch(0, 10)] == [1, 3, 4, 5]
    again.close()


def test_the_outbox_drops_the_oldest_beyond_its_size_and_age_and_counts_them(tmp_path: Path) -> None:
    now = [1000.0]
    box = Outbox(tmp_path, max_bytes=100, max_age=60, clock=lambda: now[0])
    dropped = box.add("b", 1, [NewEvent(1000.0, False, "t", b"x" * 30) for _ in range(5)])
    assert dropped == 2 and box.count == 3 and box.bytes == 90
    assert [r.seq for r in box.fetch(0, 10)] == [3, 4, 5]
    box.add("b", 6, [NewEvent(1050.0, False, "t", b"y" * 5)])
    now[0] = 1070.0
    assert box.expire() == 3  # the rows of 1000.0 are older than 60 s, the last is not
    assert [r.seq for r in box.fetch(0, 10)] == [6]
    assert box.dropped == {"size": 2, "age": 3}
    box.close()


def test_one_outbox_directory_serves_one_process(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    with pytest.raises(OutboxError, match="in use by another process"):
        Outbox(tmp_path)
    box.close()
    Outbox(tmp_path).close()


def test_the_session_counter_only_grows_and_survives(tmp_path: Path) -> None:
    counter = SessionCounter(tmp_path)
    assert [counter.next(), counter.next()] == [1, 2]
    assert SessionCounter(tmp_path).next() == 3


def test_garbage_never_decodes_as_an_envelope() -> None:
    for bad in (b"", b"\xff\xfe", b"[]", b'{"time":"x"}', b'{"time":"2026-01-01T00:00:00Z","type":1}'):
        with pytest.raises(msgspec.DecodeError):
            ENVELOPE_DECODER.decode(bad)


def test_the_plugin_module_is_cheap_to_import() -> None:
    """Every ``bussdcc`` command imports every plugin: no paho, msgspec or sqlite without a URL."""
    import subprocess
    import sys

    code = (
        "import sys, bussdcc_framework_mqtt.plugin as p\n"
        "p.register_settings(); p.register_message_types()\n"
        "print(sorted(m for m in ('paho', 'msgspec', 'sqlite3', 'flask') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_payload_carries_its_class_severity_and_the_collector_indexes_by_it() -> None:
    from bussdcc_framework_jsonl.indexing import describe
    from bussdcc_framework_mqtt.messages import MqttDisconnected, MqttError
    from bussdcc_framework_mqtt.payload import severity_tail
    from bussdcc_framework_mqtt.recording import raw_type

    assert severity_tail(MqttDisconnected) == b',"severity":"warning"}'
    assert severity_tail(MqttError) == b',"severity":"error"}'
    assert severity_tail(type("NoSeverity", (), {"severity": 7})) == b"}"  # not a Severity: left out
    record = b'{"time":"2026-03-09T12:00:01+00:00","type":"app:Alarm","data":{}}'
    body = EnvelopeHead("s", "n1", "b1").wrap(record[:-1] + severity_tail(MqttError), "b1", 1, False)
    assert ENVELOPE_DECODER.decode(body).severity == "error"
    assert (
        ENVELOPE_DECODER.decode(EnvelopeHead("s", "n1", "b1").wrap(record, "b1", 1, False)).severity is None
    )
    assert describe(raw_type("app:Alarm", "error")) == ("app:Alarm", "error")
    assert describe(raw_type("app:Alarm", "warning")) == ("app:Alarm", "warning")
    assert describe(raw_type("app:Alarm")) == ("app:Alarm", None)  # a device that sent none
