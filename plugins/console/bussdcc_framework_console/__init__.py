"""bussdcc-framework plugin: every event on the console, as JSON lines or a coloured human format.

``from bussdcc_framework.io.console import ConsoleSink`` imports ``ConsoleSink`` from here.
Names are imported on first use (PEP 562), so plugin discovery, which imports this package for
every ``bussdcc`` command, does not pay for the formatters and the codec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bussdcc_framework.lazy import lazy_exports

if TYPE_CHECKING:
    from .config import ConsoleConfig
    from .filters import TypeFilter
    from .messages import ConsoleDropped
    from .sink import ConsoleSink

__all__ = ["ConsoleConfig", "ConsoleDropped", "ConsoleSink", "TypeFilter"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ConsoleConfig": ".config",
        "ConsoleDropped": ".messages",
        "ConsoleSink": ".sink",
        "TypeFilter": ".filters",
    },
)
