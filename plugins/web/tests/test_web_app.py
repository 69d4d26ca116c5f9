"""The web interface through Flask's test client and Flask-SocketIO's test client, plus its parts."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from bussdcc.event import Event
from bussdcc.message import Message
from bussdcc.runtime import Runtime as KernelRuntime
from bussdcc_framework_web import WebInterface, current_ctx, emit
from bussdcc_framework_web.config import WebConfig, WebConfigError, declared_settings, is_loopback
from bussdcc_framework_web.filters import EventFilter, FilterError
from bussdcc_framework_web.history import EventHistory, RateCounter
from bussdcc_framework_web.push import PushHub
from bussdcc_framework_web.records import RecordMaker

from bussdcc_framework.codec import Codec, default_registry
from bussdcc_framework.settings import Settings
from bussdcc_framework.state import NotifyingStateStore

TOKEN = "s3cret-token-value"


def built(types: SimpleNamespace, **options: Any) -> tuple[WebInterface, KernelRuntime, Any]:
    """A WebInterface whose app is built on a kernel runtime, without a server."""
    runtime = KernelRuntime(state=NotifyingStateStore())
    web = WebInterface(message_types=[types.Ping, types.SetPoint, types.Alarm], **options)
    runtime.processes.register(web)
    web.attach(runtime.ctx)
    app = web.create_app(runtime.ctx)
    runtime._sub = runtime.events.subscribe(Message, runtime._dispatch)  # deliver to web
    return web, runtime, app.test_client()


def test_shim_exports_the_original_names() -> None:
    from bussdcc_framework.interface import web as shim

    assert shim.WebInterface is WebInterface
    assert shim.emit is emit
    assert shim.current_ctx is current_ctx


def test_entry_point_module_does_not_import_flask() -> None:
    code = (
        "import sys, bussdcc_framework_web.plugin as p; p.register_settings(); "
        "print([m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'flask_socketio', 'socketio', 'engineio', 'werkzeug')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_settings_configure_the_interface() -> None:
    env = {
        "BUSSDCC_WEB_HOST": "0.0.0.0",
        "BUSSDCC_WEB_PORT": "8123",
        "BUSSDCC_WEB_TOKEN": TOKEN,
        "BUSSDCC_WEB_ORIGINS": "http://a.example:1, http://b.example",
    }
    settings = Settings.from_declarations(declared_settings(), environ=env)
    web = WebInterface.from_settings(settings)
    assert (web.config.host, web.config.port, web.config.token) == ("0.0.0.0", 8123, TOKEN)
    assert web.config.origins == ("http://a.example:1", "http://b.example")


def test_star_origin_and_short_token_are_refused() -> None:
    with pytest.raises(WebConfigError, match=r'"\*" would let any web site'):
        WebInterface(origins=["*"])
    with pytest.raises(WebConfigError, match="at least 8"):
        WebInterface(token="abc")


def test_non_loopback_bind_gets_a_generated_token() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    exposed = WebConfig(host="0.0.0.0").with_token_if_exposed()
    assert exposed.token and len(exposed.token) >= 24 and exposed.token_generated
    assert WebConfig(host="127.0.0.1").with_token_if_exposed().token is None


def test_pages_render(types: SimpleNamespace) -> None:
    _web, _runtime, client = built(types)
    for path in ("/", "/dashboard", "/state", "/services", "/plugins", "/send"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "text/html" in response.content_type
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert b"vendor/socket.io.min.js" in response.data


def test_api_reads(types: SimpleNamespace) -> None:
    _web, runtime, client = built(types)
    runtime.state.set("app.version", "1.2.3")
    runtime.ctx.emit(types.Ping(count=1))
    runtime.ctx.emit(types.Alarm(text="hot"))
    assert client.get("/api/health").get_json()["status"] == "ok"
    assert client.get("/api/state").get_json()["state"]["app"]["version"] == "1.2.3"
    assert client.get("/api/state?path=app.version").get_json()["value"] == "1.2.3"
    assert client.get("/api/state?path=nope").status_code == 404
    events = client.get("/api/events").get_json()["events"]
    assert [e["name"] for e in events] == ["Ping", "Alarm"]
    assert events[0]["data"] == {"count": 1, "note": "hello"}
    parts = client.get("/api/services").get_json()
    assert parts["services"] == [] and parts["interfaces"] == []
    assert [(p["name"], p["status"], p["origin"]) for p in parts["processes"]] == [
        ("web", "running", "application")
    ]
    assert "plugins" in client.get("/api/plugins").get_json()
    names = {t["name"] for t in client.get("/api/types").get_json()["types"]}
    assert {"Ping", "SetPoint", "Alarm"} <= names


def test_api_events_filters(types: SimpleNamespace) -> None:
    _web, runtime, client = built(types)
    for i in range(5):
        runtime.ctx.emit(types.Ping(count=i))
    runtime.ctx.emit(types.Alarm(text="x"))

    def get(q: str) -> Any:
        return client.get("/api/events?" + q)

    assert [e["name"] for e in get("severity=error").get_json()["events"]] == ["Alarm"]
    assert len(get("type=Ping").get_json()["events"]) == 5
    assert len(get("type=Ping&limit=2").get_json()["events"]) == 2
    assert get("type=-Ping").get_json()["events"][-1]["name"] == "Alarm"
    seq = get("type=Ping").get_json()["events"][2]["seq"]
    assert [e["data"]["count"] for e in get(f"type=Ping&since={seq}").get_json()["events"]] == [3, 4]
    assert get("since=2000-01-01T00:00:00Z").get_json()["events"]
    for bad, code in [
        ("limit=0", "bad_limit"),
        ("limit=x", "bad_limit"),
        ("severity=loud", "bad_filter"),
        ("since=yesterday", "bad_since"),
    ]:
        response = get(bad)
        assert response.status_code == 400 and response.get_json()["error"] == code, bad


def test_emit_validates_and_delivers(types: SimpleNamespace) -> None:
    web, _runtime, client = built(types)

    def post(body: Any) -> Any:
        return client.post("/api/emit", json=body)

    response = post({"type": "Ping", "data": {"count": 3}})
    assert response.status_code == 202
    assert web.history.query(EventFilter.parse("Ping"))[-1]["data"]["count"] == 3

    bad = post({"type": "Ping", "data": {"count": "three", "nope": 1}})
    assert bad.status_code == 400
    body = bad.get_json()
    assert body["error"] == "invalid_data"
    assert set(body["fields"]) == {"count", "nope"}
    assert "int" in body["fields"]["count"]

    missing = post({"type": "SetPoint", "data": {"zone": "k"}}).get_json()
    assert missing["fields"] == {"celsius": "required"}
    enum_bad = post({"type": "SetPoint", "data": {"zone": "k", "celsius": 1, "mode": "turbo"}})
    assert "mode" in enum_bad.get_json()["fields"]
    ok = post({"type": "SetPoint", "data": {"zone": "k", "celsius": 21.5, "mode": "manual"}})
    assert ok.status_code == 202

    unknown = post({"type": "os:system", "data": {}})
    assert unknown.status_code == 400 and unknown.get_json()["error"] == "unknown_type"
    assert post({"data": {}}).get_json()["error"] == "missing_type"
    assert client.post("/api/emit", data="x", content_type="text/plain").status_code == 415
    assert client.post("/api/emit", data="{", content_type="application/json").status_code == 400


def test_only_application_and_plugin_types_are_emittable(types: SimpleNamespace) -> None:
    _web, _runtime, client = built(types)
    listed = [t["type"] for t in client.get("/api/types").get_json()["types"]]
    module = types.Ping.__module__
    # the application's own types first, in the order it gave them
    assert listed[:3] == [f"{module}:Ping", f"{module}:SetPoint", f"{module}:Alarm"]
    assert not [
        t
        for t in listed
        if t.split(":")[0].split(".")[0] in ("bussdcc", "bussdcc_framework")
        or t.startswith("bussdcc_framework_")
    ], listed
    for name in (
        "bussdcc.message.runtime:RuntimeShuttingDown",
        "RuntimeShuttingDown",
        "DeviceAttached",
        "bussdcc_framework.message.web:WebInterfaceFailed",
    ):
        refused = client.post("/api/emit", json={"type": name, "data": {}})
        assert refused.status_code == 400, name
        body = refused.get_json()
        assert body["error"] == "not_emittable", (name, body)
        assert "cannot be sent" in body["detail"]


def test_request_size_limit(types: SimpleNamespace) -> None:
    _web, _runtime, client = built(types, max_request_size=1024)
    response = client.post("/api/emit", json={"type": "Ping", "data": {"note": "x" * 5000}})
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_too_large"


def test_token_is_required_everywhere(types: SimpleNamespace) -> None:
    _web, _runtime, client = built(types, token=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/health").status_code == 200  # public
    assert client.get("/_bussdcc/static/css/app.css").status_code == 200  # code, not data
    for path in ("/api/state", "/api/events", "/api/services", "/api/plugins", "/api/types"):
        refused = client.get(path)
        assert refused.status_code == 401
        assert refused.get_json()["detail"].startswith("access token required")
        assert (
            client.get(path, headers={"Authorization": "Bearer wrong-token"})
            .get_json()["detail"]
            .startswith("access token is wrong")
        )
        assert client.get(path, headers=auth).status_code == 200
    # the API never takes the token from the URL (it would end up in logs and history)
    assert client.get(f"/api/state?token={TOKEN}").status_code == 401
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 401 and b"Access token needed" in page.data
    assert client.get(f"/?token={TOKEN}", headers={"Accept": "text/html"}).status_code == 200
    assert client.post("/api/emit", json={"type": "Ping", "data": {"count": 1}}).status_code == 401
    assert client.post("/api/services/x/stop").status_code == 401


def test_dns_rebinding_and_foreign_origin_are_refused(types: SimpleNamespace) -> None:
    _web, _runtime, client = built(types)
    rebound = client.get("/api/state", headers={"Host": "evil.example"})
    assert rebound.status_code == 403 and rebound.get_json()["error"] == "host_not_allowed"
    foreign = client.post(
        "/api/emit", json={"type": "Ping", "data": {"count": 1}}, headers={"Origin": "http://evil.example"}
    )
    assert foreign.status_code == 403 and foreign.get_json()["error"] == "origin_not_allowed"
    same = client.post(
        "/api/emit", json={"type": "Ping", "data": {"count": 1}}, headers={"Origin": "http://localhost"}
    )
    assert same.status_code == 202


def test_user_routes_and_emit_from_a_route(types: SimpleNamespace) -> None:
    class MyWeb(WebInterface):
        def register_routes(self, app: Any, ctx: Any) -> None:
            @app.route("/")
            def index() -> str:
                return "Hello World"

            @app.route("/ping")
            def ping() -> str:
                emit(types.Ping(count=42))
                assert current_ctx() is ctx
                return "sent"

    runtime = KernelRuntime()
    web = MyWeb(message_types=[types.Ping])
    seen: list[Message] = []
    runtime.events.subscribe(types.Ping, lambda evt: seen.append(evt.payload))
    client = web.create_app(runtime.ctx).test_client()
    assert client.get("/").data == b"Hello World"  # the subclass' "/" wins
    assert client.get("/dashboard").status_code == 200  # the dashboard stays reachable
    assert client.get("/ping").data == b"sent"
    assert seen == [types.Ping(count=42)]


def test_emit_outside_a_request_says_why() -> None:
    with pytest.raises(RuntimeError, match="no web interface is running"):
        current_ctx()


def _route_plugins() -> Any:
    from bussdcc_framework import hookimpl

    class Good:
        @hookimpl
        def register_routes(self, app: Any, ctx: Any) -> None:
            from flask import Blueprint, jsonify

            bp = Blueprint("good", __name__, url_prefix="/plugins/good-stuff")
            bp.add_url_rule("/", "index", lambda: "good plugin")
            bp.add_url_rule("/data.json", "data", lambda: jsonify({}))
            bp.add_url_rule("/item/<int:n>", "item", lambda n: str(n))
            bp.add_url_rule("/act", "act", lambda: "", methods=["POST"])
            app.register_blueprint(bp)

    class Bad:
        @hookimpl
        def register_routes(self, app: Any, ctx: Any) -> None:
            raise RuntimeError("boom")

    return Good(), Bad()


def _runtime_with(pm: Any) -> KernelRuntime:
    runtime = KernelRuntime()
    runtime.plugins = pm  # type: ignore[attr-defined]
    return runtime


# The line names the file and line in the plugin's code: here, the raise in Bad above.
BOOM_LINE = next(
    n
    for n, text in enumerate(Path(__file__).read_text().splitlines(), 1)
    if 'raise RuntimeError("boom")' in text
)
BAD_LINE = (
    f'bussdcc: plugin "bad" failed in hook register_routes: RuntimeError: boom ({__file__}:{BOOM_LINE}); '
    "disable it with BUSSDCC_DISABLE_PLUGINS=bad"
)


def test_plugin_routes_are_collected_and_failures_reported(
    types: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    from bussdcc_framework.plugins import FrameworkPluginManager

    good, bad = _route_plugins()
    pm = FrameworkPluginManager()
    pm.register(good, name="good")
    pm.register(bad, name="bad")
    web = WebInterface()
    client = web.create_app(_runtime_with(pm).ctx).test_client()
    assert client.get("/plugins/good-stuff/").data == b"good plugin"
    # the plugin manager's standard line, once on stderr, and on the Plugins page and API
    assert web.route_errors == [BAD_LINE]
    assert capsys.readouterr().err.count(BAD_LINE) == 1
    assert BAD_LINE.encode() in client.get("/plugins").data.replace(b"&#34;", b'"')
    assert client.get("/api/plugins").get_json()["route_errors"] == [BAD_LINE]


def test_plugin_routes_are_traced_and_strict_mode_raises(capsys: pytest.CaptureFixture[str]) -> None:
    from bussdcc_framework.plugins import (
        FrameworkPluginManager,
        PluginHookError,
        create_plugin_manager,
    )

    good, bad = _route_plugins()
    traced = create_plugin_manager({"BUSSDCC_PLUGINS": "", "BUSSDCC_TRACE_PLUGINS": "1"})
    assert traced.tracing
    traced.register(good, name="good")
    WebInterface().create_app(_runtime_with(traced).ctx)
    assert "bussdcc trace: register_routes(app=<Flask" in capsys.readouterr().err

    strict = FrameworkPluginManager(strict=True)
    strict.register(bad, name="bad")
    with pytest.raises(PluginHookError, match="failed in hook register_routes"):
        WebInterface().create_app(_runtime_with(strict).ctx)


def test_plugin_pages_are_linked_from_the_navigation() -> None:
    from bussdcc_framework.plugins import FrameworkPluginManager

    good, _bad = _route_plugins()
    pm = FrameworkPluginManager()
    pm.register(good, name="good")
    web = WebInterface()
    client = web.create_app(_runtime_with(pm).ctx).test_client()
    # GET pages without arguments only: not data.json, item/<n> or the POST-only act
    assert web.plugin_pages == [{"name": "good-stuff", "url": "/plugins/good-stuff/", "label": "Good stuff"}]
    for path in ("/", "/plugins", "/send"):
        html = client.get(path).get_data(as_text=True)
        assert 'href="/plugins/good-stuff/" data-nav data-plugin-page="good-stuff"' in html, path
    html = client.get("/plugins").get_data(as_text=True)
    assert 'data-plugin-page="good-stuff" aria-current' not in html


def test_socketio_test_client_snapshot_filter_and_refusal(types: SimpleNamespace) -> None:
    web, runtime, _client = built(types, token=TOKEN)
    runtime.state.set("zone.target", 21)
    runtime.ctx.emit(types.Ping(count=1))
    runtime.ctx.emit(types.Alarm(text="<script>alert(1)</script>"))
    assert web.socketio is not None and web.app is not None
    refused = web.socketio.test_client(web.app, auth={"token": "wrong-token"})
    assert not refused.is_connected()
    sio = web.socketio.test_client(web.app, auth={"token": TOKEN, "severity": "error"})
    assert sio.is_connected()
    received = sio.get_received()
    snapshot = next(r["args"][0] for r in received if r["name"] == "snapshot")
    assert [e["name"] for e in snapshot["events"]] == ["Alarm"]  # server-side filter
    assert snapshot["events"][0]["data"]["text"] == "<script>alert(1)</script>"  # data, as text
    assert snapshot["state"]["zone.target"] == 21
    answer = sio.emit("subscribe", {"types": "Ping"}, callback=True)
    assert answer["ok"] and [e["name"] for e in answer["events"]] == ["Ping"]
    bad = sio.emit("subscribe", {"severity": "loud"}, callback=True)
    assert not bad["ok"] and "loud" in bad["error"]
    sio.disconnect()


def test_filters() -> None:
    def rec(name: str, severity: int = 20) -> Any:
        return {"seq": 1, "type": f"app.mod:{name}", "name": name, "severity": severity}

    f = EventFilter.parse("Service*, -ServiceRestart", "info")
    assert f.matches(rec("ServiceStarted")) and not f.matches(rec("ServiceRestart"))
    assert not f.matches(rec("Ping"))
    assert EventFilter.parse("ping").matches(rec("Ping"))  # the whole name, case-insensitive
    assert not EventFilter.parse("pin").matches(rec("Ping"))  # a bare word is not a substring
    assert EventFilter.parse("*booted").matches(rec("FrameworkBooted"))
    assert EventFilter.parse("app.mod:*").matches(rec("Ping"))
    assert EventFilter.parse("!Ping").matches(rec("Pong")) and not EventFilter.parse("!Ping").matches(
        rec("Ping")
    )
    assert not EventFilter.parse(None, "warning").matches(rec("Ping"))
    with pytest.raises(
        FilterError,
        match=r"^severity 'loud' is not one of debug, info, warning, error, critical or a number$",
    ):
        EventFilter.parse(None, "loud")
    with pytest.raises(FilterError, match=r"^at most 32 type patterns$"):
        EventFilter.parse(",".join(["x"] * 50))


def test_history_is_a_ring_buffer() -> None:
    history = EventHistory(3)
    for seq in range(1, 6):
        history.append(
            {
                "seq": seq,
                "ts": float(seq),
                "type": "m:A",
                "name": "A",
                "severity": 20,
                "time": "",
                "level": "INFO",
                "data": {},
            }
        )
    assert [e["seq"] for e in history.query(limit=10)] == [3, 4, 5]
    assert history.total == 5


def test_rate_counter_counts_per_second() -> None:
    rates = RateCounter(10)
    now = time.time()
    for _ in range(3):
        rates.add("A", now - 2)
    rates.add("B", now - 1)
    series = rates.series(now=now)
    assert series["counts"][-2] == {"A": 3} and series["counts"][-1] == {"B": 1}


def _records(n: int, types: SimpleNamespace) -> list[Any]:
    maker = RecordMaker(Codec(default_registry(plugins=False)))
    from datetime import datetime

    return [maker.make(Event(time=datetime.now(UTC), payload=types.Ping(count=i))) for i in range(n)]


def test_push_hub_bounds_a_client_that_does_not_acknowledge(types: SimpleNamespace) -> None:
    sent: list[dict[str, Any]] = []
    dropped_clients: list[tuple[str, str]] = []
    hub = PushHub(
        lambda sid, batch, ack: sent.append(batch),
        lambda sid, reason: dropped_clients.append((sid, reason)),
        capacity=100,
        batch_size=10,
        window=2,
        stall_timeout=0.2,
    )
    channel = hub.add("c1", EventFilter(), 0)
    channel.activate(0)
    for record in _records(1000, types):
        hub.publish(record)
    hub.flush()
    assert len(sent) == 2  # the window: nothing more until acknowledged
    assert channel.backlog() <= 100
    channel.acked()
    hub.flush()
    assert len(sent) == 3
    assert sent[1]["dropped"] == 0
    dropped_total = sum(b["dropped"] for b in sent)
    assert dropped_total == 1000 - 100, dropped_total  # the client is told how many were dropped
    time.sleep(0.3)
    hub.flush()
    assert dropped_clients and "fell behind" in dropped_clients[0][1]
    assert hub.get("c1") is None


def test_records_cut_long_strings(types: SimpleNamespace) -> None:
    maker = RecordMaker(Codec(default_registry(plugins=False)), max_string=10)
    from datetime import datetime

    record = maker.make(Event(time=datetime.now(UTC), payload=types.Alarm(text="x" * 50)))
    assert record["data"]["text"].startswith("x" * 10 + "…")
    assert json.dumps(record)


def test_plugin_interface_steps_aside_for_the_applications_own(types: SimpleNamespace) -> None:
    from bussdcc_framework.runtime import Runtime

    runtime = Runtime()
    own = WebInterface(port=0)
    runtime.add_process(own)  # the original API, as an application does it
    plugin_made = WebInterface.from_settings(None, port=0)
    runtime.add_interface(plugin_made)
    runtime.boot()
    try:
        assert own.app is not None and own.port != 0
        assert plugin_made.app is None  # not started: one server, the application's
    finally:
        runtime.shutdown()


def test_missing_javascript_libraries_fail_start_with_a_clear_message(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bussdcc_framework_web import assets

    from bussdcc_framework.runtime import Runtime

    monkeypatch.setattr(assets, "VENDOR", tmp_path)
    runtime = Runtime()
    runtime.add_process(WebInterface(port=0))
    with pytest.raises(assets.WebAssetsMissing, match=r"socket\.io\.min\.js.*hatch_build\.py"):
        runtime.boot()


def test_a_plugin_that_failed_to_import_shows_as_failed_with_its_error(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bussdcc_framework.plugins import create_plugin_manager

    dist = tmp_path / "bussdcc_broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bussdcc-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[bussdcc_framework]\nbroken = bussdcc_broken_plugin:plugin\n")
    (tmp_path / "bussdcc_broken_plugin.py").write_text(
        "raise ImportError('needs libfoo, which is not installed')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = create_plugin_manager({"BUSSDCC_PLUGINS": "broken"})
    assert "needs libfoo" in capsys.readouterr().err
    runtime = KernelRuntime()
    runtime.plugins = pm  # type: ignore[attr-defined]
    client = WebInterface().create_app(runtime.ctx).test_client()

    listed = {p["name"]: p for p in client.get("/api/plugins").get_json()["plugins"]}
    assert listed["broken"]["status"] == "failed"
    assert listed["broken"]["distribution"] == "bussdcc-broken"
    assert "needs libfoo, which is not installed" in listed["broken"]["error"]
    html = client.get("/plugins").get_data(as_text=True)
    row = html[html.index('<tr class="plugin-failed">') :]
    row = row[: row.index("</tr>")]
    assert ">broken<" in row and ">failed<" in row
    assert "needs libfoo, which is not installed" in row


def test_push_batches_are_bounded_in_bytes_and_an_unacknowledged_snapshot_stalls(
    types: SimpleNamespace,
) -> None:
    import msgspec

    sent: list[dict[str, Any]] = []
    dropped_clients: list[tuple[str, str]] = []
    hub = PushHub(
        lambda sid, batch, ack: sent.append(batch),
        lambda sid, reason: dropped_clients.append((sid, reason)),
        capacity=1000,
        batch_size=256,
        window=1000,
        stall_timeout=0.2,
    )
    channel = hub.add("c1", EventFilter(), 0)
    channel.activate(0)
    for record in _records(20, types):
        hub.publish(record, msgspec.Raw(b'"' + b"x" * 50_000 + b'"'))
    hub.publish_state({f"p{i}": msgspec.Raw(b'"' + b"y" * 10_000 + b'"') for i in range(100)}, ["gone"])
    hub.flush()
    sizes = [len(msgspec.json.encode(batch)) for batch in sent]
    assert len(sent) > 3 and max(sizes) < 256 * 1024 + 60_000, sizes
    assert sum(len(b["events"]) for b in sent) == 20
    assert sum(len(b.get("state", {}).get("changes", {})) for b in sent) == 100
    assert [p for b in sent for p in b.get("state", {}).get("removed", [])] == ["gone"]
    for _ in sent:
        channel.acked()
    # A client that never acknowledges its snapshot is dropped even though nothing else flows.
    quiet = hub.add("c2", EventFilter(), 0)
    quiet.sent(1000)
    quiet.activate(0)
    time.sleep(0.3)
    hub.flush()
    assert ("c2" in [sid for sid, _ in dropped_clients]) and hub.get("c2") is None
    assert "stopped reading" in dict(dropped_clients)["c2"]
    assert hub.get("c1") is not None  # it acknowledged everything: still here


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("BUSSDCC_WEB_REQUEST_TIMEOUT", "0", "0.1"),
        ("BUSSDCC_WEB_REQUEST_TIMEOUT", "2h", "to 1h"),
        ("BUSSDCC_WEB_MAX_CONNECTIONS", "0", "1"),
    ],
)
def test_request_timeout_and_max_connections_are_checked_where_they_are_set(
    variable: str, value: str, expected: str
) -> None:
    from bussdcc_framework.settings import SettingError

    with pytest.raises(SettingError) as refused:
        Settings.from_declarations(declared_settings(), environ={variable: value})
    assert variable in str(refused.value) and expected in str(refused.value)
    config = WebConfig.from_settings(
        Settings.from_declarations(
            declared_settings(),
            environ={"BUSSDCC_WEB_REQUEST_TIMEOUT": "2.5s", "BUSSDCC_WEB_MAX_CONNECTIONS": "7"},
        )
    )
    assert (config.request_timeout, config.max_connections) == (2.5, 7)
    with pytest.raises(WebConfigError, match="max_connections"):
        WebInterface(max_connections=0)
