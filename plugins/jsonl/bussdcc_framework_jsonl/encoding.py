"""What the sink does with values JSON cannot hold faithfully: words for errors, NaN detection.

* Events that cannot be encoded at all (an arbitrary object in an ``Any`` field, a string with
  a lone surrogate, nesting deeper than the encoder's limit): nothing is written; they are
  counted and reported.
* Events holding a float NaN or infinity: JSON has no such numbers and msgspec writes them as
  ``null``. The sink writes such an event again with the values as the strings ``"nan"``,
  ``"inf"``, ``"-inf"`` (``Codec.encode_record_nonfinite``), which replay reads back into
  float fields. Only where the declared type is not a float (an ``Any`` field, a union with
  ``str``) does the string stay a string: such events, and a ``None`` put into a ``float``
  field, are counted and reported as altered.

Finding NaN costs the emitting thread nothing for classes without a float field, and a probe
for the others; ``nan_plan(cls)`` decides once per class. A flat class (scalar fields only)
is probed by reading its ``float`` fields (``math.isfinite`` of the field, or of their
``fsum``); any other class by a search of its line for ``null`` (msgspec writes NaN so).
Only an event the probe flags is looked at closer: for a flat class, its ``float`` fields; for
any other, a walk of the event (iteratively, so deep nesting cannot overflow the stack).
"""

from __future__ import annotations

import dataclasses
import math
import operator
import types
import typing
from collections.abc import Callable
from typing import Any, Final

from bussdcc_framework.codec import type_name
from bussdcc_framework.codec.nonfinite import holds_non_finite

#: Error texts in reports are cut to this many characters.
MAX_ERROR_TEXT: Final = 500
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
