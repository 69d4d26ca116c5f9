"""What a recording holds, by its indexes: building them, reading them, listing its runs.

``bussdcc events index`` stores an index next to each data file that has none or a stale one;
``bussdcc events runs`` and ``bussdcc replay --run`` list the runs from the indexes, scanning
in memory the files whose index is missing, stale or damaged (nothing is written then: only
``events index`` writes into a recording). A file that cannot be read is reported, never fatal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bussdcc_framework.codec import TypeRegistry
from bussdcc_framework.recordings import (
    Run,
    SegmentIndex,
    list_runs,
    registry_severity,
    scan_file,
    write_index,
)

from .files import Discovery, discover
from .indexes import check_index


@dataclass
class Indexing:
    """What ``build_indexes`` did, file by file."""

    current: list[Path] = field(default_factory=list)
    written: dict[str, list[Path]] = field(default_factory=dict)
    """Files indexed now, by why: ``missing``, ``stale``, ``damaged``, ``forced``."""
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def written_count(self) -> int:
        """How many indexes were written."""
        return sum(len(v) for v in self.written.values())


def build_indexes(
    found: Discovery, registry: TypeRegistry, *, max_line: int, force: bool = False
) -> Indexing:
    """Index every file of ``found`` whose index is not current (all of them with ``force``).

    Severities come from ``registry`` (so ``--app``/``--import`` make them known). An index
    built under another ``max_line`` whose counts do not hold for this one is ``stale``.
    """
    result = Indexing()
    severity = registry_severity(registry)
    for path in found.files:
        check = check_index(path, max_line)
        if check.status == "ok" and not force:
            result.current.append(path)
            continue
        why = "forced" if check.status == "ok" else check.status
        try:
            index = scan_file(path, severity_of=severity, max_line=max_line)
            write_index(path, index)
        except OSError as exc:
            result.failed.append((path, f"{type(exc).__name__}: {exc.strerror or exc}"))
            continue
        result.written.setdefault(why, []).append(path)
    return result


@dataclass
class Catalog:
    """The indexes of a recording's files (stored or scanned) and what could not be read."""

    indexed: list[tuple[Path, SegmentIndex]] = field(default_factory=list)
    scanned: int = 0
    """Files whose index was missing, stale or damaged: read now, their index not stored."""
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def runs(self) -> list[Run]:
        """The runs, numbered from 1 in time order."""
        return list_runs(self.indexed)


def catalog(paths: Sequence[str], registry: TypeRegistry, *, max_line: int) -> Catalog:
    """The indexes of the data files under ``paths``: stored ones when current, else scanned."""
    found = discover(paths)
    result = Catalog()
    severity = registry_severity(registry)
    for path in found.files:
        check = check_index(path, max_line)
        index = check.index
        if index is None:
            try:
                index = scan_file(path, severity_of=severity, max_line=max_line)
            except OSError as exc:
                result.failed.append((path, f"{type(exc).__name__}: {exc.strerror or exc}"))
                continue
            result.scanned += 1
        result.indexed.append((path, index))
    return result


class RunNotFound(LookupError):
    """``--run`` names no run of the recording; the message says which there are."""


def select_run(runs: Sequence[Run], which: str) -> Run:
    """The run ``which`` names: ``latest``, ``first``, ``N`` (from 1) or ``-N`` (from the end)."""
    if not runs:
        raise RunNotFound("the recording holds no run (no records)")
    text = which.strip().lower()
    if text in ("latest", "last"):
        return runs[-1]
    if text == "first":
        return runs[0]
    try:
        number = int(text)
    except ValueError:
        raise RunNotFound(f"--run {which!r}: expected latest, first, a run number or -N") from None
    if 1 <= number <= len(runs):
        return runs[number - 1]
    if -len(runs) <= number <= -1:
        return runs[number]
    raise RunNotFound(f"--run {which}: the recording holds runs 1 to {len(runs)} (see `bussdcc events runs`)")
