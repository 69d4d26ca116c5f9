"""bussdcc-framework plugin: JSONL recording of every event into time-segmented files.

Names are imported on first use (PEP 562): plugin discovery imports this package for every
``bussdcc`` command, and the sink needs the codec (msgspec), which ``bussdcc --help`` must not
pay for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bussdcc_framework.lazy import lazy_exports

if TYPE_CHECKING:
    from .config import JsonlConfig
    from .messages import RecordingBackpressure, RecordingDropped, RecordingError, RecordingResumed
    from .sink import JsonlSink

__all__ = [
    "JsonlConfig",
    "JsonlSink",
    "RecordingBackpressure",
    "RecordingDropped",
    "RecordingError",
    "RecordingResumed",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "JsonlConfig": ".config",
        "JsonlSink": ".sink",
        "RecordingBackpressure": ".messages",
        "RecordingDropped": ".messages",
        "RecordingError": ".messages",
        "RecordingResumed": ".messages",
    },
)
