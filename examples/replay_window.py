"""Replay with a time window: only minutes 2 to 4 of a ten-minute recording, as fast as possible.

    python examples/replay_window.py

Writes a small recording of greenhouse readings (one per minute, in the record format; see
docs/record-format.md), then replays a window of it with ``ReplayRuntime(speed=0)`` and
``JsonlSource(path, start=..., end=...)``. The same from the command line::

    bussdcc replay DIR --start 2m --end 4m --speed 0 --import greenhouse.messages

Replay never imports a module named in a file: the message types must be known, here by
importing ``greenhouse.messages`` (the demo's package) before replaying.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "greenhouse"))

from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message
from greenhouse.messages import ClimateReading

from bussdcc_framework.io.jsonl import JsonlSource
from bussdcc_framework.runtime import ReplayRuntime

START = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def write_recording(root: Path) -> None:
    """Ten readings, one a minute, as ``root/2026-03-09/12-00-00.jsonl``."""
    segment = root / "2026-03-09" / "12-00-00.jsonl"
    segment.parent.mkdir(parents=True, exist_ok=True)
    with segment.open("w", encoding="utf-8") as out:
        for minute in range(10):
            record = {
                "time": (START + timedelta(minutes=minute)).isoformat(),
                "type": "greenhouse.messages:ClimateReading",
                "data": {"temperature_c": 20.0 + minute, "humidity_pct": 50.0, "pump_on": False},
            }
            out.write(json.dumps(record) + "\n")


class Printer:
    """The smallest useful sink: print each replayed reading."""

    def start(self, ctx: ContextProtocol) -> None:
        pass

    def stop(self) -> None:
        pass

    def handle(self, evt: Event[Message]) -> None:
        if isinstance(evt.payload, ClimateReading):
            print(f"{evt.time:%H:%M} {evt.payload.temperature_c} °C")


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="recording-"))
    write_recording(root)
    runtime = ReplayRuntime(speed=0)  # 0: no waiting between events; 1.0: recorded pace
    runtime.add_sink(Printer())
    runtime.add_source(
        JsonlSource(root, start=START + timedelta(minutes=2), end=START + timedelta(minutes=4))
    )
    runtime.run()  # returns when the source is exhausted


if __name__ == "__main__":
    main()
