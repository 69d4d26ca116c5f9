"""Small helpers shared by the mqtt tests: a plain paho client that records what it receives,
and waiting on conditions (never on wall-clock bounds: the test machine is busy)."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def wait_for_count(count: Callable[[], int], target: int, what: str, stall: float = 30.0) -> int:
    """Poll ``count()`` until it reaches ``target``; fail only if it stops growing for ``stall`` s.

    For big transfers (thousands of messages): how long they take depends on how busy the
    machine is, so no total time bound; a transfer that stopped is what fails.
    """
    best, moved = count(), time.monotonic()
    while best < target:
        if time.monotonic() - moved > stall:
            raise AssertionError(f"{what}: stuck at {best} of {target} for {stall:g} s")
        time.sleep(0.2)
        now = count()
        if now > best:
            best, moved = now, time.monotonic()
    return best


class Peer:
    """A paho MQTT 5 client on its own network thread that keeps every message it receives."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str | None = None,
        clean_start: bool = True,
        session_expiry: int = 0,
        keepalive: int = 30,
        transport: str = "tcp",
        username: str | None = None,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"peer-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
            transport=transport,  # type: ignore[arg-type]
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls is not None:
            self.client.tls_set_context(tls)
        self.messages: list[mqtt.MQTTMessage] = []
        self.arrivals: list[float] = []  # time.monotonic() of each message, as it arrived
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.disconnects = 0
        self.connects = 0
        self.refused: ReasonCode | None = None
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        props = Properties(mqtt.PacketTypes.CONNECT)  # type: ignore[attr-defined]
        if session_expiry:
            props.SessionExpiryInterval = session_expiry
        self.client.max_inflight_messages_set(100)
        self.client.connect_async(host, port, keepalive, clean_start=clean_start, properties=props)
        self.client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        if reason.is_failure:
            self.refused = reason
            return
        self.connects += 1
        self.connected.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.disconnects += 1
        self.connected.clear()

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        arrived = time.monotonic()
        with self.lock:
            self.messages.append(message)
            self.arrivals.append(arrived)

    def wait_connected(self, timeout: float = 20.0) -> Peer:
        wait_for(self.connected.is_set, timeout, "the MQTT connection")
        return self

    def subscribe(self, topic: str, qos: int = 1) -> None:
        self.wait_connected()
        done = threading.Event()
        self.client.on_subscribe = lambda *args: done.set()
        self.client.subscribe(topic, qos)
        wait_for(done.is_set, 20, f"SUBACK for {topic}")

    def received(self, prefix: str = "") -> list[mqtt.MQTTMessage]:
        with self.lock:
            return [m for m in self.messages if m.topic.startswith(prefix)]

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, **kwargs: Any) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos, **kwargs)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


APPS = Path(__file__).parent / "apps"
BUSSDCC = Path(sys.executable).parent / "bussdcc"


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a child process: no BUSSDCC_* from the caller, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
    env["PYTHONPATH"] = str(APPS)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def fleet(url: str, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``bussdcc fleet ARGV --broker URL`` to its end (mqtt plugin only, ``env`` added)."""
    return subprocess.run(
        [str(BUSSDCC), "fleet", *argv, "--broker", url],
        env=clean_env({"BUSSDCC_PLUGINS": "mqtt", **(env or {})}),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


#: Every process the helpers started; the conftest kills what a test left running.
STARTED: list[subprocess.Popen[str]] = []


def kill_leftovers() -> None:
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait()


class Device:
    """``bussdcc run`` of a test app as a real subprocess (a device of the fleet)."""

    def __init__(
        self,
        url: str,
        workdir: Path,
        *,
        node: str = "dev1",
        app: str = "counter_app.py",
        plugins: str = "mqtt",
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.node = node
        self.env = clean_env(
            {
                "BUSSDCC_PLUGINS": plugins,
                "BUSSDCC_MQTT_URL": url,
                "BUSSDCC_MQTT_NODE": node,
                "BUSSDCC_MQTT_OUTBOX": str(workdir / "outbox"),
                "BUSSDCC_MQTT_KEEPALIVE": "2",
                "BUSSDCC_MQTT_RECONNECT_MIN": "0.2",
                "BUSSDCC_MQTT_RECONNECT_MAX": "1",
                "COUNTER_MARKER": str(workdir / "marker"),
                **(env or {}),
            }
        )
        self.args = args
        self.app = str(APPS / app)
        self.process: subprocess.Popen[str] | None = None
        self.stderr_path = workdir / "stderr.log"
        self.runs = 0

    def start(self, **extra: str) -> Device:
        marker = self.workdir / "marker"
        marker.unlink(missing_ok=True)
        self.runs += 1
        with open(self.stderr_path, "a") as err:
            self.process = subprocess.Popen(
                [str(BUSSDCC), "run", self.app, *self.args],
                env={**self.env, **extra},
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                text=True,
            )
        STARTED.append(self.process)
        return self

    def wait_emitted(self, timeout: float = 60) -> None:
        """Until the app says every Tick is in the outbox (``COUNTER_MARKER``)."""
        wait_for(lambda: (self.workdir / "marker").exists() or self._died(), timeout, "the device's marker")
        assert not self._died(), self.stderr()

    def _died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def kill(self) -> None:
        """SIGKILL: no clean stop, no offline status, nothing flushed beyond the outbox."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait (a clean stop)."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout)

    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""


def events(peer: Peer, node: str, type_level: str = "tick") -> list[dict[str, Any]]:
    """The decoded event payloads ``peer`` received from ``node`` on ``evt/<type_level>``."""
    return [json.loads(m.payload) for m in peer.received(f"bussdcc/v1/default/{node}/evt/{type_level}")]


def unique_ns(payloads: list[dict[str, Any]]) -> list[int]:
    """The Tick numbers after de-duplication by (node, boot, seq), sorted."""
    seen: dict[tuple[str, str, int], int] = {}
    for p in payloads:
        seen[(p["node"], p["boot"], p["seq"])] = p["data"]["n"]
    return sorted(seen.values())


class CollectorProcess:
    """``bussdcc fleet collect`` as a real subprocess."""

    def __init__(
        self,
        url: str,
        record: Path,
        workdir: Path,
        *,
        plugins: str = "mqtt",
        env: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.record = record
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.env = clean_env({"BUSSDCC_PLUGINS": plugins, "BUSSDCC_MQTT_KEEPALIVE": "2", **(env or {})})
        self.process: subprocess.Popen[str] | None = None
        self.stderr_path = workdir / "collector.log"

    def start(self) -> CollectorProcess:
        with open(self.stderr_path, "a") as err:
            self.process = subprocess.Popen(
                [str(BUSSDCC), "fleet", "collect", "--broker", self.url, "--record", str(self.record)],
                env=self.env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                text=True,
            )
        STARTED.append(self.process)
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 30) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout)

    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""


def recorded(root: Path, node: str = "dev1", site: str = "default") -> list[dict[str, Any]]:
    """Every record the collector wrote for ``site/node``, in file order."""
    out: list[dict[str, Any]] = []
    for path in sorted((root / site / node).glob("*/*.jsonl")):
        for line in path.read_bytes().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def recorded_ticks(root: Path, node: str = "dev1", site: str = "default") -> list[int]:
    return [r["data"]["n"] for r in recorded(root, node, site) if r.get("type") == "counter_app:Tick"]
