"""bussdcc-framework plugin: JSONL recording of every event into time-segmented files."""

from .messages import RecordingDropped, RecordingError, RecordingResumed
from .sink import JsonlSink

__all__ = ["JsonlSink", "RecordingDropped", "RecordingError", "RecordingResumed"]
