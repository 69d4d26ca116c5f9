"""Which events the console shows: a minimum severity and include/exclude type patterns.

The decision depends only on the payload class (severity is a class attribute), so it is
computed once per class and cached: on the emitting thread a filter costs one dict lookup.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from bussdcc.message import Severity

from bussdcc_framework.patterns import TypePatterns

LEVELS: dict[str, Severity] = {
    "debug": Severity.DEBUG,
    "info": Severity.INFO,
    "warning": Severity.WARNING,
    "error": Severity.ERROR,
    "critical": Severity.CRITICAL,
}


def parse_level(level: str | int | Severity) -> int:
    """A level name (any case) or a number; anything else is a one-line ``ValueError``."""
    if isinstance(level, int):
        return int(level)
    found = LEVELS.get(level.strip().lower())
    if found is None:
        raise ValueError(f"console level {level!r} is not one of {', '.join(LEVELS)}")
    return int(found)


def severity_of(cls: type) -> int:
    """The class's ``severity`` (``INFO`` for objects that are not kernel messages)."""
    value = getattr(cls, "severity", Severity.INFO)
    try:
        return int(value)
    except (TypeError, ValueError):
        return int(Severity.INFO)


class TypeFilter:
    """Minimum severity plus type patterns (``docs/configuration.md#type-patterns``).

    Patterns match the full record type (``bussdcc.message.service:ServiceStarted``), the
    qualified or the bare class name, case-insensitively, so ``Service*`` and
    ``bussdcc.message.*`` both work. ``include`` empty means every type; ``exclude`` (or a
    ``!pattern`` in ``include``) wins over ``include``.
    """

    def __init__(
        self,
        level: str | int | Severity = "debug",
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
    ) -> None:
        self.level = parse_level(level)
        self.patterns = TypePatterns(include, exclude)
        self.include = self.patterns.include
        self.exclude = self.patterns.exclude
        self._cache: dict[type, bool] = {}
        self._lock = threading.Lock()

    def allows(self, cls: type) -> bool:
        """Whether events of ``cls`` are shown (cached per class; thread-safe)."""
        decision = self._cache.get(cls)
        if decision is None:
            decision = severity_of(cls) >= self.level and self.patterns.allows(cls)
            with self._lock:
                # Copy-on-write so readers never see a dict being resized.
                cache = dict(self._cache)
                cache[cls] = decision
                self._cache = cache
        return decision
