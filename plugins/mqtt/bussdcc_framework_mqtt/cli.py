"""``bussdcc fleet``: collect a fleet, see who is online, send a command to a node.

``fleet collect`` is ``bussdcc run`` with the collector on (``mqtt.mode=collector``): the other
plugins run too, so the web plugin serves the fleet page and the console shows presence.
``status`` and ``send`` are short-lived clients with a clean session of their own.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import click

from bussdcc_framework.cli.options import set_option
from bussdcc_framework.report import report
from bussdcc_framework.settings import Override, SettingError, parse_assignment, written

from .config import MqttConfig
from .topics import FleetTopics, TopicError, check_level, type_level


def _fail(message: str, code: int = 1) -> None:
    report(f"bussdcc fleet: error: {message}")
    sys.exit(code)


def _options(broker: str | None, record: str | None = None) -> dict[str, Any]:
    """The command's options as settings overrides, each remembered as typed (for errors)."""
    overrides: dict[str, Any] = {}
    if broker is not None:
        overrides["mqtt.url"] = Override(broker, written("--broker ", broker))
    if record is not None:
        overrides["mqtt.collect_dir"] = Override(record, written("--record ", record))
    return overrides


def _config(broker: str | None) -> MqttConfig:
    """The mqtt configuration from settings, with ``--broker`` on top; exit 2 if wrong."""
    from bussdcc_framework.plugins import load_settings

    try:
        config = MqttConfig.from_settings(load_settings(_options(broker)))
    except SettingError as exc:
        _fail(str(exc), 2)
    if config.address is None:
        _fail("no broker: give --broker mqtt://HOST[:PORT] or set BUSSDCC_MQTT_URL", 2)
    return config


@click.group("fleet")
def fleet_command() -> None:
    """Fleets over MQTT: collect every node's events, show presence, send commands."""


@fleet_command.command("collect")
@click.option("--broker", metavar="URL", help="Broker URL (default: BUSSDCC_MQTT_URL).")
@click.option("--record", "record", metavar="DIR", help="Record each node under DIR/<site>/<node>/.")
@set_option()
def collect_command(broker: str | None, record: str | None, assignments: tuple[str, ...]) -> None:
    """Record the fleet until Ctrl-C (the web plugin, if enabled, serves the fleet page)."""
    from bussdcc_framework.plugins import load_plugins, load_settings
    from bussdcc_framework.runtime import Runtime, run_with_signals

    overrides: dict[str, Any] = {}
    try:
        for text in assignments:
            key, value = parse_assignment(text)
            overrides[key] = value
        overrides.update(_options(broker, record))
        overrides.setdefault("mqtt.mode", "collector")  # --set mqtt.mode=both also bridges
        pm = load_plugins()
        settings = load_settings(overrides, plugins=pm)
        config = MqttConfig.from_settings(settings)
    except SettingError as exc:
        _fail(str(exc), 2)
    if config.address is None:
        _fail("no broker: give --broker mqtt://HOST[:PORT] or set BUSSDCC_MQTT_URL", 2)
    report(
        f"bussdcc fleet: collecting {config.prefix}/v1/+/+ from {config.address} into {config.collect_dir}/ "
        "(Ctrl-C to stop)"
    )
    try:
        runtime = Runtime.from_plugins(settings=settings, plugins=pm)
    except SettingError as exc:
        _fail(str(exc), 2)
    run_with_signals(runtime)


