"""Building paho clients the one way this plugin uses them: MQTT 5, the v2 callback API.

MQTT 5 because commands need message expiry (a stale "open the valve" must never run), response
topics and correlation data; the v2 callback API because paho 2.x deprecates the first one.
paho is imported here and in the modules that run clients, never by ``plugin.py`` or
``config.py``, so a runtime without a broker URL never pays for it.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import ssl
import stat
import threading
from typing import Any, Literal, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .address import BrokerAddress
from .config import TlsConfig

__all__ = [
    "PacketTypes",
    "Properties",
    "ReasonCode",
    "TlsAdvice",
    "TlsErrors",
    "Unreachable",
    "connect_properties",
    "make_client",
    "reason_text",
    "tls_advice",
    "unanswered",
    "unreachable",
    "unreachable_line",
]


def make_client(
    address: BrokerAddress,
    client_id: str,
    *,
    username: str | None = None,
    password: str | None = None,
    tls: TlsConfig | None = None,
    inflight: int = 100,
    reconnect_min: float = 1.0,
    reconnect_max: float = 30.0,
    connect_timeout: float = 5.0,
    manual_ack: bool = False,
) -> mqtt.Client:
    """A paho MQTT 5 client for ``address``, not yet connected (see ``connect_async``)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        transport=address.transport,
        reconnect_on_failure=True,
        manual_ack=manual_ack,
    )
    # How long the socket's connect() waits: a host that drops the SYN (a firewall, a full
    # listen backlog) times out after this instead of the kernel's minutes of retries.
    client.connect_timeout = connect_timeout
    client.max_inflight_messages_set(inflight)
    client.max_queued_messages_set(0)  # the bridge bounds what it hands over itself
    # Annotated as int, but paho only doubles and sleeps on these: fractions of a second work
    # (the fault tests reconnect through a link cut every few hundred milliseconds).
    client.reconnect_delay_set(reconnect_min, reconnect_max)  # type: ignore[arg-type]
    if username is not None:
        client.username_pw_set(username, password)
    if tls is not None:
        client.tls_set_context(tls.context)  # built (and checked) with the configuration
    return client


def connect_properties(session_expiry: int) -> Properties:
    """CONNECT properties: how long the broker keeps the session after a disconnect."""
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = session_expiry
    return props


def reason_text(reason: Any) -> str:
    """A readable reason from a paho reason code, error code or anything else."""
    if isinstance(reason, ReasonCode):
        return str(reason.getName())
    if isinstance(reason, int) and not isinstance(reason, bool):
        return str(mqtt.error_string(reason))
    return str(reason)


class TlsErrors(logging.Handler):
    """The last TLS error paho met on a client's socket, kept for one clear line about it.

    paho swallows the errors that end a connection: a refused handshake raises inside its
    network loop (``on_connect_fail`` gets no argument) and an alert read after the handshake
    (TLS 1.3: a broker refuses a client certificate only once the client has finished) is only
    logged. ``watch`` makes this handler paho's logger so the ``ssl.SSLError`` passed as a log
    argument is kept; ``take`` hands it over once. Without it a device refused for a missing or
    foreign certificate retries for ever and says nothing.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self._last: ssl.SSLError | None = None
        self._guard = threading.Lock()

    @classmethod
    def watch(cls, client: mqtt.Client) -> TlsErrors:
        """A handler fed by ``client``'s errors (a logger of its own: nothing global changes)."""
        handler = cls()
        logger = logging.Logger("bussdcc_framework_mqtt.paho", logging.ERROR)  # not registered
        logger.addHandler(handler)
        client.enable_logger(logger)
        return handler

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        for arg in args:
            if isinstance(arg, ssl.SSLError):
                self.keep(arg)

    def keep(self, error: BaseException | None) -> None:
        """Keep ``error`` if it is a TLS error (``on_connect_fail`` passes ``sys.exception()``)."""
        if isinstance(error, ssl.SSLError):
            with self._guard:
                self._last = error

    def take(self) -> ssl.SSLError | None:
        """The TLS error since the last ``take`` (None if there was none)."""
        with self._guard:
            last, self._last = self._last, None
        return last


