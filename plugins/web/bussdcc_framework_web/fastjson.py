"""Socket.IO packets encoded with msgspec, so each event is serialized once, not once per client.

An event's JSON is produced on the emitting thread as a ``msgspec.Raw`` and the same bytes are
spliced into every client's batch. The stdlib encoder would re-encode each event per client
and python-socketio would walk every dict looking for binary data; with ``Raw`` items neither
happens. The packet class is passed to this server only (``serializer=``), never patched
globally.
"""

from __future__ import annotations

from typing import Any

import msgspec
from socketio import packet  # type: ignore[import-untyped]

from .jsoninput import decode

_encoder = msgspec.json.Encoder()


class FastJSON:
    """The ``dumps``/``loads`` pair python-socketio calls."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return _encoder.encode(obj).decode()

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        """Strict and depth-limited (``jsoninput``): a client's message is untrusted input."""
        return decode(text)


class FastPacket(packet.Packet):  # type: ignore[misc]
    """A Socket.IO packet using ``FastJSON``."""

    json = FastJSON


def dumps(value: Any) -> bytes:
    """``value`` as JSON bytes (``msgspec.Raw`` parts spliced in), for HTTP responses."""
    return _encoder.encode(value)


def raw(value: Any) -> msgspec.Raw:
    """``value`` encoded once, to be embedded as-is in later packets."""
    return msgspec.Raw(_encoder.encode(value))
