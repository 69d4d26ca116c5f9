"""Human-readable figures for summaries: counts, sizes, durations, times."""

from __future__ import annotations

from datetime import datetime

from bussdcc_framework.codec import format_time


def count(n: int) -> str:
    """``12345`` as ``12,345``."""
    return f"{n:,}"


def size(n: int) -> str:
    """Bytes in binary units, e.g. ``1.2 MiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def duration(seconds: float) -> str:
    """``3725.4`` as ``1h 02m 05.4s``."""
    if seconds < 60:
        return f"{seconds:.3f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:04.1f}s"
    return f"{minutes}m {secs:04.1f}s"


def when(value: datetime | None) -> str:
    """A recorded time in the record format, or ``-``."""
    return "-" if value is None else format_time(value)


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]}
_CONTROL.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})


def printable(text: str) -> str:
    """``text`` with control characters (ANSI escapes included) made visible: ``\\x1b[31m``.

    For anything that came from a file before it reaches a terminal.
    """
    return text.translate(_CONTROL)
