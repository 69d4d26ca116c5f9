"""The ``mqtt.*`` settings fail fast: a wrong value stops ``bussdcc run`` and ``bussdcc fleet
collect`` with exit 2 and one line naming it as the user wrote it; the password never shows."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from bussdcc_framework_mqtt.config import SETTINGS, MqttConfig
from certs import make_pki
from mqtt_helpers import BUSSDCC, clean_env

from bussdcc_framework.settings import SettingError, Settings

#: (variable, value, what the line must say is expected)
BAD_VALUES = [
    ("URL", "http://broker.local", "expected mqtt://HOST[:PORT], mqtts://HOST[:PORT] or unix:///PATH"),
    ("URL", "unix://relative.sock", "expected unix:///ABSOLUTE/PATH"),
    ("URL", "mqtt://user:pw@broker", "no user or password in the URL"),
    ("QOS", "3", "expected an integer from 0 to 2"),
    ("QOS", "one", "expected an integer from 0 to 2"),
    ("MODE", "central", "expected one of device, collector, both"),
    ("NODE", "Greenhouse 3", "expected empty or only a-z, 0-9, '_' and '-', e.g. greenhouse-3"),
    ("SITE", "north/east", "expected only a-z, 0-9, '_' and '-'"),
    ("SITE", "", None),  # empty is the default: allowed
    ("PREFIX", "acme/+", "expected levels of a-z, 0-9, '_' and '-' separated by '/'"),
    ("PREFIX", "/bussdcc", "expected levels of a-z"),
    ("KEEPALIVE", "0", "expected a duration from 1s to 65535s"),
    ("KEEPALIVE", "1.5", "expected whole seconds"),
    ("KEEPALIVE", "20h", "expected a duration from 1s"),
    ("RECONNECT_MIN", "0", "expected a duration from 0.1s to 1h"),
    ("RECONNECT_MAX", "2h", "expected a duration from 0.1s to 1h"),
    ("INFLIGHT", "0", "expected an integer from 1 to 65535"),
    ("OUTBOX_MAX_SIZE", "lots", "expected a size in bytes of at least 0"),
    ("OUTBOX_MAX_AGE", "a week", "expected a duration of at least 0s"),
    ("SESSION_EXPIRY", "0.5", "expected whole seconds"),
    ("CLIENT_ID", "my device", "printable characters without spaces"),
    ("USERNAME", "bob\x1b[2J", "expected printable characters only"),
    ("TLS_CA", "/nonexistent/ca.pem", "expected a readable file (there is none at that path)"),
    ("TLS_CERT", "/", "expected a readable file (that path is not a file)"),
    ("COMMANDS", "maybe", "expected a boolean"),
    ("COLLECT_ID", "Central Collector", "expected only a-z"),
    ("COLLECT_INTERVAL", "0", "expected a duration of at least 1s"),
]


@pytest.mark.parametrize(("name", "value", "expected"), BAD_VALUES)
def test_each_bad_value_is_refused_when_settings_are_resolved(
    name: str, value: str, expected: str | None
) -> None:
    environ = {f"BUSSDCC_MQTT_{name}": value}
    if expected is None:
        Settings.from_declarations(SETTINGS, environ=environ)
        return
    with pytest.raises(SettingError) as caught:
        Settings.from_declarations(SETTINGS, environ=environ)
    message = str(caught.value)
    assert message.startswith(f"BUSSDCC_MQTT_{name}="), message
    assert expected in message, message
    assert "\n" not in message and "\x1b" not in message  # one line, escapes made visible


def run_bussdcc(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BUSSDCC), *args],
        env=clean_env({"BUSSDCC_PLUGINS": "mqtt", **env}),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def assert_stopped(result: subprocess.CompletedProcess[str], *parts: str) -> None:
    """Exit 2, one line on stderr, saying each of ``parts``; nothing started."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for part in parts:
        assert part in lines[0], lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"BUSSDCC_MQTT_URL": "http://broker"}, ["BUSSDCC_MQTT_URL=http://broker is not valid", "mqtt://"]),
        ({"BUSSDCC_MQTT_QOS": "5"}, ["BUSSDCC_MQTT_QOS=5 is not valid: expected an integer from 0 to 2"]),
        ({"BUSSDCC_MQTT_SITE": "Site A"}, ["BUSSDCC_MQTT_SITE='Site A' is not valid", "site-a"]),
        ({"BUSSDCC_MQTT_KEEPALIVE": "0"}, ["BUSSDCC_MQTT_KEEPALIVE=0 is not valid"]),
        (
            {"BUSSDCC_MQTT_URL": "mqtt://127.0.0.1:1", "BUSSDCC_MQTT_RECONNECT_MAX": "0.2"},
            ["BUSSDCC_MQTT_RECONNECT_MAX=0.2 is below mqtt.reconnect_min=0.5 (the default)"],
        ),
    ],
)
def test_a_wrong_environment_value_stops_bussdcc_run_and_fleet_collect(
    env: dict[str, str], says: list[str], tmp_path: Path
) -> None:
    assert_stopped(run_bussdcc("run", **env), "bussdcc: error: ", *says)
    # (--broker would win over BUSSDCC_MQTT_URL: given only when the environment has no URL)
    broker = [] if "BUSSDCC_MQTT_URL" in env else ["--broker", "mqtt://127.0.0.1:1"]
    collect = run_bussdcc("fleet", "collect", *broker, "--record", str(tmp_path / "fleet"), **env)
    assert_stopped(collect, "bussdcc fleet: error: ", *says)
    assert not (tmp_path / "fleet").exists()  # nothing started


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--set", "mqtt.qos=7"], "--set mqtt.qos=7 is not valid: expected an integer from 0 to 2"),
        (["--set", "mqtt.prefix=a/#"], "--set mqtt.prefix='a/#' is not valid: expected levels of a-z"),
        (
            ["--set", "mqtt.inflight=-1"],
            "--set mqtt.inflight=-1 is not valid: expected an integer from 1 to 65535",
        ),
        (["--set", "mqtt.qso=1"], "unknown setting mqtt.qso; did you mean mqtt.qos?"),
    ],
)
def test_a_wrong_set_value_stops_bussdcc_run_and_fleet_collect(
    args: list[str], says: str, tmp_path: Path
) -> None:
    assert_stopped(run_bussdcc("run", *args), "bussdcc: error: ", says)
    collect = run_bussdcc(
        "fleet", "collect", "--broker", "mqtt://127.0.0.1:1", "--record", str(tmp_path), *args
    )
    assert_stopped(collect, "bussdcc fleet: error: ", says)


