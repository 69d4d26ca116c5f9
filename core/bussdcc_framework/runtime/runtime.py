"""The framework runtime: the kernel runtime plus a sink pipeline, lifecycle messages and plugins."""

from __future__ import annotations

import dataclasses
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Optional, Self

from bussdcc.clock import ClockProtocol
from bussdcc.context import ContextProtocol
from bussdcc.device import DeviceProtocol
from bussdcc.event import Event, EventBusProtocol
from bussdcc.io import EventSinkProtocol
from bussdcc.message import Message, Severity
from bussdcc.process import ProcessProtocol
from bussdcc.runtime.replay import ReplayRuntime as KernelReplayRuntime
from bussdcc.service import ServiceProtocol
from bussdcc.state import StateStoreProtocol

from .._kernel import KernelRuntime
from ..interface import Interface
from ..interrupts import RunInterrupts
from ..message import (
    ApplicationStarted,
    FrameworkBooted,
    FrameworkBootFailed,
    FrameworkShuttingDown,
    SinkHandlerError,
)
from ..report import describe, report
from ..state import NotifyingStateStore
from ..version import get_version
from .managers import InterfaceRegistry, ProcessRegistry, ServiceRegistry

if TYPE_CHECKING:
    from ..plugins import FrameworkPluginManager
    from ..settings import Settings


def sink_name(sink: object) -> str:
    """How a sink is named in ``SinkHandlerError``: its ``name`` attribute or its class name."""
    name = getattr(sink, "name", None)
    return name if isinstance(name, str) else type(sink).__name__


