"""Plugin discovery: one idempotent ``load_plugins()`` that owns the loading loop.

Plugins are distributions with an entry point in the ``bussdcc_framework`` group. Selection:

* ``BUSSDCC_PLUGINS`` unset: every installed plugin; empty: none; ``a,b``: only those.
* ``BUSSDCC_DISABLE_PLUGINS=a,b``: never import these (applied before import).
* Names match the distribution or the entry-point name, case-insensitively, ``-``/``_``/``.``
  equivalent, whitespace stripped.
* A plugin that fails to import or register is reported in one line on stderr and skipped;
  ``BUSSDCC_STRICT_PLUGINS=1`` raises ``PluginLoadError`` instead.
* ``BUSSDCC_TRACE_PLUGINS=1`` prints every hook call with its plugins, arguments and duration.
"""

from __future__ import annotations

import difflib
import inspect
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Literal

import pluggy

from . import PROJECT_NAME, hookspecs
from .settings import SettingError, Settings, env_bool

ENTRY_POINT_GROUP = PROJECT_NAME

Status = Literal["loaded", "failed", "disabled", "not selected", "duplicate"]


class PluginLoadError(RuntimeError):
    """A plugin could not be loaded and ``BUSSDCC_STRICT_PLUGINS`` is on."""


class PluginHookError(RuntimeError):
    """A plugin's hook raised or returned the wrong thing and ``BUSSDCC_STRICT_PLUGINS`` is on."""


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
        }


class FrameworkPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers every discovered plugin and why it (did not) load."""

    def __init__(self, *, strict: bool = False) -> None:
        super().__init__(PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.problems: list[str] = []
        self.tracing = False
        self.strict = strict
        self._hook_failures: set[tuple[str, str]] = set()

    def loaded(self) -> list[PluginRecord]:
        """Records of the plugins that are registered and active."""
        return [r for r in self.records.values() if r.status == "loaded"]

    def collect(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook plugin by plugin and flatten the iterables they returned (see below)."""
        return [item for _, item in self.collect_by_plugin(hook_name, **kwargs)]

    def collect_by_plugin(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Like ``collect``, with the name of the plugin that contributed each item.

        Each plugin is called on its own so that one that raises, or returns something that is
        not an iterable, is reported in one line naming the plugin, the hook and the fix, and
        the other plugins still contribute (``BUSSDCC_STRICT_PLUGINS=1`` raises
        ``PluginHookError`` instead). Hooks that act rather than return (``register_routes``)
        can be called this way too; their ``None`` results are skipped.
        """
        caller = getattr(self.hook, hook_name)
        impls = caller.get_hookimpls()
        wrappers = [i for i in impls if i.hookwrapper or i.wrapper]
        results: list[tuple[str, Any]] = []
        # pluggy calls the last registered implementation first; keep that order.
        for impl in reversed([i for i in impls if not (i.hookwrapper or i.wrapper)]):
            try:
                batches: list[Any] = self._hookexec(  # type: ignore[assignment]
                    hook_name, [impl, *wrappers], kwargs, False
                )
            except SettingError:
                raise  # a value the user set is wrong: the user's error, not the plugin's bug
            except Exception as exc:
                self._hook_failed(impl.plugin_name, hook_name, f"{type(exc).__name__}: {exc}")
                continue
            for batch in batches:
                if batch is None:
                    continue
                if isinstance(batch, (str, bytes)) or not isinstance(batch, Iterable):
                    self._hook_failed(
                        impl.plugin_name,
                        hook_name,
                        f"returned {_short_repr(batch)}; {hook_name} must return a list "
                        "(or any iterable) or None",
                    )
                    continue
                results.extend((impl.plugin_name, item) for item in batch)
        return results

    def _hook_failed(self, plugin: str, hook_name: str, error: str) -> None:
        if (plugin, hook_name) in self._hook_failures:
            return  # one line per plugin and hook, however often the hook is called
        self._hook_failures.add((plugin, hook_name))
        line = (
            f'bussdcc: plugin "{plugin}" failed in hook {hook_name}: {error.splitlines()[0]}; '
            f"disable it with BUSSDCC_DISABLE_PLUGINS={plugin}"
        )
        self.problems.append(line)
        record = self.records.get(plugin)
        if record is not None and record.error is None:
            record.error = f"{hook_name}: {error.splitlines()[0]}"
        if self.strict:
            raise PluginHookError(line)
        _report(line)


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
    print(line, file=sys.stderr, flush=True)


def _implemented_hooks(pm: pluggy.PluginManager, plugin: object) -> dict[str, Callable[..., Any]]:
    """Hook name -> implementation, honouring ``@hookimpl(specname=...)``."""
    found: dict[str, Callable[..., Any]] = {}
    for attr in dir(plugin):
        if attr.startswith("__"):
            continue
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


class _Tracer:
    """Prints each hook call (hook, plugins, arguments, duration) when tracing is on."""

    def __init__(self) -> None:
        self._local = threading.local()

    def before(self, hook_name: str, hook_impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        stack = self._local.__dict__.setdefault("stack", [])
        stack.append(time.perf_counter())

    def after(
        self,
        outcome: Any,
        hook_name: str,
        hook_impls: Sequence[Any],
        kwargs: Mapping[str, Any],
    ) -> None:
        started = self._local.stack.pop()
        elapsed = (time.perf_counter() - started) * 1000
        plugins = ", ".join(impl.plugin_name for impl in hook_impls) or "no plugin"
        args = ", ".join(f"{k}={_short_repr(v)}" for k, v in kwargs.items())
        failed = " raised" if getattr(outcome, "exception", None) is not None else ""
        _report(f"bussdcc trace: {hook_name}({args}) [{plugins}] {elapsed:.3f} ms{failed}")


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
            message = str(exc).splitlines()[0] if str(exc) else ""
            record.status = "failed"
            record.error = f"{type(exc).__name__}: {message}"
            line = (
                f'bussdcc: plugin "{record.label}" ({record.entry_point}) failed to load: '
                f"{record.error}; disable it with BUSSDCC_DISABLE_PLUGINS={ep.name}"
            )
            if self.strict:
                self.pm.problems.append(line)
                raise PluginLoadError(line) from exc
            self.problem(line)
            return
        record.plugin = plugin
        record.hooks = sorted(_implemented_hooks(self.pm, plugin))


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
    pm = FrameworkPluginManager(strict=env_bool("BUSSDCC_STRICT_PLUGINS", environ=env))
    if env_bool("BUSSDCC_TRACE_PLUGINS", environ=env):
        tracer = _Tracer()
        pm.add_hookcall_monitoring(tracer.before, tracer.after)
        pm.tracing = True
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
    return Settings.from_declarations(pm.collect("register_settings"), overrides, environ)


def reset_plugins() -> None:
    """Forget the loaded manager so the next ``load_plugins()`` discovers again (for tests)."""
    global _manager
    with _lock:
        _manager = None


def register_plugin(plugin: object, name: str | None = None) -> FrameworkPluginManager:
    """Register an in-process plugin (a module or object with hookimpls), validated like others."""
    pm = load_plugins()
    errors = validate_plugin(pm, plugin)
    plugin_name = name or getattr(plugin, "__name__", None) or repr(plugin)
    if errors:
        raise pluggy.PluginValidationError(plugin, f'plugin "{plugin_name}": ' + "; ".join(errors))
    pm.register(plugin, name=plugin_name)
    pm.records[plugin_name] = PluginRecord(
        name=plugin_name,
        dist=None,
        version=None,
        entry_point=f"{plugin_name} (registered in process)",
        status="loaded",
        hooks=sorted(_implemented_hooks(pm, plugin)),
        plugin=plugin,
    )
    return pm


def unregister_plugin(name: str) -> None:
    """Undo ``register_plugin``."""
    pm = load_plugins()
    plugin = pm.get_plugin(name)
    if plugin is not None:
        pm.unregister(plugin)
    pm.records.pop(name, None)