#: OpenSSL reasons (alerts sent by the broker) meaning "your client certificate is not accepted".
_CERT_REFUSED = frozenset(
    {
        "TLSV1_ALERT_UNKNOWN_CA",
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
        "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        "SSLV3_ALERT_CERTIFICATE_REVOKED",
        "TLSV1_ALERT_DECRYPT_ERROR",
        "TLSV1_ALERT_ACCESS_DENIED",
    }
)
#: ... meaning "you sent no client certificate" (TLS 1.3 names it; TLS 1.2 says handshake failure).
_CERT_REQUIRED = frozenset({"TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_HANDSHAKE_FAILURE"})
#: X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
_NAME_MISMATCH = frozenset({62, 64})


class TlsAdvice(NamedTuple):
    """What went wrong in a TLS handshake: its ``kind`` (reported once) and the ``line`` to show."""

    kind: Literal["name", "untrusted", "cert_required", "cert_refused", "other"]
    line: str


def tls_advice(error: ssl.SSLError, address: BrokerAddress, tls: TlsConfig | None) -> TlsAdvice:
    """What went wrong in the TLS handshake with ``address`` and which setting fixes it.

    The broker's alert says little (``unknown ca``); the line names the setting and the file the
    user gave, so it is enough to act on. A broker that refuses a client certificate may close
    the connection before its alert arrives (the client sees only an EOF): before the MQTT
    answer that is the same refusal, told as likely, and of the same kind, so a device that
    sees both variants still prints one line.
    """
    reason = str(getattr(error, "reason", None) or "")
    cert = tls.cert if tls is not None else None
    detail = str(getattr(error, "verify_message", "") or _ssl_text(error))
    if isinstance(error, ssl.SSLCertVerificationError):
        if getattr(error, "verify_code", None) in _NAME_MISMATCH:
            return TlsAdvice(
                "name",
                f"the certificate of the broker {address} is not for {address.host} ({detail}); "
                "connect to a name or address the certificate lists (mqtt.url)",
            )
        ca = tls.ca if tls is not None and tls.ca is not None else "the system's CAs"
        return TlsAdvice(
            "untrusted",
            f"the certificate of the broker {address} is not trusted by {ca} ({detail}); set "
            "mqtt.tls_ca (BUSSDCC_MQTT_TLS_CA) to the CA that signed it",
        )
    refused = reason in _CERT_REQUIRED or reason in _CERT_REFUSED
    eof = isinstance(error, ssl.SSLEOFError) or reason == "UNEXPECTED_EOF_WHILE_READING"
    if refused or eof:
        what = f"the broker {address}" + (" " if refused else " ended the TLS connection: it probably ")
        if cert is None:
            return TlsAdvice(
                "cert_required",
                f"{what}requires a client certificate ({detail}); set mqtt.tls_cert and mqtt.tls_key "
                "(BUSSDCC_MQTT_TLS_CERT, BUSSDCC_MQTT_TLS_KEY) to a certificate signed by the "
                "broker's CA and its key",
            )
        return TlsAdvice(
            "cert_refused",
            f"{what}does not accept the client certificate {cert} ({detail}); set mqtt.tls_cert "
            "and mqtt.tls_key to a certificate signed by the CA the broker trusts (its cafile) "
            "and its key",
        )
    return TlsAdvice(
        "other",
        f"TLS with the broker {address} failed ({detail}); check mqtt.tls_ca, mqtt.tls_cert and "
        "mqtt.tls_key against the broker's listener",
    )


def _ssl_text(error: ssl.SSLError) -> str:
    """The readable part of an OpenSSL error (``tlsv13 alert certificate required``)."""
    text = str(error.args[1]) if len(error.args) > 1 else str(error)
    if text.startswith("[SSL"):
        text = text.split("]", 1)[-1]
    return text.split(" (_ssl.c", 1)[0].strip()


