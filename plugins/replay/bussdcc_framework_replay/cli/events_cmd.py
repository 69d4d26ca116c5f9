"""``bussdcc events info`` (what a recording holds, like ``ros2 bag info``) and ``events cat``.

Words matter here: a record of a type this process has no class for is an *unknown type*
(well-formed, decodable once the application is loaded), never *damaged*; damaged means the
bytes are broken. ``events cat`` is a raw tool: it prints the matching records as they are in
the file, whether or not their type is importable here. Like grep, a filter (``--types``,
``--start``, ``--end``) that matches nothing says so and exits 1.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import click

from bussdcc_framework.cli.options import collect_overrides, set_option
from bussdcc_framework.cli.table import format_table
from bussdcc_framework.codec import Codec, TypeRegistry, type_name
from bussdcc_framework.report import report
from bussdcc_framework.settings import SettingError

from ..files import discover
from ..filters import TimeBound
from ..reader import ReplayDataError
from ..source import JsonlSource
from ..stats import OTHER_TYPES, SourceStats
from .common import (
    FLEET_MARKER,
    SETTINGS_META,
    MergedSource,
    app_option,
    build_registry,
    fail,
    import_app,
    open_sources,
    source_options,
)
from .format import count, duration, printable, size, when
from .index_cmd import index_command, runs_command
from .indexed_info import from_indexes, split_by_index
from .summary import combine, damage_lines


@click.group("events")
@set_option("Set a plugin setting for the subcommand (repeatable), e.g. replay.max_line=64M.")
@click.pass_context
def events_group(ctx: click.Context, assignments: tuple[str, ...]) -> None:
    """Inspect recorded event logs (directories, .jsonl and .jsonl.gz files)."""
    try:
        ctx.meta[SETTINGS_META] = collect_overrides(assignments, ctx)
    except SettingError as exc:
        fail(str(exc), 2)


events_group.add_command(index_command)
events_group.add_command(runs_command)


@dataclass
class LogInfo:
    """What ``events info`` reports."""

    paths: list[str]
    stats: SourceStats
    per_type: Counter[type] = field(default_factory=Counter)
    from_index: bool = False
    """Whether the files with a current index were answered from it (not read)."""

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` form."""
        severities: Counter[str] = Counter()
        types = []
        for cls, n in self.per_type.most_common():
            severity = _severity(cls)
            severities[severity] += n
            types.append({"type": type_name(cls), "severity": severity, "count": n, "known": True})
        for name, n in self.stats.unknown_types.most_common():
            types.append({"type": name, "severity": None, "count": n, "known": False})
        for label, n in self.stats.unknown_severities.items():
            severities[label.upper()] += n  # from indexes: a fleet's devices knew them
        first, last = self.stats.first, self.stats.last
        return {
            "paths": self.paths,
            "files": [f.as_dict() for f in self.stats.files],
            "size": sum(f.size for f in self.stats.files),
            "start": when(first) if first else None,
            "end": when(last) if last else None,
            "duration_seconds": (last - first).total_seconds() if first and last else None,
            "records": sum(self.per_type.values()) + self.stats.unknown,
            "unknown": self.stats.unknown,
            "types": types,
            "severities": dict(severities.most_common()),
            "damaged": self.stats.damaged,
            "skipped": {k: v for k, v in self.stats.skipped.most_common() if k != "unknown_type"},
            "examples": {k: v for k, v in self.stats.examples.items() if k != "unknown_type"},
            "unknown_types": dict(self.stats.unknown_types.most_common()),
            "blank_lines": self.stats.blank_lines,
            "notes": list(self.stats.notes),
            "indexes": dict(self.stats.indexes),
            "index_max_line": self.stats.index_max_line,
            "from_index": self.from_index and bool(self.stats.indexes.get("ok")),
            "outside_window": self.stats.outside_window,
            "filtered_type": self.stats.filtered_type,
            "nodes": self.per_node(),
        }

    def per_node(self) -> dict[str, int]:
        """Records per node of a fleet recording (``site/node``), most first; empty otherwise."""
        nodes: Counter[str] = Counter()
        for f in self.stats.files:
            node = f.node or node_of_path(f.path)  # files counted from their index are not read
            if node is not None:
                nodes[node] += f.records + f.unknown
        return dict(nodes.most_common())


def node_of_path(path: str) -> str | None:
    """``site/node`` of a file in a fleet recording (``ROOT/<site>/<node>/<day>/<file>`` with the
    collector's marker in ``ROOT``), None for any other file."""
    parts = Path(path).parts
    if len(parts) < 5:
        return None
    root = Path(*parts[:-4])
    return f"{parts[-4]}/{parts[-3]}" if (root / FLEET_MARKER).is_file() else None


