"""Plugin discovery: one idempotent ``load_plugins()`` that owns the loading loop.

Plugins are distributions with an entry point in the ``bussdcc_framework`` group. Selection:

* ``BUSSDCC_PLUGINS`` unset: every installed plugin; empty: none; ``a,b``: only those.
* ``BUSSDCC_DISABLE_PLUGINS=a,b``: never import these (applied before import).
* Names match the distribution or the entry-point name, case-insensitively, ``-``/``_``/``.``
  equivalent, whitespace stripped.
* A plugin that fails to import or register is reported in one line on stderr and skipped;
  ``BUSSDCC_STRICT_PLUGINS=1`` raises ``PluginLoadError`` instead. A function named like a
  hook but not marked ``@hookimpl`` is reported the same way (it would never be called).
* ``BUSSDCC_TRACE_PLUGINS=1`` prints every hook call with its plugins, arguments and duration,
  and the full traceback of every failure.

Calling the hooks is the manager's job (``manager.py``).
"""

from __future__ import annotations

import difflib
import inspect
import os
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Literal

import pluggy

from . import PROJECT_NAME, hookspecs
from .manager import FrameworkPluginManager
from .report import describe, report
from .settings import Settings, env_bool

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginLoadError",
    "PluginRecord",
    "Status",
    "add_plugin",
    "create_plugin_manager",
    "hook_names",
    "load_plugins",
    "load_settings",
    "normalize_name",
    "register_plugin",
    "reset_plugins",
    "unmarked_hooks",
    "unregister_plugin",
    "validate_plugin",
]

ENTRY_POINT_GROUP = PROJECT_NAME

Status = Literal["loaded", "failed", "disabled", "not selected", "duplicate"]


class PluginLoadError(RuntimeError):
    """A plugin could not be loaded and ``BUSSDCC_STRICT_PLUGINS`` is on."""


