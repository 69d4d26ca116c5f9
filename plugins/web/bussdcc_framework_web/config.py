"""The web interface's configuration: the settings it declares and the checks made before binding.

Kept free of Flask imports: the plugin entry point declares these settings during discovery.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from bussdcc_framework.settings import Setting, Settings

PLUGIN = "web"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000


def declared_settings() -> list[Setting]:
    """Every ``web.*`` setting (``BUSSDCC_WEB_<NAME>`` in the environment)."""
    return [
        Setting(
            PLUGIN,
            "enabled",
            "bool",
            True,
            "Add the web interface to plugin-composed runtimes (bussdcc run).",
        ),
        Setting(
            PLUGIN,
            "host",
            "str",
            DEFAULT_HOST,
            "Address to bind; anything but loopback requires an access token.",
        ),
        Setting(PLUGIN, "port", "int", DEFAULT_PORT, "TCP port; 0 picks a free one."),
        Setting(
            PLUGIN,
            "token",
            "str",
            None,
            "Access token for pages, API and Socket.IO; generated when binding non-loopback.",
        ),
        Setting(
            PLUGIN,
            "origins",
            "list",
            (),
            "Extra origins allowed to open Socket.IO (same-origin is always allowed).",
        ),
        Setting(PLUGIN, "history", "int", 1000, "Recent events kept for /api/events and new pages."),
        Setting(
            PLUGIN,
            "client_buffer",
            "int",
            2000,
            "Events queued per live client before the oldest are dropped.",
        ),
        Setting(
            PLUGIN,
            "stall_timeout",
            "duration",
            10.0,
            "Disconnect a live client whose queue stays full this long.",
        ),
        Setting(PLUGIN, "max_request", "size", 1024 * 1024, "Largest request body accepted."),
        Setting(
            PLUGIN,
            "request_timeout",
            "duration",
            10.0,
            "Time a client has to send a request's headers, and again its body; also the longest "
            "a response write may take (slow or stalled clients are cut off).",
        ),
        Setting(
            PLUGIN,
            "max_connections",
            "int",
            100,
            "Open connections served at once (one thread each); more are refused with 503.",
        ),
        Setting(PLUGIN, "access_log", "bool", False, "Log every HTTP request (tokens redacted)."),
        Setting(PLUGIN, "title", "str", "bussdcc", "Title shown in the page header."),
    ]


class WebConfigError(ValueError):
    """The web interface's configuration is unusable (e.g. ``origins`` contains ``*``)."""


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class WebConfig:
    """Everything the web interface needs to serve; see ``declared_settings`` for meanings."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    origins: tuple[str, ...] = ()
    history: int = 1000
    client_buffer: int = 2000
    batch_size: int = 256
    window: int = 4
    stall_timeout: float = 10.0
    max_request_size: int = 1024 * 1024
    max_socket_message: int = 64 * 1024
    request_timeout: float = 10.0
    max_connections: int = 100
    state_interval: float = 0.05
    access_log: bool = False
    title: str = "bussdcc"
    token_generated: bool = False

    @classmethod
    def from_settings(cls, settings: Settings | None, **overrides: Any) -> WebConfig:
        """Build from resolved ``web.*`` settings; ``overrides`` that are not ``None`` win."""
        values: dict[str, Any] = {}
        if settings is not None:
            web = settings.for_plugin(PLUGIN)
            mapping = {
                "host": "host",
                "port": "port",
                "token": "token",
                "origins": "origins",
                "history": "history",
                "client_buffer": "client_buffer",
                "stall_timeout": "stall_timeout",
                "max_request": "max_request_size",
                "request_timeout": "request_timeout",
                "max_connections": "max_connections",
                "access_log": "access_log",
                "title": "title",
            }
            for key, attr in mapping.items():
                if key in web and web[key] is not None:
                    values[attr] = web[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "origins" in values:
            values["origins"] = _origins(values["origins"])
        return cls(**values).checked()

    def checked(self) -> WebConfig:
        """Validate; raise ``WebConfigError`` with a one-line reason."""
        if "*" in self.origins:
            raise WebConfigError(
                'web.origins must list origins such as "http://panel.local:8080"; "*" would let '
                "any web site drive this system and is refused"
            )
        for origin in self.origins:
            if "://" not in origin:
                raise WebConfigError(f"web.origins: {origin!r} is not an origin like http://host:port")
        if not 0 <= self.port <= 65535:
            raise WebConfigError(f"web.port {self.port} is outside 0-65535")
        if not 0.1 <= self.request_timeout <= 3600:
            raise WebConfigError(
                f"web.request_timeout must be from 0.1s to 3600s, got {self.request_timeout:g}s"
            )
        if not 1 <= self.max_connections <= 100_000:
            raise WebConfigError(f"web.max_connections must be from 1 to 100000, got {self.max_connections}")
        for name in ("history", "client_buffer", "batch_size", "window"):
            if getattr(self, name) < 1:
                raise WebConfigError(f"web.{name} must be at least 1, got {getattr(self, name)}")
        if self.token is not None and len(self.token) < 8:
            raise WebConfigError("web.token must be at least 8 characters long")
        return self

    def with_token_if_exposed(self) -> WebConfig:
        """A non-loopback bind without a token gets a generated one (``token_generated``)."""
        if self.token or is_loopback(self.host):
            return self
        return replace(self, token=secrets.token_urlsafe(24), token_generated=True)

    def normalized_origins(self) -> tuple[str, ...]:
        return tuple(o.rstrip("/").lower() for o in self.origins)


def first(*values: Any) -> Any:
    """The first value that is not ``None``."""
    for value in values:
        if value is not None:
            return value
    return None


def as_tuple(values: Iterable[str] | str | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    return _origins(values)


def _origins(values: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = values.split(",")
    return tuple(v.strip() for v in values if v.strip())
