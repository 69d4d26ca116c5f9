"""How a replay is driven from outside: the protocol between a replaying runtime and its UIs.

The replay plugin's ``ReplayRuntime`` exposes ``runtime.replay_controller``: an object with
this protocol. The web interface, the terminal and applications talk to it without importing
the replay plugin (a web UI must work with or without it installed), through
``replay_controller(ctx_or_runtime)``, which is ``None`` for a live runtime.

Commands (``pause``, ``resume``, ``step``, ``seek``, ``set_speed``, ``set_loop``) return at
once; the replay thread applies them between two events, in the order they were given.
``wait(timeout)`` blocks until every command given so far is applied (a step until its events
are emitted, a seek until the runtime stands at the new time).

``status()`` is a JSON-ready dict (times as ISO 8601 text and as epoch seconds):

``replaying``  always True
``position``   the replay time now (the recorded time of the last event, or the seek target)
``start``/``end`` the recording's first and last event times (``end`` None until known)
``speed``      1.0 is the recorded pace, 0 is as fast as possible (``max`` is then True)
``paused``, ``seeking``, ``stepping``, ``finished``, ``loop``
``events``     events replayed since the start of the recording (the position as a count)
``epoch``      grows whenever the replay jumped (a seek, a loop): what a page showed before
               is stale and must be fetched again
``run``        the run being replayed (number, app...), when the source says
``marks``      how many warning/error marks ``timeline()`` holds now

Listeners (``add_listener``) are called on the replay thread, in order with the events:
``"reset"`` before a replay starts again from its first event (a backward seek, a loop:
forget what was derived from events), ``"seek_start"`` / ``"seek_end"`` around the events
a seek fast-forwards through (played at full speed to processes, not to sinks: show none of
them one by one, only the result), ``"changed"`` after a command was applied.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "MAX_SPEED",
    "MIN_SPEED",
    "ReplayControllerProtocol",
    "ReplayNotice",
    "replay_controller",
]

#: The slowest and fastest paced speeds; 0 means as fast as possible ("max").
MIN_SPEED = 0.1
MAX_SPEED = 100.0

ReplayNotice = Literal["reset", "seek_start", "seek_end", "changed"]
"""What a listener is told (see the module docstring)."""


@runtime_checkable
class ReplayControllerProtocol(Protocol):
    """Pause, resume, step, seek, speed and loop for one replaying runtime."""

    def status(self) -> dict[str, Any]:
        """The replay's position and settings (see the module docstring)."""
        ...

    def timeline(self) -> dict[str, Any]:
        """``{"start", "end", "complete", "marks": [{"time", "ts", "type", "severity"}]}``."""
        ...

    def pause(self) -> None:
        """Stop emitting before the next event; the runtime stays up."""
        ...

    def resume(self) -> None:
        """Play on from the current position at the current speed."""
        ...

    def step(self, count: int = 1, *, until: str | None = None) -> None:
        """Pause, then emit the next ``count`` events (or up to the next one of type ``until``)."""
        ...

    def seek(self, to: datetime) -> None:
        """Stand at recorded time ``to``: every earlier event played, no later one."""
        ...

    def set_speed(self, speed: float) -> None:
        """``MIN_SPEED``..``MAX_SPEED`` times the recorded pace, or 0 for as fast as possible."""
        ...

    def set_loop(self, loop: bool) -> None:
        """Start again from the first event after the last one."""
        ...

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the commands given so far are applied; False on timeout."""
        ...

    def add_listener(self, listener: Callable[[ReplayNotice], None]) -> Callable[[], None]:
        """Call ``listener(notice)`` on the replay thread; returns a function that removes it."""
        ...


def replay_controller(target: Any) -> ReplayControllerProtocol | None:
    """The controller of the replay ``target`` runs in (a context or a runtime), else None.

    ``None`` means a live runtime: nothing to pause or seek, and actions on the outside world
    are allowed.
    """
    runtime = getattr(target, "runtime", target)
    controller = getattr(runtime, "replay_controller", None)
    return controller if isinstance(controller, ReplayControllerProtocol) else None
