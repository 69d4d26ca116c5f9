"""Faults against a real Mosquitto, each asserting zero loss after de-duplication: the broker
restarted or down, a device killed while the broker is down, a link cut every few hundred
milliseconds, a silent partition (presence), hostile input, an ACL, TLS and passwords."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from bussdcc_framework_mqtt.testing import MosquittoBroker, TlsFiles
from certs import make_pki
from flaky_proxy import FlakyProxy
from mqtt_helpers import CollectorProcess, Device, Peer, recorded, recorded_ticks, wait_for, wait_for_count

pytestmark = pytest.mark.slow

BrokerFactory = Callable[..., MosquittoBroker]


def collecting(url: str, tmp_path: Path, **env: str) -> tuple[CollectorProcess, Path]:
    record = tmp_path / "fleet"
    collector = CollectorProcess(url, record, tmp_path / "c", env=env).start()
    wait_for(lambda: (record / ".bussdcc-collector.json").exists(), 30, "the collector to subscribe")
    return collector, record


def assert_exactly(record: Path, count: int, node: str = "dev1") -> None:
    ticks = recorded_ticks(record, node)
    repeated = [n for n, c in Counter(ticks).items() if c > 1]
    assert not repeated, f"recorded twice: {repeated[:10]}"
    assert sorted(ticks) == list(range(count)), f"missing: {sorted(set(range(count)) - set(ticks))[:10]}"


def test_broker_restarted_while_a_device_emits(broker: MosquittoBroker, tmp_path: Path) -> None:
    collector, record = collecting(broker.url, tmp_path)
    device = Device(broker.url, tmp_path / "dev", env={"COUNTER_COUNT": "3000", "COUNTER_BURST": "5"}).start()
    wait_for(lambda: len(recorded_ticks(record)) >= 500, 60, "500 ticks before the restart")
    broker.restart(down_for=1.0)
    wait_for_count(lambda: len(recorded_ticks(record)), 3000, "every tick after the restart")
    assert_exactly(record, 3000)
    device.stop()
    collector.stop()


def test_broker_down_while_a_device_emits_and_a_device_killed_meanwhile(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    collector, record = collecting(broker.url, tmp_path)
    device = Device(broker.url, tmp_path / "dev", env={"COUNTER_COUNT": "1000", "COUNTER_BURST": "20"})
    broker.stop()
    device.start()
    device.wait_emitted()
    device.kill()  # SIGKILL while the broker is down: only the outbox holds the events
    device.start(COUNTER_START="1000", COUNTER_COUNT="1000")  # a new boot, still no broker
    device.wait_emitted()
    broker.start()
    wait_for_count(lambda: len(recorded_ticks(record)), 2000, "both boots' ticks")
    assert_exactly(record, 2000)
    boots = {r["boot"] for r in recorded(record) if r.get("type") == "counter_app:Tick"}
    assert len(boots) == 2
    assert all(r["historical"] for r in recorded(record) if r.get("type") == "counter_app:Tick")
    device.stop()
    collector.stop()


def test_a_link_cut_every_few_hundred_milliseconds(
    broker: MosquittoBroker, proxy: FlakyProxy, tmp_path: Path
) -> None:
    collector, record = collecting(broker.url, tmp_path)
    device = Device(proxy.url, tmp_path / "dev", env={"COUNTER_COUNT": "2000", "COUNTER_BURST": "3"})
    device.start()
    wait_for(lambda: recorded_ticks(record), 60, "the first tick")
    proxy.cut_every(0.3)
    wait_for(lambda: len(set(recorded_ticks(record))) >= 2000 or proxy.cuts > 200, 180, "the ticks")
    proxy.stop_cutting()
    wait_for_count(lambda: len(set(recorded_ticks(record))), 2000, "every tick once the link holds")
    assert proxy.cuts >= 5
    assert_exactly(record, 2000)
    device.stop()
    collector.stop()


def test_presence_offline_within_two_and_a_half_keepalives_of_a_silent_partition(
    broker: MosquittoBroker, proxy: FlakyProxy, tmp_path: Path
) -> None:
    assert broker.port is not None
    watcher = Peer(broker.host, broker.port)
    watcher.subscribe("bussdcc/v1/default/dev1/status")
    keepalive = 2.0
    device = Device(proxy.url, tmp_path / "dev", env={"COUNTER_COUNT": "0"}).start()

    def states() -> list[dict[str, object]]:
        return [json.loads(m.payload) for m in watcher.received()]

    wait_for(lambda: states() and states()[-1]["state"] == "online", 30, "online")
    before = len(states())
    proxy.partition()
    started = time.monotonic()
    wait_for(lambda: len(states()) > before and states()[-1]["state"] == "offline", 30, "offline")
    elapsed = watcher.arrivals[-1] - started  # when it arrived, not when this thread looked
    assert elapsed <= 2.5 * keepalive, f"offline after {elapsed:.1f} s"
    session = states()[-1]["session"]
    proxy.heal()
    wait_for(lambda: states()[-1]["state"] == "online", 60, "online again")
    assert int(states()[-1]["session"]) > int(session)  # type: ignore[call-overload]
    device.stop()
    watcher.close()


def test_hostile_input_is_counted_reported_once_per_kind_and_never_imported(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    marker = tmp_path / "evil-imported"
    collector, record = collecting(broker.url, tmp_path, EVIL_MARKER=str(marker))
    assert broker.port is not None
    peer = Peer(broker.host, broker.port).wait_connected()
    good = {
        "time": "2026-03-09T12:00:00+00:00",
        "type": "evil_module:Thing",
        "data": {"n": 1},
        "site": "default",
        "node": "dev1",
        "boot": "b",
        "seq": 1,
        "historical": False,
    }
    evt = "bussdcc/v1/default/dev1/evt/thing"
    garbage = [
        (evt, b"not json at all"),
        (evt, b'{"time": "\xff\xfe"}'),  # invalid UTF-8
        (evt, b"[" * 10 * 1024 * 1024),  # 10 MB
        (evt, json.dumps({**good, "seq": "seven"}).encode()),  # wrong field type
        (evt, json.dumps({**good, "node": "dev2"}).encode()),  # forged: another node's event
        (evt, json.dumps({**good, "type": "no colon"}).encode()),
        (evt, json.dumps({**good, "time": "yesterday"}).encode()),
        (evt, json.dumps({**good, "seq": 2, "data": {"n": 2}, "severity": "loud"}).encode()),
        (evt, json.dumps({**good, "seq": 3, "data": {"n": 3}, "severity": 40}).encode()),
        (
            "bussdcc/v1/default/dev1/status",  # forged status for another node
            json.dumps(
                {"state": "offline", "node": "dev2", "site": "default", "boot": "x", "session": 9}
            ).encode(),
        ),
        ("bussdcc/v1/Bad Site/dev1/status", b"{}"),
    ]
    for _ in range(2):
        for topic, body in garbage:
            peer.publish(topic, body).wait_for_publish(30)
    peer.publish(evt, json.dumps(good).encode()).wait_for_publish(10)
    rows = wait_for(lambda: recorded(record), 30, "the one good record")
    collector.stop()
    assert [r["data"] for r in rows] == [{"n": 1}]
    assert rows[0]["type"] == "evil_module:Thing"  # unknown type kept as it was sent
    assert not marker.exists(), "a module named in data was imported"
    log = collector.stderr()
    kinds = [line.split("(")[1].split(")")[0] for line in log.splitlines() if "refused a message" in line]
    assert sorted(kinds) == sorted(set(kinds))  # once per kind
    assert set(kinds) >= {"bad_json", "too_large", "bad_envelope", "wrong_node", "bad_type_name", "bad_time"}
    assert "Traceback" not in log
    peer.close()


ACL = """\
# Devices: user name = node id; each may write only its own topics and read its commands.
pattern write bussdcc/v1/default/%u/status
pattern write bussdcc/v1/default/%u/birth
pattern write bussdcc/v1/default/%u/evt/+
pattern write bussdcc/v1/default/%u/cmd_res
pattern read bussdcc/v1/default/%u/status
pattern read bussdcc/v1/default/%u/cmd/+

