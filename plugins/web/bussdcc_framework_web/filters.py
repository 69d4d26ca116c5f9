"""Event filters: type patterns and a minimum severity, used by live clients and ``/api/events``.

Patterns match the short class name (``ServiceStarted``) or the full record type
(``bussdcc.message.service:ServiceStarted``). A pattern with ``*``/``?`` is a glob, otherwise
a case-insensitive substring; a leading ``-`` excludes. Several patterns: any include matches
(or there is none) and no exclude matches.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bussdcc.message import Severity

from .records import EventRecord

MAX_PATTERNS = 32


class FilterError(ValueError):
    """A filter parameter is malformed; the message says which and why."""


def parse_severity(value: Any) -> int:
    """``"warning"``, ``"WARNING"``, ``30`` or ``"30"`` -> 30; ``None``/``""`` -> 0."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise FilterError(f"severity {value!r} is not a level")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        return int(Severity[text.upper()])
    except KeyError:
        names = ", ".join(s.name.lower() for s in Severity)
        raise FilterError(f"severity {text!r} is not one of {names} or a number") from None


def parse_patterns(value: Any) -> tuple[str, ...]:
    """A comma-separated string or a list of strings -> patterns (at most ``MAX_PATTERNS``)."""
    if value is None:
        return ()
    if isinstance(value, str):
        parts: Iterable[Any] = value.split(",")
    elif isinstance(value, (list, tuple)):
        parts = value
    else:
        raise FilterError("types must be a string or a list of strings")
    patterns = []
    for part in parts:
        if not isinstance(part, str):
            raise FilterError("types must be a string or a list of strings")
        if part.strip():
            patterns.append(part.strip()[:200])
    if len(patterns) > MAX_PATTERNS:
        raise FilterError(f"at most {MAX_PATTERNS} type patterns")
    return tuple(patterns)


def _matcher(pattern: str) -> tuple[bool, str, bool]:
    exclude = pattern.startswith("-")
    body = pattern[1:] if exclude else pattern
    is_glob = any(c in body for c in "*?[")
    return exclude, body.lower(), is_glob


@dataclass(frozen=True)
class EventFilter:
    """Which events a client or query wants; ``matches`` caches its answer per type."""

    types: tuple[str, ...] = ()
    min_severity: int = 0
    _cache: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, types: Any = None, severity: Any = None) -> EventFilter:
        return cls(parse_patterns(types), parse_severity(severity))

    def _type_matches(self, type_: str, name: str) -> bool:
        cached = self._cache.get(type_)
        if cached is not None:
            return cached
        includes = excludes = False
        has_include = False
        candidates = (type_.lower(), name.lower())
        for pattern in self.types:
            exclude, body, is_glob = _matcher(pattern)
            if is_glob:
                hit = any(fnmatch.fnmatchcase(c, body) for c in candidates)
            else:
                hit = any(body in c for c in candidates)
            if exclude:
                excludes = excludes or hit
            else:
                has_include = True
                includes = includes or hit
        result = (includes or not has_include) and not excludes
        if len(self._cache) < 4096:
            self._cache[type_] = result
        return result

    def matches(self, record: EventRecord) -> bool:
        if record["severity"] < self.min_severity:
            return False
        if not self.types:
            return True
        return self._type_matches(record["type"], record["name"])

    def describe(self) -> dict[str, Any]:
        return {"types": list(self.types), "severity": self.min_severity}
