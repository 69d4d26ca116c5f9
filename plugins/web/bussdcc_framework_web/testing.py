"""pytest fixtures for authors of plugins with web pages: the app and its live push, no port.

Loaded by pytest through the web plugin's ``pytest11`` entry point, so a plugin's tests use
them without a ``conftest.py``:

* ``make_web_app(*plugins, settings=None, environ=None, token=None, message_types=(), ...)``:
  a booted runtime of exactly those plugins (the core's ``make_runtime``) with a web interface
  whose app holds their ``register_routes`` pages, served to a Flask test client and
  Flask-SocketIO test clients instead of a socket. Live push runs: events and state changes
  reach the Socket.IO test clients as they would reach a browser.

This module is imported by every pytest run where the web plugin is installed, so it imports
neither Flask nor the interface at module level; the fixture does, when a test asks for it.
See ``docs/testing-plugins.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Optional

import pytest
from bussdcc.message import Message

if TYPE_CHECKING:
    from flask.testing import FlaskClient
    from flask_socketio.test_client import SocketIOTestClient  # type: ignore[import-untyped]

    from bussdcc_framework.runtime import Runtime

    from .interface import WebInterface

__all__ = ["WebTestApp", "make_web_app"]


class WebTestApp:
    """A runtime with a web interface served in-process: ``client``, ``socketio_client()``.

    ``client`` is a Flask test client that sends the token (when one is set) like the pages do,
    as ``Authorization: Bearer``; ``socketio_client()`` connects a Flask-SocketIO test client,
    whose first received message is the ``snapshot`` and then live ``batch`` messages.
    """

    def __init__(self, runtime: Runtime, web: WebInterface, token: str | None) -> None:
        self.runtime = runtime
        self.web = web
        self.token = token
        assert web.app is not None and web.socketio is not None
        self.app = web.app
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client: FlaskClient = web.app.test_client()
        if headers:
            self.client.environ_base.update({"HTTP_AUTHORIZATION": headers["Authorization"]})
        self._sockets: list[SocketIOTestClient] = []

    def emit(self, message: Message) -> None:
        """Emit ``message`` into the runtime (as the application would)."""
        self.runtime.ctx.emit(message)

    def socketio_client(
        self, *, types: Optional[Iterable[str]] = None, severity: Optional[str] = None, **auth: Any
    ) -> SocketIOTestClient:
        """A connected Flask-SocketIO test client (filters as the pages send them; the token)."""
        payload: dict[str, Any] = dict(auth)
        if self.token is not None:
            payload.setdefault("token", self.token)
        if types is not None:
            payload["types"] = list(types)
        if severity is not None:
            payload["severity"] = severity
        assert self.web.socketio is not None
        client = self.web.socketio.test_client(self.app, auth=payload)
        self._sockets.append(client)
        return client

    def wait_for_push(
        self,
        client: SocketIOTestClient,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """The first ``batch`` received by ``client`` for which ``predicate(batch)`` is true.

        Batches are sent by the interface's push thread, so this waits (up to ``timeout``)
        instead of sleeping. It only looks: what was received stays for ``get_received()``,
        and a batch that arrived before the call is found too.
        """
        deadline = time.monotonic() + timeout
        while True:
            batches = [
                item["args"][0]
                for item in list(client.queue)
                if item["name"] == "batch" and item["namespace"] == "/"
            ]
            for batch in batches:
                if predicate(batch):
                    return batch  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching batch within {timeout}s ({len(batches)} batches seen)")
            time.sleep(0.01)

    def close(self) -> None:
        for client in self._sockets:
            if client.is_connected():
                client.disconnect()
        self._sockets.clear()


@pytest.fixture
def make_web_app(make_runtime: Any) -> Iterator[Callable[..., WebTestApp]]:
    """``make_web_app(*plugins, settings=None, environ=None, token=None, message_types=(), **options)``.

    ``plugins``, ``settings`` and ``environ`` are those of the core's ``make_runtime`` (only
    these plugins, the environment ignored unless given). ``token`` requires it everywhere, as
    on a real server; ``message_types`` are the application's types ``/api/emit`` accepts;
    other keywords are ``WebConfig`` fields (``title=``, ``history=`` ...). The runtime is shut
    down when the test ends.
    """
    from .interface import WebInterface

    class InProcessWebInterface(WebInterface):
        """A web interface that serves test clients only: no socket is bound."""

        def start(self, ctx: Any) -> None:
            self.start_in_process(ctx)

    made: list[WebTestApp] = []

    def make(
        *plugins: object,
        settings: Optional[Mapping[str, Any]] = None,
        environ: Optional[Mapping[str, str]] = None,
        token: Optional[str] = None,
        message_types: Iterable[type[Message]] = (),
        **options: Any,
    ) -> WebTestApp:
        # Test clients do not acknowledge what the server pushes: an unbounded window and no
        # stall timeout keep them connected for as long as the test runs.
        options.setdefault("window", 1_000_000)
        options.setdefault("stall_timeout", 0.0)
        web = InProcessWebInterface(token=token, message_types=message_types, **options)
        runtime = make_runtime(*plugins, settings=settings, environ=environ, boot=False)
        runtime.add_process(web)
        runtime.boot()
        app = WebTestApp(runtime, web, token)
        made.append(app)
        return app

    yield make
    for app in made:
        app.close()
