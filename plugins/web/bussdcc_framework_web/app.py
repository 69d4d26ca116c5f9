"""Assemble the Flask app: security checks, the subclass's routes, pages, API, plugin routes.

Order matters: Flask refuses blueprints after the first request, so everything, including
other plugins' ``register_routes`` hook, is registered here before the server starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bussdcc.context import ContextProtocol
from flask import Flask, Response, jsonify, request
from flask_socketio import SocketIO  # type: ignore[import-untyped]
from werkzeug.exceptions import ClientDisconnected, HTTPException

from bussdcc_framework.plugins import FrameworkPluginManager

from . import auth, weblog
from .context import EXTENSION
from .fastjson import FastPacket
from .views import api, pages, replay, sockets

if TYPE_CHECKING:
    from .interface import WebInterface


def build_app(interface: WebInterface, ctx: ContextProtocol) -> tuple[Flask, SocketIO]:
    config = interface.config
    import_name = type(interface).__module__
    app = Flask(import_name if import_name != "__main__" else "bussdcc_app")
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_size
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = interface
    socketio = SocketIO(
        app,
        async_mode="threading",
        cors_allowed_origins=auth.socketio_origin_check(config),
        max_http_buffer_size=config.max_socket_message,
        ping_interval=10,
        ping_timeout=10,
        logger=weblog.SOCKETIO,
        engineio_logger=weblog.SOCKETIO,
        serializer=FastPacket,
    )
    auth.install(app, config)
    _json_errors(app)

    interface.register_routes(app, ctx)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(replay.blueprint)
    sockets.install(socketio, interface)
    _plugin_routes(interface, app, ctx)
    return app, socketio


def _json_errors(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if isinstance(exc, ClientDisconnected) and isinstance(exc.__context__, TimeoutError):
            return _too_slow(exc.__context__)  # Werkzeug calls a body read that timed out a disconnect
        if not request.path.startswith("/api"):
            return exc
        names = {
            400: "bad_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "request_too_large",
            415: "unsupported_media_type",
        }
        code = exc.code or 500
        response: Response = jsonify(
            {"error": names.get(code, "http_error"), "detail": exc.description or exc.name}
        )
        response.status_code = code
        return response

    @app.errorhandler(TimeoutError)
    def _too_slow(exc: TimeoutError) -> Any:
        """A body that did not arrive within ``web.request_timeout``: 408, not a traceback."""
        response: Response = jsonify(
            {
                "error": "request_timeout",
                "detail": "the request body did not arrive in time (web.request_timeout)",
            }
        )
        response.status_code = 408
        response.headers["Connection"] = "close"
        return response


def _plugin_routes(interface: WebInterface, app: Flask, ctx: ContextProtocol) -> None:
    """Call every plugin's ``register_routes`` through the plugin manager (``pm.routes``).

    The manager calls each plugin on its own: one that raises is reported in the standard one
    line (``bussdcc: plugin "X" failed in hook register_routes: ... (file:line)``), the others
    still add their routes, ``BUSSDCC_TRACE_PLUGINS`` traces the call and
    ``BUSSDCC_STRICT_PLUGINS`` turns a failure into an error. The failures are kept for the
    Plugins page. Afterwards the pages plugins added are collected for the navigation.
    """
    pm = getattr(ctx.runtime, "plugins", None)
    if isinstance(pm, FrameworkPluginManager):
        pm.routes(app, ctx)
        # The manager records a plugin's failure once, however often the hook is called: take
        # every register_routes failure it holds, so a rebuilt app shows them too.
        interface.route_errors = [f.line for f in pm.failures if f.hook == "register_routes"]
    interface.plugin_pages = plugin_pages(app)


def plugin_pages(app: Flask) -> list[dict[str, str]]:
    """Pages plugins added: ``GET`` rules without arguments under ``/plugins/<name>/``.

    One entry per plugin (its shortest such path, ``/plugins/<name>/`` itself when it has one),
    sorted by name; the navigation and the Plugins page link them.
    """
    found: dict[str, str] = {}
    for rule in app.url_map.iter_rules():
        path = rule.rule
        if rule.arguments or "GET" not in (rule.methods or ()):
            continue
        parts = path.split("/")
        if len(parts) < 4 or parts[1] != "plugins" or not parts[2]:
            continue
        if "." in parts[-1]:  # state.json, app.js: data and assets, not pages
            continue
        name = parts[2]
        if name not in found or (len(path), path) < (len(found[name]), found[name]):
            found[name] = path
    return [
        {"name": name, "url": found[name], "label": name.replace("-", " ").replace("_", " ").capitalize()}
        for name in sorted(found)
    ]