class Unreachable(NamedTuple):
    """Why the broker could not be reached: its ``kind`` (reported once) and the ``cause`` to show."""

    kind: str
    cause: str


def unreachable(error: BaseException | None, address: BrokerAddress) -> Unreachable | None:
    """Why connecting to ``address`` failed before TLS and MQTT began, or None.

    paho raises the socket's ``OSError`` inside its network loop and retries for ever, saying
    nothing: a wrong port, a stopped broker and a typo in the host name look alike from
    outside. The cause, in words, is what tells them apart. TLS errors (``ssl.SSLError`` is an
    ``OSError``) are ``tls_advice``'s business: None for them.
    """
    if not isinstance(error, OSError) or isinstance(error, ssl.SSLError):
        return None
    if isinstance(error, socket.gaierror):
        detail = error.strerror or str(error)
        return Unreachable("resolve", f"the host name {address.host} does not resolve: {detail}")
    if address.transport == "unix":
        why = _unix_unreachable(error, address.host)
        if why is not None:
            return why
    if isinstance(error, ConnectionRefusedError):
        listener = "socket" if address.transport == "unix" else "port"
        return Unreachable("refused", f"connection refused: nothing listens on that {listener}")
    if isinstance(error, TimeoutError):
        return Unreachable("timeout", "no answer to the connection attempt (timed out)")
    name = errno.errorcode.get(error.errno or 0, "error")
    return Unreachable(name.lower(), (error.strerror or str(error) or type(error).__name__).lower())


def _unix_unreachable(error: OSError, path: str) -> Unreachable | None:
    """The causes only a ``unix://`` path has: none there, not a socket, not this user's.

    Linux answers "connection refused" both for a socket nobody listens on and for a regular
    file or a directory: only the file's type tells "nothing listens" from "wrong path".
    """
    if isinstance(error, FileNotFoundError):
        return Unreachable("no_socket", f"no socket at {path}")
    if isinstance(error, NotADirectoryError):
        return Unreachable("no_socket", f"no socket at {path}: a part of that path is not a directory")
    if isinstance(error, PermissionError):
        return Unreachable(
            "permission",
            f"permission denied: this user may not connect to the socket {path} "
            "(it needs write access to it and search access to its directories)",
        )
    if isinstance(error, ConnectionRefusedError):
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return None
        if not stat.S_ISSOCK(mode):
            what = "a directory" if stat.S_ISDIR(mode) else "a file"
            return Unreachable("not_socket", f"{path} is {what}, not a socket")
    return None


def unanswered(answered: bool, reason: Any) -> Unreachable | None:
    """A connection the broker accepted but never answered (no CONNACK), or None.

    A broker that hangs (stopped, overloaded) still has its port open: the kernel accepts the
    connection, and paho gives up after the keepalive with "Keep alive timeout", as for a link
    lost later. Before the broker's answer, that is a broker that cannot be reached.
    """
    if answered or reason_text(reason) != "Keep alive timeout":
        return None
    return Unreachable(
        "no_answer", "it accepted the connection but sent no MQTT answer within mqtt.keepalive"
    )


def unreachable_line(why: Unreachable, address: BrokerAddress, setting: str, kept: str = "") -> str:
    """One line: the broker, the cause, the setting to check, and what happens to the events."""
    if why.kind == "resolve":
        check = f"check the host name in {setting} and the DNS"
    elif why.kind == "permission":
        check = f"check the socket's owner and mode (the broker's socket settings) or {setting}"
    elif why.kind == "not_socket":
        check = f"check the path in {setting} (the broker's socket)"
    else:
        check = f"check {setting} and that the broker runs"
    return f"cannot reach the broker {address} ({why.cause}); {check}" + (f"; {kept}" if kept else "")
