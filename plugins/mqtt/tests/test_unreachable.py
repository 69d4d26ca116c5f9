"""A broker that cannot be reached (nothing listens on the port, a host name that does not
resolve): one line per outage and kind of cause, naming the URL, the cause and the setting to
check; one line when the connection works again; nothing lost meanwhile. Against a real
Mosquitto, stopped and started on the same port; every wait is on a condition (retries counted
by the device's persisted session counter and the collector's ``failed_attempts``)."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bussdcc_framework_mqtt.collector import Collector
from bussdcc_framework_mqtt.config import MqttConfig
from bussdcc_framework_mqtt.messages import MqttDisconnected
from bussdcc_framework_mqtt.testing import MosquittoBroker, free_port
from mqtt_helpers import BUSSDCC, Device, clean_env, fleet, recorded_ticks, wait_for

pytestmark = pytest.mark.slow

BrokerFactory = Callable[..., MosquittoBroker]

#: The reserved TLD (RFC 2606): a name under it never resolves.
NOWHERE = "nobroker.invalid"


class Stderr:
    """What the test process (the in-process collector) printed on stderr, accumulated."""

    def __init__(self, capfd: pytest.CaptureFixture[str]) -> None:
        self.capfd = capfd
        self.text = ""

    def lines(self, component: str = "collector") -> list[str]:
        self.text += self.capfd.readouterr().err
        return [line for line in self.text.splitlines() if line.startswith(f"bussdcc mqtt: {component} ")]


def mqtt_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("bussdcc mqtt:")]


def attempts(device: Device) -> int:
    """Connection attempts the device made so far (its session counter, one per attempt)."""
    try:
        return int((device.workdir / "outbox" / "session").read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def collector(url: str, root: Path, emitted: list[Any]) -> Collector:
    config = MqttConfig.of(url=url, keepalive=2, reconnect_min=0.2, reconnect_max=1, collect_id="central")
    found = Collector(config, root, emit=emitted.append)
    found.start()
    return found


def keep_failing(device: Device, central: Collector, more: int) -> None:
    """Wait for the device's line, then for ``more`` attempts of each side after it."""
    device.wait_emitted()
    wait_for(lambda: mqtt_lines(device.stderr()), 60, "the device's line")
    seen, failed = attempts(device), central.failed_attempts
    wait_for(lambda: attempts(device) >= seen + more, 60, f"{more} more attempts of the device")
    wait_for(lambda: central.failed_attempts >= failed + more, 60, f"{more} more attempts of the collector")


def said_once(device: Device, err: Stderr, says: str, advice: str) -> str:
    """The bridge's and the collector's one line each, both starting ``says``; the latter."""
    [line] = mqtt_lines(device.stderr())
    assert line.startswith(f"bussdcc mqtt: bridge connect failed: {says}"), line
    assert advice in line, line
    [line] = err.lines()
    assert line.startswith(f"bussdcc mqtt: collector connect failed: {says}"), line
    return line


