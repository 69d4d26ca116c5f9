"""JSON from the network (``/api/emit`` bodies, Socket.IO messages): strict, and shallow enough.

The stdlib decoder that Flask uses accepts lone surrogates (``"\\udcff"``), which no UTF-8
encoder will write back out: one such string in an event used to break the snapshot of every
new page. It also recurses once per nesting level, so ~1,000 levels are a ``RecursionError``
(a 500 with a traceback), and a few hundred levels pass but break every consumer that walks
the value. msgspec refuses invalid Unicode outright; this module adds a depth limit, checked
without recursion, and turns every failure into one ``JSONInputError`` with a one-line reason.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .cut import depth_exceeds

#: Lists and objects may nest this deep in a request; deeper is refused with 400.
MAX_DEPTH = 64

_decoder = msgspec.json.Decoder()


class JSONInputError(ValueError):
    """The input is not acceptable JSON; ``code`` is the API error code, ``str()`` the reason."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def decode(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """The decoded value, or ``JSONInputError`` (``bad_json`` or ``too_deep``)."""
    try:
        value = _decoder.decode(data)
    except RecursionError:
        raise JSONInputError("too_deep", f"JSON nested more than {max_depth} levels is refused") from None
    except (msgspec.DecodeError, ValueError) as exc:  # ValueError: bytes that are not UTF-8
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise JSONInputError("bad_json", f"not valid JSON: {reason}") from None
    # Fewer brackets than the limit cannot nest deeper than it: skip the walk (the usual case).
    if isinstance(data, str):
        brackets = data.count("[") + data.count("{")
    else:
        brackets = data.count(b"[") + data.count(b"{")
    if brackets > max_depth and depth_exceeds(value, max_depth):
        raise JSONInputError("too_deep", f"JSON nested more than {max_depth} levels is refused")
    return value
