"""Human-readable figures for summaries: counts, sizes, durations, times."""

from __future__ import annotations

from datetime import datetime

from bussdcc_framework.codec import format_time
from bussdcc_framework.report import printable as printable  # the core's, re-exported


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
