"""Indexes against reading: ``events info`` and a forward seek on a 1 GiB recording, in one run.

    uv run --no-sync python bench/bench_index.py [--size-mb 1024] [--dir DIR] [--repeat 3]

Generates (streaming, in a temporary directory unless ``--dir`` names one to keep and reuse) a
recording of ``--size-mb`` MiB in the ``JsonlSink`` layout: ``YYYY-MM-DD/HH-MM-SS.jsonl``
segments of about 100 MiB holding one run of a 4-field application message, then indexes it
the way ``bussdcc events index`` does (``scan_file`` + ``write_index``, timed), and measures:

(a) ``events info`` without indexes (``--no-index``: every record read and decoded) against
    with indexes, both as the real command in a subprocess (wall time, interpreter start
    included) and in-process (the answer alone);
(b) a forward seek to the middle of the recording: the time from ``iter(JsonlSource(DIR,
    start=middle))`` to its first event, with the indexes and without (every record before
    the middle read and its head decoded).

Figures are the best of ``--repeat`` runs (the machine is shared); ratios compare two
figures of the same run. The recording is never in git nor in the tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

MESSAGES = '''\
"""The application message of bench_index's recording (imported with --import benchmsgs)."""
from dataclasses import dataclass

from bussdcc.message import Message


@dataclass(frozen=True, slots=True)
class Reading(Message):
    sensor: str
    value: float
    unit: str
    seq: int
