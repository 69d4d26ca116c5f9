"""Turning one event into the bytes of its console line(s): JSON records or a human format.

Both formatters run on the console's writer thread, never on the emitting thread. Neither ever
raises: an event that cannot be encoded becomes a *marked fallback line* (JSON: a record with
``"data": null`` and a ``console_error`` key; human: ``!!`` after the type) that still names the
event, so one bad payload costs one line, not the console.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import click
import msgspec
from bussdcc.event import Event
from bussdcc.message import Message, Severity

from bussdcc_framework.codec import Codec, TypeRegistry, format_time
from bussdcc_framework.codec.nanplan import NONFINITE, NanCheck, Probe, nan_plan
from bussdcc_framework.names import type_name
from bussdcc_framework.report import describe

from .filters import severity_of

_json = msgspec.json.Encoder()


def _loose_hook(obj: Any) -> Any:
    if isinstance(obj, Event):
        return f"<{type(obj.payload).__qualname__}>"
    return safe_repr(obj, MAX_VALUE_CHARS)


#: For human-format values: anything msgspec cannot encode is shown by its ``repr``.
_loose_json = msgspec.json.Encoder(enc_hook=_loose_hook)

#: Longest rendering of one field value in the human format before it is cut with "…".
MAX_VALUE_CHARS = 240
#: Longest ``repr`` of an unencodable payload that a fallback line carries.
MAX_REPR_CHARS = 1000


class Formatter(Protocol):
    """Renders one event as complete line(s), newline-terminated UTF-8 bytes."""

    def __call__(self, evt: Event[Message]) -> bytes: ...


def safe_repr(obj: object, limit: int = MAX_REPR_CHARS) -> str:
    """``repr`` that never raises and never grows without bound."""
    try:
        text = repr(obj)
    except Exception as exc:
        text = f"<{type(obj).__qualname__} object; repr failed: {type(exc).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _time_text(evt: object) -> str:
    try:
        when = getattr(evt, "time", None)
        if isinstance(when, datetime):
            return format_time(when)
    except Exception:
        pass
    return format_time(datetime.now(UTC))


class JsonFormatter:
    """One record per line: ``{"time":…,"type":"module:QualName","data":{…}}``.

    Exactly what the JSONL recorder writes, a float NaN or infinity included (as ``"nan"``,
    ``"inf"``, ``"-inf"``: ``bussdcc run app.py > events.jsonl`` is a recording that replays
    them); where to look for one is decided once per class (``codec.nanplan``).
    """

    def __init__(self) -> None:
        # Encoding needs no registry lookups: an empty registry avoids plugin discovery.
        self._codec = Codec(TypeRegistry(include_imported=False))
        self._encode = self._codec.encode_record
        self._plans: dict[type, tuple[NanCheck, Probe | None] | None] = {}

    def __call__(self, evt: Event[Message]) -> bytes:
        try:
            line = self._encode(evt)
        except Exception as exc:
            return self.fallback(evt, exc)
        payload = evt.payload
        try:
            plan = self._plans[type(payload)]
        except KeyError:
            plan = self._plans[type(payload)] = nan_plan(type(payload))
        if plan is not None:
            line = self._nonfinite(evt, plan, line)
        node = getattr(evt, "node", None)  # a fleet recording's events keep their node
        if isinstance(node, str):
            return line[:-1] + b',"node":' + json.dumps(node).encode() + b"}\n"
        return line + b"\n"

    def _nonfinite(self, evt: Event[Message], plan: tuple[NanCheck, Probe | None], line: bytes) -> bytes:
        """``line``, or the record with a NaN or infinity written as a string when it holds one."""
        check, probe = plan
        if probe is None:
            flagged = b"null" in line  # msgspec writes NaN as null
        else:
            try:
                flagged = not math.isfinite(probe(evt.payload))
            except (TypeError, ValueError, OverflowError):  # None, inf - inf, overflow
                flagged = True
        if not flagged or not check(evt.payload) & NONFINITE:
            return line
        try:
            return self._codec.encode_record_nonfinite(evt)
        except Exception:  # encode_record could: keep its line (null)
            return line

    @staticmethod
    def fallback(evt: object, exc: BaseException) -> bytes:
        """A valid JSON line marked with ``console_error`` for an event that did not encode."""
        payload = getattr(evt, "payload", evt)
        record = {
            "time": _time_text(evt),
            "type": type_name(type(payload)),
            "data": None,
            "console_error": f"cannot encode: {describe(exc)}"[:MAX_REPR_CHARS],
            "repr": safe_repr(payload),
        }
        try:
            return _json.encode(record) + b"\n"
        except Exception:  # pragma: no cover - every value above is a str
            return b'{"console_error":"cannot encode event"}\n'


_LEVEL_STYLE: dict[int, dict[str, Any]] = {
    int(Severity.DEBUG): {"fg": "bright_black"},
    int(Severity.INFO): {"fg": "green"},
    int(Severity.WARNING): {"fg": "yellow", "bold": True},
    int(Severity.ERROR): {"fg": "red", "bold": True},
    int(Severity.CRITICAL): {"fg": "white", "bg": "red", "bold": True},
}

#: Fields shown below the line, indented, instead of squeezed into ``key=value``.
_BLOCK_FIELDS = frozenset({"traceback"})

#: A message class attribute naming the fields the human format shows, in order: for a type
#: with many or bulky fields (``SystemIdentityEvent``) whose whole line would wrap a terminal
#: several times. The JSON format and recordings always keep every field.
CONSOLE_FIELDS = "console_fields"


def level_name(severity: int) -> str:
    """``INFO``, ``ERROR``… or the number for a custom severity."""
    try:
        return Severity(severity).name
    except ValueError:
        return str(severity)


class HumanFormatter:
    """``2026-03-09 12:00:01.722 INFO     FrameworkBooted version=0.1.0`` for people.

    Fields whose value is ``None`` are left out (the JSON format keeps them), and so are those
    not named by the class's ``console_fields`` when it has one. Values longer than
    ``MAX_VALUE_CHARS`` are cut. A ``traceback`` field is printed below the line, indented. With
    ``color`` the level and type are styled by severity through ``click.style``.
    """

    def __init__(self, *, color: bool = False, utc: bool = False) -> None:
        self.color = color
        self.utc = utc
        self._fields: dict[type, tuple[str, ...]] = {}
        self._second: datetime | None = None
        self._prefix = ""

    def __call__(self, evt: Event[Message]) -> bytes:
        try:
            return self._render(evt).encode("utf-8", "replace")
        except Exception as exc:
            return self.fallback(evt, exc)

    def _time(self, evt: Event[Message]) -> str:
        when = evt.time
        second = when.replace(microsecond=0)
        if second != self._second:
            # Zone conversion and strftime cost more than the rest of the line: once a second.
            aware = second if second.tzinfo is not None else second.replace(tzinfo=UTC)
            local = aware.astimezone(UTC if self.utc else None)
            self._prefix = local.strftime("%Y-%m-%d %H:%M:%S.")
            self._second = second
        text = f"{self._prefix}{when.microsecond // 1000:03d}"
        return text + "Z" if self.utc else text

    def _render(self, evt: Event[Message]) -> str:
        payload = evt.payload
        cls = type(payload)
        severity = severity_of(cls)
        level = f"{level_name(severity):<8}"
        name = cls.__qualname__
        if self.color:
            style = _LEVEL_STYLE.get(severity, {})
            level = click.style(level, **style)
            name = click.style(name, bold=True)
        parts = [self._time(evt), level, name]
        node = getattr(evt, "node", None)  # a fleet recording's events (replay's NodeEvent)
        if isinstance(node, str):
            parts.insert(2, f"[{_printable(node)}]")
        blocks: list[str] = []
        for field in self._field_names(cls):
            value = getattr(payload, field, None)
            if value is None:
                continue
            if field in _BLOCK_FIELDS and isinstance(value, str):
                blocks.append(value.rstrip("\n"))
                continue
            parts.append(f"{field}={self._value(value)}")
        line = " ".join(parts)
        if blocks:
            indented = "\n".join("    " + row for block in blocks for row in block.splitlines())
            line = f"{line}\n{indented}"
        return line + "\n"

    def _field_names(self, cls: type) -> tuple[str, ...]:
        names = self._fields.get(cls)
        if names is None:
            chosen = getattr(cls, CONSOLE_FIELDS, None)
            if isinstance(chosen, (tuple, list)) and all(isinstance(n, str) for n in chosen):
                names = tuple(chosen)
            elif dataclasses.is_dataclass(cls):
                names = tuple(f.name for f in dataclasses.fields(cls))
            else:
                names = tuple(n for n in getattr(cls, "__slots__", ()) if not n.startswith("_"))
            self._fields[cls] = names
        return names

    def _value(self, value: Any) -> str:
        text = self._value_text(value)
        return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"

    def _value_text(self, value: Any) -> str:
        if isinstance(value, (bool, int, float)):
            return str(value)
        if isinstance(value, enum.Enum):
            return value.name
        if isinstance(value, str):
            return value if _is_bare(value) else _json.encode(value).decode()
        if isinstance(value, datetime):
            return format_time(value)
        if isinstance(value, Event):
            return f"<{type(value.payload).__qualname__}>"
        try:
            return _loose_json.encode(value).decode()
        except Exception:
            return safe_repr(value, MAX_VALUE_CHARS)

    def fallback(self, evt: object, exc: BaseException) -> bytes:
        """A line that still shows when and what, marked ``!!``, for an event that failed."""
        payload = getattr(evt, "payload", evt)
        try:
            when = self._time(evt)  # type: ignore[arg-type]
        except Exception:
            when = _time_text(evt)
        text = (
            f"{when} {'?':<8} {type(payload).__qualname__} !! cannot format: "
            f"{describe(exc)} {safe_repr(payload)}"
        )
        return (text.replace("\n", "\\n") + "\n").encode("utf-8", "replace")


_BARE_FORBIDDEN = frozenset(" \"'=\\\n\r\t")


def _printable(text: str) -> str:
    """Text from a recording with control characters shown as escapes (never terminal codes)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _is_bare(text: str) -> bool:
    return bool(text) and not any(ch in _BARE_FORBIDDEN for ch in text) and text.isprintable()


def make_formatter(fmt: str, *, color: bool, utc: bool) -> Callable[[Event[Message]], bytes]:
    """The formatter for ``json`` or ``human`` (``auto`` is resolved by the sink first)."""
    if fmt == "json":
        return JsonFormatter()
    if fmt == "human":
        return HumanFormatter(color=color, utc=utc)
    raise ValueError(f"console format {fmt!r} is not one of json, human, auto")
