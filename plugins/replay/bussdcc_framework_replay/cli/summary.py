"""The summary ``bussdcc replay`` prints at the end (and ``events cat`` when lines were skipped)."""

from __future__ import annotations

from collections import Counter

from ..runtime import ReplayStats
from ..stats import SourceStats
from .format import count, duration, size, when


def combine(stats: list[SourceStats]) -> SourceStats:
    """One ``SourceStats`` adding up several (several sources merged)."""
    if len(stats) == 1:
        return stats[0]
    total = SourceStats()
    for s in stats:
        total.files.extend(s.files)
        total.shadowed.extend(s.shadowed)
        total.records += s.records
        total.yielded += s.yielded
        total.outside_window += s.outside_window
        total.filtered_type += s.filtered_type
        total.skipped.update(s.skipped)
        total.unknown_types.update(s.unknown_types)
        for reason, examples in s.examples.items():
            total.examples.setdefault(reason, []).extend(examples)
    return total


def damage_lines(stats: SourceStats, indent: str = "  ") -> list[str]:
    """What was skipped and why, with examples and the hint for unknown types."""
    if not stats.damaged:
        return []
    lines = [f"skipped {count(stats.damaged)} damaged line(s):"]
    lines.extend(indent + line for line in stats.describe_skipped())
    if stats.unknown_types:
        modules = sorted({name.partition(":")[0] for name in stats.unknown_types})
        shown = ", ".join(f"{n} ({count(c)})" for n, c in stats.unknown_types.most_common(5))
        lines.append(f"{indent}unknown types: {shown}")
        lines.append(
            f"{indent}to replay them: import the app (--app) or allow their modules: "
            + " ".join(f"--import {m}" for m in modules)
        )
    return lines


def replay_summary(replay: ReplayStats, stats: SourceStats) -> list[str]:
    """Every line of the end-of-replay summary."""
    files = len(stats.files)
    bytes_total = sum(f.size for f in stats.files)
    rate = f" ({count(int(replay.events_per_second))} events/s)" if replay.wall_seconds else ""
    state = "stopped after" if replay.cancelled else "replayed"
    lines = [
        (
            f"{state} {count(replay.replayed)} events from {files} file(s) ({size(bytes_total)}) "
            f"in {duration(replay.wall_seconds)} wall time{rate}"
        )
    ]
    if replay.first is not None and replay.last is not None:
        span = (replay.last - replay.first).total_seconds()
        lines.append(f"time span {when(replay.first)} .. {when(replay.last)} ({duration(span)})")
    if replay.lifecycle_skipped:
        total = sum(replay.lifecycle_skipped.values())
        names = Counter({k.rpartition(":")[2]: v for k, v in replay.lifecycle_skipped.items()})
        shown = ", ".join(f"{n} {c}" for n, c in names.most_common())
        lines.append(f"not re-emitted: {count(total)} recorded lifecycle event(s) ({shown})")
    if stats.outside_window or stats.filtered_type:
        lines.append(
            f"filtered out: {count(stats.outside_window)} outside --start/--end, "
            f"{count(stats.filtered_type)} not matching --types"
        )
    if stats.shadowed:
        lines.append(f"left out {len(stats.shadowed)} compressed copy(ies) of plain segments")
    lines.extend(damage_lines(stats))
    return lines
