"""Fast ISO-8601 formatting of event times, byte-for-byte equal to ``datetime.isoformat()``.

``isoformat()`` costs about 0.85 µs, more than encoding a whole small message with msgspec
(about 0.25 µs). msgspec writes an aware UTC time in RFC 3339 with a ``Z`` suffix and
otherwise exactly like ``isoformat()`` (the fraction is omitted when it is zero and has six
digits otherwise), so for ``timezone.utc`` times it is reused with ``Z`` swapped for the
``+00:00`` the original format uses. Any other time zone takes ``isoformat()``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import msgspec

_UTC: Final = UTC
_encode = msgspec.json.Encoder().encode


def format_time_json(dt: datetime) -> bytes:
    """``dt.isoformat()`` as a quoted JSON string, e.g. ``b'"2026-03-09T12:00:01.7+00:00"'``."""
    if dt.tzinfo is _UTC:
        raw = _encode(dt)
        return raw[:-2] + b'+00:00"'
    return b'"' + dt.isoformat().encode("ascii") + b'"'


def format_time(dt: datetime) -> str:
    """``dt.isoformat()``, computed the fast way for UTC times (the kernel's clock)."""
    if dt.tzinfo is _UTC:
        return _encode(dt)[1:-2].decode("ascii") + "+00:00"
    return dt.isoformat()
