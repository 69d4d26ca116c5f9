"""The name of a message type in records and filters: ``module:QualName``.

Kept apart from the codec (which needs msgspec) so that filters, the console and the command
line can name types without importing the codec.
"""

from __future__ import annotations


def type_name(cls: type) -> str:
    """The record ``type`` of a class: ``"<module>:<QualName>"`` (the original framework's form)."""
    return f"{cls.__module__}:{cls.__qualname__}"


def short_name(name: str) -> str:
    """The class name of a ``module:QualName`` type name: ``"pkg.mod:Outer.Inner"`` -> ``"Inner"``."""
    return name.rpartition(":")[2].rpartition(".")[2]


__all__ = ["short_name", "type_name"]
