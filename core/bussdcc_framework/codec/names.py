"""Type names in records: ``module:QualName``, parsed strictly because they come from files."""

from __future__ import annotations

import re

from ..names import type_name
from .errors import DecodeError

_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_TYPE_NAME = re.compile(rf"({_DOTTED}):({_DOTTED})")


def split_type_name(name: object) -> tuple[str, str]:
    """Split ``module:QualName`` into its parts, or raise ``DecodeError("bad_type_name")``.

    Exactly one colon and dotted Python identifiers on both sides: anything else (extra colons,
    ``<locals>``, spaces, path separators) cannot name an importable class and is refused
    before any lookup happens.
    """
    if not isinstance(name, str):
        raise DecodeError("bad_type_name", f"type must be a string, got {type(name).__name__}")
    match = _TYPE_NAME.fullmatch(name)
    if match is None:
        shown = name if len(name) <= 120 else name[:117] + "..."
        raise DecodeError("bad_type_name", f"{shown!r} is not of the form 'package.module:ClassName'")
    return match.group(1), match.group(2)


__all__ = ["split_type_name", "type_name"]
