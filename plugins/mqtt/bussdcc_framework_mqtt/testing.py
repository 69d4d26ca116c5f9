"""A real Mosquitto broker for tests, benchmarks and demos: Debian's ``mosquitto`` binary.

``MosquittoBroker`` writes a config into its own directory and runs the broker as a child
process. The config carries the settings a test (and a production broker) needs and that the
defaults get wrong for fleets:

- ``persistence true`` with ``autosave_interval 1``: a broker restart keeps sessions and queued
  messages (the default saves every 30 minutes, so a crash loses everything since);
- an explicit ``max_queued_messages``: the default (1000 per offline client) silently drops a
  collector's backlog;
- ``user root`` when started as root: otherwise Mosquitto switches to user ``mosquitto`` and
  silently cannot write its persistence file in a root-owned temporary directory.

Nothing here is a broker of its own: it starts, stops, kills and restarts the real one.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

#: Where Debian installs the broker (``/usr/sbin`` is not on every user's PATH).
MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BrokerError(RuntimeError):
    """The broker could not be started (missing binary, bad config, port taken)."""


def find_mosquitto() -> str | None:
    """The path of the ``mosquitto`` binary, or None when it is not installed."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((c for c in MOSQUITTO_CANDIDATES if os.access(c, os.X_OK)), None)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the caller retries if it is taken later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class TlsFiles:
    """A TLS listener's files: the CA that signed the server certificate, and the server's pair.

    ``require_certificate`` makes the broker ask every client for a certificate signed by
    ``ca`` (mutual TLS); ``use_identity_as_username`` then makes the certificate's common name
    the client's user name, which ACL patterns (``%u``) match: a device proves its node id with
    its certificate instead of a password.
    """

    ca: Path
    cert: Path
    key: Path
    require_certificate: bool = False
    use_identity_as_username: bool = False


class MosquittoBroker:
    """One Mosquitto process listening on 127.0.0.1 (a free port) and, optionally, a unix socket.

    ``start()``, ``stop()`` (clean: the broker saves its state), ``kill()`` (SIGKILL: a crash),
    ``restart()`` (same port, same persistence directory), ``pause()``/``resume()`` (SIGSTOP/
    SIGCONT: a broker that hangs without closing connections).
    """

    def __init__(
        self,
        directory: Path,
        *,
        port: int | None = None,
        unix_socket: bool = False,
        max_queued_messages: int = 1_000_000,
        max_inflight_messages: int = 100,
        persistence: bool = True,
        autosave_interval: int = 1,
        tls: TlsFiles | None = None,
        password_file: Path | None = None,
        acl_file: Path | None = None,
        extra_config: str = "",
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.unix_path = self.directory / "mosquitto.sock" if unix_socket else None
        self.max_queued_messages = max_queued_messages
        self.max_inflight_messages = max_inflight_messages
        self.persistence = persistence
        self.autosave_interval = autosave_interval
        self.tls = tls
        self.password_file = password_file
        self.acl_file = acl_file
        self.extra_config = extra_config
        self.config_path = self.directory / "mosquitto.conf"
        self.log_path = self.directory / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._paused = False

    # -- addresses -----------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The address the TCP listener binds."""
        return "127.0.0.1"

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:PORT`` (``mqtts://`` with TLS): what ``BUSSDCC_MQTT_URL`` takes."""
        if self.port is None:
            raise BrokerError("the broker has no port yet: start() it first")
        scheme = "mqtts" if self.tls is not None else "mqtt"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def unix_url(self) -> str:
        """``unix:///path/to/mosquitto.sock`` when started with ``unix_socket=True``."""
        if self.unix_path is None:
            raise BrokerError("the broker was made without unix_socket=True")
        return f"unix://{self.unix_path}"

    # -- config --------------------------------------------------------------------------

    def config_text(self) -> str:
        """The generated ``mosquitto.conf``."""
        assert self.port is not None
        lines = [
            "# generated by bussdcc_framework_mqtt.testing.MosquittoBroker",
            "per_listener_settings false",
            f"allow_anonymous {'false' if self.password_file else 'true'}",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.directory}/",
            f"autosave_interval {self.autosave_interval}",
            f"max_queued_messages {self.max_queued_messages}",
            "max_queued_bytes 0",
            f"max_inflight_messages {self.max_inflight_messages}",
            "set_tcp_nodelay true",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        if self.password_file is not None:
            lines.append(f"password_file {self.password_file}")
        if self.acl_file is not None:
            lines.append(f"acl_file {self.acl_file}")
        lines.append(f"listener {self.port} {self.host}")
        if self.tls is not None:
            lines += [
                f"cafile {self.tls.ca}",
                f"certfile {self.tls.cert}",
                f"keyfile {self.tls.key}",
                f"require_certificate {'true' if self.tls.require_certificate else 'false'}",
            ]
            if self.tls.use_identity_as_username:
                lines.append("use_identity_as_username true")
        if self.unix_path is not None:
            lines.append(f"listener 0 {self.unix_path}")
        if self.extra_config:
            lines.append(self.extra_config.strip())
        return "\n".join(lines) + "\n"

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 15.0) -> MosquittoBroker:
        """Start the broker and wait until it accepts connections; ``BrokerError`` otherwise.

        With no fixed port, a free one is picked; if another process takes it in between, a
        new one is picked (up to five times).
        """
        binary = find_mosquitto()
        if binary is None:
            raise BrokerError(
                "mosquitto is not installed: apt-get install mosquitto (./tests/run installs it)"
            )
        if self.running:
            return self
        fixed = self.port is not None
        for _attempt in range(5):
            if not fixed:
                self.port = free_port()
            if self._spawn(binary, timeout):
                return self
            if fixed or "Address already in use" not in self.log_tail():
                break
        raise BrokerError(f"mosquitto did not start; its log ends with:\n{self.log_tail()}")

    def _spawn(self, binary: str, timeout: float) -> bool:
        if self.unix_path is not None and self.unix_path.exists():
            self.unix_path.unlink()
        self.config_path.write_text(self.config_text())
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child keeps it; closed below)
        try:
            self.process = subprocess.Popen(
                [binary, "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if self._running_since(offset) and self._accepts():
                return True
            time.sleep(0.02)
        self.kill()
        return False

    def _running_since(self, offset: int) -> bool:
        """Whether this start's log says "running" (another process may hold the port)."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                return b" running" in log.read()
        except OSError:
            return False

    def _accepts(self) -> bool:
        assert self.port is not None
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                pass
        except OSError:
            return False
        return self.unix_path is None or self.unix_path.exists()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop cleanly (SIGTERM): the broker writes its persistence file before it exits."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Kill the broker (SIGKILL): what it had not saved is lost, as in a crash."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        if self._paused:
            os.kill(process.pid, signal.SIGCONT)
        process.kill()
        process.wait()

    def restart(self, *, down_for: float = 0.0, timeout: float = 15.0) -> None:
        """Stop cleanly, stay down ``down_for`` seconds, start again on the same port."""
        self.stop()
        if down_for:
            time.sleep(down_for)
        self.start(timeout)

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open but nothing answers."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGSTOP)
            self._paused = True

    def resume(self) -> None:
        """Thaw a paused broker (SIGCONT)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
        self._paused = False

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the broker's log (for error messages)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        """The whole log of the broker (every start)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
