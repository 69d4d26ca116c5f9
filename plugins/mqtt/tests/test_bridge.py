"""The device bridge against a real Mosquitto: events, presence, the outbox across outages and
restarts, bounds, filters. Devices are real ``bussdcc run`` processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bussdcc_framework_mqtt.testing import MosquittoBroker
from mqtt_helpers import Device, Peer, events, unique_ns, wait_for, wait_for_count


def watcher(broker: MosquittoBroker) -> Peer:
    assert broker.port is not None
    peer = Peer(broker.host, broker.port)
    peer.subscribe("bussdcc/#")
    return peer


def statuses(peer: Peer, node: str = "dev1") -> list[dict[str, object]]:
    return [json.loads(m.payload) for m in peer.received(f"bussdcc/v1/default/{node}/status")]


def test_events_status_and_birth_reach_the_broker(broker: MosquittoBroker, tmp_path: Path) -> None:
    peer = watcher(broker)
    device = Device(broker.url, tmp_path / "dev", env={"COUNTER_COUNT": "200"}).start()
    got = wait_for(lambda: len(events(peer, "dev1")) >= 200 and events(peer, "dev1"), 60, "200 ticks")
    assert [p["data"]["n"] for p in got] == list(range(200))  # in order
    seqs = [p["seq"] for p in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 200
    assert {p["boot"] for p in got} == {got[0]["boot"]}
    assert not any(p["historical"] for p in got[100:])  # connected by then: live
    assert {p["type"] for p in got} == {"counter_app:Tick"}

    [online] = statuses(peer)
    assert online["state"] == "online" and online["boot"] == got[0]["boot"] and online["session"] == 1
    [birth] = [json.loads(m.payload) for m in peer.received("bussdcc/v1/default/dev1/birth")]
    assert birth["versions"]["framework"] and birth["versions"]["plugins"]["mqtt"] == "1.0.0"
    assert all(m.retain is False for m in peer.received("bussdcc/v1/default/dev1/evt/"))

    assert device.stop() == 0
    wait_for(lambda: len(statuses(peer)) >= 2, 20, "the offline status of a clean stop")
    offline = statuses(peer)[-1]
    assert (offline["state"], offline["boot"], offline["session"]) == ("offline", online["boot"], 1)
    peer.close()

    # Both are retained: a dashboard that connects later sees them at once.
    late = watcher(broker)
    wait_for(lambda: statuses(late) and late.received("bussdcc/v1/default/dev1/birth"), 20, "retained")
    assert statuses(late)[-1]["state"] == "offline"
    late.close()


@pytest.mark.slow
def test_broker_down_at_start_is_no_error_and_the_backlog_arrives_in_order_flagged_historical(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    broker.stop()
    device = Device(broker.url, tmp_path / "dev", env={"COUNTER_COUNT": "300", "COUNTER_BURST": "30"}).start()
    device.wait_emitted()
    assert device.process is not None and device.process.poll() is None  # still running
    broker.start()
    peer = watcher(broker)
    got = wait_for(lambda: len(events(peer, "dev1")) >= 300 and events(peer, "dev1"), 60, "the backlog")
    assert unique_ns(got) == list(range(300))
    assert [p["data"]["n"] for p in got][:300] == list(range(300))
    assert all(p["historical"] for p in got)
    # the outage and the reconnection are framework messages, sent like any event
    wait_for(lambda: events(peer, "dev1", "mqtt_connected"), 20, "MqttConnected")
    assert device.stop() == 0
    assert "Traceback" not in device.stderr()
    peer.close()


@pytest.mark.slow
def test_the_outbox_survives_a_sigkill_while_the_broker_is_down(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    device = Device(broker.url, tmp_path / "dev", env={"COUNTER_COUNT": "500", "COUNTER_BURST": "50"})
    broker.stop()
    device.start()
    device.wait_emitted()
    device.kill()  # nothing was sent: the broker is down
    broker.start()
    peer = watcher(broker)
    device.start(COUNTER_START="500", COUNTER_COUNT="100")
    wait_for_count(lambda: len(unique_ns(events(peer, "dev1"))), 600, "both boots' events")
    got = events(peer, "dev1")
    assert unique_ns(got) == list(range(600))
    boots = {p["boot"] for p in got}
    assert len(boots) == 2
    old = [p for p in got if p["data"]["n"] < 500]
    assert all(p["historical"] for p in old)  # sent by a later process: late
    # The new boot has a higher session counter: a late will of the old one is recognisable.
    wait_for(lambda: any(s["state"] == "online" and s["session"] >= 2 for s in statuses(peer)), 20, "birth")
    device.stop()
    peer.close()


def test_a_killed_device_is_offline_at_once_through_its_will(broker: MosquittoBroker, tmp_path: Path) -> None:
    peer = watcher(broker)
    device = Device(broker.url, tmp_path / "dev", env={"COUNTER_COUNT": "10"}).start()
    wait_for(lambda: statuses(peer), 30, "online")
    device.wait_emitted()
    device.kill()
    wait_for(lambda: statuses(peer)[-1]["state"] == "offline", 20, "the will")
    assert statuses(peer)[-1]["session"] == statuses(peer)[0]["session"]
    peer.close()


def test_a_late_will_of_an_older_session_does_not_leave_the_node_offline(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    peer = watcher(broker)
    device = Device(broker.url, tmp_path / "dev", env={"COUNTER_COUNT": "10"}).start()
    wait_for(lambda: statuses(peer), 30, "online")
    online = statuses(peer)[-1]
    stale = dict(online, state="offline", session=int(online["session"]) - 1, boot="older")  # type: ignore[call-overload]
    peer.publish("bussdcc/v1/default/dev1/status", json.dumps(stale), retain=True).wait_for_publish(10)
    wait_for(lambda: statuses(peer)[-1]["state"] == "online", 20, "the birth repeated")
    assert statuses(peer)[-1]["session"] == online["session"]
    device.stop()
    peer.close()


def test_the_outbox_is_bounded_and_drops_are_reported(broker: MosquittoBroker, tmp_path: Path) -> None:
    broker.stop()
    device = Device(
        broker.url,
        tmp_path / "dev",
        env={
            "COUNTER_COUNT": "2000",
            "COUNTER_BURST": "100",
            "BUSSDCC_MQTT_OUTBOX_MAX_SIZE": "20k",
            "BUSSDCC_MQTT_INCLUDE": "Tick,Mqtt*",
        },
    ).start()
    device.wait_emitted()
    broker.start()
    peer = watcher(broker)
    drops = wait_for(lambda: events(peer, "dev1", "mqtt_outbox_dropped"), 60, "MqttOutboxDropped")
    assert drops[0]["data"]["reason"] == "size" and drops[0]["data"]["dropped"] > 0
    wait_for(lambda: 1999 in unique_ns(events(peer, "dev1")), 60, "the newest tick")
    got = unique_ns(events(peer, "dev1"))
    assert got == list(range(got[0], 2000))  # the oldest went, the rest is contiguous
    assert got[0] > 0
    # only the types the filter allows were bridged
    kinds = {m.topic.rsplit("/", 1)[1] for m in peer.received("bussdcc/v1/default/dev1/evt/")}
    assert kinds <= {"tick", "mqtt_connected", "mqtt_disconnected", "mqtt_backlog", "mqtt_outbox_dropped"}
    device.stop()
    peer.close()


def test_home_assistant_discovery_configs_are_retained_for_numbers_and_flags(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    device = Device(
        broker.url, tmp_path / "dev", app="ha_app.py", env={"BUSSDCC_MQTT_HOMEASSISTANT": "true"}
    ).start()
    assert broker.port is not None
    peer = Peer(broker.host, broker.port)
    peer.subscribe("bussdcc/v1/default/dev1/birth")
    wait_for(lambda: peer.received(), 30, "the birth (published after the configs)")
    peer.subscribe("homeassistant/#")  # retained: they arrive on subscribing

    def retained() -> list[Any]:
        return [m for m in peer.received("homeassistant/") if m.retain]

    configs = wait_for(lambda: len(retained()) >= 3 and retained(), 30, "three retained configs")
    by_topic = {m.topic: json.loads(m.payload) for m in configs}
    assert len(by_topic) == 3, sorted(by_topic)
    temperature = by_topic["homeassistant/sensor/bussdcc_default_dev1/climate_temperature_c/config"]
    assert temperature["state_topic"] == "bussdcc/v1/default/dev1/evt/climate"
    assert temperature["value_template"] == "{{ value_json.data.temperature_c }}"
    assert temperature["availability_topic"] == "bussdcc/v1/default/dev1/status"
    pump = by_topic["homeassistant/binary_sensor/bussdcc_default_dev1/climate_pump_on/config"]
    assert "'ON' if value_json.data.pump_on" in pump["value_template"]
    assert "homeassistant/sensor/bussdcc_default_dev1/climate_label/config" not in by_topic  # text
    assert not [t for t in by_topic if "command" in t]  # no command entity
    device.stop()
    peer.close()


def test_a_unix_socket_broker_url(broker_factory: Any, tmp_path: Path) -> None:
    local = broker_factory("local", unix_socket=True)
    assert local.port is not None
    peer = Peer(local.host, local.port)
    peer.subscribe("bussdcc/#")
    device = Device(local.unix_url, tmp_path / "dev", env={"COUNTER_COUNT": "20"}).start()
    wait_for(lambda: len(events(peer, "dev1")) >= 20, 30, "ticks over the unix socket")
    assert device.stop() == 0
    peer.close()


def test_a_replay_sends_nothing_to_the_broker(broker: MosquittoBroker, tmp_path: Path) -> None:
    """Replayed events are not live events of the node: sent under a new boot id, the collector
    would record them a second time. With the broker URL set, ``bussdcc replay`` stays off it."""
    import subprocess

    from mqtt_helpers import BUSSDCC

    recording = tmp_path / "events"
    local = Device(
        broker.url,
        tmp_path / "record",
        plugins="jsonl",
        env={"COUNTER_COUNT": "20", "BUSSDCC_JSONL_DIR": str(recording), "BUSSDCC_JSONL_FLUSH": "line"},
    ).start()
    local.wait_emitted()
    assert local.stop() == 0, local.stderr()
    peer = watcher(broker)
    replayer = Device(broker.url, tmp_path / "replay", node="replayer", plugins="replay,mqtt")
    done = subprocess.run(
        [str(BUSSDCC), "replay", str(recording), "--import", "counter_app", "--speed", "0"],
        env=replayer.env,
        cwd=replayer.workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "the bridge stays off during a replay" in done.stderr
    assert "Traceback" not in done.stderr
    # A message published after the replay ended arrives after anything the replay sent.
    peer.publish("bussdcc/v1/default/sentinel/status", b"{}").wait_for_publish(10)
    wait_for(lambda: peer.received("bussdcc/v1/default/sentinel/"), 20, "the sentinel")
    assert peer.received("bussdcc/v1/default/replayer/") == []
    assert "as bussdcc-default-replayer" not in broker.log_text()  # it never connected
    assert not (replayer.workdir / "outbox").exists()  # nor opened its outbox
    peer.close()
