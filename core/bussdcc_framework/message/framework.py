"""Framework lifecycle messages (``bussdcc_framework.message.framework``, as in the original)."""

from dataclasses import dataclass
from typing import Optional

from bussdcc.message import Message, Severity


@dataclass(slots=True, frozen=True)
class FrameworkBooted(Message):
    """Emitted once per boot, after the kernel booted and every sink started.

    ``app`` names the application (what ``bussdcc run`` was given, e.g. ``greenhouse.py``), so
    that ``bussdcc events runs`` can say what each recorded run was; ``None`` when the runtime
    was not started by ``bussdcc run`` and in recordings older than 1.1 (it has a default, so
    they still decode).
    """

    version: str
    app: Optional[str] = None


@dataclass(slots=True, frozen=True)
class FrameworkShuttingDown(Message):
    """Emitted once per shutdown, before services, processes and sinks stop."""

    version: str
    reason: Optional[str] = None


@dataclass(slots=True, frozen=True)
class FrameworkBootFailed(Message):
    """Boot raised: what failed, so recordings and consoles show why the runtime stopped."""

    severity = Severity.CRITICAL

    version: str
    error: str
    traceback: Optional[str] = None
