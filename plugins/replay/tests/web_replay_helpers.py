"""A replay with the web interface on a real server (127.0.0.1, a free port), for the tests of
the replay's web API and pages. A plain module, like ``replay_helpers``."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bussdcc_framework_replay import JsonlSource, ReplayRuntime
from bussdcc_framework_web import WebInterface
from greenhouse.app import GreenhouseState
from replay_helpers import PumpFault, SoilMoisture, WateringStarted, Zone, at, event, registry, write_log

from bussdcc_framework.message import SystemIdentityEvent

#: The recorded machine (not the one running the tests).
RECORDED_HOST = "greenhouse-pi"
RECORDED_VERSIONS = {"bussdcc-framework": "0.29.0", "greenhouse": "1.2.3"}
#: Readings every half second for this many seconds; the pump fault in the middle.
SECONDS = 120
FAULT_AT = 60.25


def greenhouse_log(root: Path) -> Path:
    """Identity, two beds read every 0.5 s, a watering every 20 s, one pump fault."""
    events = [
        event(
            0,
            SystemIdentityEvent(
                hostname=RECORDED_HOST, model="Raspberry Pi 4", arch="aarch64", versions=RECORDED_VERSIONS
            ),
        )
    ]
    for i in range(SECONDS * 2):
        t = 0.5 + i * 0.5
        events.append(event(t, SoilMoisture(sensor=f"bed-{i % 2}", percent=round(30 + (i % 40) / 2, 2))))
        if i % 40 == 39:
            events.append(event(t, WateringStarted(zone=Zone.NORTH, seconds=5)))
    events.append(event(FAULT_AT, PumpFault(code=3, text="dry run")))
    events.sort(key=lambda e: e.time)
    return write_log(root / "greenhouse.jsonl", events)


def readings_before(t: datetime) -> int:
    """How many readings the recording holds before ``t``."""
    return sum(1 for i in range(SECONDS * 2) if at(0.5 + i * 0.5) < t)


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class WebReplay:
    """A ``ReplayRuntime`` with ``GreenhouseState`` and a ``WebInterface``, replaying on a thread."""

    def __init__(
        self,
        log: Path,
        *,
        speed: float = 1.0,
        paused: bool = True,
        services: tuple[Any, ...] = (),
        **web: Any,
    ) -> None:
        self.runtime = ReplayRuntime(speed=speed)
        self.runtime.add_process(GreenhouseState())
        for service in services:
            self.runtime.add_service(service)
        web.setdefault("port", 0)
        web.setdefault("host", "127.0.0.1")
        web.setdefault("message_types", [SoilMoisture, WateringStarted, PumpFault])
        self.web = WebInterface(**web)
        self.runtime.add_interface(self.web)
        self.source = JsonlSource(log, registry=registry())
        self.speed = speed
        self.paused = paused
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="test-replay", daemon=True)
        self.token: str | None = web.get("token")

    def _run(self) -> None:
        try:
            self.runtime.replay(self.source, speed=self.speed, hold=True, paused=self.paused)
        except BaseException as exc:  # pragma: no cover - shown by the test
            self.errors.append(exc)

    def __enter__(self) -> WebReplay:
        self.thread.start()
        wait_until(
            lambda: self.web.records is not None and self.runtime.controller.running, what="the replay"
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.runtime.stop_replay()
        self.thread.join(30)
        assert not self.thread.is_alive()
        assert not self.errors, self.errors

    @property
    def url(self) -> str:
        return self.web.url

    @property
    def ctl(self) -> Any:
        return self.runtime.controller

    def call(
        self,
        path: str,
        body: Any = None,
        *,
        method: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        """(status, parsed JSON) of a request to the server."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method)
        if body is not None and raw is None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def get(self, path: str) -> Any:
        status, body = self.call(path)
        assert status == 200, (path, status, body)
        return body

    def post(self, path: str, body: Any = None) -> Any:
        status, answer = self.call(path, {} if body is None else body, method="POST")
        assert status == 200, (path, status, answer)
        return answer
