"""The fleet page in the web UI: a real collector process with the web plugin, a real device,
a real broker, and Debian's headless Chromium (see plugins/web/tests/test_web_browser.py)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bussdcc_framework_mqtt.testing import MosquittoBroker, free_port
from mqtt_helpers import CollectorProcess, Device, Peer, events, wait_for

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
TOKEN = "fleet-test-token-7"


class Central:
    def __init__(self, broker: MosquittoBroker, tmp_path: Path) -> None:
        self.port = free_port()
        self.record = tmp_path / "fleet"
        self.collector = CollectorProcess(
            broker.url,
            self.record,
            tmp_path / "c",
            plugins="mqtt,web",
            env={"BUSSDCC_WEB_PORT": str(self.port), "BUSSDCC_WEB_TOKEN": TOKEN},
        ).start()
        self.url = f"http://127.0.0.1:{self.port}/plugins/fleet/"
        wait_for(lambda: (self.record / ".bussdcc-collector.json").exists(), 30, "the collector")
        wait_for(self._up, 30, "the web server")

    def _up(self) -> bool:
        try:
            self.get("nodes.json")
        except OSError:
            return False
        return True

    def get(self, path: str) -> Any:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


@pytest.fixture
def central(broker: MosquittoBroker, tmp_path: Path) -> Iterator[Central]:
    running = Central(broker, tmp_path)
    yield running
    running.collector.stop()


def test_the_fleet_api_shows_presence_traffic_and_versions(
    broker: MosquittoBroker, central: Central, tmp_path: Path
) -> None:
    device = Device(broker.url, tmp_path / "dev", env={"COUNTER_COUNT": "100000", "COUNTER_INTERVAL": "0.02"})
    device.start()
    node = wait_for(
        lambda: [n for n in central.get("nodes.json")["nodes"] if n["node"] == "dev1" and n["rate"] > 0],
        30,
        "dev1 with traffic",
    )[0]
    assert node["online"] is True and node["site"] == "default"
    assert node["versions"]["framework"]
    detail = central.get("node/default/dev1.json")
    assert any(e["type"] == "counter_app:Tick" for e in detail["recent"])
    assert [t["name"] for t in detail["birth"]["types"]] == ["SetLevel"]
    device.kill()
    wait_for(lambda: not central.get("node/default/dev1.json")["online"], 30, "offline after the device died")


@pytest.mark.browser
def test_the_fleet_page_lists_nodes_shows_live_events_and_sends_a_command(
    broker: MosquittoBroker, central: Central, tmp_path: Path, browser: Any
) -> None:
    assert broker.port is not None
    peer = Peer(broker.host, broker.port)
    peer.subscribe("bussdcc/v1/default/+/evt/level_set")
    devices = [
        Device(
            broker.url,
            tmp_path / name,
            node=name,
            env={"COUNTER_COUNT": "100000", "COUNTER_INTERVAL": "0.05"},
        )
        for name in ("gh1", "gh2")
    ]
    for device in devices:
        device.start()
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    try:
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{central.url}?token={TOKEN}")
        page.wait_for_selector("#fleet tr.node[data-node='gh1'][data-state='online']")
        page.wait_for_selector("#fleet tr.node[data-node='gh2'][data-state='online']")
        assert page.locator("a[data-plugin-page='fleet']").count() == 1  # linked in the navigation
        page.click("#fleet tr.node[data-node='gh1']")
        page.wait_for_selector("#node-events tbody tr.ev")
        assert "Tick" in page.locator("#node-events").inner_text()
        assert page.locator("#node-events tr.ev[title='counter_app:Tick']").count() > 0
        page.select_option("#send-type", "counter_app:SetLevel")
        page.fill("#send-fields input[data-field='level']", "7")
        page.click("#send-button")
        page.wait_for_selector("#results li[data-status='done']")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "fleet-page.png"))
        # an invalid command is refused and the reason shown
        page.fill("#send-fields input[data-field='level']", "")
        page.evaluate("document.querySelector(\"#send-fields input[data-field='level']\").type = 'text'")
        page.fill("#send-fields input[data-field='level']", "")
        page.click("#send-button")
        page.wait_for_selector("#results li[data-status='refused']")
        assert "level" in page.locator("#results li[data-status='refused']").first.inner_text()
    finally:
        page.close()
    assert not errors, errors
    got = wait_for(lambda: events(peer, "gh1", "level_set"), 20, "LevelSet on gh1")
    assert [e["data"]["level"] for e in got] == [7]
    assert not events(peer, "gh2", "level_set")
    for device in devices:
        device.stop()
    peer.close()
