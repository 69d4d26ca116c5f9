"""The Origin check is an exact match, for HTTP requests that change something and for Socket.IO.

An allowed origin is ``scheme://host[:port]`` exactly (scheme and host compare without case, as
RFC 6454 serializes them; a trailing ``/`` is tolerated). Anything that merely starts with an
allowed origin, or differs in scheme, port or host, or carries a path, is refused: a prefix
match would let ``http://panel.example:8080.evil.com`` drive the system.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import websocket
from bussdcc.message import Message
from bussdcc.runtime import Runtime as KernelRuntime
from bussdcc_framework_web import WebInterface

ALLOWED = "http://panel.example:8080"

#: Origins that must be refused when only ALLOWED (and the same origin) is allowed.
FOREIGN = [
    "http://panel.example:8080.evil.com",  # starts with the allowed origin
    "http://panel.example:80801",  # so does this one: another port
    "http://panel.example:8080x",
    "http://panel.example:8080X",  # stripping anything but a trailing "/" would accept these
    "http://panel.example:8080/X",
    "http://panel.example:8081",  # another port
    "http://panel.example",  # no port: 80, not 8080
    "https://panel.example:8080",  # another scheme
    "ws://panel.example:8080",
    "http://sub.panel.example:8080",  # another host
    "http://anel.example:8080",
    "http://panel.example:8080/evil",  # a path: not an origin at all
    "http://panel.example:8080/http://panel.example:8080",
    "http://evil.example/http://panel.example:8080",
    "http://panel.example:8080@evil.example",
    "null",  # sandboxed frames and file:// pages
    "",
]

#: The same origin written differently: scheme and host without case, a trailing slash.
SAME = [ALLOWED, ALLOWED + "/", "HTTP://Panel.Example:8080", "http://PANEL.example:8080/"]


def built(types: SimpleNamespace, **options: Any) -> Any:
    """A test client of the web app, on a kernel runtime, without a server."""
    runtime = KernelRuntime()
    web = WebInterface(message_types=[types.Ping], **options)
    runtime.processes.register(web)
    web.attach(runtime.ctx)
    app = web.create_app(runtime.ctx)
    runtime._sub = runtime.events.subscribe(Message, runtime._dispatch)
    return app.test_client()


def emit_with_origin(client: Any, origin: str) -> Any:
    return client.post("/api/emit", json={"type": "Ping", "data": {"count": 1}}, headers={"Origin": origin})


@pytest.mark.parametrize("origin", FOREIGN)
def test_http_refuses_an_origin_that_is_not_exactly_an_allowed_one(
    types: SimpleNamespace, origin: str
) -> None:
    client = built(types, origins=[ALLOWED])
    response = emit_with_origin(client, origin)
    assert response.status_code == 403, origin
    assert response.get_json()["error"] == "origin_not_allowed"


@pytest.mark.parametrize("origin", SAME)
def test_http_accepts_the_allowed_origin_however_it_is_cased(types: SimpleNamespace, origin: str) -> None:
    client = built(types, origins=[ALLOWED])
    assert emit_with_origin(client, origin).status_code == 202


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("http://localhost", 202),  # the test client's own origin (Host: localhost)
        ("http://LOCALHOST/", 202),
        ("http://localhost.evil.example", 403),
        ("http://localhost:1", 403),
        ("https://localhost", 403),
        ("http://localhost/evil", 403),
    ],
)
def test_http_same_origin_is_exact_too(types: SimpleNamespace, origin: str, status: int) -> None:
    client = built(types)  # no web.origins: only the same origin
    assert emit_with_origin(client, origin).status_code == status, origin


def socketio_handshake(url: str, origin: str) -> int:
    """Open Socket.IO's WebSocket transport with ``origin``: 101 when accepted, else the status."""
    ws_url = url.replace("http://", "ws://") + "socket.io/?EIO=4&transport=websocket"
    try:
        ws = websocket.create_connection(ws_url, origin=origin, timeout=10)
    except websocket.WebSocketBadStatusException as refused:
        return int(refused.status_code)
    try:
        assert ws.recv().startswith("0")  # Engine.IO open
    finally:
        ws.close()
    return 101


def test_socketio_accepts_exactly_the_allowed_and_the_same_origin(start_live: Any) -> None:
    live = start_live(origins=[ALLOWED], ticker=False)
    own = live.url.rstrip("/")  # http://127.0.0.1:PORT
    port = own.rsplit(":", 1)[1]
    for origin in [*SAME, own, own + "/"]:
        assert socketio_handshake(live.url, origin) == 101, origin
    for origin in [
        *(o for o in FOREIGN if o),  # websocket-client sends no Origin header for ""
        own + ".evil.example",
        own + "0",
        own.replace("http://", "https://"),
        f"http://127.0.0.2:{port}",
        own + "/evil",
    ]:
        assert socketio_handshake(live.url, origin) == 400, origin
