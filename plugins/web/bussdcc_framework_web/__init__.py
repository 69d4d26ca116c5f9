"""bussdcc-framework plugin: live web interface over Flask and Socket.IO.

``WebInterface``, ``WebConfig``, ``emit`` and ``current_ctx`` are imported on first use
(PEP 562) so that importing this package (which the plugin entry point does) never imports
Flask: plugin discovery must stay cheap for every ``bussdcc`` command, web or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bussdcc_framework.lazy import lazy_exports

if TYPE_CHECKING:
    from .config import WebConfig
    from .context import current_ctx, emit
    from .interface import WebInterface

__all__ = ["WebConfig", "WebInterface", "current_ctx", "emit"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {"WebConfig": ".config", "WebInterface": ".interface", "emit": ".context", "current_ctx": ".context"},
)
