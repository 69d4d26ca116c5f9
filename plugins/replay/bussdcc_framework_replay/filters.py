"""Which records a source yields: a time window and type patterns.

Type patterns are the framework's one dialect (``bussdcc_framework.patterns``, documented in
docs/configuration.md#type-patterns): shell globs matched case-insensitively against the full
record type ``module:QualName``, the qualified and the short class name, so ``Reading``,
``*Reading``, ``myapp.messages:*`` and ``bussdcc.message.*:*`` all work; ``!pattern`` (or
``-pattern``) excludes. The answer is cached: records of one type cost one dict lookup.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from bussdcc_framework.patterns import TypePatterns, split_patterns

#: A bound of a time window: an absolute time, or an offset from the first recorded event.
TimeBound = datetime | timedelta | None

__all__ = ["TimeBound", "TypeFilter", "as_utc", "resolve_bound", "split_patterns"]


class TypeFilter(TypePatterns):
    """A predicate over message classes (and type names) built from type patterns.

    ``TypeFilter(["Reading,!Debug*"])(cls)`` is ``TypePatterns.parse(...).allows(cls)``; kept
    under this name (and with ``matches_name``) for the replay API.
    """

    __slots__ = ()

    def __init__(self, patterns: Iterable[str]) -> None:
        super().__init__(include=[patterns] if isinstance(patterns, str) else patterns)

    __call__ = TypePatterns.allows
    matches_name = TypePatterns.allows_name


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
