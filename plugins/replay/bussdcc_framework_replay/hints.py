"""Which modules the "unknown types" hint may suggest for ``--import``: judged without importing.

A recording's ``type`` names are data. Suggesting ``--import os`` because a line names
``os:system`` would be the summary talking a user into running code a file chose. So a module
is suggested only when its source, found on ``sys.path`` *without importing anything* (not even
its parent packages), defines the named class as a dataclass: what a message class looks like.
Modules are looked up at most ``MAX_MODULES`` per summary and sources over ``MAX_SOURCE`` bytes
are not read.
"""

from __future__ import annotations

import ast
import importlib.machinery
import sys
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from bussdcc_framework.codec import split_type_name

#: How many distinct modules one hint looks at (the most frequent unknown types first).
MAX_MODULES = 20

#: Larger source files are not parsed.
MAX_SOURCE = 2 * 1024 * 1024


def _source_of(module: str) -> Path | None:
    """The ``.py`` file of a (possibly dotted) module, found on ``sys.path``; nothing is imported."""
    parts = module.split(".")
    search: list[str] | None = None
    spec = None
    for depth in range(len(parts)):
        name = ".".join(parts[: depth + 1])
        try:
            spec = importlib.machinery.PathFinder.find_spec(name, search)
        except (ImportError, ValueError, OSError):
            return None
        if spec is None:
            return None
        if depth < len(parts) - 1:
            locations = spec.submodule_search_locations
            if locations is None:
                return None
            search = list(locations)
    if spec is None or not isinstance(spec.origin, str) or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def _is_dataclass_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Name):
        return target.id == "dataclass"
    return isinstance(target, ast.Attribute) and target.attr == "dataclass"


@lru_cache(maxsize=256)
def _defines_message(module: str, qualname: str, path_key: tuple[str, ...]) -> bool:
    source = _source_of(module)
    if source is None:
        return False
    try:
        if source.stat().st_size > MAX_SOURCE:
            return False
        tree = ast.parse(source.read_bytes(), str(source))
    except (OSError, SyntaxError, ValueError):
        return False
    body: list[ast.stmt] = tree.body
    found: ast.ClassDef | None = None
    for part in qualname.split("."):
        found = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == part), None)
        if found is None:
            return False
        body = found.body
    return found is not None and any(_is_dataclass_decorator(d) for d in found.decorator_list)


def defines_message_class(type_name: str) -> bool:
    """Whether the module a ``module:QualName`` names defines that class as a dataclass (static)."""
    try:
        module, qualname = split_type_name(type_name)
    except ValueError:
        return False
    return _defines_message(module, qualname, tuple(sys.path))


def import_suggestions(type_names: Iterable[str]) -> list[str]:
    """The modules worth ``--import``: those that statically define one of the named classes.

    ``type_names`` should come most frequent first; only ``MAX_MODULES`` modules are looked at.
    """
    modules: dict[str, bool] = {}
    for checked, name in enumerate(type_names):
        module = name.partition(":")[0]
        if checked >= 5 * MAX_MODULES or (module not in modules and len(modules) >= MAX_MODULES):
            break
        if not modules.get(module):
            modules[module] = defines_message_class(name)
    return sorted(m for m, ok in modules.items() if ok)
