"""Recorded messages a replay does not re-emit, because the replay runtime emits its own.

A recording holds the lifecycle of the runtime that made it: booting, processes and services
starting and stopping, the web server listening. The replay runtime goes through its own
lifecycle and emits all of these itself; replaying the recorded ones as well would show every
lifecycle event twice (a defect of the original framework), and e.g. a test waiting for
``WebInterfaceStarted`` would get the port of a server that no longer exists.

Everything else, including errors, device status and the recorded system identity, is part
of the recorded history and is replayed.
"""

from __future__ import annotations

from bussdcc import message as kernel
from bussdcc.message import Message

from bussdcc_framework import message as framework

LIFECYCLE_TYPES: frozenset[type[Message]] = frozenset(
    {
        kernel.RuntimeBooting,
        kernel.RuntimeBooted,
        kernel.RuntimeShuttingDown,
        kernel.RuntimeShutdown,
        kernel.ProcessStarted,
        kernel.ProcessStopped,
        kernel.ServiceStarted,
        kernel.ServiceStopped,
        kernel.InterfaceStarted,
        kernel.InterfaceStopped,
        framework.FrameworkBooted,
        framework.FrameworkShuttingDown,
        framework.WebInterfaceStarted,
        framework.WebInterfaceStopped,
    }
)
"""The types ``ReplayRuntime`` skips by default (pass ``skip_types=`` to change)."""
