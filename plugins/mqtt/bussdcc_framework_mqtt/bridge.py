"""The device bridge: a sink that sends every event to the broker through an on-disk outbox.

Path of an event: ``handle`` (the emitting thread) encodes it with the recorder's codec and
appends it to a short in-memory queue; the bridge thread moves the queue into the outbox in one
sqlite transaction (a seq per boot is given here, in outbox order), hands the oldest waiting
rows to paho (at most a window of them at a time), and deletes rows when paho reports their
PUBACK. A disconnect changes nothing but the pace: rows wait on disk, paho re-sends what it had
in flight, and after a restart the whole outbox is sent again from the start (the collector
de-duplicates on node, boot and seq). Broker down at start is no error: the bridge connects
when it can, with backoff.

Presence: the will (``status`` offline) and the birth (``status`` online, then ``birth``) carry
the boot id and a session counter persisted on disk, so the central side can tell a late will
from a newer birth. A clean stop publishes ``offline`` itself (no will is sent then).
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message

from bussdcc_framework.codec import Codec, EncodeError, TypeRegistry, type_name
from bussdcc_framework.codec.nanplan import NONFINITE, NanCheck, Probe, nan_plan
from bussdcc_framework.patterns import TypePatterns
from bussdcc_framework.report import describe
from bussdcc_framework.runtime import is_replaying

from . import payload
from .config import MqttConfig
from .messages import MqttBacklog, MqttConnected, MqttDisconnected, MqttError, MqttOutboxDropped
from .outbox import NewEvent, Outbox, SessionCounter
from .reporting import Reporter, connect_failed, report
from .topics import NodeTopics

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

    from .client import TlsErrors, Unreachable
    from .commands import CommandHandler

#: Events waiting for the bridge thread before new ones are dropped (and counted).
QUEUE_LIMIT = 100_000
#: How often the bridge looks at ages, backlog reports and the connection when idle.
TICK = 0.5
#: Longest wait for more acknowledgements while messages are in flight.
ACK_WAIT = 0.02
#: Messages handed to paho at most, in multiples of ``mqtt.inflight``.
WINDOW_FACTOR = 10
#: At most one MqttBacklog report per this many seconds while the backlog changes.
BACKLOG_REPORT_INTERVAL = 5.0
#: At most one MqttOutboxDropped report (per reason) per this many seconds.
DROP_REPORT_INTERVAL = 5.0


def _ignore(evt: Event[Message]) -> None:
    """The bridge's ``handle`` in a replay."""


#: Per message class: its topic, its severity tail, and how to find a NaN (``nanplan``).
_ClassPlan = tuple[str, bytes, NanCheck | None, Probe | None]