class _Session:
    """A short-lived clean-session client for the terminal commands."""

    def __init__(self, config: MqttConfig, suffix: str, timeout: float, note: str = "") -> None:
        from .client import TlsErrors, make_client

        assert config.address is not None
        self.config = config
        self.note = note  # what the user should know when the broker cannot be reached
        self.client = make_client(
            config.address,
            f"bussdcc-fleet-{suffix}-{uuid.uuid4().hex[:8]}",
            username=config.username,
            password=config.password,
            tls=config.tls,
            # --timeout is how long the command waits for the broker: the TCP connect included
            connect_timeout=min(timeout, config.connect_timeout),
        )
        self.connected = threading.Event()
        self.refused: str | None = None
        self.tls_failure: str | None = None
        self.tls_errors = TlsErrors.watch(self.client) if config.tls is not None else None
        self.messages: list[Any] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self.subscribed.set()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
        self.connected.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        # A broker refuses a TLS 1.3 client certificate after the handshake: connect() worked,
        # and the alert ends the connection before CONNACK.
        from .client import tls_advice

        error = self.tls_errors.take() if self.tls_errors is not None else None
        if error is not None and not self.connected.is_set():
            assert self.config.address is not None
            self.tls_failure = tls_advice(error, self.config.address, self.config.tls).line
            self.connected.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self.lock:
            self.messages.append(message)

    def open(self, timeout: float) -> None:
        assert self.config.address is not None
        import ssl

        from bussdcc_framework.report import describe

        from .client import Unreachable, tls_advice, unreachable, unreachable_line

        try:
            self.client.connect(self.config.address.host, self.config.address.port, self.config.keepalive)
        except ssl.SSLError as exc:
            self._refused(tls_advice(exc, self.config.address, self.config.tls).line)
        except OSError as exc:
            why = unreachable(exc, self.config.address)
            if why is None:  # not a socket error paho could raise: say what it is
                why = Unreachable("other", describe(exc))
            _fail(
                unreachable_line(why, self.config.address, "--broker (mqtt.url, BUSSDCC_MQTT_URL)", self.note)
            )
        self.client.loop_start()
        if not self.connected.wait(timeout):
            self.close()
            _fail(f"no answer from the broker {self.config.address} within {timeout:g} s")
        if self.tls_failure is not None:
            self.close()
            self._refused(self.tls_failure)
        if self.refused is not None:
            self.close()
            self._refused(f"the broker {self.config.address} refused the connection: {self.refused}")

    def _refused(self, line: str) -> None:
        """Exit 1 with ``line`` and the note (``fleet send``: the command was not sent)."""
        _fail(f"{line}; {self.note}" if self.note else line)

    def subscribe(self, topics: list[str], timeout: float) -> None:
        self.subscribed.clear()
        self.client.subscribe([(t, 1) for t in topics])
        if not self.subscribed.wait(timeout):
            _fail("the broker did not confirm the subscription")

    def received(self) -> list[Any]:
        with self.lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@fleet_command.command("status")
@click.option("--broker", metavar="URL", help="Broker URL (default: BUSSDCC_MQTT_URL).")
@click.option("--rate", type=float, default=0.0, metavar="SECONDS", help="Also count events for SECONDS.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for the broker."
)
def status_command(broker: str | None, rate: float, as_json: bool, timeout: float) -> None:
    """Every node the broker has a status for: online or offline, since when, versions."""
    from .collector import Collector
    from .fleet import FleetState
    from .reporting import printable

    config = _config(broker)
    session = _Session(config, "status", timeout)
    session.open(timeout)
    topics = FleetTopics(config.prefix)
    kinds = ["status", "birth", "evt"] if rate > 0 else ["status", "birth"]
    session.subscribe(topics.filters(*kinds), timeout)
    time.sleep(max(rate, 0.5))  # retained messages arrive right after the SUBACK
    session.close()
    fleet = FleetState()
    reader = Collector(config, root=Path("/nonexistent-not-written"), fleet=fleet)
    for message in session.received():
        parsed = topics.parse(message.topic)
        if parsed is None:
            continue
        try:
            if parsed.kind == "evt":
                fleet.event(parsed.site, parsed.node, None)
            else:
                reader.handle(message.topic, message.payload)
        except Exception:
            continue  # garbage is the collector's business; status shows what is valid
    rows = fleet.nodes()
    if rate > 0:
        for row in rows:
            row["rate"] = round(row["events"] / rate, 2)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"no nodes under {config.prefix}/v1/ on {config.address}")
        return
    from bussdcc_framework.cli.table import format_table

    header = ["site", "node", "state", "since", "session", "framework"]
    if rate > 0:
        header.append("events/s")
    table = []
    for row in rows:
        line = [
            printable(row["site"]),
            printable(row["node"]),
            "online" if row["online"] else "offline",
            printable(str(row["since"] or "-"))[:19],
            str(row["session"]),
            printable(str(row["versions"].get("framework") or "-")),
        ]
        if rate > 0:
            line.append(f"{row['rate']:g}")
        table.append(line)
    click.echo(format_table(header, table))


