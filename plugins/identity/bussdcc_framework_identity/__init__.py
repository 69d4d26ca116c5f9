"""bussdcc-framework plugin: the system identity service and the ``bussdcc identity`` command.

``from bussdcc_framework.service import SystemIdentityService`` imports it from here. Names are
imported on first use (PEP 562), so plugin discovery stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bussdcc_framework.lazy import lazy_exports

if TYPE_CHECKING:
    from .config import HIDEABLE, IdentityConfig
    from .identity import discover
    from .service import SystemIdentityService

__all__ = ["HIDEABLE", "IdentityConfig", "SystemIdentityService", "discover"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "HIDEABLE": ".config",
        "IdentityConfig": ".config",
        "SystemIdentityService": ".service",
        "discover": ".identity",
    },
)
