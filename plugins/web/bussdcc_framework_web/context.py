"""``emit`` and ``current_ctx``: reach the runtime from inside Flask routes (the original API).

Inside a request (or any Flask app context) the context is the one of the ``WebInterface``
serving that app. Outside one, the single running ``WebInterface`` is used, so helpers called
from background code keep working; with none or several running, a clear error says why.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from bussdcc.context import ContextProtocol
from bussdcc.message import Message

if TYPE_CHECKING:
    from .interface import WebInterface

EXTENSION = "bussdcc_web"

_running: list[WebInterface] = []
_running_lock = threading.Lock()


def _track(interface: WebInterface, running: bool) -> None:
    with _running_lock:
        if running and interface not in _running:
            _running.append(interface)
        elif not running and interface in _running:
            _running.remove(interface)


def current_interface() -> WebInterface:
    """The ``WebInterface`` of the current Flask app, or the only running one."""
    from flask import current_app, has_app_context

    if has_app_context():
        found = current_app.extensions.get(EXTENSION)
        if found is not None:
            return found  # type: ignore[no-any-return]
    with _running_lock:
        running = list(_running)
    if len(running) == 1:
        return running[0]
    if not running:
        raise RuntimeError(
            "no web interface is running: call emit()/current_ctx() inside a route of a started WebInterface"
        )
    raise RuntimeError(
        f"{len(running)} web interfaces are running; call emit()/current_ctx() inside a "
        "request so the right one is used"
    )


def current_ctx() -> ContextProtocol:
    """The runtime context of the web interface serving the current request."""
    ctx = current_interface().ctx
    if ctx is None:
        raise RuntimeError("the web interface is not attached to a runtime")
    return ctx


def emit(message: Message) -> None:
    """Emit ``message`` into the runtime from a Flask route (delivered synchronously)."""
    if not isinstance(message, Message):
        raise TypeError(f"emit() takes a bussdcc Message, got {type(message).__name__}")
    current_ctx().emit(message)
