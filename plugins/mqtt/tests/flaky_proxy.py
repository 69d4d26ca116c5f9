"""A TCP proxy between a device and the broker that simulates a flaky link, for fault tests.

``cut()`` closes every connection at once (both ends see it, like a router reboot);
``cut_every(seconds)`` does that on a timer; ``partition()`` keeps the connections open but
silently drops every byte in both directions (a dead Wi-Fi link: no FIN, no RST, only keepalive
timeouts notice it) until ``heal()``. Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class FlakyProxy:
    """Forward ``127.0.0.1:<port>`` to ``upstream``; break the link on demand."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._partitioned = threading.Event()
        self._closed = threading.Event()
        self._cutter: threading.Thread | None = None
        self._cutter_stop = threading.Event()
        self.cuts = 0
        self.connections = 0
        self._accept_thread = threading.Thread(target=self._accept_loop, name="flaky-proxy", daemon=True)
        self._accept_thread.start()

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<port>``: give this to the device instead of the broker's URL."""
        return f"mqtt://127.0.0.1:{self.port}"

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._pairs.append((client, server))
                self.connections += 1
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if self._partitioned.is_set():
                    continue  # the bytes vanish: nobody is told
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close_pair_of(src)

    def _close_pair_of(self, sock: socket.socket) -> None:
        with self._lock:
            pair = next((p for p in self._pairs if sock in p), None)
            if pair is not None:
                self._pairs.remove(pair)
        if pair is not None:
            for s in pair:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def cut(self) -> int:
        """Close every open connection now; returns how many were cut."""
        with self._lock:
            pairs = list(self._pairs)
        for client, _server in pairs:
            self._close_pair_of(client)
        if pairs:
            self.cuts += 1
        return len(pairs)

    def cut_every(self, seconds: float) -> None:
        """Cut every ``seconds`` from now on, until ``stop_cutting()``."""
        self.stop_cutting()
        self._cutter_stop.clear()

        def loop() -> None:
            while not self._cutter_stop.wait(seconds):
                self.cut()

        self._cutter = threading.Thread(target=loop, name="flaky-proxy-cutter", daemon=True)
        self._cutter.start()

    def stop_cutting(self) -> None:
        """End ``cut_every``."""
        self._cutter_stop.set()
        if self._cutter is not None:
            self._cutter.join()
            self._cutter = None

    def partition(self) -> None:
        """Drop every byte both ways from now on, without closing anything."""
        self._partitioned.set()

    def heal(self) -> None:
        """End a partition: the connections that survived it carry data again."""
        self._partitioned.clear()

    def close(self) -> None:
        """Stop accepting and close everything."""
        self.stop_cutting()
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self.cut()
        deadline = time.monotonic() + 2
        while self._accept_thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
