"""The only module that touches private attributes of the bussdcc kernel.

The framework needs a few of the kernel's private names: to subclass its runtime (the dispatch
entry point, the booted flag, the stop event, the bus subscription), to keep a snapshot of
running services (the supervisor's entries and lock), to ask a kernel ``ReplayClock`` whether
it was started. Every such use is here, under a
framework name, and nowhere else; ``check_kernel()`` verifies each one against the installed
kernel and names the attribute that changed. ``tests/test_kernel_internals.py`` runs it, so
moving to a kernel release that renamed one fails loudly there rather than quietly elsewhere.

The accessors read the attributes directly: a renamed attribute raises ``AttributeError``
naming it, never a silent default.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from bussdcc.clock import ReplayClock as KernelReplayClock
from bussdcc.event import Event
from bussdcc.message import Message
from bussdcc.runtime import Runtime as _KernelRuntime
from bussdcc.service import ServiceSupervisor
from bussdcc.service.supervisor import _ServiceEntry

from .report import describe

#: Every private kernel name the framework relies on, and why (``check_kernel`` checks each).
PRIVATE_NAMES: dict[str, str] = {
    "bussdcc.runtime.Runtime._dispatch": "the entry point the kernel subscribes at boot; "
    "the framework runtime replaces it with its sink pipeline",
    "bussdcc.runtime.Runtime._dispatch_to_process": "delivers one event to one process or interface",
    "bussdcc.runtime.Runtime._dispatch_to_service": "delivers one event to one running service",
    "bussdcc.runtime.Runtime._booted": "the booted flag behind the public ``booted`` property",
    "bussdcc.runtime.Runtime._stop_event": "what ``run()`` waits on and ``shutdown()`` sets",
    "bussdcc.runtime.Runtime._sub": "the bus subscription of ``_dispatch``, created by ``boot()``",
    "bussdcc.service.supervisor._ServiceEntry": "a supervisor entry; its ``running`` field is "
    "written by the supervisor under its lock",
    "bussdcc.service.ServiceSupervisor._services": "the supervisor's entries by service name",
    "bussdcc.service.ServiceSupervisor._lock": "the supervisor's lock",
    "bussdcc.clock.ReplayClock._now": "the replay time, None until ``start()``",
}


class KernelRuntime(_KernelRuntime):
    """The kernel's ``Runtime`` with the private names the framework uses under its own.

    A subclass that defines ``_dispatch_event(evt)`` gets it installed as the kernel's
    ``_dispatch`` (an alias made once per class, so the per-event path has no extra call).
    """

    #: One event to one process or interface, isolated and reported as the kernel does.
    _deliver_to_process: ClassVar[Callable[..., None]] = _KernelRuntime._dispatch_to_process
    #: One event to one service, isolated and reported as the kernel does.
    _deliver_to_service: ClassVar[Callable[..., None]] = _KernelRuntime._dispatch_to_service

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dispatch = cls.__dict__.get("_dispatch_event")
        if dispatch is not None:
            cls._dispatch = dispatch  # type: ignore[method-assign]

    def _set_booted(self, value: bool) -> None:
        self._booted = value

    @property
    def _stop_requested(self) -> threading.Event:
        """The event ``run()`` waits on; ``shutdown()`` sets it."""
        return self._stop_event

    def _cancel_dispatch_subscription(self) -> None:
        """Cancel the bus subscription ``boot()`` made (the kernel skips it when a stop fails)."""
        self._sub.cancel()


class TrackedServiceEntry(_ServiceEntry):
    """A supervisor entry that tells its owner when ``running`` changes.

    The kernel writes ``running`` only while holding the supervisor's lock, so invalidating
    the owner's snapshot here is ordered with the rebuild that reads it.
    """

    owner: Any = None

    @property
    def running(self) -> bool:
        return bool(self.__dict__.get("_running", False))

    @running.setter
    def running(self, value: bool) -> None:
        self.__dict__["_running"] = value
        owner = self.__dict__.get("owner")
        if owner is not None:
            owner._running_changed()


def supervisor_lock(supervisor: ServiceSupervisor) -> Any:
    """The supervisor's (reentrant) lock."""
    return supervisor._lock


def supervisor_entries(supervisor: ServiceSupervisor) -> dict[str, _ServiceEntry]:
    """The supervisor's entries by service name (hold ``supervisor_lock``)."""
    return supervisor._services


def replay_clock_time(clock: KernelReplayClock) -> datetime | None:
    """The replay time of a kernel ``ReplayClock``, None before ``start()``.

    The kernel's ``now_utc()`` asserts instead; a clock of the framework's own exposes
    ``started`` and ``current_time`` and is not read here.
    """
    now: datetime | None = clock._now
    return now


