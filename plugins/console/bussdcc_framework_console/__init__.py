"""bussdcc-framework plugin: every event on the console, as JSON lines or a coloured human format.

``from bussdcc_framework.io.console import ConsoleSink`` imports ``ConsoleSink`` from here.
"""

from .filters import TypeFilter
from .messages import ConsoleDropped
from .sink import ConsoleSink

__all__ = ["ConsoleDropped", "ConsoleSink", "TypeFilter"]
