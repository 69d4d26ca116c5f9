"""Where to look for a float NaN or infinity in the events of a message class, decided once.

A writer that keeps NaN (the jsonl sink, the mqtt bridge; see ``nonfinite``) must find the rare
event holding one without slowing down every other. ``nan_plan(cls)`` says how, per class:

* a class no field of which can hold a float: nowhere (``None``);
* a flat class (scalar fields only) whose floats are plain ``float`` fields: a ``probe``, a
  float that is finite when every float field is (``math.isfinite`` of the field read in C by an
  ``attrgetter``, or of their ``fsum``), cheaper than searching the line: ``bytes.__contains__``
  costs about ten times an attribute read;
* any other class that may hold a float (``Any``, ``Optional[float]``, containers, nested
  dataclasses): no probe; the writer searches the encoded line for ``null`` (msgspec writes NaN
  so), then walks the event (iteratively, so deep nesting cannot overflow the stack).

The ``check`` of the plan says what an event the probe (or the search) flagged holds:
``NONFINITE`` and/or ``NULL_FLOAT``.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import types
import typing
from collections.abc import Callable
from typing import Any, Final

from .nonfinite import holds_non_finite

_NO_FLOAT: Final = (str, int, bool, bytes, type(None))


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


#: ``check(payload)``: ``NONFINITE`` and/or ``NULL_FLOAT`` found in the event, or 0.
NanCheck = Callable[[Any], int]
#: ``probe(payload)``: a float, finite when the event holds no NaN (see ``_probe``).
Probe = Callable[[Any], float]
#: A float NaN or infinity somewhere in the event: written again with strings for them.
NONFINITE: Final = 1
#: ``None`` in a plain ``float`` field (the application broke its own type): written as null.
NULL_FLOAT: Final = 2

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


def nan_plan(cls: type) -> tuple[NanCheck, Probe | None] | None:
    """How to look for NaN in events of dataclass ``cls``: ``(check, probe)``, or None.

    ``None``: nowhere, no field can hold a float. A flat class (scalars and ``float`` fields
    only) gets a ``probe`` the emitting thread calls on every event (in C for one float field)
    and a check of its ``float`` fields for the events the probe finds; any other class no
    probe (the emitting thread searches the line for ``null``) and a walk of the whole event.
    """
    try:
        hints = typing.get_type_hints(cls)
        fields = dataclasses.fields(cls)
    except Exception:
        return _walk, None
    plain: list[str] = []
    flat = True
    for f in fields:
        hint = hints.get(f.name, Any)
        if hint is float:
            plain.append(f.name)
        elif not _flat_scalar(hint):
            if _hint_may_hold_float(hint, {id(cls)}):
                return _walk, None  # somewhere inside: walk the event
            flat = False
    if not plain:
        return None
    if not flat:  # nested objects could hold a float of their own: walk the event
        return _walk, None
    return _flat_check(tuple(plain)), _probe(tuple(plain))


def _probe(names: tuple[str, ...]) -> Probe:
    """A float that is finite when every ``float`` field is (else it is not, or it raises).

    Cheaper than searching the line for ``null``: ``bytes.__contains__`` costs about ten
    times an attribute read. One field: the attribute itself, read in C. Several: their
    ``fsum``, which is NaN or infinite (or raises) when one of them is.
    """
    if len(names) == 1:
        return operator.attrgetter(names[0])
    values = operator.attrgetter(*names)

    def probe(payload: Any) -> float:
        return math.fsum(values(payload))

    return probe


def _flat_check(names: tuple[str, ...]) -> NanCheck:
    def check(payload: Any) -> int:
        found = 0
        for name in names:
            value = getattr(payload, name)
            if value is None:
                found |= NULL_FLOAT
            elif isinstance(value, float) and not math.isfinite(value):
                found |= NONFINITE
        return found

    return check


def _walk(payload: Any) -> int:
    return NONFINITE if holds_non_finite(payload) else 0


__all__ = ["NONFINITE", "NULL_FLOAT", "NanCheck", "Probe", "may_hold_float", "nan_plan"]
