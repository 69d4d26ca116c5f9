"""The mqtt plugin's settings (``BUSSDCC_MQTT_*``) and the configuration built from them.

Off unless ``BUSSDCC_MQTT_URL`` is set. Every value is checked when settings are resolved
(URL shape, topic levels, ranges, choices), so ``MqttConfig.from_settings`` only assembles and
derives (the node id from the hostname, the client id from site and node, a password read from
its file). Importing this module is cheap: no paho, no sqlite, no thread.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from bussdcc_framework.settings import Setting as _Setting
from bussdcc_framework.settings import SettingError, Settings

from ._compat import declare as Setting
from ._compat import values_of
from .address import BrokerAddress, parse_address
from .topics import TopicError, check_level, check_prefix, slug

PLUGIN = "mqtt"

Mode = Literal["device", "collector", "both"]
MODES: tuple[Mode, ...] = get_args(Mode)

#: MQTT's keepalive and session expiry are 16- and 32-bit numbers of seconds.
MAX_KEEPALIVE = 65535
MAX_SESSION_EXPIRY = 2**32 - 1


def _url(value: str) -> str:
    if value.strip():
        parse_address(value)
    return value.strip()


def _level_or_empty(value: str) -> str:
    if value:
        try:
            check_level(value, "")
        except TopicError:
            raise ValueError(f"empty or only a-z, 0-9, '_' and '-', e.g. {_suggest(value)}") from None
    return value


def _level(value: str) -> str:
    try:
        return check_level(value, "")
    except TopicError:
        raise ValueError(f"only a-z, 0-9, '_' and '-', e.g. {_suggest(value)}") from None


def _suggest(value: str) -> str:
    try:
        return slug(value)
    except TopicError:
        return "greenhouse-3"


def _prefix(value: str) -> str:
    try:
        return check_prefix(value)
    except TopicError:
        raise ValueError(
            "levels of a-z, 0-9, '_' and '-' separated by '/', e.g. bussdcc or acme/farms"
        ) from None


def _whole_seconds(value: float) -> float:
    if value != int(value):
        raise ValueError("whole seconds, e.g. 30 or 1m")
    return value


SETTINGS: tuple[_Setting, ...] = (
    Setting(
        PLUGIN,
        "url",
        "str",
        "",
        "Broker URL: mqtt://HOST[:PORT], mqtts://HOST[:PORT] or unix:///PATH (empty: the plugin is off).",
        validator=_url,
    ),
    Setting(
        PLUGIN,
        "mode",
        "str",
        "device",
        "device: bridge this runtime's events to the broker; collector: record the fleet; both.",
        choices=MODES,
    ),
    Setting(
        PLUGIN, "node", "str", "", "This device's node id (empty: the hostname).", validator=_level_or_empty
    ),
    Setting(
        PLUGIN, "site", "str", "default", "The site this node belongs to (a topic level).", validator=_level
    ),
    Setting(PLUGIN, "prefix", "str", "bussdcc", "First level(s) of every topic.", validator=_prefix),
    Setting(PLUGIN, "qos", "int", 1, "MQTT quality of service for events (0, 1 or 2).", min=0, max=2),
    Setting(
        PLUGIN,
        "keepalive",
        "duration",
        30,
        "Seconds between pings; a silent link is noticed after about 1.5x this.",
        min=1,
        max=MAX_KEEPALIVE,
        validator=_whole_seconds,
    ),
    Setting(PLUGIN, "client_id", "str", "", "MQTT client id (empty: bussdcc-<site>-<node>)."),
    Setting(PLUGIN, "username", "str", "", "User name for the broker (empty: anonymous)."),
    Setting(PLUGIN, "password", "str", "", "Password for the broker.", secret=True),
    Setting(PLUGIN, "password_file", "path", None, "Read the password from this file (first line)."),
    Setting(PLUGIN, "tls_ca", "path", None, "CA certificate(s) to verify the broker (mqtts://)."),
    Setting(PLUGIN, "tls_cert", "path", None, "Client certificate, for brokers that require one."),
    Setting(PLUGIN, "tls_key", "path", None, "Private key of the client certificate."),
    Setting(PLUGIN, "include", "list", (), "Only bridge these message types (type patterns)."),
    Setting(PLUGIN, "exclude", "list", (), "Never bridge these message types (type patterns)."),
    Setting(PLUGIN, "outbox", "path", "mqtt-outbox", "Directory of the on-disk outbox and session counter."),
    Setting(
        PLUGIN,
        "outbox_max_size",
        "size",
        "256MB",
        "Drop the oldest unsent events beyond this size (0: no limit).",
        min=0,
    ),
    Setting(
        PLUGIN,
        "outbox_max_age",
        "duration",
        "7d",
        "Drop unsent events older than this (0: keep until sent).",
        min=0,
    ),
    Setting(
        PLUGIN,
        "inflight",
        "int",
        100,
        "Messages sent and not yet acknowledged at most (paho's default is 20).",
        min=1,
        max=65535,
    ),
    Setting(PLUGIN, "reconnect_min", "duration", 0.5, "First wait before reconnecting.", min=0.1),
    Setting(PLUGIN, "reconnect_max", "duration", 30, "Longest wait between reconnects (backoff).", min=0.1),
    Setting(
        PLUGIN,
        "session_expiry",
        "duration",
        "1d",
        "How long the broker keeps an offline client's session and queued messages.",
        min=0,
        max=MAX_SESSION_EXPIRY,
        validator=_whole_seconds,
    ),
    Setting(PLUGIN, "drain_timeout", "duration", 2, "At stop, how long to keep sending the backlog.", min=0),
    Setting(PLUGIN, "commands", "bool", True, "Accept commands (emittable message types only)."),
    Setting(
        PLUGIN,
        "homeassistant",
        "bool",
        False,
        "Publish Home Assistant MQTT discovery configs for numeric and boolean fields.",
    ),
    Setting(
        PLUGIN,
        "homeassistant_prefix",
        "str",
        "homeassistant",
        "Home Assistant's discovery prefix.",
        validator=_prefix,
    ),
    Setting(PLUGIN, "collect_dir", "path", "fleet", "Collector: record each node under DIR/<site>/<node>/."),
    Setting(
        PLUGIN,
        "collect_id",
        "str",
        "bussdcc-collector",
        "Collector: its client id (the broker keeps its session under it).",
        validator=_level,
    ),
    Setting(
        PLUGIN,
        "collect_interval",
        "duration",
        "10m",
        "Collector: start a new segment file every interval.",
        min=1,
    ),
)


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """Files for a TLS connection (``mqtts://``)."""

    ca: Path | None
    cert: Path | None
    key: Path | None


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """The ``mqtt.*`` settings of one run, with the derived values filled in."""

    address: BrokerAddress | None
    mode: Mode
    node: str
    site: str
    prefix: str
    qos: int
    keepalive: int
    client_id: str
    username: str | None
    password: str | None
    tls: TlsConfig | None
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    outbox: Path
    outbox_max_size: int
    outbox_max_age: float
    inflight: int
    reconnect_min: float
    reconnect_max: float
    session_expiry: int
    drain_timeout: float
    commands: bool
    homeassistant: bool
    homeassistant_prefix: str
    collect_dir: Path
    collect_id: str
    collect_interval: float

    @property
    def enabled(self) -> bool:
        """Whether a broker URL is set (the plugin does nothing without one)."""
        return self.address is not None

    @property
    def bridge(self) -> bool:
        """Whether this run bridges its events (mode device or both, and a URL)."""
        return self.enabled and self.mode in ("device", "both")

    @property
    def collect(self) -> bool:
        """Whether this run records the fleet (mode collector or both, and a URL)."""
        return self.enabled and self.mode in ("collector", "both")

    @classmethod
    def from_settings(cls, settings: Settings | None, **overrides: object) -> MqttConfig:
        """The configuration the resolved settings describe (defaults for what they lack).

        ``overrides`` replace raw values by short name (the ``fleet`` commands' options).
        """
        values = values_of(SETTINGS, settings)
        values.update(overrides)
        url = str(values["url"] or "")
        try:
            address = parse_address(url) if url else None
        except ValueError as exc:
            raise SettingError(f"mqtt.url={url!r} is not valid: expected {exc}") from None
        node = values["node"] or default_node()
        site = values["site"]
        client_id = values["client_id"] or f"bussdcc-{site}-{node}"
        password = values["password"] or None
        password_file = values["password_file"]
        if password_file is not None and password is None:
            password = read_password(Path(password_file))
        tls = None
        if (address is not None and address.tls) or values["tls_ca"] or values["tls_cert"]:
            tls = TlsConfig(values["tls_ca"], values["tls_cert"], values["tls_key"])
            if (tls.cert is None) != (tls.key is None):
                raise SettingError(
                    "mqtt.tls_cert and mqtt.tls_key go together: set both (BUSSDCC_MQTT_TLS_CERT, "
                    "BUSSDCC_MQTT_TLS_KEY) or neither"
                )
        if values["reconnect_max"] < values["reconnect_min"]:
            raise SettingError(
                f"mqtt.reconnect_max={values['reconnect_max']:g} is below mqtt.reconnect_min="
                f"{values['reconnect_min']:g}: raise reconnect_max"
            )
        return cls(
            address=address,
            mode=values["mode"],
            node=node,
            site=site,
            prefix=values["prefix"],
            qos=int(values["qos"]),
            keepalive=int(values["keepalive"]),
            client_id=client_id,
            username=values["username"] or None,
            password=password,
            tls=tls,
            include=tuple(values["include"]),
            exclude=tuple(values["exclude"]),
            outbox=Path(values["outbox"]),
            outbox_max_size=int(values["outbox_max_size"]),
            outbox_max_age=float(values["outbox_max_age"]),
            inflight=int(values["inflight"]),
            reconnect_min=float(values["reconnect_min"]),
            reconnect_max=float(values["reconnect_max"]),
            session_expiry=int(values["session_expiry"]),
            drain_timeout=float(values["drain_timeout"]),
            commands=bool(values["commands"]),
            homeassistant=bool(values["homeassistant"]),
            homeassistant_prefix=values["homeassistant_prefix"],
            collect_dir=Path(values["collect_dir"]),
            collect_id=values["collect_id"],
            collect_interval=float(values["collect_interval"]),
        )


def default_node() -> str:
    """The hostname as a topic level (``"Pi.local"`` -> ``"pi-local"``), ``"node"`` without one."""
    try:
        return slug(socket.gethostname())
    except TopicError:
        return "node"


def read_password(path: Path) -> str:
    """The first line of a password file; a ``SettingError`` naming the setting if unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SettingError(
            f"BUSSDCC_MQTT_PASSWORD_FILE={str(path)!r} cannot be read ({reason}): give a readable file"
        ) from None
    return text.splitlines()[0] if text else ""
