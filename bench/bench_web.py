"""Benchmark the web interface's live push: events/s delivered to 1 and 10 Socket.IO clients,
and emit-to-client latency (p50/p99), with batching and the bounded per-client queues.

The clients run in a separate process (python-socketio over a real WebSocket), so the server
process's numbers are not distorted by client work in the same interpreter.

    uv run --no-sync python bench/bench_web.py            # full run
    uv run --no-sync python bench/bench_web.py --quick    # smaller, for a smoke check
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

from bussdcc.message import Message


@dataclass(slots=True, frozen=True)
class BenchTick(Message):
    i: int
    t: float


@dataclass(slots=True, frozen=True)
class BenchEnd(Message):
    n: int


def _clients(url: str, count: int, conn: Any) -> None:
    """Child process: ``count`` clients; report per-client counts and latencies at BenchEnd."""
    import socketio

    results: list[dict[str, Any]] = [
        {"received": 0, "dropped": 0, "lat": [], "done": False} for _ in range(count)
    ]
    clients = []
    for k in range(count):
        sio = socketio.Client(reconnection=False)
        res = results[k]

        def on_batch(batch: dict[str, Any], res: dict[str, Any] = res) -> bool:
            now = time.time()
            res["dropped"] += batch.get("dropped", 0)
            for e in batch["events"]:
                if e["name"] == "BenchTick":
                    res["received"] += 1
                    if len(res["lat"]) < 200_000:
                        res["lat"].append(now - e["data"]["t"])
                elif e["name"] == "BenchEnd":
                    res["done"] = True
            return True

        sio.on("batch", on_batch)
        sio.connect(url, transports=["websocket"], auth={"types": "Bench*"}, wait_timeout=10)
        clients.append(sio)
    conn.send("ready")
    while True:
        command = conn.recv()
        if command == "collect":
            deadline = time.time() + 30
            while not all(r["done"] for r in results) and time.time() < deadline:
                time.sleep(0.01)
            conn.send(
                [{"received": r["received"], "dropped": r["dropped"], "lat": r["lat"]} for r in results]
            )
            for r in results:
                r.update(received=0, dropped=0, lat=[], done=False)
        elif command == "quit":
            for sio in clients:
                threading.Thread(target=sio.disconnect, daemon=True).start()
            time.sleep(0.2)
            conn.send("bye")
            return


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_case(runtime: Any, url: str, clients: int, events: int, rate: float | None) -> dict[str, Any]:
    parent, child = mp.Pipe()
    proc = mp.Process(target=_clients, args=(url, clients, child), daemon=True)
    proc.start()
    assert parent.recv() == "ready"
    time.sleep(0.3)
    emit = runtime.ctx.emit
    cpu_start = time.process_time()
    start = time.time()
    if rate is None:
        for i in range(events):
            emit(BenchTick(i=i, t=time.time()))
    else:
        interval = 1.0 / rate
        next_at = time.perf_counter()
        for i in range(events):
            emit(BenchTick(i=i, t=time.time()))
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
    emit_done = time.time()
    emit(BenchEnd(n=events))
    parent.send("collect")
    per_client = parent.recv()
    end = time.time()
    cpu = time.process_time() - cpu_start
    parent.send("quit")
    parent.recv()
    proc.join(5)
    received = [c["received"] for c in per_client]
    dropped = [c["dropped"] for c in per_client]
    lat = [x for c in per_client for x in c["lat"]]
    # Delivery time: from the first emit until the last client had everything.
    elapsed = max(end - start, 1e-9)
    return {
        "clients": clients,
        "events": events,
        "paced_rate": rate,
        "emit_rate": events / max(emit_done - start, 1e-9),
        "delivered_per_client_per_s": statistics.mean(received) / elapsed,
        "delivered_total_per_s": sum(received) / elapsed,
        "received_min": min(received),
        "server_cpu_percent": 100 * cpu / elapsed,
        "dropped_max": max(dropped),
        "latency_p50_ms": _pct(lat, 0.50) * 1000,
        "latency_p99_ms": _pct(lat, 0.99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer events")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()

    from bussdcc_framework_web import WebInterface

    from bussdcc_framework.runtime import Runtime

    runtime = Runtime()
    # A buffer large enough that the throughput runs measure delivery, not dropping.
    web = WebInterface(port=0, message_types=[BenchTick, BenchEnd], client_buffer=100_000, history=1000)
    runtime.add_process(web)
    runtime.boot()
    n = 5_000 if args.quick else 50_000
    cases = [
        ("throughput, 1 client", 1, n, None),
        ("throughput, 10 clients", 10, n // 2, None),
        ("latency at 1000/s, 1 client", 1, 1000 if args.quick else 3000, 1000.0),
        ("latency at 1000/s, 10 clients", 10, 1000 if args.quick else 3000, 1000.0),
    ]
    results = []
    try:
        for label, clients, events, rate in cases:
            result = run_case(runtime, web.url, clients, events, rate)
            result["case"] = label
            results.append(result)
            if not args.json:
                print(
                    f"{label:32} delivered {result['delivered_per_client_per_s']:>9,.0f} ev/s "
                    f"per client ({result['delivered_total_per_s']:>9,.0f} total), "
                    f"emit {result['emit_rate']:>9,.0f} ev/s, "
                    f"latency p50 {result['latency_p50_ms']:6.2f} ms "
                    f"p99 {result['latency_p99_ms']:7.2f} ms, "
                    f"dropped {result['dropped_max']}, "
                    f"server CPU {result['server_cpu_percent']:.0f}%",
                    flush=True,
                )
    finally:
        runtime.shutdown()
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
