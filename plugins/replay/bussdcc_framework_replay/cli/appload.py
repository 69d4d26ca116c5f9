"""``bussdcc replay --app APP``: the application's processes and message types, replayed.

The same ``APP`` forms as ``bussdcc run`` (``module:attr`` or ``path/app.py[:attr]``, with
``setup``, ``create_runtime`` or ``runtime``). Importing the app registers its message types.
``setup(runtime)`` configures the replay runtime directly; an app that builds its own
``Runtime`` has its processes, interfaces, services and state moved onto a replay runtime.
Its own sinks are left out: an app recording into ``./events`` must not write into the log
being replayed (``--record DIR`` records a replay).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bussdcc_framework.app import load_app as load_application
from bussdcc_framework.report import report
from bussdcc_framework.runtime import Runtime

from ..runtime import ReplayRuntime

#: Makes a replay runtime (``speed`` and, for apps with their own runtime, their state).
RuntimeMaker = Callable[..., ReplayRuntime]


def load_app(spec: str | None, make: RuntimeMaker) -> tuple[ReplayRuntime, Callable[[ReplayRuntime], object]]:
    """A replay runtime for ``spec`` and a function to call once plugins are added to it."""
    app = load_application(spec)
    if app.runtime is not None:
        return _adopt(app.runtime, make), lambda runtime: None
    return make(), app.setup or (lambda runtime: None)


def _adopt(app_runtime: Runtime, make: RuntimeMaker) -> ReplayRuntime:
    """Move the application's own parts onto a replay runtime.

    What the plugins contributed to the app's runtime (``Runtime.from_plugins()``) stays
    behind: the replay runtime composes the plugins itself, without their services.
    """
    if isinstance(app_runtime, ReplayRuntime):
        return app_runtime
    runtime = make(state=app_runtime.state)
    runtime.add_message_types(*app_runtime.message_types)
    from_plugin = app_runtime.from_plugin
    for process in app_runtime.processes.list():
        if not from_plugin(process):
            runtime.add_process(process)
    for interface in app_runtime.interfaces.list():
        if not from_plugin(interface):
            runtime.add_interface(interface)
    for service in app_runtime.services.list():
        if not from_plugin(service):
            runtime.add_service(service)
    sinks: list[Any] = [sink for sink in app_runtime.sinks if not from_plugin(sink)]
    if sinks:
        names = ", ".join(type(s).__name__ for s in sinks)
        report(
            f"bussdcc: the app's own sinks ({names}) are not used in a replay; use --record DIR to record it"
        )
    return runtime
