"""Socket.IO handlers: authenticate on connect, send a snapshot, then live batches.

Socket.IO events bypass Flask's ``before_request``, so the token and Host checks are repeated
in ``connect``; refusing raises ``ConnectionRefusedError`` whose message the client receives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import request
from flask_socketio import ConnectionRefusedError, SocketIO  # type: ignore[import-untyped]

from ..auth import host_allowed, token_matches
from ..fastjson import raw
from ..filters import EventFilter, FilterError
from . import data
from .api import newest_within

if TYPE_CHECKING:
    from ..interface import WebInterface

SNAPSHOT_EVENTS = 200
#: A snapshot holds the newest matching events up to this size, and state up to this size.
SNAPSHOT_EVENT_BYTES = 512 * 1024
SNAPSHOT_STATE_BYTES = 512 * 1024


def install(socketio: SocketIO, interface: WebInterface) -> None:
    config = interface.config

    def connect(auth: Any = None) -> None:
        auth = auth if isinstance(auth, dict) else {}
        if not host_allowed(config, request.host):
            raise ConnectionRefusedError(f"Host {request.host!r} is not a loopback name")
        token = auth.get("token")
        if not token_matches(config.token, token):
            raise ConnectionRefusedError(
                "access token required" if token is None else "access token is wrong"
            )
        try:
            flt = EventFilter.parse(auth.get("types"), auth.get("severity"))
        except FilterError as exc:
            raise ConnectionRefusedError(f"bad filter: {exc}") from None
        sid: str = request.sid  # type: ignore[attr-defined]
        hub, mirror = interface.hub, interface.watcher
        assert hub is not None and mirror is not None
        channel = hub.add(sid, flt, 0)
        last = interface.history.last_seq()
        sock = request.environ.get("werkzeug.socket")
        if request.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            interface.remember_socket(sid, sock)
        events = [e for e in interface.history.query(flt, None, SNAPSHOT_EVENTS) if e["seq"] <= last]
        mirror.poll()
        state, state_cut = mirror.leaves(SNAPSHOT_STATE_BYTES)
        # Encoded once here, so its size is known: it counts against the client's window
        # like a batch, until the client acknowledges it (or any later packet).
        snapshot = raw(
            {
                "events": newest_within(events, SNAPSHOT_EVENT_BYTES)[0],
                "state": state,
                "state_truncated": state_cut,
                "state_unavailable": mirror.unavailable,
                "rates": interface.rates.series(),
                "overview": data.overview(interface),
                "filter": flt.describe(),
                "buffer": config.client_buffer,
            }
        )
        packet = channel.sent(len(snapshot))
        socketio.emit("snapshot", snapshot, to=sid, callback=hub.acker(channel, packet))
        channel.activate(last)
        hub.kick()

    def disconnect(reason: Any = None) -> None:
        sid: str = request.sid  # type: ignore[attr-defined]
        if interface.hub is not None:
            interface.hub.remove(sid)
        interface.forget_socket(sid)

    def subscribe(message: Any = None) -> dict[str, Any]:
        """Change this client's server-side filter; the answer holds the matching recent events."""
        message = message if isinstance(message, dict) else {}
        try:
            flt = EventFilter.parse(message.get("types"), message.get("severity"))
        except FilterError as exc:
            return {"ok": False, "error": str(exc)}
        sid: str = request.sid  # type: ignore[attr-defined]
        channel = interface.hub.get(sid) if interface.hub is not None else None
        if channel is None:
            return {"ok": False, "error": "not connected"}
        with channel.lock:
            last = interface.history.last_seq()
            channel.filter = flt
            channel.queue.clear()
            channel.after_seq = last
        events = [e for e in interface.history.query(flt, None, SNAPSHOT_EVENTS) if e["seq"] <= last]
        return {"ok": True, "filter": flt.describe(), "events": events}

    # Registered with calls rather than decorators: Flask-SocketIO ships no type hints.
    socketio.on_event("connect", connect)
    socketio.on_event("disconnect", disconnect)
    socketio.on_event("subscribe", subscribe)
