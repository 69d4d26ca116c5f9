"""Lazy package exports (PEP 562) for packages that must stay cheap to import.

Plugin discovery imports every plugin's package for every ``bussdcc`` command, ``--help``
included, so a plugin's ``__init__`` names its public classes without importing them::

    __getattr__, __dir__ = lazy_exports(__name__, {"JsonlSink": ".sink"})

with the same names imported under ``if TYPE_CHECKING:`` for type checkers and editors.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str, homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` that import ``name`` from ``homes[name]``.

    ``homes`` maps each exported name to the module that defines it, relative (``".sink"``) or
    absolute. The first lookup imports and caches the value in the package, so later ones are
    ordinary attribute reads.
    """
    table = dict(homes)

    def __getattr__(name: str) -> Any:
        home = table.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(home, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *table})

    return __getattr__, __dir__


__all__ = ["lazy_exports"]
