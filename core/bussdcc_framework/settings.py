"""Plugin settings: declared once, checked once, read from the environment, ``--set`` or an option.

A plugin declares its settings through the ``register_settings`` hook, each with its type, its
default and its constraints (``min``/``max``, ``choices``, a ``validator``). Values are resolved
in this order: an option of ``bussdcc run``/``replay`` (``--port 8080``, a ``cli`` alias), an
override (``--set web.port=8080``), the environment variable (``BUSSDCC_<PLUGIN>_<NAME>``), the declared
default. Every value a user set is parsed and checked when settings are resolved, so a bad one
stops start-up with one line that repeats it as the user wrote it and says what is expected;
plugins then build their objects from values that are known to be good (``config.py``).
"""

from __future__ import annotations

import difflib
import math
import os
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

from .report import printable, report

Source = Literal["default", "environment", "override"]
SettingType = Literal["str", "int", "float", "bool", "path", "list", "size", "duration"]

#: The core's own variables: never reported as unknown settings.
CORE_VARIABLES = frozenset(
    {"BUSSDCC_PLUGINS", "BUSSDCC_DISABLE_PLUGINS", "BUSSDCC_STRICT_PLUGINS", "BUSSDCC_TRACE_PLUGINS"}
)
_known_variables: set[str] = set(CORE_VARIABLES)


def known_variables(*names: str) -> None:
    """Mark variables a plugin reads that are not settings (a build switch, a test switch).

    ``BUSSDCC_<PLUGIN>_*`` variables that no setting reads are reported as probable typos;
    a plugin calls this (from its ``config`` module) for the few it reads some other way.
    """
    _known_variables.update(names)


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class SettingError(ValueError):
    """A value the user set is not valid, or a setting name is unknown: the user's error.

    Raised when settings are resolved; ``bussdcc`` commands turn it into one line on stderr and
    exit status 2. Raised inside a plugin's hook it is still the user's error: it is not
    isolated as a plugin failure.
    """


class SettingDeclarationError(ValueError):
    """A plugin declared a setting that cannot work (unknown type, bad default): its bug."""


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


# -- parsers: strict, because a value that half-parses is worse than an error ------------------

# [0-9], not \d: \d also matches other scripts' digits, which int() would then accept.
_INT = re.compile(r"[+-]?[0-9]+")
_NUMBER = r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+"
_FLOAT = re.compile(rf"[+-]?(?:{_NUMBER})")

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tb": 1024**4,
    "tib": 1024**4,
}
_SIZE = re.compile(rf"({_NUMBER})\s*([a-z]*)")

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(rf"({_NUMBER})(ms|s|m|h|d)")
_DURATION = re.compile(rf"(?:(?:{_NUMBER})(?:ms|s|m|h|d))+")


def parse_int(raw: str) -> int:
    """An integer in decimal digits (``5000``, ``-1``); not ``1.5``, ``1_000`` or ``1e3``."""
    text = raw.strip()
    if not _INT.fullmatch(text):
        raise ValueError(raw)
    return int(text)


def parse_float(raw: str) -> float:
    """A finite decimal number (``1.5``, ``.5``, ``-2``); not ``nan``, ``inf`` or ``1e3``."""
    text = raw.strip()
    if not _FLOAT.fullmatch(text):
        raise ValueError(raw)
    return float(text)


def parse_size(raw: str) -> int:
    """A byte size such as ``500``, ``64k``, ``10MB``, ``1.5G`` or ``2GiB`` (binary units)."""
    match = _SIZE.fullmatch(raw.strip().lower())
    if not match or match.group(2) not in _SIZE_UNITS:
        raise ValueError(raw)
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])


def parse_duration(raw: str) -> float:
    """Seconds: a bare number (``600``, ``0.5``) or numbers with units (``30s``, ``10m``, ``1h30m``).

    Units are ``ms``, ``s``, ``m``, ``h`` and ``d``. Anything else (``10min``, ``5x``, ``1e3s``,
    a sign, an empty string) is a ``ValueError``: a duration that half-parses is a silent bug.
    """
    text = raw.strip().lower()
    if re.fullmatch(_NUMBER, text):
        return float(text)
    if not _DURATION.fullmatch(text):
        raise ValueError(raw)
    return sum(float(n) * _DURATION_UNITS[unit] for n, unit in _DURATION_PART.findall(text))


