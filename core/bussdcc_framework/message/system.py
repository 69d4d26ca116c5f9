"""System identity (``bussdcc_framework.message.system``, as in the original 0.29).

The class lives in the core so that logs recorded with or without the identity plugin replay;
the identity plugin emits it. Fields added since 0.29 default to ``None``.
"""

from dataclasses import dataclass, field
from typing import ClassVar, Optional

from bussdcc.message import Message


@dataclass(slots=True, frozen=True)
class SystemIdentityEvent(Message):
    """Who and what this system is: host, hardware, OS and software versions."""

    #: What the console's human format shows, so the event fits on a terminal line; the JSON
    #: format, recordings and the web UI keep every field (``bussdcc identity`` prints them all).
    console_fields: ClassVar[tuple[str, ...]] = ("hostname", "model", "os", "arch", "python")

    hostname: Optional[str]
    model: Optional[str] = None
    serial: Optional[str] = None
    machine_id: Optional[str] = None
    os: Optional[str] = None
    os_release: Optional[str] = None
    kernel: Optional[str] = None
    arch: Optional[str] = None
    python: Optional[str] = None
    versions: dict[str, str] = field(default_factory=dict)
    #: Fields withheld on purpose (the ``identity.hide`` setting), so None there means "hidden".
    hidden: tuple[str, ...] = ()
