"""``events info`` answered from indexes: counts per type, time range and damage without reading.

Used only when the question is the whole recording (no ``--start``/``--end``/``--types``, no
``--strict``): an index counts records per type name over the whole file, nothing finer. The
files without a current index are read as usual and the two halves added up. What an index
cannot say: whether each record's data is valid for its class (it counts every record with a
sound head), and where each damaged line is (``--no-index`` reads every record and gives
``file:line`` examples).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bussdcc_framework.codec import TypeRegistry, split_type_name
from bussdcc_framework.recordings import SegmentIndex

from ..files import Discovery, file_size
from ..indexes import check_index, limit_mismatch
from ..stats import OTHER_TYPES, UNKNOWN_TYPE, FileStats, SourceStats

#: Reasons of the index (``SegmentIndex.skipped``) under the names readers use.
_REASONS = {"torn": "torn_line"}


def split_by_index(
    found: Discovery, max_line: int
) -> tuple[list[tuple[Path, SegmentIndex]], list[Path], Counter[str], int]:
    """The files with a current index, the others, the files by index status, and how many of
    the ``stale`` ones are so only because their counts do not hold for ``max_line``."""
    indexed: list[tuple[Path, SegmentIndex]] = []
    unindexed: list[Path] = []
    statuses: Counter[str] = Counter()
    other_limit = 0
    for path in found.files:
        check = check_index(path, max_line)
        statuses[check.status] += 1
        other_limit += limit_mismatch(check)
        if check.index is not None:
            indexed.append((path, check.index))
        else:
            unindexed.append(path)
    return indexed, unindexed, statuses, other_limit


def from_indexes(
    indexed: list[tuple[Path, SegmentIndex]], registry: TypeRegistry
) -> tuple[Counter[type], SourceStats]:
    """Counts per class and the stats ``events info`` shows, from the indexes alone.

    Type names resolve through ``registry`` as when reading: a known class counts under it,
    a well-formed name of no known class is an unknown type, a malformed one is damage
    (``bad_type_name``), as a reader would count them.
    """
    per_type: Counter[type] = Counter()
    stats = SourceStats()
    resolved: dict[str, type | None] = {}
    for path, index in indexed:
        fstats = FileStats(path=str(path), size=file_size(path), first=index.start, last=index.end)
        stats.files.append(fstats)
        known: Counter[str] = Counter()  # severities of the records of classes known here
        for name, n in index.types.items():
            if name not in resolved:
                resolved[name] = _resolve(registry, name)
            cls = resolved[name]
            if cls is not None:
                per_type[cls] += n
                fstats.records += n
                known[_severity_name(cls)] += n
            elif _well_formed(name):
                fstats.unknown += n
                stats.skipped[UNKNOWN_TYPE] += n
                stats.count_unknown(name, n)
            else:
                fstats.damaged += n
                stats.skipped["bad_type_name"] += n
        if index.other_types:
            fstats.unknown += index.other_types
            stats.skipped[UNKNOWN_TYPE] += index.other_types
            stats.count_unknown(OTHER_TYPES, index.other_types)
        stats.unknown_severities.update(_left_over(index.severities, known))
        for reason, n in index.skipped.items():
            if reason == "blank":
                stats.blank_lines += n
            else:
                fstats.damaged += n
                stats.skipped[_REASONS.get(reason, reason)] += n
        stats.records += fstats.records
        stats.yielded += fstats.records
        if index.start is not None and (stats.first is None or index.start < stats.first):
            stats.first = index.start
        if index.end is not None and (stats.last is None or index.end > stats.last):
            stats.last = index.end
    return per_type, stats


def _severity_name(cls: type) -> str:
    label = getattr(getattr(cls, "severity", None), "name", None)
    return label.lower() if isinstance(label, str) else "unknown"


def _left_over(indexed: dict[str, int], known: Counter[str]) -> Counter[str]:
    """The severities an index holds beyond those of the classes known here, ``unknown`` aside.

    In a fleet recording these are the records of the devices' types, with the severity the
    devices sent. (A type the index could not name a severity for but this reader knows is
    counted under its class: its ``unknown`` records are not left over.)
    """
    rest = Counter(indexed)
    rest.subtract(known)
    del rest["unknown"]
    return +rest


def _resolve(registry: TypeRegistry, name: str) -> type | None:
    try:
        return registry.resolve(name)
    except Exception:
        return None


def _well_formed(name: str) -> bool:
    try:
        split_type_name(name)
    except ValueError:
        return False
    return True
