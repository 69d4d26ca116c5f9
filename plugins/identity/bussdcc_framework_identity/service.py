"""``SystemIdentityService``: announce what this machine is, at start and on every reload."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message, SystemReload
from bussdcc.service import Service

from bussdcc_framework.message.system import SystemIdentityEvent

from .config import parse_hide
from .identity import discover

STATE_KEY = "system.identity"
#: How often the service thread wakes when periodic refresh is off (it has nothing to do).
IDLE_INTERVAL = 3600.0


class SystemIdentityService(Service):
    """Emit ``SystemIdentityEvent`` at start, store it at state ``system.identity``.

    It emits again on ``SystemReload`` (``SIGHUP`` under ``bussdcc run``), so a renamed host or
    an upgraded plugin shows up without a restart. With ``refresh`` > 0 it also re-reads every
    ``refresh`` seconds and emits only when something changed.

    ``root`` is the filesystem root to read (``/``; a fake tree in tests). ``hide`` names fields
    to withhold (e.g. ``("serial", "machine_id")``): they are blanked before the message is
    built, so they reach no sink, no recording and no state. An unknown name is a ``ValueError``.
    """

    name = "system_identity"
    interval = IDLE_INTERVAL
    restart = True
    critical = False

    def __init__(
        self,
        root: str | Path = "/",
        hide: Iterable[str] = (),
        *,
        refresh: float = 0.0,
        state_key: str = STATE_KEY,
    ) -> None:
        if refresh < 0:
            raise ValueError(f"identity refresh must not be negative, not {refresh}")
        self.root = Path(root)
        self.hide = parse_hide(hide)
        self.refresh = float(refresh)
        self.state_key = state_key
        self.interval = self.refresh if self.refresh > 0 else IDLE_INTERVAL
        self.current: SystemIdentityEvent | None = None
        """The identity last emitted."""
        self._lock = threading.RLock()

    def identify(self, ctx: ContextProtocol | None = None) -> SystemIdentityEvent:
        """Read the identity now (without emitting); uses the runtime's plugins when known."""
        plugins = getattr(getattr(ctx, "runtime", None), "plugins", None) if ctx else None
        extra: dict[str, str] = {}
        if ctx is not None:
            app_version = ctx.state.get("app.version")
            if isinstance(app_version, str) and app_version:
                extra["app"] = app_version
        return discover(self.root, self.hide, plugins=plugins, extra_versions=extra)

    def publish(
        self, ctx: ContextProtocol, identity: SystemIdentityEvent | None = None
    ) -> SystemIdentityEvent:
        """Read, store at ``state_key`` (before emitting, so listeners find it), then emit."""
        with self._lock:
            if identity is None:
                identity = self.identify(ctx)
            self.current = identity
            ctx.state.set(self.state_key, identity)
            ctx.emit(identity)
            return identity

    def start(self, ctx: ContextProtocol) -> None:
        self.publish(ctx)

    def tick(self, ctx: ContextProtocol) -> None:
        if self.refresh <= 0:
            return
        with self._lock:
            identity = self.identify(ctx)
            if identity != self.current:
                self.publish(ctx, identity)

    def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        if isinstance(evt.payload, SystemReload):
            self.publish(ctx)