class Runtime(KernelRuntime):
    """A kernel runtime whose events also flow through sinks and plugin ``on_event`` hooks.

    Compose it explicitly (``add_sink``, ``add_service``, ``add_process``, ``add_interface``)
    or from the selected plugins with ``Runtime.from_plugins()``; both can be mixed.

    The state store defaults to ``NotifyingStateStore``, so pages and plugins can subscribe
    to changes (``runtime.state.subscribe(prefix, callback)``) instead of polling.
    """

    replaying: bool = False
    """True for a runtime that replays a recording (``ReplayRuntime``); see ``is_replaying``."""

    def __init__(
        self,
        *,
        clock: Optional[ClockProtocol] = None,
        events: Optional[EventBusProtocol] = None,
        state: Optional[StateStoreProtocol] = None,
    ) -> None:
        super().__init__(
            clock=clock, events=events, state=state if state is not None else NotifyingStateStore()
        )
        self.processes: ProcessRegistry = ProcessRegistry(self.ctx)
        self.interfaces: InterfaceRegistry = InterfaceRegistry(self.ctx)
        self.services: ServiceRegistry = ServiceRegistry(self.ctx)
        self.framework_version: str = get_version()
        #: The application's name, emitted as ``ApplicationStarted`` after boot (``bussdcc run``).
        self.app_name: str | None = None
        self.plugins: FrameworkPluginManager | None = None
        self.settings: Settings | None = None
        self._sinks: list[EventSinkProtocol] = []
        self._plugin_parts: set[int] = set()  # ids of what add_plugins() added
        self._active_sinks: tuple[EventSinkProtocol, ...] = ()
        self._event_observers: tuple[tuple[str, Callable[[Event[Message]], Any]], ...] = ()
        self._message_types: dict[type[Message], None] = {}
        self._lifecycle = threading.RLock()
        self._shutting_down = False
        self._sink_start_errors: list[tuple[EventSinkProtocol, BaseException, str]] = []
        self._interrupts = RunInterrupts(self._stop_requested)

    # -- composition ---------------------------------------------------------------------

    def add_sink(self, sink: EventSinkProtocol) -> None:
        """Add an event sink; every event reaches every sink, in the order they were added."""
        with self._lifecycle:
            self._sinks.append(sink)
            if self.booted:
                self._start_sink(sink)

    def add_service(self, service: ServiceProtocol) -> None:
        """Register a service; it starts on its own thread at boot."""
        self.services.register(service)

    def add_process(self, process: ProcessProtocol) -> None:
        """Register a process; it sees every event on the emitting thread."""
        self.processes.register(process)

    def add_interface(self, interface: ProcessProtocol) -> None:
        """Register an interface; interfaces start after processes and stop before them."""
        self.interfaces.register(interface)

    def add_device(self, device: DeviceProtocol[Any]) -> None:
        """Attach a device."""
        self.devices.attach(device)

    def add_message_types(self, *types: type[Message]) -> None:
        """Declare the application's own message types, in one line from ``setup(runtime)``.

        The web interface offers them on its send form and ``/api/emit`` (first), and
        ``bussdcc replay --app`` registers them to rebuild recorded events, as if a plugin had
        returned them from ``register_message_types``. Declaring a type twice is harmless.
        """
        for cls in types:
            if not (
                isinstance(cls, type)
                and issubclass(cls, Message)
                and cls is not Message
                and dataclasses.is_dataclass(cls)
            ):
                raise TypeError(
                    "add_message_types() takes message classes (@dataclass subclasses of "
                    f"bussdcc.message.Message), not {cls!r}"
                )
        for cls in types:
            self._message_types[cls] = None

    @property
    def message_types(self) -> list[type[Message]]:
        """The application's message types given to ``add_message_types``, in order."""
        return list(self._message_types)

    @property
    def sinks(self) -> list[EventSinkProtocol]:
        """The sinks added so far (a copy)."""
        return list(self._sinks)

    def add_plugins(
        self,
        settings: Settings | None = None,
        plugins: FrameworkPluginManager | None = None,
        *,
        services: bool = True,
    ) -> Self:
        """Add the sinks, services and processes of the selected plugins, and their ``on_event``.

        ``settings`` default to ``load_settings()`` (environment and defaults) and ``plugins``
        to ``load_plugins()`` (selected by ``BUSSDCC_PLUGINS``). A runtime takes plugins once;
        later calls return it unchanged.

        ``services=False`` leaves out the plugins' services (``register_services``) and keeps
        everything else (sinks, processes and interfaces such as the web UI, ``on_event``).
        Services produce live data (the identity plugin's machine identity, sensors...); a
        replay must show only what was recorded, so ``ReplayRuntime`` composes without them.
        """
        from ..plugins import load_plugins, load_settings

        if self.plugins is not None:
            # Already composed (e.g. an app's ``runtime = Runtime.from_plugins()`` run by
            # ``bussdcc run``): adding the same sinks and services twice would fail.
            return self
        pm = plugins if plugins is not None else load_plugins()
        resolved = settings if settings is not None else load_settings(plugins=pm)
        self.plugins = pm
        self.settings = resolved
        for sink in pm.sinks(resolved):
            self._plugin_parts.add(id(sink))
            self.add_sink(sink)
        if services:
            for service in pm.services(resolved):
                self._plugin_parts.add(id(service))
                self.add_service(service)
        for process in pm.processes(resolved):
            self._plugin_parts.add(id(process))
            if isinstance(process, Interface):
                self.add_interface(process)
            else:
                self.add_process(process)
        self._event_observers = pm.event_observers(self.ctx)
        return self

    def from_plugin(self, part: object) -> bool:
        """Whether a sink, service, process or interface was added by ``add_plugins``.

        Lets tools that move an application's parts onto another runtime (``bussdcc replay
        --app``) take the application's own parts and leave the plugins' to that runtime.
        """
        return id(part) in self._plugin_parts

    @classmethod
    def from_plugins(
        cls,
        settings: Settings | None = None,
        plugins: FrameworkPluginManager | None = None,
        **kwargs: Any,
    ) -> Self:
        """A runtime composed from every selected plugin: the one call most applications need."""
        runtime = cls(**kwargs)
        runtime.add_plugins(settings=settings, plugins=plugins)
        return runtime

    # -- the sink pipeline ---------------------------------------------------------------

    def _dispatch_event(self, evt: Event[Message]) -> None:
        # The hot path: every event of the runtime passes here, on the emitting thread (the
        # kernel calls it as its ``_dispatch``; see ``_kernel.KernelRuntime``).
        # Failures are reported after every sink, observer and process has seen ``evt``:
        # emitting is synchronous, so reporting at once would show the report to the later
        # sinks before the event it is about, and recordings would have them out of order.
        failures: list[SinkHandlerError] | None = None
        for sink in self._active_sinks:
            try:
                sink.handle(evt)
            except Exception as exc:
                failures = self._sink_failed(failures, sink_name(sink), evt, exc)
        for name, observe in self._event_observers:
            try:
                observe(evt)
            except Exception as exc:
                failures = self._sink_failed(failures, f"on_event[{name}]", evt, exc)
                if self.plugins is not None:
                    self.plugins.record_failure(name, "on_event", exc)
        # The kernel's dispatch, over snapshots instead of lists rebuilt per event.
        for process in self.processes.snapshot:
            self._deliver_to_process(process, evt)
        for interface in self.interfaces.snapshot:
            self._deliver_to_process(interface, evt)
        for service in self.services.running_snapshot():
            self._deliver_to_service(service, evt)
        if failures:
            for failure in failures:
                self.ctx.emit(failure)

    @staticmethod
    def _sink_failed(
        failures: list[SinkHandlerError] | None,
        name: str,
        evt: Event[Message],
        exc: BaseException,
    ) -> list[SinkHandlerError] | None:
        # Never report a failure on an error-level event: that is how error loops start.
        if evt.payload.severity >= Severity.ERROR:
            return failures
        report = SinkHandlerError(sink=name, error=repr(exc), evt=evt, traceback=traceback.format_exc())
        return [report] if failures is None else [*failures, report]

    def _start_sink(self, sink: EventSinkProtocol) -> None:
        try:
            sink.start(self.ctx)
        except Exception as exc:
            self._sink_start_errors.append((sink, exc, traceback.format_exc()))
            return
        self._active_sinks = (*self._active_sinks, sink)

    def _stop_sinks(self) -> None:
        sinks, self._active_sinks = self._active_sinks, ()
        for sink in reversed(sinks):
            try:
                sink.stop()
            except Exception as exc:
                report(f"bussdcc: sink {sink_name(sink)} failed to stop: {describe(exc)}")

    # -- lifecycle -----------------------------------------------------------------------

    def boot(self) -> None:
        """Start the sinks, boot the kernel, then emit ``FrameworkBooted`` (once per boot)."""
        with self._lifecycle:
            if self.booted:
                return
            self._shutting_down = False
            self._sink_start_errors = []
            # A Ctrl-C from now on is recorded, so ``run()`` cannot miss it (``interrupts``).
            self._interrupts.install()
            for sink in self._sinks:
                self._start_sink(sink)
            try:
                super().boot()
            except BaseException as exc:
                self._boot_failed(exc)
                raise
            for sink, error, tb in self._sink_start_errors:
                self.ctx.emit(
                    SinkHandlerError(sink=sink_name(sink), error=f"start failed: {error!r}", traceback=tb)
                )
            self.ctx.emit(FrameworkBooted(version=self.framework_version))
            if self.app_name is not None:
                self.ctx.emit(ApplicationStarted(app=self.app_name))

    def _boot_failed(self, exc: BaseException) -> None:
        self.ctx.emit(
            FrameworkBootFailed(
                version=self.framework_version,
                error=describe(exc),
                traceback=traceback.format_exc(),
            )
        )
        # Tear down whatever did start, best effort: the boot error is what the caller sees.
        self._set_booted(True)
        try:
            self.shutdown(reason=f"boot failed: {describe(exc)}")
        except Exception:
            pass
        finally:
            self._set_booted(False)
            self._stop_sinks()

    def shutdown(self, reason: Optional[str] = None) -> None:
        """Emit ``FrameworkShuttingDown`` once, stop everything, then the sinks; idempotent."""
        if threading.current_thread().name.startswith("svc:"):
            # A service cannot join its own thread: shut down from a helper thread instead.
            threading.Thread(
                target=self.shutdown, args=(reason,), name="bussdcc-shutdown", daemon=False
            ).start()
            return
        with self._lifecycle:
            if not self.booted or self._shutting_down:
                self._stop_requested.set()
                return
            self._shutting_down = True
            try:
                self.ctx.emit(FrameworkShuttingDown(version=self.framework_version, reason=reason))
                try:
                    super().shutdown(reason)
                except Exception as exc:
                    report(f"bussdcc: shutdown raised {describe(exc)}")
                    raise
            finally:
                self._set_booted(False)
                # The kernel cancels its bus subscription only when every stop() succeeded;
                # a leaked one would deliver each event twice after the next boot.
                self._cancel_dispatch_subscription()
                self._stop_sinks()
                self._stop_requested.set()
                self._interrupts.restore()

    def run(self) -> None:
        """Boot (unless already booted) and block until ``shutdown()`` or Ctrl-C; any thread.

        On the main thread, a Ctrl-C while ``run()`` waits stops the runtime gracefully, and so
        does one that came during ``boot()`` but was swallowed on its way (see ``interrupts``).
        """
        interrupts = self._interrupts
        reason: str | None = None
        try:
            with self._lifecycle:
                if not self.booted:
                    self._stop_requested.clear()
                    interrupts.waiting = True  # a Ctrl-C during this boot stops the runtime
                    self.boot()
            interrupts.waiting = True
            if interrupts.pending:
                self._stop_requested.set()
            while not self._stop_requested.wait(0.5):
                pass
        except KeyboardInterrupt:
            reason = "KeyboardInterrupt"
        finally:
            interrupts.waiting = False
            if interrupts.pending:
                reason = "KeyboardInterrupt"
            try:
                # A second Ctrl-C during this shutdown raises out of run(), as Python's would.
                self.shutdown(reason)
            finally:
                interrupts.restore()


def is_replaying(ctx: ContextProtocol) -> bool:
    """Whether ``ctx`` belongs to a runtime that replays a recording.

    The one documented way for sinks, services, processes and pages to tell a replay from a
    live run (e.g. not to switch real hardware, or not to send notifications again). True for
    the replay plugin's ``ReplayRuntime`` and the kernel's own ``ReplayRuntime``.
    """
    runtime = ctx.runtime
    if isinstance(runtime, Runtime):
        return runtime.replaying
    return isinstance(runtime, KernelReplayRuntime)
