"""``--start``/``--end`` values: an ISO-8601 time or date, or an offset from the first event.

An offset is ``+`` and seconds (``+90``), or durations with units, with or without ``+``
(``90s``, ``5m``, ``1h30m``, ``+250ms``). A bare number is not an offset: ``20260309`` is a
date to ``datetime.fromisoformat``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import click

from ..filters import TimeBound, as_utc

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)?")
_BARE_OFFSET = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+")


def parse_offset(text: str) -> timedelta:
    """``+90``, ``+90s``, ``+1.5m``, ``+1h30m``, ``+250ms`` as a duration; ``ValueError`` if not."""
    body = text.removeprefix("+")
    if not body:
        raise ValueError(text)
    seconds = 0.0
    pos = 0
    while pos < len(body):
        match = _PART.match(body, pos)
        if match is None or match.end() == pos:
            raise ValueError(text)
        seconds += float(match.group(1)) * _UNITS[match.group(2) or "s"]
        pos = match.end()
    return timedelta(seconds=seconds)


def parse_bound(text: str) -> TimeBound:
    """An absolute time (naive means UTC), or an offset: ``+90``, ``+5m``, or ``5m`` with a unit."""
    text = text.strip()
    if text.startswith("+") or _BARE_OFFSET.fullmatch(text):
        return parse_offset(text)
    return as_utc(datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text))


class TimeBoundType(click.ParamType):  # type: ignore[type-arg,unused-ignore]  # generic from click 8.2
    """click type for ``--start``/``--end``."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return parse_bound(value)
        except ValueError:
            self.fail(
                f"{value!r} is not a time: use ISO-8601 (2026-03-09T12:00:00, naive means UTC; "
                "or a date) or an offset from the first event such as +90, 90s, 5m, 1h30m",
                param,
                ctx,
            )


TIME_BOUND = TimeBoundType()