def _severity(cls: type) -> str:
    severity = getattr(cls, "severity", None)
    return getattr(severity, "name", str(severity))


def _scan(source: MergedSource) -> tuple[Counter[type], SourceStats]:
    per_type: Counter[type] = Counter()
    for evt in source:
        per_type[type(evt.payload)] += 1
    return per_type, combine(source.stats)


def _scan_indexed(source: MergedSource, registry: TypeRegistry) -> tuple[Counter[type], SourceStats]:
    """``_scan`` with the files that have a current index answered from it (the rest read)."""
    jsonl = [s for s in source.sources if isinstance(s, JsonlSource)]
    found = discover([p for s in jsonl for p in s.paths])
    indexed, unindexed, statuses, other_limit = split_by_index(found, jsonl[0].max_line)
    per_type, stats = from_indexes(indexed, registry)
    stats.shadowed = [str(p) for p in found.shadowed]
    for rejected in found.rejected:
        stats.skip(rejected.reason, str(rejected.path), rejected.detail)
    if unindexed:
        first = jsonl[0]
        rest = JsonlSource(
            unindexed, registry=registry, codec=first.codec, max_line=first.max_line, use_index=False
        )
        read_types, read = _scan(MergedSource([rest], first.codec))
        per_type.update(read_types)
        stats = combine([stats, read])
    order = {str(p): i for i, p in enumerate(found.files)}
    stats.files.sort(key=lambda f: order.get(f.path, len(order)))
    stats.indexes = statuses
    stats.index_max_line = other_limit
    return per_type, stats


def _filtered(start: TimeBound, end: TimeBound, types: tuple[str, ...]) -> str:
    """The filters given, as the user would type them (empty when there are none)."""
    parts = [f"--types {printable(','.join(types))}"] if types else []
    if start is not None:
        parts.append("--start")
    if end is not None:
        parts.append("--end")
    return " ".join(parts)


def _nothing_matched(filters: str, stats: SourceStats) -> NoReturn:
    """grep's convention: say that the filters matched nothing, exit 1."""
    read = stats.records + stats.unknown
    report(f"bussdcc: no record matches {filters} ({count(read)} record(s) read)")
    sys.exit(1)


@events_group.command("info")
@source_options
@app_option
@click.option(
    "--no-index",
    "no_index",
    is_flag=True,
    help="Read every record instead of answering from the files' indexes (validates every "
    "record's data and locates damaged lines).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info_command(
    paths: tuple[str, ...],
    start: TimeBound,
    end: TimeBound,
    types: tuple[str, ...],
    strict: bool,
    imports: tuple[str, ...],
    app: str | None,
    no_index: bool,
    as_json: bool,
) -> None:
    """Files, time range, counts per type and severity, unknown types and damaged lines.

    Answered from the files' indexes when they are current (`bussdcc events index` builds
    them) and no --start/--end/--types/--strict is given; other files are read. Exits 1 when
    --types/--start/--end match no record.
    """
    import_app(app)
    registry = build_registry(imports)
    source = open_sources(paths, start=start, end=end, types=types, strict=strict, registry=registry)
    whole = not (start is not None or end is not None or types or strict or no_index)
    indexed = whole and all(isinstance(s, JsonlSource) for s in source.sources)
    try:
        per_type, stats = _scan_indexed(source, registry) if indexed else _scan(source)
    except ReplayDataError as exc:
        fail(f"--strict: {printable(str(exc))}", 1)
    info = LogInfo(paths=list(paths), stats=stats, per_type=per_type, from_index=indexed)
    if as_json:
        click.echo(json.dumps(info.as_dict(), indent=2))
    else:
        click.echo("\n".join(_text(info)))
    filters = _filtered(start, end, types)
    if filters and not per_type and not stats.unknown:
        _nothing_matched(filters, stats)


def _index_line(stats: SourceStats, answered: bool) -> list[str]:
    """How the answer was found: from indexes (and how many files were read instead, and
    whether the reader's ``replay.max_line`` was why)."""
    used = stats.indexes.get("ok", 0)
    limit = (
        [
            f"index:      {stats.index_max_line} index(es) not used: built under another "
            "replay.max_line, their counts may not hold for this one (`bussdcc events index` rebuilds them)"
        ]
        if answered and stats.index_max_line
        else []
    )
    if not answered:
        seeks, left = stats.index_seeks, stats.index_skipped_files
        if not (seeks or left):
            return []
        return [
            f"index:      read from a checkpoint in {seeks} file(s), {left} file(s) "
            "outside the window left unread"
        ]
    if not used:
        return limit
    files = sum(stats.indexes.values())
    line = f"index:      {used} of {files} file(s) answered from their index"
    other = {k: v for k, v in stats.indexes.items() if k != "ok"}
    if other:
        why = ", ".join(f"{v} {k}" for k, v in sorted(other.items()))
        line += f"; {files - used} read ({why}: `bussdcc events index` indexes them)"
    return [line + " (--no-index reads every record)", *limit]


