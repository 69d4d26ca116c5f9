"""The greenhouse's web page, as an in-process plugin.

An application does not need an entry point to use hooks: ``app.setup`` registers this module
with ``bussdcc_framework.plugins.register_plugin``, and the web plugin calls
``register_routes`` while it builds its Flask app. (The message types need no plugin:
``setup`` declares them with ``runtime.add_message_types``.)
"""

from __future__ import annotations

from typing import Any

from bussdcc.context import ContextProtocol

from bussdcc_framework import hookimpl

PLUGIN_NAME = "greenhouse"


@hookimpl
def register_routes(app: Any, ctx: ContextProtocol) -> None:
    # Imported here: Flask is only needed once the web interface starts.
    from .web import add_routes

    add_routes(app, ctx)
