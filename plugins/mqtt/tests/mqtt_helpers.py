"""Small helpers shared by the mqtt tests: a plain paho client that records what it receives,
and waiting on conditions (never on wall-clock bounds: the test machine is busy)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
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
    ) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"peer-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
            transport=transport,  # type: ignore[arg-type]
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.messages: list[mqtt.MQTTMessage] = []
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
        with self.lock:
            self.messages.append(message)

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