def _records_line(data: dict[str, Any], stats: SourceStats) -> str:
    notes = []
    if stats.unknown:
        notes.append(f"{count(stats.unknown)} of unknown types")
    if stats.damaged:
        notes.append(f"{count(stats.damaged)} damaged line(s) skipped")
    return f"records:    {count(data['records'])}" + (f" ({'; '.join(notes)})" if notes else "")


def _text(info: LogInfo) -> list[str]:
    data = info.as_dict()
    stats = info.stats
    compressed = sum(1 for f in stats.files if f.path.endswith(".gz"))
    lines = [
        f"paths:      {printable(', '.join(info.paths))}",
        *_index_line(stats, info.from_index),
        f"files:      {len(stats.files)} ({size(data['size'])}"
        + (f", {compressed} compressed)" if compressed else ")"),
        f"start:      {data['start'] or '-'}",
        f"end:        {data['end'] or '-'}",
        f"duration:   {duration(data['duration_seconds']) if data['duration_seconds'] is not None else '-'}",
        _records_line(data, stats),
        "severity:   " + (", ".join(f"{k} {count(v)}" for k, v in data["severities"].items()) or "-"),
    ]
    if stats.outside_window or stats.filtered_type:
        lines.append(
            f"filtered:   {count(stats.outside_window)} outside --start/--end, "
            f"{count(stats.filtered_type)} not matching --types"
        )
    if data["types"]:
        lines.append("")
        lines.append(
            format_table(
                ["count", "severity", "type"],
                [
                    [
                        count(t["count"]),
                        t["severity"] or "-",
                        printable(t["type"])
                        + ("" if t["known"] or t["type"] == OTHER_TYPES else "  (unknown type)"),
                    ]
                    for t in data["types"]
                ],
            )
        )
    if data["nodes"]:
        lines.append("")
        lines.append(
            format_table(
                ["count", "node"], [[count(n), printable(node)] for node, n in data["nodes"].items()]
            )
        )
    if len(stats.files) > 1 or stats.damaged:
        lines.append("")
        lines.append(
            format_table(
                ["file", "size", "records", "unknown", "damaged", "first", "last"],
                [
                    [
                        printable(f.path),
                        size(f.size),
                        count(f.records),
                        count(f.unknown),
                        count(f.damaged),
                        when(f.first),
                        when(f.last),
                    ]
                    for f in stats.files
                ],
            )
        )
    damage = damage_lines(stats)
    if damage:
        lines.append("")
        lines.extend(damage)
    return lines


@events_group.command("cat")
@source_options
@app_option
@click.option("--limit", "-n", type=click.IntRange(min=0), default=None, help="Stop after N records.")
@click.option(
    "--validate",
    is_flag=True,
    help="Decode each record with its message class and print it re-encoded; records of "
    "unknown types or with invalid data are skipped and counted.",
)
def cat_command(
    paths: tuple[str, ...],
    start: TimeBound,
    end: TimeBound,
    types: tuple[str, ...],
    strict: bool,
    imports: tuple[str, ...],
    app: str | None,
    limit: int | None,
    validate: bool,
) -> None:
    """Print the matching records as JSON lines, in time order, as they are in the files.

    A raw tool: records are printed whether or not their type is known here (--validate
    decodes them). Damaged lines are skipped and summarised on stderr. Exits 1 when
    --types/--start/--end match no record.
    """
    import_app(app)
    registry = build_registry(imports)
    source = open_sources(paths, start=start, end=end, types=types, strict=strict, registry=registry)
    out = sys.stdout.buffer
    written = 0
    try:
        if validate:
            encode = Codec(registry).encode_record_exact  # NaN kept, as recorded
            for evt in source:
                if limit is not None and written >= limit:
                    break
                out.write(encode(evt) + b"\n")
                written += 1
        else:
            for record in source.records():
                if limit is not None and written >= limit:
                    break
                out.write(record.line + b"\n")
                written += 1
        out.flush()
    except BrokenPipeError:
        # `bussdcc events cat ... | head`: the reader is gone, which is not an error.
        _silence_stdout()
        return
    except ReplayDataError as exc:
        out.flush()
        fail(f"--strict: {printable(str(exc))}", 1)
    stats = combine(source.stats)
    for line in damage_lines(stats):
        report(printable(line))
    filters = _filtered(start, end, types)
    if filters and not written and limit != 0:
        _nothing_matched(filters, stats)


def _silence_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