def test_an_unreachable_broker_is_one_line_per_outage_and_nothing_is_lost(
    broker_factory: BrokerFactory, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    broker: MosquittoBroker = broker_factory()
    url, root, emitted, err = broker.url, tmp_path / "fleet", [], Stderr(capfd)
    central = collector(url, root, emitted)
    try:
        assert central.wait_ready(60)
        # A normal start stays quiet.
        quiet = Device(url, tmp_path / "quiet", node="quiet", env={"COUNTER_COUNT": "5"}).start()
        wait_for(lambda: recorded_ticks(root, "quiet") == list(range(5)), 60, "the quiet device's ticks")
        assert quiet.stop() == 0
        assert mqtt_lines(quiet.stderr()) == [], quiet.stderr()

        # The broker stops: the collector's link is lost and its reconnects are refused.
        broker.stop()
        wait_for(lambda: err.lines(), 60, "the collector's line")
        # The device starts while nothing listens: its first attempt fails, then every retry.
        device = Device(url, tmp_path / "dev", env={"COUNTER_COUNT": "20"}).start()
        device.wait_emitted()
        wait_for(lambda: mqtt_lines(device.stderr()), 60, "the device's line")
        seen, failed = attempts(device), central.failed_attempts
        wait_for(lambda: attempts(device) >= seen + 3, 60, "three more attempts of the device")
        wait_for(lambda: central.failed_attempts >= failed + 3, 60, "three more attempts of the collector")

        [line] = mqtt_lines(device.stderr())
        assert line.startswith(
            f"bussdcc mqtt: bridge connect failed: cannot reach the broker {url} (connection refused"
        ), line
        assert "check mqtt.url (BUSSDCC_MQTT_URL) and that the broker runs" in line, line
        assert "events are kept in the outbox" in line, line
        [line] = err.lines()
        assert line.startswith(
            f"bussdcc mqtt: collector connect failed: cannot reach the broker {url} (connection refused"
        ), line
        assert "--broker" in line and "nothing is lost" in line, line
        assert [m.reason for m in emitted if isinstance(m, MqttDisconnected)] != []
        assert len([m for m in emitted if isinstance(m, MqttDisconnected)]) == 1  # once per outage

        # The broker is back on its port: what the device emitted meanwhile arrives, and each
        # says once that it is connected again.
        broker.start()
        wait_for(lambda: recorded_ticks(root) == list(range(20)), 60, "the 20 ticks kept in the outbox")
        wait_for(lambda: len(mqtt_lines(device.stderr())) == 2, 60, "the device's connected line")
        wait_for(lambda: len(err.lines()) == 2, 60, "the collector's connected line")
        assert device.stop() == 0
        again = f"bussdcc mqtt: bridge connected to the broker {url} again; sending the ([0-9]+) events kept"
        assert re.fullmatch(again + " in the outbox", mqtt_lines(device.stderr())[1]), device.stderr()
        assert err.lines()[1] == f"bussdcc mqtt: collector connected to the broker {url} again; recording"
        assert "Traceback" not in device.stderr() + err.text
    finally:
        central.stop()


def test_a_broker_that_accepts_but_does_not_answer_is_said_so(
    broker_factory: BrokerFactory, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    broker: MosquittoBroker = broker_factory()
    url, root, emitted, err = broker.url, tmp_path / "fleet", [], Stderr(capfd)
    central = collector(url, root, emitted)
    try:
        assert central.wait_ready(60)
        # Frozen (SIGSTOP): the kernel still accepts connections, nothing answers them.
        broker.pause()
        device = Device(url, tmp_path / "dev", env={"COUNTER_COUNT": "10"}).start()
        wait_for(lambda: err.lines(), 60, "the collector's line")
        keep_failing(device, central, 2)
        says = f"cannot reach the broker {url} (it accepted the connection but sent no MQTT answer"
        said_once(device, err, says, "mqtt.keepalive")
        assert "kept in the outbox" in mqtt_lines(device.stderr())[0]

        broker.resume()
        wait_for(lambda: recorded_ticks(root) == list(range(10)), 60, "the 10 ticks kept in the outbox")
        wait_for(lambda: len(mqtt_lines(device.stderr())) == 2, 60, "the device's connected line")
        wait_for(lambda: len(err.lines()) == 2, 60, "the collector's connected line")
        assert device.stop() == 0
        assert " again; " in mqtt_lines(device.stderr())[1] and " again; " in err.lines()[1]
    finally:
        central.stop()


def test_a_host_name_that_does_not_resolve_is_said_so(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    url = f"mqtt://{NOWHERE}:1883"
    device = Device(url, tmp_path / "dev", env={"COUNTER_COUNT": "5"}).start()
    emitted: list[Any] = []
    err = Stderr(capfd)
    central = collector(url, tmp_path / "fleet", emitted)
    try:
        keep_failing(device, central, 3)
    finally:
        central.stop()
    assert device.stop() == 0
    says = f"cannot reach the broker {url} (the host name {NOWHERE} does not resolve"
    line = said_once(device, err, says, "check the host name in mqtt.url (BUSSDCC_MQTT_URL)")
    assert [m.reason for m in emitted if isinstance(m, MqttDisconnected)] == [
        line.split("(", 1)[1].split(")")[0]
    ]


@pytest.mark.parametrize("where", ["nothing listens", "no such host"])
def test_fleet_status_and_send_name_the_broker_and_the_cause(where: str) -> None:
    url = f"mqtt://127.0.0.1:{free_port()}" if where == "nothing listens" else f"mqtt://{NOWHERE}"
    cause = (
        "connection refused" if where == "nothing listens" else f"the host name {NOWHERE} does not resolve"
    )
    for argv in (["status"], ["send", "gh1", "SetLevel", '{"level": 3}']):
        done = fleet(url, *argv)
        assert done.returncode == 1, done.stderr
        [line] = done.stderr.strip().splitlines()
        assert line.startswith(f"bussdcc fleet: error: cannot reach the broker {url}"), line
        assert f"({cause}" in line and "check" in line and "--broker" in line, line
        assert ("the command was not sent" in line) == (argv[0] == "send"), line


@contextlib.contextmanager
def backlog_full() -> Iterator[int]:
    """A loopback port whose SYNs go unanswered: a connection attempt to it times out.

    A listening socket with a backlog of 0 that never accepts: one connection fills its accept
    queue, and Linux then drops every SYN (no refusal, no answer), as a firewall that drops
    packets does. Works offline and as any user; the filler is checked to have connected.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=30):
            with socket.socket() as probe:  # the queue is full: a SYN is dropped now
                probe.settimeout(0.5)
                with pytest.raises(TimeoutError):
                    probe.connect(("127.0.0.1", port))
            yield port


def test_a_connection_attempt_nobody_answers_times_out_after_mqtt_connect_timeout(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with backlog_full() as port:
        url = f"mqtt://127.0.0.1:{port}"
        device = Device(
            url, tmp_path / "dev", env={"COUNTER_COUNT": "5", "BUSSDCC_MQTT_CONNECT_TIMEOUT": "0.5"}
        )
        device.start()
        emitted: list[Any] = []
        err = Stderr(capfd)
        config = MqttConfig.of(
            url=url,
            keepalive=2,
            reconnect_min=0.2,
            reconnect_max=1,
            collect_id="central",
            connect_timeout=0.5,
        )
        central = Collector(config, tmp_path / "fleet", emit=emitted.append)
        central.start()
        try:
            # the setting reaches paho (the kernel alone would retry the SYN for minutes)
            assert central._client is not None and central._client.connect_timeout == 0.5
            keep_failing(device, central, 2)
        finally:
            central.stop()
        assert device.stop() == 0
        says = f"cannot reach the broker {url} (no answer to the connection attempt (timed out)); "
        said_once(device, err, says, "check mqtt.url (BUSSDCC_MQTT_URL) and that the broker runs")
        assert [m.reason for m in emitted if isinstance(m, MqttDisconnected)] == [
            "no answer to the connection attempt (timed out)"
        ]
        # --timeout bounds the TCP connect of fleet status and send too
        for argv in (["status"], ["send", "gh1", "SetLevel", '{"level": 3}']):
            done = fleet(url, *argv, "--timeout", "1")
            assert done.returncode == 1, done.stderr
            [line] = done.stderr.strip().splitlines()
            assert line.startswith(f"bussdcc fleet: error: {says}check --broker"), line
            assert ("the command was not sent" in line) == (argv[0] == "send"), line
        assert "Traceback" not in device.stderr() + err.text


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory any user may search (pytest's tmp_path is root's alone)."""
    directory = Path(tempfile.mkdtemp(prefix="bussdcc-unix-"))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_unix_socket_urls_name_the_path_and_the_cause(
    tmp_path: Path, open_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    missing = open_dir / "missing.sock"
    regular = open_dir / "file.sock"
    regular.write_text("")
    causes = {
        missing: f"no socket at {missing}",
        regular: f"{regular} is a file, not a socket",
        open_dir: f"{open_dir} is a directory, not a socket",
        regular / "x.sock": f"no socket at {regular / 'x.sock'}: a part of that path is not a directory",
    }
    for path, cause in causes.items():
        url = f"unix://{path}"
        for argv in (["status"], ["send", "gh1", "SetLevel", '{"level": 3}']):
            done = fleet(url, *argv)
            assert done.returncode == 1, done.stderr
            [line] = done.stderr.strip().splitlines()
            assert line.startswith(f"bussdcc fleet: error: cannot reach the broker {url} ({cause}); "), line
            assert "--broker" in line, line
            assert ("the command was not sent" in line) == (argv[0] == "send"), line

    # The bridge and the collector word them the same way, once.
    device = Device(f"unix://{missing}", tmp_path / "dev", env={"COUNTER_COUNT": "5"}).start()
    emitted: list[Any] = []
    err = Stderr(capfd)
    central = collector(f"unix://{regular}", tmp_path / "fleet", emitted)
    try:
        device.wait_emitted()
        wait_for(lambda: mqtt_lines(device.stderr()), 60, "the device's line")
        seen = attempts(device)
        wait_for(lambda: attempts(device) >= seen + 2, 60, "two more attempts of the device")
        wait_for(lambda: central.failed_attempts >= 3, 60, "three attempts of the collector")
    finally:
        central.stop()
    assert device.stop() == 0
    [line] = mqtt_lines(device.stderr())
    says = f"cannot reach the broker unix://{missing} ({causes[missing]}); check mqtt.url (BUSSDCC_MQTT_URL)"
    assert line.startswith(f"bussdcc mqtt: bridge connect failed: {says}"), line
    [line] = err.lines()
    says = f"cannot reach the broker unix://{regular} ({causes[regular]}); check the path in mqtt.url"
    assert line.startswith(f"bussdcc mqtt: collector connect failed: {says}"), line


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv to run as another user")
def test_a_unix_socket_this_user_may_not_use_is_said_so(open_dir: Path) -> None:
    path = open_dir / "broker.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        listener.listen(1)
        path.chmod(0o600)  # the owner's (root's) alone; connecting needs write access
        url = f"unix://{path}"
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        done = subprocess.run(
            [*nobody, str(BUSSDCC), "fleet", "status", "--broker", url],
            env=clean_env({"BUSSDCC_PLUGINS": "mqtt", "HOME": str(open_dir)}),
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            cwd=open_dir,
        )
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(
        f"bussdcc fleet: error: cannot reach the broker {url} (permission denied: this user may not "
        f"connect to the socket {path} "
    ), line
    assert "check the socket's owner and mode" in line and "--broker" in line, line
