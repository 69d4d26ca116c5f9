"""The web interface's configuration: the settings it declares and the checks made before binding.

Kept free of Flask imports: the plugin entry point declares these settings during discovery.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from bussdcc_framework.settings import Setting, Settings, known_variables, values_of

PLUGIN = "web"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
MIN_TOKEN_LENGTH = 8

# Read by the plugin's build (hatch_build.py), not a setting: not a misspelt one either.
known_variables("BUSSDCC_WEB_SKIP_VENDOR")


def check_origins(origins: tuple[str, ...]) -> tuple[str, ...]:
    """``web.origins``: full origins only; ``*`` is refused (any site could drive the system)."""
    if "*" in origins:
        raise ValueError(
            'origins such as "http://panel.local:8080"; "*" would let any web site drive this '
            "system and is refused"
        )
    for origin in origins:
        if "://" not in origin:
            raise ValueError(f"origins like http://host:port ({origin!r} is not one)")
    return origins


def check_token(token: str) -> str:
    """``web.token``: long enough not to be guessed in a few tries."""
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(f"a token of at least {MIN_TOKEN_LENGTH} characters")
    return token


SETTINGS: tuple[Setting, ...] = (
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
        cli="--host",
        cli_help="Address the web interface binds (web plugin).",
    ),
    Setting(
        PLUGIN,
        "port",
        "int",
        DEFAULT_PORT,
        "TCP port; 0 picks a free one.",
        min=0,
        max=65535,
        cli="--port",
        cli_help="Port the web interface listens on, 0 for any (web plugin).",
    ),
    Setting(
        PLUGIN,
        "token",
        "str",
        None,
        "Access token for pages, API and Socket.IO; generated when binding non-loopback.",
        validator=check_token,
        secret=True,
        cli="--token",
        cli_help="Access token the web interface requires (web plugin).",
    ),
    Setting(
        PLUGIN,
        "origins",
        "list",
        (),
        "Extra origins allowed to open Socket.IO (same-origin is always allowed).",
        validator=check_origins,
        cli="--origins",
        cli_metavar="URL[,URL...]",
        cli_help="Other origins allowed to use the web interface, comma-separated (web plugin).",
    ),
    Setting(PLUGIN, "history", "int", 1000, "Recent events kept for /api/events and new pages.", min=1),
    Setting(
        PLUGIN,
        "client_buffer",
        "int",
        2000,
        "Events queued per live client before the oldest are dropped.",
        min=1,
    ),
    Setting(
        PLUGIN,
        "stall_timeout",
        "duration",
        10.0,
        "Disconnect a live client whose queue stays full, or which leaves a packet "
        "unacknowledged, this long (0: never).",
        min=0,
    ),
    Setting(PLUGIN, "max_request", "size", "1M", "Largest request body accepted.", min=1),
    Setting(
        PLUGIN,
        "request_timeout",
        "duration",
        10.0,
        "Time a client has to send a request's headers, and again its body; also the longest "
        "a response write may take (slow or stalled clients are cut off).",
        min=0.1,
        max=3600,
    ),
    Setting(
        PLUGIN,
        "max_connections",
        "int",
        100,
        "Open connections served at once (one thread each); more are refused with 503.",
        min=1,
        max=100_000,
    ),
    Setting(PLUGIN, "access_log", "bool", False, "One line per HTTP request on stderr (tokens redacted)."),
    Setting(PLUGIN, "title", "str", "bussdcc", "Title shown in the page header."),
)
_DEFAULTS = {setting.name: setting.default for setting in SETTINGS}
_RANGES = {setting.name: (setting.min, setting.max) for setting in SETTINGS}


def is_enabled(settings: Settings | None) -> bool:
    """``web.enabled``: whether plugin-composed runtimes get a web interface."""
    return bool(values_of(SETTINGS, settings)["enabled"])


def declared_settings() -> list[Setting]:
    """Every ``web.*`` setting (``BUSSDCC_WEB_<NAME>`` in the environment)."""
    return list(SETTINGS)


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

    host: str = _DEFAULTS["host"]
    port: int = _DEFAULTS["port"]
    token: str | None = _DEFAULTS["token"]
    origins: tuple[str, ...] = _DEFAULTS["origins"]
    history: int = _DEFAULTS["history"]
    client_buffer: int = _DEFAULTS["client_buffer"]
    batch_size: int = 256
    window: int = 4
    stall_timeout: float = _DEFAULTS["stall_timeout"]
    max_request_size: int = _DEFAULTS["max_request"]
    max_socket_message: int = 64 * 1024
    request_timeout: float = _DEFAULTS["request_timeout"]
    max_connections: int = _DEFAULTS["max_connections"]
    #: State changes within this many seconds are pushed together (a burst is one push).
    state_interval: float = 0.05
    access_log: bool = _DEFAULTS["access_log"]
    title: str = _DEFAULTS["title"]
    token_generated: bool = False

    @classmethod
    def from_settings(cls, settings: Settings | None, **overrides: Any) -> WebConfig:
        """Build from resolved ``web.*`` settings; ``overrides`` that are not ``None`` win.

        Setting values were checked when they were resolved; ``checked()`` still guards the
        Python overrides.
        """
        web = values_of(SETTINGS, settings)
        values: dict[str, Any] = {
            "host": web["host"],
            "port": web["port"],
            "token": web["token"],
            "origins": web["origins"],
            "history": web["history"],
            "client_buffer": web["client_buffer"],
            "stall_timeout": web["stall_timeout"],
            "max_request_size": web["max_request"],
            "request_timeout": web["request_timeout"],
            "max_connections": web["max_connections"],
            "access_log": web["access_log"],
            "title": web["title"],
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["origins"] = _origins(values["origins"])
        return cls(**values).checked()

    def checked(self) -> WebConfig:
        """Validate values given from Python; raise ``WebConfigError`` with a one-line reason."""
        try:
            check_origins(self.origins)
            if self.token is not None:
                check_token(self.token)
        except ValueError as exc:
            raise WebConfigError(f"web: expected {exc}") from None
        if not 0 <= self.port <= 65535:
            raise WebConfigError(f"web.port {self.port} is outside 0-65535")
        for name in ("request_timeout", "max_connections"):  # the declared ranges, written once
            low, high = _RANGES[name]
            value = getattr(self, name)
            if (low is not None and value < low) or (high is not None and value > high):
                raise WebConfigError(f"web.{name} must be from {low:g} to {high:g}, got {value:g}")
        for name in ("history", "client_buffer", "batch_size", "window"):
            if getattr(self, name) < 1:
                raise WebConfigError(f"web.{name} must be at least 1, got {getattr(self, name)}")
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
