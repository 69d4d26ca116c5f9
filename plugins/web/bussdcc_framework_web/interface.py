"""``WebInterface``: the runtime process that serves the pages, the JSON API and live push.

Original API, unchanged::

    runtime.add_process(WebInterface(host="0.0.0.0", port=5000))

    class MyWeb(WebInterface):
        def register_routes(self, app, ctx):
            @app.route("/hello")
            def hello():
                emit(MyMessage())
                return "Hello World"

Routes a subclass registers come first (its ``/`` wins; the dashboard stays at
``/dashboard``), then the built-in pages and API, then other plugins' ``register_routes``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message, RuntimeBooted

from bussdcc_framework.codec import Codec, TypeRegistry, default_registry
from bussdcc_framework.interface import Interface
from bussdcc_framework.message.system import SystemIdentityEvent
from bussdcc_framework.message.web import (
    WebInterfaceFailed,
    WebInterfaceStarted,
    WebInterfaceStopped,
)
from bussdcc_framework.replay_control import replay_controller
from bussdcc_framework.report import printable, report
from bussdcc_framework.runtime import Runtime
from bussdcc_framework.settings import Settings

from . import weblog
from .assets import check_assets
from .config import WebConfig, as_tuple, first, is_loopback
from .context import _track
from .fastjson import raw
from .history import EventHistory, RateCounter
from .plots import PlotStore
from .push import PushHub
from .records import RecordMaker
from .replayview import ReplayView
from .server import ServerThread, bind_socket, format_address
from .statewatch import StateMirror

if TYPE_CHECKING:
    from flask import Flask
    from flask_socketio import SocketIO  # type: ignore[import-untyped]


class WebInterface(Interface):
    """Flask + Socket.IO monitoring and control for a runtime (see ``docs/web.md``)."""

    name = "web"

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        token: str | None = None,
        origins: Iterable[str] | str | None = None,
        message_types: Iterable[type[Message]] = (),
        config: WebConfig | None = None,
        title: str | None = None,
        **options: Any,
    ) -> None:
        base = config if config is not None else WebConfig()
        self.config: WebConfig = replace(
            base,
            host=first(host, base.host),
            port=first(port, base.port),
            token=first(token, base.token),
            origins=first(as_tuple(origins), base.origins),
            title=first(title, base.title),
            **options,
        ).checked()
        self.ctx: ContextProtocol | None = None
        self.app: Flask | None = None
        self.socketio: SocketIO | None = None
        self.registry: TypeRegistry | None = None
        self.codec: Codec | None = None
        self._extra_types = tuple(message_types)
        self._server: ServerThread | None = None
        self.history = EventHistory(self.config.history)
        self.rates = RateCounter(300, clock=self.now)
        self.plots = PlotStore(None)
        #: The last ``SystemIdentityEvent`` seen: the recorded machine's, in a replay.
        self.identity: SystemIdentityEvent | None = None
        #: Set while the runtime replays a recording (``bussdcc_framework.replay_control``).
        self.replay: ReplayView | None = None
        self.hub: PushHub | None = None
        self.watcher: StateMirror | None = None
        self.records: RecordMaker | None = None
        self.route_errors: list[str] = []
        #: Pages plugins added under ``/plugins/<name>/`` (name, url, label), for the nav.
        self.plugin_pages: list[dict[str, str]] = []
        self.started_at: float | None = None
        self.booted_at: float | None = None
        self.host: str = self.config.host
        self.port: int = self.config.port
        self._sockets: dict[str, socket.socket] = {}
        self._sockets_lock = threading.Lock()
        self._stats_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._live = False

    @classmethod
    def from_settings(cls, settings: Settings | None, **overrides: Any) -> WebInterface:
        """The interface ``web.*`` settings describe (``bussdcc run`` uses this)."""
        interface = cls(config=WebConfig.from_settings(settings), **overrides)
        interface.from_plugin = True
        return interface

    #: True for the interface the plugin adds to a composed runtime: it steps aside when the
    #: application registers its own ``WebInterface`` (the original framework's usage).
    from_plugin: bool = False

    def _application_has_its_own(self, ctx: ContextProtocol) -> bool:
        runtime = ctx.runtime
        others: list[Any] = []
        for manager in ("processes", "interfaces"):
            registry = getattr(runtime, manager, None)
            if registry is not None:
                others.extend(registry.list())
        return any(isinstance(p, WebInterface) and not p.from_plugin for p in others)

    # -- the subclass hook (original API) --------------------------------------------------

    def register_routes(self, app: Flask, ctx: ContextProtocol) -> None:
        """Override to add routes: ``@app.route(...)`` functions may call ``emit(...)``."""

    # -- building ----------------------------------------------------------------------

    def create_app(self, ctx: ContextProtocol) -> Flask:
        """Build the Flask app and Socket.IO server (``start`` does this; tests may too)."""
        from .app import build_app

        self.ctx = ctx
        if self.codec is None:
            self.registry = default_registry()
            for cls in self.message_types:
                self.registry.register(cls)
            self.codec = Codec(self.registry)
            self.records = RecordMaker(self.codec)
            self.plots.codec = self.codec
        self.hub = PushHub(
            self._send_batch,
            self._disconnect_client,
            capacity=self.config.client_buffer,
            batch_size=self.config.batch_size,
            window=self.config.window,
            stall_timeout=self.config.stall_timeout,
        )
        if self.watcher is not None:
            self.watcher.stop()
        self.watcher = StateMirror(ctx.state, self.hub.publish_state, self.config.state_interval)
        self.watcher.attach()
        controller = replay_controller(ctx)
        if controller is not None and self.replay is None:
            self.replay = ReplayView(self, controller)
        self.app, self.socketio = build_app(self, ctx)
        return self.app

    # -- process lifecycle ---------------------------------------------------------------

    def start(self, ctx: ContextProtocol) -> None:
        if self.from_plugin and self._application_has_its_own(ctx):
            report(
                "bussdcc web: the application adds its own WebInterface; the web plugin's "
                "is not started (set web.enabled=false to silence this)"
            )
            return
        self.config = self.config.with_token_if_exposed()
        check_assets()
        app = self.create_app(ctx)
        try:
            sock = bind_socket(self.config.host, self.config.port)
        except OSError as exc:
            ctx.emit(WebInterfaceFailed(host=self.config.host, port=self.config.port, error=str(exc)))
            raise
        weblog.enable(self.config.access_log)
        self._server = ServerThread(
            app,
            sock,
            access_log=self.config.access_log,
            request_timeout=self.config.request_timeout,
            max_connections=self.config.max_connections,
            token=self.config.token,
        )
        self.host, self.port = self.config.host, self._server.port
        self._start_live()
        self._server.start()
        _track(self, True)
        self._announce()
        ctx.emit(WebInterfaceStarted(host=self.host, port=self.port))

    def start_in_process(self, ctx: ContextProtocol) -> None:
        """Everything ``start`` does except binding a socket: for Flask and Socket.IO test clients.

        The app is built (with every plugin's routes), events are recorded, state is mirrored
        and live push runs, so ``app.test_client()`` and ``socketio.test_client(app)`` see what
        a browser would. ``bussdcc_framework_web.testing`` uses it.
        """
        self.create_app(ctx)
        self._start_live()

    def _start_live(self) -> None:
        assert self.hub is not None and self.watcher is not None
        self._stop.clear()
        self.started_at = time.time()
        self.hub.start()
        self.watcher.start()
        if self.replay is not None:
            self.replay.start()
        self._stats_thread = threading.Thread(target=self._stats_loop, name="bussdcc-web-stats", daemon=True)
        self._stats_thread.start()
        self._live = True

    def stop(self, ctx: ContextProtocol) -> None:
        if not self._live:
            return
        self._live = False
        server, self._server = self._server, None
        self._stop.set()
        _track(self, False)
        self._close_clients()
        if self.socketio is not None:
            try:
                self.socketio.server.shutdown()
            except Exception:
                pass
        if self.hub is not None:
            self.hub.stop()
        if self.watcher is not None:
            self.watcher.stop()
        if self.replay is not None:
            self.replay.stop()
            self.replay = None
        if server is not None:
            server.stop()
            ctx.emit(WebInterfaceStopped(host=self.host, port=self.port))

    def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        records = self.records
        if records is None:
            return
        payload = evt.payload
        if type(payload) is SystemIdentityEvent:
            self.identity = payload
        self.plots.add(evt)
        replay = self.replay
        if replay is not None and replay.quiet:
            replay.hold(evt)  # a seek plays it through: shown with the result, not pushed
            return
        if self.booted_at is None and isinstance(payload, RuntimeBooted):
            self.booted_at = evt.time.timestamp()
        record = records.make(evt)
        self.history.append(record)
        self.rates.add(record["name"], record["ts"])
        hub = self.hub
        if hub is not None and hub.channels():
            hub.publish(record, raw(record))

    # -- what the pages show -------------------------------------------------------------

    @property
    def message_types(self) -> tuple[type[Message], ...]:
        """The application's message types, offered first on the send form and ``/api/emit``.

        Those given to the interface (``message_types=``) and those the application declared
        with ``runtime.add_message_types(...)`` (read each time: ``setup`` may run later).
        """
        runtime = self.ctx.runtime if self.ctx is not None else None
        declared = runtime.message_types if isinstance(runtime, Runtime) else []
        return tuple(dict.fromkeys((*self._extra_types, *declared)))

    @property
    def url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "", "::"):
            host = "127.0.0.1" if host != "::" else "::1"
        return f"http://{format_address(host, self.port)}/"

    def now(self) -> float:
        """Now for the pages, in epoch seconds: the recorded time in a replay, else the clock's."""
        replay = self.replay
        if replay is not None:
            position = replay.now()
            if position is not None:
                return position
        return time.time()

    def uptime(self) -> float:
        since = self.booted_at or self.started_at
        return 0.0 if since is None else max(0.0, self.now() - since)

    def _announce(self) -> None:
        where = printable(self.url)  # the host comes from a setting: no escapes on the terminal
        if self.config.token_generated:
            report(f"bussdcc web: serving on {where}?token={self.config.token}")
            report(
                "bussdcc web: an access token was generated for this run (set web.token / "
                "BUSSDCC_WEB_TOKEN to choose one); it is printed only once"
            )
        else:
            report(f"bussdcc web: serving on {where}")
        if not is_loopback(self.config.host):
            report(
                f"bussdcc web: warning: listening on {printable(format_address(self.host, self.port))}, "
                "reachable from other machines; every request needs the access token"
            )
            if self.config.host in ("0.0.0.0", "::", ""):
                report(
                    f"bussdcc web: from other machines: http://{printable(socket.gethostname())}:{self.port}/"
                )

    # -- live push plumbing --------------------------------------------------------------

    def _send_batch(self, sid: str, batch: dict[str, Any], ack: Any) -> None:
        assert self.socketio is not None
        self.socketio.emit("batch", batch, to=sid, namespace="/", callback=ack)

    def _disconnect_client(self, sid: str, reason: str) -> None:
        """Disconnect a client without ever blocking the sender thread."""

        def run() -> None:
            sio = self.socketio
            if sio is None:
                return
            try:
                sio.emit("bye", {"reason": reason}, to=sid, namespace="/")
                sio.server.disconnect(sid, namespace="/")
            except Exception:
                pass
            self._abort_socket(sid)

        threading.Thread(target=run, name="bussdcc-web-drop", daemon=True).start()

    def remember_socket(self, sid: str, sock: socket.socket | None) -> None:
        if sock is not None:
            with self._sockets_lock:
                self._sockets[sid] = sock

    def forget_socket(self, sid: str) -> None:
        with self._sockets_lock:
            self._sockets.pop(sid, None)

    def _abort_socket(self, sid: str) -> None:
        """Shut the client's TCP connection so a writer blocked on it wakes up at once."""
        with self._sockets_lock:
            sock = self._sockets.pop(sid, None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _close_clients(self) -> None:
        hub, sio = self.hub, self.socketio
        if hub is None or sio is None:
            return
        for channel in hub.channels():
            hub.remove(channel.sid)
            try:
                sio.server.disconnect(channel.sid, namespace="/")
            except Exception:
                pass
        with self._sockets_lock:
            sids = list(self._sockets)
        for sid in sids:
            self._abort_socket(sid)

    def _stats_loop(self) -> None:
        while not self._stop.wait(1.0 - (time.time() % 1.0)):
            hub = self.hub
            if hub is None or self.replay is not None:
                continue  # a replay's stats follow the recorded clock (ReplayView)
            now = int(time.time())
            hub.publish_stats(
                {
                    "second": now - 1,
                    "counts": self.rates.second(now - 1),
                    "total": self.history.total,
                    "uptime": self.uptime(),
                    "clients": len(hub.channels()),
                }
            )
