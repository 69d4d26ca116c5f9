"""``FrameworkPluginManager``: pluggy's manager behind one typed method per hook.

Callers never name a hook as a string nor flatten results themselves: ``pm.sinks(settings)``
returns a ``list[EventSinkProtocol]``, ``pm.commands(settings)`` a list of ``(plugin,
command)``, and so on. Behind each method:

* **Each plugin is called on its own** (``subset_hook_caller``), so a plugin whose hook raises,
  returns something that is not an iterable, or returns an item of the wrong kind is reported
  in one line naming the plugin, the hook and the file:line in the plugin's code, and the
  others still contribute. ``BUSSDCC_STRICT_PLUGINS=1`` raises ``PluginHookError`` instead.
  Every failure is kept as a ``HookFailure`` record in ``pm.failures``.
* **A ``SettingError`` raised inside a hook is not isolated**: a value the user set wrongly is
  the user's error, and ``bussdcc run`` stops on it (exit 2) instead of running without the
  plugin.
* **Wrappers** (``@hookimpl(wrapper=True)`` or ``hookwrapper=True``) wrap each plugin's call,
  for every hook, ``on_event`` included, whether tracing is on or not.
* **Tracing** (``BUSSDCC_TRACE_PLUGINS=1``): every call is printed with its plugin, arguments
  and duration, and a failure's full traceback follows its line.

Only pluggy's public API is used: ``subset_hook_caller``, ``HookCaller.get_hookimpls``,
``HookImpl.function/argnames/plugin/plugin_name/wrapper/hookwrapper`` and
``add_hookcall_monitoring``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback as tb
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy
from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.io import EventSinkProtocol
from bussdcc.message import Message
from bussdcc.process import ProcessProtocol
from bussdcc.service import ServiceProtocol

from . import PROJECT_NAME, hookspecs
from .report import describe, report
from .settings import SettingError

if TYPE_CHECKING:
    import click

    from .discovery import PluginRecord
    from .settings import Setting, Settings
    from .sources import SourceFactory

__all__ = [
    "EventObserverError",
    "FrameworkPluginManager",
    "HookFailure",
    "PluginHookError",
]

Observer = Callable[[Event[Message]], Any]


class PluginHookError(RuntimeError):
    """A plugin's hook raised or returned the wrong thing and ``BUSSDCC_STRICT_PLUGINS`` is on."""

    def __init__(self, failure: HookFailure) -> None:
        super().__init__(failure.line)
        self.failure = failure


class HookResultError(TypeError):
    """A hook returned something the framework cannot use (not an iterable, a wrong item)."""


@dataclass(frozen=True)
class HookFailure:
    """One plugin's hook that failed: who, which hook, what, where, and the whole traceback."""

    plugin: str
    """The plugin's name (its entry-point name, or the name it was registered under)."""
    hook: str
    """The hook's name, e.g. ``register_sinks``."""
    error: BaseException
    """What was raised (a ``HookResultError`` for a result of the wrong kind)."""
    location: str
    """``file:line`` in the plugin's own code where it happened (or where the hook is defined)."""
    traceback: str
    """The formatted traceback (the hook's definition line for a result of the wrong kind)."""

    @property
    def summary(self) -> str:
        """The error in one line: ``ValueError: no settings today`` or ``returned 42; ...``."""
        text = str(self.error) if isinstance(self.error, HookResultError) else describe(self.error)
        return text.splitlines()[0] if text else type(self.error).__name__

    @property
    def line(self) -> str:
        """The one line printed on stderr: plugin, hook, error, location and the fix."""
        where = f" ({self.location})" if self.location else ""
        return (
            f'bussdcc: plugin "{self.plugin}" failed in hook {self.hook}: {self.summary}{where}; '
            f"disable it with BUSSDCC_DISABLE_PLUGINS={self.plugin}"
        )


class EventObserverError(Exception):
    """Raised by ``event_observer(ctx)`` after every plugin saw the event, if some raised."""

    def __init__(self, failures: Sequence[tuple[str, Exception]]) -> None:
        names = ", ".join(name for name, _ in failures)
        super().__init__(f"on_event failed in {names}")
        self.failures = tuple(failures)


