"""The identity plugin's message: ``SystemIdentityEvent``.

It is defined in the core (``bussdcc_framework.message.system``), where the original framework
had it and where recordings name it, so that a recording replays (and its type imports) even
where this plugin is not installed. This module is its home in the plugin's shape.
"""

from bussdcc_framework.message.system import SystemIdentityEvent

MESSAGE_TYPES = (SystemIdentityEvent,)

__all__ = ["MESSAGE_TYPES", "SystemIdentityEvent"]
