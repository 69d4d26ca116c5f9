"""What travels on the fleet's topics (see docs/fleet.md#payload).

An event is the recorder's record (``time``, ``type``, ``data``, written by the same codec) with
the keys a fleet needs appended: ``severity`` (the message class's, in lower case: the central
side has no classes to ask, and the index of its recording counts and marks by severity; a
payload without it is recorded as of unknown severity), ``site``, ``node``, ``boot`` (a random id per
process start), ``seq`` (1, 2, 3... per boot: the collector de-duplicates on node, boot and
seq) and ``historical`` (sent late: emitted while disconnected, or left by an earlier process).
Readers of records ignore keys they do not know, so a payload is itself a valid record line.

The device builds it by concatenation (the record is encoded once, when the event is emitted);
the central side decodes it with msgspec into ``Envelope``, keeping ``data`` raw: the collector
never needs, and never imports, the devices' message classes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec

#: Payloads larger than this are refused by the central side before decoding (10 MB garbage
#: must not cost 10 MB of parsing per message).
MAX_PAYLOAD = 1 << 20


def json_text(value: str) -> bytes:
    """A JSON string literal (for the fixed parts of the envelope)."""
    return json.dumps(value).encode()


#: The severities a payload may name (``bussdcc.message.Severity``, in lower case).
SEVERITIES = ("debug", "info", "warning", "error", "critical")


def severity_name(cls: type) -> str | None:
    """The severity of a message class as payloads carry it (``"warning"``), None if it has none."""
    label = getattr(getattr(cls, "severity", None), "name", None)
    name = label.lower() if isinstance(label, str) else None
    return name if name in SEVERITIES else None


def severity_tail(cls: type) -> bytes:
    """What closes a record of ``cls`` in a payload: ``,"severity":"warning"}`` (or ``}``)."""
    name = severity_name(cls)
    return b"}" if name is None else b',"severity":' + json_text(name) + b"}"


class EnvelopeHead:
    """The fixed tail of every event a node sends in one boot: ``,"site":..,"node":..,"boot":..``."""

    __slots__ = ("_fixed", "boot", "node", "site")

    def __init__(self, site: str, node: str, boot: str) -> None:
        self.site = site
        self.node = node
        self.boot = boot
        self._fixed = b',"site":' + json_text(site) + b',"node":' + json_text(node) + b',"boot":'

    def wrap(self, record: bytes, boot: str, seq: int, historical: bool) -> bytes:
        """``record`` (``{...}``) with the fleet keys appended before its closing brace."""
        tail = b',"historical":true}' if historical else b',"historical":false}'
        return b"".join((record[:-1], self._fixed, json_text(boot), b',"seq":', str(seq).encode(), tail))


class Envelope(msgspec.Struct):
    """An event as the central side reads it; ``data`` stays raw JSON."""

    time: datetime
    type: str
    data: msgspec.Raw
    site: str
    node: str
    boot: str
    seq: int
    historical: bool = False
    severity: str | None = None


class Status(msgspec.Struct):
    """The retained ``status`` topic: online (birth) or offline (will or clean stop)."""

    state: str  # "online" | "offline"
    node: str
    site: str
    boot: str
    session: int
    time: str = ""


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def status_payload(state: str, site: str, node: str, boot: str, session: int) -> bytes:
    return msgspec.json.encode(
        Status(state=state, node=node, site=site, boot=boot, session=session, time=now_iso())
    )


def encode(value: Any) -> bytes:
    """JSON for birth, command and result payloads."""
    return msgspec.json.encode(value)


ENVELOPE_DECODER = msgspec.json.Decoder(Envelope)
STATUS_DECODER = msgspec.json.Decoder(Status)
