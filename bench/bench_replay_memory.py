"""Replay memory stays flat: resident memory after 100 thousand and after 10 million events.

    uv run --no-sync python bench/bench_replay_memory.py [--events N] [--early M]

Writes a recording of N events (default 10 000 000, about 1.3 GB: it is generated here, never
kept in git) in a temporary directory, replays it at full speed through a ``ReplayRuntime``
with a process that reads the state and a sink, and reads the process's resident set size
(``/proc/self/statm``) after M events (default 100 000) and after the last one. The goal
(issue 12): the second within 50 MB of the first. The figure is a difference in one run, so
the machine's load does not change it much.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bussdcc.event import Event
from bussdcc.message import Message
from bussdcc.process import Process

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(slots=True, frozen=True)
class Reading(Message):
    """A typical application message: a sensor reading."""

    sensor: str
    value: float
    seq: int


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


def write(path: Path, n: int) -> int:
    """N records, written in batches with the framework's codec (the recorder's format)."""
    from bussdcc_framework.codec import Codec, default_registry

    registry = default_registry(plugins=False)
    registry.register(Reading)
    codec = Codec(registry)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    step = timedelta(milliseconds=1)
    with path.open("wb") as f:
        batch = []
        for i in range(n):
            batch.append(
                codec.encode_record(Event(time=t0 + i * step, payload=Reading(f"s{i % 16}", i * 0.5, i)))
            )
            if len(batch) == 10_000:
                batch.append(b"")
                f.write(b"\n".join(batch))
                batch = []
        if batch:
            batch.append(b"")
            f.write(b"\n".join(batch))
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--early", type=int, default=100_000)
    args = parser.parse_args()
    from bussdcc_framework_replay import JsonlSource, ReplayRuntime

    from bussdcc_framework.codec import default_registry

    tmp = Path(tempfile.mkdtemp(prefix="bussdcc-bench-memory-"))
    try:
        log = tmp / "big.jsonl"
        t = time.perf_counter()
        size = write(log, args.events)
        print(f"wrote {args.events:,} events ({size / 1e9:.2f} GB) in {time.perf_counter() - t:.0f} s")
        marks: dict[str, float] = {}

        class Probe(Process):
            """Keeps a little derived state (as applications do) and reads RSS on the way."""

            name = "probe"

            def __init__(self) -> None:
                self.count = 0

            def handle_event(self, ctx, evt):  # type: ignore[no-untyped-def]
                if type(evt.payload) is Reading:
                    self.count += 1
                    ctx.state.set(f"sensors.{evt.payload.sensor}", evt.payload.value)
                    if self.count == args.early:
                        marks["early"] = rss_mb()
                    elif self.count == args.events:
                        marks["last"] = rss_mb()

        registry = default_registry(plugins=False)
        registry.register(Reading)
        runtime = ReplayRuntime(speed=0)
        probe = Probe()
        runtime.add_process(probe)
        marks["before"] = rss_mb()
        t = time.perf_counter()
        stats = runtime.replay(JsonlSource(log, registry=registry), hold=False)
        wall = time.perf_counter() - t
        marks["end"] = rss_mb()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
        print(f"replayed {stats.replayed:,} events in {wall:.0f} s ({stats.replayed / wall:,.0f} events/s)")
        print(f"RSS before the replay   {marks['before']:8.1f} MB")
        print(f"RSS at {args.early:>11,} events {marks['early']:8.1f} MB")
        print(f"RSS at {probe.count:>11,} events {marks['last']:8.1f} MB")
        print(f"RSS after shutdown      {marks['end']:8.1f} MB   (peak {peak:.1f} MB)")
        growth = marks["last"] - marks["early"]
        print(f"growth {growth:+.1f} MB (goal: within 50 MB)  {'ok' if abs(growth) <= 50 else 'OVER'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
