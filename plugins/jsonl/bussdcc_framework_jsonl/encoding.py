"""What the sink does with values JSON cannot hold faithfully: words for errors, NaN detection.

Two kinds of events are not recorded as they were emitted, and both are counted and reported:

* events that cannot be encoded at all (an arbitrary object in an ``Any`` field, a string with
  a lone surrogate, nesting deeper than the encoder's limit): nothing is written;
* events holding a float NaN or infinity: JSON has no such numbers, so they are written as
  ``null`` (a ``float`` field then fails to decode on replay, an ``Any`` field reads back
  ``None``). The event is recorded, and reported as altered.

Finding NaN costs the emitting thread nothing for most classes: ``nan_plan(cls)`` decides,
once per class, where to look. A class no field of which can hold a float needs nothing. A
flat class (scalar fields only) whose floats are plain ``float`` fields is checked by the
writer thread, which searches each written batch once for ``null`` and, only then, the lines
for ``"field":null`` (msgspec writes a finite float as a number, so that pattern means NaN, an
infinity or a ``None`` the type did not allow). Any other class that may hold a float
(``Any``, ``Optional[float]``, containers, nested dataclasses) is checked on the emitting
thread, where the event still is: a search of its line for ``null``, then a walk of the event
(iteratively, so deep nesting cannot overflow the stack).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable
from typing import Any, Final

from bussdcc.event import Event

from bussdcc_framework.codec import type_name

#: Error texts in reports are cut to this many characters.
MAX_ERROR_TEXT: Final = 500
#: At most this many values are looked at when searching an event for NaN.
MAX_VISITED: Final = 100_000

_NO_FLOAT: Final = (str, int, bool, bytes, type(None))


def describe_error(cls: type, exc: BaseException) -> str:
    """An encoding error in words (msgspec's own are plain ``ValueError``s and the like)."""
    text = str(exc)
    if text.startswith("cannot encode"):  # the codec's EncodeError names the class already
        return safe_text(text)
    if isinstance(exc, RecursionError):
        text = "nested too deep to be written as JSON"
    elif isinstance(exc, UnicodeEncodeError):
        text = f"a string holds a character UTF-8 cannot encode ({exc.reason})"
    else:
        text = f"{type(exc).__name__}: {text}"
    return safe_text(f"cannot encode {type_name(cls)}: {text}")


def safe_text(text: str) -> str:
    """Printable, encodable (no lone surrogate) and short: reports are recorded and printed."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 3] + "..."


def _hint_may_hold_float(hint: Any, seen: set[int]) -> bool:
    if hint in _NO_FLOAT or (isinstance(hint, type) and issubclass(hint, _NO_FLOAT)):
        return False
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return may_hold_float(hint, seen)
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return any(isinstance(a, float) for a in typing.get_args(hint))
    if origin is typing.ClassVar:
        return False
    args = typing.get_args(hint)
    if origin is not None and args:
        return any(_hint_may_hold_float(a, seen) for a in args if a is not Ellipsis)
    # float, Any, object, bare containers, anything unknown: it may
    return not (isinstance(hint, type) and hint.__module__ in ("datetime", "uuid", "pathlib", "enum"))


def may_hold_float(cls: type, seen: set[int] | None = None) -> bool:
    """Whether an instance of dataclass ``cls`` can hold a float anywhere (conservative)."""
    seen = set() if seen is None else seen
    if id(cls) in seen:
        return False
    seen.add(id(cls))
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        return True
    return any(_hint_may_hold_float(hints.get(f.name, Any), seen) for f in dataclasses.fields(cls))


#: ``check(payload, line)``: whether the event holds a NaN or an infinity.
NanCheck = Callable[[Any, bytes], bool]

#: Field types whose JSON is a scalar other than a float: a flat class has only these and floats.
_SCALARS: Final = (str, int, bool, bytes, type(None))


def _flat_scalar(hint: Any) -> bool:
    """A type whose value is written as one JSON scalar that is never a float."""
    if hint in _SCALARS or (isinstance(hint, type) and issubclass(hint, _SCALARS)):
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return not any(isinstance(a, float) for a in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return all(_flat_scalar(a) for a in typing.get_args(hint))
    return (
        isinstance(hint, type)
        and hint.__module__ in ("datetime", "uuid", "pathlib", "enum")
        and not (issubclass(hint, float))
    )


def nan_plan(cls: type) -> tuple[NanCheck | None, tuple[bytes, ...]]:
    """Where to look for NaN in events of dataclass ``cls``: ``(emitter check, line patterns)``.

    ``(None, ())``: nowhere (no float). ``(None, patterns)``: the writer looks for these
    ``"field":null`` patterns in lines holding a ``null``. ``(check, ())``: the emitting thread
    calls ``check(payload, line)``.
    """
    try:
        hints = typing.get_type_hints(cls)
        fields = dataclasses.fields(cls)
    except Exception:
        return _search_then_walk, ()
    plain: list[str] = []
    flat = True
    for f in fields:
        hint = hints.get(f.name, Any)
        if hint is float:
            plain.append(f.name)
        elif not _flat_scalar(hint):
            if _hint_may_hold_float(hint, {id(cls)}):
                return _search_then_walk, ()  # somewhere inside: look where the event still is
            flat = False
    if not plain:
        return None, ()
    if not flat:  # nested objects could hold a "field":null of their own: look at the event
        return _search_then_walk, ()
    return None, tuple(b'"' + name.encode() + b'":null' for name in plain)


def _search_then_walk(payload: Any, line: bytes) -> bool:
    return line.find(b"null") >= 0 and holds_non_finite(payload)


def holds_non_finite(value: Any) -> bool:
    """Whether a float NaN or infinity is anywhere in ``value`` (fields, containers, events)."""
    stack = [value]
    visited = 0
    while stack and visited < MAX_VISITED:
        item = stack.pop()
        visited += 1
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, _NO_FLOAT):
            continue
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif isinstance(item, Event):
            stack.append(item.payload)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
    return False
