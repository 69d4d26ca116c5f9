"""The summary ``bussdcc replay`` prints at the end (and ``events cat`` when lines were skipped)."""

from __future__ import annotations

from collections import Counter

from ..hints import import_suggestions
from ..runtime import ReplayStats
from ..stats import SourceStats
from .format import count, duration, printable, size, when


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
        total.unknown_severities.update(s.unknown_severities)
        total.blank_lines += s.blank_lines
        total.indexes.update(s.indexes)
        total.index_seeks += s.index_seeks
        total.index_skipped_files += s.index_skipped_files
        total.notes.extend(n for n in s.notes if n not in total.notes)
        total.import_errors.update(s.import_errors)
        for reason, examples in s.examples.items():
            total.examples.setdefault(reason, []).extend(examples)
        if s.first is not None and (total.first is None or s.first < total.first):
            total.first = s.first
        if s.last is not None and (total.last is None or s.last > total.last):
            total.last = s.last
    return total


def damage_lines(stats: SourceStats, indent: str = "  ") -> list[str]:
    """What was skipped and why: damage by reason with an example, then unknown types and the
    hint that would replay them, blank lines, and the notes of the pass (limits raised...).

    Everything that came from a file is made printable (no terminal escapes from data).
    """
    lines = [printable(note) for note in stats.notes]
    if stats.damaged:
        lines.append(f"skipped {count(stats.damaged)} damaged line(s):")
        lines.extend(indent + printable(line) for line in stats.describe_skipped())
    if stats.unknown:
        names = [name for name, _ in stats.unknown_types.most_common()]
        shown = ", ".join(f"{printable(n)} ({count(c)})" for n, c in stats.unknown_types.most_common(5))
        more = len(names) - 5
        lines.append(
            f"unknown types ({count(stats.unknown)} record(s) not decoded): {shown}"
            + (f" and {count(more)} more" if more > 0 else "")
        )
        failed = dict(stats.import_errors)
        for module, error in sorted(failed.items()):
            lines.append(f"{indent}--import {printable(module)} failed: {printable(error)}")
        modules = [m for m in import_suggestions(names) if m not in failed]
        hint = f"{indent}to replay them: load the application that defines them (--app APP)"
        if modules:
            hint += " or allow their modules: " + " ".join(f"--import {m}" for m in modules)
        lines.append(hint)
    if stats.blank_lines:
        lines.append(f"skipped {count(stats.blank_lines)} blank line(s)")
    return lines


def _span(seconds: float) -> str:
    """A recorded gap in words: seconds to hours as durations, longer ones in days or years."""
    days = seconds / 86400
    if days >= 365 * 2:
        return f"{days / 365.2425:,.0f} years"
    if days >= 2:
        return f"{days:,.1f} days"
    return duration(seconds)


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
        lines.append(f"time span {when(replay.first)} .. {when(replay.last)} ({_span(span)})")
    if replay.jumps:
        to = f" before {when(replay.jump_to)}" if replay.jump_to else ""
        lines.append(
            f"jumped over {count(replay.jumps)} gap(s) in recorded time longer than replay.max_wait "
            f"(the longest: {_span(replay.largest_jump)}{to}); set replay.max_wait to wait longer"
        )
    if replay.backwards:
        lines.append(f"recorded time went back {count(replay.backwards)} time(s); pacing restarted there")
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
