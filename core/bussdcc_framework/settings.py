"""Plugin settings: declared once, read from ``BUSSDCC_<PLUGIN>_<SETTING>`` or CLI overrides.

A plugin declares its settings through the ``register_settings`` hook. Values are resolved in
this order: an override (a CLI option such as ``--set jsonl.dir=/data``), the environment
variable, the declared default. A value that does not parse is a ``SettingError`` naming the
variable and the expected type, never a silent fallback.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Source = Literal["default", "environment", "override"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class SettingError(ValueError):
    """A setting's value could not be parsed, or a setting name is unknown."""


def parse_bool(raw: str, *, name: str = "value") -> bool:
    """Parse a boolean strictly: 1/true/yes/on or 0/false/no/off, anything else is an error."""
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingError(f"{name}={raw!r} is not a boolean; use one of 1/true/yes/on or 0/false/no/off")


def env_bool(name: str, default: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    """Read a boolean environment variable strictly (unset or empty means ``default``)."""
    env = os.environ if environ is None else environ
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return parse_bool(raw, name=name)


def _parse_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "t": 1024**4,
    "tb": 1024**4,
}


def parse_size(raw: str) -> int:
    """Parse a byte size such as ``500``, ``64k``, ``10MB`` or ``1.5G`` (binary units)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", raw)
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(raw)
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


_DURATION_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(raw: str) -> float:
    """Parse seconds such as ``600``, ``30s``, ``10m``, ``12h`` or ``7d``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", raw.lower())
    if not match:
        raise ValueError(raw)
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


_PARSERS: dict[str, tuple[Callable[[str], Any], str]] = {
    "str": (str, "a string"),
    "int": (int, "an integer, e.g. 5000"),
    "float": (float, "a number, e.g. 1.5"),
    "bool": (lambda raw: parse_bool(raw), "a boolean (1/true/yes/on or 0/false/no/off)"),
    "path": (Path, "a filesystem path"),
    "list": (_parse_list, "a comma-separated list"),
    "size": (parse_size, "a size in bytes, e.g. 500, 64k, 10MB"),
    "duration": (parse_duration, "a duration in seconds, e.g. 600, 30s, 10m, 7d"),
}

SettingType = Literal["str", "int", "float", "bool", "path", "list", "size", "duration"]


@dataclass(frozen=True, slots=True)
class Setting:
    """One declared setting of a plugin: ``BUSSDCC_<PLUGIN>_<NAME>`` in the environment."""

    plugin: str
    name: str
    type: SettingType = "str"
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in _PARSERS:
            raise SettingError(
                f"setting {self.key}: unknown type {self.type!r}; use one of {', '.join(_PARSERS)}"
            )

    @property
    def key(self) -> str:
        """The dotted name used by ``--set`` and ``Settings.get``: ``plugin.name``."""
        return f"{self.plugin}.{self.name}"

    @property
    def env_var(self) -> str:
        """The environment variable that sets this setting."""
        return "BUSSDCC_" + re.sub(r"[^A-Za-z0-9]", "_", f"{self.plugin}_{self.name}").upper()

    @property
    def type_help(self) -> str:
        """What a valid value looks like, for error messages and listings."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        return _PARSERS[self.type][1]

    def parse(self, raw: str, *, origin: str | None = None) -> Any:
        """Parse a raw string; a bad value raises ``SettingError`` naming ``origin``."""
        where = origin or self.env_var
        parser, expected = _PARSERS[self.type]
        try:
            value = parser(raw)
        except (ValueError, SettingError):
            raise SettingError(f"{where}={raw!r} is not valid: expected {expected}") from None
        if self.choices and value not in self.choices:
            raise SettingError(f"{where}={raw!r} is not valid: expected one of {', '.join(self.choices)}")
        return value


@dataclass(frozen=True, slots=True)
class ResolvedSetting:
    """A setting with its value and where that value came from."""

    setting: Setting
    value: Any
    source: Source
    raw: str | None = None


@dataclass
class Settings:
    """The resolved values of every declared setting, immutable once built."""

    declared: dict[str, Setting] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    environ: Mapping[str, str] | None = None
    _resolved: dict[str, ResolvedSetting] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_declarations(
        cls,
        declarations: Iterable[Setting],
        overrides: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Resolve every declaration now, so a bad value fails at start-up, not mid-run."""
        declared: dict[str, Setting] = {}
        for setting in declarations:
            first = declared.setdefault(setting.key, setting)
            if first is not setting and first != setting:
                print(
                    f"bussdcc: the setting {setting.key} ({setting.env_var}) is declared twice "
                    f"with different definitions; using the first ({first.type}, default "
                    f"{first.default!r}); rename one of them",
                    file=sys.stderr,
                )
        settings = cls(declared=declared, overrides=dict(overrides or {}), environ=environ)
        unknown = sorted(set(settings.overrides) - set(declared))
        if unknown:
            known = ", ".join(sorted(declared)) or "none (no plugin declares settings)"
            raise SettingError(f"unknown setting {unknown[0]!r}; known settings: {known}")
        for key in declared:
            settings._resolve(key)
        return settings

    def _resolve(self, key: str) -> ResolvedSetting:
        setting = self.declared[key]
        env = os.environ if self.environ is None else self.environ
        if key in self.overrides:
            value = self.overrides[key]
            if isinstance(value, str):
                resolved = ResolvedSetting(
                    setting, setting.parse(value, origin=f"--set {key}"), "override", value
                )
            else:
                resolved = ResolvedSetting(setting, value, "override")
        elif (raw := env.get(setting.env_var)) is not None and raw != "":
            resolved = ResolvedSetting(setting, setting.parse(raw), "environment", raw)
        else:
            resolved = ResolvedSetting(setting, setting.default, "default")
        self._resolved[key] = resolved
        return resolved

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``plugin.name``, or ``default`` when no plugin declares it."""
        resolved = self._resolved.get(key)
        return default if resolved is None else resolved.value

    def __getitem__(self, key: str) -> Any:
        try:
            return self._resolved[key].value
        except KeyError:
            raise KeyError(f"no plugin declares the setting {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._resolved

    def for_plugin(self, plugin: str) -> dict[str, Any]:
        """All values of one plugin's settings, keyed by the short setting name."""
        return {r.setting.name: r.value for r in self._resolved.values() if r.setting.plugin == plugin}

    def resolved(self) -> list[ResolvedSetting]:
        """Every setting with its value and source, in declaration order."""
        return list(self._resolved.values())


def parse_assignment(text: str) -> tuple[str, str]:
    """Split a ``--set plugin.name=value`` argument."""
    key, sep, value = text.partition("=")
    if not sep or "." not in key:
        raise SettingError(f"--set {text!r}: expected PLUGIN.SETTING=VALUE, e.g. jsonl.dir=./events")
    return key.strip(), value
