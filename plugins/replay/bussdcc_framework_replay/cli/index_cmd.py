"""``bussdcc events index`` (build the indexes a recording lacks) and ``events runs`` (list its runs)."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from bussdcc_framework.cli.table import format_table
from bussdcc_framework.plugins import load_plugins
from bussdcc_framework.recordings import Run
from bussdcc_framework.report import report

from ..catalog import build_indexes, catalog
from ..config import ReplayConfig
from ..files import discover
from .common import app_option, build_registry, command_settings, fail, import_app
from .format import count, duration, printable, when


def max_line() -> int:
    """``replay.max_line`` as ``--set`` or the environment sets it, or exit 2 with the error."""
    return ReplayConfig.from_settings(command_settings(load_plugins())).max_line


def _existing(paths: tuple[str, ...]) -> None:
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        fail(f"no such file or directory: {printable(missing[0])}", 2)


def _imports_option(function: Any) -> Any:
    return click.option(
        "--import",
        "imports",
        multiple=True,
        metavar="MODULE",
        help="Allow rebuilding types from MODULE (their severities are then known); repeatable.",
    )(function)


@click.command("index")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--force", is_flag=True, help="Rebuild every index, also those that are current.")
@app_option
@_imports_option
def index_command(paths: tuple[str, ...], force: bool, app: str | None, imports: tuple[str, ...]) -> None:
    """Build the missing or stale indexes of recordings (original-format logs included).

    An index (DIR/.NAME.idx next to DIR/NAME.jsonl) lets `events info`, `events runs` and
    `replay --start/--run` answer without reading the data; the data files are never changed.
    """
    _existing(paths)
    import_app(app)
    limit = max_line()
    found = discover(paths)
    done = build_indexes(found, build_registry(imports), max_line=limit, force=force)
    for path, error in done.failed:
        report(f"bussdcc: cannot index {printable(str(path))}: {printable(error)}")
    why = ", ".join(f"{len(v)} {k}" for k, v in sorted(done.written.items()))
    click.echo(
        f"indexed {count(done.written_count)} file(s)"
        + (f" ({why})" if why else "")
        + f", {count(len(done.current))} already current"
        + (f", {count(len(done.failed))} failed" if done.failed else "")
    )
    for rejected in found.rejected:
        report(f"skipped {printable(str(rejected.path))}: {rejected.reason}: {printable(rejected.detail)}")
    if done.failed:
        raise SystemExit(1)


def _ended(run: Run, last: bool) -> str:
    if run.ended == "shutdown":
        return f"shutdown ({printable(run.reason)})" if run.reason else "shutdown"
    if run.ended == "boot_failed":
        return f"boot failed: {printable(run.error)}" if run.error else "boot failed"
    if run.ended == "crash":
        return "no shutdown (still running?)" if last else "no shutdown (crash or kill)"
    return "unknown (no lifecycle records)"


def run_dict(run: Run) -> dict[str, Any]:
    """The ``--json`` form of a run."""
    return {
        "number": run.number,
        "start": when(run.start),
        "end": when(run.end),
        "duration_seconds": run.duration.total_seconds(),
        "events": run.events,
        "app": run.app,
        "version": run.version,
        "ended": run.ended,
        "reason": run.reason,
        "error": run.error,
        "partial": run.partial,
        "files": list(run.files),
        "start_offset": run.start_offset,
        "end_offset": run.end_offset,
    }


@click.command("runs")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@app_option
@_imports_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def runs_command(paths: tuple[str, ...], app: str | None, imports: tuple[str, ...], as_json: bool) -> None:
    """The runs (boot to shutdown) a recording holds: start, end, duration, events, app, end.

    `bussdcc replay PATH --run N` (or --run latest) replays one of them.
    """
    _existing(paths)
    import_app(app)
    found = catalog(paths, build_registry(imports), max_line=max_line())
    runs = found.runs()
    for path, error in found.failed:
        report(f"bussdcc: cannot read {printable(str(path))}: {printable(error)}")
    if as_json:
        click.echo(json.dumps({"runs": [run_dict(r) for r in runs], "scanned": found.scanned}, indent=2))
        return
    rows = [
        [
            str(r.number) + ("*" if r.partial else ""),
            when(r.start),
            when(r.end),
            duration(r.duration.total_seconds()),
            count(r.events),
            printable(r.app) if r.app else "-",
            _ended(r, r is runs[-1]),
        ]
        for r in runs
    ]
    if rows:
        click.echo(format_table(["run", "start", "end", "duration", "events", "app", "ended"], rows))
    else:
        click.echo("no runs: the recording holds no records")
    if any(r.partial for r in runs):
        click.echo("* its start is not in the recording (retention, or recorded mid-run)")
    if found.scanned:
        report(
            f"({found.scanned} file(s) without a current index were read; "
            "`bussdcc events index` makes this instant)"
        )