# -- the check ----------------------------------------------------------------------------------


def check_kernel(
    runtime_class: type[_KernelRuntime] = _KernelRuntime,
    supervisor_class: type[ServiceSupervisor] = ServiceSupervisor,
    entry_class: type = _ServiceEntry,
    clock_class: type[KernelReplayClock] = KernelReplayClock,
) -> list[str]:
    """One line per private kernel name that is missing or behaves differently (empty: all good).

    Each line starts with the name (as in ``PRIVATE_NAMES``). The arguments exist so a test can
    show that a changed kernel class is caught.
    """
    problems: list[str] = []

    def expect(name: str, ok: Callable[[], bool], what: str) -> None:
        try:
            good = ok()
        except Exception as exc:
            problems.append(f"{name}: {what} ({describe(exc)})")
            return
        if not good:
            problems.append(f"{name}: {what}")

    runtime_name = "bussdcc.runtime.Runtime"
    for method in ("_dispatch", "_dispatch_to_process", "_dispatch_to_service"):
        expect(
            f"{runtime_name}.{method}",
            lambda m=method: callable(getattr(runtime_class, m)),  # type: ignore[misc]
            "is not a method of the kernel's Runtime any more",
        )
    rt = runtime_class()
    expect(f"{runtime_name}._booted", lambda: rt._booted is False, "is not False on a new runtime")
    expect(
        f"{runtime_name}._stop_event",
        lambda: isinstance(rt._stop_event, threading.Event),
        "is not a threading.Event",
    )
    seen: list[Event[Message]] = []
    original = runtime_class._dispatch

    class Probe(runtime_class):  # type: ignore[valid-type,misc]
        def _dispatch(self, evt: Event[Message]) -> None:
            seen.append(evt)
            original(self, evt)

    probe = Probe()
    try:
        probe.boot()
        expect(f"{runtime_name}._booted", lambda: probe._booted is True, "is not True after boot()")
        expect(f"{runtime_name}._dispatch", lambda: bool(seen), "is not what boot() subscribes to the bus")
        expect(
            f"{runtime_name}._sub",
            lambda: callable(probe._sub.cancel),
            "is not the bus subscription made by boot()",
        )
        probe.shutdown()
        expect(
            f"{runtime_name}._stop_event",
            lambda: probe._stop_event.is_set(),
            "is not set by shutdown()",
        )
    except Exception as exc:
        problems.append(f"{runtime_name}: boot() or shutdown() of a subclass failed ({describe(exc)})")

    entry_name = "bussdcc.service.supervisor._ServiceEntry"
    expect(
        entry_name,
        lambda: (
            dataclasses.is_dataclass(entry_class)
            and {"service", "running"} <= {f.name for f in dataclasses.fields(entry_class)}
        ),
        "is not a dataclass with the fields service and running",
    )
    supervisor_name = "bussdcc.service.ServiceSupervisor"
    supervisor = supervisor_class(rt.ctx)
    expect(f"{supervisor_name}._services", lambda: supervisor._services == {}, "is not a dict of entries")
    expect(
        f"{supervisor_name}._lock",
        lambda: _reentrant(supervisor._lock),
        "is not a reentrant lock",
    )

    class Service:
        name = "probe"
        interval = 3600.0
        enabled = True
        restart = False
        critical = False

        def attach(self, ctx: Any) -> None: ...
        def detach(self) -> None: ...
        def start(self, ctx: Any) -> None: ...
        def tick(self, ctx: Any) -> None: ...
        def stop(self, ctx: Any) -> None: ...
        def handle_event(self, ctx: Any, evt: Any) -> None: ...

    def entry_running_is_written() -> bool:
        supervisor.register(Service())
        entry = supervisor._services["probe"]
        supervisor.start("probe")
        try:
            return type(entry) is entry_class and entry.running is True
        finally:
            supervisor.stop("probe")

    expect(
        f"{entry_name}.running",
        entry_running_is_written,
        "is not the field the supervisor sets when a service starts",
    )

    clock_name = "bussdcc.clock.ReplayClock._now"
    clock = clock_class()
    expect(clock_name, lambda: clock._now is None, "is not None before start()")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock.start(start)
    expect(clock_name, lambda: clock._now == start, "is not the replay time after start()")

    return problems


def _reentrant(lock: Any) -> bool:
    with lock:
        if not lock.acquire(blocking=False):
            return False
        lock.release()
    return True
