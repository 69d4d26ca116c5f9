"""Broker addresses: ``mqtt://host[:port]``, ``mqtts://host[:port]`` (TLS) or ``unix:///path``.

Parsed once, when settings are resolved, so a typo stops start-up with one line instead of a
bridge that retries a wrong address forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Scheme = Literal["mqtt", "mqtts", "unix"]
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
EXPECTED = "mqtt://HOST[:PORT], mqtts://HOST[:PORT] or unix:///PATH, e.g. mqtt://broker.local:1883"


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker listens."""

    scheme: Scheme
    host: str  # the socket path for unix
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme == "mqtts"

    @property
    def transport(self) -> Literal["tcp", "unix"]:
        return "unix" if self.scheme == "unix" else "tcp"

    def __str__(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.host}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse_address(url: str) -> BrokerAddress:
    """Parse a broker URL; ``ValueError`` with what is expected (for the settings' validator)."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(EXPECTED) from None
    scheme = parts.scheme.lower()
    if scheme == "unix":
        path = parts.path if not parts.netloc else None
        if not path or not path.startswith("/"):
            raise ValueError("unix:///ABSOLUTE/PATH (three slashes), e.g. unix:///run/mosquitto/mqtt.sock")
        return BrokerAddress("unix", path, 1)
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(EXPECTED)
    if parts.username or parts.password:
        raise ValueError(EXPECTED + " (no user or password in the URL: use mqtt.username/mqtt.password)")
    return BrokerAddress(scheme, parts.hostname, port or DEFAULT_PORTS[scheme])  # type: ignore[arg-type]
