"""The HTTP server: a Werkzeug threaded server the web interface owns, on its own thread.

The socket is bound here rather than by Werkzeug, because Werkzeug answers a busy port by
printing and calling ``sys.exit(1)``; binding first turns that into ``WebBindError`` naming the
address, which ``WebInterface.start`` reports and re-raises so ``bussdcc run`` exits non-zero.
``flask_socketio.SocketIO.run`` is not used either: it refuses to start without a terminal.
"""

from __future__ import annotations

import errno
import io
import socket
import sys
import threading
import time
from typing import Any, cast

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from bussdcc_framework.report import printable

from . import weblog
from .cut import safe_repr


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
        raise WebBindError(
            errno.EADDRNOTAVAIL, f"cannot resolve web.host {printable(repr(host))}: {exc.strerror}"
        ) from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        where = printable(format_address(host, port))
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


#: A WebSocket stays open while its client answers Socket.IO's pings (every 10 s): one silent
#: this long is gone, and its threads are freed.
WEBSOCKET_IDLE = 30.0

_REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: 5\r\nConnection: close\r\nContent-Length: 60\r\n\r\n"
    b"too many open connections to this server; try again shortly\n"
)


class _DeadlineReader(io.RawIOBase):
    """The connection's reads, each bounded by the request handler's current deadline.

    A socket timeout alone bounds each ``recv``: a client sending one byte every few seconds
    (slowloris) would still hold its thread forever. Here every read waits at most until the
    deadline of the current phase (headers, then body), whatever arrives in between.
    """

    def __init__(self, raw: Any, sock: socket.socket, handler: _RequestHandler) -> None:
        self._raw = raw  # the socket's own reader (socket.SocketIO): timeouts, EINTR, EOF
        self._sock = sock
        self._handler = handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._sock.fileno() < 0:  # closed under us (a WebSocket ended): end of input
            return 0
        deadline = self._handler.deadline
        if deadline is None:
            return self._raw.readinto(buffer)  # type: ignore[no-any-return]
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(
                f"the client did not send its request within {self._handler.request_timeout:g}s"
            )
        self._sock.settimeout(min(left, self._handler.request_timeout))
        try:
            return self._raw.readinto(buffer)  # type: ignore[no-any-return]
        finally:
            self._sock.settimeout(self._handler.request_timeout)


class _RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler with deadlines, quiet unless ``web.access_log``, never logging a token.

    The request line and headers must arrive within ``request_timeout`` seconds, the body
    within as long again, and a response write must finish within it (the socket's timeout).
    A WebSocket (Socket.IO) connection then lives on its own terms: ``WEBSOCKET_IDLE``.
    """

    access_log = False
    request_timeout = 10.0
    token: str | None = None
    deadline: float | None = None

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.request_timeout)
        # Werkzeug's reader stays open until ``finish``: it holds the socket's I/O reference, so
        # a WebSocket library closing the socket early does not free the descriptor while
        # another of its threads still writes to it.
        self._socket_file = cast(io.BufferedReader, self.rfile)
        self.rfile = io.BufferedReader(_DeadlineReader(self._socket_file.raw, self.connection, self))

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._socket_file.close()

    def handle_one_request(self) -> None:
        self.deadline = time.monotonic() + self.request_timeout
        super().handle_one_request()

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        if parsed and self.headers.get("Upgrade", "").lower() == "websocket":
            self.deadline = None
            self.connection.settimeout(max(WEBSOCKET_IDLE, self.request_timeout))
        else:
            self.deadline = time.monotonic() + self.request_timeout
        return parsed

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.access_log:
            target = weblog.redact(getattr(self, "path", "") or "", self.token)
            weblog.ACCESS.info(
                '%s "%s %s" %s', self.address_string(), printable(self.command or ""), target, code
            )

    def log_error(self, format: str, *args: Any) -> None:
        if self.access_log:
            weblog.ACCESS.info("%s %s", self.address_string(), weblog.redact(format % args, self.token))


class _Server(ThreadedWSGIServer):
    """Werkzeug's threaded server with a bound on open connections (one thread each).

    Beyond ``max_connections`` a new connection is answered ``503`` at once and closed, and
    one line says the limit was reached (then at most one every ``THROTTLE_SECONDS``).
    """

    max_connections = 100

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open = 0
        self._open_lock = threading.Lock()
        self._refused = 0
        self._throttle = weblog.Throttle(weblog.THROTTLE_SECONDS)

    @property
    def open_connections(self) -> int:
        return self._open

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            full = self._open >= self.max_connections
            if not full:
                self._open += 1
        if full:
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._closed()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._closed()

    def _closed(self) -> None:
        with self._open_lock:
            self._open -= 1

    def _refuse(self, request: socket.socket) -> None:
        self._refused += 1
        allowed, _ = self._throttle.allow("limit")
        if allowed:
            weblog.SERVER.warning(
                "%d connections are open, the limit (web.max_connections=%d): new connections are "
                "refused with 503 until some close (%d refused so far; raise web.max_connections "
                "if this is expected)",
                self._open,
                self.max_connections,
                self._refused,
            )
        try:
            request.setblocking(False)
            request.send(_REFUSED)
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """An exception escaped a connection's handler: one line, not socketserver's traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # the connection broke or was closed: nothing to say
            return
        weblog.SERVER.error("a connection from %s failed: %s", client_address[0], safe_repr(error))

    def log(self, type: str, message: str, *args: Any) -> None:
        """Werkzeug's own messages (an exception that escaped the app): one line, not a traceback."""
        text = (message % args) if args else message
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            return
        detail = lines[-1].strip()
        summary = lines[0].rstrip(":")
        if summary == "Error on request":
            summary = "a request failed inside the server"
        weblog.SERVER.error("%s: %s", summary, detail if detail != summary else "")


class ServerThread:
    """Serve ``app`` on an already-bound socket until ``stop``."""

    def __init__(
        self,
        app: Any,
        sock: socket.socket,
        *,
        access_log: bool = False,
        request_timeout: float = 10.0,
        max_connections: int = 100,
        token: str | None = None,
    ) -> None:
        handler = type(
            "RequestHandler",
            (_RequestHandler,),
            {"access_log": access_log, "request_timeout": request_timeout, "token": token},
        )
        host, port = sock.getsockname()[:2]
        server_class = type("Server", (_Server,), {"max_connections": max_connections})
        self.server: _Server = server_class(host, port, app, handler=handler, fd=sock.fileno())
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
