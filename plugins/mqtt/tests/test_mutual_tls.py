"""Mutual TLS (``mqtt.tls_cert``, ``mqtt.tls_key``) against a real Mosquitto listener with
``require_certificate true``: a certificate from the broker's CA connects (and, with
``use_identity_as_username``, its common name is the user the ACL confines); a missing or
foreign certificate, or an untrusted broker, is one clear line naming the setting to change;
a wrong, mismatched or encrypted key stops start-up with exit 2 and one line, never a hang."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import sqlite3
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from bussdcc_framework_mqtt.testing import MosquittoBroker, TlsFiles
from certs import Pki, make_pki
from mqtt_helpers import (
    BUSSDCC,
    CollectorProcess,
    Device,
    Peer,
    clean_env,
    events,
    fleet,
    unique_ns,
    wait_for,
)

pytestmark = pytest.mark.slow

BrokerFactory = Callable[..., MosquittoBroker]

#: Each certificate's common name is its user: a device reads and writes only its own topics.
IDENTITY_ACL = """\
pattern readwrite bussdcc/v1/default/%u/#

user collector
topic read bussdcc/v1/#
"""


def mutual_tls_broker(broker_factory: BrokerFactory, pki: Pki, **options: object) -> MosquittoBroker:
    tls = TlsFiles(pki.ca, pki.server_cert, pki.server_key, require_certificate=True)
    return broker_factory("mtls", tls=tls, **options)


def client_context(pki: Pki, cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    context.load_cert_chain(str(cert), str(key))
    return context


def tls_env(ca: Path, cert: Path | None = None, key: Path | None = None) -> dict[str, str]:
    env = {"BUSSDCC_MQTT_TLS_CA": str(ca)}
    if cert is not None and key is not None:
        env |= {"BUSSDCC_MQTT_TLS_CERT": str(cert), "BUSSDCC_MQTT_TLS_KEY": str(key)}
    return env


def mqtt_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("bussdcc mqtt:")]


def test_a_certificate_from_the_ca_connects_and_its_common_name_is_the_acl_user(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path / "pki")
    gh1_cert, gh1_key = pki.issue("gh1", "gh1")
    collector_cert, collector_key = pki.issue("collector", "collector")
    acl = tmp_path / "acl"
    acl.write_text(IDENTITY_ACL)
    broker = broker_factory(
        "mtls",
        tls=TlsFiles(
            pki.ca,
            pki.server_cert,
            pki.server_key,
            require_certificate=True,
            use_identity_as_username=True,
        ),
        acl_file=acl,
    )
    assert "use_identity_as_username true" in broker.config_path.read_text()
    assert broker.port is not None
    peer = Peer(broker.host, broker.port, tls=client_context(pki, collector_cert, collector_key))
    peer.subscribe("bussdcc/v1/#")
    device = Device(
        broker.url,
        tmp_path / "gh1",
        node="gh1",
        env={"COUNTER_COUNT": "20", **tls_env(pki.ca, gh1_cert, gh1_key)},
    ).start()
    wait_for(lambda: unique_ns(events(peer, "gh1")) == list(range(20)), 60, "gh1's 20 ticks over mutual TLS")
    # A broker killed mid-session: a lost link, reconnected with the same certificate and no
    # line about certificates (only TLS errors before the CONNACK are refusals).
    connects = broker.log_text().count("as bussdcc-default-gh1 ")
    broker.kill()
    broker.start()
    wait_for(lambda: broker.log_text().count("as bussdcc-default-gh1 ") > connects, 60, "gh1 reconnected")
    assert device.stop() == 0
    # (a reconnect that found the broker still down may say so: "cannot reach", "again")
    assert [x for x in mqtt_lines(device.stderr()) if "certificate" in x or "TLS" in x] == []
    peer.close()
    peer = Peer(broker.host, broker.port, tls=client_context(pki, collector_cert, collector_key))
    peer.subscribe("bussdcc/v1/#")

    # The certificate, not the client id or the topic, says who a client is: gh1's certificate
    # cannot publish as gh2. Same connection, so the own-topic event arrives after the forged one.
    impostor = Peer(broker.host, broker.port, tls=client_context(pki, gh1_cert, gh1_key)).wait_connected()
    forged = {"type": "counter_app:Tick", "data": {"n": 999}, "node": "gh2", "boot": "b", "seq": 1}
    impostor.publish("bussdcc/v1/default/gh2/evt/tick", json.dumps(forged)).wait_for_publish(30)
    impostor.publish("bussdcc/v1/default/gh1/evt/tick", json.dumps({**forged, "node": "gh1"}))
    wait_for(lambda: any(p["data"]["n"] == 999 for p in events(peer, "gh1")), 30, "the own-topic event")
    assert events(peer, "gh2") == []
    impostor.close()
    peer.close()


@pytest.mark.parametrize(
    ("case", "says", "broker_logs"),
    [
        ("no certificate", "requires a client certificate", "peer did not return a certificate"),
        ("another CA", "does not accept the client certificate", "certificate verify failed"),
        ("untrusted broker", "is not trusted by", "alert unknown ca"),
    ],
)
def test_a_refused_device_says_what_to_do_in_one_line_and_keeps_its_events(
    broker_factory: BrokerFactory, tmp_path: Path, case: str, says: str, broker_logs: str
) -> None:
    pki = make_pki(tmp_path / "pki")
    other = make_pki(tmp_path / "other", ca_name="another CA")  # the broker does not know it
    broker = mutual_tls_broker(broker_factory, pki)
    env = {
        "no certificate": tls_env(pki.ca),
        "another CA": tls_env(pki.ca, other.client_cert, other.client_key),
        "untrusted broker": tls_env(other.ca, pki.client_cert, pki.client_key),
    }[case]
    device = Device(broker.url, tmp_path / "dev", env={"COUNTER_COUNT": "5", **env}).start()
    device.wait_emitted()
    wait_for(lambda: mqtt_lines(device.stderr()), 60, "the refusal line")
    # two more refused handshakes (the device retries with backoff): still one line
    seen = broker.log_text().count(broker_logs)
    wait_for(lambda: broker.log_text().count(broker_logs) >= seen + 2, 60, "two more refused handshakes")
    assert device.stop() == 0
    [line] = mqtt_lines(device.stderr())
    assert line.startswith("bussdcc mqtt: bridge connect failed: "), line
    assert says in line and str(broker.url) in line, line
    if case == "no certificate":
        assert "set mqtt.tls_cert and mqtt.tls_key (BUSSDCC_MQTT_TLS_CERT, BUSSDCC_MQTT_TLS_KEY)" in line
    elif case == "another CA":
        assert str(other.client_cert) in line and "signed by the CA the broker trusts" in line, line
    else:
        assert f"not trusted by {other.ca}" in line and "set mqtt.tls_ca (BUSSDCC_MQTT_TLS_CA)" in line
    assert "Traceback" not in device.stderr()
    # the events stay queued for when the certificate is fixed
    path = device.workdir / "outbox" / "outbox.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
        query = "SELECT count(*) FROM events WHERE topic LIKE '%/evt/tick'"
        assert db.execute(query).fetchone()[0] == 5


def test_a_refused_collector_and_fleet_status_say_what_to_do(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path / "pki")
    broker = mutual_tls_broker(broker_factory, pki)
    collector = CollectorProcess(broker.url, tmp_path / "fleet", tmp_path / "c", env=tls_env(pki.ca)).start()
    wait_for(lambda: mqtt_lines(collector.stderr()), 60, "the collector's refusal line")
    assert collector.stop() == 0
    [line] = mqtt_lines(collector.stderr())
    assert line.startswith("bussdcc mqtt: collector connect failed: the broker "), line
    assert "requires a client certificate" in line and "mqtt.tls_cert" in line, line

    status = fleet(broker.url, "status", "--timeout", "60", env=tls_env(pki.ca))
    assert status.returncode == 1, status.stderr
    [line] = status.stderr.strip().splitlines()
    assert line.startswith(f"bussdcc fleet: error: the broker {broker.url} "), line
    assert "requires a client certificate" in line and "set mqtt.tls_cert and mqtt.tls_key" in line, line
    # the broker's certificate not trusted: refused in the handshake itself (connect() raises)
    other = make_pki(tmp_path / "other", ca_name="another CA")
    untrusted = fleet(broker.url, "status", env=tls_env(other.ca, pki.client_cert, pki.client_key))
    assert untrusted.returncode == 1, untrusted.stderr
    [line] = untrusted.stderr.strip().splitlines()
    assert f"the certificate of the broker {broker.url} is not trusted by {other.ca}" in line, line


def run_in_terminal(argv: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    """Run ``argv`` with a terminal as its controlling tty (where OpenSSL would prompt)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once (nothing else may run after a fork)
        os.execve(argv[0], argv, env)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        else:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"still running after {timeout:g} s; it printed: {output!r}")
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def test_wrong_certificate_and_key_files_stop_start_up_with_one_line(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    encrypted = tmp_path / "encrypted.key"
    subprocess.run(
        [
            "openssl",
            "pkey",
            "-in",
            str(pki.client_key),
            "-aes256",
            "-passout",
            "pass:secret",
            "-out",
            str(encrypted),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    url = {"BUSSDCC_MQTT_URL": "mqtts://127.0.0.1:1", "BUSSDCC_MQTT_TLS_CA": str(pki.ca)}
    cases = [
        (
            {"BUSSDCC_MQTT_TLS_CERT": str(pki.client_cert), "BUSSDCC_MQTT_TLS_KEY": str(pki.server_key)},
            f"BUSSDCC_MQTT_TLS_CERT={pki.client_cert} with BUSSDCC_MQTT_TLS_KEY={pki.server_key} "
            "is not valid: expected a PEM certificate and its unencrypted private key",
        ),
        (
            {
                "BUSSDCC_MQTT_TLS_CERT": str(pki.client_cert),
                "BUSSDCC_MQTT_TLS_KEY": str(tmp_path / "gone.key"),
            },
            f"BUSSDCC_MQTT_TLS_KEY={tmp_path / 'gone.key'} is not valid: expected a readable file",
        ),
        (
            {
                "BUSSDCC_MQTT_TLS_CERT": str(tmp_path / "gone.crt"),
                "BUSSDCC_MQTT_TLS_KEY": str(pki.client_key),
            },
            f"BUSSDCC_MQTT_TLS_CERT={tmp_path / 'gone.crt'} is not valid: expected a readable file",
        ),
        (
            {"BUSSDCC_MQTT_TLS_CERT": str(pki.client_cert), "BUSSDCC_MQTT_TLS_KEY": str(encrypted)},
            f"BUSSDCC_MQTT_TLS_KEY={encrypted} is encrypted (it needs a passphrase)",
        ),
    ]
    for env, says in cases:
        for args in (["run"], ["fleet", "collect", "--record", str(tmp_path / "fleet")]):
            result = subprocess.run(
                [str(BUSSDCC), *args],
                env=clean_env({"BUSSDCC_PLUGINS": "mqtt", **url, **env}),
                capture_output=True,
                text=True,
                timeout=120,
                stdin=subprocess.DEVNULL,
            )
            assert result.returncode == 2, (args, result.returncode, result.stderr)
            [line] = result.stderr.strip().splitlines()
            assert says in line, line
    assert not (tmp_path / "fleet").exists()  # nothing started
    # In a terminal OpenSSL would prompt for the passphrase and start-up would wait for ever.
    code, output = run_in_terminal(
        [str(BUSSDCC), "run"],
        clean_env(
            {"BUSSDCC_PLUGINS": "mqtt", **url, **tls_env(pki.ca, pki.client_cert, encrypted), "TERM": "dumb"}
        ),
    )
    assert code == 2, output
    assert "pass phrase" not in output and "is encrypted (it needs a passphrase)" in output, output


def test_a_refusal_seen_as_an_eof_is_the_same_advice_and_one_line(tmp_path: Path) -> None:
    """A broker may close before its alert arrives: the EOF reads as the same kind of refusal."""
    from bussdcc_framework_mqtt.address import parse_address
    from bussdcc_framework_mqtt.client import tls_advice
    from bussdcc_framework_mqtt.config import MqttConfig
    from bussdcc_framework_mqtt.reporting import Reporter

    pki = make_pki(tmp_path / "pki")
    address = parse_address("mqtts://broker.local")
    without = MqttConfig.of(url="mqtts://broker.local", tls_ca=str(pki.ca)).tls
    with_cert = MqttConfig.of(
        url="mqtts://broker.local",
        tls_ca=str(pki.ca),
        tls_cert=str(pki.client_cert),
        tls_key=str(pki.client_key),
    ).tls
    eof = ssl.SSLEOFError(8, "EOF occurred in violation of protocol (_ssl.c:2427)")
    alert = ssl.SSLError(1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required")
    alert.reason = "TLSV13_ALERT_CERTIFICATE_REQUIRED"
    assert (
        tls_advice(eof, address, without).kind == tls_advice(alert, address, without).kind == "cert_required"
    )
    assert (
        tls_advice(eof, address, with_cert).kind
        == tls_advice(alert, address, with_cert).kind
        == "cert_refused"
    )
    line = tls_advice(eof, address, without).line
    assert line.startswith(
        "the broker mqtts://broker.local:8883 ended the TLS connection: it probably requires"
    )
    assert "(EOF occurred in violation of protocol)" in line and "_ssl.c" not in line
    assert str(pki.client_cert) in tls_advice(eof, address, with_cert).line
    other = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    assert tls_advice(other, address, without).kind == "other"
    reporter = Reporter("bridge")
    assert reporter.error(None, "connect", tls_advice(eof, address, without).line, kind="tls-cert_required")
    assert not reporter.error(
        None, "connect", tls_advice(alert, address, without).line, kind="tls-cert_required"
    )


def test_fleet_send_over_tls_runs_the_command_and_a_refusal_names_the_setting(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path / "pki")
    broker = mutual_tls_broker(broker_factory, pki)
    assert broker.url.startswith("mqtts://")
    gh1_cert, gh1_key = pki.issue("gh1", "gh1")
    device = Device(
        broker.url, tmp_path / "dev", env={"COUNTER_COUNT": "0", **tls_env(pki.ca, gh1_cert, gh1_key)}
    )
    device.start()
    sender = tls_env(pki.ca, pki.client_cert, pki.client_key)
    argv = [str(BUSSDCC), "fleet", "send", "dev1", "SetLevel", '{"level": 7}', "--broker", broker.url]

    def send(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*argv, *extra],
            env=clean_env({"BUSSDCC_PLUGINS": "mqtt", **env}),
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    try:
        # the device is subscribed once its birth is retained; the command then finds it
        wait_for(lambda: "bussdcc-default-dev1" in broker.log_text(), 60, "the device's connection")
        done = wait_for(
            lambda: (r := send(sender, "--timeout", "20")).returncode == 0 and r, 120, "the answer"
        )
        answer = json.loads(done.stdout)
        assert answer["ok"] is True and answer["type"] == "counter_app:SetLevel", done.stdout

        # no client certificate: the broker refuses, the line names the settings and says
        # that nothing was sent
        refused = send(tls_env(pki.ca), "--timeout", "60")
        assert refused.returncode == 1, refused.stderr
        [line] = refused.stderr.strip().splitlines()
        assert line.startswith(f"bussdcc fleet: error: the broker {broker.url} "), line
        assert "requires a client certificate" in line and "set mqtt.tls_cert and mqtt.tls_key" in line, line
        assert line.endswith("; the command was not sent"), line
        # the broker's certificate not trusted (the system's CAs): refused in the handshake
        untrusted = send(
            {"BUSSDCC_MQTT_TLS_CERT": str(pki.client_cert), "BUSSDCC_MQTT_TLS_KEY": str(pki.client_key)}
        )
        assert untrusted.returncode == 1, untrusted.stderr
        [line] = untrusted.stderr.strip().splitlines()
        assert f"the certificate of the broker {broker.url} is not trusted by the system's CAs" in line, line
        assert "set mqtt.tls_ca (BUSSDCC_MQTT_TLS_CA)" in line and line.endswith(
            "; the command was not sent"
        ), line
        assert "Traceback" not in done.stderr + refused.stderr + untrusted.stderr
    finally:
        assert device.stop() == 0
