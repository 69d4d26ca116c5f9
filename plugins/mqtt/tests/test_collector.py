"""The collector against a real Mosquitto: per-node JSONL recordings, exactly once."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from bussdcc_framework_mqtt.testing import MosquittoBroker
from mqtt_helpers import (
    CollectorProcess,
    Device,
    Peer,
    fleet,
    recorded,
    recorded_ticks,
    wait_for,
    wait_for_count,
)


def envelope(n: int, *, seq: int, boot: str = "b1", node: str = "dev9", site: str = "default") -> bytes:
    return json.dumps(
        {
            "time": f"2026-03-09T12:00:{n % 60:02d}+00:00",
            "type": "unknown.module:Reading",
            "data": {"n": n, "nested": {"deep": [1, 2.5, None, "x"]}},
            "site": site,
            "node": node,
            "boot": boot,
            "seq": seq,
            "historical": False,
        }
    ).encode()


def test_a_device_is_recorded_under_its_site_and_node_in_the_recorder_layout(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    record = tmp_path / "fleet"
    collector = CollectorProcess(broker.url, record, tmp_path / "c").start()
    device = Device(broker.url, tmp_path / "dev", env={"COUNTER_COUNT": "300", "COUNTER_BURST": "20"})
    wait_for(lambda: (record / ".bussdcc-collector.json").exists(), 30, "the collector to subscribe")
    device.start()
    wait_for(lambda: len(recorded_ticks(record)) >= 300, 60, "300 ticks recorded")
    device.stop()
    assert collector.stop() == 0
    assert recorded_ticks(record) == list(range(300))
    files = sorted((record / "default" / "dev1").glob("*/*.jsonl"))
    assert files and all(f.parent.name.count("-") == 2 for f in files)  # YYYY-MM-DD/HH-MM-SS.jsonl
    first = next(r for r in recorded(record) if r["type"] == "counter_app:Tick")
    assert list(first)[:3] == ["time", "type", "data"]  # a record line first, then the fleet keys
    assert {"site", "node", "boot", "seq", "historical"} <= set(first)
    # only the node's own records: presence is the collector's (FleetNodeStatus, in its runtime)
    assert {r["node"] for r in recorded(record)} == {"dev1"}


def test_duplicates_are_recorded_once_and_unknown_types_losslessly(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    record = tmp_path / "fleet"
    collector = CollectorProcess(broker.url, record, tmp_path / "c").start()
    wait_for(lambda: (record / ".bussdcc-collector.json").exists(), 30, "the collector to subscribe")
    assert broker.port is not None
    peer = Peer(broker.host, broker.port).wait_connected()
    bodies = [envelope(n, seq=n + 1) for n in range(50)]
    for body in bodies + bodies[10:20] + bodies[:5]:  # at least once: some arrive again
        peer.publish("bussdcc/v1/default/dev9/evt/reading", body).wait_for_publish(10)
    wait_for(lambda: len(recorded(record, "dev9")) >= 50, 30, "50 records")
    # a collector killed and restarted still knows what it wrote
    collector.kill()
    for body in bodies[40:]:
        peer.publish("bussdcc/v1/default/dev9/evt/reading", body).wait_for_publish(10)
    peer.publish("bussdcc/v1/default/dev9/evt/reading", envelope(50, seq=51)).wait_for_publish(10)
    collector.start()
    wait_for(lambda: len(recorded(record, "dev9")) >= 51, 30, "the 51st record")
    collector.stop()
    rows = recorded(record, "dev9")
    assert [r["data"]["n"] for r in rows] == list(range(51))
    assert rows[3]["data"] == {"n": 3, "nested": {"deep": [1, 2.5, None, "x"]}}  # kept as sent
    assert rows[3]["type"] == "unknown.module:Reading"
    peer.close()


@pytest.mark.slow
@pytest.mark.timeout(900)  # no total bound: the transfer fails only when it stops moving
def test_a_collector_offline_for_5000_events_gets_every_one(broker: MosquittoBroker, tmp_path: Path) -> None:
    record = tmp_path / "fleet"
    collector = CollectorProcess(broker.url, record, tmp_path / "c").start()
    wait_for(lambda: (record / ".bussdcc-collector.json").exists(), 30, "the collector to subscribe")
    collector.stop()  # its session stays on the broker, which queues for it
    device = Device(broker.url, tmp_path / "dev", env={"COUNTER_COUNT": "5000", "COUNTER_BURST": "200"})
    device.start()
    device.wait_emitted()
    assert broker.port is not None
    peer = Peer(broker.host, broker.port)
    peer.subscribe("bussdcc/v1/default/dev1/evt/tick")
    device.stop()
    collector.start()
    wait_for_count(lambda: len(recorded_ticks(record)), 5000, "5000 ticks recorded")
    collector.stop()
    assert recorded_ticks(record) == list(range(5000))
    peer.close()


def test_fleet_status_lists_every_node_with_its_presence(broker: MosquittoBroker, tmp_path: Path) -> None:

    alive = Device(broker.url, tmp_path / "a", node="gh1", env={"COUNTER_COUNT": "100000"}).start()
    gone = Device(broker.url, tmp_path / "b", node="gh2", env={"COUNTER_COUNT": "1"}).start()
    assert broker.port is not None
    peer = Peer(broker.host, broker.port)
    peer.subscribe("bussdcc/v1/default/+/birth")
    wait_for(lambda: len(peer.received()) >= 2, 30, "both births")
    gone.kill()
    result = fleet(broker.url, "status", "--json", "--rate", "1")
    assert result.returncode == 0, result.stderr
    rows = {row["node"]: row for row in json.loads(result.stdout)}
    assert rows["gh1"]["online"] is True and rows["gh1"]["rate"] > 0
    assert rows["gh2"]["online"] is False
    assert rows["gh1"]["versions"]["framework"]
    table = fleet(broker.url, "status")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["site", "node", "state"]
    assert any(line.split()[1:3] == ["gh1", "online"] for line in lines[2:])
    assert any(line.split()[1:3] == ["gh2", "offline"] for line in lines[2:])
    alive.stop()
    peer.close()


def test_fleet_commands_say_what_to_do_without_a_broker(tmp_path: Path) -> None:
    from mqtt_helpers import BUSSDCC, clean_env

    env = clean_env({"BUSSDCC_PLUGINS": "mqtt"})
    no_url = subprocess.run(
        [str(BUSSDCC), "fleet", "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert no_url.returncode == 2 and "--broker" in no_url.stderr
    down = subprocess.run(
        [str(BUSSDCC), "fleet", "status", "--broker", "mqtt://127.0.0.1:1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 1 and "cannot reach the broker mqtt://127.0.0.1:1" in down.stderr
    bad = subprocess.run(
        [str(BUSSDCC), "fleet", "send", "gh1", "SetLevel", "[1]", "--broker", "mqtt://127.0.0.1:1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "JSON object" in bad.stderr
    assert "Traceback" not in no_url.stderr + down.stderr + bad.stderr


def test_bussdcc_run_collects_with_mode_collector(broker: MosquittoBroker, tmp_path: Path) -> None:
    from mqtt_helpers import BUSSDCC, STARTED, clean_env

    record = tmp_path / "central"
    env = clean_env(
        {
            "BUSSDCC_PLUGINS": "mqtt",
            "BUSSDCC_MQTT_URL": broker.url,
            "BUSSDCC_MQTT_MODE": "collector",
            "BUSSDCC_MQTT_COLLECT_DIR": str(record),
        }
    )
    central = subprocess.Popen(
        [str(BUSSDCC), "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    STARTED.append(central)
    wait_for(lambda: (record / ".bussdcc-collector.json").exists(), 30, "the collector service")
    device = Device(broker.url, tmp_path / "dev", env={"COUNTER_COUNT": "50"}).start()
    wait_for(lambda: len(recorded_ticks(record)) >= 50, 60, "50 ticks")
    device.stop()
    central.terminate()
    assert central.wait(30) == 0
    assert recorded_ticks(record) == list(range(50))
    assert not (tmp_path / "mqtt-outbox").exists()  # a collector bridges nothing
