"""``examples/fleet``: one command runs a broker, three greenhouses, the collector and the page."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from bussdcc_framework_mqtt.testing import free_port
from mqtt_helpers import STARTED, clean_env, wait_for

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_the_fleet_example_runs_three_greenhouses_into_the_collector_and_its_page(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "fleet.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "examples" / "fleet" / "fleet.py"), "--dir", str(tmp_path / "demo"),
             "--port", str(port)],
            env=clean_env({}),
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
    STARTED.append(process)

    def online() -> list[str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/plugins/fleet/nodes.json", timeout=5) as r:
                nodes = json.loads(r.read())["nodes"]
        except OSError:
            return []
        return sorted(n["node"] for n in nodes if n["online"] and n["events"] > 0)

    wait_for(lambda: online() == ["gh1", "gh2", "gh3"], 90, "three greenhouses online with events")

    def recorded_readings() -> list[str]:
        found = []
        for node in ("gh1", "gh2", "gh3"):
            for f in (tmp_path / "demo" / "fleet" / "demo" / node).glob("*/*.jsonl"):
                if "greenhouse.messages:ClimateReading" in f.read_text():
                    found.append(node)
                    break
        return found

    # "online with events" can be the lifecycle alone: wait until every node's readings are on disk.
    wait_for(
        lambda: recorded_readings() == ["gh1", "gh2", "gh3"], 120, "a reading of each greenhouse recorded"
    )
    assert "the fleet page: http://127.0.0.1:" in log.read_text()
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0, log.read_text()
    text = log.read_text()
    assert "Traceback" not in text
    assert "bussdcc replay" in text
    for node in ("gh1", "gh2", "gh3"):
        files = list((tmp_path / "demo" / "fleet" / "demo" / node).glob("*/*.jsonl"))
        lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
        assert any(r["type"] == "greenhouse.messages:ClimateReading" for r in lines), node
