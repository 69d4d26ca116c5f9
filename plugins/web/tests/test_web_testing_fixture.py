"""``make_web_app``: a plugin's pages through a Flask and a Socket.IO test client, no port bound."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bussdcc.message import Message
from flask import Blueprint, jsonify

from bussdcc_framework import hookimpl


@dataclass(slots=True, frozen=True)
class Pressed(Message):
    button: str


class plugin:
    """A plugin with a page, a JSON route and a route that emits."""

    @staticmethod
    @hookimpl
    def register_routes(app: Any, ctx: Any) -> None:
        from bussdcc_framework_web import emit

        pages = Blueprint("buttons", __name__, url_prefix="/plugins/buttons")

        @pages.get("/")
        def index() -> str:
            return "<h1>Buttons</h1>"

        @pages.get("/count.json")
        def count() -> Any:
            return jsonify({"pressed": ctx.state.get("buttons.pressed", 0)})

        @pages.post("/press/<name>")
        def press(name: str) -> Any:
            ctx.state.update("buttons.pressed", lambda n: (n or 0) + 1)
            emit(Pressed(button=name))
            return jsonify({"ok": True})

        app.register_blueprint(pages)


def test_pages_routes_and_live_push_without_a_port(
    make_web_app: Any, captured_events: Any, monkeypatch: Any
) -> None:
    bound: list[Any] = []
    real_bind = socket.socket.bind
    monkeypatch.setattr(socket.socket, "bind", lambda self, addr: (bound.append(addr), real_bind(self, addr)))
    web = make_web_app(plugin, token="fixture-token-123", message_types=[Pressed])
    assert web.client.get("/plugins/buttons/").status_code == 200
    assert b"buttons" in web.client.get("/plugins").data.lower()  # linked from the Plugins page
    live = web.socketio_client(types=["Pressed"])
    snapshot = next(r["args"][0] for r in live.get_received() if r["name"] == "snapshot")
    assert snapshot["state_unavailable"] is None
    assert web.client.post("/plugins/buttons/press/red").get_json() == {"ok": True}
    assert captured_events.wait_for(Pressed).button == "red"
    batch = web.wait_for_push(live, lambda b: any(e["name"] == "Pressed" for e in b["events"]))
    assert batch["events"][0]["data"] == {"button": "red"}
    web.wait_for_push(live, lambda b: b.get("state", {}).get("changes", {}).get("buttons.pressed") == 1)
    assert web.client.get("/plugins/buttons/count.json").get_json() == {"pressed": 1}
    status = web.client.post("/api/emit", json={"type": "Pressed", "data": {"button": "blue"}})
    assert status.status_code == 202
    assert web.app.test_client().get("/api/state").status_code == 401  # the token is required
    assert not bound  # nothing listened on a port


def test_importing_the_fixtures_imports_no_flask() -> None:
    code = (
        "import sys, bussdcc_framework_web.testing; "
        "assert 'flask' not in sys.modules, 'flask imported'; "
        "assert 'bussdcc_framework_web.interface' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=Path(__file__).parent)


def test_the_fixtures_are_a_registered_pytest_plugin() -> None:
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("bussdcc_framework_web") == "bussdcc_framework_web.testing"