def _report(line: str) -> None:
    report(line)


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_wrapper(impl: pluggy.HookImpl) -> bool:
    return bool(impl.wrapper or impl.hookwrapper)


# -- what each hook's items must look like -----------------------------------------------------


def _check_setting(item: Any) -> str | None:
    from .settings import Setting

    return None if isinstance(item, Setting) else "which is not a bussdcc_framework.settings.Setting"


def _check_message_type(item: Any) -> str | None:
    if isinstance(item, type) and issubclass(item, Message):
        return None
    return "which is not a Message class (a subclass of bussdcc.message.Message)"


def _check_sink(item: Any) -> str | None:
    missing = [m for m in ("start", "stop", "handle") if not callable(getattr(item, m, None))]
    return f"which is not an event sink (it has no {', '.join(missing)})" if missing else None


def _check_service(item: Any) -> str | None:
    ok = isinstance(getattr(item, "name", None), str) and callable(getattr(item, "tick", None))
    return None if ok else "which is not a service (it needs a name and tick(ctx))"


def _check_process(item: Any) -> str | None:
    ok = isinstance(getattr(item, "name", None), str) and callable(getattr(item, "handle_event", None))
    return None if ok else "which is not a process (it needs a name and handle_event(ctx, evt))"


def _check_source(item: Any) -> str | None:
    from .sources import SourceFactory

    return None if isinstance(item, SourceFactory) else "which is not a source factory (name, can_open, open)"


def _check_command(item: Any) -> str | None:
    import click

    if isinstance(item, click.Command) and item.name:
        return None
    return "which is not a named click command"


# -- where in the plugin's code ---------------------------------------------------------------


def _module_root(module_name: str | None) -> tuple[str, ...]:
    """The files or folders of ``module_name``'s top-level package (a plugin's own code)."""
    if not module_name:
        return ()
    top = sys.modules.get(module_name.split(".")[0])
    if not isinstance(top, ModuleType):
        return ()
    paths = list(getattr(top, "__path__", None) or [])
    if paths:
        return tuple(os.path.abspath(p) + os.sep for p in paths)
    file = getattr(top, "__file__", None)
    return (os.path.abspath(file),) if file else ()


def _definition(function: Callable[..., Any]) -> str:
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    return f"{code.co_filename}:{code.co_firstlineno}" if code is not None else ""


def plugin_location(error: BaseException, function: Callable[..., Any]) -> str:
    """``file:line`` of the innermost frame of ``error`` in the plugin's code.

    The plugin's code is the top-level package (or module) that defines the hook
    implementation ``function``; frames in libraries it called and in pluggy are skipped. When
    no frame is the plugin's (the call itself failed), the hook's definition line.
    """
    roots = _module_root(getattr(function, "__module__", None))
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    if code is not None:  # the file that defines the hook, even outside any package
        roots = (*roots, os.path.abspath(code.co_filename))
    for frame in reversed(tb.extract_tb(error.__traceback__)):
        filename = os.path.abspath(frame.filename)
        if any(filename == root or filename.startswith(root) for root in roots):
            return f"{frame.filename}:{frame.lineno}"
    return _definition(function)


# -- tracing ----------------------------------------------------------------------------------


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


# -- the manager ------------------------------------------------------------------------------


