"""bussdcc-framework plugin: JSONL recording of every event into time-segmented files."""

from .messages import RecordingBackpressure, RecordingDropped, RecordingError, RecordingResumed
from .sink import JsonlSink

__all__ = [
    "JsonlSink",
    "RecordingBackpressure",
    "RecordingDropped",
    "RecordingError",
    "RecordingResumed",
]
