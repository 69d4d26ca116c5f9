"""Event filters: type patterns and a minimum severity, used by live clients and ``/api/events``.

Type patterns are the framework's one dialect (``bussdcc_framework.patterns``, documented in
docs/configuration.md#type-patterns): case-insensitive shell globs over the full record type
(``bussdcc.message.service:ServiceStarted``), the qualified and the short class name; a bare
word must equal one of them; a leading ``-`` (or ``!``) excludes. Several patterns: any include
matches (or there is none) and no exclude matches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bussdcc.message import Severity

from bussdcc_framework.patterns import TypePatterns

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


@dataclass(frozen=True)
class EventFilter:
    """Which events a client or query wants; ``matches`` caches its answer per type."""

    types: tuple[str, ...] = ()
    min_severity: int = 0
    _patterns: TypePatterns = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_patterns", TypePatterns.parse(self.types))

    @classmethod
    def parse(cls, types: Any = None, severity: Any = None) -> EventFilter:
        return cls(parse_patterns(types), parse_severity(severity))

    def matches(self, record: EventRecord) -> bool:
        if record["severity"] < self.min_severity:
            return False
        if not self.types:
            return True
        return self._patterns.allows_name(record["type"])

    def describe(self) -> dict[str, Any]:
        return {"types": list(self.types), "severity": self.min_severity}
