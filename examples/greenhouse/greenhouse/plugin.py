"""The greenhouse as an in-process plugin: its message types and its web page.

An application does not need an entry point to use hooks: ``app.setup`` registers this module
with ``bussdcc_framework.plugins.register_plugin``. The web plugin then calls
``register_routes`` while it builds its Flask app, and lists ``SwitchPump`` on its "send a
message" page because it is declared by ``register_message_types``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bussdcc.context import ContextProtocol
from bussdcc.message import Message

from bussdcc_framework import hookimpl

from .messages import MESSAGE_TYPES

PLUGIN_NAME = "greenhouse"


@hookimpl
def register_message_types() -> Iterable[type[Message]]:
    return MESSAGE_TYPES


@hookimpl
def register_routes(app: Any, ctx: ContextProtocol) -> None:
    # Imported here: Flask is only needed once the web interface starts.
    from .web import add_routes

    add_routes(app, ctx)
