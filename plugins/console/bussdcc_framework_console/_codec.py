"""The record codec the console uses: the core's ``bussdcc_framework.codec`` when present.

The core codec owns the record format (``time``/``type``/``data``, nested events, type names).
Until a core without it is no longer supported, a small msgspec fallback with the same contract
keeps the console working; it is only used when ``bussdcc_framework.codec`` cannot be imported.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bussdcc.event import Event
from bussdcc.message import Message

EncodeRecord = Callable[[Event[Message]], bytes]
ToBuiltins = Callable[[Any], Any]

try:
    from bussdcc_framework.codec import (  # type: ignore[import-not-found,unused-ignore]
        Codec,
        default_registry,
        format_time,
        type_name,
    )
except ImportError:  # pragma: no cover - exercised only with a core that predates the codec
    import msgspec

    def type_name(cls: type) -> str:
        """``module:QualName``, the name records carry in their ``type`` field."""
        return f"{cls.__module__}:{cls.__qualname__}"

    def format_time(dt: datetime) -> str:
        """ISO 8601 in UTC with an explicit ``+00:00`` offset, as records carry it."""
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC).isoformat()

    def _hook(obj: Any) -> Any:
        if isinstance(obj, Event):
            return {"time": format_time(obj.time), "type": type_name(type(obj.payload)), "data": obj.payload}
        raise NotImplementedError(f"cannot encode {type(obj).__name__}")

    class _FallbackCodec:
        def __init__(self) -> None:
            self._encoder = msgspec.json.Encoder(enc_hook=_hook)

        def encode_record(self, evt: Event[Message]) -> bytes:
            return self._encoder.encode(_hook(evt))

        def to_builtins(self, msg: Any) -> Any:
            return msgspec.to_builtins(msg, enc_hook=_hook)

    def _make_codec() -> Any:
        return _FallbackCodec()

else:

    def _make_codec() -> Any:
        # Encoding needs no registered types: skip plugin discovery where the core allows it.
        try:
            registry = default_registry(plugins=False)
        except TypeError:
            registry = default_registry()
        return Codec(registry)


def make_codec() -> tuple[EncodeRecord, ToBuiltins]:
    """A fresh codec's ``encode_record`` and ``to_builtins``, bound for cheap calls."""
    codec = _make_codec()
    return codec.encode_record, codec.to_builtins


__all__ = ["format_time", "make_codec", "type_name"]
