"""Building paho clients the one way this plugin uses them: MQTT 5, the v2 callback API.

MQTT 5 because commands need message expiry (a stale "open the valve" must never run), response
topics and correlation data; the v2 callback API because paho 2.x deprecates the first one.
paho is imported here and in the modules that run clients, never by ``plugin.py`` or
``config.py``, so a runtime without a broker URL never pays for it.
"""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .address import BrokerAddress
from .config import TlsConfig

__all__ = ["PacketTypes", "Properties", "ReasonCode", "connect_properties", "make_client", "reason_text"]


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
