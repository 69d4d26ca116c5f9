"""Float NaN and infinities in records: JSON has no such numbers, so they travel as strings.

msgspec's JSON encoder writes a non-finite float as ``null``, which loses the value: a
``float`` field then fails to decode. A writer that wants the value kept (the JSONL sink)
finds the rare event that holds one (``holds_non_finite``) and writes that record again with
``Codec.encode_record_nonfinite``, which puts the strings ``"nan"``, ``"inf"`` and ``"-inf"``
(``NONFINITE_TEXT``) where the values were. The decoder reads them back only on its slow path:
when a strict decode of a record's data fails and the data holds such a string, the data is
decoded as JSON, ``nonfinite_from_text`` turns these strings into floats where the declared
type is a float (not in a ``str`` field), and the strict conversion runs again: any other wrong
value is still refused. Records without them are written and read exactly as before.

``nonfinite_untyped`` says whether such a record still reads back as it was: a string stays a
string where the declared type is not a float (an ``Any`` field, a ``float | str`` union).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import math
import types
import typing
from typing import Any, Final

import msgspec
from bussdcc.event import Event

#: At most this many values are looked at when searching a value for NaN or infinities.
MAX_VISITED: Final = 100_000

#: What each non-finite float is written as (the names msgspec's lax mode reads back).
NONFINITE_TEXT: Final = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}

_NO_FLOAT: Final = (str, int, bool, bytes, type(None))


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


def _text(value: float) -> str:
    return "nan" if value != value else ("inf" if value > 0 else "-inf")


def nonfinite_to_text(value: Any) -> Any:
    """``value`` (builtins: lists, dicts, scalars) with every non-finite float as its string.

    Lists and dicts are changed in place (they are fresh from ``msgspec.to_builtins``); the
    walk is iterative, so deep nesting cannot overflow the stack.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else _text(value)
    if isinstance(value, tuple):  # to_builtins keeps tuples; they are written as arrays
        value = list(value)
    stack = [value]
    while stack:
        item = stack.pop()
        keys = range(len(item)) if isinstance(item, list) else list(item) if isinstance(item, dict) else ()
        for k in keys:
            v = item[k]
            if isinstance(v, float):
                if not math.isfinite(v):
                    item[k] = _text(v)
            elif isinstance(v, tuple):
                item[k] = v = list(v)
                stack.append(v)
            elif isinstance(v, (list, dict)):
                stack.append(v)
    return value


def nonfinite_from_text(value: Any, hint: Any) -> Any:
    """JSON ``value`` of type ``hint`` with ``"nan"``/``"inf"``/``"-inf"`` as floats where a float is due.

    The reverse of ``nonfinite_to_text``, guided by the declared types (dataclass and Struct
    fields, lists, tuples, sets, dict values, ``Optional``): a ``str`` field holding ``"nan"``
    keeps its string. Lists and dicts are changed in place (they are fresh from a decode);
    nested event records are left to their own decode.
    """
    root = [value]
    stack: list[tuple[Any, Any, Any]] = [(root, 0, hint)]
    visited = 0
    while stack and visited < MAX_VISITED:
        container, key, tp = stack.pop()
        visited += 1
        item = container[key]
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            stack.append((container, key, args[0]))
        elif origin in (typing.Union, types.UnionType):
            members = _members(args)
            if len(members) == 1:
                stack.append((container, key, members[0]))
        elif isinstance(item, str):
            if tp is float and item in NONFINITE_TEXT:
                container[key] = NONFINITE_TEXT[item]
        elif isinstance(item, dict):
            if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or issubclass(tp, msgspec.Struct)):
                hints = _hints(tp)
                stack.extend((item, k, hints[k]) for k in item if k in hints)
            elif origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping) and len(args) == 2:
                stack.extend((item, k, args[1]) for k in item)
        elif isinstance(item, list):
            if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
                stack.extend((item, i, a) for i, a in zip(range(len(item)), args, strict=False))
            elif origin in _SEQUENCES:
                stack.extend((item, i, args[0] if args else Any) for i in range(len(item)))
    return root[0]


_SEQUENCES: Final = (
    list,
    tuple,
    set,
    frozenset,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Set,
    collections.abc.MutableSet,
)


def looks_nonfinite(data: bytes) -> bool:
    """Whether JSON ``data`` may hold one of the strings a non-finite float is written as."""
    return b'nan"' in data or b'inf"' in data


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        try:
            hints = typing.get_type_hints(cls)
        except Exception:
            hints = {}
        _HINTS[cls] = hints
    return hints


def _members(args: tuple[Any, ...]) -> list[Any]:
    """The members of a union other than ``None``."""
    return [a for a in args if a is not type(None)]


def _float_like(hint: Any) -> bool:
    """``float`` or ``Optional[float]``: where a ``"nan"`` string reads back as the float."""
    if hint is float:
        return True
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return {a for a in typing.get_args(hint) if a is not type(None)} == {float}
    return False


def nonfinite_untyped(payload: Any) -> bool:
    """Whether a non-finite float in ``payload`` sits where its declared type is not a float.

    Such a value is written as a string and reads back as one (an ``Any`` field, a union with
    ``str``, a dict key), so its record does not decode to what was emitted. The walk follows
    the dataclass field types into lists, tuples, sets, dict values, nested dataclasses and events.
    """
    stack: list[tuple[Any, Any]] = [(payload, type(payload))]
    visited = 0
    while stack and visited < MAX_VISITED:
        value, hint = stack.pop()
        visited += 1
        if isinstance(value, float):
            if not math.isfinite(value) and not _float_like(hint):
                return True
            continue
        if isinstance(value, _NO_FLOAT):
            continue
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if isinstance(value, Event):
            stack.append((value.payload, type(value.payload)))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type) and hint is type(value):
            hints = _hints(type(value))
            stack.extend((getattr(value, f.name), hints.get(f.name, Any)) for f in dataclasses.fields(value))
        elif isinstance(value, (list, tuple, set, frozenset)) and origin in (list, set, frozenset, tuple):
            if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
                if len(args) != len(value):
                    return holds_non_finite(value)
                stack.extend(zip(value, args, strict=True))
            else:
                stack.extend((v, args[0] if args else Any) for v in value)
        elif isinstance(value, dict) and origin is dict and len(args) == 2:
            stack.extend((v, args[1]) for v in value.values())
        elif origin is typing.Annotated:
            stack.append((value, args[0]))
        elif origin in (typing.Union, types.UnionType) and len(members := _members(args)) == 1:
            stack.append((value, members[0]))  # Optional[X]: as X (what nonfinite_from_text reads)
        elif origin in (typing.Union, types.UnionType) and type(value) in args:
            stack.append((value, type(value)))
        elif holds_non_finite(value):  # Any, object, other unions: a string stays a string
            return True
    return False


__all__ = [
    "MAX_VISITED",
    "NONFINITE_TEXT",
    "holds_non_finite",
    "looks_nonfinite",
    "nonfinite_from_text",
    "nonfinite_to_text",
    "nonfinite_untyped",
]
