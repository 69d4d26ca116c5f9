"""bussdcc-framework plugin: the system identity service and the ``bussdcc identity`` command.

``from bussdcc_framework.service import SystemIdentityService`` imports it from here.
"""

from .identity import HIDEABLE, discover
from .service import SystemIdentityService

__all__ = ["HIDEABLE", "SystemIdentityService", "discover"]
