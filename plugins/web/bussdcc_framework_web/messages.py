"""The web plugin's messages: the web server started, stopped or failed.

They are defined in the core (``bussdcc_framework.message.web``), where the original framework
had them and where recordings name them, so that a recording replays (and its types import)
even where this plugin is not installed. This module is their home in the plugin's shape.
"""

from bussdcc_framework.message.web import WebInterfaceFailed, WebInterfaceStarted, WebInterfaceStopped

MESSAGE_TYPES = (WebInterfaceStarted, WebInterfaceStopped, WebInterfaceFailed)

__all__ = ["MESSAGE_TYPES", "WebInterfaceFailed", "WebInterfaceStarted", "WebInterfaceStopped"]
