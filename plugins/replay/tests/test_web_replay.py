"""The web plugin sees replayed events: ``bussdcc replay --hold`` with the web UI on a free port."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from replay_helpers import ORIGINAL, cli_env

pytest.importorskip("bussdcc_framework_web")

SERVING = re.compile(r"bussdcc web: serving on (http://\S+?)/(?:\?token=(\S+))?$")


def test_web_plugin_serves_the_replayed_events(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bussdcc_framework",
            "replay",
            str(ORIGINAL),
            "--speed",
            "0",
            "--hold",
            "--import",
            "greenhouse",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=cli_env(
            BUSSDCC_PLUGINS="replay,identity,web", BUSSDCC_WEB_PORT="0", BUSSDCC_WEB_HOST="127.0.0.1"
        ),
    )
    assert proc.stderr is not None
    lines: list[str] = []
    base = token = None
    held = False
    timer = threading.Timer(60, proc.kill)  # never hang the suite
    timer.start()
    try:
        for line in proc.stderr:
            lines.append(line)
            match = SERVING.search(line.strip())
            if match:
                base, token = match.group(1), match.group(2)
            if "holding the runtime up" in line:
                held = True
                break
        assert held and base is not None, "".join(lines)

        url = f"{base}/api/events?limit=500"
        request = urllib.request.Request(url)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        finally:
            timer.cancel()

    assert proc.returncode == 0, "".join(lines) + err
    events = body["events"]
    types = [e["type"] for e in events]
    # Every replayed application record is there, with its recorded time and data.
    readings = [
        (e["time"], e["data"]["sensor"], e["data"]["percent"])
        for e in events
        if e["type"] == "greenhouse.messages:SoilMoisture"
    ]
    assert readings == [
        ("2026-03-09T12:00:01.000317+00:00", "bed-1", 41.5),
        ("2026-03-09T12:00:01.000544+00:00", "bed-2", 38.25),
        ("2026-03-09T12:00:02.000611+00:00", "bed-1", 41.0),
        ("2026-03-09T12:00:04.000280+00:00", "bed-2", 37.75),
    ]
    assert types.count("greenhouse.messages:WateringStarted") == 1
    assert types.count("greenhouse.messages:PumpFault") == 1
    identities = [e for e in events if e["type"] == "bussdcc_framework.message.system:SystemIdentityEvent"]
    assert [e["data"]["hostname"] for e in identities] == ["greenhouse-pi"]  # the recorded one
