"""What pages and API share: overview, services and plugins as JSON-ready dicts."""

from __future__ import annotations

import platform
import socket
from datetime import UTC
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import msgspec

from bussdcc_framework.codec import format_time

from ..cut import cut

if TYPE_CHECKING:
    from ..interface import WebInterface


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def overview(interface: WebInterface) -> dict[str, Any]:
    """Identity, versions and uptime for the dashboard header cards."""
    ctx = interface.ctx
    replaying = interface.replay is not None
    identity: Any = ctx.state.get("system.identity") if ctx is not None else None
    if identity is None or replaying:
        # In a replay the identity service does not run: the recorded machine's identity is
        # the last SystemIdentityEvent replayed.
        identity = interface.identity if interface.identity is not None else identity
    if identity is not None and not isinstance(identity, dict):
        try:
            identity = msgspec.to_builtins(identity, str_keys=True, enc_hook=repr)
        except Exception:
            identity = {"hostname": str(identity)}
    ident: dict[str, Any] = identity if isinstance(identity, dict) else {}
    versions: dict[str, Any] = dict(ident.get("versions") or {})
    if replaying and ident:
        # The recorded machine's versions, not those of the machine replaying.
        versions.setdefault("python", ident.get("python"))
    else:
        versions.setdefault("bussdcc-framework", _version("bussdcc-framework"))
        versions.setdefault("bussdcc", _version("bussdcc"))
        versions.setdefault("python", platform.python_version())
    from datetime import datetime

    since = interface.booted_at or interface.started_at
    overview: dict[str, Any] = {
        "title": interface.config.title,
        "replaying": replaying,
        "recorded": replaying and bool(ident),
        "hostname": ident.get("hostname") or ("not recorded" if replaying else socket.gethostname()),
        "model": ident.get("model"),
        "os": " ".join(str(p) for p in (ident.get("os"), ident.get("os_release")) if p) or None,
        "arch": ident.get("arch") or (None if replaying else platform.machine()),
        "identity": bool(ident),
        "versions": {k: v for k, v in versions.items() if v},
        # What serves the page (the footer): in a replay not the recorded machine's versions.
        "software": {
            "bussdcc-framework": _version("bussdcc-framework") or "",
            "bussdcc": _version("bussdcc") or "",
        },
        "started": format_time(datetime.fromtimestamp(since, UTC)) if since else None,
        "uptime": interface.uptime(),
        "events_total": interface.history.total,
        "clients": len(interface.hub.channels()) if interface.hub is not None else 0,
    }
    # The identity is state any code may have set: cut like every other value that is shown.
    return cut(overview)  # type: ignore[no-any-return]


def services(interface: WebInterface) -> list[dict[str, Any]]:
    supervisor = getattr(getattr(interface.ctx, "runtime", None), "services", None)
    if supervisor is None:
        return []
    out = []
    for info in supervisor.statuses():
        out.append(
            {
                "name": info.name,
                "running": info.running,
                "enabled": info.enabled,
                "attached": info.attached,
                "interval": info.interval,
                "restart": info.restart,
                "critical": info.critical,
                "status": "running" if info.running else ("stopped" if info.enabled else "disabled"),
            }
        )
    return out


_MISSING = object()


def components(interface: WebInterface, kind: str) -> list[dict[str, Any]]:
    """The runtime's ``processes`` or ``interfaces``, each with its state, for the Services page.

    The kernel keeps no status for these: a process is running while it is attached (its
    ``ctx`` is set, as ``bussdcc.Process`` does from ``attach`` to ``detach``); one without a
    ``ctx`` attribute is running while the runtime is booted.
    """
    runtime = getattr(interface.ctx, "runtime", None)
    manager = getattr(runtime, kind, None)
    if manager is None:
        return []
    booted = bool(getattr(runtime, "booted", False))
    from_plugin = getattr(runtime, "from_plugin", None)
    out = []
    for part in manager.list():
        ctx = getattr(part, "ctx", _MISSING)
        running = booted if ctx is _MISSING else ctx is not None
        cls = type(part)
        out.append(
            {
                "name": str(getattr(part, "name", cls.__name__)),
                "class": f"{cls.__module__}:{cls.__qualname__}",
                "running": running,
                "status": "running" if running else "stopped",
                "origin": "plugin" if callable(from_plugin) and from_plugin(part) else "application",
            }
        )
    return out


def plugins(interface: WebInterface) -> list[dict[str, Any]]:
    pm = getattr(getattr(interface.ctx, "runtime", None), "plugins", None)
    if pm is None:
        from bussdcc_framework.plugins import load_plugins

        pm = load_plugins()
    return [cut(record.as_dict()) for record in pm.records.values()]
