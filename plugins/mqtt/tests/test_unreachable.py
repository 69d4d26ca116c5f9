"""A broker that cannot be reached (nothing listens on the port, a host name that does not
resolve): one line per outage and kind of cause, naming the URL, the cause and the setting to
check; one line when the connection works again; nothing lost meanwhile. Against a real
Mosquitto, stopped and started on the same port; every wait is on a condition (retries counted
by the device's persisted session counter and the collector's ``failed_attempts``)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bussdcc_framework_mqtt.collector import Collector
from bussdcc_framework_mqtt.config import MqttConfig
from bussdcc_framework_mqtt.messages import MqttDisconnected
from bussdcc_framework_mqtt.testing import MosquittoBroker, free_port
from mqtt_helpers import BUSSDCC, Device, clean_env, recorded_ticks, wait_for

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
        device.wait_emitted()
        wait_for(lambda: mqtt_lines(device.stderr()), 60, "the device's line")
        wait_for(lambda: err.lines(), 60, "the collector's line")
        seen, failed = attempts(device), central.failed_attempts
        wait_for(lambda: attempts(device) >= seen + 2, 60, "two more attempts of the device")
        wait_for(lambda: central.failed_attempts >= failed + 2, 60, "two more attempts of the collector")
        says = f"cannot reach the broker {url} (it accepted the connection but sent no MQTT answer"
        [line] = mqtt_lines(device.stderr())
        assert line.startswith(f"bussdcc mqtt: bridge connect failed: {says}"), line
        assert "mqtt.keepalive" in line and "kept in the outbox" in line, line
        [line] = err.lines()
        assert line.startswith(f"bussdcc mqtt: collector connect failed: {says}"), line

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
        device.wait_emitted()
        wait_for(lambda: mqtt_lines(device.stderr()), 60, "the device's line")
        seen = attempts(device)
        wait_for(lambda: attempts(device) >= seen + 3, 60, "three more attempts of the device")
        wait_for(lambda: central.failed_attempts >= 4, 60, "four attempts of the collector")
    finally:
        central.stop()
    assert device.stop() == 0
    says = f"cannot reach the broker {url} (the host name {NOWHERE} does not resolve"
    [line] = mqtt_lines(device.stderr())
    assert line.startswith(f"bussdcc mqtt: bridge connect failed: {says}"), line
    assert "check the host name in mqtt.url (BUSSDCC_MQTT_URL)" in line, line
    [line] = err.lines()
    assert line.startswith(f"bussdcc mqtt: collector connect failed: {says}"), line
    assert [m.reason for m in emitted if isinstance(m, MqttDisconnected)] == [
        line.split("(", 1)[1].split(")")[0]
    ]


@pytest.mark.parametrize("where", ["nothing listens", "no such host"])
def test_fleet_status_and_send_name_the_broker_and_the_cause(where: str) -> None:
    url = f"mqtt://127.0.0.1:{free_port()}" if where == "nothing listens" else f"mqtt://{NOWHERE}"
    cause = (
        "connection refused" if where == "nothing listens" else f"the host name {NOWHERE} does not resolve"
    )
    env = clean_env({"BUSSDCC_PLUGINS": "mqtt"})
    for argv in (["status"], ["send", "gh1", "SetLevel", '{"level": 3}']):
        done = subprocess.run(
            [str(BUSSDCC), "fleet", *argv, "--broker", url],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 1, done.stderr
        [line] = done.stderr.strip().splitlines()
        assert line.startswith(f"bussdcc fleet: error: cannot reach the broker {url}"), line
        assert f"({cause}" in line and "check" in line and "--broker" in line, line
        assert ("the command was not sent" in line) == (argv[0] == "send"), line
