"""Until the core's declared setting constraints and type patterns land: the same names here.

Removed once ``bussdcc_framework.settings`` has ``values_of`` and ``Setting(min=, max=, ...)``
and ``bussdcc_framework.patterns`` exists (issue 9, being implemented in parallel).
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable
from typing import Any

from bussdcc_framework import settings as _settings

_FIELDS = {f.name for f in dataclasses.fields(_settings.Setting)}
_CONSTRAINTS: dict[str, dict[str, Any]] = {}


def declare(plugin: str, name: str, type: Any = "str", default: Any = None, help: str = "", **kw: Any) -> Any:
    """A ``Setting``; constraints the core does not know yet are kept here and checked below."""
    known = {k: v for k, v in kw.items() if k in _FIELDS}
    _CONSTRAINTS[f"{plugin}.{name}"] = {k: v for k, v in kw.items() if k not in _FIELDS}
    if isinstance(default, str) and type in ("size", "duration", "path", "int"):
        default = _settings._PARSERS[type][0](default)
    return _settings.Setting(plugin, name, type, default, help, **known)


def values_of(declared: Iterable[Any], settings: Any) -> dict[str, Any]:
    """Short name -> value, the user's values checked against the constraints."""
    real = getattr(_settings, "values_of", None)
    if real is not None:
        return real(declared, settings)  # type: ignore[no-any-return]
    values: dict[str, Any] = {}
    for setting in declared:
        value = settings.get(setting.key, setting.default) if settings is not None else setting.default
        rules = _CONSTRAINTS.get(setting.key, {})
        if value != setting.default:
            try:
                if rules.get("min") is not None and value < rules["min"]:
                    raise ValueError(f"at least {rules['min']}")
                if rules.get("max") is not None and value > rules["max"]:
                    raise ValueError(f"at most {rules['max']}")
                if rules.get("validator") is not None:
                    value = rules["validator"](value)
            except ValueError as exc:
                raise _settings.SettingError(
                    f"{setting.env_var}={value!r} is not valid: expected {exc}"
                ) from None
        values[setting.name] = value
    return values


class TypePatterns:
    """The subset of ``bussdcc_framework.patterns.TypePatterns`` the bridge uses."""

    def __init__(self, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> None:
        items = [p.strip() for raw in include for p in raw.split(",") if p.strip()]
        self.include = tuple(p for p in items if p[0] not in "!-")
        self.exclude = tuple(p.lstrip("!-") for p in items if p[0] in "!-") + tuple(
            p.strip().lstrip("!-") for raw in exclude for p in raw.split(",") if p.strip()
        )
        self._cache: dict[type, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def allows(self, cls: type) -> bool:
        hit = self._cache.get(cls)
        if hit is None:
            hit = self.allows_name(f"{cls.__module__}:{cls.__qualname__}")
            self._cache[cls] = hit
        return hit

    def allows_name(self, name: str) -> bool:
        qual = name.rpartition(":")[2]
        names = (name.lower(), qual.lower(), qual.rpartition(".")[2].lower())

        def match(pattern: str) -> bool:
            return any(fnmatch.fnmatchcase(n, pattern.lower()) for n in names)

        if self.include and not any(match(p) for p in self.include):
            return False
        return not any(match(p) for p in self.exclude)