user collector
topic read bussdcc/v1/#
topic write bussdcc/v1/+/+/cmd/+
"""


def password_file(directory: Path, users: dict[str, str]) -> Path:
    path = directory / "passwords"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    for user, password in users.items():
        subprocess.run(["mosquitto_passwd", "-b", str(path), user, password], check=True, timeout=30)
    return path


def test_an_acl_confines_each_device_to_its_own_topics(broker_factory: BrokerFactory, tmp_path: Path) -> None:
    users = {"dev1": "pw1", "dev2": "pw2", "collector": "pwc"}
    acl = tmp_path / "acl"
    acl.write_text(ACL)
    secured = broker_factory("secured", password_file=password_file(tmp_path, users), acl_file=acl)
    (tmp_path / "pw-file").write_text("pwc\n")
    collector, record = collecting(
        secured.url,
        tmp_path,
        BUSSDCC_MQTT_USERNAME="collector",
        BUSSDCC_MQTT_PASSWORD_FILE=str(tmp_path / "pw-file"),
    )
    device = Device(
        secured.url,
        tmp_path / "dev",
        env={"COUNTER_COUNT": "50", "BUSSDCC_MQTT_USERNAME": "dev1", "BUSSDCC_MQTT_PASSWORD": "pw1"},
    ).start()
    wait_for(lambda: len(recorded_ticks(record)) >= 50, 60, "dev1's ticks")
    # dev1 tries to publish as dev2: the broker drops it
    assert secured.port is not None
    impostor = Peer(secured.host, secured.port, username="dev1", password="pw1").wait_connected()
    forged = {
        "time": "2026-03-09T12:00:00+00:00",
        "type": "counter_app:Tick",
        "data": {"n": 999},
        "site": "default",
        "node": "dev2",
        "boot": "b",
        "seq": 1,
        "historical": False,
    }
    impostor.publish("bussdcc/v1/default/dev2/evt/tick", json.dumps(forged)).wait_for_publish(10)
    impostor.publish("bussdcc/v1/default/dev1/evt/tick", json.dumps({**forged, "node": "dev1", "seq": 10**6}))
    wait_for(lambda: 999 in recorded_ticks(record), 30, "the impostor's own-topic event")
    assert recorded(record, "dev2") == []
    # a wrong password is refused and reported once, without a crash
    intruder = Device(
        secured.url,
        tmp_path / "intruder",
        node="dev2",
        env={"COUNTER_COUNT": "5", "BUSSDCC_MQTT_USERNAME": "dev2", "BUSSDCC_MQTT_PASSWORD": "wrong"},
    ).start()
    wait_for(lambda: "refused" in intruder.stderr(), 30, "the refusal")
    assert intruder.stderr().count("refused") == 1
    assert intruder.stop() == 0
    device.stop()
    collector.stop()
    impostor.close()


def test_tls_with_a_generated_ca(broker_factory: BrokerFactory, tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    secure = broker_factory("tls", tls=TlsFiles(pki.ca, pki.server_cert, pki.server_key))
    assert secure.url.startswith("mqtts://")
    collector, record = collecting(secure.url, tmp_path, BUSSDCC_MQTT_TLS_CA=str(pki.ca))
    device = Device(
        secure.url, tmp_path / "dev", env={"COUNTER_COUNT": "50", "BUSSDCC_MQTT_TLS_CA": str(pki.ca)}
    )
    device.start()
    wait_for(lambda: len(recorded_ticks(record)) >= 50, 60, "ticks over TLS")
    assert_exactly(record, 50)
    # without the CA the broker's certificate is not trusted: nothing is sent, nothing crashes
    refused = secure.log_text().count("alert unknown ca")
    stranger = Device(secure.url, tmp_path / "stranger", node="dev3", env={"COUNTER_COUNT": "5"}).start()
    stranger.wait_emitted()
    wait_for(lambda: secure.log_text().count("alert unknown ca") >= refused + 2, 60, "two refused handshakes")
    assert ticks_in_outbox(stranger) == 5
    assert recorded(record, "dev3") == []
    assert stranger.stop() == 0
    device.stop()
    collector.stop()


def ticks_in_outbox(device: Device) -> int:
    """Ticks the device still holds (not acknowledged by the broker), read beside the bridge."""
    path = device.workdir / "outbox" / "outbox.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
        query = "SELECT count(*) FROM events WHERE topic LIKE '%/evt/tick'"
        return int(db.execute(query).fetchone()[0])


def test_mutual_tls_refuses_a_device_without_a_certificate_from_the_ca(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path / "pki")
    collector_cert, collector_key = pki.issue("collector", "collector")
    other = make_pki(tmp_path / "other-pki")  # a CA the broker does not trust
    secure = broker_factory(
        "mtls", tls=TlsFiles(pki.ca, pki.server_cert, pki.server_key, require_certificate=True)
    )
    collector, record = collecting(
        secure.url,
        tmp_path,
        BUSSDCC_MQTT_TLS_CA=str(pki.ca),
        BUSSDCC_MQTT_TLS_CERT=str(collector_cert),
        BUSSDCC_MQTT_TLS_KEY=str(collector_key),
    )
    device = Device(
        secure.url,
        tmp_path / "dev",
        env={
            "COUNTER_COUNT": "50",
            "BUSSDCC_MQTT_TLS_CA": str(pki.ca),
            "BUSSDCC_MQTT_TLS_CERT": str(pki.client_cert),
            "BUSSDCC_MQTT_TLS_KEY": str(pki.client_key),
        },
    ).start()
    wait_for(lambda: len(recorded_ticks(record)) >= 50, 60, "ticks over mutual TLS")
    assert_exactly(record, 50)

    def refusals(reason: str) -> int:
        return secure.log_text().count(reason)

    # Without a certificate, and with one from another CA: the broker ends the handshake. Each
    # device keeps its events (all still in its outbox after two refused attempts) and runs on.
    for node, cert, reason, says in (
        ("dev3", None, "peer did not return a certificate", "requires a client certificate"),
        (
            "dev4",
            (other.client_cert, other.client_key),
            "certificate verify failed",
            "does not accept the client certificate",
        ),
    ):
        before = refusals(reason)
        env = {"COUNTER_COUNT": "5", "BUSSDCC_MQTT_TLS_CA": str(pki.ca)}
        if cert is not None:
            env |= {"BUSSDCC_MQTT_TLS_CERT": str(cert[0]), "BUSSDCC_MQTT_TLS_KEY": str(cert[1])}
        stranger = Device(secure.url, tmp_path / node, node=node, env=env).start()
        stranger.wait_emitted()
        wait_for(lambda r=reason, b=before: refusals(r) >= b + 2, 60, f"two refused handshakes of {node}")
        assert ticks_in_outbox(stranger) == 5, f"{node}'s ticks left its outbox"
        assert stranger.stop() == 0, stranger.stderr()
        [line] = [x for x in stranger.stderr().splitlines() if x.startswith("bussdcc mqtt:")]
        assert says in line and "mqtt.tls_cert" in line, line  # one line, saying what to do
        assert recorded(record, node) == []
    device.stop()
    collector.stop()
    assert "Traceback" not in collector.stderr()
