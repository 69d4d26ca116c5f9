"""Which records a source yields: a time window and type patterns.

Type patterns are shell patterns (``fnmatch``, case-sensitive) tried against the full record
type ``module:QualName`` and against the short class name, so ``Reading``, ``*Reading``,
``myapp.messages:*`` and ``bussdcc.message.*:*`` all work. A pattern starting with ``!``
excludes. A type is kept when it matches an including pattern (or there is none) and no
excluding one. The answer is cached per class: records of one type cost one dict lookup.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase

from bussdcc_framework.codec import type_name

#: A bound of a time window: an absolute time, or an offset from the first recorded event.
TimeBound = datetime | timedelta | None


def split_patterns(patterns: Iterable[str]) -> list[str]:
    """Flatten ``["A,B", "C"]`` into ``["A", "B", "C"]``, dropping blanks."""
    return [p.strip() for item in patterns for p in item.split(",") if p.strip()]


class TypeFilter:
    """A predicate over message classes (and type names) built from shell patterns."""

    def __init__(self, patterns: Iterable[str]) -> None:
        flat = split_patterns(patterns)
        self.patterns = tuple(flat)
        self._include = tuple(p for p in flat if not p.startswith("!"))
        self._exclude = tuple(p[1:] for p in flat if p.startswith("!") and len(p) > 1)
        self._cache: dict[type, bool] = {}

    def __bool__(self) -> bool:
        """False when there is nothing to filter (every type passes)."""
        return bool(self._include or self._exclude)

    def matches_name(self, name: str) -> bool:
        """Whether a ``module:QualName`` type name passes the patterns."""
        short = name.rpartition(":")[2].rpartition(".")[2]

        def hit(pattern: str) -> bool:
            return fnmatchcase(name, pattern) or fnmatchcase(short, pattern)

        if self._include and not any(hit(p) for p in self._include):
            return False
        return not any(hit(p) for p in self._exclude)

    def __call__(self, cls: type) -> bool:
        """Whether records of message class ``cls`` pass (cached per class)."""
        cached = self._cache.get(cls)
        if cached is None:
            cached = self._cache[cls] = self.matches_name(type_name(cls))
        return cached


def as_utc(value: datetime) -> datetime:
    """A naive time is taken as UTC (recordings are in UTC); an aware one is kept."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def resolve_bound(bound: TimeBound, origin: datetime | None) -> datetime | None:
    """An absolute bound from a ``TimeBound``: offsets count from ``origin`` (the first event)."""
    if bound is None:
        return None
    if isinstance(bound, timedelta):
        return None if origin is None else origin + bound
    return as_utc(bound)
