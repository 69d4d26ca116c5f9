"""The HTTP server: a Werkzeug threaded server the web interface owns, on its own thread.

The socket is bound here rather than by Werkzeug, because Werkzeug answers a busy port by
printing and calling ``sys.exit(1)``; binding first turns that into ``WebBindError`` naming the
address, which ``WebInterface.start`` reports and re-raises so ``bussdcc run`` exits non-zero.
``flask_socketio.SocketIO.run`` is not used either: it refuses to start without a terminal.
"""

from __future__ import annotations

import errno
import logging
import re
import socket
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

log = logging.getLogger("bussdcc_framework_web.access")

_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s]*")


class WebBindError(OSError):
    """The web server could not listen on the requested address (``errno`` says why)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.errno = code


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or ``WebBindError`` saying why not."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise WebBindError(errno.EADDRNOTAVAIL, f"cannot resolve web.host {host!r}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        where = format_address(host, port)
        if exc.errno == errno.EADDRINUSE:
            message = (
                f"cannot listen on {where}: the address is already in use (another "
                "program, or another bussdcc, serves it); choose another with --port "
                "or BUSSDCC_WEB_PORT"
            )
        elif exc.errno == errno.EACCES:
            message = f"cannot listen on {where}: permission denied (ports below 1024 need root)"
        elif exc.errno == errno.EADDRNOTAVAIL:
            message = f"cannot listen on {where}: this machine has no such address"
        else:
            message = f"cannot listen on {where}: {exc.strerror or exc}"
        raise WebBindError(exc.errno or 0, message) from None
    return sock


class _RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, quiet unless ``web.access_log``, never logging a token."""

    access_log = False

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.access_log:
            line = _TOKEN_IN_QUERY.sub(r"\1***", getattr(self, "path", "") or "")
            log.info('%s "%s %s" %s', self.address_string(), self.command, line, code)

    def log_error(self, format: str, *args: Any) -> None:
        if self.access_log:
            super().log_error(format, *args)


class ServerThread:
    """Serve ``app`` on an already-bound socket until ``stop``."""

    def __init__(self, app: Any, sock: socket.socket, *, access_log: bool = False) -> None:
        handler = type("RequestHandler", (_RequestHandler,), {"access_log": access_log})
        host, port = sock.getsockname()[:2]
        self.server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=handler, fd=sock.fileno()
        )
        sock.close()  # Werkzeug serves a duplicate of the descriptor
        self.host: str = host
        self.port: int = self.server.socket.getsockname()[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"bussdcc-web:{self.port}",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
