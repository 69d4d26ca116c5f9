"""Commands into a device through a real Mosquitto: the /api/emit rule, answers, at most once,
expiry, response topic and correlation data."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from bussdcc_framework_mqtt.client import PacketTypes, Properties
from bussdcc_framework_mqtt.testing import MosquittoBroker
from mqtt_helpers import Device, Peer, events, fleet, wait_for

CMD = "bussdcc/v1/default/dev1/cmd/set_level"
RES = "bussdcc/v1/default/dev1/cmd_res"


def started(broker: MosquittoBroker, tmp_path: Path) -> tuple[Device, Peer]:
    assert broker.port is not None
    peer = Peer(broker.host, broker.port)
    peer.subscribe("bussdcc/#")
    device = Device(broker.url, tmp_path / "dev", env={"COUNTER_COUNT": "0"}).start()
    wait_for(lambda: peer.received("bussdcc/v1/default/dev1/birth"), 30, "the birth")
    return device, peer


def answers(peer: Peer) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in peer.received(RES)]


def test_fleet_send_runs_an_emittable_command_and_prints_the_answer(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    device, peer = started(broker, tmp_path)
    [birth] = [json.loads(m.payload) for m in peer.received("bussdcc/v1/default/dev1/birth")]
    [spec] = [t for t in birth["types"] if t["name"] == "SetLevel"]
    assert [(f["name"], f["kind"], f["required"]) for f in spec["fields"]] == [
        ("level", "integer", True),
        ("note", "text", False),
    ]
    assert all(not t["module"].startswith("bussdcc") for t in birth["types"])  # never internal types

    result = fleet(broker.url, "send", "dev1", "SetLevel", '{"level": 5}')
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["ok"] is True and answer["status"] == "done" and answer["type"] == "counter_app:SetLevel"
    got = wait_for(lambda: events(peer, "dev1", "level_set"), 20, "LevelSet")
    assert got[0]["data"] == {"level": 5}
    assert events(peer, "dev1", "mqtt_command_accepted")[0]["data"]["id"] == answer["id"]
    device.stop()
    peer.close()


@pytest.mark.parametrize(
    ("type_name", "data", "error", "detail"),
    [
        ("NoSuchType", "{}", "unknown_type", "NoSuchType"),
        (
            "bussdcc_framework.message.framework:FrameworkBooted",
            '{"version": "x"}',
            "not_emittable",
            "runtime",
        ),
        ("SetLevel", '{"level": "high"}', "invalid_data", "level"),
        ("SetLevel", "{}", "invalid_data", "level: required"),
        ("SetLevel", '{"level": 1, "extra": 2}', "invalid_data", "extra"),
    ],
)
def test_a_command_that_is_not_emittable_is_refused_with_the_reason(
    broker: MosquittoBroker, tmp_path: Path, type_name: str, data: str, error: str, detail: str
) -> None:
    device, peer = started(broker, tmp_path)
    result = fleet(broker.url, "send", "dev1", type_name, data)
    assert result.returncode == 1, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["ok"], answer["status"], answer["error"]) == (False, "refused", error)
    assert detail in answer["detail"]
    refused = wait_for(lambda: events(peer, "dev1", "mqtt_command_refused"), 20, "MqttCommandRefused")
    assert refused[0]["data"]["reason"] == error
    assert not events(peer, "dev1", "level_set")
    device.stop()
    peer.close()


def test_each_command_id_runs_at_most_once_even_across_a_restart(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    device, peer = started(broker, tmp_path)
    body = json.dumps({"id": "cmd-42", "type": "SetLevel", "data": {"level": 7}})
    peer.publish(CMD, body).wait_for_publish(10)
    peer.publish(CMD, body).wait_for_publish(10)
    wait_for(lambda: len(answers(peer)) >= 2, 20, "two answers")
    assert [a["status"] for a in answers(peer)] == ["done", "refused"]
    assert answers(peer)[1]["error"] == "duplicate"
    device.stop()
    device.start()
    wait_for(lambda: len(peer.received("bussdcc/v1/default/dev1/birth")) >= 2, 30, "the second birth")
    peer.publish(CMD, body).wait_for_publish(10)
    wait_for(lambda: len(answers(peer)) >= 3, 20, "the third answer")
    assert answers(peer)[2]["error"] == "duplicate"
    assert len(events(peer, "dev1", "level_set")) == 1
    device.stop()
    peer.close()


def test_garbage_and_retained_commands_are_refused_and_reported_once(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    device, peer = started(broker, tmp_path)
    peer.publish(CMD, b"\xff\xfe not json").wait_for_publish(10)
    peer.publish(CMD, b"[1, 2]").wait_for_publish(10)
    peer.publish(CMD, json.dumps({"id": "bad id with spaces", "type": "SetLevel"})).wait_for_publish(10)
    peer.publish(CMD, json.dumps({"id": "x1", "type": "SetLevel", "data": {"level": 1}, "node": "dev2"}))
    wait_for(lambda: len(answers(peer)) >= 4, 20, "four answers")
    assert [a["error"] for a in answers(peer)] == ["bad_json", "bad_json", "bad_command", "wrong_node"]
    wait_for(
        lambda: len(events(peer, "dev1", "mqtt_bad_input")) >= 3 and events(peer, "dev1", "mqtt_bad_input"),
        20,
        "reports",
    )
    peer.publish(CMD, b"{{{").wait_for_publish(10)  # a second bad_json: counted, not reported
    wait_for(lambda: len(answers(peer)) >= 5, 20, "five answers")
    assert sorted(b["data"]["kind"] for b in events(peer, "dev1", "mqtt_bad_input")) == [
        "bad_command",
        "bad_json",
        "wrong_node",
    ]
    assert device.stderr().count("refused a command (bad_json)") == 1
    assert not events(peer, "dev1", "level_set")

    # Someone retains a command: it reaches the device live once, and would again after every
    # restart (the broker hands retained messages to each new subscription): refused then.
    peer.publish(CMD, json.dumps({"id": "r1", "type": "SetLevel", "data": {"level": 3}}), retain=True)
    wait_for(lambda: len(answers(peer)) >= 6, 20, "the live answer")
    device.stop()
    device.start()
    wait_for(lambda: len(answers(peer)) >= 7, 30, "the answer after the restart")
    assert answers(peer)[6]["error"] == "retained"
    assert [e["data"]["level"] for e in events(peer, "dev1", "level_set")] == [3]
    peer.publish(CMD, b"", retain=True).wait_for_publish(10)  # clear the retained command
    device.stop()
    peer.close()


def test_answers_go_to_the_response_topic_with_the_correlation_data(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    device, peer = started(broker, tmp_path)
    assert broker.port is not None
    asker = Peer(broker.host, broker.port)
    asker.subscribe("replies/asker")
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.ResponseTopic = "replies/asker"
    props.CorrelationData = b"corr-1"
    body = json.dumps({"id": "c-1", "type": "counter_app:SetLevel", "data": {"level": 2}})
    asker.publish(CMD, body, properties=props).wait_for_publish(10)
    [reply] = wait_for(lambda: asker.received("replies/asker"), 20, "the reply")
    assert json.loads(reply.payload)["ok"] is True
    assert reply.properties.CorrelationData == b"corr-1"
    device.stop()
    asker.close()
    peer.close()


@pytest.mark.slow
def test_an_expired_command_never_runs(broker: MosquittoBroker, tmp_path: Path) -> None:
    device, peer = started(broker, tmp_path)
    device.stop()  # its session (and subscription) stays on the broker
    stale = fleet(broker.url, "send", "dev1", "SetLevel", '{"level": 99}', "--expiry", "1", "--no-wait")
    fresh = fleet(broker.url, "send", "dev1", "SetLevel", '{"level": 1}', "--expiry", "120", "--no-wait")
    assert stale.returncode == 0 and fresh.returncode == 0, stale.stderr + fresh.stderr
    time.sleep(2.5)  # the first one expires on the broker while the device is away
    device.start()
    got = wait_for(lambda: events(peer, "dev1", "level_set"), 30, "the fresh command to run")
    time.sleep(1)
    assert [e["data"]["level"] for e in events(peer, "dev1", "level_set")] == [1]
    assert got
    device.stop()
    peer.close()


def test_types_declared_with_add_message_types_are_commands(broker: MosquittoBroker, tmp_path: Path) -> None:
    assert broker.port is not None
    peer = Peer(broker.host, broker.port)
    peer.subscribe("bussdcc/#")
    device = Device(broker.url, tmp_path / "dev", app="declared_app.py").start()
    [birth] = wait_for(lambda: peer.received("bussdcc/v1/default/dev1/birth"), 30, "the birth")
    assert [t["name"] for t in json.loads(birth.payload)["types"]] == ["OpenValve"]
    result = fleet(broker.url, "send", "dev1", "OpenValve", '{"seconds": 2.5}')
    assert result.returncode == 0, result.stdout + result.stderr
    got = wait_for(lambda: events(peer, "dev1", "valve_opened"), 20, "ValveOpened")
    assert got[0]["data"] == {"seconds": 2.5}
    device.stop()
    peer.close()