'''

SEGMENT_BYTES = 100 * 1024 * 1024
START = datetime(2026, 3, 9, 12, 0, 0, tzinfo=UTC)
STEP = timedelta(milliseconds=1)


def generate(root: Path, size: int) -> tuple[int, datetime, datetime]:
    """Write the recording; return (records, first time, last time)."""
    sys.path.insert(0, str(root))
    (root / "benchmsgs.py").write_text(MESSAGES)
    from benchmsgs import Reading  # type: ignore[import-not-found]
    from bussdcc.event import Event
    from bussdcc.message import RuntimeBooting, RuntimeShutdown

    from bussdcc_framework.codec import Codec, default_registry

    registry = default_registry(plugins=False)
    registry.register(Reading)
    encode = Codec(registry).encode_record
    written = 0
    records = 0
    t = START
    segment = None
    out = None
    while written < size:
        if out is None or segment is None or out.tell() >= SEGMENT_BYTES:
            if out is not None:
                out.close()
            segment = root / "events" / f"{t:%Y-%m-%d}" / f"{t:%H-%M-%S}_{records:09d}.jsonl"
            segment.parent.mkdir(parents=True, exist_ok=True)
            out = segment.open("wb", buffering=1 << 20)
            if records == 0:
                out.write(encode(Event(time=t, payload=RuntimeBooting(version="0.42.0"))) + b"\n")
                records += 1
        batch = b"".join(
            encode(
                Event(
                    time=t + STEP * i, payload=Reading("greenhouse.bed-1", 21.5 + (i % 7), "C", records + i)
                )
            )
            + b"\n"
            for i in range(10_000)
        )
        out.write(batch)
        written += len(batch)
        records += 10_000
        t += STEP * 10_000
    assert out is not None
    out.write(encode(Event(time=t, payload=RuntimeShutdown(version="0.42.0"))) + b"\n")
    out.close()
    return records + 1, START, t


def build_indexes(events: Path) -> float:
    from bussdcc_framework.codec import default_registry
    from bussdcc_framework.recordings import registry_severity, scan_file, write_index

    severity = registry_severity(default_registry(plugins=False))
    t0 = time.perf_counter()
    for path in sorted(events.rglob("*.jsonl")):
        write_index(path, scan_file(path, severity_of=severity))
    return time.perf_counter() - t0


def drop_indexes(events: Path) -> None:
    for path in events.rglob(".*.idx"):
        path.unlink()


def best(repeat: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(repeat))


def command(root: Path, *args: str) -> float:
    env = dict(os.environ, BUSSDCC_PLUGINS="replay", PYTHONPATH=str(root))
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bussdcc_framework", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=root,
    )
    return time.perf_counter() - t0


def info_in_process(events: Path, use_index: bool) -> float:
    from bussdcc_framework_replay import JsonlSource
    from bussdcc_framework_replay.cli.common import MergedSource
    from bussdcc_framework_replay.cli.events_cmd import _scan, _scan_indexed

    from bussdcc_framework.codec import default_registry

    registry = default_registry(plugins=False)
    registry.allow_import("benchmsgs")
    t0 = time.perf_counter()
    source = MergedSource([JsonlSource(events, registry=registry)])
    per_type, stats = _scan_indexed(source, registry) if use_index else _scan(source)
    elapsed = time.perf_counter() - t0
    assert sum(per_type.values()) > 0 and stats.damaged == 0 and stats.unknown == 0
    return elapsed


def seek(events: Path, middle: datetime, use_index: bool) -> float:
    from bussdcc_framework_replay import JsonlSource

    from bussdcc_framework.codec import default_registry

    registry = default_registry(plugins=False)
    registry.allow_import("benchmsgs")
    t0 = time.perf_counter()
    source = JsonlSource(events, registry=registry, start=middle, use_index=use_index)
    it = iter(source)
    first = next(it)
    elapsed = time.perf_counter() - t0
    it.close()  # type: ignore[attr-defined]
    assert first.time >= middle, (first.time, middle)
    if use_index:
        assert source.stats.index_seeks == 1, source.stats.as_dict()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--dir", type=Path, default=None, help="keep the recording here (reused if present)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="bussdcc-bench-index-"))
    events = root / "events"
    try:
        t0 = time.perf_counter()
        if not events.exists():
            root.mkdir(parents=True, exist_ok=True)
            records, first, last = generate(root, args.size_mb * 1024 * 1024)
            (root / "span.txt").write_text(f"{records} {first.isoformat()} {last.isoformat()}")
        else:
            sys.path.insert(0, str(root))
            n, a, b = (root / "span.txt").read_text().split()
            records, first, last = int(n), datetime.fromisoformat(a), datetime.fromisoformat(b)
        size = sum(p.stat().st_size for p in events.rglob("*.jsonl"))
        files = len(list(events.rglob("*.jsonl")))
        print(
            f"recording: {size / 2**20:,.0f} MiB, {files} files, {records:,} records "
            f"(generated or found in {time.perf_counter() - t0:.1f}s)"
        )
        middle = first + (last - first) / 2

        drop_indexes(events)
        no_info_cmd = best(
            1, lambda: command(root, "events", "info", "events", "--no-index", "--import", "benchmsgs")
        )
        no_info = best(1, lambda: info_in_process(events, use_index=False))
        no_seek = best(1, lambda: seek(events, middle, use_index=False))
        build = build_indexes(events)
        print(f"index build (events index): {build:.1f}s, {size / 2**20 / build:,.0f} MiB/s")
        info_cmd = best(
            args.repeat, lambda: command(root, "events", "info", "events", "--import", "benchmsgs")
        )
        info = best(args.repeat, lambda: info_in_process(events, use_index=True))
        sought = best(args.repeat, lambda: seek(events, middle, use_index=True))
        seek_cmd = best(
            args.repeat,
            lambda: command(root, "events", "cat", "events", "--start", middle.isoformat(), "-n", "1"),
        )

        print(
            f"(a) events info, command:    {no_info_cmd:8.2f}s without indexes, {info_cmd:6.3f}s with "
            f"= {no_info_cmd / info_cmd:,.0f}x faster"
        )
        print(
            f"    events info, in-process: {no_info:8.2f}s without indexes, {info:6.3f}s with "
            f"= {no_info / info:,.0f}x faster"
        )
        print(
            f"(b) seek to the middle, first event: {no_seek * 1000:8.0f} ms without indexes, "
            f"{sought * 1000:6.1f} ms with = {no_seek / sought:,.0f}x faster"
        )
        print(f"    events cat --start MIDDLE -n 1, command: {seek_cmd:6.3f}s (interpreter start included)")
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
