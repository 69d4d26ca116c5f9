"""The central recording replays like a local one: the fleet merged in time order with each
event's node visible, counts per node, and a node filter."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bussdcc_framework_mqtt.testing import MosquittoBroker
from mqtt_helpers import BUSSDCC, CollectorProcess, Device, clean_env, recorded, recorded_ticks, wait_for

TICK, OVERHEAT, FAULT = "counter_app:Tick", "counter_app:Overheat", "counter_app:SensorFault"


def bussdcc(*args: str, plugins: str = "replay,console", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BUSSDCC), *args],
        env=clean_env({"BUSSDCC_PLUGINS": plugins, **env}),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_fleet_recording_replays_merged_with_nodes_counted_and_filtered(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    record = tmp_path / "fleet"
    collector = CollectorProcess(broker.url, record, tmp_path / "c").start()
    wait_for(lambda: (record / ".bussdcc-collector.json").exists(), 30, "the collector")
    devices = [
        Device(
            broker.url, tmp_path / node, node=node, env={"COUNTER_COUNT": "40", "COUNTER_INTERVAL": "0.02"}
        )
        for node in ("gh1", "gh2")
    ]
    for device in devices:
        device.start()
    for device in devices:
        wait_for(lambda d=device: len(recorded_ticks(record, d.node)) >= 40, 60, f"{device.node}'s ticks")
        device.stop()
    assert collector.stop() == 0

    info = bussdcc("events", "info", str(record), "--import", "counter_app", "--json")
    assert info.returncode == 0, info.stderr
    nodes = json.loads(info.stdout)["nodes"]
    assert set(nodes) == {"default/gh1", "default/gh2"}
    assert all(n >= 40 for n in nodes.values())
    text = bussdcc("events", "info", str(record), "--import", "counter_app")
    assert "default/gh1" in text.stdout and "default/gh2" in text.stdout

    replay = bussdcc(
        "replay", str(record), "--import", "counter_app", "--speed", "0", "--types", "Tick",
        BUSSDCC_CONSOLE_FORMAT="json",
    )  # fmt: skip
    assert replay.returncode == 0, replay.stderr
    rows = [json.loads(line) for line in replay.stdout.splitlines() if line.startswith("{")]
    ticks = [r for r in rows if r["type"] == "counter_app:Tick"]
    assert len(ticks) == 80
    assert {r["node"] for r in ticks} == {"default/gh1", "default/gh2"}  # each event's node
    times = [r["time"] for r in ticks]
    assert times == sorted(times), [(r["node"], r["time"], r["data"]) for r in ticks][
        :12
    ]  # merged in time order

    human = bussdcc(
        "replay", str(record), "--import", "counter_app", "--speed", "0", "--types", "Tick",
        BUSSDCC_CONSOLE_FORMAT="human", BUSSDCC_CONSOLE_COLOR="never",
    )  # fmt: skip
    assert "[default/gh1] Tick n=" in human.stdout and "[default/gh2] Tick n=" in human.stdout

    only = bussdcc(
        "replay", str(record), "--import", "counter_app", "--speed", "0", "--node", "gh2", "--types", "Tick",
        BUSSDCC_CONSOLE_FORMAT="json",
    )  # fmt: skip
    assert only.returncode == 0, only.stderr
    lines = [json.loads(line) for line in only.stdout.splitlines() if line.startswith("{")]
    assert {r["node"] for r in lines if r["type"] == "counter_app:Tick"} == {"default/gh2"}
    assert len([r for r in lines if r["type"] == "counter_app:Tick"]) == 40
    wrong = bussdcc("replay", str(record), "--node", "gh9")
    assert wrong.returncode == 2 and "default/gh1, default/gh2" in wrong.stderr
    not_fleet = bussdcc("events", "info", str(record / "default" / "gh1"), "--node", "gh1")
    assert not_fleet.returncode == 2 and "fleet recording" in not_fleet.stderr


def test_collected_records_keep_their_severity_in_the_index_and_events_info(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    """The collector has no device classes: the severity travels in the payload, and the
    recording's index counts and marks warnings and errors as a local recording's would."""
    from bussdcc_framework.recordings import read_index

    record = tmp_path / "fleet"
    collector = CollectorProcess(broker.url, record, tmp_path / "c").start()
    wait_for(lambda: (record / ".bussdcc-collector.json").exists(), 30, "the collector")
    device = Device(
        broker.url, tmp_path / "gh1", node="gh1", env={"COUNTER_COUNT": "40", "COUNTER_ALARM_EVERY": "10"}
    )
    device.start()

    def alarms() -> list[dict[str, object]]:
        return [r for r in recorded(record, "gh1") if r["type"] in (OVERHEAT, FAULT)]

    wait_for(lambda: len(recorded_ticks(record, "gh1")) >= 40 and len(alarms()) >= 6, 60, "ticks and alarms")
    device.stop()
    assert collector.stop() == 0  # closes the segment: its index is written

    lines = recorded(record, "gh1")
    severity = {r["type"]: r["severity"] for r in lines}
    assert severity[TICK] == "info" and severity[OVERHEAT] == "warning" and severity[FAULT] == "error"
    files = sorted((record / "default" / "gh1").glob("*/*.jsonl"))
    indexes = [read_index(path) for path in files]
    assert all(check.status == "ok" for check in indexes), [c.status for c in indexes]
    warnings = sum(c.index.severities.get("warning", 0) for c in indexes if c.index is not None)
    errors = sum(c.index.severities.get("error", 0) for c in indexes if c.index is not None)
    assert (warnings, errors) == (4, 2)
    marks = [(m.type, m.severity) for c in indexes if c.index is not None for m in c.index.marks]
    assert sorted(marks) == sorted([(OVERHEAT, "warning")] * 4 + [(FAULT, "error")] * 2)
    assert "unknown" not in {k for c in indexes if c.index is not None for k in c.index.severities}

    # events info, central side: no --import (the devices' classes are not here)
    info = bussdcc("events", "info", str(record), "--json")
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["from_index"] is True
    assert data["severities"]["WARNING"] == 4 and data["severities"]["ERROR"] == 2
    assert data["severities"]["INFO"] >= 40
    text = bussdcc("events", "info", str(record))
    assert "WARNING 4" in text.stdout and "ERROR 2" in text.stdout, text.stdout

    # the replay timeline (the web UI's scrubber marks) answers from the same indexes
    from bussdcc_framework_replay.source import JsonlSource
    from bussdcc_framework_replay.timeline import survey

    timeline = survey(JsonlSource(record / "default" / "gh1"))
    assert timeline.origin == "indexes"
    shown = timeline.as_dict()
    assert sorted((m["type"], m["severity"]) for m in shown["marks"]) == sorted(marks)
    assert [m["name"] for m in shown["marks"]].count("SensorFault") == 2


def test_a_rebuilt_index_of_a_fleet_recording_keeps_the_severities_the_devices_sent(tmp_path: Path) -> None:
    """``events index`` and ``events info --no-index`` read the records' ``severity`` key.

    The collector's index took each record's severity from the payload (it has no device
    classes); a scan of the same files counted them all as ``unknown`` before. No broker is
    needed: the collector's own ``FleetRecording`` writes the files, as it does for MQTT.
    """
    from datetime import UTC, datetime, timedelta

    from bussdcc_framework_mqtt.recording import FleetRecording

    from bussdcc_framework.recordings import index_path, read_index

    record = tmp_path / "fleet"
    recording = FleetRecording(record, interval=600.0, report=lambda message, line: None)
    t0 = datetime(2026, 3, 9, 12, 0, 0, tzinfo=UTC)
    plan = [(TICK, "info")] * 6 + [(OVERHEAT, "warning")] * 3 + [(FAULT, "error")] * 2 + [(TICK, None)]
    plan += [("remote_app:Odd", "loud")]  # a severity no class can have: unknown, like no key
    for seq, (type_name, severity) in enumerate(plan, start=1):
        when = t0 + timedelta(seconds=seq)
        line = (
            f'{{"time":"{when.isoformat()}","type":"{type_name}","data":{{"n":{seq}}}'
            + (f',"severity":"{severity}"' if severity is not None else "")
            + f',"site":"north","node":"gh1","boot":"b1","seq":{seq},"historical":false}}'
        ).encode()
        sent = severity if severity in ("info", "warning", "error") else None  # as the collector checks
        assert recording.record("north", "gh1", "b1", seq, when, line, type_name, sent)
    recording.close()  # closes the segment: the collector's index is written
    (segment,) = sorted((record / "north" / "gh1").glob("*/*.jsonl"))
    written = read_index(segment)
    assert written.status == "ok" and written.index is not None
    collectors = written.index.severities
    assert collectors == {"info": 6, "warning": 3, "error": 2, "unknown": 2}
    marks = sorted((m.type, m.severity) for m in written.index.marks)

    index_path(segment).unlink()
    rebuilt = bussdcc("events", "index", str(record), plugins="replay")
    assert rebuilt.returncode == 0, rebuilt.stderr
    again = read_index(segment)
    assert again.status == "ok" and again.index is not None
    assert again.index.severities == collectors  # was {"unknown": 13}
    assert sorted((m.type, m.severity) for m in again.index.marks) == marks
    assert again.index.types == written.index.types

    expected = {"INFO": 6, "WARNING": 3, "ERROR": 2}
    for extra in ((), ("--no-index",)):
        info = bussdcc("events", "info", str(record), "--json", *extra, plugins="replay")
        assert info.returncode == 0, info.stderr
        data = json.loads(info.stdout)
        assert data["from_index"] is not bool(extra)
        assert {k: v for k, v in data["severities"].items() if k != "UNKNOWN"} == expected, (extra, data)
        assert data["unknown"] == len(plan)


def test_nan_and_infinities_of_a_device_reach_the_central_recording_as_values(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    """msgspec writes them as null, which the collector recorded and replay could not decode."""
    import math
    import sys

    from mqtt_helpers import APPS, Device

    sys.path.insert(0, str(APPS))
    try:
        from nan_app import READINGS
    finally:
        sys.path.remove(str(APPS))

    record = tmp_path / "fleet"
    collector = CollectorProcess(broker.url, record, tmp_path / "c").start()
    wait_for(lambda: (record / ".bussdcc-collector.json").exists(), 30, "the collector")
    device = Device(broker.url, tmp_path / "dev", node="gh1", app="nan_app.py").start()

    def mine() -> list[dict[str, object]]:
        return [r for r in recorded(record, "gh1") if str(r["type"]).startswith("nan_app:")]

    wait_for(lambda: len(mine()) == len(READINGS), 60, "the readings")
    device.stop()
    assert collector.stop() == 0
    data = [r["data"] for r in mine()]
    assert data[0] == {"tank": "a", "litres": "nan"} and data[1] == {"tank": "b", "litres": "inf"}
    assert data[3] == {"name": "d", "series": [1.0, "-inf", "nan"], "low": "inf"}
    assert data[2] == {"tank": "c", "litres": 1.5}

    cat = bussdcc("events", "cat", str(record), "--import", "nan_app", "--validate", "--types", "nan_app:*")
    assert cat.returncode == 0, cat.stderr
    validated = [json.loads(line) for line in cat.stdout.splitlines() if line.startswith("{")]
    assert [r["data"] for r in validated] == data  # decoded as floats, written back the same way
    assert "invalid_data" not in cat.stderr

    # Replayed: the values themselves, in their float fields.
    from bussdcc_framework.codec import Codec, TypeRegistry

    registry = TypeRegistry(include_imported=False)
    registry.register_all([type(r) for r in READINGS])
    codec = Codec(registry)
    lines = [line for path in sorted(record.rglob("*.jsonl")) for line in path.read_bytes().splitlines()]
    back = [codec.decode_record(line).payload for line in lines if b'"nan_app:' in line]
    assert back[2] == READINGS[2] and back[4] == READINGS[4]
    assert math.isnan(back[0].litres) and back[1].litres == math.inf  # type: ignore[attr-defined]
    gauge = back[3]
    assert gauge.series[:2] == [1.0, -math.inf] and math.isnan(gauge.series[2]) and gauge.low == math.inf  # type: ignore[attr-defined]
