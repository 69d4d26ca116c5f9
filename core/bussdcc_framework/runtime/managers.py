"""The kernel's managers, with snapshots for the dispatch hot path.

The kernel rebuilds the list of processes, interfaces and running services for every event
(``list()``, and ``running()`` under the supervisor's lock): about half a microsecond of the
per-event budget. These subclasses keep the same API and behaviour but hold immutable
snapshots that change only when a process or interface is registered or a service starts or
stops, so ``Runtime._dispatch_event`` reads a tuple instead.
"""

from __future__ import annotations

from bussdcc.context import ContextProtocol
from bussdcc.interface import InterfaceManager
from bussdcc.process import ProcessManager, ProcessProtocol
from bussdcc.service import ServiceProtocol, ServiceSupervisor

from .._kernel import TrackedServiceEntry, supervisor_entries, supervisor_lock


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


class ServiceRegistry(ServiceSupervisor):
    """``ServiceSupervisor`` with ``running_snapshot()``: the running services, cached."""

    def __init__(self, ctx: ContextProtocol) -> None:
        super().__init__(ctx)
        self._running: tuple[ServiceProtocol, ...] | None = ()

    def register(self, service: ServiceProtocol) -> None:
        with supervisor_lock(self):
            entries = supervisor_entries(self)
            if service.name in entries:
                raise ValueError(f"Service `{service.name}` already registered")
            entry = TrackedServiceEntry(service=service)
            entry.owner = self
            entries[service.name] = entry
            self._running = None

    def _running_changed(self) -> None:
        # Called by a TrackedServiceEntry, under the supervisor's lock.
        self._running = None

    def running_snapshot(self) -> tuple[ServiceProtocol, ...]:
        """The running services as a tuple, rebuilt only after a start or stop."""
        snapshot = self._running
        if snapshot is None:
            with supervisor_lock(self):
                snapshot = tuple(e.service for e in supervisor_entries(self).values() if e.running)
                self._running = snapshot
        return snapshot

    def running(self) -> list[ServiceProtocol]:
        return list(self.running_snapshot())
