"""Values as the pages and the API show them: bounded in size and depth, always valid JSON.

Event data and state values come from the application, from devices and from ``/api/emit``;
any of them can be hostile or just large: a 10 MB string, a list nested 2,000 deep, a lone
surrogate (``"\\udcff"``) that no UTF-8 encoder accepts, a dict with tuple keys. Sent as they
are, one such value breaks the snapshot for every new client or pins memory per client. So
every value that leaves the server through a page, the API or live push goes through ``cut``:

* strings longer than ``max_string`` characters are cut and say how much was cut;
* lists, tuples and sets keep their first ``max_items`` items, dicts their first ``max_items``
  keys (keys become strings), and the rest is counted;
* containers deeper than ``max_depth`` levels are replaced by a note, so nothing downstream
  (encoders, the browser) recurses without bound;
* once about ``max_bytes`` of output are produced, the remaining items are replaced by a note,
  which bounds the encoded size of any one value (the per-client memory bound relies on it);
* text that is not valid Unicode (lone surrogates) is made visible as ``\\udcff`` instead of
  failing to encode later.

Objects that are not plain JSON (dataclasses, msgspec structs, datetimes, enums) are converted
with msgspec first; whatever still fails is shown by a bounded ``repr``.
"""

from __future__ import annotations

import reprlib
from typing import Any

import msgspec

#: Strings longer than this are cut (Node-RED's debug sidebar cuts at 1,000).
MAX_STRING = 2000
#: Items kept per list, tuple, set or dict.
MAX_ITEMS = 200
#: Containers nested deeper than this are replaced by a note.
MAX_DEPTH = 32
#: Roughly the largest encoded size of one value (an event's data, one state leaf).
MAX_BYTES = 64 * 1024

_SCALARS = (int, float, bool, type(None))
_repr = reprlib.Repr()
_repr.maxstring = MAX_STRING
_repr.maxother = MAX_STRING
_repr.maxlevel = 4


def safe_repr(value: Any) -> str:
    """A bounded ``repr`` that never raises (a failing ``__repr__`` or deep recursion)."""
    try:
        return text(_repr.repr(value), MAX_STRING)
    except Exception as exc:  # reprlib catches most; a hostile __repr__ may still escape
        return f"<{type(value).__name__} object: repr failed with {type(exc).__name__}>"


def text(value: str, limit: int = MAX_STRING) -> str:
    """``value`` cut to ``limit`` characters and made encodable as UTF-8."""
    if len(value) > limit:
        value = f"{value[:limit]}… ({len(value) - limit} more characters)"
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:  # lone surrogates: show them as \udcff, never fail later
            value = value.encode("utf-8", "backslashreplace").decode()
    return value


_EXACT_SCALARS = frozenset({int, float, bool, type(None)})


class _Limits:
    """The limits of one ``cut`` call and what is left of its byte budget."""

    __slots__ = ("max_depth", "max_items", "max_string", "remaining")

    def __init__(self, max_string: int, max_items: int, max_depth: int, max_bytes: int) -> None:
        self.max_string = max_string
        self.max_items = max_items
        self.max_depth = max_depth
        self.remaining = max_bytes


def _walk(value: Any, depth: int, limits: _Limits) -> Any:
    kind = type(value)
    if kind is str:
        if len(value) > limits.max_string or not value.isascii():
            value = text(value, limits.max_string)
        limits.remaining -= len(value) + 2
        return value
    if kind in _EXACT_SCALARS:
        limits.remaining -= 8
        return value
    if kind is dict or isinstance(value, dict):
        return _mapping(value, depth, limits)
    if kind is list or isinstance(value, (list, tuple, set, frozenset)):
        return _sequence(value, depth, limits)
    if isinstance(value, str):
        return _walk(str(value), depth, limits)
    if isinstance(value, _SCALARS):  # IntEnum, bool subclasses: JSON numbers already
        limits.remaining -= 8
        return value
    try:
        converted = msgspec.to_builtins(value, enc_hook=safe_repr, str_keys=True)
    except Exception:  # too deep, keys msgspec refuses, a hostile __getattr__ ...
        converted = safe_repr(value)
    return _walk(converted, depth, limits)


def _deeper(limits: _Limits) -> str:
    limits.remaining -= 40
    return f"… (nested deeper than {limits.max_depth} levels)"


def _over_budget(left: int, what: str) -> str:
    return f"… ({left} more {what}: the value is larger than the shown limit)"


def _mapping(value: dict[Any, Any], depth: int, limits: _Limits) -> Any:
    if depth >= limits.max_depth:
        return _deeper(limits)
    out: dict[str, Any] = {}
    max_items = limits.max_items
    max_string = limits.max_string
    for count, (key, item) in enumerate(value.items()):
        if count >= max_items:
            out["…"] = f"({len(value) - count} more keys)"
            break
        if limits.remaining <= 0:
            out["…"] = _over_budget(len(value) - count, "keys")
            break
        if type(key) is not str or len(key) > max_string or not key.isascii():
            key = text(key if isinstance(key, str) else safe_repr(key), max_string)
        kind = type(item)
        if kind is str and len(item) <= max_string and item.isascii():
            limits.remaining -= len(key) + len(item) + 6
            out[key] = item
        elif kind in _EXACT_SCALARS:
            limits.remaining -= len(key) + 12
            out[key] = item
        else:
            limits.remaining -= len(key) + 4
            out[key] = _walk(item, depth + 1, limits)
    return out


def _sequence(value: Any, depth: int, limits: _Limits) -> Any:
    if depth >= limits.max_depth:
        return _deeper(limits)
    out: list[Any] = []
    max_items = limits.max_items
    for count, item in enumerate(value):
        if count >= max_items:
            out.append(f"… ({len(value) - count} more items)")
            break
        if limits.remaining <= 0:
            out.append(_over_budget(len(value) - count, "items"))
            break
        limits.remaining -= 2
        out.append(_walk(item, depth + 1, limits))
    return out


def cut(
    value: Any,
    *,
    max_string: int = MAX_STRING,
    max_items: int = MAX_ITEMS,
    max_depth: int = MAX_DEPTH,
    max_bytes: int = MAX_BYTES,
) -> Any:
    """``value`` made JSON-ready within the limits above (see the module docstring).

    A copy, except that a flat dict with nothing to cut (the usual event) is returned as is.
    """
    kind = type(value)
    if kind in _EXACT_SCALARS:
        return value
    if kind is str:
        return text(value, max_string)
    if kind is dict and _flat_and_small(value, max_string, max_items, max_bytes):
        return value  # the common event: nothing to cut, nothing to copy
    return _walk(value, 0, _Limits(max_string, max_items, max_depth, max_bytes))


def _flat_and_small(value: dict[Any, Any], max_string: int, max_items: int, max_bytes: int) -> bool:
    """True for a dict of short ASCII keys and scalar or short ASCII string values within budget."""
    if len(value) > max_items:
        return False
    size = 0
    for key, item in value.items():
        if type(key) is not str or len(key) > max_string or not key.isascii():
            return False
        kind = type(item)
        if kind is str:
            if len(item) > max_string or not item.isascii():
                return False
            size += len(key) + len(item) + 6
        elif kind in _EXACT_SCALARS:
            size += len(key) + 12
        else:
            return False
    return size <= max_bytes


def depth_exceeds(value: Any, limit: int) -> bool:
    """True when ``value`` (decoded JSON) nests lists/dicts more than ``limit`` levels deep.

    Iterative, so a hostile value cannot exhaust the stack while it is being checked.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