@dataclass
class PluginRecord:
    """What discovery found for one entry point, including plugins that did not load."""

    name: str
    dist: str | None
    version: str | None
    entry_point: str
    status: Status
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    plugin: object | None = None
    traceback: str | None = None
    """The full traceback of a plugin that failed to load (``bussdcc plugins --traceback``)."""
    warnings: list[str] = field(default_factory=list)
    """Problems that did not stop the plugin, e.g. a hook-named function without ``@hookimpl``."""

    @property
    def label(self) -> str:
        """``"<dist> <version>"`` as used in one-line reports."""
        if self.dist is None:
            return self.name
        return f"{self.dist} {self.version}" if self.version else self.dist

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description (``bussdcc plugins --json`` and the web API use it)."""
        return {
            "name": self.name,
            "distribution": self.dist,
            "version": self.version,
            "entry_point": self.entry_point,
            "status": self.status,
            "error": self.error,
            "hooks": list(self.hooks),
            "warnings": list(self.warnings),
        }


def normalize_name(name: str) -> str:
    """Canonical form for matching plugin names: lower case, runs of ``-_.`` as ``-``."""
    return re.sub(r"[-_.]+", "-", name.strip().lower())


def _parse_name_list(raw: str) -> list[str]:
    return [normalize_name(part) for part in raw.split(",") if part.strip()]


def hook_names() -> list[str]:
    """Every hook name the framework defines, in the order of ``hookspecs.py``."""
    return [
        name for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, f"{PROJECT_NAME}_spec")
    ]


def _report(line: str) -> None:
    report(line)


def _implemented_hooks(pm: pluggy.PluginManager, plugin: object) -> dict[str, Callable[..., Any]]:
    """Hook name -> implementation, honouring ``@hookimpl(specname=...)``.

    Every attribute pluggy's ``register`` looks at, dunder methods included: pluggy calls a
    ``__call__`` marked ``@hookimpl(specname=...)``, so it is listed and validated too.
    """
    found: dict[str, Callable[..., Any]] = {}
    for attr in dir(plugin):
        opts = pm.parse_hookimpl_opts(plugin, attr)
        if opts is not None:
            found[opts.get("specname") or attr] = getattr(plugin, attr)
    return found


def validate_plugin(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """Return one message per misspelt hook or unexpected argument (empty when valid)."""
    known = hook_names()
    errors: list[str] = []
    for name, fn in _implemented_hooks(pm, plugin).items():
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            errors.append(f'hook "{name}" is not a {PROJECT_NAME} hook{hint}')
            continue
        spec_args = set(inspect.signature(getattr(hookspecs, name)).parameters)
        try:
            impl_args = [
                p.name
                for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty
            ]
        except (TypeError, ValueError):
            continue
        extra = [a for a in impl_args if a not in spec_args]
        if extra:
            allowed = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters) or "none"
            errors.append(
                f'hook "{name}" takes argument(s) {", ".join(extra)} that the hook does not '
                f"provide (it provides: {allowed})"
            )
    return errors


def unmarked_hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """One message per function named like a hook but not marked ``@hookimpl``.

    pluggy ignores such a function, so the plugin silently does less than its author thinks
    (the most common slip after a misspelt hook name).
    """
    implemented = set(_implemented_hooks(pm, plugin))
    found: list[str] = []
    for name in hook_names():
        if name in implemented:
            continue
        try:
            candidate = inspect.getattr_static(plugin, name)
        except AttributeError:
            continue
        function = getattr(candidate, "__func__", candidate)  # staticmethod, classmethod
        if not inspect.isfunction(function):
            continue
        code = function.__code__
        found.append(
            f"{name} ({code.co_filename}:{code.co_firstlineno}) is named like a hook but not "
            f"marked @hookimpl, so it is never called; mark it with @hookimpl "
            f"(from {PROJECT_NAME} import hookimpl) or rename it"
        )
    return found


def _entry_point_text(ep: EntryPoint) -> str:
    return f"{ep.name} = {ep.value}"


class _Loader:
    """One pass of discovery and loading against an environment."""

    def __init__(self, pm: FrameworkPluginManager, environ: Mapping[str, str]) -> None:
        self.pm = pm
        self.environ = environ
        self.strict = pm.strict

    def problem(self, line: str) -> None:
        self.pm.problems.append(line)
        if self.strict:
            raise PluginLoadError(line)
        _report(line)

    def run(self, eps: Iterable[EntryPoint]) -> None:
        selected_raw = self.environ.get("BUSSDCC_PLUGINS")
        selected = None if selected_raw is None else _parse_name_list(selected_raw)
        disabled = _parse_name_list(self.environ.get("BUSSDCC_DISABLE_PLUGINS", ""))

        def is_wanted(names: set[str]) -> bool:
            if names & set(disabled):
                return False
            return selected is None or bool(names & set(selected))

        unique: list[EntryPoint] = []
        duplicates: list[tuple[str, PluginRecord]] = []
        seen: dict[str, EntryPoint] = {}
        for ep in eps:
            first = seen.get(ep.name)
            if first is None:
                seen[ep.name] = ep
                unique.append(ep)
            elif first.value != ep.value or _dist_name(first) != _dist_name(ep):
                record = _record_for(ep, "duplicate")
                record.error = (
                    f'entry point name "{ep.name}" is also used by {_label(first)} '
                    f"({_entry_point_text(first)}); only the first is loaded"
                )
                duplicates.append((f"{ep.name}#{_dist_name(ep)}", record))
                if is_wanted({normalize_name(ep.name), normalize_name(_dist_name(ep) or "")}):
                    self.problem(
                        f'bussdcc: plugin "{_label(ep)}" ({_entry_point_text(ep)}) was not '
                        f'loaded: the name "{ep.name}" is already used by {_label(first)} '
                        f"({_entry_point_text(first)}); uninstall one of them"
                    )

        names_for = {
            ep.name: {normalize_name(ep.name), normalize_name(_dist_name(ep) or "")} for ep in unique
        }
        for var in ("BUSSDCC_PLUGINS", "BUSSDCC_DISABLE_PLUGINS"):
            for typed in (self.environ.get(var) or "").split(","):
                wanted = normalize_name(typed)
                if wanted and not any(wanted in names for names in names_for.values()):
                    installed = ", ".join(sorted(names_for)) or "none"
                    _report(
                        f'bussdcc: {var} names "{typed.strip()}", which is not installed; '
                        f"installed plugins: {installed}"
                    )

        for ep in unique:
            names = names_for[ep.name]
            record = _record_for(ep, "loaded")
            self.pm.records[ep.name] = record
            if not is_wanted(names):
                record.status = "disabled" if names & set(disabled) else "not selected"
                continue
            self.load(ep, record)
        for key, record in duplicates:
            self.pm.records[key] = record

    def load(self, ep: EntryPoint, record: PluginRecord) -> None:
        try:
            plugin = ep.load()
            errors = validate_plugin(self.pm, plugin)
            if errors:
                raise pluggy.PluginValidationError(plugin, "; ".join(errors))
            self.pm.register(plugin, name=ep.name)
        except Exception as exc:  # a broken plugin must never take the others down
            record.status = "failed"
            record.error = describe(exc).splitlines()[0]
            record.traceback = "".join(traceback.format_exception(exc))
            line = (
                f'bussdcc: plugin "{record.label}" ({record.entry_point}) failed to load: '
                f"{record.error}; disable it with BUSSDCC_DISABLE_PLUGINS={ep.name}"
            )
            if self.strict:
                self.pm.problems.append(line)
                raise PluginLoadError(line) from exc
            self.problem(line)
            if self.pm.tracing:
                _report(record.traceback.rstrip("\n"))
            return
        record.plugin = plugin
        record.hooks = sorted(_implemented_hooks(self.pm, plugin))
        for warning in unmarked_hooks(self.pm, plugin):
            record.warnings.append(warning)
            self.problem(f'bussdcc: plugin "{record.label}" ({record.entry_point}): {warning}')


def _dist_name(ep: EntryPoint) -> str | None:
    return ep.dist.name if ep.dist is not None else None


def _label(ep: EntryPoint) -> str:
    if ep.dist is None:
        return ep.name
    return f"{ep.dist.name} {ep.dist.version}"


def _record_for(ep: EntryPoint, status: Status) -> PluginRecord:
    return PluginRecord(
        name=ep.name,
        dist=_dist_name(ep),
        version=ep.dist.version if ep.dist is not None else None,
        entry_point=_entry_point_text(ep),
        status=status,
    )


_lock = threading.Lock()
_manager: FrameworkPluginManager | None = None


def create_plugin_manager(environ: Mapping[str, str] | None = None) -> FrameworkPluginManager:
    """Discover, select and register plugins into a new manager (no caching).

    ``load_plugins()`` is this plus a process-wide cache; call this directly for an isolated
    manager, e.g. ``create_plugin_manager({"BUSSDCC_PLUGINS": ""})`` for one without plugins.
    """
    env = os.environ if environ is None else environ
    pm = FrameworkPluginManager(
        strict=env_bool("BUSSDCC_STRICT_PLUGINS", environ=env),
        tracing=env_bool("BUSSDCC_TRACE_PLUGINS", environ=env),
    )
    eps = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (ep.name, ep.value))
    _Loader(pm, env).run(eps)
    return pm


def load_plugins(environ: Mapping[str, str] | None = None) -> FrameworkPluginManager:
    """Discover, select and register plugins once; later calls return the same manager.

    The first call decides (from ``environ``, default ``os.environ``); later calls ignore their
    argument, so every part of a process sees the same plugins.
    """
    global _manager
    with _lock:
        if _manager is None:
            _manager = create_plugin_manager(environ)
        return _manager


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    plugins: FrameworkPluginManager | None = None,
) -> Settings:
    """Resolve every setting the loaded plugins declare (overrides, then environment, then default)."""
    pm = plugins if plugins is not None else load_plugins()
    return Settings.from_declarations(pm.declared_settings(), overrides, environ)


def reset_plugins() -> None:
    """Forget the loaded manager so the next ``load_plugins()`` discovers again (for tests)."""
    global _manager
    with _lock:
        _manager = None


def add_plugin(pm: FrameworkPluginManager, plugin: object, name: str, entry_point: str) -> PluginRecord:
    """Validate ``plugin`` like an installed one, register it in ``pm`` and record it.

    A misspelt hook or a wrong argument raises ``PluginValidationError`` naming the plugin; a
    hook-named function without ``@hookimpl`` is reported (``PluginLoadError`` when ``pm`` is
    strict).
    """
    errors = validate_plugin(pm, plugin)
    if errors:
        raise pluggy.PluginValidationError(plugin, f'plugin "{name}": ' + "; ".join(errors))
    warnings = unmarked_hooks(pm, plugin)
    for warning in warnings:
        line = f'bussdcc: plugin "{name}": {warning}'
        pm.problems.append(line)
        if pm.strict:
            raise PluginLoadError(line)
        _report(line)
    pm.register(plugin, name=name)
    record = PluginRecord(
        name=name,
        dist=None,
        version=None,
        entry_point=entry_point,
        status="loaded",
        hooks=sorted(_implemented_hooks(pm, plugin)),
        plugin=plugin,
        warnings=warnings,
    )
    pm.records[name] = record
    return record


def register_plugin(plugin: object, name: str | None = None) -> FrameworkPluginManager:
    """Register an in-process plugin (a module or object with hookimpls), validated like others.

    A plugin that is registered already (an installed plugin found through its entry point,
    e.g. the one under test after ``pip install -e``) is left as it is.
    """
    pm = load_plugins()
    if pm.is_registered(plugin):
        return pm
    plugin_name = name or getattr(plugin, "__name__", None) or repr(plugin)
    add_plugin(pm, plugin, plugin_name, f"{plugin_name} (registered in process)")
    return pm


def unregister_plugin(name: str) -> None:
    """Undo ``register_plugin``."""
    pm = load_plugins()
    plugin = pm.get_plugin(name)
    if plugin is not None:
        pm.unregister(plugin)
    pm.records.pop(name, None)
