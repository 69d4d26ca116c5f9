"""The kernel's managers, with snapshots for the dispatch hot path.

The kernel rebuilds the list of processes, interfaces and running services for every event
(``list()``, and ``running()`` under the supervisor's lock): about half a microsecond of the
per-event budget. These subclasses keep the same API and behaviour but hold immutable
snapshots that change only when a process or interface is registered or a service starts or
stops, so ``Runtime._dispatch`` reads a tuple instead.
"""

from __future__ import annotations

from bussdcc.context import ContextProtocol
from bussdcc.interface import InterfaceManager
from bussdcc.process import ProcessManager, ProcessProtocol
from bussdcc.service import ServiceProtocol, ServiceSupervisor
from bussdcc.service.supervisor import _ServiceEntry


class ProcessRegistry(ProcessManager):
    """``ProcessManager`` with ``snapshot``: the registered processes, in order."""

    def __init__(self, ctx: ContextProtocol) -> None:
        super().__init__(ctx)
        self.snapshot: tuple[ProcessProtocol, ...] = ()

    def register(self, process: ProcessProtocol) -> None:
        super().register(process)
        self.snapshot = tuple(self.list())


class InterfaceRegistry(InterfaceManager):
    """``InterfaceManager`` with ``snapshot``: the registered interfaces, in order."""

    def __init__(self, ctx: ContextProtocol) -> None:
        super().__init__(ctx)
        self.snapshot: tuple[ProcessProtocol, ...] = ()

    def register(self, interface: ProcessProtocol) -> None:
        super().register(interface)
        self.snapshot = tuple(self.list())


class _TrackedEntry(_ServiceEntry):
    """A supervisor entry that tells its supervisor when ``running`` changes.

    The kernel only writes ``running`` while holding the supervisor's lock, so invalidating
    the snapshot here is ordered with the rebuild in ``running_snapshot``.
    """

    owner: ServiceRegistry | None = None

    @property
    def running(self) -> bool:
        return bool(self.__dict__.get("_running", False))

    @running.setter
    def running(self, value: bool) -> None:
        self.__dict__["_running"] = value
        owner = self.__dict__.get("owner")
        if owner is not None:
            owner._running = None


class ServiceRegistry(ServiceSupervisor):
    """``ServiceSupervisor`` with ``running_snapshot()``: the running services, cached."""

    def __init__(self, ctx: ContextProtocol) -> None:
        super().__init__(ctx)
        self._running: tuple[ServiceProtocol, ...] | None = ()

    def register(self, service: ServiceProtocol) -> None:
        with self._lock:
            if service.name in self._services:
                raise ValueError(f"Service `{service.name}` already registered")
            entry = _TrackedEntry(service=service)
            entry.owner = self
            self._services[service.name] = entry
            self._running = None

    def running_snapshot(self) -> tuple[ServiceProtocol, ...]:
        """The running services as a tuple, rebuilt only after a start or stop."""
        snapshot = self._running
        if snapshot is None:
            with self._lock:
                snapshot = tuple(e.service for e in self._services.values() if e.running)
                self._running = snapshot
        return snapshot

    def running(self) -> list[ServiceProtocol]:
        return list(self.running_snapshot())
