"""Commands into a device: ``<prefix>/v1/<site>/<node>/cmd/<name>`` -> one emitted message.

The rule is the web plugin's ``/api/emit`` rule (``bussdcc_framework.emittable``): only the
application's emittable message types, validated field by field with the record codec. Each
command carries an ``id`` and runs at most once: ids are remembered on disk (a QoS 1 command
the broker delivers again after a reconnect or a restart is answered ``duplicate``, not run
again). The id is remembered before the message is emitted, so a crash in between loses the
command rather than running it twice. MQTT 5 message expiry is the broker's job (a command
that waited past its expiry for an offline device is never delivered); a retained command is
refused outright (it would run again after every restart).

Every command gets an answer on ``cmd_res`` (``{"id", "ok", "status", "error", "detail"}``),
and on the MQTT 5 response topic with the correlation data when the sender gave one.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from bussdcc.context import ContextProtocol
from bussdcc.message import Message

from bussdcc_framework.codec import Codec, TypeRegistry, type_name
from bussdcc_framework.emittable import EmitError, build_message, emittable_types, resolve_emittable

from .messages import MqttBadInput, MqttCommandAccepted, MqttCommandRefused
from .payload import MAX_PAYLOAD
from .reporting import printable, report

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

    from .bridge import MqttBridge

IDS_NAME = "commands.sqlite3"
#: Command ids are remembered this long (a redelivery comes within the broker's session expiry).
ID_MEMORY = 30 * 86400.0
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_OBJECT = msgspec.json.Decoder(dict[str, Any])


class CommandIds:
    """Ids of the commands already run, in ``<outbox>/commands.sqlite3``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(directory / IDS_NAME, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS ids (id TEXT PRIMARY KEY, seen REAL NOT NULL)")
        self._db.execute("DELETE FROM ids WHERE seen < ?", (time.time() - ID_MEMORY,))
        self._lock = threading.Lock()

    def first_time(self, command_id: str) -> bool:
        """Remember ``command_id``; False when it was seen before."""
        with self._lock:
            try:
                self._db.execute("INSERT INTO ids(id, seen) VALUES (?, ?)", (command_id, time.time()))
            except sqlite3.IntegrityError:
                return False
            return True

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Refused(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class CommandHandler:
    """Turns command messages into emitted messages, for one bridge (``on_command``)."""

    def __init__(self, ids_dir: Path) -> None:
        self._ids_dir = ids_dir
        self._ids: CommandIds | None = None
        self._registry: TypeRegistry | None = None
        self._codec: Codec | None = None
        self.bad: dict[str, int] = {}
        self.run = 0
        self._lock = threading.Lock()

    # -- types ------------------------------------------------------------------------------

    def registry(self) -> TypeRegistry:
        if self._registry is None:
            from bussdcc_framework.codec import default_registry

            self._registry = default_registry()
            self._codec = Codec(self._registry)
        return self._registry

    def types(self, ctx: ContextProtocol | None) -> dict[str, type[Message]]:
        """The emittable types of the runtime behind ``ctx``, the application's own first."""
        runtime = getattr(ctx, "runtime", None)
        own = tuple(getattr(runtime, "message_types", ()) or ())
        registry = self.registry()
        for cls in own:
            registry.register(cls)
        return emittable_types(registry, own)

    # -- handling -----------------------------------------------------------------------------

    def __call__(self, bridge: MqttBridge, message: mqtt.MQTTMessage) -> None:
        ctx = bridge.ctx
        command_id: str | None = None
        type_label = ""
        try:
            if not message.topic.startswith(bridge.topics.base + "/cmd/"):
                raise Refused("bad_topic", "not a command topic of this node")
            if message.retain:
                raise Refused(
                    "retained", "a retained command would run again after every restart; never retain"
                )
            if len(message.payload) > MAX_PAYLOAD:
                raise Refused("too_large", f"{len(message.payload)} bytes, more than {MAX_PAYLOAD}")
            try:
                body = _OBJECT.decode(message.payload)
            except msgspec.ValidationError:
                raise Refused("bad_json", "a command is a JSON object {id, type, data}") from None
            except msgspec.DecodeError as exc:
                raise Refused("bad_json", f"not JSON: {exc}") from None
            raw_id = body.get("id")
            if isinstance(raw_id, str) and _ID.fullmatch(raw_id):
                command_id = raw_id
            else:
                raise Refused("bad_command", '"id" must be 1-128 characters of A-Z a-z 0-9 _ . : -')
            type_label = str(body.get("type", ""))[:200]
            target = body.get("node")
            if target is not None and target != bridge.config.node:
                raise Refused(
                    "wrong_node",
                    f"the command is for node {str(target)[:60]!r}, this is {bridge.config.node!r}",
                )
            known = self.types(ctx)
            try:
                cls = resolve_emittable(body.get("type"), known, self.registry())
                assert self._codec is not None
                built = build_message(self._codec, cls, body.get("data", {}))
            except EmitError as exc:
                raise Refused(exc.code, exc.detail) from None
            if self._ids is None:
                self._ids = CommandIds(self._ids_dir)
            if not self._ids.first_time(command_id):
                raise Refused("duplicate", f"command {command_id} already ran; each id runs at most once")
        except Refused as refused:
            self._refuse(bridge, message, command_id, type_label, refused)
            return
        sender = body.get("sender")
        if ctx is not None:
            ctx.emit(
                MqttCommandAccepted(
                    id=command_id, type=type_name(cls), sender=str(sender)[:200] if sender else None
                )
            )
            ctx.emit(built)
        with self._lock:
            self.run += 1
        self._answer(
            bridge, message, {"id": command_id, "ok": True, "status": "done", "type": type_name(cls)}
        )

    def _refuse(
        self,
        bridge: MqttBridge,
        message: mqtt.MQTTMessage,
        command_id: str | None,
        type_label: str,
        refused: Refused,
    ) -> None:
        with self._lock:
            count = self.bad[refused.code] = self.bad.get(refused.code, 0) + 1
        ctx = bridge.ctx
        if refused.code in ("bad_json", "bad_command", "too_large", "wrong_node", "bad_topic") and count == 1:
            report(
                f"bussdcc mqtt: refused a command ({refused.code}) on {printable(message.topic)[:200]}: "
                f"{printable(refused.detail)[:200]}; further ones of this kind are only counted"
            )
            if ctx is not None:
                ctx.emit(
                    MqttBadInput(
                        component="bridge",
                        kind=refused.code,
                        topic=message.topic[:200],
                        detail=refused.detail[:200],
                        count=count,
                    )
                )
        if ctx is not None:
            ctx.emit(
                MqttCommandRefused(
                    id=command_id or "", type=type_label, reason=refused.code, detail=refused.detail[:200]
                )
            )
        self._answer(
            bridge,
            message,
            {
                "id": command_id,
                "ok": False,
                "status": "refused",
                "error": refused.code,
                "detail": refused.detail,
            },
        )

    def _answer(self, bridge: MqttBridge, message: mqtt.MQTTMessage, result: dict[str, Any]) -> None:
        from .client import PacketTypes, Properties

        result = {**result, "node": bridge.config.node, "site": bridge.config.site}
        body = msgspec.json.encode(result)
        props_in = getattr(message, "properties", None)
        response = getattr(props_in, "ResponseTopic", None)
        correlation = getattr(props_in, "CorrelationData", None)
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if correlation:
            props.CorrelationData = correlation
        bridge.publish(bridge.topics.cmd_res, body, 1, properties=props)
        if response and response != bridge.topics.cmd_res:
            try:
                bridge.publish(response, body, 1, properties=props)
            except ValueError:
                pass  # a response topic with wildcards: the answer on cmd_res stands

    def describe_types(self, ctx: ContextProtocol | None) -> list[dict[str, Any]]:
        """The forms of the emittable types, for the birth message."""
        from bussdcc_framework.emittable import describe

        specs: list[dict[str, Any]] = []
        for cls in self.types(ctx).values():
            try:
                specs.append(dict(describe(cls)))
            except Exception:
                continue  # a class whose annotations do not resolve cannot be offered
        return specs

    def close(self) -> None:
        if self._ids is not None:
            self._ids.close()
