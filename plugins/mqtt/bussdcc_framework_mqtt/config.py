"""The mqtt plugin's settings (``BUSSDCC_MQTT_*``) and the configuration built from them.

Off unless ``BUSSDCC_MQTT_URL`` is set. Every value is declared once here with its constraints
(URL scheme, topic levels, ranges, choices, readable files) and checked when settings are
resolved, so a wrong ``BUSSDCC_MQTT_*`` or ``--set mqtt.x=`` stops ``bussdcc run`` and
``bussdcc fleet collect`` with exit 2 and one line naming it. ``MqttConfig.from_settings``
only assembles and derives (the node id from the hostname, the client id from site and node,
a password read from its file, the TLS context), checking the few rules that span two settings.
Importing this module is cheap: no paho, no ssl, no sqlite, no thread.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from bussdcc_framework.settings import Setting, SettingError, Settings, values_of, written

from .address import BrokerAddress, parse_address
from .topics import TopicError, check_level, check_prefix, slug

if TYPE_CHECKING:
    import ssl

PLUGIN = "mqtt"

Mode = Literal["device", "collector", "both"]
MODES: tuple[Mode, ...] = get_args(Mode)

#: MQTT's keepalive and session expiry are 16- and 32-bit numbers of seconds.
MAX_KEEPALIVE = 65535
MAX_SESSION_EXPIRY = 2**32 - 1
#: The longest wait between reconnects anyone needs (paho doubles up to it).
MAX_RECONNECT = 3600
#: MQTT allows 65535 bytes; brokers and logs are happier with far less.
MAX_CLIENT_ID = 256


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


def _client_id(value: str) -> str:
    # Brokers log client ids and ACLs match them (%c): no spaces or control characters.
    if value and (len(value) > MAX_CLIENT_ID or not value.isprintable() or any(c.isspace() for c in value)):
        raise ValueError(
            f"empty or up to {MAX_CLIENT_ID} printable characters without spaces, e.g. bussdcc-gh3"
        )
    return value


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("printable characters only")
    return value


def _readable_file(value: Path) -> Path:
    # Checked now, not when the bridge connects: a typo in a certificate path would otherwise
    # make a device retry for ever with one line in its log.
    if not value.exists():
        raise ValueError("a readable file (there is none at that path)")
    if not value.is_file():
        raise ValueError("a readable file (that path is not a file)")
    if not os.access(value, os.R_OK):
        raise ValueError("a readable file (this user may not read it)")
    return value


SETTINGS: tuple[Setting, ...] = (
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
        PLUGIN,
        "node",
        "str",
        "",
        "This device's node id, a topic level [a-z0-9_-] (empty: the hostname).",
        validator=_level_or_empty,
    ),
    Setting(
        PLUGIN,
        "site",
        "str",
        "default",
        "The site this node belongs to, a topic level [a-z0-9_-].",
        validator=_level,
    ),
    Setting(
        PLUGIN,
        "prefix",
        "str",
        "bussdcc",
        "First level(s) of every topic, e.g. bussdcc or acme/farms.",
        validator=_prefix,
    ),
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
    Setting(
        PLUGIN,
        "connect_timeout",
        "duration",
        5,
        "How long a connection attempt waits for the broker's host to answer (paho's default).",
        min=0.1,
        max=MAX_RECONNECT,
    ),
    Setting(
        PLUGIN,
        "client_id",
        "str",
        "",
        "MQTT client id (empty: bussdcc-<site>-<node>).",
        validator=_client_id,
    ),
    Setting(
        PLUGIN,
        "username",
        "str",
        "",
        "User name for the broker (empty: anonymous).",
        validator=_printable,
    ),
    Setting(PLUGIN, "password", "str", "", "Password for the broker.", secret=True),
    Setting(
        PLUGIN,
        "password_file",
        "path",
        None,
        "Read the password from this file (first line); mqtt.password wins.",
        validator=_readable_file,
    ),
    Setting(
        PLUGIN,
        "tls_ca",
        "path",
        None,
        "CA certificate(s) (PEM) to verify the broker (mqtts://; empty: the system's CAs).",
        validator=_readable_file,
    ),
    Setting(
        PLUGIN,
        "tls_cert",
        "path",
        None,
        "Client certificate (PEM), for brokers that require one (with mqtt.tls_key).",
        validator=_readable_file,
    ),
    Setting(
        PLUGIN,
        "tls_key",
        "path",
        None,
        "Private key (PEM) of the client certificate.",
        validator=_readable_file,
    ),
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
    Setting(
        PLUGIN,
        "reconnect_min",
        "duration",
        0.5,
        "First wait before reconnecting (doubled up to mqtt.reconnect_max).",
        min=0.1,
        max=MAX_RECONNECT,
    ),
    Setting(
        PLUGIN,
        "reconnect_max",
        "duration",
        30,
        "Longest wait between reconnects (backoff).",
        min=0.1,
        max=MAX_RECONNECT,
    ),
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
    Setting(
        PLUGIN,
        "drain_timeout",
        "duration",
        2,
        "At stop, how long to keep sending the backlog.",
        min=0,
        max=MAX_RECONNECT,
    ),
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
_DECLARED = {s.name: s for s in SETTINGS}


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """Files for a TLS connection (``mqtts://``) and the context made from them.

    The context is built (files read, certificate and key matched) when the configuration is,
    so a wrong file stops start-up instead of failing every connection attempt.
    """

    ca: Path | None
    cert: Path | None
    key: Path | None
    context: ssl.SSLContext = field(compare=False, repr=False)


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
    connect_timeout: float
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
    def from_settings(cls, settings: Settings | None) -> MqttConfig:
        """The configuration the resolved settings describe (defaults for what they lack).

        Values are checked already; what is left are the rules spanning two settings and the
        files (password, TLS), each a ``SettingError`` naming the setting as the user set it.
        """
        values = values_of(SETTINGS, settings)
        where = _Origins(settings)
        url = values["url"]
        address = parse_address(url) if url else None
        node = values["node"] or default_node()
        site = values["site"]
        if values["reconnect_max"] < values["reconnect_min"]:
            raise SettingError(
                f"{where('reconnect_max')} is below {where('reconnect_min')}: "
                "raise mqtt.reconnect_max or lower mqtt.reconnect_min"
            )
        password = values["password"] or None
        if password is None and values["password_file"] is not None:
            password = read_password(values["password_file"], where("password_file"))
        tls = None
        files = [name for name in ("tls_ca", "tls_cert", "tls_key") if values[name] is not None]
        if address is not None and not address.tls and files:
            raise SettingError(
                f"{where(files[0])} is set but {where('url')} is not TLS: use mqtts://, or drop "
                f"mqtt.{files[0]}"
            )
        if (address is not None and address.tls) or files:
            tls = tls_config(values["tls_ca"], values["tls_cert"], values["tls_key"], where)
        return cls(
            address=address,
            mode=values["mode"],
            node=node,
            site=site,
            prefix=values["prefix"],
            qos=int(values["qos"]),
            keepalive=int(values["keepalive"]),
            connect_timeout=float(values["connect_timeout"]),
            client_id=values["client_id"] or f"bussdcc-{site}-{node}",
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

    @classmethod
    def of(cls, **values: Any) -> MqttConfig:
        """A configuration from Python values by short name (benchmarks, tests, embedding).

        Each value is checked like a setting (``SettingError`` otherwise); the others are the
        defaults. The environment is not read.
        """
        overrides = {f"{PLUGIN}.{name}": value for name, value in values.items()}
        return cls.from_settings(Settings.from_declarations(SETTINGS, overrides, environ={}))


class _Origins:
    """How the user set a setting, for messages: ``BUSSDCC_MQTT_X=v``, ``--set mqtt.x=v``..."""

    def __init__(self, settings: Settings | None) -> None:
        self._resolved = {r.setting.key: r for r in settings.resolved()} if settings is not None else {}

    def __call__(self, name: str) -> str:
        setting = _DECLARED[name]
        resolved = self._resolved.get(setting.key)
        if resolved is None or resolved.source == "default":
            shown = setting.shown(setting.default)
            return f"{setting.key}={shown} (the default)"
        if resolved.origin is not None:
            return resolved.origin if not setting.secret else f"{setting.env_var}=***"
        return written(f"{setting.key}=", str(setting.shown(resolved.value)))


def tls_config(ca: Path | None, cert: Path | None, key: Path | None, where: _Origins) -> TlsConfig:
    """The TLS files and their context; a ``SettingError`` naming the file that is wrong."""
    import ssl

    if (cert is None) != (key is None):
        given, missing = ("tls_cert", "tls_key") if key is None else ("tls_key", "tls_cert")
        raise SettingError(
            f"{where(given)} needs mqtt.{missing} (BUSSDCC_MQTT_{missing.upper()}) too: "
            "a client certificate goes with its private key; set both or neither"
        )
    try:
        context = ssl.create_default_context(cafile=str(ca) if ca is not None else None)
    except (ssl.SSLError, OSError) as exc:
        raise SettingError(
            f"{where('tls_ca')} is not valid: expected PEM CA certificate(s) ({_ssl_reason(exc)})"
        ) from None
    if cert is not None and key is not None:
        asked: list[bool] = []

        def no_passphrase() -> bytes:
            # Without a callback OpenSSL prompts on the terminal: start-up would hang (or print
            # a prompt and fail with "Invalid argument" when there is none).
            asked.append(True)
            return b""

        try:
            context.load_cert_chain(str(cert), str(key), password=no_passphrase)
        except (ssl.SSLError, OSError) as exc:
            if asked:
                raise SettingError(
                    f"{where('tls_key')} is encrypted (it needs a passphrase): give the key "
                    "unencrypted, readable only by this user (openssl pkey -in KEY -out KEY.plain)"
                ) from None
            raise SettingError(
                f"{where('tls_cert')} with {where('tls_key')} is not valid: expected a PEM "
                f"certificate and its unencrypted private key ({_ssl_reason(exc)})"
            ) from None
    return TlsConfig(ca, cert, key, context)


def _ssl_reason(exc: Exception) -> str:
    return str(getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc)


def default_node() -> str:
    """The hostname as a topic level (``"Pi.local"`` -> ``"pi-local"``), ``"node"`` without one."""
    try:
        return slug(socket.gethostname())
    except TopicError:
        return "node"


def read_password(path: Path, origin: str) -> str:
    """The first line of a password file; a ``SettingError`` naming the setting if unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SettingError(f"{origin} cannot be read ({reason}): give a readable UTF-8 file") from None
    return text.splitlines()[0] if text else ""
