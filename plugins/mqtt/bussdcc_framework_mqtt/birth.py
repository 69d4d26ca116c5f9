"""What a node says about itself when it connects (the retained ``birth`` topic).

Versions (framework, kernel, each loaded plugin), the hostname, and the message types the
application accepts as commands with their fields (the fleet page builds its send form from
them). Read from the runtime at every connect, so a reload shows.
"""

from __future__ import annotations

import platform
import socket
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from bussdcc.context import ContextProtocol

from bussdcc_framework.version import get_version


def _kernel_version() -> str | None:
    try:
        return version("bussdcc")
    except PackageNotFoundError:
        return None


def birth_info(ctx: ContextProtocol | None) -> dict[str, Any]:
    """Identity, versions and command types of the runtime behind ``ctx``."""
    runtime = getattr(ctx, "runtime", None)
    plugins: dict[str, str | None] = {}
    manager = getattr(runtime, "plugins", None)
    if manager is not None:
        for record in manager.loaded():
            plugins[record.name] = record.version
    info: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "python": platform.python_version(),
        "versions": {"framework": get_version(), "kernel": _kernel_version(), "plugins": plugins},
        "types": [],
    }
    return info
