"""JSONL recording: every event of a runtime written to time-segmented files.

    python examples/recording.py [DIR]

Records a few typed messages into DIR (a temporary folder by default) and prints the files
written and the application's records. ``JsonlSink(root, interval=600)`` starts a new segment
``root/YYYY-MM-DD/HH-MM-SS.jsonl`` (UTC) every ten minutes; ``bussdcc run --record DIR`` does
the same for a whole application. See docs/recording.md.

Run as a script, the message type is recorded as ``__main__:SoilMoisture``; a real application
keeps its messages in an importable module (like ``examples/greenhouse/greenhouse/messages.py``)
so that their recorded names stay valid for replay.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bussdcc import Message

from bussdcc_framework.io.jsonl import JsonlSink
from bussdcc_framework.runtime import Runtime


@dataclass(slots=True, frozen=True)
class SoilMoisture(Message):
    bed: str
    percent: float


def record(root: Path) -> list[Path]:
    """Run a runtime that records into ``root``; return the segment files it wrote."""
    runtime = Runtime()
    runtime.add_sink(JsonlSink(root, interval=600))
    runtime.boot()
    for i in range(3):
        runtime.ctx.emit(SoilMoisture(bed="tomatoes", percent=31.5 + i))
    runtime.shutdown("example finished")  # flushes and closes the current segment
    return sorted(root.rglob("*.jsonl*"))


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="events-"))
    files = record(root)
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        print(f"{path.relative_to(root)}: {len(lines)} records")
        for line in lines:
            record_ = json.loads(line)
            if record_["type"].endswith(":SoilMoisture"):
                print(" ", line)


if __name__ == "__main__":
    main()
