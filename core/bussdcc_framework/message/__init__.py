"""Messages the framework itself emits; their module paths match the original framework's."""

from .framework import ApplicationStarted, FrameworkBooted, FrameworkBootFailed, FrameworkShuttingDown
from .sink import SinkHandlerError
from .system import SystemIdentityEvent
from .web import WebInterfaceFailed, WebInterfaceStarted, WebInterfaceStopped

__all__ = [
    "ApplicationStarted",
    "FrameworkBootFailed",
    "FrameworkBooted",
    "FrameworkShuttingDown",
    "SinkHandlerError",
    "SystemIdentityEvent",
    "WebInterfaceFailed",
    "WebInterfaceStarted",
    "WebInterfaceStopped",
]
