"""bussdcc-framework plugin: live web interface over Flask and Socket.IO.

``WebInterface``, ``emit`` and ``current_ctx`` are imported on first use so that importing
this package (which the plugin entry point does) never imports Flask: plugin discovery must
stay cheap for every ``bussdcc`` command, web or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import current_ctx, emit
    from .interface import WebInterface

__all__ = ["WebInterface", "current_ctx", "emit"]

_HOMES = {"WebInterface": ".interface", "emit": ".context", "current_ctx": ".context"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(home, __name__), name)