@fleet_command.command("send")
@click.argument("node")
@click.argument("type_name", metavar="TYPE")
@click.argument("data", default="{}")
@click.option("--broker", metavar="URL", help="Broker URL (default: BUSSDCC_MQTT_URL).")
@click.option("--site", help="The node's site (default: mqtt.site, or SITE/NODE as NODE).")
@click.option(
    "--expiry", type=float, default=60.0, show_default=True, help="Seconds before the command expires."
)
@click.option(
    "--timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for the answer."
)
@click.option("--no-wait", is_flag=True, help="Do not wait for the answer.")
def send_command(
    node: str,
    type_name: str,
    data: str,
    broker: str | None,
    site: str | None,
    expiry: float,
    timeout: float,
    no_wait: bool,
) -> None:
    """Send TYPE with DATA (a JSON object) to NODE; print its answer.

    The node accepts only its application's emittable message types and says why it refuses
    others. A command not delivered within --expiry seconds (the node is offline) never runs.
    """
    from .client import PacketTypes, Properties

    config = _config(broker)
    if "/" in node:
        site, node = node.split("/", 1)
    site = site or config.site
    try:
        check_level(site, "the site")
        check_level(node, "the node")
    except TopicError as exc:
        _fail(str(exc), 2)
    try:
        body = json.loads(data)
    except ValueError as exc:
        _fail(f"DATA is not JSON ({exc}); give an object such as '{{\"level\": 3}}'", 2)
    if not isinstance(body, dict):
        _fail("DATA must be a JSON object, e.g. '{\"level\": 3}'", 2)
    if expiry <= 0:
        _fail("--expiry must be above 0 seconds", 2)
    topics = FleetTopics(config.prefix).node(site, node)
    command_id = uuid.uuid4().hex
    session = _Session(config, "send", timeout, "the command was not sent")
    session.open(timeout)
    if not no_wait:
        session.subscribe([topics.cmd_res], timeout)
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.MessageExpiryInterval = max(1, round(expiry))
    props.ResponseTopic = topics.cmd_res
    props.CorrelationData = command_id.encode()
    message = {"id": command_id, "type": type_name, "data": body, "sender": "bussdcc fleet send"}
    info = session.client.publish(
        topics.cmd(type_level(type_name)), json.dumps(message).encode(), qos=1, properties=props
    )
    info.wait_for_publish(timeout)
    if no_wait:
        session.close()
        click.echo(json.dumps({"id": command_id, "sent": True}))
        return
    deadline = time.monotonic() + timeout
    answer: dict[str, Any] | None = None
    while answer is None and time.monotonic() < deadline:
        for received in session.received():
            try:
                candidate = json.loads(received.payload)
            except ValueError:
                continue
            if isinstance(candidate, dict) and candidate.get("id") == command_id:
                answer = candidate
                break
        time.sleep(0.02)
    session.close()
    if answer is None:
        _fail(
            f"no answer from {site}/{node} within {timeout:g} s; if it is offline, the command "
            f"waits on the broker and expires after {expiry:g} s",
            3,
        )
        return
    click.echo(json.dumps(answer))
    if not answer.get("ok"):
        sys.exit(1)