def test_the_fleet_options_are_named_as_typed(tmp_path: Path) -> None:
    broker = run_bussdcc("fleet", "collect", "--broker", "mqtts://", "--record", str(tmp_path))
    assert_stopped(broker, "--broker mqtts:// is not valid: expected mqtt://HOST[:PORT]")
    status = run_bussdcc("fleet", "status", "--broker", "tcp://broker:1883")
    assert_stopped(status, "--broker tcp://broker:1883 is not valid")
    send = run_bussdcc("fleet", "send", "gh1", "SetLevel", "{}", BUSSDCC_MQTT_URL="mqtt://[::1")
    assert_stopped(send, "BUSSDCC_MQTT_URL='mqtt://[::1' is not valid")


def test_the_password_is_secret_in_bussdcc_settings(tmp_path: Path) -> None:
    shown = run_bussdcc("settings", BUSSDCC_MQTT_PASSWORD="hunter2-env")
    assert shown.returncode == 0, shown.stderr
    [line] = [x for x in shown.stdout.splitlines() if x.startswith("mqtt.password ")]
    assert "***" in line and "environment" in line
    as_json = run_bussdcc("settings", "--json", "--set", "mqtt.password=hunter2-set")
    assert as_json.returncode == 0, as_json.stderr
    [row] = [r for r in json.loads(as_json.stdout) if r["key"] == "mqtt.password"]
    assert row["value"] == "***"
    unset = run_bussdcc("settings", "--json")
    [row] = [r for r in json.loads(unset.stdout) if r["key"] == "mqtt.password"]
    assert row["value"] in ("", None)  # nothing to hide: not shown as ***
    assert "hunter2" not in shown.stdout + shown.stderr + as_json.stdout + as_json.stderr


