"""Recording and replay throughput against the bare kernel, in one process and one run.

    uv run --no-sync python bench/bench_recording.py [--events N] [--repeat R]

(a) the bare kernel ``bussdcc.Runtime`` emitting N messages;
(b) the framework ``Runtime`` with a ``JsonlSink``, timed until every event is on disk
    (``shutdown()`` included, which drains the sink's queue);
(c) replay of (b)'s recording at full speed (``speed=0``) with the replay plugin;
(d) like (b), plus a plugin's ``on_event`` hook (no wrapper): the plugin manager's hot path;
(e) like (c), driven through the replay controller: started paused, stepped, then resumed
    (``runtime.replay_controller``), timed from the resume to the last event.
Each figure is the best of R runs (the machine is shared; the best run is the least disturbed).
On a busy machine wall-clock ratios swing by ±0.1 or more; the "cpu" line compares the CPU time
(both threads) per event of (a) and (b) instead, which other processes disturb much less.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bussdcc
from bussdcc.message import Message

from bussdcc_framework import hookimpl
from bussdcc_framework.runtime import Runtime


@dataclass(slots=True, frozen=True)
class Reading(Message):
    """A typical application message: a sensor reading."""

    sensor: str
    value: float
    seq: int


#: The best CPU seconds (process time, every thread) of (a) and (b), next to their wall times.
CPU: dict[str, float] = {}


def _cpu(case: str, started: float) -> None:
    spent = time.process_time() - started
    CPU[case] = min(CPU.get(case, spent), spent)


def bare_kernel(n: int) -> float:
    rt = bussdcc.Runtime()
    rt.boot()
    emit = rt.ctx.emit
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        emit(Reading("greenhouse.temp", 21.5, i))
    rt.shutdown()
    _cpu("a", c0)
    return time.perf_counter() - t0


def recording(n: int, root: Path) -> float:
    from bussdcc_framework.io.jsonl import JsonlSink

    rt = Runtime()
    rt.add_sink(JsonlSink(root))
    rt.boot()
    emit = rt.ctx.emit
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        emit(Reading("greenhouse.temp", 21.5, i))
    rt.shutdown()  # stops the sink: every event is written when this returns
    _cpu("b", c0)
    return time.perf_counter() - t0


class _Observer:
    """A plugin with one ``on_event`` implementation that counts events."""

    def __init__(self) -> None:
        self.seen = 0

    @hookimpl
    def on_event(self, ctx: object, evt: object) -> None:
        self.seen += 1


def recording_with_on_event(n: int, root: Path) -> float:
    from bussdcc_framework.io.jsonl import JsonlSink
    from bussdcc_framework.testing import isolated_plugin_manager

    plugin = _Observer()
    rt = Runtime()
    rt.add_sink(JsonlSink(root))
    rt.add_plugins(settings=None, plugins=isolated_plugin_manager([plugin]))
    rt.boot()
    emit = rt.ctx.emit
    t0 = time.perf_counter()
    for i in range(n):
        emit(Reading("greenhouse.temp", 21.5, i))
    rt.shutdown()
    assert plugin.seen >= n, "the on_event hook did not see every event"
    return time.perf_counter() - t0


def replay(root: Path) -> tuple[float, int] | None:
    try:
        from bussdcc_framework.io.jsonl import JsonlSource
        from bussdcc_framework.runtime import ReplayRuntime
    except ImportError:
        return None
    seen = 0

    class Count:
        name = "count"

        def start(self, ctx: object) -> None:
            pass

        def stop(self) -> None:
            pass

        def handle(self, evt: object) -> None:
            nonlocal seen
            seen += 1

    rt = ReplayRuntime(speed=0)
    rt.add_sink(Count())
    t0 = time.perf_counter()
    rt.replay(JsonlSource(root), speed=0)
    return time.perf_counter() - t0, seen


def controlled_replay(root: Path) -> tuple[float, int] | None:
    """Paused, three steps, then resume: the commands leave the hot loop as fast as before."""
    import threading

    try:
        from bussdcc_framework.io.jsonl import JsonlSource
        from bussdcc_framework.runtime import ReplayRuntime
    except ImportError:
        return None
    rt = ReplayRuntime(speed=0)
    done = threading.Event()
    thread = threading.Thread(
        target=lambda: (rt.replay(JsonlSource(root), speed=0, paused=True), done.set()), daemon=True
    )
    thread.start()
    controller = rt.replay_controller
    while not controller.running:
        time.sleep(0.001)
    controller.step(3)
    controller.wait()
    t0 = time.perf_counter()
    controller.resume()
    done.wait()
    elapsed = time.perf_counter() - t0
    thread.join()
    return elapsed, rt.stats.replayed - 3


def best(runs: int, fn: Callable[[], float]) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        times.append(fn())
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.events
    tmp = Path(tempfile.mkdtemp(prefix="bussdcc-bench-"))
    try:
        a = n / best(args.repeat, lambda: bare_kernel(n))
        print(f"(a) bare kernel         {a:>10,.0f} events/s")

        def record_once() -> float:
            shutil.rmtree(tmp / "rec", ignore_errors=True)
            return recording(n, tmp / "rec")

        b = n / best(args.repeat, record_once)
        size = sum(p.stat().st_size for p in (tmp / "rec").rglob("*.jsonl"))
        print(
            f"(b) Runtime + JsonlSink {b:>10,.0f} events/s   (b)/(a) = {b / a:.2f}"
            f"   [{size / 1e6:.1f} MB on disk]"
        )
        print(
            f"    cpu per event: (a) {CPU['a'] / n * 1e6:.2f} us, (b) {CPU['b'] / n * 1e6:.2f} us"
            f"   cpu (a)/(b) = {CPU['a'] / CPU['b']:.2f}"
        )

        def record_observed_once() -> float:
            shutil.rmtree(tmp / "obs", ignore_errors=True)
            return recording_with_on_event(n, tmp / "obs")

        d = n / best(args.repeat, record_observed_once)
        print(f"(d) (b) + on_event hook {d:>10,.0f} events/s   (d)/(a) = {d / a:.2f}")

        results = []
        for _ in range(args.repeat):
            gc.collect()
            result = replay(tmp / "rec")
            if result is None:
                break
            results.append(result)
        if not results:
            print("(c) replay plugin not available")
            return
        elapsed, seen = min(results)
        c = seen / elapsed
        print(
            f"(c) replay, speed=0     {c:>10,.0f} events/s   (c)/(a) = {c / a:.2f}"
            f"   [{seen:,} events replayed]"
        )
        controlled = [r for r in (controlled_replay(tmp / "rec") for _ in range(args.repeat)) if r]
        if controlled:
            elapsed, seen = min(controlled)
            e = seen / elapsed
            print(f"(e) (c) via controller  {e:>10,.0f} events/s   (e)/(a) = {e / a:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