class MqttBridge:
    """Sink: every event the type filters allow goes to ``<prefix>/v1/<site>/<node>/evt/<type>``.

    ``birth`` (optional) returns extra fields for the birth message (versions, emittable types);
    the plugin fills it from the runtime. ``on_command`` (optional) receives command messages.
    """

    name = "mqtt"

    def __init__(
        self,
        config: MqttConfig,
        *,
        codec: Codec | None = None,
        birth: Callable[[ContextProtocol | None], dict[str, Any]] | None = None,
        commands: CommandHandler | None = None,
    ) -> None:
        if config.address is None:
            raise ValueError("MqttBridge needs a broker address (mqtt.url)")
        self.config = config
        self.address = config.address
        self.topics = NodeTopics(config.prefix, config.site, config.node)
        self.patterns = TypePatterns(include=config.include, exclude=config.exclude)
        self.boot = uuid.uuid4().hex
        self._codec = codec if codec is not None else Codec(TypeRegistry(include_imported=False))
        self._birth = birth
        self.commands = commands
        self._head = payload.EnvelopeHead(config.site, config.node, self.boot)
        self._topic_of: dict[type, _ClassPlan] = {}  # topic, severity, NaN check and probe
        self._queue: deque[NewEvent] = deque()
        self._acks: deque[int] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ctx: ContextProtocol | None = None
        self._client: mqtt.Client | None = None
        self._tls_errors: TlsErrors | None = None
        self._outbox: Outbox | None = None
        self._session = SessionCounter(config.outbox)
        self._reporter = Reporter("bridge")
        self.connected = False
        self.failed_attempts = 0  # connection attempts that failed before TLS and MQTT
        self._answered = False  # whether the broker answered (CONNACK) the current attempt
        self.session = 0
        self.seq = 0
        self.sent = 0  # acknowledged by the broker
        self.queue_dropped = 0
        self._inflight: dict[int, tuple[int, int]] = {}  # paho mid -> (outbox row id, size)
        # paho sends the next queued message itself as each PUBACK arrives: handing it a window
        # of many in-flight sizes keeps the bridge thread's work to a few large batches.
        self._window = WINDOW_FACTOR * config.inflight
        self._ack_batch = max(1, self._window // 4)
        self._last_handed = 0
        self._events: deque[tuple[str, Any]] = deque()  # connection changes for the bridge thread
        self._state_lock = threading.Lock()
        self._last_backlog_report = 0.0
        self._reported_backlog = 0
        self._outage_reported = False
        self._dropped_reported: dict[str, int] = {}
        self._last_drop_report = float("-inf")
        self._unencodable: set[type] = set()
        self._fast_handle = self._make_handle()
        self.handle = self._fast_handle  # type: ignore[method-assign, assignment]

    # -- the hot path ----------------------------------------------------------------------

    def handle(self, evt: Event[Message]) -> None:
        """Encode ``evt`` and queue it for the outbox (replaced per instance by a closure)."""
        self._fast_handle(evt)

    def _make_handle(self) -> Callable[[Event[Message]], None]:
        allows, encode, queue, wake = self.patterns.allows, self._codec.encode_record, self._queue, self._wake
        topic_of, topic_for, is_set = self._topic_of, self._topic_for, wake.is_set
        filtered = bool(self.patterns)
        nonfinite, isfinite = self._nonfinite, math.isfinite

        def handle(evt: Event[Message]) -> None:
            cls = type(evt.payload)
            if filtered and not allows(cls):
                return
            topic, tail, check, probe = topic_of.get(cls) or topic_for(cls)
            try:
                record = encode(evt)
            except EncodeError as exc:
                self._unencodable_event(cls, exc)
                return
            if check is not None:  # a class that can hold a float, which may be a NaN
                if probe is None:
                    if b"null" in record:  # msgspec writes NaN as null: look closer
                        record = nonfinite(evt, check, record)
                else:
                    try:
                        finite = isfinite(probe(evt.payload))
                    except (TypeError, ValueError, OverflowError):  # None, inf - inf, overflow
                        finite = False
                    if not finite:
                        record = nonfinite(evt, check, record)
            if len(queue) >= QUEUE_LIMIT:
                self.queue_dropped += 1
                return
            # The record with its class's severity (the collector has no classes to ask).
            queue.append(NewEvent(evt.time.timestamp(), not self.connected, topic, record[:-1] + tail))
            if not is_set():
                wake.set()

        return handle

    def _topic_for(self, cls: type) -> _ClassPlan:
        plan = nan_plan(cls)
        check, probe = plan if plan is not None else (None, None)
        found = self._topic_of[cls] = (
            self.topics.evt(type_name(cls)),
            payload.severity_tail(cls),
            check,
            probe,
        )
        return found

    def _nonfinite(self, evt: Event[Message], check: NanCheck, record: bytes) -> bytes:
        """The record of an event the probe flagged: a NaN or infinity written as a string.

        msgspec writes them as ``null``, which the collector would record and a float field
        could not decode on replay (see ``bussdcc_framework.codec.nonfinite``).
        """
        if not check(evt.payload) & NONFINITE:
            return record
        try:
            return self._codec.encode_record_nonfinite(evt)
        except Exception:  # encode_record could: send its record (null) rather than nothing
            return record

    def _unencodable_event(self, cls: type, exc: Exception) -> None:
        if cls in self._unencodable:
            return
        self._unencodable.add(cls)
        self._reporter.error(self._emit, "encode", f"{type_name(cls)}: {exc}")

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, ctx: ContextProtocol) -> None:
        """Open the outbox (an error here stops the sink, with a clear message) and connect.

        In a replay the bridge stays off: replayed events are not this node's live events, and
        sent again under a new boot id the collector would record them a second time.
        """
        from .client import TlsErrors, connect_properties, make_client

        if is_replaying(ctx):
            self._queue.clear()
            self.handle = _ignore  # type: ignore[method-assign]
            report("bussdcc mqtt: the bridge stays off during a replay (nothing is sent to the broker)")
            return
        self._ctx = ctx
        self._outbox = Outbox(
            self.config.outbox,
            max_bytes=self.config.outbox_max_size,
            max_age=self.config.outbox_max_age,
        )
        client = make_client(
            self.address,
            self.config.client_id,
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
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self._client = client
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bussdcc-mqtt-bridge", daemon=True)
        self._thread.start()
        client.connect_async(
            self.address.host,
            self.address.port,
            self.config.keepalive,
            clean_start=False,
            properties=connect_properties(self.config.session_expiry),
        )
        client.loop_start()

    def stop(self) -> None:
        """Store what is queued, send the backlog for up to ``drain_timeout``, say offline."""
        client, thread = self._client, self._thread
        if thread is None or client is None:
            return
        deadline = time.monotonic() + self.config.drain_timeout
        self._stop.set()
        self._wake.set()
        thread.join()
        # The thread has stored everything; keep publishing while the broker takes it.
        while self.connected and time.monotonic() < deadline and self._drain_once():
            time.sleep(0.01)
        if self.connected:
            info = client.publish(
                self.topics.status,
                payload.status_payload(
                    "offline", self.config.site, self.config.node, self.boot, self.session
                ),
                qos=1,
                retain=True,
            )
            try:
                info.wait_for_publish(max(0.5, deadline - time.monotonic()))
            except (RuntimeError, ValueError):
                pass
            self._drain_acks()
        client.disconnect()
        client.loop_stop()
        self._drain_acks()
        if self.commands is not None:
            self.commands.close()
        if self._outbox is not None:
            self._outbox.close()
        self._thread = None
        self._client = None

    def _drain_once(self) -> bool:
        """One publishing round from the calling thread (at stop); False when all is sent."""
        self._drain_acks()
        self._publish_more()
        return self._outbox is not None and self._outbox.count > 0

    # -- paho callbacks (paho's network thread) ----------------------------------------------

    def _on_pre_connect(self, client: mqtt.Client, userdata: Any) -> None:
        # Every attempt gets a new session number, persisted before the will is sent with it.
        self.session = self._session.next()
        self._answered = False
        client.will_set(
            self.topics.status,
            payload.status_payload("offline", self.config.site, self.config.node, self.boot, self.session),
            qos=1,
            retain=True,
        )

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._answered = True
        if reason.is_failure:
            from .client import reason_text

            self._events.append(("refused", reason_text(reason)))
            self._wake.set()
            return
        client.publish(
            self.topics.status,
            payload.status_payload("online", self.config.site, self.config.node, self.boot, self.session),
            qos=1,
            retain=True,
        )
        birth = self._birth_payload()
        if self.config.homeassistant:
            self._publish_discovery(client, birth)  # before the birth: a birth means "all set"
        client.publish(self.topics.birth, payload.encode(birth), qos=1, retain=True)
        client.subscribe(self.topics.status, qos=1)
        if self.commands is not None:
            client.subscribe(self.topics.cmd_filter, qos=1)
        self.connected = True
        self._events.append(("connected", bool(flags.session_present)))
        self._wake.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        why = connect_failed(self._tls_errors, self._tls_refusal, self.address)
        self.failed_attempts += 1
        self._events.append(("failed", why))
        self._wake.set()

    def _tls_refusal(self) -> None:
        """Queue a TLS error paho met before the broker's answer (a refused handshake).

        After a CONNACK a TLS error is a lost link (a broker killed without close_notify), not
        a refusal: it is only taken, not reported.
        """
        error = self._tls_errors.take() if self._tls_errors is not None else None
        if error is not None and not self.connected:
            self._events.append(("tls", error))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        from .client import reason_text, unanswered

        self._tls_refusal()  # a broker refuses a TLS 1.3 client certificate after the handshake
        self.connected = False
        why = unanswered(self._answered, reason)
        if why is not None:
            self.failed_attempts += 1
            self._events.append(("failed", why))
        else:
            self._events.append(("disconnected", reason_text(reason)))
        self._wake.set()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        # Acknowledgements are handled in batches (one sqlite transaction each): the bridge
        # thread is woken for a batch, or finds stragglers within ACK_WAIT.
        acks = self._acks
        acks.append(mid)
        if len(acks) >= self._ack_batch and not self._wake.is_set():
            self._wake.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == self.topics.status:
            self._check_status(client, message)
        elif self.commands is not None:
            self.commands(self, message)

    def _check_status(self, client: mqtt.Client, message: mqtt.MQTTMessage) -> None:
        """A late will of an earlier session says offline while this one is online: repeat
        the birth, so the retained status ends up right."""
        try:
            status = payload.STATUS_DECODER.decode(message.payload)
        except Exception:
            return
        stale = status.state != "online" and (status.boot != self.boot or status.session < self.session)
        if stale and self.connected:
            client.publish(
                self.topics.status,
                payload.status_payload("online", self.config.site, self.config.node, self.boot, self.session),
                qos=1,
                retain=True,
            )

    def _birth_payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "node": self.config.node,
            "site": self.config.site,
            "boot": self.boot,
            "session": self.session,
            "time": payload.now_iso(),
        }
        try:
            if self._birth is not None:
                body.update(self._birth(self._ctx))
            if self.commands is not None:
                body["types"] = self.commands.describe_types(self._ctx)
        except Exception as exc:
            self._reporter.error(self._emit, "birth", describe(exc))
        return body

    def _publish_discovery(self, client: mqtt.Client, birth: dict[str, Any]) -> None:
        """Home Assistant discovery configs, retained (``mqtt.homeassistant``)."""
        from .commands import CommandHandler
        from .homeassistant import discovery_configs

        try:
            source = self.commands or CommandHandler(self.config.outbox)
            types = list(source.types(self._ctx).values())
            versions = birth.get("versions") if isinstance(birth.get("versions"), dict) else {}
            configs = discovery_configs(self.topics, self.config.homeassistant_prefix, types, versions or {})
        except Exception as exc:
            self._reporter.error(self._emit, "homeassistant", describe(exc))
            return
        for topic, config in configs:
            client.publish(topic, payload.encode(config), qos=1, retain=True)

    # -- the bridge thread -------------------------------------------------------------------

    def _run(self) -> None:
        next_tick = 0.0
        while True:
            self._wake.wait(ACK_WAIT if self._inflight else TICK)
            self._wake.clear()
            stopping = self._stop.is_set()
            try:
                self._store_queue()
                self._drain_acks()
                self._connection_events()
                if self.connected and not stopping:
                    self._publish_more()
                now = time.monotonic()
                if now >= next_tick:
                    next_tick = now + TICK
                    self._housekeeping(now)
            except Exception as exc:  # a disk error must not kill the bridge thread
                self._reporter.error(self._emit, "outbox", describe(exc))
                time.sleep(TICK)
            if stopping and not self._queue:
                return

    def _store_queue(self) -> None:
        queue, outbox = self._queue, self._outbox
        if not queue or outbox is None:
            return
        batch = []
        while queue:
            batch.append(queue.popleft())
        first = self.seq + 1
        self.seq += len(batch)
        outbox.add(self.boot, first, batch)

    def _drain_acks(self) -> None:
        acks, inflight = self._acks, self._inflight
        if not acks:
            return
        done = []
        while acks:
            row = inflight.pop(acks.popleft(), None)
            if row is not None:
                done.append(row)
        if done and self._outbox is not None:
            self._outbox.remove(done)
            self.sent += len(done)

    def _publish_more(self) -> None:
        client, outbox = self._client, self._outbox
        if client is None or outbox is None:
            return
        window = self._window
        room = window - len(self._inflight)
        # Refill by half windows: one query and one burst of publishes instead of one per ack.
        if room < window // 2 or outbox.count == 0:
            return
        rows = outbox.fetch(self._last_handed, room)
        wrap, qos, boot, publish = self._head.wrap, self.config.qos, self.boot, client.publish
        inflight = self._inflight
        for row in rows:
            body = wrap(row.record, row.boot, row.seq, row.historical or row.boot != boot)
            info = publish(row.topic, body, qos)
            inflight[info.mid] = (row.id, len(row.record))
            self._last_handed = row.id

    def _connection_events(self) -> None:
        while self._events:
            kind, detail = self._events.popleft()
            backlog = self._outbox.count if self._outbox is not None else 0
            if kind == "connected":
                self._outage_reported = False
                if self._reporter.forget("connect"):  # a failure was reported: say it is over
                    report(
                        f"bussdcc mqtt: bridge connected to the broker {self.address} again; "
                        f"sending the {backlog} events kept in the outbox"
                    )
                self._emit(
                    MqttConnected(
                        broker=str(self.address),
                        node=self.config.node,
                        session=self.session,
                        session_present=bool(detail),
                        backlog=backlog,
                    )
                )
                self._set_state("connected", True)
            elif kind == "refused":
                self._reporter.error(
                    self._emit,
                    "connect",
                    f"the broker {self.address} refused the connection ({detail}); check "
                    "mqtt.username, mqtt.password and the broker's ACL (retrying with backoff)",
                )
            elif kind == "tls":
                from .client import tls_advice

                advice = tls_advice(detail, self.address, self.config.tls)
                line = f"{advice.line} (retrying with backoff)"
                self._reporter.error(self._emit, "connect", line, kind=f"tls-{advice.kind}")
            else:
                if kind == "failed":
                    detail = self._unreachable(detail)
                if not self._outage_reported:
                    self._outage_reported = True
                    self._emit(
                        MqttDisconnected(
                            broker=str(self.address),
                            node=self.config.node,
                            reason=str(detail),
                            backlog=backlog,
                        )
                    )
                    self._set_state("connected", False)

    def _unreachable(self, why: Unreachable | None) -> str:
        """Report a broker that cannot be reached (once per kind of cause); the reason to keep."""
        from .client import unreachable_line

        if why is None:  # a TLS refusal (reported on its own) or something paho did not say
            return "connection failed"
        line = unreachable_line(
            why,
            self.address,
            "mqtt.url (BUSSDCC_MQTT_URL)",
            "retrying with backoff; events are kept in the outbox meanwhile",
        )
        self._reporter.error(self._emit, "connect", line, kind=f"reach-{why.kind}")
        return why.cause

    def _housekeeping(self, now: float) -> None:
        outbox = self._outbox
        if outbox is None:
            return
        outbox.expire()
        if now - self._last_drop_report >= DROP_REPORT_INTERVAL:
            # Rate-limited: a report is an event too, and with a full outbox it pushes out
            # another old one; reporting each drop at once would feed itself.
            self._report_drops(now)
        backlog = outbox.count
        if backlog != self._reported_backlog and (
            backlog == 0 or now - self._last_backlog_report >= BACKLOG_REPORT_INTERVAL
        ):
            self._reported_backlog = backlog
            self._last_backlog_report = now
            self._set_state("backlog", backlog)
            self._emit(
                MqttBacklog(
                    node=self.config.node, backlog=backlog, bytes=outbox.bytes, connected=self.connected
                )
            )

    def _report_drops(self, now: float) -> None:
        outbox = self._outbox
        assert outbox is not None
        counts = {**outbox.dropped, "queue": self.queue_dropped}
        for reason, total in counts.items():
            new = total - self._dropped_reported.get(reason, 0)
            if new:
                self._dropped_reported[reason] = total
                self._last_drop_report = now
                self._emit(MqttOutboxDropped(node=self.config.node, dropped=new, reason=reason, total=total))

    def _emit(self, message: Message) -> None:
        if self._ctx is not None:
            try:
                self._ctx.emit(message)
            except Exception:
                pass

    def _set_state(self, key: str, value: Any) -> None:
        if self._ctx is not None:
            try:
                self._ctx.state.set(f"mqtt.bridge.{key}", value)
            except Exception:
                pass

    # -- introspection ----------------------------------------------------------------------

    @property
    def ctx(self) -> ContextProtocol | None:
        """The context of the runtime the bridge runs in (None before ``start``)."""
        return self._ctx

    @property
    def backlog(self) -> int:
        """Events in the outbox (stored, not yet acknowledged)."""
        return self._outbox.count if self._outbox is not None else 0

    def publish(self, topic: str, body: bytes, qos: int = 1, **kwargs: Any) -> mqtt.MQTTMessageInfo | None:
        """Publish something else through the bridge's connection (command results, discovery)."""
        if self._client is None:
            return None
        return self._client.publish(topic, body, qos, **kwargs)


__all__ = ["MqttBridge", "MqttError"]
