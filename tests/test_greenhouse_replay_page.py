"""The greenhouse page in a replay: temperature and humidity history, the alert history, the pump
buttons disabled and its route answering 409, all following a seek. ``bussdcc replay`` runs in
a subprocess on a recording written here; the page opens in a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
GREENHOUSE = REPO / "examples" / "greenhouse"
SERVING = re.compile(r"bussdcc web: serving on (http://\S+?)/(?:\?token=(\S+))?$")
T0 = datetime(2026, 5, 1, 8, 0, 0, tzinfo=UTC)
READINGS = 200  # one per second; too hot from 60 s to 90 s

pytestmark = pytest.mark.browser  # ``browser`` is the repository conftest's Chromium


def write_recording(path: Path) -> None:
    """Readings as the simulator makes them, and the alerts the monitor raised then, written
    in the record format by hand (this process must not import the example's package: the
    replay plugin's tests have a ``greenhouse`` package of their own)."""

    def record(t: datetime, name: str, data: dict[str, Any]) -> str:
        return json.dumps({"time": t.isoformat(), "type": f"greenhouse.messages:{name}", "data": data})

    lines = []
    for i in range(READINGS):
        t = T0 + timedelta(seconds=i)
        hot = 60 <= i < 90
        temperature = 31.0 + (i % 5) / 10 if hot else 22.0 + (i % 7) / 10
        reading = {"temperature_c": temperature, "humidity_pct": 55.0 + (i % 3), "pump_on": False}
        lines.append(record(t, "ClimateReading", reading))
        if i == 60:
            raised = {"metric": "temperature", "value": temperature, "limit": 30.0, "message": "too hot"}
            lines.append(record(t, "AlertRaised", raised))
        if i == 90:
            lines.append(record(t, "AlertCleared", {"metric": "temperature", "value": temperature}))
    path.write_text("".join(line + "\n" for line in lines))


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[str]:
    log = tmp_path / "greenhouse.jsonl"
    write_recording(log)
    env = dict(os.environ)
    env.update(
        BUSSDCC_PLUGINS="replay,web",
        BUSSDCC_WEB_PORT="0",
        BUSSDCC_WEB_HOST="127.0.0.1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(GREENHOUSE), env.get("PYTHONPATH")])),
    )
    env.pop("BUSSDCC_WEB_TOKEN", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bussdcc_framework",
            "replay",
            str(log),
            "--app",
            str(GREENHOUSE / "app.py"),
            "--paused",
            "--hold",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    timer = threading.Timer(120, proc.kill)
    timer.start()
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:
            lines.append(line)
            match = SERVING.search(line.strip())
            if match:
                break
        else:
            raise AssertionError("".join(lines))
        yield match.group(1)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        finally:
            timer.cancel()


def call(url: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_greenhouse_page_shows_history_in_a_replay_and_switches_nothing(
    replay: str, browser: Any
) -> None:
    code, status = call(replay + "/api/replay/seek", {"to": (T0 + timedelta(seconds=120.5)).isoformat()})
    assert code == 200 and status["position"] == (T0 + timedelta(seconds=120.5)).isoformat()
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.set_default_timeout(20_000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(replay + "/plugins/greenhouse/")
        assert "replay run" in str(page.locator(".stat-sub").last.text_content())
        page.wait_for_function(
            "() => window.greenhouseChart && window.greenhouseChart.data[0].length === 121"
        )
        temperatures = page.evaluate("() => window.greenhouseChart.data[1]")
        assert temperatures[60] == 31.0 and temperatures[0] == 22.0
        page.wait_for_selector("#alert-log li[data-kind='cleared']")
        kinds = page.eval_on_selector_all("#alert-log li", "items => items.map((i) => i.dataset.kind)")
        assert kinds == ["cleared", "raised"]  # newest first
        for button in ("#pump-on", "#pump-off"):
            assert page.locator(button).is_disabled()
        # seek back before the alert: the history and the chart are those of that time
        call(replay + "/api/replay/seek", {"to": (T0 + timedelta(seconds=30.5)).isoformat()})
        page.wait_for_function("() => window.greenhouseChart.data[0].length === 31")
        page.wait_for_selector("#alert-log li:not([data-kind])")  # "no alert yet"
    finally:
        page.close()
    assert errors == []
    code, answer = call(replay + "/plugins/greenhouse/pump", {"on": True})
    assert code == 409 and answer["error"] == "replaying"
    code, state = call(replay + "/api/state?path=greenhouse")
    assert state["value"]["readings"] == 31 and state["value"].get("pump") is None
