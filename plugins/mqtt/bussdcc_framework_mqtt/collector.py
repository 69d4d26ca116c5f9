"""The collector: one persistent MQTT session that records the whole fleet, exactly once.

It subscribes to every node's events, status, birth and command results, with a persistent
session (clean start off, a session expiry), so the broker queues what arrives while the
collector is down. Events are validated (shape, node named in the topic, type name, time),
de-duplicated on (node, boot, seq) and written to ``DIR/<site>/<node>/`` before paho
acknowledges them (it sends the PUBACK after ``on_message`` returns): a collector killed at
any moment loses nothing and, because the de-duplication state is rebuilt from the files,
writes nothing twice.

Nothing named in a payload is ever imported: ``data`` stays raw JSON from the wire to the file.
Bad input (garbage, invalid UTF-8, huge payloads, wrong field types, a status or event claiming
another node than its topic) is counted per kind and reported once per kind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from bussdcc.context import ContextProtocol
from bussdcc.message import Message
from bussdcc.service import Service

from bussdcc_framework.codec import split_type_name
from bussdcc_framework.report import describe

from . import payload
from .config import MqttConfig
from .fleet import FleetState
from .messages import FleetNodeStatus, MqttBadInput, MqttConnected, MqttDisconnected
from .recording import FleetRecording
from .reporting import Reporter, connect_failed, printable, report
from .topics import FleetTopics, ParsedTopic

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

    from .client import TlsErrors, Unreachable

#: How often the de-duplication state is checkpointed (and rates updated).
CHECKPOINT_INTERVAL = 5.0


class _Wire(msgspec.Struct):
    """An event as received; ``time`` kept as sent (checked separately), ``data`` raw."""

    time: str
    type: str
    data: msgspec.Raw
    site: str
    node: str
    boot: str
    seq: int
    historical: bool = False
    severity: str | None = None


_WIRE = msgspec.json.Decoder(_Wire)
_OBJECT = msgspec.json.Decoder(dict[str, Any])
_ENCODE = msgspec.json.encode


class BadInput(Exception):
    """A message that is refused: ``kind`` is what the count and the report are keyed by."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class Collector:
    """Records the fleet under ``root``; ``emit`` receives the collector's own messages."""

    def __init__(
        self,
        config: MqttConfig,
        root: Path | None = None,
        *,
        emit: Callable[[Message], None] | None = None,
        fleet: FleetState | None = None,
    ) -> None:
        if config.address is None:
            raise ValueError("Collector needs a broker address (mqtt.url)")
        self.config = config
        self.address = config.address
        self.root = Path(root if root is not None else config.collect_dir)
        self.topics = FleetTopics(config.prefix)
        self.fleet = fleet if fleet is not None else FleetState()
        self._emit_message = emit
        self._recording: FleetRecording | None = None
        self._client: mqtt.Client | None = None
        self._tls_errors: TlsErrors | None = None
        self._reporter = Reporter("collector")
        self.bad: dict[str, int] = {}
        self._bad_lock = threading.Lock()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.failed_attempts = 0  # connection attempts that failed before TLS and MQTT
        self._answered = False  # whether the broker answered (CONNACK) the current attempt
        self._outage_reported = False
        self._last_checkpoint = time.monotonic()
        self._good_types: set[str] = set()
        self.received = 0
        self.written = 0
        self.duplicates = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        from .client import TlsErrors, connect_properties, make_client

        self._recording = FleetRecording(
            self.root, interval=self.config.collect_interval, report=self._on_report
        )
        client = make_client(
            self.address,
            self.config.collect_id,
            username=self.config.username,
            password=self.config.password,
            tls=self.config.tls,
            inflight=self.config.inflight,
            reconnect_min=self.config.reconnect_min,
            reconnect_max=self.config.reconnect_max,
            connect_timeout=self.config.connect_timeout,
        )
        self._tls_errors = TlsErrors.watch(client) if self.config.tls is not None else None
        client.on_pre_connect = self._on_pre_connect
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._client = client
        client.connect_async(
            self.address.host,
            self.address.port,
            self.config.keepalive,
            clean_start=False,
            properties=connect_properties(self.config.session_expiry),
        )
        client.loop_start()

    def stop(self) -> None:
        client = self._client
        if client is not None:
            client.disconnect()
            client.loop_stop()
            self._client = None
        if self._recording is not None:
            self._recording.close()
            self._recording = None

    def tick(self) -> None:
        """Update rates; checkpoint the de-duplication state now and then (call every second)."""
        self.fleet.tick()
        now = time.monotonic()
        if self._recording is not None and now - self._last_checkpoint >= CHECKPOINT_INTERVAL:
            self._last_checkpoint = now
            self._recording.checkpoint()

    def send_command(
        self, site: str, node: str, type_name: str, data: dict[str, Any], expiry: float = 60.0
    ) -> str:
        """Publish a command to ``site/node`` through the collector's connection; its id.

        The answer arrives on the node's ``cmd_res`` (which the collector records in the fleet
        state); the command expires on the broker after ``expiry`` seconds.
        """
        import uuid

        from .client import PacketTypes, Properties
        from .topics import check_level, type_level

        check_level(site, "the site")
        check_level(node, "the node")
        client = self._client
        if client is None or not self.connected.is_set():
            raise ConnectionError(f"not connected to the broker {self.address}")
        command_id = uuid.uuid4().hex
        topics = self.topics.node(site, node)
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.MessageExpiryInterval = max(1, round(expiry))
        props.ResponseTopic = topics.cmd_res
        props.CorrelationData = command_id.encode()
        body = {"id": command_id, "type": type_name, "data": data, "node": node, "sender": "fleet page"}
        client.publish(topics.cmd(type_level(type_name)), _ENCODE(body), qos=1, properties=props)
        self.fleet.result(site, node, {"id": command_id, "type": type_name, "status": "sent", "ok": None})
        return command_id

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Until connected and subscribed (tests, the CLI)."""
        return self.subscribed.wait(timeout)

    # -- paho callbacks ----------------------------------------------------------------------

    def _on_pre_connect(self, client: mqtt.Client, userdata: Any) -> None:
        self._answered = False

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._answered = True
        if reason.is_failure:
            self._reporter.error(self._emit, "connect", f"the broker refused: {reason}")
            return
        self.connected.set()
        self._outage_reported = False
        if self._reporter.forget("connect"):  # a failure was reported: say it is over
            report(f"bussdcc mqtt: collector connected to the broker {self.address} again; recording")
        client.subscribe([(f, 1) for f in self.topics.filters("evt", "status", "birth", "cmd_res")])
        self._emit(
            MqttConnected(
                broker=str(self.address),
                node=self.config.collect_id,
                session=0,
                session_present=bool(flags.session_present),
                backlog=0,
            )
        )

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        if self._recording is not None:
            self._recording.checkpoint()  # the checkpoint file also tells others we are ready
        self.subscribed.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        why = connect_failed(self._tls_errors, self._tls_refusal, self.address)
        self.failed_attempts += 1
        self._unreachable(why)

    def _unreachable(self, why: Unreachable | None) -> None:
        """Report a broker that cannot be reached, once per kind of cause and outage."""
        from .client import unreachable_line

        if why is None:  # a TLS refusal (reported on its own) or something paho did not say
            return
        line = unreachable_line(
            why,
            self.address,
            "mqtt.url (--broker, BUSSDCC_MQTT_URL)",
            "retrying with backoff; nothing is lost meanwhile (devices keep their events in their "
            "outboxes, the broker in the collector's session)",
        )
        self._reporter.error(self._emit, "connect", line, kind=f"reach-{why.kind}")
        self._disconnected(why.cause)

    def _tls_refusal(self) -> None:
        """One clear line for a TLS error paho met before the broker's answer, once per kind.

        After a CONNACK a TLS error is a lost link, not a refusal: it is only taken.
        """
        from .client import tls_advice

        error = self._tls_errors.take() if self._tls_errors is not None else None
        if error is not None and not self.connected.is_set():
            advice = tls_advice(error, self.address, self.config.tls)
            line = f"{advice.line} (retrying with backoff)"
            self._reporter.error(self._emit, "connect", line, kind=f"tls-{advice.kind}")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        from .client import reason_text, unanswered

        self._tls_refusal()  # a broker refuses a TLS 1.3 client certificate after the handshake
        self.connected.clear()
        self.subscribed.clear()
        why = unanswered(self._answered, reason)
        if why is not None:
            self.failed_attempts += 1
            self._unreachable(why)
        else:
            self._disconnected(reason_text(reason))

    def _disconnected(self, reason: str) -> None:
        """One MqttDisconnected per outage (the first failed attempt or the lost link)."""
        if not self._outage_reported:
            self._outage_reported = True
            self._emit(
                MqttDisconnected(
                    broker=str(self.address), node=self.config.collect_id, reason=reason, backlog=0
                )
            )

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.received += 1
        try:
            self.handle(message.topic, message.payload)
        except BadInput as exc:
            self._bad(exc.kind, message.topic, exc.detail)
        except Exception as exc:  # never let one message stop the collector
            self._bad("internal", message.topic, describe(exc))

    # -- the messages ---------------------------------------------------------------------

    def handle(self, topic: str, body: bytes | bytearray) -> None:
        """Process one message; ``BadInput`` when it is refused."""
        parsed = self.topics.parse(topic)
        if parsed is None:
            raise BadInput("bad_topic", "not a topic of this fleet")
        if len(body) > payload.MAX_PAYLOAD:
            raise BadInput("too_large", f"{len(body)} bytes, more than {payload.MAX_PAYLOAD}")
        if parsed.kind == "evt":
            self._event(parsed, body)
        elif parsed.kind == "status":
            self._status(parsed, body)
        elif parsed.kind == "birth":
            if not body:
                return  # a cleared retained birth
            data = self._object(body)
            self._check_node(parsed, data.get("node"), data.get("site"))
            self.fleet.birth(parsed.site, parsed.node, data)
        elif parsed.kind == "cmd_res":
            data = self._object(body)
            self.fleet.result(parsed.site, parsed.node, data)

    def _object(self, body: bytes | bytearray) -> dict[str, Any]:
        try:
            return _OBJECT.decode(body)
        except msgspec.ValidationError as exc:
            raise BadInput("bad_envelope", str(exc)) from None
        except msgspec.DecodeError as exc:
            raise BadInput("bad_json", str(exc)) from None

    @staticmethod
    def _check_node(parsed: ParsedTopic, node: object, site: object) -> None:
        if node != parsed.node or site != parsed.site:
            raise BadInput(
                "wrong_node",
                f"the payload says {site!s:.40}/{node!s:.40}, the topic {parsed.site}/{parsed.node}",
            )

    def _event(self, parsed: ParsedTopic, body: bytes | bytearray) -> None:
        try:
            wire = _WIRE.decode(body)
        except msgspec.ValidationError as exc:
            raise BadInput("bad_envelope", str(exc)) from None
        except msgspec.DecodeError as exc:
            raise BadInput("bad_json", str(exc)) from None
        self._check_node(parsed, wire.node, wire.site)
        if wire.type not in self._good_types:
            try:
                split_type_name(wire.type)
            except Exception:
                raise BadInput("bad_type_name", f"{wire.type!r:.80} is not module:QualName") from None
            if len(self._good_types) < 4096:
                self._good_types.add(wire.type)
        try:
            when = datetime.fromisoformat(wire.time)
        except ValueError:
            raise BadInput("bad_time", f"{wire.time!r:.60} is not an ISO-8601 time") from None
        if when.tzinfo is None:
            raise BadInput("bad_time", f"{wire.time!r:.60} has no UTC offset")
        data = bytes(wire.data)
        if data[:1] != b"{":
            raise BadInput("bad_envelope", "data is not a JSON object")
        if wire.severity is not None and wire.severity not in payload.SEVERITIES:
            raise BadInput(
                "bad_envelope",
                f"severity {wire.severity!r:.40} is not one of {', '.join(payload.SEVERITIES)}",
            )
        # Written as received when it is one line: a valid record line already (checked above),
        # and the values checked are the ones every msgspec-based reader will see. Pretty-printed
        # JSON is re-encoded: one record must stay one line.
        line = self._one_line(wire) if b"\n" in body or b"\r" in body else bytes(body)
        assert self._recording is not None
        written = self._recording.record(
            parsed.site, parsed.node, wire.boot, wire.seq, when, line, wire.type, wire.severity
        )
        if written:
            self.written += 1
            self.fleet.event(
                parsed.site, parsed.node, (wire.time, wire.type, data, wire.seq, wire.historical)
            )
        else:
            self.duplicates += 1
            self.fleet.event(parsed.site, parsed.node, None, duplicate=True)

    @staticmethod
    def _one_line(wire: _Wire) -> bytes:
        data = _ENCODE(msgspec.json.decode(wire.data))
        return b"".join(
            (
                b'{"time":',
                _ENCODE(wire.time),
                b',"type":',
                _ENCODE(wire.type),
                b',"data":',
                data,
                b',"severity":' + _ENCODE(wire.severity) if wire.severity is not None else b"",
                b',"site":',
                _ENCODE(wire.site),
                b',"node":',
                _ENCODE(wire.node),
                b',"boot":',
                _ENCODE(wire.boot),
                b',"seq":',
                str(wire.seq).encode(),
                b',"historical":true}' if wire.historical else b',"historical":false}',
            )
        )

    def _status(self, parsed: ParsedTopic, body: bytes | bytearray) -> None:
        if not body:
            return  # a cleared retained status
        try:
            status = payload.STATUS_DECODER.decode(body)
        except msgspec.ValidationError as exc:
            raise BadInput("bad_envelope", str(exc)) from None
        except msgspec.DecodeError as exc:
            raise BadInput("bad_json", str(exc)) from None
        self._check_node(parsed, status.node, status.site)
        if status.state not in ("online", "offline"):
            raise BadInput("bad_envelope", f"state {status.state!r:.40} is not online or offline")
        online = status.state == "online"
        if not self.fleet.status(parsed.site, parsed.node, online, status.boot, status.session, status.time):
            return
        message = FleetNodeStatus(
            site=parsed.site, node=parsed.node, online=online, boot=status.boot, session=status.session
        )
        self._emit(message)

    # -- reporting ------------------------------------------------------------------------

    def _bad(self, kind: str, topic: str, detail: str) -> None:
        with self._bad_lock:
            count = self.bad[kind] = self.bad.get(kind, 0) + 1
        if count != 1:
            return
        report(
            f"bussdcc mqtt: collector refused a message ({kind}) on {printable(topic)[:200]}: "
            f"{printable(detail)[:200]}; further ones of this kind are only counted"
        )
        self._emit(
            MqttBadInput(
                component="collector", kind=kind, topic=topic[:200], detail=detail[:200], count=count
            )
        )

    def _on_report(self, message: Message, line: str) -> None:
        report(line)
        self._emit(message)

    def _emit(self, message: Message) -> None:
        if self._emit_message is not None:
            try:
                self._emit_message(message)
            except Exception:
                pass


class CollectorService(Service):
    """The collector inside a runtime (``mqtt.mode=collector`` or ``both`` under ``bussdcc run``)."""

    name = "mqtt-collector"
    interval = 1.0

    def __init__(self, config: MqttConfig, fleet: FleetState | None = None) -> None:
        self.config = config
        self.fleet = fleet if fleet is not None else FleetState()
        self.collector: Collector | None = None

    def start(self, ctx: ContextProtocol) -> None:
        self.collector = Collector(self.config, emit=ctx.emit, fleet=self.fleet)
        self.collector.start()

    def tick(self, ctx: ContextProtocol) -> None:
        if self.collector is not None:
            self.collector.tick()

    def stop(self, ctx: ContextProtocol) -> None:
        if self.collector is not None:
            self.collector.stop()
            self.collector = None
