"""``bussdcc events info`` (what a recording holds, like ``ros2 bag info``) and ``events cat``."""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import click

from bussdcc_framework.cli.table import format_table
from bussdcc_framework.codec import Codec, type_name

from ..filters import TimeBound
from ..reader import ReplayDataError
from ..stats import SourceStats
from .common import MergedSource, build_registry, fail, open_sources, source_options
from .format import count, duration, size, when
from .summary import combine, damage_lines


@click.group("events")
def events_group() -> None:
    """Inspect recorded event logs (directories, .jsonl and .jsonl.gz files)."""


@dataclass
class LogInfo:
    """What ``events info`` reports."""

    paths: list[str]
    stats: SourceStats
    per_type: Counter[type] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` form."""
        severities: Counter[str] = Counter()
        types = []
        for cls, n in self.per_type.most_common():
            severity = _severity(cls)
            severities[severity] += n
            types.append({"type": type_name(cls), "severity": severity, "count": n})
        first, last = self.stats.first, self.stats.last
        return {
            "paths": self.paths,
            "files": [f.as_dict() for f in self.stats.files],
            "size": sum(f.size for f in self.stats.files),
            "start": when(first) if first else None,
            "end": when(last) if last else None,
            "duration_seconds": (last - first).total_seconds() if first and last else None,
            "records": sum(self.per_type.values()),
            "types": types,
            "severities": dict(severities.most_common()),
            "damaged": self.stats.damaged,
            "skipped": dict(self.stats.skipped.most_common()),
            "examples": self.stats.examples,
            "unknown_types": dict(self.stats.unknown_types.most_common()),
            "outside_window": self.stats.outside_window,
            "filtered_type": self.stats.filtered_type,
        }


def _severity(cls: type) -> str:
    severity = getattr(cls, "severity", None)
    return getattr(severity, "name", str(severity))


def _scan(source: MergedSource) -> tuple[Counter[type], SourceStats]:
    per_type: Counter[type] = Counter()
    first = last = None
    for evt in source:
        per_type[type(evt.payload)] += 1
        t = evt.time
        if first is None or t < first:
            first = t
        if last is None or t > last:
            last = t
    stats = combine(source.stats)
    stats.first, stats.last = first, last
    return per_type, stats


@events_group.command("info")
@source_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info_command(
    paths: tuple[str, ...],
    start: TimeBound,
    end: TimeBound,
    types: tuple[str, ...],
    strict: bool,
    imports: tuple[str, ...],
    as_json: bool,
) -> None:
    """Files, time range, counts per type and severity, and damaged lines of a recording."""
    source = open_sources(
        paths, start=start, end=end, types=types, strict=strict, registry=build_registry(imports)
    )
    try:
        per_type, stats = _scan(source)
    except ReplayDataError as exc:
        fail(f"--strict: {exc}", 1)
    info = LogInfo(paths=list(paths), stats=stats, per_type=per_type)
    if as_json:
        click.echo(json.dumps(info.as_dict(), indent=2))
        return
    click.echo("\n".join(_text(info)))


def _text(info: LogInfo) -> list[str]:
    data = info.as_dict()
    stats = info.stats
    compressed = sum(1 for f in stats.files if f.path.endswith(".gz"))
    lines = [
        f"paths:      {', '.join(info.paths)}",
        f"files:      {len(stats.files)} ({size(data['size'])}"
        + (f", {compressed} compressed)" if compressed else ")"),
        f"start:      {data['start'] or '-'}",
        f"end:        {data['end'] or '-'}",
        f"duration:   {duration(data['duration_seconds']) if data['duration_seconds'] is not None else '-'}",
        f"records:    {count(data['records'])}"
        + (f" ({count(stats.damaged)} damaged line(s) skipped)" if stats.damaged else ""),
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
                [[count(t["count"]), t["severity"], t["type"]] for t in data["types"]],
            )
        )
    if len(stats.files) > 1 or stats.damaged:
        lines.append("")
        lines.append(
            format_table(
                ["file", "size", "records", "damaged", "first", "last"],
                [
                    [f.path, size(f.size), count(f.records), count(f.damaged), when(f.first), when(f.last)]
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
@click.option("--limit", "-n", type=click.IntRange(min=0), default=None, help="Stop after N records.")
def cat_command(
    paths: tuple[str, ...],
    start: TimeBound,
    end: TimeBound,
    types: tuple[str, ...],
    strict: bool,
    imports: tuple[str, ...],
    limit: int | None,
) -> None:
    """Print the matching records as JSON lines, in time order (re-encoded, validated).

    Damaged lines are skipped and summarised on stderr.
    """
    registry = build_registry(imports)
    source = open_sources(paths, start=start, end=end, types=types, strict=strict, registry=registry)
    codec = Codec(registry)
    encode = codec.encode_record
    out = sys.stdout.buffer
    written = 0
    try:
        for evt in source:
            if limit is not None and written >= limit:
                break
            out.write(encode(evt) + b"\n")
            written += 1
        out.flush()
    except BrokenPipeError:
        # `bussdcc events cat ... | head`: the reader is gone, which is not an error.
        _silence_stdout()
        return
    except ReplayDataError as exc:
        out.flush()
        fail(f"--strict: {exc}", 1)
    for line in damage_lines(combine(source.stats)):
        click.echo(line, err=True)


def _silence_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