def test_rules_spanning_two_settings_name_both_as_the_user_set_them(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")

    def config(**environ: str) -> MqttConfig:
        env = {f"BUSSDCC_MQTT_{k.upper()}": v for k, v in environ.items()}
        return MqttConfig.from_settings(Settings.from_declarations(SETTINGS, environ=env))

    with pytest.raises(
        SettingError, match=r"^BUSSDCC_MQTT_TLS_CERT=\S+ needs mqtt.tls_key \(BUSSDCC_MQTT_TLS_KEY\)"
    ):
        config(tls_cert=str(pki.client_cert))
    with pytest.raises(SettingError, match=r"^BUSSDCC_MQTT_TLS_KEY=\S+ needs mqtt.tls_cert"):
        config(tls_key=str(pki.client_key))
    with pytest.raises(
        SettingError, match=r"^BUSSDCC_MQTT_TLS_CA=\S+ is not valid: expected PEM CA certificate"
    ):
        config(url="mqtts://broker", tls_ca=str(pki.client_key))
    with pytest.raises(
        SettingError, match=r"^BUSSDCC_MQTT_TLS_CERT=\S+ with BUSSDCC_MQTT_TLS_KEY=\S+ is not valid"
    ):
        config(tls_cert=str(pki.client_cert), tls_key=str(pki.server_key))  # not its key
    with pytest.raises(
        SettingError, match=r"^BUSSDCC_MQTT_TLS_CA=\S+ is set but BUSSDCC_MQTT_URL=mqtt://b is not TLS"
    ):
        config(url="mqtt://b", tls_ca=str(pki.ca))  # TLS files for a plain connection: a slip
    with pytest.raises(
        SettingError, match=r"^BUSSDCC_MQTT_RECONNECT_MAX=1 is below BUSSDCC_MQTT_RECONNECT_MIN=5"
    ):
        config(reconnect_min="5", reconnect_max="1")
    good = config(
        url="mqtts://127.0.0.1",
        tls_ca=str(pki.ca),
        tls_cert=str(pki.client_cert),
        tls_key=str(pki.client_key),
    )
    assert good.tls is not None and good.tls.cert == pki.client_cert
    assert good.tls.context.cert_store_stats()["x509_ca"] == 1  # the CA given, not the system's


def test_the_password_file_is_read_once_and_the_password_wins(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-file\nsecond line\n")
    assert MqttConfig.of(password_file=secret).password == "from-file"
    assert MqttConfig.of(password_file=secret, password="given").password == "given"
    latin1 = tmp_path / "latin1"
    latin1.write_bytes(b"caf\xe9\n")
    with pytest.raises(
        SettingError, match=r"^mqtt.password_file=\S+ cannot be read .*: give a readable UTF-8 file"
    ):
        MqttConfig.of(password_file=latin1)


def test_defaults_are_written_once_and_derived_values_filled_in() -> None:
    config = MqttConfig.from_settings(None)
    assert config.address is None and not config.enabled and not config.bridge and not config.collect
    assert config.qos == 1 and config.keepalive == 30 and config.site == "default"
    assert config.node and config.client_id == f"bussdcc-default-{config.node}"
    assert config.outbox == Path("mqtt-outbox") and config.outbox_max_size == 256 * 1024**2
    made = MqttConfig.of(url="mqtt://broker.local", node="gh3", mode="both", keepalive="1m")
    assert str(made.address) == "mqtt://broker.local:1883" and made.bridge and made.collect
    assert (made.keepalive, made.client_id) == (60, "bussdcc-default-gh3")
    with pytest.raises(SettingError, match=r"^mqtt.qos=3 is not valid: expected an integer from 0 to 2$"):
        MqttConfig.of(qos=3)
