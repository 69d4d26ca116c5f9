"""Tests of the CSV sink plugin, using the fixtures bussdcc-framework ships for plugin authors.

``make_runtime`` and ``captured_events`` come from the framework's pytest plugin (loaded by its
``pytest11`` entry point): no conftest needed.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path

import bussdcc_csv_sink.plugin as plugin
from bussdcc.event import Event
from bussdcc.message import Message, Severity
from bussdcc_csv_sink import COLUMNS, CsvSink


@dataclass(slots=True, frozen=True)
class Watered(Message):
    severity = Severity.WARNING

    bed: str
    litres: float


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_event_becomes_a_row(make_runtime, tmp_path: Path) -> None:
    target = tmp_path / "out" / "events.csv"
    rt = make_runtime(plugin, settings={"csv.path": str(target)})
    rt.ctx.emit(Watered(bed="tomatoes", litres=1.5))
    rt.shutdown("done")

    rows = read_rows(target)
    assert tuple(rows[0]) == COLUMNS
    watered = [r for r in rows if r["type"].endswith(":Watered")]
    assert len(watered) == 1
    assert watered[0]["severity"] == "WARNING"
    assert json.loads(watered[0]["data"]) == {"bed": "tomatoes", "litres": 1.5}
    assert datetime.fromisoformat(watered[0]["time"]).tzinfo is not None
    types = [r["type"] for r in rows]
    assert "bussdcc_framework.message.framework:FrameworkBooted" in types
    assert types[-1].endswith(":RuntimeShutdown")


def test_types_setting_filters_rows(make_runtime, tmp_path: Path) -> None:
    target = tmp_path / "events.csv"
    rt = make_runtime(plugin, settings={"csv.path": str(target), "csv.types": "*:Watered"})
    rt.ctx.emit(Watered(bed="beans", litres=0.5))
    rt.shutdown()
    assert [r["type"].rpartition(":")[2] for r in read_rows(target)] == ["Watered"]


def test_without_a_path_the_plugin_adds_no_sink(make_runtime, captured_events) -> None:
    rt = make_runtime(plugin)
    assert rt.sinks == [captured_events]


def test_path_from_the_environment(make_runtime, tmp_path: Path) -> None:
    target = tmp_path / "env.csv"
    rt = make_runtime(plugin, environ={"BUSSDCC_CSV_PATH": str(target)})
    rt.shutdown()
    assert len(read_rows(target)) > 3


def test_appends_without_a_second_header(tmp_path: Path) -> None:
    target = tmp_path / "events.csv"
    for run in range(2):
        sink = CsvSink(target)
        sink.start(None)  # type: ignore[arg-type]
        sink.handle(Event(time=datetime.now(UTC), payload=Watered(f"bed{run}", 1.0)))
        sink.stop()
    lines = target.read_text().splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert len(lines) == 3 and lines.count(lines[0]) == 1


def test_threads_never_interleave_rows(tmp_path: Path) -> None:
    target = tmp_path / "threads.csv"
    sink = CsvSink(target)
    sink.start(None)  # type: ignore[arg-type]

    def work(n: int) -> None:
        for i in range(300):
            sink.handle(Event(time=datetime.now(UTC), payload=Watered(f"b{n}", i)))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.stop()
    rows = read_rows(target)
    assert len(rows) == 8 * 300 == sink.rows
    assert all(json.loads(r["data"])["bed"].startswith("b") for r in rows)


def test_installed_plugin_is_discovered() -> None:
    # Only true once the distribution is installed: this is what an outside author ships.
    found = {ep.name: ep.value for ep in entry_points(group="bussdcc_framework")}
    assert found.get("csv") == "bussdcc_csv_sink.plugin"
    bussdcc = Path(sys.executable).parent / "bussdcc"
    listed = subprocess.run(
        [str(bussdcc), "plugins", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    record = next(p for p in json.loads(listed.stdout) if p["name"] == "csv")
    assert record["status"] == "loaded"
    assert record["distribution"] == "bussdcc-csv-sink"
    assert record["hooks"] == ["register_settings", "register_sinks"]
