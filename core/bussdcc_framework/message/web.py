"""Web interface messages (``bussdcc_framework.message.web``, as in the original)."""

from dataclasses import dataclass

from bussdcc.message import Message, Severity


@dataclass(slots=True, frozen=True)
class WebInterfaceStarted(Message):
    """The web server is listening; ``port`` is the real port, also when 0 was asked for."""

    host: str
    port: int


@dataclass(slots=True, frozen=True)
class WebInterfaceStopped(Message):
    """The web server stopped listening."""

    host: str
    port: int


@dataclass(slots=True, frozen=True)
class WebInterfaceFailed(Message):
    """The web server could not start (e.g. the port is in use)."""

    severity = Severity.CRITICAL

    host: str
    port: int
    error: str