def parse_list(raw: str) -> tuple[str, ...]:
    """A comma-separated list; blanks around items and empty items are dropped."""
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def format_size(value: float) -> str:
    """``65536`` -> ``"64k"``: a size as a user would write it (for messages)."""
    for unit, factor in (("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("k", 1024)):
        if value >= factor and value % factor == 0:
            return f"{int(value // factor)}{unit}"
    return f"{value:g}"


def format_duration(value: float) -> str:
    """``600`` -> ``"10m"``, ``0.5`` -> ``"0.5s"``: a duration as a user would write it."""
    for unit, factor in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= factor and value % factor == 0:
            return f"{int(value // factor)}{unit}"
    return f"{value:g}s"


def _to_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError
    return value


def _to_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError
    return float(value)


def _to_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError
    return value


def _to_path(value: Any) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError
    return Path(value)


def _to_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError
    items = tuple(value)
    if not all(isinstance(item, str) for item in items):
        raise TypeError
    return items


def _show_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True, slots=True)
class _Kind:
    """How one setting type is parsed from text, taken from Python, and described."""

    parse: Callable[[str], Any]
    coerce: Callable[[Any], Any]
    noun: str
    example: str
    show: Callable[[float], str] = str


_KINDS: dict[str, _Kind] = {
    "str": _Kind(str, _to_str, "a string", ""),
    "int": _Kind(parse_int, _to_int, "an integer", "5000", _show_number),
    "float": _Kind(parse_float, _to_float, "a number", "1.5", _show_number),
    "bool": _Kind(lambda raw: parse_bool(raw), _to_bool, "a boolean (1/true/yes/on or 0/false/no/off)", ""),
    "path": _Kind(Path, _to_path, "a filesystem path", ""),
    "list": _Kind(parse_list, _to_list, "a comma-separated list", ""),
    "size": _Kind(parse_size, _to_int, "a size in bytes", "500, 64k, 10MB", format_size),
    "duration": _Kind(parse_duration, _to_float, "a duration", "600, 30s, 10m, 7d", format_duration),
}
_NUMERIC = frozenset({"int", "float", "size", "duration"})
_CLI_NAME = re.compile(r"--[a-z0-9][a-z0-9-]*(?:/--[a-z0-9][a-z0-9-]*)?")
_KEY = re.compile(r"[^.\s]+\.[^.\s]+")


def written(origin: str, raw: str) -> str:
    """How a value looks where the user typed it, shell-quoted and printable.

    ``written("--port ", "70000")`` is ``--port 70000``; a value with a space or nothing at
    all is quoted (``--set jsonl.interval='10 min'``), control
    characters are made visible.
    """
    return printable(origin + shlex.quote(raw))


@dataclass(frozen=True, slots=True)
class Override:
    """A value the user set on the command line, with how they wrote it (for error messages).

    ``raw`` is the text as typed; ``origin`` the whole of it as typed, e.g. ``--port 70000`` or
    ``--set web.port=70000``.
    """

    raw: str
    origin: str


@dataclass(frozen=True, slots=True)
class Setting:
    """One declared setting of a plugin: ``BUSSDCC_<PLUGIN>_<NAME>`` in the environment.

    ``default`` is written here once and normalised by the type (a ``path`` default is a
    ``Path``, a ``duration`` one a float), and must itself satisfy the constraints. ``min`` and
    ``max`` bound numeric types (inclusive), ``choices`` lists the accepted words of a ``str``
    (or of each item of a ``list``), and ``validator(value)`` returns the value (possibly
    normalised) or raises ``ValueError("what is expected")``. ``cli`` names an option of
    ``bussdcc run`` and ``bussdcc replay`` that sets it (``"--port"``), with ``cli_help`` and
    ``cli_metavar`` for its help; ``implies`` are other settings that option also sets, as
    ``(key, raw value)`` pairs. ``secret`` values are shown as ``***``.
    """

    plugin: str
    name: str
    type: SettingType = "str"
    default: Any = None
    help: str = ""
    _: KW_ONLY
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    validator: Callable[[Any], Any] | None = field(default=None, compare=False)
    cli: str | None = None
    cli_help: str | None = None
    cli_metavar: str | None = None
    implies: tuple[tuple[str, str], ...] = ()
    secret: bool = False

    def __post_init__(self) -> None:
        if self.type not in _KINDS:
            self._declaration_error(f"unknown type {self.type!r}; use one of {', '.join(_KINDS)}")
        if (self.min is not None or self.max is not None) and self.type not in _NUMERIC:
            self._declaration_error(f"min/max apply to {', '.join(sorted(_NUMERIC))}, not {self.type}")
        if self.min is not None and self.max is not None and self.min > self.max:
            self._declaration_error(f"min {self.min} is above max {self.max}")
        if self.choices and self.type not in ("str", "list"):
            self._declaration_error(f"choices apply to str and list settings, not {self.type}")
        if self.cli is not None and not _CLI_NAME.fullmatch(self.cli):
            self._declaration_error(f'cli={self.cli!r} must look like "--port" (or "--on/--off" for a bool)')
        if "/" in (self.cli or "") and self.type != "bool":
            self._declaration_error(f"cli={self.cli!r}: only a bool option has an --on/--off pair")
        for pair in self.implies:
            if len(pair) != 2 or not _KEY.fullmatch(pair[0]) or not isinstance(pair[1], str):
                self._declaration_error(f"implies={self.implies!r}: expected ((plugin.name, value), ...)")
        object.__setattr__(self, "choices", tuple(self.choices))
        if self.default is not None:
            try:
                default = self._value(self.default)
            except ValueError as exc:
                self._declaration_error(f"the default {self.default!r} is not {exc}")
            object.__setattr__(self, "default", default)

    def _declaration_error(self, message: str) -> NoReturn:
        raise SettingDeclarationError(f"setting {self.plugin}.{self.name}: {message}")

    @property
    def key(self) -> str:
        """The dotted name used by ``--set`` and ``Settings.get``: ``plugin.name``."""
        return f"{self.plugin}.{self.name}"

    @property
    def env_var(self) -> str:
        """The environment variable that sets this setting."""
        return "BUSSDCC_" + re.sub(r"[^A-Za-z0-9]", "_", f"{self.plugin}_{self.name}").upper()

    @property
    def expected(self) -> str:
        """What a valid value looks like (``an integer from 0 to 65535``), for messages."""
        kind = _KINDS[self.type]
        if self.choices:
            words = ", ".join(self.choices)
            return f"one of {words}" if self.type == "str" else f"a comma-separated list of {words}"
        low, high = self.min, self.max
        if low is not None and high is not None:
            text = f"{kind.noun} from {kind.show(low)} to {kind.show(high)}"
        elif low is not None:
            text = f"{kind.noun} of at least {kind.show(low)}"
        elif high is not None:
            text = f"{kind.noun} of at most {kind.show(high)}"
        else:
            return f"{kind.noun}, e.g. {kind.example}" if kind.example else kind.noun
        # Units are the hard part of sizes and durations: show them even with a range.
        return f"{text}, e.g. {kind.example}" if self.type in ("size", "duration") else text

    @property
    def type_help(self) -> str:
        """What a valid value looks like (older name of ``expected``)."""
        return self.expected

    def parse(self, raw: str, *, origin: str | None = None) -> Any:
        """Parse and check a value typed by a user; a bad one is a ``SettingError``.

        ``origin`` is how the user wrote it (``--port 70000``); the default is the environment
        form, ``BUSSDCC_<PLUGIN>_<NAME>=value``.
        """
        where = origin if origin is not None else written(f"{self.env_var}=", raw)
        try:
            return self._value(raw)
        except ValueError as exc:
            raise SettingError(f"{where} is not valid: expected {exc}") from None

    def check(self, value: Any, *, origin: str | None = None) -> Any:
        """Check (and normalise) a value given from Python; a string is parsed like ``parse``."""
        if isinstance(value, str):
            return self.parse(value, origin=origin if origin is not None else f"{self.key}={value!r}")
        return self.parse_value(value, origin=origin)

    def parse_value(self, value: Any, *, origin: str | None = None) -> Any:
        """Check a Python value (not text); a bad one is a ``SettingError``."""
        where = origin if origin is not None else printable(f"{self.key}={value!r}")
        try:
            return self._value(value)
        except ValueError as exc:
            raise SettingError(f"{where} is not valid: expected {exc}") from None

    def _value(self, value: Any) -> Any:
        """The typed, checked value of text or a Python value; ``ValueError(expected)`` if bad."""
        kind = _KINDS[self.type]
        try:
            typed = kind.parse(value) if isinstance(value, str) else kind.coerce(value)
        except (ValueError, TypeError, SettingError):
            raise ValueError(self.expected) from None
        if self.choices:
            typed = self._choose(typed)
        too_low = self.min is not None and typed < self.min
        if self.type in _NUMERIC and (too_low or (self.max is not None and typed > self.max)):
            raise ValueError(self.expected)
        if self.validator is not None:
            typed = self.validator(typed)
        return typed

    def _choose(self, typed: Any) -> Any:
        by_lower = {c.lower(): c for c in self.choices}
        if self.type == "str":
            if typed.lower() not in by_lower:
                raise ValueError(self.expected)
            return by_lower[typed.lower()]
        picked = []
        for item in typed:
            if item.lower() not in by_lower:
                raise ValueError(f"{self.expected} ({item!r} is not one of them)")
            picked.append(by_lower[item.lower()])
        return tuple(picked)

    def shown(self, value: Any) -> Any:
        """``value`` as listings may show it: ``***`` for a secret that is set."""
        return "***" if self.secret and value not in (None, "") else value


@dataclass(frozen=True, slots=True)
class ResolvedSetting:
    """A setting with its value and where that value came from."""

    setting: Setting
    value: Any
    source: Source
    raw: str | None = None
    origin: str | None = None


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
        """Resolve and check every declaration now, so a bad value fails at start-up, not mid-run.

        ``overrides`` maps ``plugin.name`` to text as given to ``--set`` (a ``str``), to an
        ``Override`` (text and how it was typed, e.g. a ``--port`` option), or to a Python
        value. An unknown key or a bad value raises ``SettingError``; ``BUSSDCC_<PLUGIN>_*``
        variables that no setting of that plugin reads are reported once with a suggestion.
        """
        declared: dict[str, Setting] = {}
        for setting in declarations:
            first = declared.setdefault(setting.key, setting)
            if first is not setting and first != setting:
                report(
                    f"bussdcc: the setting {setting.key} ({setting.env_var}) is declared twice "
                    f"with different definitions; using the first ({first.type}, default "
                    f"{first.default!r}); rename one of them"
                )
        settings = cls(declared=declared, overrides=dict(overrides or {}), environ=environ)
        for key in settings.overrides:
            if key not in declared:
                raise SettingError(unknown_key_message(key, settings.overrides[key], declared))
        env = os.environ if environ is None else environ
        for line in unknown_variables(declared.values(), env):
            _warn_once(line)
        for key in declared:
            settings._resolve(key, env)
        return settings

    def _resolve(self, key: str, env: Mapping[str, str]) -> ResolvedSetting:
        setting = self.declared[key]
        if key in self.overrides:
            value = self.overrides[key]
            if isinstance(value, Override):
                resolved = ResolvedSetting(
                    setting,
                    setting.parse(value.raw, origin=value.origin),
                    "override",
                    value.raw,
                    value.origin,
                )
            elif isinstance(value, str):
                origin = written(f"--set {key}=", value)
                resolved = ResolvedSetting(
                    setting, setting.parse(value, origin=origin), "override", value, origin
                )
            else:
                resolved = ResolvedSetting(setting, setting.parse_value(value), "override")
        elif (raw := env.get(setting.env_var)) is not None and raw != "":
            origin = written(f"{setting.env_var}=", raw)
            resolved = ResolvedSetting(setting, setting.parse(raw, origin=origin), "environment", raw, origin)
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


def values_of(declared: Iterable[Setting], settings: Settings | None) -> dict[str, Any]:
    """Short name -> value of the given settings: resolved in ``settings``, else the default.

    What a plugin's ``<Name>Config.from_settings`` starts from: the defaults stay written once
    (in the declarations), and a ``Settings`` built without this plugin (a test, an application
    composing by hand) still yields a complete configuration.
    """
    values: dict[str, Any] = {}
    for setting in declared:
        resolved = settings._resolved.get(setting.key) if settings is not None else None
        values[setting.name] = setting.default if resolved is None else resolved.value
    return values


def parse_assignment(text: str) -> tuple[str, str]:
    """Split a ``--set plugin.name=value`` argument."""
    key, sep, value = text.partition("=")
    if not sep or "." not in key:
        raise SettingError(
            f"{written('--set ', text)} is not valid: expected PLUGIN.SETTING=VALUE, e.g. jsonl.dir=./events"
        )
    return key.strip(), value


def _suggestion(word: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def unknown_key_message(key: str, value: Any, declared: Mapping[str, Setting]) -> str:
    """The error line for ``--set`` of a setting no loaded plugin declares, with a suggestion."""
    if isinstance(value, Override):
        shown = value.origin
    elif isinstance(value, str):
        shown = written(f"--set {key}=", value)
    else:
        shown = printable(f"{key}={value!r}")
    message = f"{shown}: unknown setting {printable(key)}"
    plugin, _, name = key.partition(".")
    own = sorted(k for k, s in declared.items() if s.plugin == plugin)
    # Within a known plugin compare the names only: a shared "plugin." prefix is no likeness.
    close = _suggestion(name, [k.partition(".")[2] for k in own]) if own else _suggestion(key, declared)
    if close is not None:
        suggested = f"{plugin}.{close}" if own else close
        return f"{message}; did you mean {suggested}? (bussdcc settings lists every setting)"
    if own:
        return f"{message}; the settings of {plugin} are {', '.join(own)}"
    plugins = sorted({s.plugin for s in declared.values()})
    if plugins:
        return (
            f"{message}; no loaded plugin {printable(plugin)} declares settings "
            f"(plugins with settings: {', '.join(plugins)})"
        )
    return f"{message}; no loaded plugin declares settings"


def unknown_variables(declared: Iterable[Setting], environ: Mapping[str, str]) -> list[str]:
    """One warning line per ``BUSSDCC_<PLUGIN>_*`` variable no setting of that plugin reads.

    A variable belongs to the plugin with the longest matching prefix (plugin ``web-ui``'s
    variables are not plugin ``web``'s); the core's own variables and those marked with
    ``known_variables`` are never reported.
    """
    settings = list(declared)
    known = {s.env_var for s in settings}
    prefixes: dict[str, str] = {}
    for s in settings:
        prefix = "BUSSDCC_" + re.sub(r"[^A-Za-z0-9]", "_", s.plugin).upper() + "_"
        prefixes[prefix] = s.plugin
    lines = []
    for name in sorted(environ):
        if not name.startswith("BUSSDCC_") or name in known or name in _known_variables:
            continue
        owners = [p for p in prefixes if name.startswith(p)]
        if not owners:
            continue
        prefix = max(owners, key=len)
        plugin = prefixes[prefix]
        own = sorted(s.env_var for s in settings if s.plugin == plugin)
        close = _suggestion(name[len(prefix) :], [v[len(prefix) :] for v in own])
        hint = f"did you mean {prefix}{close}?" if close else f"its variables are {', '.join(own)}"
        lines.append(
            f"bussdcc: warning: {printable(name)} is ignored: no setting of plugin {plugin} reads it; {hint}"
        )
    return lines


_warned: set[str] = set()


def _warn_once(line: str) -> None:
    """Report a warning line once per process (settings are resolved more than once)."""
    if line not in _warned:
        _warned.add(line)
        report(line)