class FrameworkPluginManager(pluggy.PluginManager):
    """A pluggy manager with a typed method per hook, and the record of every plugin found."""

    def __init__(self, *, strict: bool = False, tracing: bool = False) -> None:
        super().__init__(PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        #: Every line reported on stderr about plugins (loading and hooks), for display only;
        #: use ``failures`` (and ``records``) for anything a program reads.
        self.problems: list[str] = []
        #: The hook failures, one per plugin and hook, in the order they happened.
        self.failures: list[HookFailure] = []
        self.strict = strict
        self.tracing = False
        self._failed: dict[tuple[str, str], HookFailure] = {}
        if tracing:
            self.enable_hook_tracing()

    def enable_hook_tracing(self) -> None:
        """Print every hook call from now on (what ``BUSSDCC_TRACE_PLUGINS=1`` turns on)."""
        if not self.tracing:
            tracer = _Tracer()
            self.add_hookcall_monitoring(tracer.before, tracer.after)
            self.tracing = True

    def loaded(self) -> list[PluginRecord]:
        """Records of the plugins that are registered and active."""
        return [r for r in self.records.values() if r.status == "loaded"]

    # -- the typed facade ----------------------------------------------------------------

    def declared_settings(self) -> list[Setting]:
        """Every setting the plugins declare (``register_settings``)."""
        return [item for _, item in self._collect("register_settings", {}, _check_setting)]

    def message_types(self) -> list[type[Message]]:
        """Every message class the plugins declare (``register_message_types``)."""
        return [item for _, item in self._collect("register_message_types", {}, _check_message_type)]

    def sinks(self, settings: Settings | None) -> list[EventSinkProtocol]:
        """The plugins' event sinks (``register_sinks``)."""
        return [item for _, item in self._collect("register_sinks", {"settings": settings}, _check_sink)]

    def services(self, settings: Settings | None) -> list[ServiceProtocol]:
        """The plugins' services (``register_services``)."""
        return [
            item for _, item in self._collect("register_services", {"settings": settings}, _check_service)
        ]

    def processes(self, settings: Settings | None) -> list[ProcessProtocol]:
        """The plugins' processes and interfaces (``register_processes``)."""
        return [
            item for _, item in self._collect("register_processes", {"settings": settings}, _check_process)
        ]

    def sources(self, settings: Settings | None) -> list[SourceFactory]:
        """The plugins' replay source factories (``register_sources``)."""
        return [item for _, item in self._collect("register_sources", {"settings": settings}, _check_source)]

    def commands(self, settings: Settings | None) -> list[tuple[str, click.Command]]:
        """``(plugin name, command)`` for each click command the plugins add (``register_commands``)."""
        return self._collect("register_commands", {"settings": settings}, _check_command)

    def routes(self, app: Any, ctx: ContextProtocol) -> None:
        """Let every plugin add its routes to the web interface's Flask ``app`` (``register_routes``)."""
        self._collect("register_routes", {"app": app, "ctx": ctx}, None)

    def event_observers(self, ctx: ContextProtocol) -> tuple[tuple[str, Observer], ...]:
        """``(plugin name, observe)`` per ``on_event`` implementation, in pluggy's call order.

        Each ``observe(evt)`` calls one plugin, so the caller can isolate them (the runtime
        reports a failure as ``SinkHandlerError`` and with ``record_failure``). Without
        wrappers and tracing, ``observe`` calls the implementation directly: this is the
        per-event hot path. Otherwise each call goes through pluggy, wrapped and traced.
        """
        calls = self._plugin_calls("on_event")
        if not calls:
            return ()
        direct = not self.tracing and not any(_is_wrapper(i) for i in self.hook.on_event.get_hookimpls())
        observers: list[tuple[str, Observer]] = []
        for name, impls, caller in calls:
            if direct:
                observers.extend((name, _bind(impl, ctx)) for impl in impls)
            else:
                observers.append((name, _bind_caller(caller, ctx)))
        return tuple(observers)

    def event_observer(self, ctx: ContextProtocol) -> Callable[[Event[Message]], None] | None:
        """One callable that shows an event to every ``on_event`` implementation, or None.

        Every plugin sees the event even when one raises; afterwards an ``EventObserverError``
        lists the failures (each also kept with ``record_failure``).
        """
        observers = self.event_observers(ctx)
        if not observers:
            return None

        def observe(evt: Event[Message]) -> None:
            failures: list[tuple[str, Exception]] | None = None
            for name, call in observers:
                try:
                    call(evt)
                except Exception as exc:
                    self.record_failure(name, "on_event", exc)
                    failures = [(name, exc)] if failures is None else [*failures, (name, exc)]
            if failures:
                raise EventObserverError(failures)

        return observe

    # -- failures ------------------------------------------------------------------------

    def record_failure(
        self, plugin: str, hook: str, error: BaseException, *, report: bool = True
    ) -> tuple[HookFailure, bool]:
        """Keep a hook failure and report it once per plugin and hook; ``(record, new)``.

        Used by the facade, and by the runtime for ``on_event`` (never raised there: the
        failure is also emitted as ``SinkHandlerError``). A plugin's hook that failed before
        is not reported again: ``new`` is False and ``record`` is the first failure.
        """
        known = self._failed.get((plugin, hook))
        if known is not None:
            return known, False
        function = self._implementation(plugin, hook)
        if isinstance(error, HookResultError):
            location = _definition(function) if function is not None else ""
            text = f'hook {hook} of plugin "{plugin}" (defined at {location}) {error}\n'
        else:
            location = plugin_location(error, function) if function is not None else ""
            text = "".join(tb.format_exception(error))
        failure = HookFailure(plugin=plugin, hook=hook, error=error, location=location, traceback=text)
        self._failed[(plugin, hook)] = failure
        self.failures.append(failure)
        self.problems.append(failure.line)
        record = self.records.get(plugin)
        if record is not None and record.error is None:
            record.error = f"{hook}: {failure.summary}" + (f" ({location})" if location else "")
        if report:
            _report(failure.line)
            if self.tracing:
                _report(failure.traceback.rstrip("\n"))
        return failure, True

    def _implementation(self, plugin: str, hook: str) -> Callable[..., Any] | None:
        caller = getattr(self.hook, hook, None)
        if caller is None:
            return None
        for impl in caller.get_hookimpls():
            if impl.plugin_name == plugin and not _is_wrapper(impl):
                return impl.function  # type: ignore[no-any-return]
        return None

    def _failed_in(self, plugin: str, hook: str, error: BaseException) -> None:
        failure, _new = self.record_failure(plugin, hook, error, report=not self.strict)
        if self.strict:
            raise PluginHookError(failure) from error

    # -- calling ---------------------------------------------------------------------------

    def _plugin_calls(self, hook: str) -> list[tuple[str, list[pluggy.HookImpl], pluggy.HookCaller]]:
        """``(plugin name, its implementations, a caller of just that plugin)`` in call order.

        pluggy calls the last registered (and ``tryfirst``) implementation first; so do we. The
        caller of one plugin keeps every plugin that only wraps this hook, so wrappers wrap
        each plugin's call.
        """
        impls = getattr(self.hook, hook).get_hookimpls()
        plain = [i for i in impls if not _is_wrapper(i)]
        owners: dict[int, object] = {}
        for impl in reversed(plain):
            owners.setdefault(id(impl.plugin), impl.plugin)
        calls = []
        for plugin in owners.values():
            own = [i for i in reversed(plain) if i.plugin is plugin]
            others = [p for p in owners.values() if p is not plugin]
            calls.append((own[0].plugin_name, own, self.subset_hook_caller(hook, remove_plugins=others)))
        return calls

    def _collect(
        self,
        hook: str,
        kwargs: dict[str, Any],
        check: Callable[[Any], str | None] | None,
    ) -> list[tuple[str, Any]]:
        """Call each plugin on its own and flatten what they returned, checking every item."""
        results: list[tuple[str, Any]] = []
        for name, _impls, caller in self._plugin_calls(hook):
            try:
                batches = caller(**kwargs)
            except SettingError:
                raise  # the user's error, not the plugin's: stop (exit 2)
            except Exception as exc:
                self._failed_in(name, hook, exc)
                continue
            if check is None:
                continue
            for batch in batches:
                if batch is None:
                    continue
                if isinstance(batch, (str, bytes)) or not isinstance(batch, Iterable):
                    self._failed_in(
                        name,
                        hook,
                        HookResultError(
                            f"returned {_short_repr(batch)}; {hook} must return a list "
                            "(or any iterable) or None"
                        ),
                    )
                    continue
                for item in batch:
                    problem = check(item)
                    if problem is not None:
                        self._failed_in(
                            name, hook, HookResultError(f"returned {_short_repr(item)}, {problem}")
                        )
                        continue
                    results.append((name, item))
        return results


def _bind(impl: pluggy.HookImpl, ctx: ContextProtocol) -> Observer:
    function = impl.function
    argnames = tuple(impl.argnames)
    if argnames == ("ctx", "evt"):
        return lambda evt: function(ctx, evt)
    if argnames == ("evt",):
        return function
    return lambda evt: function(*[ctx if n == "ctx" else evt for n in argnames])


def _bind_caller(caller: pluggy.HookCaller, ctx: ContextProtocol) -> Observer:
    return lambda evt: caller(ctx=ctx, evt=evt)
