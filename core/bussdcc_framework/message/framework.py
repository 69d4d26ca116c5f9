"""Framework lifecycle messages (``bussdcc_framework.message.framework``, as in the original)."""

from dataclasses import dataclass
from typing import Optional

from bussdcc.message import Message, Severity


@dataclass(slots=True, frozen=True)
class FrameworkBooted(Message):
    """Emitted once per boot, after the kernel booted and every sink started."""

    version: str


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


@dataclass(slots=True, frozen=True)
class ApplicationStarted(Message):
    """The application a run runs, right after ``FrameworkBooted`` (new in 1.1).

    ``app`` is what ``bussdcc run`` was given (``greenhouse.py``, ``myapp:setup``), so that
    ``bussdcc events runs`` can say what each recorded run was. Emitted only when the runtime
    knows it (``Runtime.app_name``, set by ``bussdcc run``); ``FrameworkBooted`` itself keeps
    the original framework's fields, so its records are byte for byte what they were.
    """

    app: str
