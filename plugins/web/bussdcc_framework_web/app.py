"""Assemble the Flask app: security checks, the subclass's routes, pages, API, plugin routes.

Order matters: Flask refuses blueprints after the first request, so everything, including
other plugins' ``register_routes`` hook, is registered here before the server starts.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from bussdcc.context import ContextProtocol
from flask import Flask, Response, jsonify, request
from flask_socketio import SocketIO  # type: ignore[import-untyped]
from werkzeug.exceptions import HTTPException

from . import auth
from .context import EXTENSION
from .fastjson import FastPacket
from .views import api, pages, sockets

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
        logger=False,
        engineio_logger=False,
        serializer=FastPacket,
    )
    auth.install(app, config)
    _json_errors(app)

    interface.register_routes(app, ctx)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    sockets.install(socketio, interface)
    _plugin_routes(interface, app, ctx)
    return app, socketio


def _json_errors(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if not request.path.startswith("/api"):
            return exc
        names = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "request_too_large",
                 415: "unsupported_media_type"}
        code = exc.code or 500
        response: Response = jsonify({"error": names.get(code, "http_error"),
                                      "detail": exc.description or exc.name})
        response.status_code = code
        return response


def _plugin_routes(interface: WebInterface, app: Flask, ctx: ContextProtocol) -> None:
    """Call every plugin's ``register_routes``; one that raises is reported, not fatal."""
    pm = getattr(ctx.runtime, "plugins", None)
    if pm is None:
        return
    for impl in pm.hook.register_routes.get_hookimpls():
        try:
            impl.function(**{name: {"app": app, "ctx": ctx}[name] for name in impl.argnames})
        except Exception as exc:
            line = f"plugin {impl.plugin_name}: register_routes failed: {type(exc).__name__}: {exc}"
            interface.route_errors.append(line)
            print(f"bussdcc web: {line}", file=sys.stderr)
